//! The REST form of the protos, as Yandex's gRPC-JSON transcoder produces and
//! accepts it: camelCase names on output (camelCase or snake_case on input),
//! int64 as decimal strings (strings or numbers on input), enums by name (names
//! or numbers on input), RFC 3339 UTC timestamps, default values omitted, `Any`
//! as `{"@type": ..., fields}`. Unknown input fields are rejected.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat};
use prost_types::FieldMask;
use serde_json::{json, Map, Value};

use crate::error::{YcError, YcResult};
use crate::operations::{OperationView, Outcome};
use crate::pb::yandex::cloud::compute::v1 as compute;
use crate::pb::yandex::cloud::iam::v1 as iam;
use compute::create_image_request::Source;
use compute::hardware_generation::Features;

pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

pub fn rfc3339(t: &prost_types::Timestamp) -> String {
    let nanos = u32::try_from(t.nanos).unwrap_or(0);
    DateTime::from_timestamp(t.seconds, nanos).unwrap_or_default().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn insert_string(map: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        map.insert(key.into(), Value::String(value.into()));
    }
}

fn insert_int64(map: &mut Map<String, Value>, key: &str, value: i64) {
    if value != 0 {
        map.insert(key.into(), Value::String(value.to_string()));
    }
}

pub fn image(image: &compute::Image) -> Value {
    let mut map = Map::new();
    insert_string(&mut map, "id", &image.id);
    insert_string(&mut map, "folderId", &image.folder_id);
    if let Some(t) = &image.created_at {
        map.insert("createdAt".into(), Value::String(rfc3339(t)));
    }
    insert_string(&mut map, "name", &image.name);
    insert_string(&mut map, "description", &image.description);
    if !image.labels.is_empty() {
        map.insert("labels".into(), json!(image.labels));
    }
    insert_string(&mut map, "family", &image.family);
    insert_int64(&mut map, "size", image.size);
    insert_int64(&mut map, "storageSize", image.storage_size);
    insert_int64(&mut map, "minDiskSize", image.min_disk_size);
    if !image.product_ids.is_empty() {
        map.insert("productIds".into(), json!(image.product_ids));
    }
    if let Ok(status) = compute::image::Status::try_from(image.status) {
        if status != compute::image::Status::Unspecified {
            map.insert("status".into(), Value::String(status.as_str_name().into()));
        }
    }
    if let Some(os) = &image.os {
        let mut os_map = Map::new();
        if let Ok(t) = compute::os::Type::try_from(os.r#type) {
            if t != compute::os::Type::Unspecified {
                os_map.insert("type".into(), Value::String(t.as_str_name().into()));
            }
        }
        if let Some(nvidia) = &os.nvidia {
            let mut n = Map::new();
            insert_string(&mut n, "driver", &nvidia.driver);
            os_map.insert("nvidia".into(), Value::Object(n));
        }
        map.insert("os".into(), Value::Object(os_map));
    }
    if image.pooled {
        map.insert("pooled".into(), Value::Bool(true));
    }
    if let Some(generation) = &image.hardware_generation {
        map.insert("hardwareGeneration".into(), hardware_generation(generation));
    }
    if let Some(kms) = &image.kms_key {
        let mut k = Map::new();
        insert_string(&mut k, "keyId", &kms.key_id);
        insert_string(&mut k, "versionId", &kms.version_id);
        map.insert("kmsKey".into(), Value::Object(k));
    }
    Value::Object(map)
}

pub fn hardware_generation(generation: &compute::HardwareGeneration) -> Value {
    match &generation.features {
        Some(Features::LegacyFeatures(legacy)) => {
            let mut l = Map::new();
            if let Ok(t) = compute::PciTopology::try_from(legacy.pci_topology) {
                if t != compute::PciTopology::Unspecified {
                    l.insert("pciTopology".into(), Value::String(t.as_str_name().into()));
                }
            }
            json!({ "legacyFeatures": l })
        }
        Some(Features::Generation2Features(g2)) => {
            let mut g = Map::new();
            insert_string(&mut g, "secureBootTemplateId", &g2.secure_boot_template_id);
            if g2.vtpm_enabled {
                g.insert("vtpmEnabled".into(), Value::Bool(true));
            }
            json!({ "generation2Features": g })
        }
        None => json!({}),
    }
}

pub fn operation(op: &OperationView) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), Value::String(op.id.clone()));
    insert_string(&mut map, "description", &op.description);
    map.insert("createdAt".into(), Value::String(rfc3339(&crate::views::timestamp(&op.created_at))));
    insert_string(&mut map, "createdBy", &op.created_by);
    map.insert("modifiedAt".into(), Value::String(rfc3339(&crate::views::timestamp(&op.modified_at))));
    // Yandex always sends `done`, even false.
    map.insert("done".into(), Value::Bool(op.done));
    map.insert("metadata".into(), json!({ "@type": format!("{TYPE_URL_PREFIX}{}", op.kind.metadata_type()), "imageId": op.image_id }));
    match &op.outcome {
        Outcome::Pending => {}
        Outcome::Image(img) => {
            let mut response = image(img);
            if let Value::Object(fields) = &mut response {
                fields.insert("@type".into(), Value::String(format!("{TYPE_URL_PREFIX}yandex.cloud.compute.v1.Image")));
            }
            map.insert("response".into(), response);
        }
        Outcome::Empty => {
            map.insert("response".into(), json!({ "@type": format!("{TYPE_URL_PREFIX}google.protobuf.Empty") }));
        }
        Outcome::Failed(err) => {
            map.insert("error".into(), json!({ "code": err.code as i32, "message": err.message, "details": [] }));
        }
    }
    Value::Object(map)
}

pub fn camel_to_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A JSON object being read field by field; what is left at the end is unknown.
pub struct Obj {
    map: Map<String, Value>,
    context: &'static str,
}

impl Obj {
    pub fn new(value: Value, context: &'static str) -> YcResult<Obj> {
        match value {
            Value::Object(map) => Ok(Obj { map, context }),
            Value::Null => Ok(Obj { map: Map::new(), context }),
            _ => Err(YcError::invalid(format!("{context}: expected a JSON object"))),
        }
    }

    /// The field under its camelCase or snake_case name; JSON `null` is absent.
    fn take(&mut self, camel: &str) -> Option<(String, Value)> {
        let snake = camel_to_snake(camel);
        let found = self.map.remove(camel).or_else(|| self.map.remove(&snake));
        found.filter(|v| !v.is_null()).map(|v| (snake, v))
    }

    fn wrong(field: &str, expected: &str) -> YcError {
        YcError::invalid(format!("invalid value for field {field}: expected {expected}"))
    }

    pub fn has(&self, camel: &str) -> bool {
        self.map.get(camel).or_else(|| self.map.get(&camel_to_snake(camel))).is_some_and(|v| !v.is_null())
    }

    pub fn string(&mut self, camel: &str) -> YcResult<String> {
        match self.take(camel) {
            None => Ok(String::new()),
            Some((_, Value::String(s))) => Ok(s),
            Some((field, _)) => Err(Self::wrong(&field, "a string")),
        }
    }

    pub fn int64(&mut self, camel: &str) -> YcResult<i64> {
        match self.take(camel) {
            None => Ok(0),
            Some((field, Value::String(s))) => s.trim().parse::<i64>().map_err(|_| Self::wrong(&field, "an int64")),
            Some((field, Value::Number(n))) => n.as_i64().ok_or_else(|| Self::wrong(&field, "an int64")),
            Some((field, _)) => Err(Self::wrong(&field, "an int64")),
        }
    }

    pub fn boolean(&mut self, camel: &str) -> YcResult<bool> {
        match self.take(camel) {
            None => Ok(false),
            Some((_, Value::Bool(b))) => Ok(b),
            Some((field, _)) => Err(Self::wrong(&field, "a boolean")),
        }
    }

    /// An enum by name or number.
    pub fn enumeration(&mut self, camel: &str, from_name: impl Fn(&str) -> Option<i32>) -> YcResult<i32> {
        match self.take(camel) {
            None => Ok(0),
            Some((field, Value::String(s))) => from_name(&s).ok_or_else(|| Self::wrong(&field, "a known enum value")),
            Some((field, Value::Number(n))) => {
                n.as_i64().and_then(|v| i32::try_from(v).ok()).ok_or_else(|| Self::wrong(&field, "an enum value"))
            }
            Some((field, _)) => Err(Self::wrong(&field, "an enum value")),
        }
    }

    pub fn string_map(&mut self, camel: &str) -> YcResult<BTreeMap<String, String>> {
        match self.take(camel) {
            None => Ok(BTreeMap::new()),
            Some((field, Value::Object(m))) => m
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    _ => Err(Self::wrong(&field, "an object of strings")),
                })
                .collect(),
            Some((field, _)) => Err(Self::wrong(&field, "an object of strings")),
        }
    }

    pub fn string_list(&mut self, camel: &str) -> YcResult<Vec<String>> {
        match self.take(camel) {
            None => Ok(Vec::new()),
            Some((field, Value::Array(items))) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(Self::wrong(&field, "a list of strings")),
                })
                .collect(),
            Some((field, _)) => Err(Self::wrong(&field, "a list of strings")),
        }
    }

    pub fn object(&mut self, camel: &str) -> YcResult<Option<Obj>> {
        let context = self.context;
        match self.take(camel) {
            None => Ok(None),
            Some((_, v @ Value::Object(_))) => Obj::new(v, context).map(Some),
            Some((field, _)) => Err(Self::wrong(&field, "an object")),
        }
    }

    /// A FieldMask: one comma-separated string of camelCase paths (or a list).
    pub fn field_mask(&mut self, camel: &str) -> YcResult<Option<FieldMask>> {
        let paths: Vec<String> = match self.take(camel) {
            None => return Ok(None),
            Some((_, Value::String(s))) => s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect(),
            Some((_, Value::Array(items))) => items.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            Some((field, Value::Object(mut m))) => match m.remove("paths") {
                Some(Value::Array(items)) => items.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
                _ => return Err(Self::wrong(&field, "a field mask")),
            },
            Some((field, _)) => return Err(Self::wrong(&field, "a field mask")),
        };
        Ok(Some(FieldMask { paths: paths.iter().map(|p| camel_to_snake(p)).collect() }))
    }

    /// Reject whatever was not read.
    pub fn finish(self) -> YcResult<()> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(key) => Err(YcError::invalid(format!("{}: unknown field {key:?}", self.context))),
        }
    }
}

pub fn parse_hardware_generation(value: Value) -> YcResult<compute::HardwareGeneration> {
    let mut obj = Obj::new(value, "hardwareGeneration")?;
    let legacy = obj.object("legacyFeatures")?;
    let gen2 = obj.object("generation2Features")?;
    obj.finish()?;
    let features = match (legacy, gen2) {
        (Some(_), Some(_)) => {
            return Err(YcError::invalid("hardwareGeneration: only one of legacyFeatures, generation2Features may be set"))
        }
        (Some(mut legacy), None) => {
            let pci_topology = legacy.enumeration("pciTopology", |n| compute::PciTopology::from_str_name(n).map(|t| t as i32))?;
            legacy.finish()?;
            Some(Features::LegacyFeatures(compute::LegacyHardwareFeatures { pci_topology }))
        }
        (None, Some(mut g2)) => {
            let features = compute::Generation2HardwareFeatures {
                secure_boot_template_id: g2.string("secureBootTemplateId")?,
                vtpm_enabled: g2.boolean("vtpmEnabled")?,
            };
            g2.finish()?;
            Some(Features::Generation2Features(features))
        }
        (None, None) => None,
    };
    Ok(compute::HardwareGeneration { features })
}

pub fn parse_create_image(body: Value) -> YcResult<compute::CreateImageRequest> {
    let mut obj = Obj::new(body, "CreateImageRequest")?;
    let mut sources = Vec::new();
    for (field, make) in [
        ("imageId", Source::ImageId as fn(String) -> Source),
        ("diskId", Source::DiskId),
        ("snapshotId", Source::SnapshotId),
        ("uri", Source::Uri),
    ] {
        if obj.has(field) {
            sources.push(make(obj.string(field)?));
        }
    }
    if sources.len() > 1 {
        return Err(YcError::invalid("validation failed:\n  - source: only one of imageId, diskId, snapshotId, uri may be set"));
    }
    let os = match obj.object("os")? {
        None => None,
        Some(mut os) => {
            let r#type = os.enumeration("type", |n| compute::os::Type::from_str_name(n).map(|t| t as i32))?;
            let nvidia = match os.object("nvidia")? {
                None => None,
                Some(mut n) => {
                    let driver = n.string("driver")?;
                    n.finish()?;
                    Some(compute::Nvidia { driver })
                }
            };
            os.finish()?;
            Some(compute::Os { r#type, nvidia })
        }
    };
    let hardware_generation = match obj.take("hardwareGeneration") {
        None => None,
        Some((_, value)) => Some(parse_hardware_generation(value)?),
    };
    let request = compute::CreateImageRequest {
        folder_id: obj.string("folderId")?,
        name: obj.string("name")?,
        description: obj.string("description")?,
        labels: obj.string_map("labels")?,
        family: obj.string("family")?,
        min_disk_size: obj.int64("minDiskSize")?,
        product_ids: obj.string_list("productIds")?,
        source: sources.pop(),
        os,
        pooled: obj.boolean("pooled")?,
        hardware_generation,
    };
    obj.finish()?;
    Ok(request)
}

pub fn parse_update_image(image_id: String, body: Value) -> YcResult<compute::UpdateImageRequest> {
    let mut obj = Obj::new(body, "UpdateImageRequest")?;
    let in_body = obj.string("imageId")?;
    if !in_body.is_empty() && in_body != image_id {
        return Err(YcError::invalid("imageId in the body differs from the one in the path"));
    }
    let request = compute::UpdateImageRequest {
        image_id,
        update_mask: obj.field_mask("updateMask")?,
        name: obj.string("name")?,
        description: obj.string("description")?,
        min_disk_size: obj.int64("minDiskSize")?,
        labels: obj.string_map("labels")?,
    };
    obj.finish()?;
    Ok(request)
}

pub fn parse_create_iam_token(body: Value) -> YcResult<iam::CreateIamTokenRequest> {
    use iam::create_iam_token_request::Identity;
    let mut obj = Obj::new(body, "CreateIamTokenRequest")?;
    let oauth = obj.has("yandexPassportOauthToken").then(|| obj.string("yandexPassportOauthToken")).transpose()?;
    let jwt = obj.has("jwt").then(|| obj.string("jwt")).transpose()?;
    obj.finish()?;
    let identity = match (oauth, jwt) {
        (Some(_), Some(_)) => return Err(YcError::invalid("only one of yandexPassportOauthToken, jwt may be set")),
        (Some(token), None) => Some(Identity::YandexPassportOauthToken(token)),
        (None, Some(jwt)) => Some(Identity::Jwt(jwt)),
        (None, None) => None,
    };
    Ok(iam::CreateIamTokenRequest { identity })
}

pub fn iam_token(response: &iam::CreateIamTokenResponse) -> Value {
    let mut map = Map::new();
    map.insert("iamToken".into(), Value::String(response.iam_token.clone()));
    if let Some(t) = &response.expires_at {
        map.insert("expiresAt".into(), Value::String(rfc3339(t)));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_accepts_both_spellings_and_strings_for_int64() {
        let body = json!({"folderId": "b1g", "min_disk_size": "4194304", "imageId": "fd8x", "os": {"type": "WINDOWS"},
                          "hardwareGeneration": {"legacyFeatures": {"pciTopology": 2}}, "labels": {"a": "b"}});
        let req = parse_create_image(body).unwrap_or_default();
        assert_eq!(req.folder_id, "b1g");
        assert_eq!(req.min_disk_size, 4_194_304);
        assert_eq!(req.source, Some(Source::ImageId("fd8x".into())));
        assert_eq!(req.os.map(|o| o.r#type), Some(compute::os::Type::Windows as i32));
        assert!(parse_create_image(json!({"folderId": "b", "bogus": 1})).is_err());
        assert!(parse_create_image(json!({"imageId": "a", "uri": "b"})).is_err());
        assert!(parse_create_image(json!({"minDiskSize": "x"})).is_err());
    }

    #[test]
    fn update_mask_is_camel_case_in_json() {
        let req = parse_update_image("fd8".into(), json!({"updateMask": "name, minDiskSize", "minDiskSize": 5})).unwrap_or_default();
        assert_eq!(req.update_mask.map(|m| m.paths), Some(vec!["name".to_string(), "min_disk_size".to_string()]));
        assert_eq!(req.min_disk_size, 5);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(&prost_types::Timestamp { seconds: 1556621636, nanos: 0 }), "2019-04-30T10:53:56Z");
        assert_eq!(rfc3339(&prost_types::Timestamp { seconds: 1556621636, nanos: 452_564_000 }), "2019-04-30T10:53:56.452564Z");
    }

    #[test]
    fn image_json_omits_defaults_and_quotes_int64() {
        let img = compute::Image { id: "fd8".into(), storage_size: 10, status: 2, ..Default::default() };
        assert_eq!(image(&img), json!({"id": "fd8", "storageSize": "10", "status": "READY"}));
    }
}
