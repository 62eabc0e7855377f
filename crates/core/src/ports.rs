//! The ports the service drives: the catalog (image rows, members, alternate keys,
//! operations, identity records) and the blob store (image bytes). Implementations
//! live in `imagery-catalog` and `imagery-store`; tests may use any implementation.

use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use thiserror::Error;
use uuid::Uuid;

use crate::cluster::{Job, JobOutcome, JobState, Lease, Seen};
use crate::identity::{AccessKey, ApplicationCredential, Domain, Project, Revocation, Role, RoleAssignment, SigningKey, User};
use crate::image::Image;
use crate::member::Member;
use crate::operation::OperationRecord;
use crate::query::ListQuery;
use crate::time::Timestamp;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CatalogError {
    /// A unique key already exists (duplicate id, member, alternate key, name).
    #[error("already exists: {0}")]
    Duplicate(String),
    /// An optimistic update lost a race: the stored version differs.
    #[error("the record changed concurrently")]
    Stale,
    /// The row to update or delete does not exist.
    #[error("not found: {0}")]
    Missing(String),
    #[error("catalog backend error: {0}")]
    Backend(String),
}

pub type CatalogResult<T> = Result<T, CatalogError>;

/// What a project currently consumes, for quotas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Images not deleted.
    pub image_count: i64,
    /// Sum of `size` of images holding data (active, deactivated, saving).
    pub stored_bytes: i64,
    /// Sum of `size` of images with staged data (`uploading`, `importing`).
    pub staged_bytes: i64,
}

#[async_trait]
pub trait ImageCatalog: Send + Sync + 'static {
    /// Insert a new image (its `version` is stored as given). Duplicate id → `Duplicate`.
    async fn insert_image(&self, image: &Image) -> CatalogResult<()>;
    /// Any image row, deleted ones included.
    async fn get_image(&self, id: Uuid) -> CatalogResult<Option<Image>>;
    /// Replace the stored row (tags and properties included) if its version still
    /// equals `image.version`; returns the image with the bumped version.
    /// Different version → `Stale`; no row → `Missing`.
    async fn update_image(&self, image: &Image) -> CatalogResult<Image>;
    /// One page of images, in `query.effective_sort()` order, after `query.marker`.
    async fn list_images(&self, query: &ListQuery) -> CatalogResult<Vec<Image>>;
    async fn usage(&self, project_id: &str) -> CatalogResult<Usage>;
    /// Is any non-deleted image holding this blob?
    async fn blob_in_use(&self, blob_key: &str) -> CatalogResult<bool>;
    /// Before bytes are published under `blob_key`: take (or refresh) a claim at
    /// `now`, unless a deletion of that blob is under way (and younger than
    /// `stale_before`, after which it is presumed dead) → `false`, retry later.
    async fn claim_blob(&self, blob_key: &str, now: Timestamp, stale_before: Timestamp) -> CatalogResult<bool>;
    /// Decide, atomically, to delete `blob_key`: only if no image references it and
    /// no claim is at or after `cutoff`. `true` → the caller deletes the bytes, then
    /// calls `end_blob_deletion`; claims wait meanwhile.
    async fn begin_blob_deletion(&self, blob_key: &str, cutoff: Timestamp, now: Timestamp) -> CatalogResult<bool>;
    async fn end_blob_deletion(&self, blob_key: &str) -> CatalogResult<()>;

    async fn insert_member(&self, member: &Member) -> CatalogResult<()>;
    async fn get_member(&self, image_id: Uuid, member_id: &str) -> CatalogResult<Option<Member>>;
    async fn list_members(&self, image_id: Uuid) -> CatalogResult<Vec<Member>>;
    async fn update_member(&self, member: &Member) -> CatalogResult<()>;
    async fn delete_member(&self, image_id: Uuid, member_id: &str) -> CatalogResult<bool>;

    /// Bind an alternate key (a Yandex id, an Azure name) to a target id within a
    /// namespace; `(namespace, key)` is unique → `Duplicate`.
    async fn insert_alt_key(&self, namespace: &str, key: &str, target: &str) -> CatalogResult<()>;
    async fn find_alt_key(&self, namespace: &str, key: &str) -> CatalogResult<Option<String>>;
    /// The key bound to `target` in `namespace`, if any.
    async fn alt_key_of(&self, namespace: &str, target: &str) -> CatalogResult<Option<String>>;
    async fn delete_alt_key(&self, namespace: &str, key: &str) -> CatalogResult<bool>;
    /// Delete the key only while it is still bound to `target` (so that two nodes
    /// reclaiming a stale key cannot remove each other's fresh binding).
    async fn delete_alt_key_if(&self, namespace: &str, key: &str, target: &str) -> CatalogResult<bool>;
    /// Keys of a namespace starting with `prefix`, ordered by key, after `after`.
    async fn list_alt_keys(&self, namespace: &str, prefix: &str, after: Option<&str>, limit: usize)
        -> CatalogResult<Vec<(String, String)>>;

    async fn insert_operation(&self, op: &OperationRecord) -> CatalogResult<()>;
    async fn get_operation(&self, dialect: &str, id: &str) -> CatalogResult<Option<OperationRecord>>;
    async fn update_operation(&self, op: &OperationRecord) -> CatalogResult<()>;
    /// Operations on one target, newest first, after the operation id `after`.
    async fn list_operations(&self, dialect: &str, target: &str, after: Option<&str>, limit: usize) -> CatalogResult<Vec<OperationRecord>>;
    async fn find_operation_by_idempotency_key(&self, dialect: &str, project_id: &str, key: &str)
        -> CatalogResult<Option<OperationRecord>>;
}

#[async_trait]
pub trait IdentityCatalog: Send + Sync + 'static {
    async fn insert_domain(&self, d: &Domain) -> CatalogResult<()>;
    async fn get_domain(&self, id: &str) -> CatalogResult<Option<Domain>>;
    async fn find_domain_by_name(&self, name: &str) -> CatalogResult<Option<Domain>>;
    async fn list_domains(&self) -> CatalogResult<Vec<Domain>>;

    async fn insert_project(&self, p: &Project) -> CatalogResult<()>;
    async fn get_project(&self, id: &str) -> CatalogResult<Option<Project>>;
    async fn find_project_by_name(&self, domain_id: &str, name: &str) -> CatalogResult<Option<Project>>;
    async fn list_projects(&self) -> CatalogResult<Vec<Project>>;
    async fn update_project(&self, p: &Project) -> CatalogResult<()>;
    async fn delete_project(&self, id: &str) -> CatalogResult<bool>;

    async fn insert_user(&self, u: &User) -> CatalogResult<()>;
    async fn get_user(&self, id: &str) -> CatalogResult<Option<User>>;
    async fn find_user_by_name(&self, domain_id: &str, name: &str) -> CatalogResult<Option<User>>;
    async fn list_users(&self) -> CatalogResult<Vec<User>>;
    async fn update_user(&self, u: &User) -> CatalogResult<()>;
    /// Deletes the user with its role assignments, access keys and application credentials.
    async fn delete_user(&self, id: &str) -> CatalogResult<bool>;

    async fn insert_role(&self, r: &Role) -> CatalogResult<()>;
    async fn get_role(&self, id: &str) -> CatalogResult<Option<Role>>;
    async fn find_role_by_name(&self, name: &str) -> CatalogResult<Option<Role>>;
    async fn list_roles(&self) -> CatalogResult<Vec<Role>>;

    /// Idempotent: assigning twice is not an error.
    async fn grant_role(&self, a: &RoleAssignment) -> CatalogResult<()>;
    async fn revoke_role(&self, a: &RoleAssignment) -> CatalogResult<bool>;
    /// Assignments matching every given criterion.
    async fn list_role_assignments(
        &self,
        user_id: Option<&str>,
        project_id: Option<&str>,
        role_id: Option<&str>,
    ) -> CatalogResult<Vec<RoleAssignment>>;

    async fn insert_access_key(&self, k: &AccessKey) -> CatalogResult<()>;
    async fn get_access_key(&self, id: &str) -> CatalogResult<Option<AccessKey>>;
    async fn list_access_keys(&self, user_id: &str) -> CatalogResult<Vec<AccessKey>>;
    async fn delete_access_key(&self, id: &str) -> CatalogResult<bool>;
    /// Replace a key's stored secret if it is still `expected` (sealing a
    /// plaintext secret on upgrade; two nodes doing it at once is harmless).
    /// Returns whether the row was changed.
    async fn replace_access_key_secret(&self, id: &str, expected: &str, secret: &str) -> CatalogResult<bool>;

    async fn insert_app_credential(&self, c: &ApplicationCredential) -> CatalogResult<()>;
    async fn get_app_credential(&self, id: &str) -> CatalogResult<Option<ApplicationCredential>>;
    async fn list_app_credentials(&self, user_id: &str) -> CatalogResult<Vec<ApplicationCredential>>;
    async fn delete_app_credential(&self, id: &str) -> CatalogResult<bool>;

    async fn insert_signing_key(&self, k: &SigningKey) -> CatalogResult<()>;
    /// Keys of one kind, newest first.
    async fn list_signing_keys(&self, kind: &str) -> CatalogResult<Vec<SigningKey>>;
    async fn delete_signing_key(&self, id: &str) -> CatalogResult<bool>;
    /// Replace a signing key's stored material if it is still `expected`; as
    /// `replace_access_key_secret`.
    async fn replace_signing_key_material(&self, id: &str, expected: &str, material: &str) -> CatalogResult<bool>;

    async fn insert_revocation(&self, r: &Revocation) -> CatalogResult<()>;
    /// Revocations still relevant (not expired at `now`).
    async fn list_revocations(&self, now: Timestamp) -> CatalogResult<Vec<Revocation>>;
}

/// What several nodes coordinate through (see [`crate::cluster`]).
#[async_trait]
pub trait ClusterCatalog: Send + Sync + 'static {
    /// Take or renew the lease `name` for `holder` until `until`: granted when it
    /// is free, expired at `now`, or already `holder`'s. Returns whether it is held.
    async fn acquire_lease(&self, name: &str, holder: &str, now: Timestamp, until: Timestamp) -> CatalogResult<bool>;
    /// Give the lease up (only if `holder` still holds it).
    async fn release_lease(&self, name: &str, holder: &str) -> CatalogResult<()>;
    async fn get_lease(&self, name: &str) -> CatalogResult<Option<Lease>>;

    async fn insert_job(&self, job: &Job) -> CatalogResult<()>;
    async fn get_job(&self, id: Uuid) -> CatalogResult<Option<Job>>;
    /// Jobs of one image, oldest first.
    async fn list_jobs_for_image(&self, image_id: Uuid) -> CatalogResult<Vec<Job>>;
    /// Jobs of every owner in `created_at` order (newest first when `descending`),
    /// only those in `state` if given, strictly after the job `after` in that order.
    async fn list_jobs(&self, state: Option<JobState>, after: Option<Uuid>, descending: bool, limit: usize) -> CatalogResult<Vec<Job>>;
    /// Claim the oldest job that is `pending`, or `processing` under a lease that
    /// expired before `now` (its node is gone): it becomes `processing` for `node`
    /// until `until`, one more attempt, `taken_from` naming the previous node.
    async fn claim_job(&self, node: &str, now: Timestamp, until: Timestamp) -> CatalogResult<Option<Job>>;
    /// Extend `node`'s claim; `false` when the job is no longer `node`'s.
    async fn renew_job(&self, id: Uuid, node: &str, now: Timestamp, until: Timestamp) -> CatalogResult<bool>;
    /// End `node`'s claim with `outcome` (a final state, or `pending` to retry);
    /// `false` when the job is no longer `node`'s.
    async fn settle_job(&self, id: Uuid, node: &str, outcome: &JobOutcome, now: Timestamp) -> CatalogResult<bool>;
    /// Delete finished jobs whose `expires_at` is before `now`; returns how many.
    async fn purge_jobs(&self, now: Timestamp) -> CatalogResult<u64>;

    /// Record `nonce` within `scope` until `expires_at`, unless it is already
    /// there (`Replayed`) or the scope holds `budget` live entries (`OverBudget`).
    /// Expired entries of the scope are forgotten first.
    async fn remember_nonce(&self, scope: &str, nonce: &str, now: Timestamp, expires_at: Timestamp, budget: u32) -> CatalogResult<Seen>;

    /// Tell every node that `topic` changed (PostgreSQL NOTIFY; within one process
    /// for SQLite, which only one node may use).
    async fn notify(&self, topic: &str) -> CatalogResult<()>;
    /// Changes to `topic` from any node, as they are announced. A backend that
    /// lost its connection sends one item when it is back (something may have been
    /// missed), so subscribers reload. `None`: this backend cannot tell.
    fn subscribe(&self, topic: &str) -> Option<BoxStream<'static, ()>>;
}

/// All of the catalog, as one object the server builds from its URL.
pub trait Catalog: ImageCatalog + IdentityCatalog + ClusterCatalog {}
impl<T: ImageCatalog + IdentityCatalog + ClusterCatalog> Catalog for T {}

pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// An object in the blob store, as listed for garbage collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    pub key: String,
    pub size: u64,
    pub last_modified: Timestamp,
}

/// Image bytes. Writes go to a temporary object that becomes visible under its final
/// key only on `commit`, after it is durable.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    async fn begin_write(&self) -> std::io::Result<Box<dyn BlobWriter>>;
    /// Start a write whose size the client announced (Content-Length,
    /// `x-openstack-image-size`), if any: S3 sizes its multipart parts from it so
    /// that the whole size cap fits in 10,000 parts with the least memory. A hint
    /// only: the service still checks what arrives.
    async fn begin_write_sized(&self, expected_size: Option<u64>) -> std::io::Result<Box<dyn BlobWriter>> {
        let _ = expected_size;
        self.begin_write().await
    }
    /// The bytes of `key`, or of `range` within it.
    async fn read(&self, key: &str, range: Option<Range<u64>>) -> std::io::Result<ByteStream>;
    /// Missing objects are not an error.
    async fn delete(&self, key: &str) -> std::io::Result<()>;
    /// Committed blobs (for garbage collection of unreferenced ones).
    async fn list_blobs(&self) -> std::io::Result<Vec<BlobEntry>>;
    /// Abandoned temporary objects older than `older_than` are removed; returns how many.
    async fn sweep_temporary(&self, older_than: Timestamp) -> std::io::Result<usize>;
}

#[async_trait]
pub trait BlobWriter: Send {
    /// The temporary object's key (for crash-recovery bookkeeping).
    fn temp_key(&self) -> &str;
    async fn write(&mut self, chunk: Bytes) -> std::io::Result<()>;
    /// Make the bytes durable and publish them under `key` atomically (replacing an
    /// identical existing blob is fine: keys are content addresses).
    async fn commit(self: Box<Self>, key: &str) -> std::io::Result<()>;
    async fn abort(self: Box<Self>);
}
