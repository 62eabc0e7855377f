//! The whole surface of the Huawei listener in one enum. The huaweicloud SDK
//! keeps only scheme and host of its endpoint, so everything lives at the root:
//!
//! | path | API | served by |
//! |---|---|---|
//! | `/v2/cloudimages` | IMS native | here |
//! | `/v2/images`, `/v2/images/{id}` (GET, POST, PATCH) | IMS Glance-compatible | here (flat objects with `__*` attributes) |
//! | `DELETE /v2/images/{id}`, other `/v2/…` Glance paths, `/`, `/versions` | IMS Glance-compatible | the Glance dialect, errors re-enveloped |
//! | `/v2/{project_id}/…`, `/v2.1/…` | ECS native OpenStack (Nova) | the compute dialect, with Huawei metadata |
//!
//! A project id is 32 hex digits, which no Glance collection name is.

use http::Method;

use crate::error::HuaweiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /v2/cloudimages` (ListImages).
    ListCloudImages,
    /// `PATCH /v2/cloudimages/{id}` (UpdateImage).
    UpdateCloudImage { id: String },
    /// `GET /v2/images` (GlanceListImages).
    ListImages,
    /// `GET /v2/images/{id}` (GlanceShowImage): the bare flat object.
    ShowImage { id: String },
    /// `POST /v2/images` (GlanceCreateImageMetadata).
    CreateImage,
    /// `PATCH /v2/images/{id}` (GlanceUpdateImage).
    UpdateImage { id: String },
    /// `DELETE /v2/images/{id}` (GlanceDeleteImage): Glance's delete; the SDK's
    /// optional `{"delete_backup": …}` body is dropped (there are no server backups).
    DeleteImage,
    /// Everything else Glance serves, unchanged: delete, tags, members, data,
    /// actions, schemas, info, versions. `data`: `PUT …/file`, whose body streams.
    Glance { data: bool },
    /// The ECS image API (Nova's image proxy).
    Ecs,
}

impl Endpoint {
    /// Takes image data, whose body streams instead of being buffered.
    pub fn streams_body(&self) -> bool {
        matches!(self, Endpoint::Glance { data: true })
    }

    /// Reads only (no state changes), so safe to retry.
    pub fn is_read(&self, method: &Method) -> bool {
        match self {
            Endpoint::ListCloudImages | Endpoint::ListImages | Endpoint::ShowImage { .. } => true,
            Endpoint::Glance { .. } | Endpoint::Ecs => *method == Method::GET || *method == Method::HEAD,
            Endpoint::UpdateCloudImage { .. } | Endpoint::CreateImage | Endpoint::UpdateImage { .. } | Endpoint::DeleteImage => false,
        }
    }
}

pub fn is_project_id(segment: &str) -> bool {
    segment.len() == 32 && segment.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn parse(method: &Method, path: &str) -> Result<Endpoint, HuaweiError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let segments: Vec<&str> = if trimmed.is_empty() { Vec::new() } else { trimmed.split('/').collect() };
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let endpoint = match segments.as_slice() {
        [] | ["versions"] => Endpoint::Glance { data: false },
        ["v2.1", ..] => Endpoint::Ecs,
        ["v2"] | ["v2", ""] => Endpoint::Ecs,
        ["v2", project, ..] if is_project_id(project) => Endpoint::Ecs,
        ["v2", "cloudimages"] => match *method {
            Method::GET => Endpoint::ListCloudImages,
            _ => return Err(HuaweiError::method_not_allowed("GET")),
        },
        ["v2", "cloudimages", id] if !id.is_empty() => match *method {
            Method::PATCH => Endpoint::UpdateCloudImage { id: decode(id) },
            _ => return Err(HuaweiError::method_not_allowed("PATCH")),
        },
        ["v2", "cloudimages", ..] => return Err(HuaweiError::unknown_api()),
        ["v2", "images"] if *method == Method::GET => Endpoint::ListImages,
        ["v2", "images"] if *method == Method::POST => Endpoint::CreateImage,
        ["v2", "images", id] if !id.is_empty() && *method == Method::GET => Endpoint::ShowImage { id: decode(id) },
        ["v2", "images", id] if !id.is_empty() && *method == Method::PATCH => Endpoint::UpdateImage { id: decode(id) },
        ["v2", "images", id] if !id.is_empty() && *method == Method::DELETE => Endpoint::DeleteImage,
        ["v2", "images", id, "file"] if !id.is_empty() && *method == Method::PUT => Endpoint::Glance { data: true },
        ["v2", "images", id, "stage"] if !id.is_empty() && *method == Method::PUT => Endpoint::Glance { data: true },
        ["v2", ..] => Endpoint::Glance { data: false },
        _ => return Err(HuaweiError::unknown_api()),
    };
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "0123456789abcdef0123456789abcdef";

    fn ep(method: Method, path: &str) -> Endpoint {
        parse(&method, path).unwrap_or_else(|e| panic!("{path}: {e:?}"))
    }

    #[test]
    fn routes() {
        assert_eq!(ep(Method::GET, "/v2/cloudimages"), Endpoint::ListCloudImages);
        assert_eq!(ep(Method::PATCH, "/v2/cloudimages/x"), Endpoint::UpdateCloudImage { id: "x".into() });
        assert_eq!(ep(Method::GET, "/v2/images"), Endpoint::ListImages);
        assert_eq!(ep(Method::POST, "/v2/images"), Endpoint::CreateImage);
        assert_eq!(ep(Method::GET, "/v2/images/a%20b"), Endpoint::ShowImage { id: "a b".into() });
        assert_eq!(ep(Method::PATCH, "/v2/images/x"), Endpoint::UpdateImage { id: "x".into() });
        assert_eq!(ep(Method::DELETE, "/v2/images/x"), Endpoint::DeleteImage);
        assert_eq!(ep(Method::DELETE, "/v2/images/x/members/m"), Endpoint::Glance { data: false });
        assert_eq!(ep(Method::GET, "/v2/images/"), Endpoint::Glance { data: false });
        assert_eq!(ep(Method::PUT, "/v2/images/x/file"), Endpoint::Glance { data: true });
        assert_eq!(ep(Method::GET, "/v2/images/x/file"), Endpoint::Glance { data: false });
        assert_eq!(ep(Method::PUT, "/v2/images/x/tags/t"), Endpoint::Glance { data: false });
        assert_eq!(ep(Method::GET, "/v2/schemas/image"), Endpoint::Glance { data: false });
        assert_eq!(ep(Method::GET, &format!("/v2/{P}/images/detail")), Endpoint::Ecs);
        assert_eq!(ep(Method::GET, &format!("/v2.1/{P}/images")), Endpoint::Ecs);
        assert_eq!(ep(Method::GET, "/v2.1/"), Endpoint::Ecs);
        assert_eq!(ep(Method::GET, "/v2/"), Endpoint::Ecs);
        assert_eq!(ep(Method::GET, "/"), Endpoint::Glance { data: false });
        assert_eq!(parse(&Method::GET, "/v3/projects").err().map(|e| e.code), Some("APIGW.0101".into()));
        assert_eq!(parse(&Method::DELETE, "/v2/cloudimages").err().map(|e| e.status.as_u16()), Some(405));
        assert_eq!(parse(&Method::GET, "/v2/cloudimages/x").err().map(|e| e.status.as_u16()), Some(405));
        assert!(Endpoint::ShowImage { id: "x".into() }.is_read(&Method::GET));
        assert!(!Endpoint::Glance { data: false }.is_read(&Method::DELETE));
        assert!(Endpoint::Glance { data: true }.streams_body());
    }
}
