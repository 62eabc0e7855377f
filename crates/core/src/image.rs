//! The canonical image: one row per image, whatever dialect created it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::time::Timestamp;

/// Properties whose keys start with this prefix belong to imagery itself (dialect
/// attributes without a canonical home). They are never shown as user properties and
/// users cannot set them through property APIs.
pub const RESERVED_PREFIX: &str = "imagery:";

/// The reserved property (under [`RESERVED_PREFIX`]) that holds what the format
/// inspector found in an image's bytes, in the service's encoding, so an image
/// made later from the same bytes is judged without reading them again.
pub const INSPECTION_KEY: &str = "inspection";

/// The image's own attributes as the OpenStack views name them. A custom property
/// may never take one of these names (it would shadow the attribute in a view).
pub const ATTRIBUTE_NAMES: [&str; 28] = [
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "owner",
    "size",
    "virtual_size",
    "min_disk",
    "min_ram",
    "container_format",
    "disk_format",
    "created_at",
    "updated_at",
    "tags",
    "self",
    "file",
    "schema",
    "direct_url",
    "locations",
    "location",
    "stores",
    "deleted",
    "deleted_at",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ImageStatus {
    Queued,
    Saving,
    Uploading,
    Importing,
    Active,
    Deactivated,
    Killed,
    Deleted,
    PendingDelete,
}

impl ImageStatus {
    pub const ALL: [ImageStatus; 9] = [
        ImageStatus::Queued,
        ImageStatus::Saving,
        ImageStatus::Uploading,
        ImageStatus::Importing,
        ImageStatus::Active,
        ImageStatus::Deactivated,
        ImageStatus::Killed,
        ImageStatus::Deleted,
        ImageStatus::PendingDelete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::Queued => "queued",
            ImageStatus::Saving => "saving",
            ImageStatus::Uploading => "uploading",
            ImageStatus::Importing => "importing",
            ImageStatus::Active => "active",
            ImageStatus::Deactivated => "deactivated",
            ImageStatus::Killed => "killed",
            ImageStatus::Deleted => "deleted",
            ImageStatus::PendingDelete => "pending_delete",
        }
    }

    /// Glance's state machine (`Image.valid_state_targets`).
    pub fn can_become(self, to: ImageStatus) -> bool {
        use ImageStatus::*;
        matches!(
            (self, to),
            (Queued, Saving | Uploading | Importing | Active | Deleted)
                | (Saving, Active | Killed | Deleted | Queued)
                | (Uploading, Importing | Queued | Deleted)
                | (Importing, Active | Deleted | Queued)
                | (Active, PendingDelete | Deleted | Deactivated)
                | (Deactivated, Active | Deleted)
                | (Killed, Deleted)
                | (PendingDelete, Deleted | Active)
        )
    }

    /// Deleted images are gone for every caller and every dialect.
    pub fn is_gone(self) -> bool {
        matches!(self, ImageStatus::Deleted | ImageStatus::PendingDelete)
    }
}

impl fmt::Display for ImageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImageStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        ImageStatus::ALL.into_iter().find(|st| st.as_str() == s).ok_or(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Private,
    Shared,
    Community,
}

impl Visibility {
    pub const ALL: [Visibility; 4] = [Visibility::Public, Visibility::Private, Visibility::Shared, Visibility::Community];

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
            Visibility::Shared => "shared",
            Visibility::Community => "community",
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Visibility {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Visibility::ALL.into_iter().find(|v| v.as_str() == s).ok_or(())
    }
}

/// Where an image's bytes live in the blob store, and what they hash to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageData {
    /// Object key in the blob store (content address).
    pub blob_key: String,
    pub size: i64,
    /// MD5 hex (Glance `checksum`).
    pub checksum: String,
    /// Multihash algorithm name, e.g. `sha512`.
    pub os_hash_algo: String,
    pub os_hash_value: String,
    pub virtual_size: Option<i64>,
    /// What the format inspector found in these bytes (see [`INSPECTION_KEY`]).
    #[serde(default)]
    pub inspection: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub id: Uuid,
    pub name: Option<String>,
    pub status: ImageStatus,
    pub visibility: Visibility,
    pub protected: bool,
    pub os_hidden: bool,
    /// Owning project; `None` only for images created in no-auth mode.
    pub owner: Option<String>,
    pub min_disk: i64,
    pub min_ram: i64,
    pub container_format: Option<String>,
    pub disk_format: Option<String>,
    /// Byte count: of stored data, or of staged data while `uploading`.
    pub size: Option<i64>,
    pub virtual_size: Option<i64>,
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    pub blob_key: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub tags: BTreeSet<String>,
    /// Custom properties, plus imagery's own under `RESERVED_PREFIX`.
    pub properties: BTreeMap<String, String>,
    /// Optimistic-concurrency counter: every catalog update bumps it.
    pub version: i64,
}

impl Image {
    /// A fresh `queued` image with Glance's defaults.
    pub fn new(id: Uuid, owner: Option<String>, now: Timestamp) -> Self {
        Image {
            id,
            name: None,
            status: ImageStatus::Queued,
            visibility: Visibility::Shared,
            protected: false,
            os_hidden: false,
            owner,
            min_disk: 0,
            min_ram: 0,
            container_format: None,
            disk_format: None,
            size: None,
            virtual_size: None,
            checksum: None,
            os_hash_algo: None,
            os_hash_value: None,
            blob_key: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
            tags: BTreeSet::new(),
            properties: BTreeMap::new(),
            version: 0,
        }
    }

    pub fn has_data(&self) -> bool {
        self.blob_key.is_some()
    }

    /// Custom properties a user sees (imagery's reserved ones are hidden).
    pub fn user_properties(&self) -> impl Iterator<Item = (&String, &String)> {
        self.properties.iter().filter(|(k, _)| !k.starts_with(RESERVED_PREFIX))
    }

    pub fn reserved(&self, key: &str) -> Option<&str> {
        self.properties.get(&format!("{RESERVED_PREFIX}{key}")).map(String::as_str)
    }

    pub fn set_reserved(&mut self, key: &str, value: impl Into<String>) {
        self.properties.insert(format!("{RESERVED_PREFIX}{key}"), value.into());
    }

    pub fn remove_reserved(&mut self, key: &str) {
        self.properties.remove(&format!("{RESERVED_PREFIX}{key}"));
    }

    pub fn attach_data(&mut self, data: &ImageData) {
        self.blob_key = Some(data.blob_key.clone());
        self.size = Some(data.size);
        self.checksum = Some(data.checksum.clone());
        self.os_hash_algo = Some(data.os_hash_algo.clone());
        self.os_hash_value = Some(data.os_hash_value.clone());
        self.virtual_size = data.virtual_size;
        match &data.inspection {
            Some(found) => self.set_reserved(INSPECTION_KEY, found.clone()),
            None => self.remove_reserved(INSPECTION_KEY),
        }
    }

    /// The stored data, when the image has any.
    pub fn data(&self) -> Option<ImageData> {
        Some(ImageData {
            blob_key: self.blob_key.clone()?,
            size: self.size?,
            checksum: self.checksum.clone().unwrap_or_default(),
            os_hash_algo: self.os_hash_algo.clone().unwrap_or_else(|| "sha512".into()),
            os_hash_value: self.os_hash_value.clone().unwrap_or_default(),
            virtual_size: self.virtual_size,
            inspection: self.reserved(INSPECTION_KEY).map(str::to_string),
        })
    }

    /// Entering `queued` forgets any data, as Glance does.
    pub fn reset_to_queued(&mut self) {
        self.status = ImageStatus::Queued;
        self.size = None;
        self.virtual_size = None;
        self.checksum = None;
        self.os_hash_algo = None;
        self.os_hash_value = None;
        self.blob_key = None;
        self.remove_reserved(INSPECTION_KEY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_machine_matches_glance() {
        use ImageStatus::*;
        assert!(Queued.can_become(Saving));
        assert!(Saving.can_become(Queued));
        assert!(!Active.can_become(Saving));
        assert!(!Deleted.can_become(Active));
        assert!(Deactivated.can_become(Active));
        assert!(!Deactivated.can_become(Saving));
        for s in ImageStatus::ALL {
            assert_eq!(s.as_str().parse::<ImageStatus>(), Ok(s));
            assert!(!Deleted.can_become(s));
        }
    }
}
