//! The service catalog: which service is where, per interface, in one region.
//! It is the one source of what tokens carry (`catalog`) and of what
//! `/v3/services`, `/v3/endpoints` and `/v3/regions` list, so the two cannot
//! drift. Ids are derived from the entries so that every process of a
//! deployment (and every restart) renders the same ids.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// One URL of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEndpoint {
    /// `identity`, `image`, `compute`, …
    pub service_type: String,
    /// `keystone`, `glance`, `nova`, …
    pub service_name: String,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// Absolute URL, or a path (`/image`) resolved against the request's origin.
    /// `%(project_id)s` / `%(tenant_id)s` (also `$(…)s`) are replaced by the
    /// token's project; such endpoints are left out of catalogs without one.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCatalog {
    pub region: String,
    pub endpoints: Vec<CatalogEndpoint>,
}

impl Default for ServiceCatalog {
    fn default() -> Self {
        ServiceCatalog { region: "RegionOne".to_string(), endpoints: Vec::new() }
    }
}

/// A service as the catalog names it, with its derived id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Service<'a> {
    pub id: String,
    pub service_type: &'a str,
    pub name: &'a str,
}

/// An endpoint with its derived id and its service's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint<'a> {
    pub id: String,
    pub service_id: String,
    pub interface: &'a str,
    /// As configured (relative, or with project placeholders).
    pub url: &'a str,
}

const PROJECT_PLACEHOLDERS: [&str; 4] = ["%(project_id)s", "%(tenant_id)s", "$(project_id)s", "$(tenant_id)s"];

fn stable_id(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    hex::encode(&hash.finalize()[..16])
}

impl ServiceCatalog {
    /// The services, in the order they first appear, each once.
    pub(crate) fn services(&self) -> Vec<Service<'_>> {
        let mut services: Vec<Service<'_>> = Vec::new();
        for e in &self.endpoints {
            if !services.iter().any(|s| s.service_type == e.service_type && s.name == e.service_name) {
                services.push(Service {
                    id: stable_id(&["service", &e.service_type, &e.service_name]),
                    service_type: &e.service_type,
                    name: &e.service_name,
                });
            }
        }
        services
    }

    /// The endpoints, in configuration order; an entry repeated verbatim is listed once.
    pub(crate) fn endpoints(&self) -> Vec<Endpoint<'_>> {
        let mut endpoints: Vec<Endpoint<'_>> = Vec::new();
        for e in &self.endpoints {
            let id = stable_id(&["endpoint", &e.service_type, &e.service_name, &e.interface, &e.url]);
            if endpoints.iter().any(|x| x.id == id) {
                continue;
            }
            endpoints.push(Endpoint {
                id,
                service_id: stable_id(&["service", &e.service_type, &e.service_name]),
                interface: &e.interface,
                url: &e.url,
            });
        }
        endpoints
    }

    /// Keystone's v3 catalog: one entry per service, its endpoints inside.
    pub fn render(&self, origin: &str, project_id: Option<&str>) -> Value {
        let endpoints = self.endpoints();
        let mut rendered: Vec<Value> = Vec::new();
        for service in self.services() {
            let list: Vec<Value> = endpoints
                .iter()
                .filter(|e| e.service_id == service.id)
                .filter_map(|e| {
                    let url = substitute_project(&absolute_url(e.url, origin), project_id)?;
                    Some(json!({
                        "id": e.id,
                        "interface": e.interface,
                        "region": self.region,
                        "region_id": self.region,
                        "url": url,
                    }))
                })
                .collect();
            if !list.is_empty() {
                rendered.push(json!({"endpoints": list, "id": service.id, "type": service.service_type, "name": service.name}));
            }
        }
        Value::Array(rendered)
    }
}

/// A configured URL made absolute against the request's origin; project
/// placeholders are kept (as Keystone's `/v3/endpoints` shows them).
pub(crate) fn absolute_url(url: &str, origin: &str) -> String {
    if url.starts_with('/') {
        format!("{origin}{url}")
    } else {
        url.to_string()
    }
}

/// The URL with the token's project in place of its placeholders; `None` when
/// it has one and there is no project.
fn substitute_project(url: &str, project_id: Option<&str>) -> Option<String> {
    let mut url = url.to_string();
    for placeholder in PROJECT_PLACEHOLDERS {
        if url.contains(placeholder) {
            url = url.replace(placeholder, project_id?);
        }
    }
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(service_type: &str, name: &str, interface: &str, url: &str) -> CatalogEndpoint {
        CatalogEndpoint { service_type: service_type.into(), service_name: name.into(), interface: interface.into(), url: url.into() }
    }

    #[test]
    fn groups_by_service_and_substitutes_projects() {
        let catalog = ServiceCatalog {
            region: "RegionOne".into(),
            endpoints: vec![
                endpoint("image", "glance", "public", "/image"),
                endpoint("image", "glance", "internal", "http://10.0.0.1:9292"),
                endpoint("compute", "nova", "public", "http://h:8774/v2.1/%(project_id)s"),
            ],
        };
        let scoped = catalog.render("http://h:5000", Some("p1"));
        assert_eq!(scoped.as_array().map(Vec::len), Some(2));
        assert_eq!(scoped[0]["type"], "image");
        assert_eq!(scoped[0]["endpoints"][0]["url"], "http://h:5000/image");
        assert_eq!(scoped[0]["endpoints"][1]["region_id"], "RegionOne");
        assert_eq!(scoped[1]["endpoints"][0]["url"], "http://h:8774/v2.1/p1");
        assert_eq!(scoped, catalog.render("http://h:5000", Some("p1")), "ids are stable");
        let unscoped = catalog.render("http://h:5000", None);
        assert_eq!(unscoped.as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn listings_share_the_catalog_ids() {
        let catalog = ServiceCatalog {
            region: "RegionOne".into(),
            endpoints: vec![
                endpoint("image", "glance", "public", "/image"),
                endpoint("image", "glance", "public", "/image"),
                endpoint("compute", "nova", "admin", "http://h:8774/v2.1/%(project_id)s"),
            ],
        };
        let services = catalog.services();
        let endpoints = catalog.endpoints();
        assert_eq!(services.len(), 2);
        assert_eq!(endpoints.len(), 2, "a verbatim repeat is one endpoint");
        let rendered = catalog.render("http://h:5000", Some("p1"));
        for (service, entry) in services.iter().zip(rendered.as_array().into_iter().flatten()) {
            assert_eq!(entry["id"], service.id.as_str());
            assert_eq!(entry["type"], service.service_type);
        }
        assert_eq!(rendered[0]["endpoints"][0]["id"], endpoints[0].id.as_str());
        assert_eq!(endpoints[0].service_id, services[0].id);
        assert_eq!(rendered[1]["endpoints"][0]["id"], endpoints[1].id.as_str());
        assert_eq!(absolute_url(endpoints[0].url, "http://h:5000"), "http://h:5000/image");
        assert_eq!(absolute_url(endpoints[1].url, "http://h:5000"), "http://h:8774/v2.1/%(project_id)s");
    }
}
