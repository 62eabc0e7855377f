//! The whole Image API v2 surface in one enum: method + path → `Endpoint`.
//! Paths are relative to the image service root (the server may mount it under a
//! prefix such as `/image`).

use http::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /` and any unknown version prefix: 300 Multiple Choices.
    VersionsRoot,
    /// `GET /versions`: 200.
    Versions,
    Healthcheck,
    ListImages,
    CreateImage,
    ShowImage {
        id: String,
    },
    UpdateImage {
        id: String,
    },
    DeleteImage {
        id: String,
    },
    Deactivate {
        id: String,
    },
    Reactivate {
        id: String,
    },
    Upload {
        id: String,
    },
    Download {
        id: String,
    },
    Stage {
        id: String,
    },
    Import {
        id: String,
    },
    ImageTasks {
        id: String,
    },
    ListTasks,
    CreateTask,
    ShowTask {
        id: String,
    },
    DeleteTask {
        id: String,
    },
    AddTag {
        id: String,
        tag: String,
    },
    DeleteTag {
        id: String,
        tag: String,
    },
    ListMembers {
        id: String,
    },
    CreateMember {
        id: String,
    },
    ShowMember {
        id: String,
        member: String,
    },
    UpdateMember {
        id: String,
        member: String,
    },
    DeleteMember {
        id: String,
        member: String,
    },
    Schema {
        name: String,
    },
    InfoImport,
    InfoStores,
    InfoStoresDetail,
    InfoUsage,
}

impl Endpoint {
    /// Endpoints that only read: a request body is refused on them (Glance's
    /// `body_reject`), and they are safe to retry.
    pub fn rejects_body(&self) -> bool {
        use Endpoint::*;
        matches!(
            self,
            ListImages
                | ShowImage { .. }
                | DeleteImage { .. }
                | Download { .. }
                | Deactivate { .. }
                | Reactivate { .. }
                | ImageTasks { .. }
                | ListTasks
                | ShowTask { .. }
                | DeleteTask { .. }
                | AddTag { .. }
                | DeleteTag { .. }
                | ListMembers { .. }
                | ShowMember { .. }
                | DeleteMember { .. }
                | Schema { .. }
                | InfoImport
                | InfoStores
                | InfoStoresDetail
                | InfoUsage
        )
    }
}

/// One request per route of the surface (ids are placeholders), for tests that
/// must cover every endpoint, such as "nothing answers without authentication".
pub fn surface() -> Vec<(Method, &'static str)> {
    vec![
        (Method::GET, "/"),
        (Method::GET, "/versions"),
        (Method::GET, "/healthcheck"),
        (Method::GET, "/v2/images"),
        (Method::POST, "/v2/images"),
        (Method::GET, "/v2/images/00000000-0000-0000-0000-000000000001"),
        (Method::PATCH, "/v2/images/00000000-0000-0000-0000-000000000001"),
        (Method::DELETE, "/v2/images/00000000-0000-0000-0000-000000000001"),
        (Method::POST, "/v2/images/00000000-0000-0000-0000-000000000001/actions/deactivate"),
        (Method::POST, "/v2/images/00000000-0000-0000-0000-000000000001/actions/reactivate"),
        (Method::PUT, "/v2/images/00000000-0000-0000-0000-000000000001/file"),
        (Method::GET, "/v2/images/00000000-0000-0000-0000-000000000001/file"),
        (Method::PUT, "/v2/images/00000000-0000-0000-0000-000000000001/stage"),
        (Method::POST, "/v2/images/00000000-0000-0000-0000-000000000001/import"),
        (Method::GET, "/v2/images/00000000-0000-0000-0000-000000000001/tasks"),
        (Method::GET, "/v2/tasks"),
        (Method::POST, "/v2/tasks"),
        (Method::GET, "/v2/tasks/00000000-0000-0000-0000-000000000001"),
        (Method::DELETE, "/v2/tasks/00000000-0000-0000-0000-000000000001"),
        (Method::PUT, "/v2/images/00000000-0000-0000-0000-000000000001/tags/t"),
        (Method::DELETE, "/v2/images/00000000-0000-0000-0000-000000000001/tags/t"),
        (Method::GET, "/v2/images/00000000-0000-0000-0000-000000000001/members"),
        (Method::POST, "/v2/images/00000000-0000-0000-0000-000000000001/members"),
        (Method::GET, "/v2/images/00000000-0000-0000-0000-000000000001/members/m"),
        (Method::PUT, "/v2/images/00000000-0000-0000-0000-000000000001/members/m"),
        (Method::DELETE, "/v2/images/00000000-0000-0000-0000-000000000001/members/m"),
        (Method::GET, "/v2/schemas/image"),
        (Method::GET, "/v2/schemas/metadefs/namespace"),
        (Method::GET, "/v2/info/import"),
        (Method::GET, "/v2/info/stores"),
        (Method::GET, "/v2/info/stores/detail"),
        (Method::GET, "/v2/info/usage"),
    ]
}

/// Routes that answer without credentials: version discovery and health.
pub fn is_public(endpoint: &Endpoint) -> bool {
    matches!(endpoint, Endpoint::VersionsRoot | Endpoint::Versions | Endpoint::Healthcheck)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    /// The path exists; these methods are allowed on it.
    MethodNotAllowed(&'static str),
    /// Unknown method on an unknown path.
    NotImplemented,
}

const KNOWN_METHODS: [Method; 7] = [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS];

/// Is the first path segment a v2 version prefix (`v2`, `v2.0` … `v2.17`)?
fn is_v2(segment: &str) -> bool {
    segment == "v2"
        || segment
            .strip_prefix("v2.")
            .is_some_and(|minor| !minor.is_empty() && minor.len() <= 2 && minor.bytes().all(|b| b.is_ascii_digit()))
}

pub fn parse(method: &Method, path: &str) -> Result<Endpoint, RouteError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let segments: Vec<&str> = if trimmed.is_empty() { Vec::new() } else { trimmed.split('/').collect() };
    let method = if method == Method::HEAD { &Method::GET } else { method };
    let only = |m: &Method, allow: &'static str, ep: Endpoint| -> Result<Endpoint, RouteError> {
        if allow.split(", ").any(|a| a == m.as_str()) {
            Ok(ep)
        } else {
            Err(RouteError::MethodNotAllowed(allow))
        }
    };
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let Some(first) = segments.first() else {
        return only(method, "GET", Endpoint::VersionsRoot);
    };
    if *first == "healthcheck" && segments.len() == 1 {
        return only(method, "GET", Endpoint::Healthcheck);
    }
    if *first == "versions" && segments.len() == 1 {
        return only(method, "GET", Endpoint::Versions);
    }
    if !is_v2(first) {
        if !KNOWN_METHODS.contains(method) {
            return Err(RouteError::NotImplemented);
        }
        return Ok(Endpoint::VersionsRoot);
    }
    let rest = &segments[1..];
    let result = match rest {
        [] | [""] => Err(RouteError::NotFound),
        ["images"] => match *method {
            Method::GET => Ok(Endpoint::ListImages),
            Method::POST => Ok(Endpoint::CreateImage),
            _ => Err(RouteError::MethodNotAllowed("GET, POST")),
        },
        ["images", id] if !id.is_empty() => {
            let id = decode(id);
            match *method {
                Method::GET => Ok(Endpoint::ShowImage { id }),
                Method::PATCH => Ok(Endpoint::UpdateImage { id }),
                Method::DELETE => Ok(Endpoint::DeleteImage { id }),
                _ => Err(RouteError::MethodNotAllowed("GET, PATCH, DELETE")),
            }
        }
        ["images", id, "file"] if !id.is_empty() => {
            let id = decode(id);
            match *method {
                Method::GET => Ok(Endpoint::Download { id }),
                Method::PUT => Ok(Endpoint::Upload { id }),
                _ => Err(RouteError::MethodNotAllowed("GET, PUT")),
            }
        }
        ["images", id, "stage"] if !id.is_empty() => only(method, "PUT", Endpoint::Stage { id: decode(id) }),
        ["images", id, "import"] if !id.is_empty() => only(method, "POST", Endpoint::Import { id: decode(id) }),
        ["images", id, "tasks"] if !id.is_empty() => only(method, "GET", Endpoint::ImageTasks { id: decode(id) }),
        ["tasks"] => match *method {
            Method::GET => Ok(Endpoint::ListTasks),
            Method::POST => Ok(Endpoint::CreateTask),
            _ => Err(RouteError::MethodNotAllowed("GET, POST")),
        },
        ["tasks", id] if !id.is_empty() => {
            let id = decode(id);
            match *method {
                Method::GET => Ok(Endpoint::ShowTask { id }),
                Method::DELETE => Ok(Endpoint::DeleteTask { id }),
                _ => Err(RouteError::MethodNotAllowed("GET, DELETE")),
            }
        }
        ["images", id, "actions", "deactivate"] if !id.is_empty() => only(method, "POST", Endpoint::Deactivate { id: decode(id) }),
        ["images", id, "actions", "reactivate"] if !id.is_empty() => only(method, "POST", Endpoint::Reactivate { id: decode(id) }),
        ["images", id, "tags", tag] if !id.is_empty() && !tag.is_empty() => {
            let (id, tag) = (decode(id), decode(tag));
            match *method {
                Method::PUT => Ok(Endpoint::AddTag { id, tag }),
                Method::DELETE => Ok(Endpoint::DeleteTag { id, tag }),
                _ => Err(RouteError::MethodNotAllowed("PUT, DELETE")),
            }
        }
        ["images", id, "members"] if !id.is_empty() => {
            let id = decode(id);
            match *method {
                Method::GET => Ok(Endpoint::ListMembers { id }),
                Method::POST => Ok(Endpoint::CreateMember { id }),
                _ => Err(RouteError::MethodNotAllowed("GET, POST")),
            }
        }
        ["images", id, "members", member] if !id.is_empty() && !member.is_empty() => {
            let (id, member) = (decode(id), decode(member));
            match *method {
                Method::GET => Ok(Endpoint::ShowMember { id, member }),
                Method::PUT => Ok(Endpoint::UpdateMember { id, member }),
                Method::DELETE => Ok(Endpoint::DeleteMember { id, member }),
                _ => Err(RouteError::MethodNotAllowed("GET, PUT, DELETE")),
            }
        }
        ["schemas", name] => only(method, "GET", Endpoint::Schema { name: name.to_string() }),
        ["schemas", "metadefs", name] => only(method, "GET", Endpoint::Schema { name: format!("metadefs/{name}") }),
        ["info", "import"] => only(method, "GET", Endpoint::InfoImport),
        ["info", "stores"] => only(method, "GET", Endpoint::InfoStores),
        ["info", "stores", "detail"] => only(method, "GET", Endpoint::InfoStoresDetail),
        ["info", "usage"] => only(method, "GET", Endpoint::InfoUsage),
        _ => Err(RouteError::NotFound),
    };
    match result {
        Err(RouteError::NotFound) if !KNOWN_METHODS.contains(method) => Err(RouteError::NotImplemented),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(parse(&Method::GET, "/"), Ok(Endpoint::VersionsRoot));
        assert_eq!(parse(&Method::GET, "/v1/images"), Ok(Endpoint::VersionsRoot));
        assert_eq!(parse(&Method::GET, "/versions"), Ok(Endpoint::Versions));
        assert_eq!(parse(&Method::GET, "/v2/images"), Ok(Endpoint::ListImages));
        assert_eq!(parse(&Method::GET, "/v2.9/images"), Ok(Endpoint::ListImages));
        assert_eq!(parse(&Method::GET, "/v2/images/"), Err(RouteError::NotFound));
        assert_eq!(parse(&Method::DELETE, "/v2/images/"), Err(RouteError::NotFound));
        assert_eq!(parse(&Method::PUT, "/v2/images"), Err(RouteError::MethodNotAllowed("GET, POST")));
        assert_eq!(parse(&Method::POST, "/v2/images/x"), Err(RouteError::MethodNotAllowed("GET, PATCH, DELETE")));
        assert_eq!(parse(&Method::PUT, "/v2/images/x/tags/a%20b"), Ok(Endpoint::AddTag { id: "x".into(), tag: "a b".into() }));
        assert_eq!(parse(&Method::GET, "/v2/nothing"), Err(RouteError::NotFound));
        for (method, path) in surface() {
            assert!(parse(&method, path).is_ok(), "{method} {path}");
        }
        let odd = Method::from_bytes(b"BREW").unwrap_or(Method::GET);
        assert_eq!(parse(&odd, "/v2/nothing"), Err(RouteError::NotImplemented));
    }
}
