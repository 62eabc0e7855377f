//! What Azure knows about an image beyond the canonical fields, where each
//! attribute lives on the imagery image, how request bodies become it, and how
//! it renders in each api-version. The one place for the Azure ↔ imagery mapping:
//!
//! | ARM | imagery |
//! |---|---|
//! | name | Glance `name` at creation; display name in `imagery:azure.name` |
//! | resource group (display case) | `imagery:azure.resourceGroup` |
//! | osType `Linux`/`Windows` | property `os_type` (`linux`/`windows`) |
//! | osDisk.diskSizeGB | `min_disk` |
//! | location, osState, caching, storageAccountType, hyperVGeneration, zoneResilient | `imagery:azure.<same name>` |
//! | tags | `imagery:azure.tags` (JSON object; not Glance tags, whose syntax differs) |
//! | blobUri, snapshot.id, managedDisk.id, diskEncryptionSet.id, sourceVirtualMachine.id | `imagery:azure.<same name>` |
//! | dataDisks, extendedLocation | `imagery:azure.dataDisks`, `imagery:azure.extendedLocation` (JSON) |
//! | the imagery image whose bytes were shared | `imagery:azure.sourceImage` (uuid) |

use std::collections::BTreeMap;

use imagery_core::rules::{LabelSyntax, LabelViolation};
use imagery_core::{Image, ImageStatus};
use serde_json::{json, Map, Value};

use crate::api_version::ApiVersion;
use crate::error::{ArmError, ArmResult};
use crate::ids::{iso_time, normalize_location};

pub(crate) const NAME: &str = "azure.name";
pub(crate) const RESOURCE_GROUP: &str = "azure.resourceGroup";
pub(crate) const SOURCE_IMAGE: &str = "azure.sourceImage";
const LOCATION: &str = "azure.location";
const TAGS: &str = "azure.tags";
const OS_STATE: &str = "azure.osState";
const CACHING: &str = "azure.caching";
const STORAGE_ACCOUNT_TYPE: &str = "azure.storageAccountType";
const HYPER_V_GENERATION: &str = "azure.hyperVGeneration";
const ZONE_RESILIENT: &str = "azure.zoneResilient";
const BLOB_URI: &str = "azure.blobUri";
const SNAPSHOT: &str = "azure.snapshot";
const MANAGED_DISK: &str = "azure.managedDisk";
const DISK_ENCRYPTION_SET: &str = "azure.diskEncryptionSet";
const SOURCE_VM: &str = "azure.sourceVirtualMachine";
const DATA_DISKS: &str = "azure.dataDisks";
const EXTENDED_LOCATION: &str = "azure.extendedLocation";

/// Reserved keys this module rewrites on every write (name, group and source
/// image are set once at creation and kept).
const ATTRIBUTES: [&str; 14] = [
    LOCATION,
    TAGS,
    OS_STATE,
    CACHING,
    STORAGE_ACCOUNT_TYPE,
    HYPER_V_GENERATION,
    ZONE_RESILIENT,
    BLOB_URI,
    SNAPSHOT,
    MANAGED_DISK,
    DISK_ENCRYPTION_SET,
    SOURCE_VM,
    DATA_DISKS,
    EXTENDED_LOCATION,
];

/// The canonical property other dialects read the OS from.
pub(crate) const OS_TYPE_PROPERTY: &str = "os_type";

const CACHING_VALUES: [&str; 3] = ["None", "ReadOnly", "ReadWrite"];
const STORAGE_ACCOUNT_TYPES: [&str; 7] =
    ["Standard_LRS", "Premium_LRS", "StandardSSD_LRS", "UltraSSD_LRS", "Premium_ZRS", "StandardSSD_ZRS", "PremiumV2_LRS"];
const MAX_DISK_SIZE_GB: i64 = 65_536;
const GIB: i64 = 1 << 30;

/// Where an image's content came from, as the client named it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Sources {
    pub blob_uri: Option<String>,
    pub snapshot: Option<String>,
    pub managed_disk: Option<String>,
    pub source_vm: Option<String>,
}

impl Sources {
    pub fn is_empty(&self) -> bool {
        self.blob_uri.is_none() && self.snapshot.is_none() && self.managed_disk.is_none() && self.source_vm.is_none()
    }

    /// The disk sources with the property path naming each, for resolving.
    pub fn disk_sources(&self) -> Vec<(&'static str, &str)> {
        [("osDisk.blobUri", &self.blob_uri), ("osDisk.snapshot.id", &self.snapshot), ("osDisk.managedDisk.id", &self.managed_disk)]
            .into_iter()
            .filter_map(|(target, v)| v.as_deref().map(|v| (target, v)))
            .collect()
    }

    /// The first recorded source that `new` would change, by property path.
    pub fn changed_by(&self, new: &Sources) -> Option<&'static str> {
        let differs = |old: &Option<String>, new: &Option<String>| old.is_some() && old != new;
        if differs(&self.blob_uri, &new.blob_uri) {
            Some("osDisk.blobUri")
        } else if differs(&self.snapshot, &new.snapshot) {
            Some("osDisk.snapshot.id")
        } else if differs(&self.managed_disk, &new.managed_disk) {
            Some("osDisk.managedDisk.id")
        } else if differs(&self.source_vm, &new.source_vm) {
            Some("sourceVirtualMachine.id")
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AzureImage {
    pub location: String,
    pub tags: Option<BTreeMap<String, String>>,
    pub os_type: &'static str,
    pub os_state: String,
    pub caching: String,
    pub disk_size_gb: Option<i64>,
    pub storage_account_type: String,
    pub disk_encryption_set: Option<String>,
    pub sources: Sources,
    pub data_disks: Vec<Value>,
    pub zone_resilient: bool,
    pub hyper_v_generation: String,
    pub extended_location: Option<Value>,
}

impl AzureImage {
    /// What an image shows through ARM (defaults for images made elsewhere).
    pub fn of(image: &Image, default_location: &str) -> AzureImage {
        let reserved = |key: &str| image.reserved(key).map(str::to_string);
        let json_of = |key: &str| image.reserved(key).and_then(|v| serde_json::from_str::<Value>(v).ok());
        let os_type = match image.properties.get(OS_TYPE_PROPERTY) {
            Some(v) if v.eq_ignore_ascii_case("windows") => "Windows",
            _ => "Linux",
        };
        let data_size = image.virtual_size.or(image.size).filter(|s| *s > 0);
        AzureImage {
            location: reserved(LOCATION).unwrap_or_else(|| default_location.to_string()),
            tags: json_of(TAGS).and_then(|v| serde_json::from_value(v).ok()),
            os_type,
            os_state: reserved(OS_STATE).unwrap_or_else(|| "Generalized".into()),
            caching: reserved(CACHING).unwrap_or_else(|| "ReadWrite".into()),
            disk_size_gb: if image.min_disk > 0 { Some(image.min_disk) } else { data_size.map(|s| (s + GIB - 1) / GIB) },
            storage_account_type: reserved(STORAGE_ACCOUNT_TYPE).unwrap_or_else(|| "Standard_LRS".into()),
            disk_encryption_set: reserved(DISK_ENCRYPTION_SET),
            sources: Sources {
                blob_uri: reserved(BLOB_URI),
                snapshot: reserved(SNAPSHOT),
                managed_disk: reserved(MANAGED_DISK),
                source_vm: reserved(SOURCE_VM),
            },
            data_disks: match json_of(DATA_DISKS) {
                Some(Value::Array(disks)) => disks,
                _ => Vec::new(),
            },
            zone_resilient: image.reserved(ZONE_RESILIENT) == Some("true"),
            hyper_v_generation: reserved(HYPER_V_GENERATION).unwrap_or_else(|| "V1".into()),
            extended_location: json_of(EXTENDED_LOCATION),
        }
    }

    /// The image a PUT body describes.
    pub fn from_put(body: &Value, version: &ApiVersion) -> ArmResult<AzureImage> {
        let body = body.as_object().ok_or_else(|| ArmError::invalid_content("the request body must be a JSON object"))?;
        let location = match body.get("location") {
            Some(Value::String(l)) if !l.trim().is_empty() => normalize_location(l),
            Some(Value::String(_)) | Some(Value::Null) | None => {
                return Err(ArmError::bad_request("LocationRequired", "The location property is required for this definition."))
            }
            Some(_) => return Err(ArmError::invalid_content("'location' must be a string")),
        };
        let properties = object_or_empty(body.get("properties"), "properties")?;
        let profile = object_or_empty(properties.get("storageProfile"), "properties.storageProfile")?;
        let source_vm = sub_resource_id(properties.get("sourceVirtualMachine"), "sourceVirtualMachine")?;
        let mut image = AzureImage {
            location,
            tags: tags(body.get("tags"))?,
            os_type: "Linux",
            os_state: "Generalized".into(),
            caching: "ReadWrite".into(),
            disk_size_gb: None,
            storage_account_type: "Standard_LRS".into(),
            disk_encryption_set: None,
            sources: Sources { source_vm, ..Sources::default() },
            data_disks: Vec::new(),
            zone_resilient: false,
            hyper_v_generation: "V1".into(),
            extended_location: None,
        };
        match profile.get("osDisk") {
            Some(Value::Object(os_disk)) => image.read_os_disk(os_disk, version, true)?,
            None | Some(Value::Null) => {
                if version.requires_os_disk() || image.sources.source_vm.is_none() {
                    return Err(ArmError::missing_parameter("osDisk"));
                }
            }
            Some(_) => return Err(ArmError::invalid_content("'osDisk' must be an object")),
        }
        if image.sources.is_empty() {
            return Err(ArmError::invalid_parameter(
                "osDisk",
                "The image source is missing: specify one of 'osDisk.blobUri', 'osDisk.managedDisk', 'osDisk.snapshot' or 'sourceVirtualMachine'.",
            ));
        }
        image.data_disks = data_disks(profile.get("dataDisks"), version)?;
        if version.has_zone_resilient() {
            image.zone_resilient = optional_bool(profile.get("zoneResilient"), "storageProfile.zoneResilient")?.unwrap_or(false);
        }
        if version.has_hyper_v_generation() {
            if let Some(generation) = enum_value(properties.get("hyperVGeneration"), "hyperVGeneration", &["V1", "V2"])? {
                image.hyper_v_generation = generation;
            }
        }
        if version.has_extended_location() {
            image.extended_location = match body.get("extendedLocation") {
                None | Some(Value::Null) => None,
                Some(Value::Object(o)) => Some(Value::Object(o.clone())),
                Some(_) => return Err(ArmError::invalid_content("'extendedLocation' must be an object")),
            };
        }
        Ok(image)
    }

    /// Apply a PATCH (`ImageUpdate`) body: tags are replaced wholesale when
    /// present; given disk attributes replace the stored ones; anything absent
    /// stays. Returns the sources the body names, for the immutability check.
    pub fn apply_update(&mut self, body: &Value, version: &ApiVersion) -> ArmResult<Sources> {
        let body = body.as_object().ok_or_else(|| ArmError::invalid_content("the request body must be a JSON object"))?;
        if body.contains_key("tags") {
            self.tags = tags(body.get("tags"))?;
        }
        let mut sources = self.sources.clone();
        let properties = object_or_empty(body.get("properties"), "properties")?;
        if let Some(vm) = sub_resource_id(properties.get("sourceVirtualMachine"), "sourceVirtualMachine")? {
            sources.source_vm = Some(vm);
        }
        let profile = object_or_empty(properties.get("storageProfile"), "properties.storageProfile")?;
        match profile.get("osDisk") {
            Some(Value::Object(os_disk)) => {
                let mut updated = self.clone();
                updated.read_os_disk(os_disk, version, false)?;
                for (target, given) in [
                    (&mut sources.blob_uri, updated.sources.blob_uri.take()),
                    (&mut sources.snapshot, updated.sources.snapshot.take()),
                    (&mut sources.managed_disk, updated.sources.managed_disk.take()),
                ] {
                    if given.is_some() {
                        *target = given;
                    }
                }
                updated.sources = self.sources.clone();
                *self = updated;
            }
            None | Some(Value::Null) => {}
            Some(_) => return Err(ArmError::invalid_content("'osDisk' must be an object")),
        }
        if profile.contains_key("dataDisks") {
            self.data_disks = data_disks(profile.get("dataDisks"), version)?;
        }
        if version.has_zone_resilient() {
            if let Some(z) = optional_bool(profile.get("zoneResilient"), "storageProfile.zoneResilient")? {
                self.zone_resilient = z;
            }
        }
        if version.has_hyper_v_generation() {
            if let Some(generation) = enum_value(properties.get("hyperVGeneration"), "hyperVGeneration", &["V1", "V2"])? {
                self.hyper_v_generation = generation;
            }
        }
        Ok(sources)
    }

    /// Read an `ImageOSDisk`; `create` requires osType and osState.
    fn read_os_disk(&mut self, disk: &Map<String, Value>, version: &ApiVersion, create: bool) -> ArmResult<()> {
        match enum_value(disk.get("osType"), "osDisk.osType", &["Windows", "Linux"])? {
            Some(t) => self.os_type = if t == "Windows" { "Windows" } else { "Linux" },
            None if create => return Err(ArmError::missing_parameter("osDisk.osType")),
            None => {}
        }
        match enum_value(disk.get("osState"), "osDisk.osState", &["Generalized", "Specialized"])? {
            Some(s) => self.os_state = s,
            None if create => return Err(ArmError::missing_parameter("osDisk.osState")),
            None => {}
        }
        let disk = read_disk(disk, "osDisk", version)?;
        if let Some(c) = disk.caching {
            self.caching = c;
        }
        if disk.disk_size_gb.is_some() {
            self.disk_size_gb = disk.disk_size_gb;
        }
        if let Some(t) = disk.storage_account_type {
            self.storage_account_type = t;
        }
        if disk.disk_encryption_set.is_some() {
            self.disk_encryption_set = disk.disk_encryption_set;
        }
        self.sources.blob_uri = disk.blob_uri;
        self.sources.snapshot = disk.snapshot;
        self.sources.managed_disk = disk.managed_disk;
        Ok(())
    }

    /// Store everything on the image: reserved properties, `os_type`, `min_disk`.
    pub fn write(&self, image: &mut Image) {
        for key in ATTRIBUTES {
            image.remove_reserved(key);
        }
        image.set_reserved(LOCATION, self.location.clone());
        if let Some(tags) = &self.tags {
            image.set_reserved(TAGS, json!(tags).to_string());
        }
        image.set_reserved(OS_STATE, self.os_state.clone());
        image.set_reserved(CACHING, self.caching.clone());
        image.set_reserved(STORAGE_ACCOUNT_TYPE, self.storage_account_type.clone());
        image.set_reserved(HYPER_V_GENERATION, self.hyper_v_generation.clone());
        image.set_reserved(ZONE_RESILIENT, self.zone_resilient.to_string());
        let optional = [
            (BLOB_URI, &self.sources.blob_uri),
            (SNAPSHOT, &self.sources.snapshot),
            (MANAGED_DISK, &self.sources.managed_disk),
            (SOURCE_VM, &self.sources.source_vm),
            (DISK_ENCRYPTION_SET, &self.disk_encryption_set),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                image.set_reserved(key, v.clone());
            }
        }
        if !self.data_disks.is_empty() {
            image.set_reserved(DATA_DISKS, Value::Array(self.data_disks.clone()).to_string());
        }
        if let Some(extended) = &self.extended_location {
            image.set_reserved(EXTENDED_LOCATION, extended.to_string());
        }
        image.properties.insert(OS_TYPE_PROPERTY.into(), self.os_type.to_ascii_lowercase());
        if let Some(size) = self.disk_size_gb {
            image.min_disk = size;
        }
    }

    /// The properties `write` would set, for a new image.
    pub fn properties(&self) -> (BTreeMap<String, String>, i64) {
        let mut scratch = Image::new(uuid::Uuid::nil(), None, imagery_core::time::now());
        self.write(&mut scratch);
        (scratch.properties, scratch.min_disk)
    }

    /// The ARM `Image` resource in `version`'s shape.
    pub fn render(&self, image: &Image, id: &str, name: &str, version: &ApiVersion, provisioning_state: &str) -> Value {
        let mut os_disk = Map::new();
        os_disk.insert("osType".into(), json!(self.os_type));
        os_disk.insert("osState".into(), json!(self.os_state));
        if let Some(s) = &self.sources.snapshot {
            os_disk.insert("snapshot".into(), json!({"id": s}));
        }
        if let Some(d) = &self.sources.managed_disk {
            os_disk.insert("managedDisk".into(), json!({"id": d}));
        }
        if let Some(b) = &self.sources.blob_uri {
            os_disk.insert("blobUri".into(), json!(b));
        }
        os_disk.insert("caching".into(), json!(self.caching));
        if let Some(size) = self.disk_size_gb {
            os_disk.insert("diskSizeGB".into(), json!(size));
        }
        if version.has_storage_account_type() {
            os_disk.insert("storageAccountType".into(), json!(self.storage_account_type));
        }
        if let (true, Some(des)) = (version.has_disk_encryption_set(), &self.disk_encryption_set) {
            os_disk.insert("diskEncryptionSet".into(), json!({"id": des}));
        }
        let data_disks: Vec<Value> = self.data_disks.iter().map(|d| data_disk_view(d, version)).collect();
        let mut storage_profile = json!({"osDisk": os_disk, "dataDisks": data_disks});
        if version.has_zone_resilient() {
            storage_profile["zoneResilient"] = json!(self.zone_resilient);
        }
        let mut properties = json!({"storageProfile": storage_profile, "provisioningState": provisioning_state});
        if let Some(vm) = &self.sources.source_vm {
            properties["sourceVirtualMachine"] = json!({"id": vm});
        }
        if version.has_hyper_v_generation() {
            properties["hyperVGeneration"] = json!(self.hyper_v_generation);
        }
        let mut resource = json!({
            "id": id,
            "name": name,
            "type": "Microsoft.Compute/images",
            "location": self.location,
            "properties": properties,
        });
        if let Some(tags) = &self.tags {
            resource["tags"] = json!(tags);
        }
        if let (true, Some(extended)) = (version.has_extended_location(), &self.extended_location) {
            resource["extendedLocation"] = extended.clone();
        }
        if version.has_system_data() {
            resource["systemData"] = json!({"createdAt": iso_time(&image.created_at), "lastModifiedAt": iso_time(&image.updated_at)});
        }
        resource
    }
}

/// ARM's provisioningState for an image's canonical status. An image whose
/// source was recorded but not imported (no data) is complete as far as ARM goes;
/// one whose import failed (Glance's `queued` with the failure recorded) is `Failed`.
pub(crate) fn provisioning_state(image: &Image, azure: &AzureImage) -> &'static str {
    match image.status {
        ImageStatus::Queued if image.reserved(imagery_service::IMPORT_ERROR).is_some() => "Failed",
        ImageStatus::Active | ImageStatus::Deactivated => "Succeeded",
        ImageStatus::Queued if !azure.sources.is_empty() => "Succeeded",
        ImageStatus::Queued | ImageStatus::Saving | ImageStatus::Uploading | ImageStatus::Importing => "Creating",
        ImageStatus::Killed => "Failed",
        ImageStatus::Deleted | ImageStatus::PendingDelete => "Deleting",
    }
}

/// The disk fields common to OS and data disks.
struct Disk {
    caching: Option<String>,
    disk_size_gb: Option<i64>,
    storage_account_type: Option<String>,
    disk_encryption_set: Option<String>,
    blob_uri: Option<String>,
    snapshot: Option<String>,
    managed_disk: Option<String>,
}

fn read_disk(disk: &Map<String, Value>, path: &str, version: &ApiVersion) -> ArmResult<Disk> {
    let caching = enum_value(disk.get("caching"), &format!("{path}.caching"), &CACHING_VALUES)?;
    let disk_size_gb = match disk.get("diskSizeGB") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(size) if (0..=MAX_DISK_SIZE_GB).contains(&size) => Some(size),
            _ => {
                return Err(ArmError::invalid_parameter(
                    &format!("{path}.diskSizeGB"),
                    format!("The value of parameter '{path}.diskSizeGB' is invalid: it must be an integer from 0 to {MAX_DISK_SIZE_GB}."),
                ))
            }
        },
        Some(_) => return Err(ArmError::invalid_content(format!("'{path}.diskSizeGB' must be an integer"))),
    };
    let storage_account_type = if version.has_storage_account_type() {
        enum_value(disk.get("storageAccountType"), &format!("{path}.storageAccountType"), &STORAGE_ACCOUNT_TYPES)?
    } else {
        None
    };
    let disk_encryption_set = if version.has_disk_encryption_set() {
        sub_resource_id(disk.get("diskEncryptionSet"), &format!("{path}.diskEncryptionSet"))?
    } else {
        None
    };
    Ok(Disk {
        caching,
        disk_size_gb,
        storage_account_type,
        disk_encryption_set,
        blob_uri: blob_uri(disk.get("blobUri"), path)?,
        snapshot: sub_resource_id(disk.get("snapshot"), &format!("{path}.snapshot"))?,
        managed_disk: sub_resource_id(disk.get("managedDisk"), &format!("{path}.managedDisk"))?,
    })
}

/// Validate `dataDisks` and keep each disk as a normalised JSON object.
fn data_disks(value: Option<&Value>, version: &ApiVersion) -> ArmResult<Vec<Value>> {
    let disks = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(disks)) => disks,
        Some(_) => return Err(ArmError::invalid_content("'dataDisks' must be an array")),
    };
    let mut luns = Vec::new();
    let mut stored = Vec::new();
    for (i, disk) in disks.iter().enumerate() {
        let path = format!("dataDisks[{i}]");
        let disk = disk.as_object().ok_or_else(|| ArmError::invalid_content(format!("'{path}' must be an object")))?;
        let lun = match disk.get("lun") {
            None | Some(Value::Null) => return Err(ArmError::missing_parameter("lun")),
            Some(Value::Number(n)) => n.as_i64().filter(|l| (0..=63).contains(l)).ok_or_else(|| {
                ArmError::invalid_parameter(
                    "lun",
                    format!("The value of parameter '{path}.lun' is invalid: it must be an integer from 0 to 63."),
                )
            })?,
            Some(_) => return Err(ArmError::invalid_content(format!("'{path}.lun' must be an integer"))),
        };
        if luns.contains(&lun) {
            return Err(ArmError::invalid_parameter(
                "lun",
                format!("The LUN {lun} is used by more than one data disk; LUNs must be unique."),
            ));
        }
        luns.push(lun);
        let d = read_disk(disk, &path, version)?;
        let mut out = Map::new();
        out.insert("lun".into(), json!(lun));
        if let Some(s) = d.snapshot {
            out.insert("snapshot".into(), json!({"id": s}));
        }
        if let Some(m) = d.managed_disk {
            out.insert("managedDisk".into(), json!({"id": m}));
        }
        if let Some(b) = d.blob_uri {
            out.insert("blobUri".into(), json!(b));
        }
        out.insert("caching".into(), json!(d.caching.unwrap_or_else(|| "None".into())));
        if let Some(size) = d.disk_size_gb {
            out.insert("diskSizeGB".into(), json!(size));
        }
        out.insert("storageAccountType".into(), json!(d.storage_account_type.unwrap_or_else(|| "Standard_LRS".into())));
        if let Some(des) = d.disk_encryption_set {
            out.insert("diskEncryptionSet".into(), json!({"id": des}));
        }
        stored.push(Value::Object(out));
    }
    Ok(stored)
}

/// A stored data disk without the fields `version` does not know.
fn data_disk_view(disk: &Value, version: &ApiVersion) -> Value {
    let mut disk = disk.clone();
    if let Some(o) = disk.as_object_mut() {
        if !version.has_storage_account_type() {
            o.remove("storageAccountType");
        }
        if !version.has_disk_encryption_set() {
            o.remove("diskEncryptionSet");
        }
    }
    disk
}

fn object_or_empty(value: Option<&Value>, path: &str) -> ArmResult<Map<String, Value>> {
    match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(_) => Err(ArmError::invalid_content(format!("'{path}' must be an object"))),
    }
}

/// A disk's `blobUri`: an https URL (recorded, never fetched), or the http(s)
/// URL of an imagery image's data (whose bytes the image then shares). Any other
/// scheme or a URL without a host (`file:///etc/passwd`, `http://169.254.169.254/`)
/// is refused before anything is created.
fn blob_uri(value: Option<&Value>, path: &str) -> ArmResult<Option<String>> {
    let Some(uri) = optional_string(value, &format!("{path}.blobUri"))? else {
        return Ok(None);
    };
    let parsed = uri.parse::<http::Uri>().ok();
    let authority = parsed.as_ref().and_then(|u| u.authority());
    let host_ok = authority.is_some_and(|a| !a.host().is_empty() && !a.as_str().contains('@'));
    let allowed = match parsed.as_ref().and_then(|u| u.scheme_str()) {
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => host_ok,
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => host_ok && crate::images::glance_file_url(&uri).is_some(),
        _ => false,
    };
    if allowed {
        return Ok(Some(uri));
    }
    let target = format!("properties.storageProfile.{path}.blobUri");
    Err(ArmError::invalid_parameter(
        &target,
        format!("The value of parameter '{target}' is invalid: the blob URI must be an https URL, or the URL of an image's data on this server."),
    ))
}

fn optional_string(value: Option<&Value>, path: &str) -> ArmResult<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ArmError::invalid_content(format!("'{path}' must be a string"))),
    }
}

fn optional_bool(value: Option<&Value>, path: &str) -> ArmResult<Option<bool>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ArmError::invalid_content(format!("'{path}' must be a boolean"))),
    }
}

/// A `SubResource` (`{"id": "..."}`), passed through as given.
fn sub_resource_id(value: Option<&Value>, path: &str) -> ArmResult<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => optional_string(o.get("id"), &format!("{path}.id")),
        Some(_) => Err(ArmError::invalid_content(format!("'{path}' must be an object with an 'id'"))),
    }
}

/// An enum value matched case-insensitively, returned in its canonical case.
fn enum_value(value: Option<&Value>, path: &str, allowed: &[&str]) -> ArmResult<Option<String>> {
    let Some(given) = optional_string(value, path)? else {
        return Ok(None);
    };
    match allowed.iter().find(|a| a.eq_ignore_ascii_case(&given)) {
        Some(canonical) => Ok(Some(canonical.to_string())),
        None => Err(ArmError::invalid_parameter(
            path,
            format!("The value '{given}' of parameter '{path}' is not allowed. Allowed values are '{}'.", allowed.join(", ")),
        )),
    }
}

/// ARM tags, under ARM's label syntax (the one rule, with Azure's parameters).
pub(crate) fn tags(value: Option<&Value>) -> ArmResult<Option<BTreeMap<String, String>>> {
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(ArmError::invalid_content("'tags' must be an object of strings")),
    };
    let mut tags = BTreeMap::new();
    for (name, value) in object {
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            _ => return Err(ArmError::invalid_content(format!("the value of tag '{name}' must be a string"))),
        };
        tags.insert(name.clone(), value);
    }
    let syntax = LabelSyntax::AzureTags;
    if let Some(violation) = syntax.violations(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))).into_iter().next() {
        let message = match violation {
            LabelViolation::TooMany { max } => format!("A resource may have at most {max} tags."),
            LabelViolation::BadKey { key } => format!("The tag name '{key}' is invalid."),
            LabelViolation::BadValue { key } => {
                format!("The value of tag '{key}' is longer than {} characters.", syntax.max_value_chars())
            }
        };
        return Err(ArmError::invalid_parameter("tags", message));
    }
    Ok(Some(tags))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_version::{check, Family};

    fn v(s: &str) -> ApiVersion {
        check(Family::Compute, Some(s)).expect("version")
    }

    fn put_body() -> Value {
        json!({"location": "West US", "tags": {"env": "test"}, "properties": {"storageProfile": {"osDisk": {
            "osType": "linux", "osState": "Generalized", "blobUri": "https://a.blob.core.windows.net/c/x.vhd", "diskSizeGB": 30,
            "storageAccountType": "Premium_LRS"}, "dataDisks": [{"lun": 1, "blobUri": "https://a/d.vhd"}]}, "hyperVGeneration": "V2"}})
    }

    #[test]
    fn put_round_trips_through_an_image() {
        let parsed = AzureImage::from_put(&put_body(), &v("2026-04-01")).expect("valid");
        assert_eq!(parsed.location, "westus");
        assert_eq!(parsed.os_type, "Linux");
        let mut image = Image::new(uuid::Uuid::new_v4(), Some("p".into()), imagery_core::time::now());
        parsed.write(&mut image);
        assert_eq!(image.properties.get("os_type").map(String::as_str), Some("linux"));
        assert_eq!(image.min_disk, 30);
        assert_eq!(AzureImage::of(&image, "eastus"), parsed);
        let view = parsed.render(&image, "/x", "n", &v("2026-04-01"), "Succeeded");
        assert_eq!(view["properties"]["hyperVGeneration"], "V2");
        assert_eq!(view["properties"]["storageProfile"]["osDisk"]["storageAccountType"], "Premium_LRS");
        assert_eq!(view["properties"]["storageProfile"]["dataDisks"][0]["lun"], 1);
        let old = parsed.render(&image, "/x", "n", &v("2016-04-30-preview"), "Succeeded");
        assert!(old["properties"].get("hyperVGeneration").is_none());
        assert!(old["properties"]["storageProfile"]["osDisk"].get("storageAccountType").is_none());
        assert!(old["properties"]["storageProfile"].get("zoneResilient").is_none());
        assert!(old.get("systemData").is_none());
    }

    #[test]
    fn validation_names_the_property() {
        let mut body = put_body();
        body["properties"]["storageProfile"]["osDisk"]["osType"] = json!("Plan9");
        assert_eq!(AzureImage::from_put(&body, &v("2026-04-01")).err().and_then(|e| e.target).as_deref(), Some("osDisk.osType"));
        let mut body = put_body();
        body["properties"]["storageProfile"]["dataDisks"] = json!([{"lun": 1}, {"lun": 1}]);
        assert_eq!(AzureImage::from_put(&body, &v("2026-04-01")).err().and_then(|e| e.target).as_deref(), Some("lun"));
        let body = json!({"location": "westus", "properties": {"sourceVirtualMachine": {"id": "/vm"}}});
        assert!(AzureImage::from_put(&body, &v("2026-04-01")).is_ok());
        assert!(AzureImage::from_put(&body, &v("2016-04-30-preview")).is_err());
        assert_eq!(AzureImage::from_put(&json!({}), &v("2026-04-01")).err().map(|e| e.code).as_deref(), Some("LocationRequired"));
        assert_eq!(AzureImage::from_put(&json!([]), &v("2026-04-01")).err().map(|e| e.code).as_deref(), Some("InvalidRequestContent"));
    }

    #[test]
    fn blob_uris_are_https_or_imagery_image_data() {
        let put = |disk: &str, uri: &str| {
            let mut body = put_body();
            if disk == "osDisk" {
                body["properties"]["storageProfile"]["osDisk"]["blobUri"] = json!(uri);
            } else {
                body["properties"]["storageProfile"]["dataDisks"][0]["blobUri"] = json!(uri);
            }
            AzureImage::from_put(&body, &v("2026-04-01"))
        };
        let id = uuid::Uuid::new_v4();
        for good in [
            "https://acct.blob.core.windows.net/vhds/os.vhd".to_string(),
            format!("https://glance.example:9292/v2/images/{id}/file"),
            format!("http://127.0.0.1:9292/image/v2/images/{id}/file"),
        ] {
            assert!(put("osDisk", &good).is_ok(), "{good}");
        }
        for bad in [
            "file:///etc/passwd",
            "http://169.254.169.254/latest/meta-data/",
            "http://example.com/x.vhd",
            "gopher://h/x",
            "https:///no-host",
            "https://user:secret@acct.blob.core.windows.net/c/x.vhd",
            "/relative/v2/images/x/file",
            "not a uri",
        ] {
            let err = put("osDisk", bad).err();
            assert_eq!(err.as_ref().map(|e| (e.status.as_u16(), e.code.as_str())), Some((400, "InvalidParameter")), "{bad}");
            assert_eq!(err.and_then(|e| e.target).as_deref(), Some("properties.storageProfile.osDisk.blobUri"), "{bad}");
        }
        let err = put("dataDisks", "file:///etc/shadow").err();
        assert_eq!(err.and_then(|e| e.target).as_deref(), Some("properties.storageProfile.dataDisks[0].blobUri"));
    }

    #[test]
    fn update_merges() {
        let mut image = AzureImage::from_put(&put_body(), &v("2026-04-01")).expect("valid");
        let sources = image.apply_update(&json!({"tags": {"env": "prod"}}), &v("2026-04-01")).expect("valid");
        assert_eq!(image.tags.as_ref().and_then(|t| t.get("env")).map(String::as_str), Some("prod"));
        assert_eq!(image.sources.changed_by(&sources), None);
        let sources = image
            .apply_update(&json!({"properties": {"storageProfile": {"osDisk": {"blobUri": "https://other"}}}}), &v("2026-04-01"))
            .expect("valid");
        assert_eq!(image.sources.changed_by(&sources), Some("osDisk.blobUri"));
    }
}
