//! The list query of `GET /v2/cloudimages` and of IMS's `GET /v2/images`: Glance's
//! filters, sorting and marker paging, plus IMS's `__*` attribute filters,
//! `virtual_env_type`, `architecture=x86|arm`, `enterprise_project_id` and
//! `flavor_id`. What the catalog can match is handed to the service; filters on
//! attributes imagery derives are checked on each image afterwards (the same
//! [`attributes::effective`] values the views show).

use imagery_core::query::{Cmp, Filter, IntField, SortDir, SortKey, TextField, TimeField};
use imagery_core::time::Timestamp;
use imagery_core::{Caller, Image, ImageStatus, MemberStatus};
use imagery_service::{ImageListRequest, VisibilityParam};
use uuid::Uuid;

use crate::attributes::{self, ArchFamily};
use crate::error::{HuaweiError, HuaweiResult};

/// The largest page either API returns.
pub const MAX_LIMIT: usize = 1000;
/// IMS's page size without `limit`.
pub const IMS_DEFAULT_LIMIT: usize = 500;
/// Glance's page size without `limit`.
pub const GLANCE_DEFAULT_LIMIT: usize = 25;

#[derive(Debug, Clone)]
pub struct ListSpec {
    /// What the catalog filters, sorts and pages.
    pub request: ImageListRequest,
    pub page_size: usize,
    /// `(attribute, value)` pairs every listed image must show.
    pub attributes: Vec<(String, String)>,
    pub arch: Option<ArchFamily>,
    /// A filter no image can pass (`__imagetype=market`, another enterprise project).
    pub matches_nothing: bool,
    /// The query as received, for Glance's `first`/`next` links.
    pub pairs: Vec<(String, String)>,
}

impl ListSpec {
    /// Filters only this dialect can evaluate.
    pub fn needs_post_filter(&self) -> bool {
        !self.attributes.is_empty() || self.arch.is_some()
    }

    pub fn keeps(&self, img: &Image, caller: &Caller) -> bool {
        let arch_ok = match self.arch {
            None => true,
            Some(family) => attributes::architecture(img).is_some_and(|(f, _)| f == family),
        };
        arch_ok
            && self.attributes.iter().all(|(key, wanted)| attributes::effective(img, Some(caller), key).as_deref() == Some(wanted.as_str()))
    }
}

fn bad(message: impl Into<String>) -> HuaweiError {
    HuaweiError::bad_request(message)
}

fn parse_int(name: &str, raw: &str) -> HuaweiResult<i64> {
    raw.trim().parse::<i64>().map_err(|_| bad(format!("{name} must be an integer")))
}

fn parse_bool(name: &str, raw: &str) -> HuaweiResult<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(format!("Invalid value '{raw}' for '{name}': expected 'true' or 'false'."))),
    }
}

fn parse_time(raw: &str) -> HuaweiResult<Timestamp> {
    let raw = raw.trim();
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S").map(|t| t.and_utc()))
        .or_else(|_| chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()))
        .map_err(|_| bad(format!("Unable to parse datetime '{raw}'.")))
}

/// `op:value` with op ∈ gt, gte, lt, lte, eq, neq; a bare value is `eq`.
fn parse_cmp(raw: &str) -> (Cmp, &str) {
    for (prefix, cmp) in [("gte:", Cmp::Gte), ("gt:", Cmp::Gt), ("lte:", Cmp::Lte), ("lt:", Cmp::Lt), ("neq:", Cmp::Neq), ("eq:", Cmp::Eq)]
    {
        if let Some(rest) = raw.strip_prefix(prefix) {
            return (cmp, rest);
        }
    }
    (Cmp::Eq, raw)
}

/// Glance's `in:a,"b, c"` (or `eq:v`, or a plain value).
fn split_values(raw: &str) -> HuaweiResult<Vec<String>> {
    if let Some(rest) = raw.strip_prefix("eq:") {
        return Ok(vec![rest.to_string()]);
    }
    let Some(rest) = raw.strip_prefix("in:") else {
        return Ok(vec![raw.to_string()]);
    };
    let mut values = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in rest.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => values.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if quoted {
        return Err(bad(format!("Invalid filter value {raw}. The quote is not closed.")));
    }
    values.push(current);
    Ok(values)
}

fn sort_key(raw: &str) -> HuaweiResult<SortKey> {
    SortKey::parse(raw.trim()).ok_or_else(|| {
        bad(format!(
            "Invalid sort key: {raw}. It must be one of: name, status, container_format, disk_format, size, id, created_at, updated_at, min_disk, min_ram."
        ))
    })
}

fn sort_dir(raw: &str) -> HuaweiResult<SortDir> {
    match raw.trim() {
        "asc" => Ok(SortDir::Asc),
        "desc" => Ok(SortDir::Desc),
        other => Err(bad(format!("Invalid sort direction: {other}"))),
    }
}

/// Parse a list query; `default_limit` is the API's page size.
pub fn parse(query: Option<&str>, default_limit: usize) -> HuaweiResult<ListSpec> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect();
    let mut req = ImageListRequest::default();
    let mut spec_attributes = Vec::new();
    let mut arch = None;
    let mut matches_nothing = false;
    let mut page_size = default_limit;
    let (mut keys, mut dirs, mut sort) = (Vec::new(), Vec::new(), None);
    for (key, value) in &pairs {
        match key.as_str() {
            "limit" => {
                let n = parse_int("limit", value)?;
                if n < 0 {
                    return Err(bad("limit must be a non-negative integer"));
                }
                page_size = usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
            }
            "marker" => {
                let id = Uuid::parse_str(value)
                    .ok()
                    .filter(|_| value.len() == 36)
                    .ok_or_else(|| bad(format!("Invalid marker. Image {value} could not be found.")))?;
                req.marker = Some(id);
            }
            "sort_key" => {
                for k in value.split(',') {
                    keys.push(sort_key(k)?);
                }
            }
            "sort_dir" => {
                for d in value.split(',') {
                    dirs.push(sort_dir(d)?);
                }
            }
            "sort" => sort = Some(value.clone()),
            "visibility" => {
                req.visibility = Some(match value.as_str() {
                    "all" => VisibilityParam::All,
                    v => VisibilityParam::Only(v.parse().map_err(|_| bad(format!("Invalid visibility value: {v}")))?),
                });
            }
            "member_status" => {
                req.member_status = match value.as_str() {
                    "all" => None,
                    v => Some(v.parse::<MemberStatus>().map_err(|_| bad(format!("Invalid member_status value: {v}")))?),
                };
            }
            "os_hidden" => req.os_hidden = Some(parse_bool(key, value)?),
            "protected" => req.filters.push(Filter::Protected(parse_bool(key, value)?)),
            "tag" => req.filters.push(Filter::Tag(value.clone())),
            "size_min" => req.filters.push(Filter::Int(IntField::Size, Cmp::Gte, parse_int(key, value)?)),
            "size_max" => req.filters.push(Filter::Int(IntField::Size, Cmp::Lte, parse_int(key, value)?)),
            "size" | "virtual_size" | "min_disk" | "min_ram" => {
                let field = match key.as_str() {
                    "size" => IntField::Size,
                    "virtual_size" => IntField::VirtualSize,
                    "min_disk" => IntField::MinDisk,
                    _ => IntField::MinRam,
                };
                req.filters.push(Filter::Int(field, Cmp::Eq, parse_int(key, value)?));
            }
            "created_at" | "updated_at" => {
                let (cmp, raw) = parse_cmp(value);
                let field = if key == "created_at" { TimeField::CreatedAt } else { TimeField::UpdatedAt };
                req.filters.push(Filter::Time(field, cmp, parse_time(raw)?));
            }
            "changes-since" => return Err(bad("The 'changes-since' filter is not available on this API; use updated_at=gte:<time>.")),
            "name" | "id" | "status" | "container_format" | "disk_format" => {
                let field = match key.as_str() {
                    "name" => TextField::Name,
                    "id" => TextField::Id,
                    "status" => TextField::Status,
                    "container_format" => TextField::ContainerFormat,
                    _ => TextField::DiskFormat,
                };
                let values = split_values(value)?;
                if field == TextField::Status {
                    if let Some(v) = values.iter().find(|v| v.parse::<ImageStatus>().is_err()) {
                        return Err(bad(format!("Invalid status value: {v}")));
                    }
                }
                req.filters.push(Filter::In(field, values));
            }
            "owner" => req.filters.push(Filter::In(TextField::Owner, vec![value.clone()])),
            "checksum" => req.filters.push(Filter::In(TextField::Checksum, vec![value.clone()])),
            "os_hash_value" => req.filters.push(Filter::In(TextField::OsHashValue, vec![value.clone()])),
            attributes::IMAGETYPE => {
                if !attributes::IMAGETYPES.contains(&value.as_str()) {
                    return Err(HuaweiError::invalid_imagetype());
                }
                // Nothing in this catalog comes from a marketplace.
                matches_nothing |= value == "market";
                spec_attributes.push((key.clone(), value.clone()));
            }
            "architecture" if value == "x86" || value == "arm" => {
                arch = Some(if value == "x86" { ArchFamily::X86 } else { ArchFamily::Arm });
            }
            // Every image lives in the default enterprise project.
            "enterprise_project_id" => matches_nothing |= !matches!(value.as_str(), "0" | "all_granted_eps"),
            // Any image can boot any flavor here.
            "flavor_id" => {}
            k if attributes::DERIVED.contains(&k) => spec_attributes.push((key.clone(), value.clone())),
            _ => req.filters.push(Filter::Property(key.clone(), value.clone())),
        }
    }
    if let Some(sort) = sort {
        if !keys.is_empty() || !dirs.is_empty() {
            return Err(bad("The 'sort' param cannot be combined with 'sort_key' and 'sort_dir'."));
        }
        let mut order = Vec::new();
        for item in sort.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, d) = item.split_once(':').unwrap_or((item, "desc"));
            order.push((sort_key(k)?, sort_dir(d)?));
        }
        if !order.is_empty() {
            req.sort = order;
        }
    } else if !keys.is_empty() || !dirs.is_empty() {
        if dirs.len() > 1 && dirs.len() != keys.len() {
            return Err(bad("Number of sort dirs does not match the number of sort keys"));
        }
        let keys = if keys.is_empty() { vec![SortKey::CreatedAt] } else { keys };
        let default_dir = dirs.first().copied().unwrap_or(SortDir::Desc);
        req.sort = keys.iter().enumerate().map(|(i, k)| (*k, dirs.get(i).copied().unwrap_or(default_dir))).collect();
    }
    req.limit = page_size;
    Ok(ListSpec { request: req, page_size, attributes: spec_attributes, arch, matches_nothing, pairs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(query: &str) -> ListSpec {
        parse(Some(query), IMS_DEFAULT_LIMIT).unwrap_or_else(|e| panic!("{query}: {e:?}"))
    }

    #[test]
    fn splits_catalog_and_attribute_filters() {
        let s = spec(
            "__imagetype=gold&__platform=Ubuntu&__lazyloading=true&limit=2&name=Ubuntu%2022.04&sort_key=name&status=active&protected=True",
        );
        assert_eq!(s.page_size, 2);
        assert_eq!(s.attributes, vec![("__imagetype".into(), "gold".into()), ("__platform".into(), "Ubuntu".into())]);
        assert!(s.request.filters.contains(&Filter::In(TextField::Name, vec!["Ubuntu 22.04".into()])));
        assert!(s.request.filters.contains(&Filter::In(TextField::Status, vec!["active".into()])));
        assert!(s.request.filters.contains(&Filter::Property("__lazyloading".into(), "true".into())));
        assert!(s.request.filters.contains(&Filter::Protected(true)));
        assert_eq!(s.request.sort, vec![(SortKey::Name, SortDir::Desc)]);
        assert!(!s.matches_nothing);
        assert_eq!(parse(None, IMS_DEFAULT_LIMIT).map(|s| s.page_size).ok(), Some(500));
        assert_eq!(spec("limit=5000").page_size, MAX_LIMIT);
    }

    #[test]
    fn ims_specifics() {
        assert!(spec("__imagetype=market").matches_nothing);
        assert!(spec("enterprise_project_id=abc").matches_nothing);
        assert!(!spec("enterprise_project_id=0&flavor_id=s3.small").matches_nothing);
        assert_eq!(spec("architecture=arm").arch, Some(ArchFamily::Arm));
        assert!(spec("architecture=x86_64").request.filters.contains(&Filter::Property("architecture".into(), "x86_64".into())));
        let t = spec("created_at=gt:2018-10-28T10:00:00Z");
        assert!(matches!(t.request.filters.as_slice(), [Filter::Time(TimeField::CreatedAt, Cmp::Gt, _)]));
        assert_eq!(parse(Some("__imagetype=bogus"), 500).err().map(|e| e.code), Some("IMG.0024".into()));
        for bad in
            ["limit=x", "limit=-1", "marker=nope", "status=bogus", "sort_key=color", "sort_dir=up", "protected=maybe", "created_at=gt:soon"]
        {
            assert_eq!(parse(Some(bad), 500).err().map(|e| e.code), Some("IMG.0001".into()), "{bad}");
        }
    }
}
