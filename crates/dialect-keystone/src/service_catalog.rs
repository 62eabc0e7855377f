//! The service catalog tokens carry: which service is where, per interface,
//! in one region. Ids are derived from the entries so that every process of a
//! deployment renders the same catalog.

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
    /// Keystone's v3 catalog: one entry per service, its endpoints inside.
    pub fn render(&self, origin: &str, project_id: Option<&str>) -> Value {
        let mut services: Vec<(&str, &str, Vec<Value>)> = Vec::new();
        for endpoint in &self.endpoints {
            let Some(url) = self.resolve(&endpoint.url, origin, project_id) else {
                continue;
            };
            let rendered = json!({
                "id": stable_id(&["endpoint", &endpoint.service_type, &endpoint.service_name, &endpoint.interface, &endpoint.url]),
                "interface": endpoint.interface,
                "region": self.region,
                "region_id": self.region,
                "url": url,
            });
            match services.iter_mut().find(|(t, n, _)| *t == endpoint.service_type && *n == endpoint.service_name) {
                Some((_, _, list)) => list.push(rendered),
                None => services.push((&endpoint.service_type, &endpoint.service_name, vec![rendered])),
            }
        }
        Value::Array(
            services
                .into_iter()
                .map(|(service_type, name, endpoints)| json!({"endpoints": endpoints, "id": stable_id(&["service", service_type, name]), "type": service_type, "name": name}))
                .collect(),
        )
    }

    fn resolve(&self, url: &str, origin: &str, project_id: Option<&str>) -> Option<String> {
        let mut url = if url.starts_with('/') { format!("{origin}{url}") } else { url.to_string() };
        for placeholder in PROJECT_PLACEHOLDERS {
            if url.contains(placeholder) {
                url = url.replace(placeholder, project_id?);
            }
        }
        Some(url)
    }
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
}
