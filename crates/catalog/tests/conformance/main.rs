//! The catalog conformance suite: every case below runs against SQLite (a file in a
//! temporary directory, and in memory) and against PostgreSQL when
//! `IMAGERY_TEST_POSTGRES_URL` names a database (see `support::run`; under `CI` the
//! PostgreSQL cases fail instead of skipping when it is unset).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cluster;
mod identity;
mod images;
mod listing;
mod records;
mod support;

/// Declares one test per case and backend: `sqlite_file::case`,
/// `sqlite_memory::case`, `postgres::case`.
macro_rules! conformance {
    ($($module:ident :: $case:ident),* $(,)?) => {
        conformance!(@backend sqlite_file, SqliteFile, $($module::$case),*);
        conformance!(@backend sqlite_memory, SqliteMemory, $($module::$case),*);
        conformance!(@backend postgres, Postgres, $($module::$case),*);
    };
    (@backend $name:ident, $backend:ident, $($module:ident :: $case:ident),*) => {
        mod $name {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::support::run(crate::support::Backend::$backend, crate::$module::$case).await;
                }
            )*
        }
    };
}

conformance!(
    images::image_round_trip,
    images::image_duplicate_id,
    images::image_update_replaces_row,
    images::image_concurrent_updates_one_wins,
    images::usage_and_blob_references,
    images::reopen_is_idempotent_and_concurrent,
    images::killed_images_become_failed_imports,
    listing::scope_regular_user_default_view,
    listing::scope_regular_user_by_visibility,
    listing::scope_projectless_user,
    listing::scope_admin,
    listing::scope_hidden_deleted_killed,
    listing::filters_text_in,
    listing::filters_numeric_and_time,
    listing::filters_protected_tags_properties,
    listing::sort_by_every_key_both_directions,
    listing::keyset_pagination_walks_every_row,
    listing::pagination_with_filters_and_foreign_markers,
    listing::list_limits_and_markers,
    listing::listed_images_are_complete,
    listing::pagination_of_a_projects_view_and_driving_filters,
    records::members_crud,
    records::alt_keys,
    records::operations,
    records::blob_leases,
    cluster::leases,
    cluster::jobs,
    cluster::jobs_claimed_once,
    cluster::job_listing,
    cluster::replay_nonces,
    cluster::change_announcements,
    identity::domains,
    identity::projects,
    identity::users,
    identity::roles_and_assignments,
    identity::access_keys,
    identity::app_credentials,
    identity::signing_keys_and_revocations,
);
