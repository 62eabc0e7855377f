//! The whole Keystone surface imagery serves, as one enum parsed from method and
//! path (relative to the identity root). Query strings are read by the handlers.

use http::Method;
use percent_encoding::percent_decode_str;

/// What a role assignment is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantTarget {
    Project(String),
    Domain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    // discovery
    Versions,
    VersionV3,
    // tokens
    IssueToken,
    ValidateToken,
    CheckToken,
    RevokeToken,
    AuthProjects,
    AuthDomains,
    AuthCatalog,
    // domains
    ListDomains,
    CreateDomain,
    GetDomain { domain: String },
    // projects
    ListProjects,
    CreateProject,
    GetProject { project_id: String },
    UpdateProject { project_id: String },
    DeleteProject { project_id: String },
    // users
    ListUsers,
    CreateUser,
    GetUser { user_id: String },
    UpdateUser { user_id: String },
    DeleteUser { user_id: String },
    ChangePassword { user_id: String },
    ListUserProjects { user_id: String },
    // roles and grants
    ListRoles,
    CreateRole,
    GetRole { role_id: String },
    ListGrants { target: GrantTarget, user_id: String },
    CreateGrant { target: GrantTarget, user_id: String, role_id: String },
    CheckGrant { target: GrantTarget, user_id: String, role_id: String },
    RevokeGrant { target: GrantTarget, user_id: String, role_id: String },
    ListRoleAssignments,
    // application credentials
    ListAppCredentials { user_id: String },
    CreateAppCredential { user_id: String },
    GetAppCredential { user_id: String, credential_id: String },
    DeleteAppCredential { user_id: String, credential_id: String },
    // the service catalog
    ListServices,
    GetService { service_id: String },
    ListEndpoints,
    GetEndpoint { endpoint_id: String },
    ListRegions,
    GetRegion { region_id: String },
}

/// Why a request matches no endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    MethodNotAllowed,
}

impl Endpoint {
    /// Parse a path relative to the identity root. `HEAD` is accepted wherever
    /// `GET` is (and means "check" for tokens and grants).
    pub fn parse(method: &Method, path: &str) -> Result<Endpoint, RouteError> {
        let trimmed = path.trim_matches('/');
        let segments: Vec<String> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned()).collect()
        };
        if segments.iter().any(String::is_empty) {
            return Err(RouteError::NotFound);
        }
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        let get = method == Method::GET || method == Method::HEAD;
        let on = |m: Method| *method == m;
        use Endpoint::*;
        let owned = |x: &str| x.to_string();
        let endpoint = match s.as_slice() {
            [] if get => Versions,
            ["v3"] if get => VersionV3,

            ["v3", "auth", "tokens"] => match *method {
                Method::POST => IssueToken,
                Method::GET => ValidateToken,
                Method::HEAD => CheckToken,
                Method::DELETE => RevokeToken,
                _ => return Err(RouteError::MethodNotAllowed),
            },
            ["v3", "auth", "projects"] if get => AuthProjects,
            ["v3", "auth", "domains"] if get => AuthDomains,
            ["v3", "auth", "catalog"] if get => AuthCatalog,

            ["v3", "domains"] if get => ListDomains,
            ["v3", "domains"] if on(Method::POST) => CreateDomain,
            ["v3", "domains", d] if get => GetDomain { domain: owned(d) },
            ["v3", "domains", d, "users", u, "roles"] if get => ListGrants { target: GrantTarget::Domain(owned(d)), user_id: owned(u) },
            ["v3", "domains", d, "users", u, "roles", r] => grant(method, GrantTarget::Domain(owned(d)), u, r)?,

            ["v3", "projects"] if get => ListProjects,
            ["v3", "projects"] if on(Method::POST) => CreateProject,
            ["v3", "projects", p] if get => GetProject { project_id: owned(p) },
            ["v3", "projects", p] if on(Method::PATCH) => UpdateProject { project_id: owned(p) },
            ["v3", "projects", p] if on(Method::DELETE) => DeleteProject { project_id: owned(p) },
            ["v3", "projects", p, "users", u, "roles"] if get => ListGrants { target: GrantTarget::Project(owned(p)), user_id: owned(u) },
            ["v3", "projects", p, "users", u, "roles", r] => grant(method, GrantTarget::Project(owned(p)), u, r)?,

            ["v3", "users"] if get => ListUsers,
            ["v3", "users"] if on(Method::POST) => CreateUser,
            ["v3", "users", u] if get => GetUser { user_id: owned(u) },
            ["v3", "users", u] if on(Method::PATCH) => UpdateUser { user_id: owned(u) },
            ["v3", "users", u] if on(Method::DELETE) => DeleteUser { user_id: owned(u) },
            ["v3", "users", u, "password"] if on(Method::POST) => ChangePassword { user_id: owned(u) },
            ["v3", "users", u, "projects"] if get => ListUserProjects { user_id: owned(u) },
            ["v3", "users", u, "application_credentials"] if get => ListAppCredentials { user_id: owned(u) },
            ["v3", "users", u, "application_credentials"] if on(Method::POST) => CreateAppCredential { user_id: owned(u) },
            ["v3", "users", u, "application_credentials", c] if get => GetAppCredential { user_id: owned(u), credential_id: owned(c) },
            ["v3", "users", u, "application_credentials", c] if on(Method::DELETE) => {
                DeleteAppCredential { user_id: owned(u), credential_id: owned(c) }
            }

            ["v3", "roles"] if get => ListRoles,
            ["v3", "roles"] if on(Method::POST) => CreateRole,
            ["v3", "roles", r] if get => GetRole { role_id: owned(r) },

            ["v3", "role_assignments"] if get => ListRoleAssignments,

            ["v3", "services"] if get => ListServices,
            ["v3", "services", id] if get => GetService { service_id: owned(id) },
            ["v3", "endpoints"] if get => ListEndpoints,
            ["v3", "endpoints", id] if get => GetEndpoint { endpoint_id: owned(id) },
            ["v3", "regions"] if get => ListRegions,
            ["v3", "regions", id] if get => GetRegion { region_id: owned(id) },

            path if Endpoint::is_known_path(path) => return Err(RouteError::MethodNotAllowed),
            _ => return Err(RouteError::NotFound),
        };
        Ok(endpoint)
    }

    /// A path some method serves (so another method gets 405, not 404).
    fn is_known_path(s: &[&str]) -> bool {
        matches!(
            s,
            [] | ["v3"]
                | ["v3", "auth", "projects" | "domains" | "catalog"]
                | ["v3", "domains" | "projects" | "users" | "roles" | "role_assignments" | "services" | "endpoints" | "regions"]
                | ["v3", "domains" | "projects" | "users" | "roles" | "services" | "endpoints" | "regions", _]
                | ["v3", "domains" | "projects", _, "users", _, "roles"]
                | ["v3", "users", _, "password" | "projects" | "application_credentials"]
                | ["v3", "users", _, "application_credentials", _]
        )
    }

    /// Endpoints that change nothing.
    pub fn is_read_only(&self) -> bool {
        use Endpoint::*;
        !matches!(
            self,
            IssueToken
                | RevokeToken
                | CreateDomain
                | CreateProject
                | UpdateProject { .. }
                | DeleteProject { .. }
                | CreateUser
                | UpdateUser { .. }
                | DeleteUser { .. }
                | ChangePassword { .. }
                | CreateRole
                | CreateGrant { .. }
                | RevokeGrant { .. }
                | CreateAppCredential { .. }
                | DeleteAppCredential { .. }
        )
    }
}

fn grant(method: &Method, target: GrantTarget, user: &str, role: &str) -> Result<Endpoint, RouteError> {
    let (user_id, role_id) = (user.to_string(), role.to_string());
    Ok(match *method {
        Method::PUT => Endpoint::CreateGrant { target, user_id, role_id },
        Method::HEAD | Method::GET => Endpoint::CheckGrant { target, user_id, role_id },
        Method::DELETE => Endpoint::RevokeGrant { target, user_id, role_id },
        _ => return Err(RouteError::MethodNotAllowed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_surface() {
        let p = |m: Method, path: &str| Endpoint::parse(&m, path);
        assert_eq!(p(Method::GET, "/"), Ok(Endpoint::Versions));
        assert_eq!(p(Method::GET, ""), Ok(Endpoint::Versions));
        assert_eq!(p(Method::GET, "/v3/"), Ok(Endpoint::VersionV3));
        assert_eq!(p(Method::HEAD, "/v3/auth/tokens"), Ok(Endpoint::CheckToken));
        assert_eq!(p(Method::GET, "/v3/domains/Default"), Ok(Endpoint::GetDomain { domain: "Default".into() }));
        assert_eq!(
            p(Method::PUT, "/v3/projects/p/users/u/roles/r"),
            Ok(Endpoint::CreateGrant { target: GrantTarget::Project("p".into()), user_id: "u".into(), role_id: "r".into() })
        );
        assert_eq!(p(Method::GET, "/v3/users/a%20b"), Ok(Endpoint::GetUser { user_id: "a b".into() }));
        assert_eq!(p(Method::PUT, "/v3/projects"), Err(RouteError::MethodNotAllowed));
        assert_eq!(p(Method::DELETE, "/v3/roles/x"), Err(RouteError::MethodNotAllowed));
        assert_eq!(p(Method::GET, "/v3/nothing"), Err(RouteError::NotFound));
        assert_eq!(p(Method::GET, "/v3//users"), Err(RouteError::NotFound));
        assert_eq!(p(Method::GET, "/v2.0"), Err(RouteError::NotFound));
        assert_eq!(p(Method::GET, "/v3/services"), Ok(Endpoint::ListServices));
        assert_eq!(p(Method::HEAD, "/v3/endpoints/e1"), Ok(Endpoint::GetEndpoint { endpoint_id: "e1".into() }));
        assert_eq!(p(Method::GET, "/v3/regions/RegionOne"), Ok(Endpoint::GetRegion { region_id: "RegionOne".into() }));
        assert_eq!(p(Method::POST, "/v3/services"), Err(RouteError::MethodNotAllowed));
        assert_eq!(p(Method::DELETE, "/v3/endpoints/e1"), Err(RouteError::MethodNotAllowed));
        assert_eq!(p(Method::GET, "/v3/regions/r/children"), Err(RouteError::NotFound));
        assert!(Endpoint::ListProjects.is_read_only());
        assert!(Endpoint::ListEndpoints.is_read_only());
        assert!(!Endpoint::IssueToken.is_read_only());
    }
}
