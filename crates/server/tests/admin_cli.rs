//! `imagery admin`: access keys, including ones that carry a public key for
//! JWT-signing clients, made straight on the catalog.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagery_server::admin::{run, AdminCommand};
use imagery_server::config::Config;

const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";

#[tokio::test]
async fn access_key_with_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    let pem_path = dir.path().join("sa.pub");
    std::fs::write(&pem_path, PEM).unwrap();
    let command = |public_key| AdminCommand::AccessKeyCreate {
        user: "admin".into(),
        project: Some("admin".into()),
        description: "sa".into(),
        public_key,
    };
    run(&config, command(Some(pem_path.clone()))).await.expect("key with a public key");
    std::fs::write(&pem_path, "not a key").unwrap();
    assert!(run(&config, command(Some(pem_path))).await.is_err(), "a file that is not a PEM public key is refused");
    let catalog = imagery_catalog::open(&config.database_url()).await.unwrap();
    let admin = catalog.find_user_by_name("default", "admin").await.unwrap().expect("admin");
    let keys = catalog.list_access_keys(&admin.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].public_key.as_deref(), Some(PEM.trim()));
    assert!(keys[0].project_id.is_some());
}
