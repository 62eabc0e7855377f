//! How Glance renders images and members.

use imagery_core::time::iso_seconds;
use imagery_core::{Image, Member};
use serde_json::{json, Map, Value};

pub fn image(img: &Image) -> Value {
    let id = img.id.to_string();
    let mut m = Map::new();
    // Custom properties first, so a base attribute can never be shadowed.
    for (k, v) in img.user_properties() {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    let base = json!({
        "id": id,
        "name": img.name,
        "status": img.status.as_str(),
        "visibility": img.visibility.as_str(),
        "protected": img.protected,
        "os_hidden": img.os_hidden,
        "checksum": img.checksum,
        "os_hash_algo": img.os_hash_algo,
        "os_hash_value": img.os_hash_value,
        "owner": img.owner,
        "size": img.size,
        "virtual_size": img.virtual_size,
        "min_disk": img.min_disk,
        "min_ram": img.min_ram,
        "container_format": img.container_format,
        "disk_format": img.disk_format,
        "created_at": iso_seconds(&img.created_at),
        "updated_at": iso_seconds(&img.updated_at),
        "tags": img.tags.iter().collect::<Vec<_>>(),
        "self": format!("/v2/images/{id}"),
        "file": format!("/v2/images/{id}/file"),
        "schema": "/v2/schemas/image",
    });
    if let Value::Object(base) = base {
        m.extend(base);
    }
    Value::Object(m)
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
