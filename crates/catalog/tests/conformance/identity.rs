//! Identity records: domains, projects, users, roles and assignments, access keys,
//! application credentials, signing keys and revocations.

use imagery_catalog::CatalogError;
use imagery_core::identity::{AccessKey, ApplicationCredential, Domain, Project, Revocation, Role, RoleAssignment, SigningKey, User};

use crate::support::{at, Ctx};

fn domain(id: &str, name: &str) -> Domain {
    Domain { id: id.into(), name: name.into(), description: format!("{name} domain"), enabled: true }
}

fn project(id: &str, name: &str, domain: &str) -> Project {
    Project { id: id.into(), name: name.into(), domain_id: domain.into(), description: String::new(), enabled: true }
}

fn user(id: &str, name: &str, domain: &str) -> User {
    User {
        id: id.into(),
        name: name.into(),
        domain_id: domain.into(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        enabled: true,
        default_project_id: Some("p1".into()),
        created_at: at(3),
    }
}

fn grant(u: &str, p: &str, r: &str) -> RoleAssignment {
    RoleAssignment { user_id: u.into(), project_id: p.into(), role_id: r.into() }
}

fn access_key(id: &str, user: &str, n: i64) -> AccessKey {
    AccessKey {
        id: id.into(),
        secret: format!("secret-{id}"),
        user_id: user.into(),
        project_id: (n % 2 == 0).then(|| "p1".to_string()),
        description: "ci".into(),
        created_at: at(n),
        public_key: (n % 2 == 1).then(|| "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".to_string()),
    }
}

fn app_credential(id: &str, name: &str, user: &str, n: i64) -> ApplicationCredential {
    ApplicationCredential {
        id: id.into(),
        name: name.into(),
        user_id: user.into(),
        project_id: "p1".into(),
        description: String::new(),
        secret_hash: "$argon2id$hash".into(),
        roles: vec!["member".into(), "reader".into()],
        expires_at: (n % 2 == 0).then(|| at(1_000_000)),
        unrestricted: n % 2 == 1,
        created_at: at(n),
    }
}

pub async fn domains(ctx: Ctx) {
    let c = &ctx.catalog;
    let (d1, d2) = (domain("default", "Default"), domain("d2", "Other"));
    c.insert_domain(&d2).await.unwrap();
    c.insert_domain(&d1).await.unwrap();
    assert!(matches!(c.insert_domain(&d1).await, Err(CatalogError::Duplicate(_))));
    assert!(matches!(c.insert_domain(&domain("d3", "Default")).await, Err(CatalogError::Duplicate(_))), "names are unique");
    assert_eq!(c.get_domain("default").await.unwrap(), Some(d1.clone()));
    assert_eq!(c.get_domain("nope").await.unwrap(), None);
    assert_eq!(c.find_domain_by_name("Other").await.unwrap(), Some(d2.clone()));
    assert_eq!(c.find_domain_by_name("other").await.unwrap(), None);
    assert_eq!(c.list_domains().await.unwrap(), vec![d2, d1]);
}

pub async fn projects(ctx: Ctx) {
    let c = &ctx.catalog;
    let (p1, p2, p3) = (project("p1", "alpha", "default"), project("p2", "beta", "default"), project("p3", "alpha", "d2"));
    for p in [&p2, &p1, &p3] {
        c.insert_project(p).await.unwrap();
    }
    assert!(matches!(c.insert_project(&p1).await, Err(CatalogError::Duplicate(_))));
    assert!(matches!(c.insert_project(&project("p4", "beta", "default")).await, Err(CatalogError::Duplicate(_))));
    assert_eq!(c.get_project("p1").await.unwrap(), Some(p1.clone()));
    assert_eq!(c.find_project_by_name("d2", "alpha").await.unwrap(), Some(p3.clone()));
    assert_eq!(c.find_project_by_name("d3", "alpha").await.unwrap(), None);
    assert_eq!(c.list_projects().await.unwrap(), vec![p1.clone(), p2.clone(), p3.clone()]);

    let renamed = Project { name: "gamma".into(), description: "changed".into(), enabled: false, ..p1.clone() };
    c.update_project(&renamed).await.unwrap();
    assert_eq!(c.get_project("p1").await.unwrap(), Some(renamed.clone()));
    assert_eq!(c.find_project_by_name("default", "alpha").await.unwrap(), None);
    let clash = Project { name: "beta".into(), ..renamed.clone() };
    assert!(matches!(c.update_project(&clash).await, Err(CatalogError::Duplicate(_))));
    assert!(matches!(c.update_project(&project("p9", "x", "default")).await, Err(CatalogError::Missing(_))));

    c.grant_role(&grant("u1", "p1", "r1")).await.unwrap();
    c.grant_role(&grant("u1", "p2", "r1")).await.unwrap();
    assert!(c.delete_project("p1").await.unwrap());
    assert!(!c.delete_project("p1").await.unwrap());
    assert_eq!(c.get_project("p1").await.unwrap(), None);
    assert_eq!(c.list_role_assignments(None, None, None).await.unwrap(), vec![grant("u1", "p2", "r1")], "assignments go with the project");
}

pub async fn users(ctx: Ctx) {
    let c = &ctx.catalog;
    let (u1, u2) = (user("u1", "alice", "default"), user("u2", "bob", "default"));
    let mut u3 = user("u3", "alice", "d2");
    u3.password_hash = None;
    u3.default_project_id = None;
    for u in [&u1, &u2, &u3] {
        c.insert_user(u).await.unwrap();
    }
    assert!(matches!(c.insert_user(&u1).await, Err(CatalogError::Duplicate(_))));
    assert!(matches!(c.insert_user(&user("u4", "bob", "default")).await, Err(CatalogError::Duplicate(_))));
    assert_eq!(c.get_user("u3").await.unwrap(), Some(u3.clone()));
    assert_eq!(c.find_user_by_name("default", "alice").await.unwrap(), Some(u1.clone()));
    assert_eq!(c.find_user_by_name("d2", "bob").await.unwrap(), None);
    assert_eq!(c.list_users().await.unwrap(), vec![u1.clone(), u2.clone(), u3.clone()]);

    let changed = User { password_hash: None, enabled: false, default_project_id: None, name: "alice2".into(), ..u1.clone() };
    c.update_user(&changed).await.unwrap();
    assert_eq!(c.get_user("u1").await.unwrap(), Some(changed.clone()));
    assert!(matches!(c.update_user(&User { name: "bob".into(), ..changed.clone() }).await, Err(CatalogError::Duplicate(_))));
    assert!(matches!(c.update_user(&user("u9", "x", "default")).await, Err(CatalogError::Missing(_))));

    // Deleting a user takes its assignments, access keys and application credentials.
    c.grant_role(&grant("u1", "p1", "r1")).await.unwrap();
    c.grant_role(&grant("u2", "p1", "r1")).await.unwrap();
    c.insert_access_key(&access_key("ak1", "u1", 1)).await.unwrap();
    c.insert_access_key(&access_key("ak2", "u2", 2)).await.unwrap();
    c.insert_app_credential(&app_credential("ac1", "ci", "u1", 1)).await.unwrap();
    c.insert_app_credential(&app_credential("ac2", "ci", "u2", 2)).await.unwrap();
    assert!(c.delete_user("u1").await.unwrap());
    assert!(!c.delete_user("u1").await.unwrap());
    assert_eq!(c.get_user("u1").await.unwrap(), None);
    assert_eq!(c.list_role_assignments(None, None, None).await.unwrap(), vec![grant("u2", "p1", "r1")]);
    assert_eq!(c.get_access_key("ak1").await.unwrap(), None);
    assert_eq!(c.get_app_credential("ac1").await.unwrap(), None);
    assert!(c.get_access_key("ak2").await.unwrap().is_some());
    assert!(c.get_app_credential("ac2").await.unwrap().is_some());
}

pub async fn roles_and_assignments(ctx: Ctx) {
    let c = &ctx.catalog;
    let (admin, member) = (Role { id: "r-admin".into(), name: "admin".into() }, Role { id: "r-member".into(), name: "member".into() });
    c.insert_role(&member).await.unwrap();
    c.insert_role(&admin).await.unwrap();
    assert!(matches!(c.insert_role(&admin).await, Err(CatalogError::Duplicate(_))));
    assert!(matches!(c.insert_role(&Role { id: "r3".into(), name: "admin".into() }).await, Err(CatalogError::Duplicate(_))));
    assert_eq!(c.get_role("r-admin").await.unwrap(), Some(admin.clone()));
    assert_eq!(c.find_role_by_name("member").await.unwrap(), Some(member.clone()));
    assert_eq!(c.find_role_by_name("reader").await.unwrap(), None);
    assert_eq!(c.list_roles().await.unwrap(), vec![admin, member]);

    let all = [grant("u1", "p1", "r-admin"), grant("u1", "p1", "r-member"), grant("u1", "p2", "r-member"), grant("u2", "p1", "r-member")];
    for a in &all {
        c.grant_role(a).await.unwrap();
        c.grant_role(a).await.unwrap();
    }
    assert_eq!(c.list_role_assignments(None, None, None).await.unwrap(), all.to_vec(), "granting twice is idempotent");
    let pick = |idx: &[usize]| idx.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
    assert_eq!(c.list_role_assignments(Some("u1"), None, None).await.unwrap(), pick(&[0, 1, 2]));
    assert_eq!(c.list_role_assignments(None, Some("p1"), None).await.unwrap(), pick(&[0, 1, 3]));
    assert_eq!(c.list_role_assignments(None, None, Some("r-member")).await.unwrap(), pick(&[1, 2, 3]));
    assert_eq!(c.list_role_assignments(Some("u1"), Some("p1"), None).await.unwrap(), pick(&[0, 1]));
    assert_eq!(c.list_role_assignments(Some("u1"), None, Some("r-member")).await.unwrap(), pick(&[1, 2]));
    assert_eq!(c.list_role_assignments(None, Some("p1"), Some("r-member")).await.unwrap(), pick(&[1, 3]));
    assert_eq!(c.list_role_assignments(Some("u2"), Some("p1"), Some("r-member")).await.unwrap(), pick(&[3]));
    assert!(c.list_role_assignments(Some("u2"), Some("p2"), None).await.unwrap().is_empty());
    assert!(c.list_role_assignments(Some("x' OR '1'='1"), None, None).await.unwrap().is_empty());

    assert!(c.revoke_role(&all[0]).await.unwrap());
    assert!(!c.revoke_role(&all[0]).await.unwrap());
    assert_eq!(c.list_role_assignments(None, None, None).await.unwrap(), pick(&[1, 2, 3]));
}

pub async fn access_keys(ctx: Ctx) {
    let c = &ctx.catalog;
    let keys = [access_key("k-b", "u1", 2), access_key("k-a", "u1", 1), access_key("k-c", "u1", 2), access_key("k-d", "u2", 0)];
    for k in &keys {
        c.insert_access_key(k).await.unwrap();
    }
    assert!(matches!(c.insert_access_key(&keys[0]).await, Err(CatalogError::Duplicate(_))));
    assert_eq!(c.get_access_key("k-a").await.unwrap(), Some(keys[1].clone()));
    assert_eq!(c.get_access_key("k-b").await.unwrap(), Some(keys[0].clone()));
    assert_eq!(c.get_access_key("nope").await.unwrap(), None);
    assert_eq!(c.list_access_keys("u1").await.unwrap(), vec![keys[1].clone(), keys[0].clone(), keys[2].clone()]);
    assert!(c.list_access_keys("u3").await.unwrap().is_empty());
    assert!(c.delete_access_key("k-a").await.unwrap());
    assert!(!c.delete_access_key("k-a").await.unwrap());
    assert_eq!(c.list_access_keys("u1").await.unwrap().len(), 2);

    // Replacing a secret (sealing it on upgrade) only happens over the expected value.
    assert!(!c.replace_access_key_secret("k-b", "not-the-secret", "sealed").await.unwrap());
    assert!(c.replace_access_key_secret("k-b", "secret-k-b", "sealed").await.unwrap());
    assert!(!c.replace_access_key_secret("k-b", "secret-k-b", "again").await.unwrap(), "a second node finds it done");
    assert!(!c.replace_access_key_secret("nope", "x", "y").await.unwrap());
    let replaced = c.get_access_key("k-b").await.unwrap().unwrap();
    assert_eq!(replaced, AccessKey { secret: "sealed".into(), ..keys[0].clone() });
}

pub async fn app_credentials(ctx: Ctx) {
    let c = &ctx.catalog;
    let mut empty_roles = app_credential("ac3", "deploy", "u1", 3);
    empty_roles.roles = vec![];
    let creds =
        [app_credential("ac1", "ci", "u1", 2), app_credential("ac2", "backup", "u1", 1), empty_roles, app_credential("ac4", "ci", "u2", 0)];
    for a in &creds {
        c.insert_app_credential(a).await.unwrap();
    }
    assert!(matches!(c.insert_app_credential(&creds[0]).await, Err(CatalogError::Duplicate(_))));
    assert!(
        matches!(c.insert_app_credential(&app_credential("ac9", "ci", "u1", 9)).await, Err(CatalogError::Duplicate(_))),
        "names are unique per user"
    );
    for a in &creds {
        assert_eq!(c.get_app_credential(&a.id).await.unwrap().as_ref(), Some(a));
    }
    assert_eq!(c.list_app_credentials("u1").await.unwrap(), vec![creds[1].clone(), creds[0].clone(), creds[2].clone()]);
    assert!(c.delete_app_credential("ac1").await.unwrap());
    assert!(!c.delete_app_credential("ac1").await.unwrap());
    assert_eq!(c.get_app_credential("ac1").await.unwrap(), None);
}

pub async fn signing_keys_and_revocations(ctx: Ctx) {
    let c = &ctx.catalog;
    let key = |id: &str, kind: &str, n: i64| SigningKey {
        id: id.into(),
        kind: kind.into(),
        material: format!("material-{id}"),
        created_at: at(n),
    };
    let keys = [key("k1", "fernet", 1), key("k2", "fernet", 3), key("k3", "fernet", 3), key("k4", "jwt", 2)];
    for k in &keys {
        c.insert_signing_key(k).await.unwrap();
    }
    assert!(matches!(c.insert_signing_key(&keys[0]).await, Err(CatalogError::Duplicate(_))));
    assert_eq!(c.list_signing_keys("fernet").await.unwrap(), vec![keys[2].clone(), keys[1].clone(), keys[0].clone()], "newest first");
    assert_eq!(c.list_signing_keys("jwt").await.unwrap(), vec![keys[3].clone()]);
    assert!(c.list_signing_keys("other").await.unwrap().is_empty());
    assert!(c.delete_signing_key("k2").await.unwrap());
    assert!(!c.delete_signing_key("k2").await.unwrap());
    assert_eq!(c.list_signing_keys("fernet").await.unwrap().len(), 2);
    assert!(!c.replace_signing_key_material("k1", "other", "sealed").await.unwrap());
    assert!(c.replace_signing_key_material("k1", "material-k1", "sealed").await.unwrap());
    assert!(!c.replace_signing_key_material("k1", "material-k1", "again").await.unwrap());
    let fernet = c.list_signing_keys("fernet").await.unwrap();
    assert_eq!(fernet, vec![keys[2].clone(), SigningKey { material: "sealed".into(), ..keys[0].clone() }]);

    let rev = |id: &str, n: i64| Revocation { audit_id: id.into(), expires_at: at(n) };
    for r in [rev("b", 100), rev("a", 200), rev("c", 50), rev("d", 99)] {
        c.insert_revocation(&r).await.unwrap();
    }
    assert!(matches!(c.insert_revocation(&rev("a", 300)).await, Err(CatalogError::Duplicate(_))));
    assert_eq!(c.list_revocations(at(99)).await.unwrap(), vec![rev("a", 200), rev("b", 100)], "expired at `now` are gone");
    assert_eq!(c.list_revocations(at(0)).await.unwrap().len(), 4);
    assert!(c.list_revocations(at(200)).await.unwrap().is_empty());
}
