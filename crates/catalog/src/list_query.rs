//! One SQL builder for `list_images` (and the few other statements whose shape
//! depends on the request), shared by both backends. SQL text is assembled only from
//! enums and fixed fragments; every caller-supplied value becomes a bound parameter.
//!
//! Pagination is keyset-based: the marker image's own sort values bound the page, so
//! a page deep in the list costs what the first page costs. NULL sorts as the
//! smallest value on both backends (SQLite does so natively; PostgreSQL is told with
//! `NULLS FIRST/LAST`), and the keyset predicate follows the same rule.

use std::fmt::Write;

use imagery_core::image::Visibility;
use imagery_core::query::{Cmp, Filter, IntField, ListQuery, ListScope, SortDir, SortKey, TextField, TimeField};
use imagery_core::time::to_micros;
use imagery_core::Image;
use uuid::Uuid;

use crate::shared::sql_limit;
use crate::statements::image_columns;

/// Which placeholder spelling and SQL dialect details to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `?N` placeholders; NULLs already sort first ascending.
    Sqlite,
    /// `$N` placeholders; explicit `NULLS FIRST/LAST`; `= ANY(array)` for lists.
    Postgres,
}

/// A bound parameter value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    Text(String),
    Int(i64),
    Bool(bool),
    /// Only emitted for PostgreSQL (`col = ANY($n)`).
    TextList(Vec<String>),
}

/// SQL text plus its parameters, numbered in the order they were bound.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<SqlValue>,
    flavor: Flavor,
}

impl Sql {
    pub fn new(flavor: Flavor) -> Self {
        Sql { text: String::with_capacity(512), params: Vec::new(), flavor }
    }

    pub fn push(&mut self, fragment: &str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: SqlValue) -> &mut Self {
        self.params.push(value);
        let sigil = match self.flavor {
            Flavor::Sqlite => '?',
            Flavor::Postgres => '$',
        };
        // Writing into a String cannot fail.
        let _ = write!(self.text, "{sigil}{}", self.params.len());
        self
    }

    pub fn bind_text(&mut self, value: &str) -> &mut Self {
        self.bind(SqlValue::Text(value.to_owned()))
    }
}

/// `SELECT … FROM role_assignments` matching every given criterion.
pub(crate) fn role_assignments_query(flavor: Flavor, user_id: Option<&str>, project_id: Option<&str>, role_id: Option<&str>) -> Sql {
    let mut sql = Sql::new(flavor);
    sql.push("SELECT user_id, project_id, role_id FROM role_assignments WHERE TRUE");
    for (column, value) in [("user_id", user_id), ("project_id", project_id), ("role_id", role_id)] {
        if let Some(value) = value {
            sql.push(" AND ").push(column).push(" = ").bind_text(value);
        }
    }
    sql.push(" ORDER BY user_id, project_id, role_id");
    sql
}

/// The `list_images` statement. `marker` is the marker image as stored (the caller
/// looked it up); its sort values bound the page.
pub(crate) fn list_images_query(flavor: Flavor, query: &ListQuery, marker: Option<&Image>) -> Sql {
    let mut sql = Sql::new(flavor);
    sql.push(concat!("SELECT ", image_columns!(), " FROM images WHERE "));
    if query.include_deleted {
        sql.push("status <> 'killed'");
    } else {
        sql.push("status NOT IN ('killed', 'deleted', 'pending_delete')");
    }
    if let Some(hidden) = hidden_filter(&query.scope) {
        sql.push(" AND os_hidden = ").bind(SqlValue::Bool(hidden));
    }
    push_scope(&mut sql, &query.scope);
    for filter in &query.filters {
        sql.push(" AND ");
        push_filter(&mut sql, filter);
    }
    let sort = dedup_sort(query.effective_sort());
    if let Some(marker) = marker {
        sql.push(" AND ");
        push_keyset(&mut sql, &sort, marker);
    }
    sql.push(" ORDER BY ");
    for (i, (key, dir)) in sort.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(sort_column(*key));
        sql.push(match dir {
            SortDir::Asc => " ASC",
            SortDir::Desc => " DESC",
        });
        if flavor == Flavor::Postgres && is_nullable(*key) {
            sql.push(match dir {
                SortDir::Asc => " NULLS FIRST",
                SortDir::Desc => " NULLS LAST",
            });
        }
    }
    sql.push(" LIMIT ").bind(SqlValue::Int(sql_limit(query.limit)));
    sql
}

/// Which `os_hidden` value rows must have, if any (`None`: either).
fn hidden_filter(scope: &ListScope) -> Option<bool> {
    scope.os_hidden
}

/// Later repetitions of a key cannot change the order; dropping them keeps the
/// keyset predicate simple.
fn dedup_sort(sort: Vec<(SortKey, SortDir)>) -> Vec<(SortKey, SortDir)> {
    let mut out: Vec<(SortKey, SortDir)> = Vec::with_capacity(sort.len());
    for (key, dir) in sort {
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, dir));
        }
    }
    out
}

fn visibility_is(sql: &mut Sql, v: Visibility) {
    sql.push("visibility = '").push(v.as_str()).push("'");
}

/// Which images the caller may list (Glance's scoping; see `ListScope`).
fn push_scope(sql: &mut Sql, scope: &ListScope) {
    let project = scope.project_id.as_deref();
    if scope.is_admin {
        match scope.visibility {
            Some(v) => {
                sql.push(" AND ");
                visibility_is(sql, v);
            }
            None if scope.include_community => {}
            None => {
                sql.push(" AND (visibility <> 'community' OR owner IS NULL");
                if let Some(p) = project {
                    sql.push(" OR owner = ").bind_text(p);
                }
                sql.push(")");
            }
        }
        return;
    }
    sql.push(" AND ");
    match scope.visibility {
        None => {
            sql.push("(visibility = 'public' OR owner IS NULL");
            if let Some(p) = project {
                sql.push(" OR owner = ").bind_text(p);
                sql.push(" OR (visibility = 'shared' AND ");
                push_membership(sql, p, scope);
                sql.push(")");
            }
            if scope.include_community {
                sql.push(" OR visibility = 'community'");
            }
            sql.push(")");
        }
        Some(v @ (Visibility::Public | Visibility::Community)) => visibility_is(sql, v),
        Some(v @ (Visibility::Private | Visibility::Shared)) => {
            visibility_is(sql, v);
            sql.push(" AND (owner IS NULL");
            if let Some(p) = project {
                sql.push(" OR owner = ").bind_text(p);
                if v == Visibility::Shared {
                    sql.push(" OR ");
                    push_membership(sql, p, scope);
                }
            }
            sql.push(")");
        }
    }
}

fn push_membership(sql: &mut Sql, project: &str, scope: &ListScope) {
    sql.push("EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = images.id AND m.member_id = ").bind_text(project);
    if let Some(status) = scope.member_status {
        sql.push(" AND m.status = '").push(status.as_str()).push("'");
    }
    sql.push(")");
}

fn text_column(field: TextField) -> &'static str {
    match field {
        TextField::Id => "id",
        TextField::Name => "name",
        TextField::Status => "status",
        TextField::ContainerFormat => "container_format",
        TextField::DiskFormat => "disk_format",
        TextField::Owner => "owner",
        TextField::Checksum => "checksum",
        TextField::OsHashValue => "os_hash_value",
    }
}

fn int_column(field: IntField) -> &'static str {
    match field {
        IntField::Size => "size",
        IntField::VirtualSize => "virtual_size",
        IntField::MinDisk => "min_disk",
        IntField::MinRam => "min_ram",
    }
}

fn time_column(field: TimeField) -> &'static str {
    match field {
        TimeField::CreatedAt => "created_at",
        TimeField::UpdatedAt => "updated_at",
    }
}

fn operator(cmp: Cmp) -> &'static str {
    match cmp {
        Cmp::Eq => " = ",
        Cmp::Neq => " <> ",
        Cmp::Gt => " > ",
        Cmp::Gte => " >= ",
        Cmp::Lt => " < ",
        Cmp::Lte => " <= ",
    }
}

fn push_filter(sql: &mut Sql, filter: &Filter) {
    match filter {
        Filter::In(field, values) => {
            // Ids are stored in canonical form; a value that is no UUID matches nothing.
            let values: Vec<String> = if *field == TextField::Id {
                values.iter().filter_map(|v| Uuid::parse_str(v).ok()).map(|u| u.hyphenated().to_string()).collect()
            } else {
                values.clone()
            };
            let column = text_column(*field);
            match values.len() {
                0 => {
                    sql.push("FALSE");
                }
                1 => {
                    sql.push(column).push(" = ").bind(SqlValue::Text(values.into_iter().next().unwrap_or_default()));
                }
                _ => match sql.flavor {
                    Flavor::Postgres => {
                        sql.push(column).push(" = ANY(").bind(SqlValue::TextList(values)).push(")");
                    }
                    Flavor::Sqlite => {
                        sql.push(column).push(" IN (");
                        for (i, value) in values.into_iter().enumerate() {
                            if i > 0 {
                                sql.push(", ");
                            }
                            sql.bind(SqlValue::Text(value));
                        }
                        sql.push(")");
                    }
                },
            }
        }
        Filter::Int(field, cmp, value) => {
            sql.push(int_column(*field)).push(operator(*cmp)).bind(SqlValue::Int(*value));
        }
        Filter::Time(field, cmp, value) => {
            sql.push(time_column(*field)).push(operator(*cmp)).bind(SqlValue::Int(to_micros(value)));
        }
        Filter::Protected(value) => {
            sql.push("protected = ").bind(SqlValue::Bool(*value));
        }
        Filter::Tag(tag) => {
            sql.push("EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = images.id AND t.tag = ").bind_text(tag).push(")");
        }
        Filter::Property(key, value) => {
            sql.push("EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = images.id AND p.name = ")
                .bind_text(key)
                .push(" AND p.value = ")
                .bind_text(value)
                .push(")");
        }
        Filter::HasProperty(key) => {
            sql.push("EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = images.id AND p.name = ").bind_text(key).push(")");
        }
    }
}

fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::Name => "name",
        SortKey::Status => "status",
        SortKey::ContainerFormat => "container_format",
        SortKey::DiskFormat => "disk_format",
        SortKey::Size => "size",
        SortKey::Id => "id",
        SortKey::CreatedAt => "created_at",
        SortKey::UpdatedAt => "updated_at",
        SortKey::MinDisk => "min_disk",
        SortKey::MinRam => "min_ram",
    }
}

fn is_nullable(key: SortKey) -> bool {
    matches!(key, SortKey::Name | SortKey::ContainerFormat | SortKey::DiskFormat | SortKey::Size)
}

/// The marker's value for a sort key, as stored (`None` for NULL).
fn sort_value(image: &Image, key: SortKey) -> Option<SqlValue> {
    match key {
        SortKey::Name => image.name.clone().map(SqlValue::Text),
        SortKey::Status => Some(SqlValue::Text(image.status.as_str().to_owned())),
        SortKey::ContainerFormat => image.container_format.clone().map(SqlValue::Text),
        SortKey::DiskFormat => image.disk_format.clone().map(SqlValue::Text),
        SortKey::Size => image.size.map(SqlValue::Int),
        SortKey::Id => Some(SqlValue::Text(image.id.hyphenated().to_string())),
        SortKey::CreatedAt => Some(SqlValue::Int(to_micros(&image.created_at))),
        SortKey::UpdatedAt => Some(SqlValue::Int(to_micros(&image.updated_at))),
        SortKey::MinDisk => Some(SqlValue::Int(image.min_disk)),
        SortKey::MinRam => Some(SqlValue::Int(image.min_ram)),
    }
}

/// One sort key with the marker's value for it.
struct Bound {
    column: &'static str,
    dir: SortDir,
    nullable: bool,
    value: Option<SqlValue>,
}

impl Bound {
    /// Rows strictly after the marker on this key (NULL is the smallest value).
    fn push_after(&self, sql: &mut Sql) {
        match (self.dir, &self.value) {
            (SortDir::Asc, Some(v)) => {
                sql.push(self.column).push(" > ").bind(v.clone());
            }
            (SortDir::Asc, None) => {
                sql.push(self.column).push(" IS NOT NULL");
            }
            (SortDir::Desc, Some(v)) if self.nullable => {
                sql.push("(").push(self.column).push(" < ").bind(v.clone()).push(" OR ").push(self.column).push(" IS NULL)");
            }
            (SortDir::Desc, Some(v)) => {
                sql.push(self.column).push(" < ").bind(v.clone());
            }
            (SortDir::Desc, None) => {
                sql.push("FALSE");
            }
        }
    }

    /// Rows equal to the marker on this key.
    fn push_equal(&self, sql: &mut Sql) {
        match &self.value {
            Some(v) => sql.push(self.column).push(" = ").bind(v.clone()),
            None => sql.push(self.column).push(" IS NULL"),
        };
    }

    /// Rows at or after the marker on this key; `false` when that is every row.
    fn push_at_or_after(&self, sql: &mut Sql) -> bool {
        match (self.dir, &self.value) {
            (SortDir::Asc, Some(v)) => {
                sql.push(self.column).push(" >= ").bind(v.clone());
            }
            (SortDir::Asc, None) => return false,
            (SortDir::Desc, Some(v)) if self.nullable => {
                sql.push("(").push(self.column).push(" <= ").bind(v.clone()).push(" OR ").push(self.column).push(" IS NULL)");
            }
            (SortDir::Desc, Some(v)) => {
                sql.push(self.column).push(" <= ").bind(v.clone());
            }
            (SortDir::Desc, None) => {
                sql.push(self.column).push(" IS NULL");
            }
        }
        true
    }
}

/// Rows strictly after `marker` in `sort` order. When all keys share one direction
/// and NULLs cannot sort after the marker this is a row-value comparison (which
/// both databases turn into an index range); otherwise the expanded form
/// `k1 ≥ m1 AND (k1 > m1 OR (k1 = m1 AND (k2 > m2 OR …)))`, whose leading range
/// term still lets an index on the first key bound the scan.
fn push_keyset(sql: &mut Sql, sort: &[(SortKey, SortDir)], marker: &Image) {
    let bounds: Vec<Bound> = sort
        .iter()
        .map(|(key, dir)| Bound { column: sort_column(*key), dir: *dir, nullable: is_nullable(*key), value: sort_value(marker, *key) })
        .collect();
    let Some(first) = bounds.first() else {
        sql.push("TRUE");
        return;
    };
    // A row-value comparison treats NULL as unknown, which is right only where a
    // NULL can never sort after the marker: ascending (NULL is smallest) or on
    // columns that cannot be NULL.
    let uniform = bounds.iter().all(|b| b.value.is_some() && b.dir == first.dir && (b.dir == SortDir::Asc || !b.nullable));
    if uniform {
        sql.push("(");
        for (i, b) in bounds.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(b.column);
        }
        sql.push(match first.dir {
            SortDir::Asc => ") > (",
            SortDir::Desc => ") < (",
        });
        for (i, b) in bounds.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            if let Some(v) = &b.value {
                sql.bind(v.clone());
            }
        }
        sql.push(")");
        return;
    }
    sql.push("(");
    if first.push_at_or_after(sql) {
        sql.push(" AND ");
    }
    let last = bounds.len() - 1;
    for (i, b) in bounds.iter().enumerate() {
        if i < last {
            sql.push("(");
            b.push_after(sql);
            sql.push(" OR (");
            b.push_equal(sql);
            sql.push(" AND ");
        } else {
            b.push_after(sql);
        }
    }
    for _ in 0..last {
        sql.push("))");
    }
    sql.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagery_core::member::MemberStatus;
    use imagery_core::time::now;

    fn user_scope() -> ListScope {
        ListScope {
            is_admin: false,
            project_id: Some("p1".into()),
            visibility: None,
            include_community: false,
            member_status: Some(MemberStatus::Accepted),
            os_hidden: Some(false),
        }
    }

    #[test]
    fn values_are_bound_never_inlined() {
        let mut q = ListQuery::new(user_scope(), 10);
        q.filters.push(Filter::Property("k'; DROP TABLE images; --".into(), "v".into()));
        q.filters.push(Filter::In(TextField::Name, vec!["a'b".into(), "c".into()]));
        let sql = list_images_query(Flavor::Sqlite, &q, None);
        assert!(!sql.text.contains("DROP"));
        assert!(!sql.text.contains("a'b"));
        assert!(sql.params.contains(&SqlValue::Text("a'b".into())));
        let pg = list_images_query(Flavor::Postgres, &q, None);
        assert!(pg.text.contains("name = ANY($"));
    }

    #[test]
    fn default_order_pages_with_a_row_value() {
        let q = ListQuery::new(user_scope(), 10);
        let marker = Image::new(Uuid::new_v4(), Some("p1".into()), now());
        let sql = list_images_query(Flavor::Postgres, &q, Some(&marker));
        assert!(sql.text.contains("(created_at, id) < ($"), "{}", sql.text);
        assert!(sql.text.ends_with("ORDER BY created_at DESC, id DESC LIMIT $6"), "{}", sql.text);
    }

    #[test]
    fn mixed_directions_expand() {
        let mut q = ListQuery::new(user_scope(), 10);
        q.sort = vec![(SortKey::Name, SortDir::Asc), (SortKey::Size, SortDir::Desc)];
        let marker = Image::new(Uuid::new_v4(), Some("p1".into()), now());
        let sql = list_images_query(Flavor::Sqlite, &q, Some(&marker));
        // NULL name marker: ascending, so everything at or after it; size NULL descending → nothing after.
        assert!(sql.text.contains("(name IS NOT NULL OR (name IS NULL AND (FALSE OR (size IS NULL AND"), "{}", sql.text);
    }
}
