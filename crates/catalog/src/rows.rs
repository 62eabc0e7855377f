//! Turning rows into domain records and records into column values, once for both
//! backends: each backend implements [`Columns`] for its row type, and every decoder
//! here reads through it. Stored data that does not parse is reported as a backend
//! error, never a panic.

use std::collections::{BTreeMap, BTreeSet};

use imagery_core::cluster::{Job, JobState, Lease};
use imagery_core::identity::{AccessKey, ApplicationCredential, Domain, Project, Revocation, Role, RoleAssignment, SigningKey, User};
use imagery_core::operation::OperationRecord;
use imagery_core::ports::{CatalogError, CatalogResult};
use imagery_core::time::{from_micros, to_micros, Timestamp};
use imagery_core::{Image, Member};
use uuid::Uuid;

/// Typed access to the columns of one result row, by position.
pub(crate) trait Columns {
    fn text(&self, i: usize) -> CatalogResult<&str>;
    fn opt_text(&self, i: usize) -> CatalogResult<Option<&str>>;
    fn int(&self, i: usize) -> CatalogResult<i64>;
    fn opt_int(&self, i: usize) -> CatalogResult<Option<i64>>;
    fn boolean(&self, i: usize) -> CatalogResult<bool>;

    fn string(&self, i: usize) -> CatalogResult<String> {
        self.text(i).map(str::to_owned)
    }
    fn opt_string(&self, i: usize) -> CatalogResult<Option<String>> {
        Ok(self.opt_text(i)?.map(str::to_owned))
    }
    fn time(&self, i: usize) -> CatalogResult<Timestamp> {
        self.int(i).map(from_micros)
    }
    fn opt_time(&self, i: usize) -> CatalogResult<Option<Timestamp>> {
        Ok(self.opt_int(i)?.map(from_micros))
    }
    fn uuid(&self, i: usize) -> CatalogResult<Uuid> {
        let text = self.text(i)?;
        Uuid::parse_str(text).map_err(|_| corrupt("uuid", text))
    }
    fn parsed<T: std::str::FromStr>(&self, i: usize, what: &str) -> CatalogResult<T> {
        let text = self.text(i)?;
        text.parse().map_err(|_| corrupt(what, text))
    }
    fn json<T: serde::de::DeserializeOwned>(&self, i: usize, what: &str) -> CatalogResult<T> {
        let text = self.text(i)?;
        serde_json::from_str(text).map_err(|e| CatalogError::Backend(format!("stored {what} is not valid JSON: {e}")))
    }
}

pub(crate) fn corrupt(what: &str, value: &str) -> CatalogError {
    CatalogError::Backend(format!("stored {what} {value:?} is not valid"))
}

/// A UUID in the stored form (lower-case, hyphenated), without allocating.
pub(crate) fn uuid_text<'b>(id: &Uuid, buf: &'b mut [u8; 36]) -> &'b str {
    id.hyphenated().encode_lower(buf)
}

pub(crate) fn micros(t: &Timestamp) -> i64 {
    to_micros(t)
}

pub(crate) fn opt_micros(t: &Option<Timestamp>) -> Option<i64> {
    t.as_ref().map(to_micros)
}

pub(crate) fn tags_json(tags: &BTreeSet<String>) -> String {
    // Serializing strings into a String cannot fail.
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn properties_json(properties: &BTreeMap<String, String>) -> String {
    serde_json::to_string(properties).unwrap_or_else(|_| "{}".to_owned())
}

pub(crate) fn roles_json(roles: &[String]) -> String {
    serde_json::to_string(roles).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn payload_json(payload: &serde_json::Value) -> String {
    payload.to_string()
}

/// Reads the columns listed by `statements::image_columns!`.
pub(crate) fn decode_image(r: &impl Columns) -> CatalogResult<Image> {
    Ok(Image {
        id: r.uuid(0)?,
        name: r.opt_string(1)?,
        status: r.parsed(2, "image status")?,
        visibility: r.parsed(3, "visibility")?,
        protected: r.boolean(4)?,
        os_hidden: r.boolean(5)?,
        owner: r.opt_string(6)?,
        min_disk: r.int(7)?,
        min_ram: r.int(8)?,
        container_format: r.opt_string(9)?,
        disk_format: r.opt_string(10)?,
        size: r.opt_int(11)?,
        virtual_size: r.opt_int(12)?,
        checksum: r.opt_string(13)?,
        os_hash_algo: r.opt_string(14)?,
        os_hash_value: r.opt_string(15)?,
        blob_key: r.opt_string(16)?,
        created_at: r.time(17)?,
        updated_at: r.time(18)?,
        deleted_at: r.opt_time(19)?,
        tags: r.json(20, "tags")?,
        properties: r.json(21, "properties")?,
        version: r.int(22)?,
    })
}

/// The stored version, tags, properties and creation time (microseconds) of an
/// image about to be updated.
pub(crate) struct StoredState {
    pub version: i64,
    pub tags: BTreeSet<String>,
    pub properties: BTreeMap<String, String>,
    pub created_at: i64,
}

pub(crate) fn decode_stored_state(r: &impl Columns) -> CatalogResult<StoredState> {
    Ok(StoredState { version: r.int(0)?, tags: r.json(1, "tags")?, properties: r.json(2, "properties")?, created_at: r.int(3)? })
}

/// Child-row changes that turn the stored tags and properties into the new ones.
pub(crate) struct ChildChanges<'a> {
    pub removed_tags: Vec<&'a str>,
    pub added_tags: Vec<&'a str>,
    pub removed_properties: Vec<&'a str>,
    pub set_properties: Vec<(&'a str, &'a str)>,
}

pub(crate) fn child_changes<'a>(old: &'a StoredState, new: &'a Image) -> ChildChanges<'a> {
    ChildChanges {
        removed_tags: old.tags.difference(&new.tags).map(String::as_str).collect(),
        added_tags: new.tags.difference(&old.tags).map(String::as_str).collect(),
        removed_properties: old.properties.keys().filter(|k| !new.properties.contains_key(*k)).map(String::as_str).collect(),
        set_properties: new
            .properties
            .iter()
            .filter(|(k, v)| old.properties.get(*k) != Some(*v))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    }
}

pub(crate) fn decode_member(r: &impl Columns) -> CatalogResult<Member> {
    Ok(Member {
        image_id: r.uuid(0)?,
        member_id: r.string(1)?,
        status: r.parsed(2, "member status")?,
        created_at: r.time(3)?,
        updated_at: r.time(4)?,
    })
}

pub(crate) fn decode_operation(r: &impl Columns) -> CatalogResult<OperationRecord> {
    Ok(OperationRecord {
        id: r.string(0)?,
        dialect: r.string(1)?,
        project_id: r.string(2)?,
        target: r.opt_string(3)?,
        description: r.string(4)?,
        created_by: r.string(5)?,
        created_at: r.time(6)?,
        modified_at: r.time(7)?,
        done: r.boolean(8)?,
        payload: r.json(9, "operation payload")?,
        idempotency_key: r.opt_string(10)?,
    })
}

pub(crate) fn decode_lease(r: &impl Columns) -> CatalogResult<Lease> {
    Ok(Lease { name: r.string(0)?, holder: r.string(1)?, expires_at: r.time(2)? })
}

pub(crate) fn decode_job(r: &impl Columns) -> CatalogResult<Job> {
    let state = r.text(6)?;
    Ok(Job {
        id: r.uuid(0)?,
        kind: r.string(1)?,
        image_id: match r.opt_text(2)? {
            Some(text) => Some(Uuid::parse_str(text).map_err(|_| corrupt("job image id", text))?),
            None => None,
        },
        owner: r.opt_string(3)?,
        user_id: r.opt_string(4)?,
        request_id: r.opt_string(5)?,
        state: JobState::parse(state).ok_or_else(|| corrupt("job state", state))?,
        input: r.json(7, "job input")?,
        message: r.string(8)?,
        result: match r.opt_text(9)? {
            Some(text) => Some(serde_json::from_str(text).map_err(|_| corrupt("job result", text))?),
            None => None,
        },
        attempts: i32::try_from(r.int(10)?).unwrap_or(i32::MAX),
        claimed_by: r.opt_string(11)?,
        taken_from: r.opt_string(12)?,
        lease_expires_at: r.opt_time(13)?,
        created_at: r.time(14)?,
        updated_at: r.time(15)?,
        expires_at: r.opt_time(16)?,
    })
}

/// A job's column values in `job_columns!` order (ids and JSON as text, times as
/// microseconds).
pub(crate) struct JobValues {
    pub id: String,
    pub image_id: Option<String>,
    pub state: &'static str,
    pub input: String,
    pub result: Option<String>,
    pub attempts: i64,
    pub lease_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: Option<i64>,
}

pub(crate) fn job_values(job: &Job) -> JobValues {
    JobValues {
        id: job.id.hyphenated().to_string(),
        image_id: job.image_id.map(|id| id.hyphenated().to_string()),
        state: job.state.as_str(),
        input: job.input.to_string(),
        result: job.result.as_ref().map(|v| v.to_string()),
        attempts: i64::from(job.attempts),
        lease_expires_at: opt_micros(&job.lease_expires_at),
        created_at: micros(&job.created_at),
        updated_at: micros(&job.updated_at),
        expires_at: opt_micros(&job.expires_at),
    }
}

pub(crate) fn decode_domain(r: &impl Columns) -> CatalogResult<Domain> {
    Ok(Domain { id: r.string(0)?, name: r.string(1)?, description: r.string(2)?, enabled: r.boolean(3)? })
}

pub(crate) fn decode_project(r: &impl Columns) -> CatalogResult<Project> {
    Ok(Project { id: r.string(0)?, name: r.string(1)?, domain_id: r.string(2)?, description: r.string(3)?, enabled: r.boolean(4)? })
}

pub(crate) fn decode_user(r: &impl Columns) -> CatalogResult<User> {
    Ok(User {
        id: r.string(0)?,
        name: r.string(1)?,
        domain_id: r.string(2)?,
        password_hash: r.opt_string(3)?,
        enabled: r.boolean(4)?,
        default_project_id: r.opt_string(5)?,
        created_at: r.time(6)?,
    })
}

pub(crate) fn decode_role(r: &impl Columns) -> CatalogResult<Role> {
    Ok(Role { id: r.string(0)?, name: r.string(1)? })
}

pub(crate) fn decode_assignment(r: &impl Columns) -> CatalogResult<RoleAssignment> {
    Ok(RoleAssignment { user_id: r.string(0)?, project_id: r.string(1)?, role_id: r.string(2)? })
}

pub(crate) fn decode_access_key(r: &impl Columns) -> CatalogResult<AccessKey> {
    Ok(AccessKey {
        id: r.string(0)?,
        secret: r.string(1)?,
        user_id: r.string(2)?,
        project_id: r.opt_string(3)?,
        description: r.string(4)?,
        created_at: r.time(5)?,
        public_key: r.opt_string(6)?,
    })
}

pub(crate) fn decode_app_credential(r: &impl Columns) -> CatalogResult<ApplicationCredential> {
    Ok(ApplicationCredential {
        id: r.string(0)?,
        name: r.string(1)?,
        user_id: r.string(2)?,
        project_id: r.string(3)?,
        description: r.string(4)?,
        secret_hash: r.string(5)?,
        roles: r.json(6, "roles")?,
        expires_at: r.opt_time(7)?,
        unrestricted: r.boolean(8)?,
        created_at: r.time(9)?,
    })
}

pub(crate) fn decode_signing_key(r: &impl Columns) -> CatalogResult<SigningKey> {
    Ok(SigningKey { id: r.string(0)?, kind: r.string(1)?, material: r.string(2)?, created_at: r.time(3)? })
}

pub(crate) fn decode_revocation(r: &impl Columns) -> CatalogResult<Revocation> {
    Ok(Revocation { audit_id: r.string(0)?, expires_at: r.time(1)? })
}

pub(crate) fn decode_alt_key_pair(r: &impl Columns) -> CatalogResult<(String, String)> {
    Ok((r.string(0)?, r.string(1)?))
}

pub(crate) fn decode_single_string(r: &impl Columns) -> CatalogResult<String> {
    r.string(0)
}
