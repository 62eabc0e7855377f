//! The whole surface in one enum: method + path → `Endpoint`. Entra ID's token
//! side lives under `/{tenant}/…`, ARM under `/subscriptions/…` and `/tenants`.
//! ARM matches constant segments case-insensitively (azure-mgmt-resource sends
//! `resourcegroups`, compute sends `resourceGroups`); names keep their case.

use http::Method;

use crate::api_version::Family;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    // ----- Entra ID (no bearer token) -----
    /// `GET /{tenant}/v2.0/.well-known/openid-configuration` (and the v1 document).
    OpenIdConfiguration {
        tenant: String,
        v2: bool,
    },
    /// `POST /{tenant}/oauth2/v2.0/token` (and v1 `/{tenant}/oauth2/token`).
    Token {
        tenant: String,
        v2: bool,
    },
    /// `GET /{tenant}/discovery/v2.0/keys` (and v1 `/{tenant}/discovery/keys`).
    Keys {
        tenant: String,
    },

    // ----- ARM: subscriptions and tenants -----
    ListTenants,
    ListSubscriptions,
    GetSubscription {
        sub: String,
    },

    // ----- ARM: resource groups (Microsoft.Resources) -----
    ListResourceGroups {
        sub: String,
    },
    GetResourceGroup {
        sub: String,
        rg: String,
    },
    CheckResourceGroup {
        sub: String,
        rg: String,
    },
    PutResourceGroup {
        sub: String,
        rg: String,
    },
    PatchResourceGroup {
        sub: String,
        rg: String,
    },
    DeleteResourceGroup {
        sub: String,
        rg: String,
    },
    /// The `Location` monitor of a resource-group deletion.
    OperationResult {
        sub: String,
        id: String,
    },

    // ----- ARM: images (Microsoft.Compute) -----
    ListImages {
        sub: String,
    },
    ListImagesInGroup {
        sub: String,
        rg: String,
    },
    GetImage {
        sub: String,
        rg: String,
        name: String,
    },
    PutImage {
        sub: String,
        rg: String,
        name: String,
    },
    PatchImage {
        sub: String,
        rg: String,
        name: String,
    },
    DeleteImage {
        sub: String,
        rg: String,
        name: String,
    },
    /// The `Azure-AsyncOperation` status (and, with `monitor=true`, `Location`) of image operations.
    ComputeOperation {
        sub: String,
        location: String,
        id: String,
    },
}

impl Endpoint {
    /// The subscription in the path, for ARM endpoints that have one.
    pub fn subscription(&self) -> Option<&str> {
        use Endpoint::*;
        match self {
            GetSubscription { sub }
            | ListResourceGroups { sub }
            | GetResourceGroup { sub, .. }
            | CheckResourceGroup { sub, .. }
            | PutResourceGroup { sub, .. }
            | PatchResourceGroup { sub, .. }
            | DeleteResourceGroup { sub, .. }
            | OperationResult { sub, .. }
            | ListImages { sub }
            | ListImagesInGroup { sub, .. }
            | GetImage { sub, .. }
            | PutImage { sub, .. }
            | PatchImage { sub, .. }
            | DeleteImage { sub, .. }
            | ComputeOperation { sub, .. } => Some(sub),
            _ => None,
        }
    }

    pub fn is_token_side(&self) -> bool {
        matches!(self, Endpoint::OpenIdConfiguration { .. } | Endpoint::Token { .. } | Endpoint::Keys { .. })
    }

    /// Which provider's api-versions the route takes.
    pub fn family(&self) -> Family {
        use Endpoint::*;
        match self {
            ListImages { .. }
            | ListImagesInGroup { .. }
            | GetImage { .. }
            | PutImage { .. }
            | PatchImage { .. }
            | DeleteImage { .. }
            | ComputeOperation { .. } => Family::Compute,
            _ => Family::Resources,
        }
    }

    /// The RBAC action the request performs, as ARM names it in 403s.
    pub fn action(&self) -> &'static str {
        use Endpoint::*;
        match self {
            ListImages { .. } | ListImagesInGroup { .. } | GetImage { .. } => "Microsoft.Compute/images/read",
            PutImage { .. } | PatchImage { .. } => "Microsoft.Compute/images/write",
            DeleteImage { .. } => "Microsoft.Compute/images/delete",
            ComputeOperation { .. } => "Microsoft.Compute/locations/operations/read",
            ListResourceGroups { .. } | GetResourceGroup { .. } | CheckResourceGroup { .. } | OperationResult { .. } => {
                "Microsoft.Resources/subscriptions/resourceGroups/read"
            }
            PutResourceGroup { .. } | PatchResourceGroup { .. } => "Microsoft.Resources/subscriptions/resourceGroups/write",
            DeleteResourceGroup { .. } => "Microsoft.Resources/subscriptions/resourceGroups/delete",
            GetSubscription { .. } | ListSubscriptions | ListTenants => "Microsoft.Resources/subscriptions/read",
            OpenIdConfiguration { .. } | Token { .. } | Keys { .. } => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteError {
    NotFound,
    /// The path exists with other methods.
    MethodNotAllowed,
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn is(segment: &str, name: &str) -> bool {
    segment.eq_ignore_ascii_case(name)
}

pub(crate) fn parse(method: &Method, path: &str) -> Result<Endpoint, RouteError> {
    let trimmed = path.trim_matches('/');
    let raw: Vec<&str> = if trimmed.is_empty() { Vec::new() } else { trimmed.split('/').collect() };
    if raw.iter().any(|s| s.is_empty()) {
        return Err(RouteError::NotFound);
    }
    let segments: Vec<String> = raw.iter().map(|s| decode(s)).collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let m = method.clone();
    let only = |allowed: Method, ep: Endpoint| if m == allowed { Ok(ep) } else { Err(RouteError::MethodNotAllowed) };
    match s.as_slice() {
        [t] if is(t, "tenants") => only(Method::GET, Endpoint::ListTenants),
        [sub] if is(sub, "subscriptions") => only(Method::GET, Endpoint::ListSubscriptions),
        [first, rest @ ..] if is(first, "subscriptions") => parse_subscription(method, rest),
        [tenant, v, wk, oc] if is(v, "v2.0") && is(wk, ".well-known") && is(oc, "openid-configuration") => {
            only(Method::GET, Endpoint::OpenIdConfiguration { tenant: tenant.to_string(), v2: true })
        }
        [tenant, wk, oc] if is(wk, ".well-known") && is(oc, "openid-configuration") => {
            only(Method::GET, Endpoint::OpenIdConfiguration { tenant: tenant.to_string(), v2: false })
        }
        [tenant, o, v, t] if is(o, "oauth2") && is(v, "v2.0") && is(t, "token") => {
            only(Method::POST, Endpoint::Token { tenant: tenant.to_string(), v2: true })
        }
        [tenant, o, t] if is(o, "oauth2") && is(t, "token") => {
            only(Method::POST, Endpoint::Token { tenant: tenant.to_string(), v2: false })
        }
        [tenant, d, v, k] if is(d, "discovery") && is(v, "v2.0") && is(k, "keys") => {
            only(Method::GET, Endpoint::Keys { tenant: tenant.to_string() })
        }
        [tenant, d, k] if is(d, "discovery") && is(k, "keys") => only(Method::GET, Endpoint::Keys { tenant: tenant.to_string() }),
        _ => Err(RouteError::NotFound),
    }
}

/// Everything after `/subscriptions`.
fn parse_subscription(method: &Method, rest: &[&str]) -> Result<Endpoint, RouteError> {
    let get = method == Method::GET;
    let sub = |s: &str| s.to_string();
    match rest {
        [s] => {
            if get {
                Ok(Endpoint::GetSubscription { sub: sub(s) })
            } else {
                Err(RouteError::MethodNotAllowed)
            }
        }
        [s, g] if is(g, "resourcegroups") => {
            if get {
                Ok(Endpoint::ListResourceGroups { sub: sub(s) })
            } else {
                Err(RouteError::MethodNotAllowed)
            }
        }
        [s, g, rg] if is(g, "resourcegroups") => {
            let (sub, rg) = (sub(s), rg.to_string());
            match *method {
                Method::GET => Ok(Endpoint::GetResourceGroup { sub, rg }),
                Method::HEAD => Ok(Endpoint::CheckResourceGroup { sub, rg }),
                Method::PUT => Ok(Endpoint::PutResourceGroup { sub, rg }),
                Method::PATCH => Ok(Endpoint::PatchResourceGroup { sub, rg }),
                Method::DELETE => Ok(Endpoint::DeleteResourceGroup { sub, rg }),
                _ => Err(RouteError::MethodNotAllowed),
            }
        }
        [s, o, id] if is(o, "operationresults") => {
            if get {
                Ok(Endpoint::OperationResult { sub: sub(s), id: id.to_string() })
            } else {
                Err(RouteError::MethodNotAllowed)
            }
        }
        [s, p, c, i] if is(p, "providers") && is(c, "Microsoft.Compute") && is(i, "images") => {
            if get {
                Ok(Endpoint::ListImages { sub: sub(s) })
            } else {
                Err(RouteError::MethodNotAllowed)
            }
        }
        [s, p, c, l, location, o, id] if is(p, "providers") && is(c, "Microsoft.Compute") && is(l, "locations") && is(o, "operations") => {
            if get {
                Ok(Endpoint::ComputeOperation { sub: sub(s), location: location.to_string(), id: id.to_string() })
            } else {
                Err(RouteError::MethodNotAllowed)
            }
        }
        [s, g, rg, p, c, i] if is(g, "resourcegroups") && is(p, "providers") && is(c, "Microsoft.Compute") && is(i, "images") => {
            if get {
                Ok(Endpoint::ListImagesInGroup { sub: sub(s), rg: rg.to_string() })
            } else {
                Err(RouteError::MethodNotAllowed)
            }
        }
        [s, g, rg, p, c, i, name] if is(g, "resourcegroups") && is(p, "providers") && is(c, "Microsoft.Compute") && is(i, "images") => {
            let (sub, rg, name) = (sub(s), rg.to_string(), name.to_string());
            match *method {
                Method::GET => Ok(Endpoint::GetImage { sub, rg, name }),
                Method::PUT => Ok(Endpoint::PutImage { sub, rg, name }),
                Method::PATCH => Ok(Endpoint::PatchImage { sub, rg, name }),
                Method::DELETE => Ok(Endpoint::DeleteImage { sub, rg, name }),
                _ => Err(RouteError::MethodNotAllowed),
            }
        }
        _ => Err(RouteError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let image = |m: Method, p: &str| parse(&m, p);
        assert_eq!(
            image(Method::GET, "/subscriptions/s/resourceGroups/My%20RG/providers/Microsoft.Compute/images/img"),
            Ok(Endpoint::GetImage { sub: "s".into(), rg: "My RG".into(), name: "img".into() })
        );
        assert_eq!(
            image(Method::PUT, "/SUBSCRIPTIONS/s/resourcegroups/rg/PROVIDERS/microsoft.compute/IMAGES/Img"),
            Ok(Endpoint::PutImage { sub: "s".into(), rg: "rg".into(), name: "Img".into() })
        );
        assert_eq!(
            image(Method::HEAD, "/subscriptions/s/resourcegroups/rg"),
            Ok(Endpoint::CheckResourceGroup { sub: "s".into(), rg: "rg".into() })
        );
        assert_eq!(image(Method::GET, "/subscriptions/s/resourcegroups"), Ok(Endpoint::ListResourceGroups { sub: "s".into() }));
        assert_eq!(image(Method::POST, "/subscriptions/s/resourcegroups"), Err(RouteError::MethodNotAllowed));
        assert_eq!(
            image(Method::GET, "/subscriptions/s/providers/Microsoft.Compute/locations/westus/operations/abc"),
            Ok(Endpoint::ComputeOperation { sub: "s".into(), location: "westus".into(), id: "abc".into() })
        );
        assert_eq!(image(Method::GET, "/subscriptions/s/providers/Microsoft.Compute/images"), Ok(Endpoint::ListImages { sub: "s".into() }));
        assert_eq!(
            image(Method::GET, "/mytenant/v2.0/.well-known/openid-configuration"),
            Ok(Endpoint::OpenIdConfiguration { tenant: "mytenant".into(), v2: true })
        );
        assert_eq!(image(Method::POST, "/t/oauth2/v2.0/token"), Ok(Endpoint::Token { tenant: "t".into(), v2: true }));
        assert_eq!(image(Method::GET, "/t/oauth2/v2.0/token"), Err(RouteError::MethodNotAllowed));
        assert_eq!(image(Method::GET, "/t/discovery/v2.0/keys"), Ok(Endpoint::Keys { tenant: "t".into() }));
        assert_eq!(image(Method::GET, "/subscriptions/s/providers/Microsoft.Network/x"), Err(RouteError::NotFound));
        assert_eq!(image(Method::GET, "/subscriptions//resourcegroups"), Err(RouteError::NotFound));
        assert_eq!(image(Method::GET, "/"), Err(RouteError::NotFound));
    }
}
