//! What a list of images asks the catalog for: scope (whose images), filters,
//! order and a keyset page. Dialects parse their own query syntax into this.

use uuid::Uuid;

use crate::error::{DomainError, DomainResult, Problem};
use crate::image::{ImageStatus, Visibility};
use crate::member::MemberStatus;
use crate::time::Timestamp;

/// Most filters one list query may carry (each tag, property and attribute
/// condition counts once). A user's oversized query is the user's mistake, not a
/// load the catalog should try (SQLite refuses deep expressions outright).
pub const MAX_FILTERS: usize = 64;

/// Most values the `in:` lists of one list query may name in all.
pub const MAX_FILTER_VALUES: usize = 1024;

/// The size rule of a list query's filters: at most [`MAX_FILTERS`] filters and
/// [`MAX_FILTER_VALUES`] listed values. The service applies it to every list a
/// caller asks for, whatever dialect parsed it.
pub fn check_filters(filters: &[Filter]) -> DomainResult<()> {
    if filters.len() > MAX_FILTERS {
        return Err(DomainError::BadRequest(Problem::TooManyFilters { limit: MAX_FILTERS }));
    }
    let values: usize = filters.iter().map(|f| if let Filter::In(_, values) = f { values.len() } else { 0 }).sum();
    if values > MAX_FILTER_VALUES {
        return Err(DomainError::BadRequest(Problem::TooManyFilterValues { limit: MAX_FILTER_VALUES }));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// Image columns that can be matched exactly or with `in:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Id,
    Name,
    Status,
    ContainerFormat,
    DiskFormat,
    Owner,
    Checksum,
    OsHashValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntField {
    Size,
    VirtualSize,
    MinDisk,
    MinRam,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeField {
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Column value is one of these (a single value is plain equality).
    In(TextField, Vec<String>),
    Int(IntField, Cmp, i64),
    Time(TimeField, Cmp, Timestamp),
    Protected(bool),
    /// The image carries this tag (several tag filters AND together).
    Tag(String),
    /// Custom property `key` equals `value`.
    Property(String, String),
    /// Custom property `key` is set.
    HasProperty(String),
}

/// Which images a caller may list. The rules mirror Glance's list scoping.
#[derive(Debug, Clone, PartialEq)]
pub struct ListScope {
    /// Admins see every project's images.
    pub is_admin: bool,
    /// The caller's project (`None` for project-less callers: they see only public
    /// and owner-less images, or everything when admin).
    pub project_id: Option<String>,
    /// `None`: the default view (public + own + shared-with-me accepted); `Some(v)`:
    /// only images of visibility `v` the caller may see.
    pub visibility: Option<Visibility>,
    /// `true` for `visibility=all`: adds others' community images to the default view.
    pub include_community: bool,
    /// Membership statuses that make a shared image appear; `None` = any status.
    pub member_status: Option<MemberStatus>,
    /// `Some(b)`: only images with `os_hidden == b` (the default view passes
    /// `Some(false)`); `None`: hidden or not.
    pub os_hidden: Option<bool>,
}

impl ListScope {
    /// Every image regardless of owner, visibility or hidden flag (maintenance tasks).
    pub fn everything() -> Self {
        ListScope { is_admin: true, project_id: None, visibility: None, include_community: true, member_status: None, os_hidden: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Status,
    ContainerFormat,
    DiskFormat,
    Size,
    Id,
    CreatedAt,
    UpdatedAt,
    MinDisk,
    MinRam,
}

impl SortKey {
    pub fn parse(s: &str) -> Option<SortKey> {
        Some(match s {
            "name" => SortKey::Name,
            "status" => SortKey::Status,
            "container_format" => SortKey::ContainerFormat,
            "disk_format" => SortKey::DiskFormat,
            "size" => SortKey::Size,
            "id" => SortKey::Id,
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "min_disk" => SortKey::MinDisk,
            "min_ram" => SortKey::MinRam,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub scope: ListScope,
    pub filters: Vec<Filter>,
    /// Requested order; the catalog appends `created_at` and `id` (in the direction of
    /// the last key) as tie-breakers when absent, so pages are stable.
    pub sort: Vec<(SortKey, SortDir)>,
    /// Start after this image (keyset pagination). The catalog reads the marker's
    /// sort values itself; an unknown marker is the caller's job to reject first.
    pub marker: Option<Uuid>,
    pub limit: usize,
    /// Include images in `deleted`/`pending_delete` (normally excluded, as are `killed`).
    pub include_deleted: bool,
}

impl ListQuery {
    pub fn new(scope: ListScope, limit: usize) -> Self {
        ListQuery {
            scope,
            filters: Vec::new(),
            sort: vec![(SortKey::CreatedAt, SortDir::Desc)],
            marker: None,
            limit,
            include_deleted: false,
        }
    }

    /// The sort with tie-breakers appended, exactly as the catalog must apply it.
    pub fn effective_sort(&self) -> Vec<(SortKey, SortDir)> {
        let mut sort = self.sort.clone();
        let dir = sort.last().map(|s| s.1).unwrap_or(SortDir::Desc);
        for key in [SortKey::CreatedAt, SortKey::Id] {
            if !sort.iter().any(|(k, _)| *k == key) {
                sort.push((key, dir));
            }
        }
        sort
    }
}

pub fn status_filter(statuses: &[ImageStatus]) -> Filter {
    Filter::In(TextField::Status, statuses.iter().map(|s| s.as_str().to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_counts_are_bounded() {
        let tags = |n: usize| (0..n).map(|i| Filter::Tag(format!("t{i}"))).collect::<Vec<_>>();
        assert_eq!(check_filters(&tags(MAX_FILTERS)), Ok(()));
        assert_eq!(check_filters(&tags(MAX_FILTERS + 1)), Err(DomainError::BadRequest(Problem::TooManyFilters { limit: MAX_FILTERS })));
        let ids = vec![Filter::In(TextField::Id, (0..=MAX_FILTER_VALUES).map(|i| i.to_string()).collect())];
        assert_eq!(check_filters(&ids), Err(DomainError::BadRequest(Problem::TooManyFilterValues { limit: MAX_FILTER_VALUES })));
    }
}
