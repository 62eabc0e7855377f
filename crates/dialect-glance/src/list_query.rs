//! Glance's list query syntax (filters with `in:`/`eq:` and comparison operators,
//! `sort` or `sort_key`/`sort_dir`, `limit`, `marker`), parsed once for every API
//! that speaks it: Glance itself and Huawei IMS's Glance-compatible lists.

use imagery_core::query::{Cmp, Filter, IntField, SortDir, SortKey, TextField, TimeField};
use imagery_core::time::Timestamp;
use imagery_core::{ImageStatus, MemberStatus};
use imagery_service::{ImageListRequest, VisibilityParam};
use uuid::Uuid;

use crate::error::{GlanceError, GlanceResult};

/// How a dialect's list differs from Glance's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOptions {
    /// Page size without `limit`.
    pub default_limit: usize,
    /// Largest page returned.
    pub max_limit: usize,
    /// `min_disk`/`min_ram` are sort keys and `sort_key=a,b` lists several.
    pub extended_sort: bool,
    /// `protected=True` is accepted (Glance wants exactly `true`/`false`).
    pub lenient_protected: bool,
}

impl ListOptions {
    pub const GLANCE: ListOptions = ListOptions { default_limit: 25, max_limit: 1000, extended_sort: false, lenient_protected: false };
}

pub fn parse_time(raw: &str) -> GlanceResult<Timestamp> {
    let raw = raw.trim();
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S").map(|t| t.and_utc()))
        .or_else(|_| chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()))
        .map_err(|_| GlanceError::bad_request(format!("Unable to parse datetime '{raw}'.")))
}

/// `in:a,"b, c"` → values; a plain value (or `eq:v`) is a single value.
fn split_operator(field: &str, raw: &str) -> GlanceResult<Vec<String>> {
    let Some((op, rest)) = raw.split_once(':') else {
        return Ok(vec![raw.to_string()]);
    };
    match op {
        "eq" => Ok(vec![rest.to_string()]),
        "in" => {
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
                return Err(GlanceError::bad_request(format!("Invalid filter value {raw}. The quote is not closed.")));
            }
            values.push(current);
            Ok(values)
        }
        _ if field == "name" || field == "id" || field == "status" || field.ends_with("_format") => {
            Err(GlanceError::bad_request(format!("Unable to filter by unknown operator '{op}'.")))
        }
        _ => Ok(vec![raw.to_string()]),
    }
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

fn parse_int(name: &str, raw: &str) -> GlanceResult<i64> {
    raw.trim().parse::<i64>().map_err(|_| GlanceError::bad_request(format!("{name} param must be an integer")))
}

fn parse_bool(name: &str, raw: &str, case_insensitive: bool) -> GlanceResult<bool> {
    let v = if case_insensitive { raw.trim().to_ascii_lowercase() } else { raw.to_string() };
    match v.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(GlanceError::bad_request(format!("Invalid value '{raw}' for '{name}': expected 'true' or 'false'."))),
    }
}

fn parse_dir(d: &str) -> GlanceResult<SortDir> {
    match d.trim() {
        "asc" => Ok(SortDir::Asc),
        "desc" => Ok(SortDir::Desc),
        other => Err(GlanceError::bad_request(format!("Invalid sort direction: {other}"))),
    }
}

/// Parse `pairs` (the query string, in order) into a list request. `extra` sees
/// every key first and returns `Ok(true)` for keys it consumed (a dialect's own
/// filters); unknown keys then become custom-property filters.
pub fn parse_list_request(
    pairs: &[(String, String)],
    options: &ListOptions,
    extra: &mut dyn FnMut(&str, &str) -> GlanceResult<bool>,
) -> GlanceResult<ImageListRequest> {
    let mut req = ImageListRequest { limit: options.default_limit, ..ImageListRequest::default() };
    let mut sort_keys: Vec<SortKey> = Vec::new();
    let mut sort_dirs: Vec<SortDir> = Vec::new();
    let mut sort_param: Option<String> = None;
    let parse_key = |k: &str| {
        SortKey::parse(k.trim()).filter(|k| options.extended_sort || !matches!(k, SortKey::MinDisk | SortKey::MinRam)).ok_or_else(|| {
            GlanceError::bad_request(format!(
                "Invalid sort key: {k}. It must be one of the following: name, status, container_format, disk_format, size, id, created_at, updated_at."
            ))
        })
    };
    for (key, value) in pairs {
        if extra(key, value)? {
            continue;
        }
        match key.as_str() {
            "limit" => {
                let n = parse_int("limit", value)?;
                if n < 0 {
                    return Err(GlanceError::bad_request("limit param must be positive"));
                }
                req.limit = usize::try_from(n).unwrap_or(options.max_limit).min(options.max_limit);
            }
            "marker" => {
                let id = Uuid::parse_str(value)
                    .ok()
                    .filter(|_| value.len() == 36)
                    .ok_or_else(|| GlanceError::bad_request(format!("Invalid marker. Image {value} could not be found.")))?;
                req.marker = Some(id);
            }
            "sort_key" if options.extended_sort => {
                for k in value.split(',') {
                    sort_keys.push(parse_key(k)?);
                }
            }
            "sort_dir" if options.extended_sort => {
                for d in value.split(',') {
                    sort_dirs.push(parse_dir(d)?);
                }
            }
            "sort_key" => sort_keys.push(parse_key(value)?),
            "sort_dir" => sort_dirs.push(parse_dir(value)?),
            "sort" => sort_param = Some(value.clone()),
            "visibility" => {
                req.visibility = Some(match value.as_str() {
                    "all" => VisibilityParam::All,
                    v => VisibilityParam::Only(v.parse().map_err(|_| GlanceError::bad_request(format!("Invalid visibility value: {v}")))?),
                });
            }
            "member_status" => {
                req.member_status = match value.as_str() {
                    "all" => None,
                    v => Some(v.parse::<MemberStatus>().map_err(|_| GlanceError::bad_request(format!("Invalid status value: {v}")))?),
                };
            }
            "os_hidden" => req.os_hidden = Some(parse_bool("os_hidden", value, true)?),
            "protected" => req.filters.push(Filter::Protected(parse_bool("protected", value, options.lenient_protected)?)),
            "tag" => req.filters.push(Filter::Tag(value.clone())),
            "size_min" => req.filters.push(Filter::Int(IntField::Size, Cmp::Gte, parse_int("size_min", value)?)),
            "size_max" => req.filters.push(Filter::Int(IntField::Size, Cmp::Lte, parse_int("size_max", value)?)),
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
            "changes-since" => return Err(GlanceError::bad_request("The 'changes-since' filter is no longer available on v2.")),
            "name" | "id" | "status" | "container_format" | "disk_format" => {
                let field = match key.as_str() {
                    "name" => TextField::Name,
                    "id" => TextField::Id,
                    "status" => TextField::Status,
                    "container_format" => TextField::ContainerFormat,
                    _ => TextField::DiskFormat,
                };
                let values = split_operator(key, value)?;
                if field == TextField::Status {
                    if let Some(v) = values.iter().find(|v| v.parse::<ImageStatus>().is_err()) {
                        return Err(GlanceError::bad_request(format!("Invalid status value: {v}")));
                    }
                }
                req.filters.push(Filter::In(field, values));
            }
            "owner" => req.filters.push(Filter::In(TextField::Owner, vec![value.clone()])),
            "checksum" => req.filters.push(Filter::In(TextField::Checksum, vec![value.clone()])),
            "os_hash_value" => req.filters.push(Filter::In(TextField::OsHashValue, vec![value.clone()])),
            _ => req.filters.push(Filter::Property(key.clone(), value.clone())),
        }
    }
    if let Some(sort) = sort_param {
        if !sort_keys.is_empty() || !sort_dirs.is_empty() {
            return Err(GlanceError::bad_request("The 'sort' param cannot be combined with 'sort_key' and 'sort_dir'."));
        }
        let mut order = Vec::new();
        for item in sort.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, d) = item.split_once(':').unwrap_or((item, "desc"));
            order.push((parse_key(k)?, parse_dir(d)?));
        }
        if !order.is_empty() {
            req.sort = order;
        }
    } else if !sort_keys.is_empty() || !sort_dirs.is_empty() {
        if sort_dirs.len() > 1 && sort_dirs.len() != sort_keys.len() {
            return Err(GlanceError::bad_request("Number of sort dirs does not match the number of sort keys"));
        }
        let keys = if sort_keys.is_empty() { vec![SortKey::CreatedAt] } else { sort_keys };
        let default_dir = sort_dirs.first().copied().unwrap_or(SortDir::Desc);
        req.sort = keys.iter().enumerate().map(|(i, k)| (*k, sort_dirs.get(i).copied().unwrap_or(default_dir))).collect();
    }
    Ok(req)
}
