//! The list query of `GET /v2/cloudimages` and of IMS's `GET /v2/images`: Glance's
//! filters, sorting and marker paging, plus IMS's `__*` attribute filters,
//! `virtual_env_type`, `architecture=x86|arm`, `enterprise_project_id` and
//! `flavor_id`. What the catalog can match is handed to the service; filters on
//! attributes imagery derives are checked on each image afterwards (the same
//! [`attributes::effective`] values the views show).

use imagery_core::{Caller, Image};
use imagery_dialect_glance::list_query::{parse_list_request, ListOptions};
use imagery_dialect_glance::GlanceError;
use imagery_service::ImageListRequest;

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

/// Parse a list query; `default_limit` is the API's page size. Glance's syntax is
/// parsed by Glance's parser; IMS's own keys are taken first.
pub fn parse(query: Option<&str>, default_limit: usize) -> HuaweiResult<ListSpec> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect();
    let mut spec_attributes = Vec::new();
    let mut arch = None;
    let mut matches_nothing = false;
    let mut bad_imagetype = false;
    let options = ListOptions { default_limit, max_limit: MAX_LIMIT, extended_sort: true, lenient_protected: true };
    let parsed = parse_list_request(&pairs, &options, &mut |key, value| {
        match key {
            attributes::IMAGETYPE => {
                if !attributes::IMAGETYPES.contains(&value) {
                    bad_imagetype = true;
                    return Err(GlanceError::bad_request("The imagetype is invalid."));
                }
                // Nothing in this catalog comes from a marketplace.
                matches_nothing |= value == "market";
                spec_attributes.push((key.to_string(), value.to_string()));
            }
            "architecture" if value == "x86" || value == "arm" => {
                arch = Some(if value == "x86" { ArchFamily::X86 } else { ArchFamily::Arm });
            }
            // Every image lives in the default enterprise project.
            "enterprise_project_id" => matches_nothing |= !matches!(value, "0" | "all_granted_eps"),
            // Any image can boot any flavor here.
            "flavor_id" => {}
            "changes-since" => {
                return Err(GlanceError::bad_request("The 'changes-since' filter is not available on this API; use updated_at=gte:<time>."))
            }
            k if attributes::DERIVED.contains(&k) => spec_attributes.push((key.to_string(), value.to_string())),
            _ => return Ok(false),
        }
        Ok(true)
    });
    let request = match parsed {
        Ok(request) => request,
        Err(_) if bad_imagetype => return Err(HuaweiError::invalid_imagetype()),
        Err(e) => return Err(HuaweiError::bad_request(e.message)),
    };
    Ok(ListSpec { page_size: request.limit, request, attributes: spec_attributes, arch, matches_nothing, pairs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagery_core::query::{Cmp, Filter, SortDir, SortKey, TextField, TimeField};

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
