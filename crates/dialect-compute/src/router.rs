//! The whole compute image surface in one enum: method + path → [`Route`]. Paths
//! are relative to the compute root (the server may mount it under `/compute`).
//! Every API path exists bare and behind `/{project_id}`, under `/v2` and `/v2.1`,
//! and may end in a `.json` / `.xml` format suffix.

use http::Method;

use crate::media::Format;
use crate::microversion::{Microversion, MAX_IMAGE_METADATA_PROXY, MAX_IMAGE_PROXY};

/// Which API a path is under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/v2`: the v2.1 code in legacy-compatible mode (no microversions).
    V2,
    /// `/v2.1`: microversioned.
    V21,
}

impl ApiVersion {
    pub fn segment(self) -> &'static str {
        match self {
            ApiVersion::V2 => "v2",
            ApiVersion::V21 => "v2.1",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /`: the versions list (200).
    Versions,
    /// Any other path outside `/v2` and `/v2.1`: 300 Multiple Choices.
    Choices,
    /// `/v2`, `/v2.1`, `/v2.1/{project_id}` without the trailing slash: 302.
    RedirectToSlash,
    /// `GET /v2/`, `/v2.1/`, `/v2.1/{project_id}/`: the version document.
    VersionDoc,
    ListImages,
    ListImagesDetail,
    ShowImage {
        id: String,
    },
    DeleteImage {
        id: String,
    },
    ListMetadata {
        id: String,
    },
    /// `POST …/metadata`: merge into the existing properties.
    MergeMetadata {
        id: String,
    },
    /// `PUT …/metadata`: replace every custom property.
    ReplaceMetadata {
        id: String,
    },
    ShowMeta {
        id: String,
        key: String,
    },
    SetMeta {
        id: String,
        key: String,
    },
    DeleteMeta {
        id: String,
        key: String,
    },
}

impl Endpoint {
    /// The newest microversion the endpoint exists in (Nova's per-method caps);
    /// `None` for the version documents, which every version serves.
    pub fn max_microversion(&self) -> Option<Microversion> {
        use Endpoint::*;
        match self {
            Versions | Choices | RedirectToSlash | VersionDoc => None,
            ListImages | ListImagesDetail | ShowImage { .. } | DeleteImage { .. } => Some(MAX_IMAGE_PROXY),
            ListMetadata { .. } | MergeMetadata { .. } | ReplaceMetadata { .. } | ShowMeta { .. } | SetMeta { .. } | DeleteMeta { .. } => {
                Some(MAX_IMAGE_METADATA_PROXY)
            }
        }
    }
}

/// A parsed request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `None` outside the versioned APIs (`/`, choices).
    pub version: Option<ApiVersion>,
    /// The `{project_id}` path segment, when the URL carried one.
    pub project_id: Option<String>,
    /// A `.json` / `.xml` suffix on the last segment.
    pub format: Option<Format>,
    pub endpoint: Endpoint,
}

impl Route {
    /// The unversioned endpoints and the bare version documents are public, as in
    /// Nova's paste pipelines; everything else sits behind keystonemiddleware.
    pub fn needs_auth(&self) -> bool {
        match self.endpoint {
            Endpoint::Versions | Endpoint::Choices | Endpoint::RedirectToSlash => false,
            Endpoint::VersionDoc => self.project_id.is_some(),
            _ => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No such resource under a versioned API (after authentication: 404).
    NotFound { version: ApiVersion },
    /// The path exists; these methods are allowed on it.
    MethodNotAllowed { version: Option<ApiVersion>, allow: &'static str },
}

impl RouteError {
    pub fn version(&self) -> Option<ApiVersion> {
        match self {
            RouteError::NotFound { version, .. } => Some(*version),
            RouteError::MethodNotAllowed { version, .. } => *version,
        }
    }
}

/// Nova's project-id pattern (`[0-9a-f-]+`), used only to tell `/v2.1/{project_id}`
/// (redirected) from an unknown collection such as `/v2.1/servers` (404).
fn looks_like_project_id(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// Longest project id a path may carry.
pub const MAX_PROJECT_ID: usize = 64;

/// A project id as a path may carry it: 1 to [`MAX_PROJECT_ID`] of
/// `[0-9A-Za-z_-]` (wider than Nova's default `[0-9a-f-]+`, as imagery's project
/// ids are). Any other segment routes nowhere (404, as Nova's router answers) and
/// so is never echoed into links or messages.
fn well_formed_project_id(segment: &str) -> bool {
    !segment.is_empty() && segment.len() <= MAX_PROJECT_ID && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// Split a `.json` / `.xml` suffix off the last segment.
fn strip_format(segment: &str) -> (&str, Option<Format>) {
    for (suffix, format) in [(".json", Format::Json), (".xml", Format::Xml)] {
        if let Some(stem) = segment.strip_suffix(suffix) {
            return (stem, Some(format));
        }
    }
    (segment, None)
}

pub fn parse(method: &Method, path: &str) -> Result<Route, RouteError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let segments: Vec<&str> = if trimmed.is_empty() { Vec::new() } else { trimmed.split('/').collect() };
    let unversioned = |endpoint| Route { version: None, project_id: None, format: None, endpoint };
    let Some((first, rest)) = segments.split_first() else {
        return if *method == Method::GET {
            Ok(unversioned(Endpoint::Versions))
        } else {
            Err(RouteError::MethodNotAllowed { version: None, allow: "GET" })
        };
    };
    let version = match *first {
        "v2" => ApiVersion::V2,
        "v2.1" => ApiVersion::V21,
        _ => return Ok(unversioned(Endpoint::Choices)),
    };
    // `/v2.1/{project_id}/images/...` or `/v2.1/images/...`.
    let (project_id, rest): (Option<String>, &[&str]) = match rest {
        [] => return get_only(method, version, None, Endpoint::RedirectToSlash),
        [""] => return get_only(method, version, None, Endpoint::VersionDoc),
        [first, ..] if *first == "images" || first.starts_with("images.") => (None, rest),
        [project] if looks_like_project_id(project) && well_formed_project_id(project) => {
            return get_only(method, version, Some(project.to_string()), Endpoint::RedirectToSlash);
        }
        [project, tail @ ..] if well_formed_project_id(project) && !tail.is_empty() => (Some(project.to_string()), tail),
        _ => return Err(RouteError::NotFound { version }),
    };
    if rest == [""] {
        return get_only(method, version, project_id, Endpoint::VersionDoc);
    }
    let (last, format) = match rest.last() {
        Some(last) => strip_format(last),
        None => ("", None),
    };
    let mut parts: Vec<&str> = rest.to_vec();
    if let Some(slot) = parts.last_mut() {
        *slot = last;
    }
    let not_allowed = |allow| RouteError::MethodNotAllowed { version: Some(version), allow };
    let endpoint = match parts.as_slice() {
        ["images"] => match *method {
            Method::GET => Endpoint::ListImages,
            _ => return Err(not_allowed("GET")),
        },
        ["images", "detail"] if *method == Method::GET => Endpoint::ListImagesDetail,
        ["images", id] => {
            let id = decode(id);
            match *method {
                Method::GET => Endpoint::ShowImage { id },
                Method::DELETE => Endpoint::DeleteImage { id },
                _ => return Err(not_allowed("GET, DELETE")),
            }
        }
        ["images", id, "metadata"] => {
            let id = decode(id);
            match *method {
                Method::GET => Endpoint::ListMetadata { id },
                Method::POST => Endpoint::MergeMetadata { id },
                Method::PUT => Endpoint::ReplaceMetadata { id },
                _ => return Err(not_allowed("GET, POST, PUT")),
            }
        }
        ["images", id, "metadata", key] if !key.is_empty() => {
            let (id, key) = (decode(id), decode(key));
            match *method {
                Method::GET => Endpoint::ShowMeta { id, key },
                Method::PUT => Endpoint::SetMeta { id, key },
                Method::DELETE => Endpoint::DeleteMeta { id, key },
                _ => return Err(not_allowed("GET, PUT, DELETE")),
            }
        }
        _ => return Err(RouteError::NotFound { version }),
    };
    Ok(Route { version: Some(version), project_id, format, endpoint })
}

fn get_only(method: &Method, version: ApiVersion, project_id: Option<String>, endpoint: Endpoint) -> Result<Route, RouteError> {
    if *method == Method::GET {
        Ok(Route { version: Some(version), project_id, format: None, endpoint })
    } else {
        Err(RouteError::MethodNotAllowed { version: Some(version), allow: "GET" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(method: Method, path: &str) -> Endpoint {
        match parse(&method, path) {
            Ok(route) => route.endpoint,
            Err(e) => panic!("{path}: {e:?}"),
        }
    }

    #[test]
    fn routes() {
        assert_eq!(ep(Method::GET, "/"), Endpoint::Versions);
        assert_eq!(ep(Method::GET, "/v3/images"), Endpoint::Choices);
        assert_eq!(ep(Method::GET, "/images"), Endpoint::Choices);
        assert_eq!(ep(Method::GET, "/v2.1"), Endpoint::RedirectToSlash);
        assert_eq!(ep(Method::GET, "/v2.1/"), Endpoint::VersionDoc);
        assert_eq!(ep(Method::GET, "/v2.1/6f70656e737461636b"), Endpoint::RedirectToSlash);
        let doc = parse(&Method::GET, "/v2/abc/").ok();
        assert_eq!(
            doc.as_ref().map(|r| (r.version, r.project_id.clone(), r.needs_auth())),
            Some((Some(ApiVersion::V2), Some("abc".into()), true))
        );
        assert_eq!(ep(Method::GET, "/v2.1/images"), Endpoint::ListImages);
        assert_eq!(ep(Method::GET, "/v2.1/images.xml"), Endpoint::ListImages);
        assert_eq!(ep(Method::GET, "/v2.1/p1/images/detail.json"), Endpoint::ListImagesDetail);
        assert_eq!(ep(Method::DELETE, "/v2.1/images/detail"), Endpoint::DeleteImage { id: "detail".into() });
        assert_eq!(ep(Method::DELETE, "/v2.1/images/"), Endpoint::DeleteImage { id: "".into() });
        assert_eq!(ep(Method::GET, "/v2/p/images/x/metadata/a%20b.xml"), Endpoint::ShowMeta { id: "x".into(), key: "a b".into() });
        assert_eq!(ep(Method::POST, "/v2.1/images/x/metadata"), Endpoint::MergeMetadata { id: "x".into() });
        assert_eq!(ep(Method::PUT, "/v2.1/images/x/metadata"), Endpoint::ReplaceMetadata { id: "x".into() });
        let route = parse(&Method::GET, "/v2.1/p1/images/x.xml").ok();
        assert_eq!(route.map(|r| (r.project_id, r.format)), Some((Some("p1".into()), Some(Format::Xml))));
        assert!(matches!(parse(&Method::GET, "/v2.1/servers"), Err(RouteError::NotFound { .. })));
        assert!(matches!(parse(&Method::GET, "/v2.1/p/servers"), Err(RouteError::NotFound { .. })));
        assert!(matches!(parse(&Method::POST, "/v2.1/images"), Err(RouteError::MethodNotAllowed { allow: "GET", .. })));
        assert!(matches!(parse(&Method::PATCH, "/v2.1/images/x"), Err(RouteError::MethodNotAllowed { allow: "GET, DELETE", .. })));
    }

    #[test]
    fn project_ids_must_be_well_formed() {
        let long = "a".repeat(MAX_PROJECT_ID + 1);
        for bad in ["/v2/..%2F/images", "/v2.1/..%2F..%2F/images/x", "/v2.1/a%20b/images", "/v2.1/a.b/images", "/v2.1/%61/images"] {
            assert!(matches!(parse(&Method::GET, bad), Err(RouteError::NotFound { .. })), "{bad}");
        }
        assert!(matches!(parse(&Method::GET, &format!("/v2.1/{long}/images")), Err(RouteError::NotFound { .. })));
        assert!(matches!(parse(&Method::GET, &format!("/v2.1/{long}")), Err(RouteError::NotFound { .. })));
        let ok = parse(&Method::GET, &format!("/v2.1/{}/images", &long[1..])).ok().and_then(|r| r.project_id);
        assert_eq!(ok.map(|p| p.len()), Some(MAX_PROJECT_ID));
        assert_eq!(parse(&Method::GET, "/v2/Project_A-1/images").ok().and_then(|r| r.project_id).as_deref(), Some("Project_A-1"));
    }
}
