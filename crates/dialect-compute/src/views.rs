//! How Nova renders an image (`nova/api/openstack/compute/views/images.py`): the
//! summary (`id`, `name`, `links`) and the detail view, as JSON maps a
//! Nova-compatible dialect can extend (Huawei ECS adds `__*` keys to `metadata`
//! through [`image_detail_with`]). Nothing here reads a request.

use imagery_core::time::iso_seconds;
use imagery_core::{Image, ImageStatus};
use serde_json::{json, Map, Value};

/// Properties Nova JSON-decodes before showing them.
const JSON_PROPERTIES: [&str; 2] = ["block_device_mapping", "mappings"];

/// Where the links of a response point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// The compute root: scheme, host and mount prefix, no trailing slash
    /// (`http://h:8774`, `http://h/compute`).
    pub compute_base: String,
    /// The API version segment of the request (`v2` or `v2.1`).
    pub version: String,
    /// The project id, when the request URL carried one.
    pub project_id: Option<String>,
    /// The public image (Glance) endpoint, no trailing slash.
    pub image_endpoint: String,
}

impl Links {
    fn project_prefix(&self) -> String {
        match &self.project_id {
            Some(p) => format!("/{p}"),
            None => String::new(),
        }
    }

    /// `<base>/<version>[/<project>]/<collection>`: versioned, for `self` and `next`.
    pub fn collection(&self, collection: &str) -> String {
        format!("{}/{}{}/{collection}", self.compute_base, self.version, self.project_prefix())
    }

    /// `<base>[/<project>]/<collection>/<id>`: unversioned, for `bookmark`.
    pub fn bookmark(&self, collection: &str, id: &str) -> String {
        format!("{}{}/{collection}/{id}", self.compute_base, self.project_prefix())
    }

    /// `self` and `bookmark` of a compute resource.
    pub fn resource_links(&self, collection: &str, id: &str) -> Vec<Value> {
        vec![
            json!({"rel": "self", "href": format!("{}/{id}", self.collection(collection))}),
            json!({"rel": "bookmark", "href": self.bookmark(collection, id)}),
        ]
    }

    /// The three links of an image: self, bookmark, and the Glance alternate.
    pub fn image_links(&self, id: &str) -> Value {
        let mut links = self.resource_links("images", id);
        links.push(json!({
            "rel": "alternate",
            "type": "application/vnd.openstack.image",
            "href": format!("{}/images/{id}", self.image_endpoint),
        }));
        Value::Array(links)
    }
}

/// Nova's image status names.
pub fn nova_status(status: ImageStatus) -> &'static str {
    match status {
        ImageStatus::Active => "ACTIVE",
        ImageStatus::Queued | ImageStatus::Saving => "SAVING",
        ImageStatus::Deleted | ImageStatus::PendingDelete => "DELETED",
        ImageStatus::Killed => "ERROR",
        ImageStatus::Uploading | ImageStatus::Importing | ImageStatus::Deactivated => "UNKNOWN",
    }
}

pub fn progress(status: ImageStatus) -> u8 {
    match status {
        ImageStatus::Queued => 25,
        ImageStatus::Saving => 50,
        ImageStatus::Active => 100,
        _ => 0,
    }
}

/// oslo's `bool_from_string`, which decides `OS-DCF:diskConfig`.
fn truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "t" | "true" | "on" | "y" | "yes")
}

/// What a property looks like in `metadata`: a string, except the properties Nova
/// JSON-decodes (kept as strings when they do not hold JSON).
pub fn metadata_value(key: &str, value: &str) -> Value {
    if JSON_PROPERTIES.contains(&key) {
        if let Ok(decoded) = serde_json::from_str::<Value>(value) {
            return decoded;
        }
    }
    Value::String(value.to_string())
}

/// The image's `metadata`: its custom properties, nothing else (no base
/// attributes, none of imagery's reserved keys).
pub fn metadata(img: &Image) -> Map<String, Value> {
    img.user_properties().map(|(k, v)| (k.clone(), metadata_value(k, v))).collect()
}

/// Index item: `id`, `name`, `links`.
pub fn image_summary(img: &Image, links: &Links) -> Map<String, Value> {
    let id = img.id.to_string();
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("name".into(), json!(img.name));
    m.insert("links".into(), links.image_links(&id));
    m
}

/// The detail view with the image's own metadata.
pub fn image_detail(img: &Image, links: &Links) -> Map<String, Value> {
    image_detail_with(img, links, metadata(img))
}

/// The detail view with `metadata` chosen by the caller (usually [`metadata`]
/// extended with dialect-specific keys).
pub fn image_detail_with(img: &Image, links: &Links, metadata: Map<String, Value>) -> Map<String, Value> {
    let id = img.id.to_string();
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("name".into(), json!(img.name));
    m.insert("minRam".into(), json!(img.min_ram));
    m.insert("minDisk".into(), json!(img.min_disk));
    m.insert("created".into(), json!(iso_seconds(&img.created_at)));
    m.insert("updated".into(), json!(iso_seconds(&img.updated_at)));
    m.insert("status".into(), json!(nova_status(img.status)));
    m.insert("progress".into(), json!(progress(img.status)));
    m.insert("OS-EXT-IMG-SIZE:size".into(), json!(img.size.unwrap_or(0)));
    if let Some(auto) = img.properties.get("auto_disk_config") {
        m.insert("OS-DCF:diskConfig".into(), json!(if truthy(auto) { "AUTO" } else { "MANUAL" }));
    }
    if let Some(server) = img.properties.get("instance_uuid") {
        m.insert("server".into(), json!({"id": server, "links": links.resource_links("servers", server)}));
    }
    m.insert("metadata".into(), Value::Object(metadata));
    m.insert("links".into(), links.image_links(&id));
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn links(project: Option<&str>) -> Links {
        Links {
            compute_base: "http://h".into(),
            version: "v2.1".into(),
            project_id: project.map(str::to_string),
            image_endpoint: "http://glance.h".into(),
        }
    }

    #[test]
    fn detail_view() {
        let mut img = Image::new(Uuid::nil(), Some("p".into()), imagery_core::time::now());
        img.status = ImageStatus::Active;
        img.size = Some(42);
        img.properties.insert("auto_disk_config".into(), "True".into());
        img.properties.insert("instance_uuid".into(), "srv".into());
        img.properties.insert("block_device_mapping".into(), "[{\"boot_index\": 0}]".into());
        img.set_reserved("yandex_id", "fd8x");
        let view = image_detail(&img, &links(Some("p")));
        let keys: Vec<&str> = view.keys().map(String::as_str).collect();
        assert_eq!(
            keys.iter().copied().collect::<std::collections::BTreeSet<_>>(),
            [
                "id",
                "name",
                "minRam",
                "minDisk",
                "created",
                "updated",
                "status",
                "progress",
                "OS-EXT-IMG-SIZE:size",
                "OS-DCF:diskConfig",
                "server",
                "metadata",
                "links"
            ]
            .into_iter()
            .collect()
        );
        assert_eq!(view["status"], "ACTIVE");
        assert_eq!(view["progress"], 100);
        assert_eq!(view["OS-DCF:diskConfig"], "AUTO");
        assert_eq!(view["metadata"]["block_device_mapping"], json!([{"boot_index": 0}]));
        assert!(view["metadata"].get("imagery:yandex_id").is_none());
        let id = Uuid::nil();
        assert_eq!(view["links"][0]["href"], format!("http://h/v2.1/p/images/{id}"));
        assert_eq!(view["links"][1]["href"], format!("http://h/p/images/{id}"));
        assert_eq!(view["links"][2]["href"], format!("http://glance.h/images/{id}"));
        assert_eq!(view["server"]["links"][1]["href"], "http://h/p/servers/srv");
        let bare = image_summary(&img, &links(None));
        assert_eq!(bare["links"][0]["href"], format!("http://h/v2.1/images/{id}"));
        assert_eq!(bare.len(), 3);
    }

    #[test]
    fn status_maps() {
        assert_eq!(nova_status(ImageStatus::Queued), "SAVING");
        assert_eq!(progress(ImageStatus::Queued), 25);
        assert_eq!(nova_status(ImageStatus::Killed), "ERROR");
        assert_eq!(nova_status(ImageStatus::Deactivated), "UNKNOWN");
        assert_eq!(progress(ImageStatus::Deactivated), 0);
    }
}
