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
///
/// Two shapes keep the cost of a page independent of the catalog's size:
/// - A non-admin's view (public, own, owner-less, shared with the project) is a
///   `UNION ALL` of disjoint branches, each read in page order from its own index
///   (`images_owner`, `images_visibility`, the memberships) and cut at the page
///   size, then merged: a project's images are not looked for among everyone's.
/// - In the default order (`created_at`, `id`), a tag or custom-property filter
///   drives the query: its child rows carry their image's `created_at`
///   (`image_created_at`), so the index on `(tag, image_created_at, image_id)` (or
///   `(name, value, image_created_at, image_id)`) yields the matching images
///   already in page order, whether the tag is on three images or on half the
///   catalog. Other orders, a non-admin's branches (each bounded: one project's
///   images, the few public ones, the project's memberships), or a query that
///   also names an indexed high-cardinality column keep `EXISTS` probes.
///
/// `few` says the driving filter's child rows number at most [`FEW_MATCHES`]
/// (see [`matches_probe`]): then it drives a project's branches too, which
/// otherwise probe every candidate image (all public ones, for a rare tag).
pub(crate) fn list_images_query(flavor: Flavor, query: &ListQuery, marker: Option<&Image>, few: bool) -> Sql {
    let mut sql = Sql::new(flavor);
    let sort = dedup_sort(query.effective_sort());
    let branches = reach_branches(query);
    if branches.is_empty() {
        push_select(&mut sql, query, marker, &sort, Reach::Scope, few);
        return sql;
    }
    sql.push(concat!("SELECT ", image_columns!(), " FROM ("));
    for (i, branch) in branches.into_iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push("SELECT * FROM (");
        push_select(&mut sql, query, marker, &sort, branch, few);
        // Writing into a String cannot fail.
        let _ = write!(sql.text, ") b{i}");
    }
    sql.push(") u");
    push_order(&mut sql, &sort, Columns::Images);
    sql.push(" LIMIT ").bind(SqlValue::Int(sql_limit(query.limit)));
    sql
}

/// One `SELECT … ORDER BY … LIMIT` over the images `reach` selects.
fn push_select(sql: &mut Sql, query: &ListQuery, marker: Option<&Image>, sort: &[(SortKey, SortDir)], reach: Reach<'_>, few: bool) {
    let driver = match reach {
        Reach::SharedWith(_) => None,
        Reach::Scope => driving_filter(query, sort),
        _ if few => driving_filter(query, sort),
        _ => None,
    };
    sql.push(concat!("SELECT ", image_columns!(), " FROM "));
    if let Reach::SharedWith(p) = reach {
        // The project's memberships drive (they are few); SQLite is told the join
        // order, or it walks every shared image in page order probing for them.
        sql.push("(SELECT image_id AS m_id FROM image_members WHERE member_id = ").bind_text(p);
        if let Some(status) = query.scope.member_status {
            sql.push(" AND status = '").push(status.as_str()).push("'");
        }
        sql.push(match sql.flavor {
            Flavor::Sqlite => ") m CROSS JOIN images ON id = m_id WHERE ",
            Flavor::Postgres => ") m JOIN images ON id = m_id WHERE ",
        });
    }
    match driver.map(|i| &query.filters[i]) {
        _ if matches!(reach, Reach::SharedWith(_)) => {}
        Some(Filter::Tag(tag)) => {
            sql.push("(SELECT image_id AS d_id, image_created_at AS d_created FROM image_tags WHERE tag = ").bind_text(tag);
            sql.push(") d JOIN images ON id = d_id WHERE ");
        }
        Some(Filter::Property(key, value)) => {
            sql.push("(SELECT image_id AS d_id, image_created_at AS d_created FROM image_properties WHERE name = ").bind_text(key);
            sql.push(" AND value = ").bind_text(value);
            sql.push(") d JOIN images ON id = d_id WHERE ");
        }
        _ => {
            sql.push("images");
            // SQLite has no statistics to see that one project's images (or the
            // owner-less ones) are few: without the hint it prefers an index that
            // yields page order and walks it through everyone's images.
            let by_owner = reach.is_owners() || query.filters.iter().any(|f| matches!(f, Filter::In(TextField::Owner, v) if v.len() == 1));
            if sql.flavor == Flavor::Sqlite {
                if by_owner {
                    sql.push(" INDEXED BY images_owner");
                } else if let (Reach::Others(_, Visibility::Public), Some(index)) = (reach, public_index(sort)) {
                    // Likewise the few public images, read in sort order through
                    // their partial index rather than all sorted.
                    sql.push(" INDEXED BY ").push(index);
                }
            }
            sql.push(" WHERE ");
        }
    }
    let columns = if driver.is_some() { Columns::Driven } else { Columns::Images };
    if query.include_deleted {
        sql.push("status <> 'killed'");
    } else {
        sql.push("status NOT IN ('killed', 'deleted', 'pending_delete')");
    }
    if let Some(hidden) = hidden_filter(&query.scope) {
        sql.push(" AND os_hidden = ").bind(SqlValue::Bool(hidden));
    }
    match reach {
        Reach::Scope => push_scope(sql, &query.scope),
        branch => {
            sql.push(" AND ");
            branch.push(sql, &query.scope);
        }
    }
    for (i, filter) in query.filters.iter().enumerate() {
        if Some(i) == driver {
            continue;
        }
        sql.push(" AND ");
        push_filter(sql, filter, reach != Reach::Scope);
    }
    if let Some(marker) = marker {
        sql.push(" AND ");
        push_keyset(sql, sort, marker, columns);
    }
    push_order(sql, sort, columns);
    sql.push(" LIMIT ").bind(SqlValue::Int(sql_limit(query.limit)));
}

fn push_order(sql: &mut Sql, sort: &[(SortKey, SortDir)], columns: Columns) {
    sql.push(" ORDER BY ");
    for (i, (key, dir)) in sort.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(columns.sort_column(*key));
        sql.push(match dir {
            SortDir::Asc => " ASC",
            SortDir::Desc => " DESC",
        });
        if sql.flavor == Flavor::Postgres && is_nullable(*key) {
            sql.push(match dir {
                SortDir::Asc => " NULLS FIRST",
                SortDir::Desc => " NULLS LAST",
            });
        }
    }
}

/// The partial index (migration v5) holding the public images in `sort` order.
fn public_index(sort: &[(SortKey, SortDir)]) -> Option<&'static str> {
    Some(match sort.first()?.0 {
        SortKey::Name => "images_public_name",
        SortKey::Status => "images_public_status",
        SortKey::ContainerFormat => "images_public_container_format",
        SortKey::DiskFormat => "images_public_disk_format",
        SortKey::Size => "images_public_size",
        SortKey::Id => "images_public_id",
        SortKey::UpdatedAt => "images_public_updated",
        SortKey::MinDisk => "images_public_min_disk",
        SortKey::MinRam => "images_public_min_ram",
        SortKey::CreatedAt => return None,
    })
}

/// Which images one `SELECT` of the listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach<'a> {
    /// The caller's whole scope in one predicate (admins, callers without a
    /// project, and views with one visibility anyone may see).
    Scope,
    /// The project's own images (of one visibility, when asked).
    Own(&'a str, Option<Visibility>),
    /// Owner-less images (of one visibility, when asked).
    OwnerLess(Option<Visibility>),
    /// Another project's images of this visibility (public, community).
    Others(&'a str, Visibility),
    /// Another project's shared images the project is a member of.
    SharedWith(&'a str),
}

impl Reach<'_> {
    /// Branches that select by owner (a project's own images, or the owner-less).
    fn is_owners(self) -> bool {
        matches!(self, Reach::Own(..) | Reach::OwnerLess(_))
    }

    fn push(self, sql: &mut Sql, scope: &ListScope) {
        let visibility = |sql: &mut Sql, v: Option<Visibility>| {
            if let Some(v) = v {
                sql.push(" AND ");
                visibility_is(sql, v);
            }
        };
        match self {
            Reach::Scope => push_scope(sql, scope),
            Reach::Own(p, v) => {
                sql.push("owner = ").bind_text(p);
                visibility(sql, v);
            }
            Reach::OwnerLess(v) => {
                sql.push("owner IS NULL");
                visibility(sql, v);
            }
            Reach::Others(p, v) => {
                visibility_is(sql, v);
                sql.push(" AND owner <> ").bind_text(p);
            }
            // The membership itself is the join `push_select` reads from.
            Reach::SharedWith(p) => {
                sql.push("visibility = 'shared' AND owner <> ").bind_text(p);
            }
        }
    }
}

/// A non-admin project's view as disjoint branches whose union is exactly what
/// `push_scope` selects; empty when one predicate serves as well.
/// An `owner` filter keeps only the branches that can hold that owner's images
/// (a query for one's own images is one branch; for another project's, its
/// public and shared ones); when none can, the plain scope answers (nothing).
fn reach_branches(query: &ListQuery) -> Vec<Reach<'_>> {
    let mut branches = scope_branches(&query.scope);
    let owner = query.filters.iter().find_map(|f| match f {
        Filter::In(TextField::Owner, v) if v.len() == 1 => v.first().map(String::as_str),
        _ => None,
    });
    if let Some(owner) = owner {
        branches.retain(|b| match *b {
            Reach::Own(p, _) => p == owner,
            Reach::OwnerLess(_) => false,
            Reach::Others(p, _) | Reach::SharedWith(p) => p != owner,
            Reach::Scope => true,
        });
    }
    branches
}

fn scope_branches(scope: &ListScope) -> Vec<Reach<'_>> {
    let Some(p) = scope.project_id.as_deref() else {
        return Vec::new();
    };
    if scope.is_admin {
        return Vec::new();
    }
    match scope.visibility {
        None => {
            let mut branches =
                vec![Reach::Own(p, None), Reach::OwnerLess(None), Reach::Others(p, Visibility::Public), Reach::SharedWith(p)];
            if scope.include_community {
                branches.push(Reach::Others(p, Visibility::Community));
            }
            branches
        }
        Some(Visibility::Private) => vec![Reach::Own(p, Some(Visibility::Private)), Reach::OwnerLess(Some(Visibility::Private))],
        Some(Visibility::Shared) => {
            vec![Reach::Own(p, Some(Visibility::Shared)), Reach::OwnerLess(Some(Visibility::Shared)), Reach::SharedWith(p)]
        }
        Some(Visibility::Public | Visibility::Community) => Vec::new(),
    }
}

/// At most this many child rows make a tag or property filter drive a project's
/// view (each is one image lookup; probing instead costs one lookup per candidate
/// image, e.g. every public image).
pub(crate) const FEW_MATCHES: i64 = 1000;

/// For a project's view in the default order with a tag or property filter, the
/// statement counting that filter's child rows, up to `FEW_MATCHES + 1` (an index
/// range, cheap): whether they are few enough to drive every branch.
pub(crate) fn matches_probe(flavor: Flavor, query: &ListQuery) -> Option<Sql> {
    if reach_branches(query).is_empty() {
        return None;
    }
    let sort = dedup_sort(query.effective_sort());
    let mut sql = Sql::new(flavor);
    match driving_filter(query, &sort).map(|i| &query.filters[i])? {
        Filter::Tag(tag) => {
            sql.push("SELECT COUNT(*) FROM (SELECT 1 FROM image_tags WHERE tag = ").bind_text(tag);
        }
        Filter::Property(key, value) => {
            sql.push("SELECT COUNT(*) FROM (SELECT 1 FROM image_properties WHERE name = ").bind_text(key);
            sql.push(" AND value = ").bind_text(value);
        }
        _ => return None,
    }
    sql.push(" LIMIT ").bind(SqlValue::Int(FEW_MATCHES + 1)).push(") c");
    Some(sql)
}

/// Which sort columns the statement orders and pages by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Columns {
    /// The image row's own.
    Images,
    /// The driving child row's copies (`d_created`, `d_id`), equal to the image's
    /// `created_at` and `id` but ordered by the child table's index.
    Driven,
}

impl Columns {
    fn sort_column(self, key: SortKey) -> &'static str {
        match (self, key) {
            (Columns::Driven, SortKey::CreatedAt) => "d_created",
            (Columns::Driven, SortKey::Id) => "d_id",
            _ => sort_column(key),
        }
    }
}

/// The tag or property filter that drives the query (see `list_images_query`): only
/// in the default order, and not when an equality on a high-cardinality column
/// (id, name, owner, checksum, hash) narrows the images better through its own index.
fn driving_filter(query: &ListQuery, sort: &[(SortKey, SortDir)]) -> Option<usize> {
    let default_order = matches!(sort, [(SortKey::CreatedAt, a), (SortKey::Id, b)] if a == b);
    if !default_order {
        return None;
    }
    let narrower = query.filters.iter().any(|f| {
        matches!(f, Filter::In(TextField::Id | TextField::Name | TextField::Owner | TextField::Checksum | TextField::OsHashValue, _))
    });
    if narrower {
        return None;
    }
    query.filters.iter().position(|f| matches!(f, Filter::Tag(_) | Filter::Property(_, _)))
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

/// `per_row`: the rows are few (one branch of a project's view), so child-row
/// conditions are probed per image. PostgreSQL would otherwise turn them into a
/// semi-join that reads every matching child row of the catalog (60,000 rows of a
/// 6 % property, 15 ms per branch); `OFFSET 0` keeps the subquery a subquery.
fn push_filter(sql: &mut Sql, filter: &Filter, per_row: bool) {
    let end = if per_row && sql.flavor == Flavor::Postgres { " OFFSET 0)" } else { ")" };
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
            sql.push("EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = images.id AND t.tag = ").bind_text(tag).push(end);
        }
        Filter::Property(key, value) => {
            sql.push("EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = images.id AND p.name = ")
                .bind_text(key)
                .push(" AND p.value = ")
                .bind_text(value)
                .push(end);
        }
        Filter::HasProperty(key) => {
            sql.push("EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = images.id AND p.name = ").bind_text(key).push(end);
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
fn push_keyset(sql: &mut Sql, sort: &[(SortKey, SortDir)], marker: &Image, columns: Columns) {
    let bounds: Vec<Bound> = sort
        .iter()
        .map(|(key, dir)| Bound {
            column: columns.sort_column(*key),
            dir: *dir,
            nullable: is_nullable(*key),
            value: sort_value(marker, *key),
        })
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
        let sql = list_images_query(Flavor::Sqlite, &q, None, false);
        assert!(!sql.text.contains("DROP"));
        assert!(!sql.text.contains("a'b"));
        assert!(sql.params.contains(&SqlValue::Text("a'b".into())));
        let pg = list_images_query(Flavor::Postgres, &q, None, false);
        assert!(pg.text.contains("name = ANY($"));
    }

    #[test]
    fn default_order_pages_with_a_row_value() {
        let marker = Image::new(Uuid::new_v4(), Some("p1".into()), now());
        for scope in [user_scope(), ListScope::everything()] {
            let q = ListQuery::new(scope, 10);
            let sql = list_images_query(Flavor::Postgres, &q, Some(&marker), false);
            assert!(sql.text.contains("(created_at, id) < ($"), "{}", sql.text);
            let end = format!("ORDER BY created_at DESC, id DESC LIMIT ${}", sql.params.len());
            assert!(sql.text.ends_with(&end), "{}", sql.text);
        }
    }

    /// A project's view is the union of disjoint branches, each cut at the page
    /// size; an admin's is one statement.
    #[test]
    fn a_projects_view_is_a_union_of_branches() {
        let q = ListQuery::new(user_scope(), 10);
        let sql = list_images_query(Flavor::Sqlite, &q, None, false);
        for branch in [
            "owner = ?",
            "owner IS NULL",
            "visibility = 'public' AND owner <> ?",
            "visibility = 'shared' AND owner <> ?",
            "(SELECT image_id AS m_id FROM image_members WHERE member_id = ?",
            "AND status = 'accepted') m CROSS JOIN images ON id = m_id",
        ] {
            assert!(sql.text.contains(branch), "{branch}: {}", sql.text);
        }
        assert_eq!(sql.text.matches(" UNION ALL ").count(), 3, "{}", sql.text);
        let mut shared = user_scope();
        shared.visibility = Some(Visibility::Shared);
        let sql = list_images_query(Flavor::Sqlite, &ListQuery::new(shared, 10), None, false);
        assert_eq!(sql.text.matches(" UNION ALL ").count(), 2, "{}", sql.text);
        let mut public = user_scope();
        public.visibility = Some(Visibility::Public);
        let sql = list_images_query(Flavor::Sqlite, &ListQuery::new(public, 10), None, false);
        assert!(!sql.text.contains("UNION"), "{}", sql.text);
        let sql = list_images_query(Flavor::Sqlite, &ListQuery::new(ListScope::everything(), 10), None, false);
        assert!(!sql.text.contains("UNION"), "{}", sql.text);
        // An owner filter keeps the branches that can hold that owner's images.
        let mut q = ListQuery::new(user_scope(), 10);
        q.filters = vec![Filter::In(TextField::Owner, vec!["p1".into()])];
        let sql = list_images_query(Flavor::Sqlite, &q, None, false);
        assert!(sql.text.contains(") b0) u ORDER BY") && !sql.text.contains(" UNION ALL "), "{}", sql.text);
        q.filters = vec![Filter::In(TextField::Owner, vec!["p2".into()])];
        let sql = list_images_query(Flavor::Sqlite, &q, None, false);
        assert_eq!(sql.text.matches(" UNION ALL ").count(), 1, "{}", sql.text);
        assert!(!sql.text.contains("owner IS NULL"), "{}", sql.text);
    }

    /// A filter matching few child rows drives a project's branches too (not the
    /// memberships, which drive their own); counting them is one bounded range.
    #[test]
    fn few_matches_drive_a_projects_branches() {
        let mut q = ListQuery::new(user_scope(), 10);
        q.filters = vec![Filter::Tag("t".into())];
        let probe = matches_probe(Flavor::Sqlite, &q).unwrap();
        assert_eq!(probe.text, "SELECT COUNT(*) FROM (SELECT 1 FROM image_tags WHERE tag = ?1 LIMIT ?2) c");
        assert_eq!(probe.params[1], SqlValue::Int(FEW_MATCHES + 1));
        let probing = list_images_query(Flavor::Sqlite, &q, None, false);
        assert!(!probing.text.contains(") d JOIN"), "{}", probing.text);
        let pg = list_images_query(Flavor::Postgres, &q, None, false);
        assert_eq!(pg.text.matches(" OFFSET 0)").count(), 4, "{}", pg.text);
        let driven = list_images_query(Flavor::Sqlite, &q, None, true);
        assert_eq!(driven.text.matches("FROM image_tags WHERE tag = ").count(), 3, "{}", driven.text);
        assert!(
            driven.text.contains("m CROSS JOIN images ON id = m_id") && driven.text.contains("EXISTS (SELECT 1 FROM image_tags t"),
            "{}",
            driven.text
        );
        assert!(matches_probe(Flavor::Sqlite, &ListQuery { scope: ListScope::everything(), ..q.clone() }).is_none());
        q.sort = vec![(SortKey::Name, SortDir::Asc)];
        assert!(matches_probe(Flavor::Sqlite, &q).is_none());
    }

    /// In the default order a tag or property filter reads its child rows in page
    /// order; in another order, or next to a name filter, it is probed.
    #[test]
    fn tags_and_properties_drive_the_default_order() {
        let mut q = ListQuery::new(ListScope::everything(), 10);
        q.filters = vec![Filter::Tag("t".into())];
        let marker = Image::new(Uuid::new_v4(), Some("p1".into()), now());
        let sql = list_images_query(Flavor::Postgres, &q, Some(&marker), false);
        assert!(sql.text.contains("FROM image_tags WHERE tag = $1) d JOIN images ON id = d_id"), "{}", sql.text);
        assert!(sql.text.contains("(d_created, d_id) < ($"), "{}", sql.text);
        assert!(sql.text.contains("ORDER BY d_created DESC, d_id DESC"), "{}", sql.text);
        q.filters = vec![Filter::Property("k".into(), "v".into())];
        let sql = list_images_query(Flavor::Sqlite, &q, None, false);
        assert!(sql.text.contains("FROM image_properties WHERE name = ?1 AND value = ?2) d"), "{}", sql.text);
        q.filters.push(Filter::In(TextField::Name, vec!["n".into()]));
        let sql = list_images_query(Flavor::Sqlite, &q, None, false);
        assert!(sql.text.contains("EXISTS (SELECT 1 FROM image_properties p") && !sql.text.contains(") d JOIN"), "{}", sql.text);
        q.filters.pop();
        q.sort = vec![(SortKey::Name, SortDir::Asc)];
        let sql = list_images_query(Flavor::Sqlite, &q, None, false);
        assert!(sql.text.contains("EXISTS (SELECT 1 FROM image_properties p") && !sql.text.contains(") d JOIN"), "{}", sql.text);
    }

    #[test]
    fn mixed_directions_expand() {
        let mut q = ListQuery::new(user_scope(), 10);
        q.sort = vec![(SortKey::Name, SortDir::Asc), (SortKey::Size, SortDir::Desc)];
        let marker = Image::new(Uuid::new_v4(), Some("p1".into()), now());
        let sql = list_images_query(Flavor::Sqlite, &q, Some(&marker), false);
        // NULL name marker: ascending, so everything at or after it; size NULL descending → nothing after.
        assert!(sql.text.contains("(name IS NOT NULL OR (name IS NULL AND (FALSE OR (size IS NULL AND"), "{}", sql.text);
    }
}
