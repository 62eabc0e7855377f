//! A schema of its own on the PostgreSQL test server, for tests that run real
//! servers on PostgreSQL (several nodes on one catalog).

/// The variable naming the PostgreSQL test database (`scripts/postgres-test-server.sh`).
pub const POSTGRES_URL_VAR: &str = "IMAGERY_TEST_POSTGRES_URL";

/// A catalog URL on a fresh schema, or `None` when no test server is configured.
/// Under CI a missing server is a failure: PostgreSQL is never silently untested.
pub async fn fresh_schema_url() -> Option<String> {
    let admin = match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ if std::env::var_os("CI").is_some() => panic!("{POSTGRES_URL_VAR} is not set, but CI is: these tests need PostgreSQL"),
        _ => {
            eprintln!("SKIPPING a PostgreSQL test: {POSTGRES_URL_VAR} is not set");
            return None;
        }
    };
    let schema = format!("imagery_test_{}", uuid_like());
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.expect("connect to the PostgreSQL test server");
    let task = tokio::spawn(connection);
    client.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
    drop(client);
    let _ = task.await;
    let sep = if admin.contains('?') { '&' } else { '?' };
    Some(format!("{admin}{sep}options=-c%20search_path%3D{schema}"))
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{:x}{:x}", nanos, std::process::id())
}
