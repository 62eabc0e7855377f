//! The JSON schemas Glance publishes under `/v2/schemas/*`. glanceclient builds
//! its JSON-patch diffs from the image schema, so base properties and their types
//! must be exactly Glance's.

use serde_json::{json, Value};

const UUID_PATTERN: &str = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";

fn enum_with_null(values: &[String]) -> Value {
    let mut v = vec![Value::Null];
    v.extend(values.iter().map(|s| Value::String(s.clone())));
    Value::Array(v)
}

pub fn image_properties(container_formats: &[String], disk_formats: &[String]) -> Value {
    json!({
        "id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
        "name": {"type": ["null", "string"], "description": "Descriptive name for the image", "maxLength": 255},
        "status": {"type": "string", "readOnly": true, "description": "Status of the image",
                   "enum": ["queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"]},
        "visibility": {"type": "string", "description": "Scope of image accessibility", "enum": ["community", "public", "private", "shared"]},
        "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
        "os_hidden": {"type": "boolean", "description": "If true, image will not appear in default image list response."},
        "checksum": {"type": ["null", "string"], "readOnly": true, "description": "md5 hash of image contents.", "maxLength": 32},
        "os_hash_algo": {"type": ["null", "string"], "readOnly": true, "description": "Algorithm to calculate the os_hash_value", "maxLength": 64},
        "os_hash_value": {"type": ["null", "string"], "readOnly": true, "description": "Hexdigest of the image contents using the algorithm specified by the os_hash_algo", "maxLength": 128},
        "owner": {"type": ["null", "string"], "description": "Owner of the image", "maxLength": 255},
        "size": {"type": ["null", "integer"], "readOnly": true, "description": "Size of image file in bytes"},
        "virtual_size": {"type": ["null", "integer"], "readOnly": true, "description": "Virtual size of image in bytes"},
        "container_format": {"type": ["null", "string"], "description": "Format of the container", "enum": enum_with_null(container_formats)},
        "disk_format": {"type": ["null", "string"], "description": "Format of the disk", "enum": enum_with_null(disk_formats)},
        "created_at": {"type": "string", "readOnly": true, "description": "Date and time of image registration"},
        "updated_at": {"type": "string", "readOnly": true, "description": "Date and time of the last image modification"},
        "tags": {"type": "array", "description": "List of strings related to the image", "items": {"type": "string", "maxLength": 255}},
        "direct_url": {"type": "string", "readOnly": true, "description": "URL to access the image file kept in external store"},
        "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
        "min_disk": {"type": "integer", "description": "Amount of disk space (in GB) required to boot image."},
        "self": {"type": "string", "readOnly": true, "description": "An image self url"},
        "file": {"type": "string", "readOnly": true, "description": "An image file url"},
        "stores": {"type": "string", "readOnly": true, "description": "Store in which image data resides.  Only present when the operator has enabled multiple stores.  May be a comma-separated list of store identifiers."},
        "schema": {"type": "string", "readOnly": true, "description": "An image schema url"},
        "locations": {"type": "array", "description": "A set of URLs to access the image file kept in external store",
                      "items": {"type": "object", "properties": {"url": {"type": "string", "maxLength": 255}, "metadata": {"type": "object"},
                                "validation_data": {"type": "object", "description": "Values to be used to populate the corresponding image properties. If the image status is not 'queued', values must exactly match those already contained in the image properties.",
                                                     "properties": {"checksum": {"type": "string", "minLength": 32, "maxLength": 32},
                                                                    "os_hash_algo": {"type": "string", "maxLength": 64},
                                                                    "os_hash_value": {"type": "string", "maxLength": 128}},
                                                     "required": ["os_hash_algo", "os_hash_value"], "writeOnly": true, "additionalProperties": false}},
                                "required": ["url", "metadata"]}},
        "kernel_id": {"type": ["null", "string"], "pattern": UUID_PATTERN, "description": "ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.", "is_base": false},
        "ramdisk_id": {"type": ["null", "string"], "pattern": UUID_PATTERN, "description": "ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.", "is_base": false},
        "instance_uuid": {"type": "string", "description": "Metadata which can be used to record which instance this image is associated with. (Informational only, does not create an instance snapshot.)", "is_base": false},
        "architecture": {"type": "string", "description": "Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html", "is_base": false},
        "os_distro": {"type": "string", "description": "Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html", "is_base": false},
        "os_version": {"type": "string", "description": "Operating system version as specified by the distributor.", "is_base": false},
        "description": {"type": "string", "description": "A human-readable string describing this image.", "is_base": false},
        "cinder_encryption_key_id": {"type": "string", "description": "Identifier in the OpenStack Key Management Service for the encryption key for the Block Storage Service to use when mounting a volume created from this image", "is_base": false},
        "cinder_encryption_key_deletion_policy": {"type": "string", "enum": ["on_image_deletion", "do_not_delete"], "description": "States the condition under which the Image Service will delete the object associated with the 'cinder_encryption_key_id' image property.  If this property is missing, the Image Service will take no action", "is_base": false}
    })
}

pub fn image(container_formats: &[String], disk_formats: &[String]) -> Value {
    json!({
        "name": "image",
        "properties": image_properties(container_formats, disk_formats),
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"}
        ]
    })
}

pub fn images(container_formats: &[String], disk_formats: &[String]) -> Value {
    json!({
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image(container_formats, disk_formats)},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"}
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"}
        ]
    })
}

pub fn member() -> Value {
    json!({
        "name": "member",
        "properties": {
            "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
            "image_id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
            "created_at": {"type": "string", "description": "Date and time of image member creation"},
            "updated_at": {"type": "string", "description": "Date and time of last modification of image member"},
            "status": {"type": "string", "description": "The status of this image member", "enum": ["pending", "accepted", "rejected"]},
            "schema": {"type": "string", "readOnly": true}
        }
    })
}

pub fn members() -> Value {
    json!({
        "name": "members",
        "properties": {
            "members": {"type": "array", "items": member()},
            "schema": {"type": "string"}
        },
        "links": [{"rel": "describedby", "href": "{schema}"}]
    })
}

pub fn task() -> Value {
    json!({
        "name": "task",
        "properties": {
            "id": {"type": "string", "pattern": UUID_PATTERN, "description": "An identifier for the task"},
            "type": {"type": "string", "enum": ["import", "api_image_import", "location_import"], "description": "The type of task represented by this content"},
            "status": {"type": "string", "enum": ["pending", "processing", "success", "failure"], "description": "The current status of this task"},
            "input": {"type": ["null", "object"], "description": "The parameters required by task, JSON blob"},
            "result": {"type": ["null", "object"], "description": "The result of current task, JSON blob"},
            "owner": {"type": "string", "description": "An identifier for the owner of this task"},
            "message": {"type": "string", "description": "Human-readable informative message only included when appropriate (usually on failure)"},
            "image_id": {"type": "string", "description": "Image associated with the task"},
            "request_id": {"type": "string", "description": "Human-readable informative request-id"},
            "user_id": {"type": "string", "description": "User associated with the task"},
            "expires_at": {"type": ["null", "string"], "description": "Datetime when this resource would be subject to removal"},
            "created_at": {"type": "string", "description": "Datetime when this resource was created"},
            "updated_at": {"type": "string", "description": "Datetime when this resource was updated"},
            "self": {"type": "string"},
            "schema": {"type": "string"}
        }
    })
}

/// Schemas of the metadata-definitions API; only their names and outlines are
/// published, since the metadefs catalog itself is not served.
fn metadef(name: &str) -> Value {
    json!({"name": name, "properties": {}, "additionalProperties": false})
}

pub fn by_name(name: &str, container_formats: &[String], disk_formats: &[String]) -> Option<Value> {
    Some(match name {
        "image" => image(container_formats, disk_formats),
        "images" => images(container_formats, disk_formats),
        "member" => member(),
        "members" => members(),
        "task" => task(),
        "tasks" => {
            json!({"name": "tasks", "properties": {"tasks": {"type": "array", "items": task()}, "schema": {"type": "string"}, "first": {"type": "string"}, "next": {"type": "string"}},
                          "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, {"rel": "describedby", "href": "{schema}"}]})
        }
        "metadefs/namespace" => metadef("namespace"),
        "metadefs/namespaces" => metadef("namespaces"),
        "metadefs/resource_type" => metadef("resource_type_association"),
        "metadefs/resource_types" => metadef("resource_type_associations"),
        "metadefs/object" => metadef("object"),
        "metadefs/objects" => metadef("objects"),
        "metadefs/property" => metadef("property"),
        "metadefs/properties" => metadef("properties"),
        "metadefs/tag" => metadef("tag"),
        "metadefs/tags" => metadef("tags"),
        _ => return None,
    })
}
