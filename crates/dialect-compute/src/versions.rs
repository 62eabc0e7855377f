//! Version discovery (`nova/api/openstack/compute/versions.py`): the versions list
//! at `/`, the version documents of `/v2/` and `/v2.1/`, 300 choices for any other
//! unversioned path, and the 302 from the slash-less version roots.

use axum::response::Response;
use http::{HeaderValue, StatusCode};
use serde_json::{json, Value};

use crate::api_server::{document, empty};
use crate::error::{ComputeError, ComputeResult};
use crate::media::Format;
use crate::microversion::{Microversion, MIN_VERSION};
use crate::router::{ApiVersion, Endpoint, Route};
use crate::xml;

const DOCS: &str = "http://docs.openstack.org/";

/// The static facts of one API version.
fn entry(api: ApiVersion, max: Microversion) -> Value {
    match api {
        ApiVersion::V2 => json!({
            "id": "v2.0",
            "status": "SUPPORTED",
            "version": "",
            "min_version": "",
            "updated": "2011-01-21T11:33:21Z",
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}],
        }),
        ApiVersion::V21 => json!({
            "id": "v2.1",
            "status": "CURRENT",
            "version": max.to_string(),
            "min_version": MIN_VERSION.to_string(),
            "updated": "2013-07-23T11:33:21Z",
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
        }),
    }
}

fn self_link(base: &str, api: ApiVersion, path: &str) -> Value {
    json!({"rel": "self", "href": format!("{base}/{}/{path}", api.segment())})
}

/// `GET /`: both versions with their self links.
pub fn versions(base: &str, max: Microversion) -> Value {
    let list: Vec<Value> = [ApiVersion::V2, ApiVersion::V21]
        .into_iter()
        .map(|api| {
            let mut v = entry(api, max);
            if let Some(obj) = v.as_object_mut() {
                obj.remove("media-types");
                obj.insert("links".into(), json!([self_link(base, api, "")]));
            }
            v
        })
        .collect();
    json!({ "versions": list })
}

/// `GET /v2/`, `/v2.1/`: the version document.
pub fn version_doc(base: &str, api: ApiVersion, max: Microversion) -> Value {
    let mut v = entry(api, max);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("links".into(), json!([self_link(base, api, ""), {"rel": "describedby", "type": "text/html", "href": DOCS}]));
    }
    json!({ "version": v })
}

/// Any other unversioned path: where it would live in each version.
pub fn choices(base: &str, path: &str, max: Microversion) -> Value {
    let path = path.trim_matches('/');
    let list: Vec<Value> = [ApiVersion::V2, ApiVersion::V21]
        .into_iter()
        .map(|api| {
            let v = entry(api, max);
            json!({
                "id": v["id"],
                "status": v["status"],
                "links": [self_link(base, api, path)],
                "media-types": v["media-types"],
            })
        })
        .collect();
    json!({ "choices": list })
}

/// The endpoints served without authentication.
pub fn public(route: &Route, base: &str, path: &str, max: Microversion, format: Format) -> ComputeResult<Response> {
    match (&route.endpoint, route.version) {
        (Endpoint::Versions, _) => document(format, StatusCode::OK, &versions(base, max), |d| xml::version_list(d, "versions")),
        (Endpoint::Choices, _) => {
            document(format, StatusCode::MULTIPLE_CHOICES, &choices(base, path, max), |d| xml::version_list(d, "choices"))
        }
        (Endpoint::VersionDoc, Some(api)) => document(format, StatusCode::OK, &version_doc(base, api, max), xml::version),
        (Endpoint::RedirectToSlash, Some(_)) => {
            let mut response = empty(StatusCode::FOUND);
            let location = format!("{base}{}/", path.trim_end_matches('/'));
            if let Ok(v) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(http::header::LOCATION, v);
            }
            Ok(response)
        }
        _ => Err(ComputeError::resource_not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microversion::MAX_VERSION;

    #[test]
    fn documents() {
        let root = versions("http://h", MAX_VERSION);
        assert_eq!(root["versions"][1]["version"], "2.104");
        assert_eq!(root["versions"][1]["links"][0]["href"], "http://h/v2.1/");
        assert_eq!(root["versions"][0]["links"][0]["href"], "http://h/v2/");
        assert!(root["versions"][0].get("media-types").is_none());
        let doc = version_doc("http://h/compute", ApiVersion::V21, MAX_VERSION);
        assert_eq!(doc["version"]["links"][0]["href"], "http://h/compute/v2.1/");
        assert_eq!(doc["version"]["min_version"], "2.1");
        let c = choices("http://h", "/images/detail", MAX_VERSION);
        assert_eq!(c["choices"][1]["links"][0]["href"], "http://h/v2.1/images/detail");
    }
}
