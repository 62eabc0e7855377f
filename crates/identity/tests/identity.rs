//! The identity core against a real (in-memory SQLite) catalog: bootstrap,
//! every authentication method and scope, token validation, revocation,
//! restart, key rotation, and the admin operations' side effects on tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use imagery_core::ports::Catalog;
use imagery_identity::{
    AppCredentialRef, AssignmentFilter, AuthMethod, DomainRef, Identity, IdentityConfig, IdentityError, NewAppCredential, NewProject,
    NewUser, PasswordHashing, Principal, ProjectRef, RoleRef, Scope, ScopeRequest, Secret, UserRef, UserUpdate,
};

fn config() -> IdentityConfig {
    IdentityConfig { password_hashing: PasswordHashing::INSECURE_FAST, key_activation_delay: Duration::ZERO, ..IdentityConfig::default() }
}

async fn catalog() -> Arc<dyn Catalog> {
    imagery_catalog::open("sqlite::memory:").await.expect("catalog")
}

struct World {
    catalog: Arc<dyn Catalog>,
    identity: Arc<Identity>,
    admin_password: String,
}

async fn world_with(config: IdentityConfig) -> World {
    let catalog = catalog().await;
    let identity = Identity::open(catalog.clone(), config).await.expect("open");
    let report = identity.bootstrap(Some("s3cret-admin".into())).await.expect("bootstrap");
    assert!(report.created_admin);
    World { catalog, identity, admin_password: "s3cret-admin".into() }
}

async fn world() -> World {
    world_with(config()).await
}

fn by_name(name: &str) -> UserRef {
    UserRef::Name { name: name.into(), domain: DomainRef::Name("Default".into()) }
}

fn project(name: &str) -> ScopeRequest {
    ScopeRequest::Project(ProjectRef::Name { name: name.into(), domain: DomainRef::Name("Default".into()) })
}

fn password(user: UserRef, password: &str) -> AuthMethod {
    AuthMethod::Password { user, password: Secret::new(password) }
}

fn is_unauthenticated<T: std::fmt::Debug>(result: Result<T, IdentityError>) -> bool {
    matches!(result, Err(IdentityError::Unauthenticated { .. }))
}

/// A project `demo` with a user `alice` (password `alice-pw`) holding `member` on it.
async fn with_alice(w: &World) -> (String, String) {
    let demo = w
        .identity
        .create_project(NewProject { name: "demo".into(), domain_id: "default".into(), description: String::new(), enabled: true })
        .await
        .expect("project");
    let alice = w
        .identity
        .create_user(NewUser {
            name: "alice".into(),
            domain_id: "default".into(),
            password: Some("alice-pw".into()),
            enabled: true,
            default_project_id: None,
        })
        .await
        .expect("user");
    let member = w.identity.find_role(&RoleRef::Name("member".into())).await.expect("lookup").expect("member role");
    w.identity.grant_role(&alice.id, &demo.id, &member.id).await.expect("grant");
    (alice.id, demo.id)
}

fn key_id_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("payload");
    let json: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
    json["k"].as_str().expect("key id").to_string()
}

#[tokio::test]
async fn first_start_writes_owner_only_openrc_once() {
    let catalog = catalog().await;
    let identity = Identity::open(catalog, config()).await.expect("open");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = identity.bootstrap_first_start(dir.path(), "http://127.0.0.1:5000/v3").await.expect("bootstrap").expect("first start");
    assert_eq!(path, dir.path().join("admin-openrc.sh"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&path).expect("read");
    for line in [
        "export OS_AUTH_URL=http://127.0.0.1:5000/v3",
        "export OS_USERNAME=admin",
        "export OS_PROJECT_NAME=admin",
        "export OS_USER_DOMAIN_NAME=Default",
        "export OS_PROJECT_DOMAIN_NAME=Default",
        "export OS_IDENTITY_API_VERSION=3",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    let password = text.lines().find_map(|l| l.strip_prefix("export OS_PASSWORD=")).expect("password line").to_string();
    assert!(password.len() >= 24);
    let issued = identity
        .authenticate(AuthMethod::Password { user: by_name("admin"), password: password.into() }, project("admin"))
        .await
        .expect("admin login");
    assert_eq!(issued.principal.roles, ["admin", "member", "reader"]);
    assert!(matches!(issued.principal.scope, Scope::Project { ref name, ref domain_id, .. } if name == "admin" && domain_id == "default"));

    // Second start: nothing written, nothing changed.
    std::fs::remove_file(&path).expect("remove");
    assert_eq!(identity.bootstrap_first_start(dir.path(), "http://x/v3").await.expect("again"), None);
    assert!(!path.exists());
    // The CLI bootstrap is idempotent and can reset the password.
    let report = identity.bootstrap(Some("new-admin-pw".into())).await.expect("bootstrap");
    assert!(!report.created_admin);
    identity.authenticate(password_method("admin", "new-admin-pw"), project("admin")).await.expect("new password works");
    assert_eq!(identity.list_roles(None).await.expect("roles").len(), 3);
}

fn password_method(user: &str, pw: &str) -> AuthMethod {
    password(by_name(user), pw)
}

#[tokio::test]
async fn password_scopes_and_failures() {
    let w = world().await;
    let (alice_id, demo_id) = with_alice(&w).await;

    // By name + domain name, project by name.
    let t = w.identity.authenticate(password_method("alice", "alice-pw"), project("demo")).await.expect("login");
    assert_eq!(t.principal.roles, ["member", "reader"]);
    assert_eq!(t.principal.methods, ["password"]);
    assert_eq!(t.principal.project_id(), Some(demo_id.as_str()));
    let caller = t.principal.caller();
    assert_eq!(caller.project_id.as_deref(), Some(demo_id.as_str()));
    assert!(caller.is_member() && !caller.is_admin());

    // By id, domain by id, project by id.
    let by_id = password(UserRef::Id(alice_id.clone()), "alice-pw");
    let t = w.identity.authenticate(by_id.clone(), ScopeRequest::Project(ProjectRef::Id(demo_id.clone()))).await.expect("by id");
    assert_eq!(t.principal.user_name, "alice");
    let by_domain_id = password(UserRef::Name { name: "alice".into(), domain: DomainRef::Id("default".into()) }, "alice-pw");
    w.identity.authenticate(by_domain_id, ScopeRequest::Unscoped).await.expect("domain by id");

    // Unscoped: no roles.
    let t = w.identity.authenticate(by_id.clone(), ScopeRequest::Default).await.expect("unscoped");
    assert_eq!(t.principal.scope, Scope::Unscoped);
    assert!(t.principal.roles.is_empty());

    // No role on the admin project, nor on the domain.
    assert!(is_unauthenticated(w.identity.authenticate(by_id.clone(), project("admin")).await));
    assert!(is_unauthenticated(w.identity.authenticate(by_id.clone(), ScopeRequest::Domain(DomainRef::Id("default".into()))).await));
    assert!(is_unauthenticated(w.identity.authenticate(by_id.clone(), project("nope")).await));

    // Wrong password and unknown user are indistinguishable.
    let wrong = w.identity.authenticate(password_method("alice", "bad"), project("demo")).await.expect_err("wrong password");
    let unknown = w.identity.authenticate(password_method("mallory", "bad"), project("demo")).await.expect_err("unknown user");
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert_eq!(wrong.to_string(), "The request you have made requires authentication.");

    // Default project scoping.
    w.identity
        .update_user(&alice_id, UserUpdate { default_project_id: Some(Some(demo_id.clone())), ..UserUpdate::default() })
        .await
        .expect("update");
    let t =
        w.identity.authenticate(password(UserRef::Id(alice_id.clone()), "alice-pw"), ScopeRequest::Default).await.expect("default project");
    assert_eq!(t.principal.project_id(), Some(demo_id.as_str()));
    let t = w
        .identity
        .authenticate(password(UserRef::Id(alice_id.clone()), "alice-pw"), ScopeRequest::Unscoped)
        .await
        .expect("explicitly unscoped");
    assert_eq!(t.principal.scope, Scope::Unscoped);

    // Disabled project, then disabled user.
    let disable = imagery_identity::ProjectUpdate { enabled: Some(false), ..Default::default() };
    w.identity.update_project(&demo_id, disable).await.expect("disable project");
    assert!(is_unauthenticated(w.identity.authenticate(password_method("alice", "alice-pw"), project("demo")).await));
    w.identity.update_user(&alice_id, UserUpdate { enabled: Some(false), ..UserUpdate::default() }).await.expect("disable user");
    assert!(is_unauthenticated(w.identity.authenticate(password_method("alice", "alice-pw"), ScopeRequest::Unscoped).await));
}

#[tokio::test]
async fn domain_scope_needs_a_domain_role() {
    let w = world().await;
    let admin = w.identity.lookup_user(&by_name("admin")).await.expect("lookup").expect("admin");
    let role = w.identity.find_role(&RoleRef::Name("admin".into())).await.expect("lookup").expect("role");
    let scope = ScopeRequest::Domain(DomainRef::Name("Default".into()));
    assert!(is_unauthenticated(w.identity.authenticate(password_method("admin", &w.admin_password), scope.clone()).await));
    w.identity.grant_role(&admin.id, "default", &role.id).await.expect("domain grant");
    let t = w.identity.authenticate(password_method("admin", &w.admin_password), scope).await.expect("domain token");
    assert_eq!(t.principal.scope, Scope::Domain { id: "default".into(), name: "Default".into() });
    assert_eq!(t.principal.roles, ["admin", "member", "reader"]);
    assert_eq!(w.identity.user_domains(&admin.id).await.expect("domains").len(), 1);
    let v = w.identity.validate(&t.token).expect("valid");
    assert_eq!(v, t.principal);
}

#[tokio::test]
async fn tokens_validate_offline_and_reject_tampering() {
    let w = world().await;
    let t = w.identity.authenticate(password_method("admin", &w.admin_password), project("admin")).await.expect("login");
    assert!(t.token.starts_with("t1."));
    assert_eq!(t.token.rsplit('.').next().expect("sig").len(), 86);
    assert_eq!(w.identity.validate(&t.token).expect("valid"), t.principal);
    assert_eq!(t.principal.audit_id.len(), 22);

    // Flip a character of the signature, of the payload; truncate; garbage.
    let mut sig_flipped = t.token.clone();
    let last = sig_flipped.pop().expect("char");
    sig_flipped.push(if last == 'A' { 'B' } else { 'A' });
    let (payload, sig) = t.token.rsplit_once('.').expect("dot");
    let forged_payload = {
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&payload[3..]).expect("b64")).expect("json");
        let mut claims = claims;
        claims["r"] = serde_json::json!(["admin"]);
        claims["u"] = serde_json::json!("someone-else");
        format!("t1.{}.{}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("json")), sig)
    };
    for bad in [sig_flipped.as_str(), forged_payload.as_str(), &t.token[..t.token.len() - 1], "t1.x.y", "", "Bearer nonsense"] {
        assert!(is_unauthenticated(w.identity.validate(bad)), "{bad:?} validated");
    }

    // Another deployment's keys do not verify our tokens.
    let other = Identity::open(catalog().await, config()).await.expect("other");
    assert!(is_unauthenticated(other.validate(&t.token)));
}

#[tokio::test]
async fn tokens_expire() {
    let w = world_with(IdentityConfig { token_ttl: Duration::from_millis(600), ..config() }).await;
    let t = w.identity.authenticate(password_method("admin", &w.admin_password), project("admin")).await.expect("login");
    w.identity.validate(&t.token).expect("fresh");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(is_unauthenticated(w.identity.validate(&t.token)));
    // An expired token cannot be re-scoped either.
    assert!(is_unauthenticated(w.identity.authenticate(AuthMethod::Token { token: t.token.clone() }, project("admin")).await));
}

#[tokio::test]
async fn rescope_keeps_expiry_and_chains_revocation() {
    let w = world().await;
    let unscoped = w.identity.authenticate(password_method("admin", &w.admin_password), ScopeRequest::Unscoped).await.expect("login");
    let scoped = w.identity.authenticate(AuthMethod::Token { token: unscoped.token.clone() }, project("admin")).await.expect("rescope");
    assert_eq!(scoped.principal.methods, ["token", "password"]);
    assert_eq!(scoped.principal.expires_at, unscoped.principal.expires_at);
    assert_eq!(scoped.principal.audit_ids(), [scoped.principal.audit_id.clone(), unscoped.principal.audit_id.clone()]);
    assert_eq!(scoped.principal.roles, ["admin", "member", "reader"]);

    // Revoking the original revokes the re-scoped token as well.
    w.identity.revoke(&unscoped.token).await.expect("revoke");
    assert!(is_unauthenticated(w.identity.validate(&unscoped.token)));
    assert!(is_unauthenticated(w.identity.validate(&scoped.token)));
    // Revoking twice: the token is no longer valid.
    assert!(is_unauthenticated(w.identity.revoke(&unscoped.token).await));
}

#[tokio::test]
async fn tokens_survive_restart_and_revocations_reach_other_processes() {
    let w = world().await;
    let t = w.identity.authenticate(password_method("admin", &w.admin_password), project("admin")).await.expect("login");
    let reopened = Identity::open(w.catalog.clone(), config()).await.expect("reopen");
    assert_eq!(reopened.validate(&t.token).expect("valid after restart"), t.principal);

    // Revoked in one process; the other learns it on its next refresh.
    w.identity.revoke(&t.token).await.expect("revoke");
    assert!(is_unauthenticated(w.identity.validate(&t.token)));
    reopened.validate(&t.token).expect("not yet refreshed");
    reopened.refresh().await.expect("refresh");
    assert!(is_unauthenticated(reopened.validate(&t.token)));
    let third = Identity::open(w.catalog.clone(), config()).await.expect("third");
    assert!(is_unauthenticated(third.validate(&t.token)));
}

#[tokio::test]
async fn background_refresh_picks_up_revocations() {
    let fast = IdentityConfig { refresh_interval: Duration::from_millis(200), ..config() };
    let w = world_with(fast.clone()).await;
    let other = Identity::open(w.catalog.clone(), fast).await.expect("other");
    let t = w.identity.authenticate(password_method("admin", &w.admin_password), project("admin")).await.expect("login");
    other.validate(&t.token).expect("valid");
    w.identity.revoke(&t.token).await.expect("revoke");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(is_unauthenticated(other.validate(&t.token)));
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid() {
    let w = world().await;
    let before = w.identity.authenticate(password_method("admin", &w.admin_password), project("admin")).await.expect("login");
    let new_key = w.identity.rotate_token_key().await.expect("rotate");
    assert_ne!(key_id_of(&before.token), new_key);
    let after = w.identity.authenticate(password_method("admin", &w.admin_password), project("admin")).await.expect("login");
    assert_eq!(key_id_of(&after.token), new_key);
    w.identity.validate(&before.token).expect("old token still valid");
    w.identity.validate(&after.token).expect("new token valid");

    // Another process that has not refreshed yet keeps signing with what it
    // knows; after a refresh it verifies tokens signed with the new key.
    let other = Identity::open(w.catalog.clone(), config()).await.expect("other");
    other.validate(&after.token).expect("loaded at open");
    assert_eq!(w.catalog.list_signing_keys("token-hmac").await.expect("keys").len(), 2);
}

#[tokio::test]
async fn rotated_key_signs_only_after_activation_delay() {
    let delayed = IdentityConfig { key_activation_delay: Duration::from_secs(120), ..config() };
    let w = world_with(delayed).await;
    let first = w.identity.authenticate(password_method("admin", &w.admin_password), ScopeRequest::Unscoped).await.expect("login");
    let new_key = w.identity.rotate_token_key().await.expect("rotate");
    let second = w.identity.authenticate(password_method("admin", &w.admin_password), ScopeRequest::Unscoped).await.expect("login");
    assert_eq!(key_id_of(&second.token), key_id_of(&first.token));
    assert_ne!(key_id_of(&second.token), new_key);
}

#[tokio::test]
async fn application_credentials() {
    let w = world().await;
    let (alice_id, demo_id) = with_alice(&w).await;
    let alice = w.identity.authenticate(password_method("alice", "alice-pw"), project("demo")).await.expect("login").principal;

    let new = |name: &str| NewAppCredential {
        name: name.into(),
        description: "ci".into(),
        secret: None,
        expires_at: None,
        roles: None,
        unrestricted: false,
    };
    let (credential, secret) = w.identity.create_app_credential(&alice, new("ci")).await.expect("create");
    assert_eq!(credential.project_id, demo_id);
    assert_eq!(credential.roles, ["member", "reader"]);
    assert!(secret.len() >= 64);
    assert!(!credential.secret_hash.contains(&secret));
    assert!(matches!(w.identity.create_app_credential(&alice, new("ci")).await, Err(IdentityError::Conflict(_))));

    // Roles beyond the token's are refused.
    let too_much = NewAppCredential { roles: Some(vec![RoleRef::Name("admin".into())]), ..new("admin-ish") };
    assert!(matches!(w.identity.create_app_credential(&alice, too_much).await, Err(IdentityError::BadRequest(_))));
    let reader_only =
        NewAppCredential { roles: Some(vec![RoleRef::Name("reader".into())]), secret: Some("my-own-secret".into()), ..new("ro") };
    let (ro, ro_secret) = w.identity.create_app_credential(&alice, reader_only).await.expect("reader credential");
    assert_eq!(ro_secret, "my-own-secret");

    // Auth by id and by name + user.
    let by_id =
        AuthMethod::ApplicationCredential { credential: AppCredentialRef::Id(credential.id.clone()), secret: secret.clone().into() };
    let t = w.identity.authenticate(by_id, ScopeRequest::Default).await.expect("by id");
    assert_eq!(t.principal.methods, ["application_credential"]);
    assert_eq!(t.principal.app_credential_id.as_deref(), Some(credential.id.as_str()));
    assert_eq!(t.principal.project_id(), Some(demo_id.as_str()));
    let by_name = AuthMethod::ApplicationCredential {
        credential: AppCredentialRef::Name { name: "ro".into(), user: UserRef::Id(alice_id.clone()) },
        secret: ro_secret.into(),
    };
    let ro_token = w.identity.authenticate(by_name, ScopeRequest::Default).await.expect("by name");
    assert_eq!(ro_token.principal.roles, ["reader"]);

    // Wrong secret, foreign scope, re-scoping, and a restricted credential
    // creating another are all refused.
    let wrong = AuthMethod::ApplicationCredential { credential: AppCredentialRef::Id(credential.id.clone()), secret: "nope".into() };
    assert!(is_unauthenticated(w.identity.authenticate(wrong, ScopeRequest::Default).await));
    let foreign =
        AuthMethod::ApplicationCredential { credential: AppCredentialRef::Id(credential.id.clone()), secret: secret.clone().into() };
    assert!(is_unauthenticated(w.identity.authenticate(foreign, project("admin")).await));
    assert!(is_unauthenticated(w.identity.authenticate(AuthMethod::Token { token: t.token.clone() }, project("demo")).await));
    assert!(matches!(w.identity.create_app_credential(&t.principal, new("nested")).await, Err(IdentityError::Forbidden(_))));

    // Deleting the credential revokes its tokens.
    assert_eq!(w.identity.list_app_credentials(&alice_id).await.expect("list").len(), 2);
    w.identity.delete_app_credential(&credential.id).await.expect("delete");
    assert!(is_unauthenticated(w.identity.validate(&t.token)));
    w.identity.validate(&ro_token.token).expect("other credential's token unaffected");
    assert!(matches!(w.identity.delete_app_credential(&credential.id).await, Err(IdentityError::NotFound(_))));
    let _ = ro;
}

#[tokio::test]
async fn access_keys() {
    let w = world().await;
    let (alice_id, demo_id) = with_alice(&w).await;
    let key = w.identity.create_access_key(&alice_id, Some(&demo_id), "huawei").await.expect("create");
    assert_eq!(key.id.len(), 20);
    assert!(key.id.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    assert_eq!(key.secret.len(), 40);
    let p: Principal = w.identity.authenticate_access_key(&key.id, &key.secret).await.expect("auth");
    assert_eq!(p.project_id(), Some(demo_id.as_str()));
    assert_eq!(p.roles, ["member", "reader"]);
    let token = w.identity.mint_token(&p).expect("mint");
    assert_eq!(w.identity.validate(&token).expect("valid"), p);
    assert!(is_unauthenticated(w.identity.authenticate_access_key(&key.id, "wrong").await));
    assert!(is_unauthenticated(w.identity.authenticate_access_key("NOSUCHKEY", &key.secret).await));
    assert_eq!(w.identity.access_key(&key.id).await.expect("lookup").map(|k| k.secret), Some(key.secret.clone()));

    // Without a project the key uses the user's default project, and fails without one.
    let unbound = w.identity.create_access_key(&alice_id, None, "").await.expect("create");
    assert!(is_unauthenticated(w.identity.authenticate_access_key(&unbound.id, &unbound.secret).await));
    w.identity
        .update_user(&alice_id, UserUpdate { default_project_id: Some(Some(demo_id.clone())), ..Default::default() })
        .await
        .expect("update");
    w.identity.authenticate_access_key(&unbound.id, &unbound.secret).await.expect("default project");
    assert_eq!(w.identity.list_access_keys(&alice_id).await.expect("list").len(), 2);
    w.identity.delete_access_key(&unbound.id).await.expect("delete");
    assert!(is_unauthenticated(w.identity.authenticate_access_key(&unbound.id, &unbound.secret).await));
}

#[tokio::test]
async fn admin_changes_revoke_affected_tokens() {
    let w = world().await;
    let (alice_id, demo_id) = with_alice(&w).await;
    let login = || async { w.identity.authenticate(password_method("alice", "alice-pw"), project("demo")).await.expect("login") };
    let admin = w.identity.authenticate(password_method("admin", &w.admin_password), project("admin")).await.expect("admin");

    // Password change revokes alice's tokens, not the admin's.
    let t = login().await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    w.identity.change_password(&alice_id, &"alice-pw".into(), "alice-pw2".into()).await.expect("change");
    assert!(is_unauthenticated(w.identity.validate(&t.token)));
    w.identity.validate(&admin.token).expect("admin unaffected");
    assert!(is_unauthenticated(w.identity.change_password(&alice_id, &"wrong".into(), "x".into()).await));
    let t = w.identity.authenticate(password_method("alice", "alice-pw2"), project("demo")).await.expect("new password");

    // Removing the role revokes tokens on that project.
    let member = w.identity.find_role(&RoleRef::Name("member".into())).await.expect("lookup").expect("member");
    assert!(w.identity.check_role(&alice_id, &demo_id, &member.id).await.expect("check"));
    w.identity.revoke_role(&alice_id, &demo_id, &member.id).await.expect("revoke role");
    assert!(is_unauthenticated(w.identity.validate(&t.token)));
    assert!(!w.identity.check_role(&alice_id, &demo_id, &member.id).await.expect("check"));
    assert!(matches!(w.identity.revoke_role(&alice_id, &demo_id, &member.id).await, Err(IdentityError::NotFound(_))));
    assert!(matches!(w.identity.grant_role(&alice_id, &demo_id, "no-such-role").await, Err(IdentityError::NotFound(_))));

    // Deleting the project revokes its tokens and its assignments.
    let admin_role = w.identity.find_role(&RoleRef::Name("admin".into())).await.expect("lookup").expect("admin");
    w.identity.grant_role(&alice_id, &demo_id, &admin_role.id).await.expect("grant");
    let t = w.identity.authenticate(password_method("alice", "alice-pw2"), project("demo")).await.expect("login");
    w.identity.delete_project(&demo_id).await.expect("delete");
    assert!(is_unauthenticated(w.identity.validate(&t.token)));
    assert!(w.identity.user_projects(&alice_id).await.expect("projects").is_empty());

    // Deleting the user revokes every token it had.
    let admin_project = w
        .identity
        .lookup_project(&ProjectRef::Name { name: "admin".into(), domain: DomainRef::Id("default".into()) })
        .await
        .expect("lookup")
        .expect("admin project");
    w.identity.grant_role(&alice_id, &admin_project.id, &member.id).await.expect("grant");
    let t = w.identity.authenticate(password_method("alice", "alice-pw2"), project("admin")).await.expect("login");
    w.identity.delete_user(&alice_id).await.expect("delete user");
    assert!(is_unauthenticated(w.identity.validate(&t.token)));
    assert!(matches!(w.identity.delete_user(&alice_id).await, Err(IdentityError::NotFound(_))));
}

#[tokio::test]
async fn admin_validation_and_effective_assignments() {
    let w = world().await;
    let (alice_id, demo_id) = with_alice(&w).await;
    let dup = NewProject { name: "demo".into(), domain_id: "default".into(), description: String::new(), enabled: true };
    assert!(matches!(w.identity.create_project(dup.clone()).await, Err(IdentityError::Conflict(_))));
    assert!(matches!(
        w.identity.create_project(NewProject { domain_id: "nope".into(), ..dup.clone() }).await,
        Err(IdentityError::NotFound(_))
    ));
    assert!(matches!(w.identity.create_project(NewProject { name: " ".into(), ..dup }).await, Err(IdentityError::BadRequest(_))));
    let dup_user = NewUser { name: "alice".into(), domain_id: "default".into(), password: None, enabled: true, default_project_id: None };
    assert!(matches!(w.identity.create_user(dup_user).await, Err(IdentityError::Conflict(_))));
    assert!(matches!(w.identity.create_role("member").await, Err(IdentityError::Conflict(_))));
    let long = NewUser {
        name: "bob".into(),
        domain_id: "default".into(),
        password: Some("x".repeat(5000).into()),
        enabled: true,
        default_project_id: None,
    };
    assert!(matches!(w.identity.create_user(long).await, Err(IdentityError::BadRequest(_))));
    // A user without a password cannot log in with one.
    let nopw = NewUser { name: "svc".into(), domain_id: "default".into(), password: None, enabled: true, default_project_id: None };
    w.identity.create_user(nopw).await.expect("create");
    assert!(is_unauthenticated(w.identity.authenticate(password_method("svc", ""), ScopeRequest::Unscoped).await));

    let admin_role = w.identity.find_role(&RoleRef::Name("admin".into())).await.expect("lookup").expect("admin");
    w.identity.grant_role(&alice_id, &demo_id, &admin_role.id).await.expect("grant");
    w.identity.grant_role(&alice_id, &demo_id, &admin_role.id).await.expect("grant twice is fine");
    let filter = AssignmentFilter { user_id: Some(alice_id.clone()), target_id: Some(demo_id.clone()), ..Default::default() };
    let direct = w.identity.list_role_assignments(&filter).await.expect("direct");
    assert_eq!(direct.len(), 2);
    let effective = w.identity.list_role_assignments(&AssignmentFilter { effective: true, ..filter.clone() }).await.expect("effective");
    let names: Vec<String> = {
        let roles = w.identity.list_roles(None).await.expect("roles");
        effective.iter().map(|e| roles.iter().find(|r| r.id == e.role_id).expect("role").name.clone()).collect()
    };
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, ["admin", "member", "reader"], "{effective:?}");
    assert!(effective[2].implied_by.is_some());
    let reader = w.identity.find_role(&RoleRef::Name("reader".into())).await.expect("lookup").expect("reader");
    let only_reader = AssignmentFilter { effective: true, role_id: Some(reader.id.clone()), ..filter };
    assert_eq!(w.identity.list_role_assignments(&only_reader).await.expect("filtered").len(), 1);
}
