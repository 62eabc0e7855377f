//! How Glance renders images and members. Images serialize straight to bytes
//! (no intermediate JSON tree): show and list are the hot paths.

use imagery_core::image::ATTRIBUTE_NAMES;
use imagery_core::time::iso_seconds;
use imagery_core::{Image, Member};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

/// The Glance image object: base attributes (null when unset) plus custom
/// properties as extra string keys.
pub struct ImageView<'a>(pub &'a Image);

impl Serialize for ImageView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let img = self.0;
        let id = img.id.to_string();
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("id", &id)?;
        m.serialize_entry("name", &img.name)?;
        m.serialize_entry("status", img.status.as_str())?;
        m.serialize_entry("visibility", img.visibility.as_str())?;
        m.serialize_entry("protected", &img.protected)?;
        m.serialize_entry("os_hidden", &img.os_hidden)?;
        m.serialize_entry("checksum", &img.checksum)?;
        m.serialize_entry("os_hash_algo", &img.os_hash_algo)?;
        m.serialize_entry("os_hash_value", &img.os_hash_value)?;
        m.serialize_entry("owner", &img.owner)?;
        m.serialize_entry("size", &img.size)?;
        m.serialize_entry("virtual_size", &img.virtual_size)?;
        m.serialize_entry("min_disk", &img.min_disk)?;
        m.serialize_entry("min_ram", &img.min_ram)?;
        m.serialize_entry("container_format", &img.container_format)?;
        m.serialize_entry("disk_format", &img.disk_format)?;
        m.serialize_entry("created_at", &iso_seconds(&img.created_at))?;
        m.serialize_entry("updated_at", &iso_seconds(&img.updated_at))?;
        m.serialize_entry("tags", &img.tags)?;
        m.serialize_entry("self", &format_args!("/v2/images/{id}"))?;
        m.serialize_entry("file", &format_args!("/v2/images/{id}/file"))?;
        m.serialize_entry("schema", "/v2/schemas/image")?;
        for (k, v) in img.user_properties() {
            if !ATTRIBUTE_NAMES.contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// The image object as a JSON value (for dialects that extend it).
pub fn image(img: &Image) -> Value {
    serde_json::to_value(ImageView(img)).unwrap_or(Value::Null)
}

/// The list document, serialized in one pass.
#[derive(Serialize)]
pub struct ImageList<'a> {
    pub images: Vec<ImageView<'a>>,
    pub first: String,
    pub schema: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

pub fn member(m: &Member) -> Value {
    json!({
        "member_id": m.member_id,
        "image_id": m.image_id.to_string(),
        "status": m.status.as_str(),
        "created_at": iso_seconds(&m.created_at),
        "updated_at": iso_seconds(&m.updated_at),
        "schema": "/v2/schemas/member",
    })
}
