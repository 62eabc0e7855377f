//! The whole REST surface in one enum: method + path → [`Endpoint`]. Paths are
//! the ones Yandex's transcoder serves (`/compute/v1/...`, `/operations/...`,
//! `/endpoints`, `/iam/v1/tokens`); they do not collide, so one listener serves
//! them all (plus gRPC, routed by content type before this).

use http::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    GetImage {
        id: String,
    },
    GetImageLatestByFamily,
    ListImages,
    CreateImage,
    UpdateImage {
        id: String,
    },
    DeleteImage {
        id: String,
    },
    ListImageOperations {
        id: String,
    },
    /// `:listAccessBindings`, `:setAccessBindings`, `:updateAccessBindings`: not served.
    ImageAccessBindings {
        verb: String,
    },
    GetOperation {
        id: String,
    },
    CancelOperation {
        id: String,
    },
    DiscoveryList,
    DiscoveryGet {
        id: String,
    },
    CreateIamToken,
    RevokeIamToken,
    /// `:createForServiceAccount`: not served.
    CreateIamTokenForServiceAccount,
}

impl Endpoint {
    /// Endpoints that only read (safe to retry; an idempotency key is ignored).
    pub fn reads_only(&self) -> bool {
        use Endpoint::*;
        matches!(
            self,
            GetImage { .. }
                | GetImageLatestByFamily
                | ListImages
                | ListImageOperations { .. }
                | GetOperation { .. }
                | DiscoveryList
                | DiscoveryGet { .. }
        )
    }

    /// Endpoints that need `Authorization: Bearer` (discovery and token exchange do not, as in Yandex).
    pub fn needs_token(&self) -> bool {
        use Endpoint::*;
        !matches!(self, DiscoveryList | DiscoveryGet { .. } | CreateIamToken | RevokeIamToken | CreateIamTokenForServiceAccount)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    MethodNotAllowed,
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

pub fn parse(method: &Method, path: &str) -> Result<Endpoint, RouteError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let only =
        |allowed: &[Method], endpoint: Endpoint| if allowed.contains(method) { Ok(endpoint) } else { Err(RouteError::MethodNotAllowed) };
    match segments.as_slice() {
        ["compute", "v1", "images"] => match *method {
            Method::GET => Ok(Endpoint::ListImages),
            Method::POST => Ok(Endpoint::CreateImage),
            _ => Err(RouteError::MethodNotAllowed),
        },
        ["compute", "v1", "images:latestByFamily"] => only(&[Method::GET], Endpoint::GetImageLatestByFamily),
        ["compute", "v1", last] if last.starts_with("images:") => Err(RouteError::NotFound),
        ["compute", "v1", "images", id] if !id.is_empty() => {
            let id = decode(id);
            if let Some((_, verb)) = id.split_once(':') {
                return match verb {
                    "listAccessBindings" => only(&[Method::GET], Endpoint::ImageAccessBindings { verb: verb.into() }),
                    "setAccessBindings" | "updateAccessBindings" => {
                        only(&[Method::POST], Endpoint::ImageAccessBindings { verb: verb.into() })
                    }
                    _ => Err(RouteError::NotFound),
                };
            }
            match *method {
                Method::GET => Ok(Endpoint::GetImage { id }),
                Method::PATCH => Ok(Endpoint::UpdateImage { id }),
                Method::DELETE => Ok(Endpoint::DeleteImage { id }),
                _ => Err(RouteError::MethodNotAllowed),
            }
        }
        ["compute", "v1", "images", id, "operations"] if !id.is_empty() => {
            only(&[Method::GET], Endpoint::ListImageOperations { id: decode(id) })
        }
        ["operations", id] if !id.is_empty() => {
            let id = decode(id);
            match id.strip_suffix(":cancel") {
                // The proto binds GET; the design guide shows POST. Both are served.
                Some(id) => only(&[Method::GET, Method::POST], Endpoint::CancelOperation { id: id.to_string() }),
                None => only(&[Method::GET], Endpoint::GetOperation { id }),
            }
        }
        ["endpoints"] => only(&[Method::GET], Endpoint::DiscoveryList),
        ["endpoints", id] if !id.is_empty() => only(&[Method::GET], Endpoint::DiscoveryGet { id: decode(id) }),
        ["iam", "v1", "tokens"] => only(&[Method::POST], Endpoint::CreateIamToken),
        ["iam", "v1", "tokens:revoke"] => only(&[Method::POST], Endpoint::RevokeIamToken),
        ["iam", "v1", "tokens:createForServiceAccount"] => only(&[Method::POST], Endpoint::CreateIamTokenForServiceAccount),
        _ => Err(RouteError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let get = |p: &str| parse(&Method::GET, p);
        assert_eq!(get("/compute/v1/images/fd8abc"), Ok(Endpoint::GetImage { id: "fd8abc".into() }));
        assert_eq!(get("/compute/v1/images:latestByFamily"), Ok(Endpoint::GetImageLatestByFamily));
        assert_eq!(get("/compute/v1/images"), Ok(Endpoint::ListImages));
        assert_eq!(parse(&Method::POST, "/compute/v1/images"), Ok(Endpoint::CreateImage));
        assert_eq!(parse(&Method::PATCH, "/compute/v1/images/x"), Ok(Endpoint::UpdateImage { id: "x".into() }));
        assert_eq!(parse(&Method::DELETE, "/compute/v1/images/x"), Ok(Endpoint::DeleteImage { id: "x".into() }));
        assert_eq!(get("/compute/v1/images/x/operations"), Ok(Endpoint::ListImageOperations { id: "x".into() }));
        assert_eq!(get("/compute/v1/images/x:listAccessBindings"), Ok(Endpoint::ImageAccessBindings { verb: "listAccessBindings".into() }));
        assert_eq!(get("/operations/op1"), Ok(Endpoint::GetOperation { id: "op1".into() }));
        assert_eq!(get("/operations/op1:cancel"), Ok(Endpoint::CancelOperation { id: "op1".into() }));
        assert_eq!(get("/operations/op1%3Acancel"), Ok(Endpoint::CancelOperation { id: "op1".into() }));
        assert_eq!(get("/endpoints"), Ok(Endpoint::DiscoveryList));
        assert_eq!(get("/endpoints/compute"), Ok(Endpoint::DiscoveryGet { id: "compute".into() }));
        assert_eq!(parse(&Method::POST, "/iam/v1/tokens"), Ok(Endpoint::CreateIamToken));
        assert_eq!(get("/iam/v1/tokens"), Err(RouteError::MethodNotAllowed));
        assert_eq!(parse(&Method::PUT, "/compute/v1/images/x"), Err(RouteError::MethodNotAllowed));
        assert_eq!(get("/compute/v1/images:bogus"), Err(RouteError::NotFound));
        assert_eq!(get("/"), Err(RouteError::NotFound));
        assert_eq!(get("/compute/v2/images"), Err(RouteError::NotFound));
        assert!(!Endpoint::DiscoveryList.needs_token() && Endpoint::ListImages.needs_token());
        assert!(Endpoint::ListImages.reads_only() && !Endpoint::CreateImage.reads_only());
    }
}
