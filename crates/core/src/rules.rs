//! Attribute rules every image edit passes, whatever dialect it came through:
//! lengths, ranges, character sets, reserved names and format allow-lists. Pure
//! functions; the service applies them to every create and update, and a dialect
//! may call them earlier (while parsing) to keep its cloud's order of errors — but
//! never re-implements them. Where clouds really differ (Nova's metadata keys and
//! values), the difference is a [`PropertyRules`] parameter, not a second rule.

use crate::error::{DomainError, DomainResult, Field, Problem};
use crate::image::{ATTRIBUTE_NAMES, RESERVED_PREFIX};

/// Longest name, tag, property key, owner or member id, in characters (Glance's
/// columns are 255 wide).
pub const MAX_IDENTIFIER: usize = 255;
/// Largest `min_disk` / `min_ram` (Glance's schema: a 32-bit integer).
pub const MAX_INT_ATTR: i64 = i32::MAX as i64;
/// Longest property value Glance stores (its `image_properties.value` column is TEXT
/// of 65,535 bytes; the schema sets no limit).
pub const MAX_GLANCE_PROPERTY_VALUE: usize = 65_535;

/// Attributes only the server sets (Glance's read-only attributes).
pub const READ_ONLY_ATTRIBUTES: [&str; 14] = [
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "self",
    "file",
    "schema",
    "direct_url",
    "stores",
    "id",
];

/// Attributes nobody may set (Glance's reserved attributes).
pub const RESERVED_ATTRIBUTES: [&str; 4] = ["location", "deleted", "deleted_at", "locations"];

/// Which characters a property key may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCharset {
    /// Anything but control characters (Glance, Huawei, and imagery's own views).
    Printable,
    /// Nova's image-metadata key pattern `^[a-zA-Z0-9-_:. ]{1,255}$`.
    NovaMetadata,
}

/// How a dialect's cloud limits custom properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyRules {
    pub key_charset: KeyCharset,
    pub max_value_chars: usize,
}

impl PropertyRules {
    /// Glance (and every dialect that has no rule of its own).
    pub const GLANCE: PropertyRules = PropertyRules { key_charset: KeyCharset::Printable, max_value_chars: MAX_GLANCE_PROPERTY_VALUE };
    /// Nova's image metadata: its key pattern and 255-character values.
    pub const NOVA: PropertyRules = PropertyRules { key_charset: KeyCharset::NovaMetadata, max_value_chars: 255 };
}

impl Default for PropertyRules {
    fn default() -> Self {
        PropertyRules::GLANCE
    }
}

fn bad_request(problem: Problem) -> DomainError {
    DomainError::BadRequest(problem)
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn identifier(field: Field, value: &str) -> DomainResult<()> {
    if value.chars().count() > MAX_IDENTIFIER {
        return Err(bad_request(Problem::TooLong { field, max: MAX_IDENTIFIER, key: None }));
    }
    if has_control(value) {
        return Err(bad_request(Problem::BadCharacters { field, value: value.to_string() }));
    }
    Ok(())
}

pub fn check_name(name: &str) -> DomainResult<()> {
    identifier(Field::Name, name)
}

pub fn check_tag(tag: &str) -> DomainResult<()> {
    identifier(Field::Tag, tag)
}

pub fn check_owner(owner: &str) -> DomainResult<()> {
    identifier(Field::Owner, owner)
}

/// A member is a project id: 1 to 255 printable characters.
pub fn check_member_id(member: &str) -> DomainResult<()> {
    if member.is_empty() {
        return Err(bad_request(Problem::BadCharacters { field: Field::MemberId, value: String::new() }));
    }
    identifier(Field::MemberId, member)
}

/// `min_disk` and `min_ram`: 0 ..= 2³¹−1.
pub fn check_int_attr(field: Field, value: i64) -> DomainResult<()> {
    if (0..=MAX_INT_ATTR).contains(&value) {
        Ok(())
    } else {
        Err(bad_request(Problem::OutOfRange { field, value, min: 0, max: MAX_INT_ATTR }))
    }
}

/// A container or disk format from the operator's list (`None` is always fine).
pub fn check_format(field: Field, value: Option<&str>, allowed: &[String]) -> DomainResult<()> {
    match value {
        Some(v) if !allowed.iter().any(|a| a == v) => {
            Err(bad_request(Problem::NotOneOf { field, value: v.to_string(), allowed: allowed.to_vec() }))
        }
        _ => Ok(()),
    }
}

/// May a client write the attribute `key` at all (on create `id` may be given)?
/// Reserved and read-only attributes are refused (403), as Glance does.
pub fn check_writable(key: &str, on_create: bool) -> DomainResult<()> {
    if RESERVED_ATTRIBUTES.contains(&key) || key.starts_with("os_glance") || key.starts_with(RESERVED_PREFIX) {
        return Err(DomainError::Forbidden(Problem::Reserved { key: key.to_string() }));
    }
    if READ_ONLY_ATTRIBUTES.contains(&key) && !(on_create && key == "id") {
        return Err(DomainError::Forbidden(Problem::ReadOnly { attribute: key.to_string() }));
    }
    Ok(())
}

/// A custom property key users may set under `rules`: its syntax, then the
/// names reserved for the server and the image's own attributes.
pub fn check_property_key(key: &str, rules: &PropertyRules) -> DomainResult<()> {
    check_property_key_syntax(key, rules)?;
    check_writable(key, false)?;
    if ATTRIBUTE_NAMES.contains(&key) {
        return Err(DomainError::Forbidden(Problem::AttributeNotProperty { key: key.to_string() }));
    }
    Ok(())
}

/// A property key's syntax alone (not empty, length, characters), for dialects
/// whose cloud validates the request body before it looks at the image.
pub fn check_property_key_syntax(key: &str, rules: &PropertyRules) -> DomainResult<()> {
    if key.is_empty() {
        return Err(bad_request(Problem::BadCharacters { field: Field::PropertyKey, value: String::new() }));
    }
    if key.chars().count() > MAX_IDENTIFIER {
        return Err(bad_request(Problem::TooLong { field: Field::PropertyKey, max: MAX_IDENTIFIER, key: Some(key.to_string()) }));
    }
    let allowed = match rules.key_charset {
        KeyCharset::Printable => !has_control(key),
        KeyCharset::NovaMetadata => key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_:. ".contains(&b)),
    };
    if !allowed {
        return Err(bad_request(Problem::BadCharacters { field: Field::PropertyKey, value: key.to_string() }));
    }
    Ok(())
}

/// A custom property value under `rules`.
pub fn check_property_value(key: &str, value: &str, rules: &PropertyRules) -> DomainResult<()> {
    if value.chars().count() > rules.max_value_chars {
        return Err(bad_request(Problem::TooLong { field: Field::PropertyValue, max: rules.max_value_chars, key: Some(key.to_string()) }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(check_name(&"n".repeat(255)).is_ok());
        assert!(matches!(
            check_name(&"n".repeat(256)),
            Err(DomainError::BadRequest(Problem::TooLong { field: Field::Name, max: 255, .. }))
        ));
        assert!(matches!(check_tag("a\u{0}b"), Err(DomainError::BadRequest(Problem::BadCharacters { .. }))));
        assert!(check_member_id("").is_err());
        assert!(check_int_attr(Field::MinRam, -1).is_err());
        assert!(check_int_attr(Field::MinRam, MAX_INT_ATTR).is_ok());
    }

    #[test]
    fn property_rules_differ_by_parameter_only() {
        assert!(check_property_key("hw disk/bus", &PropertyRules::GLANCE).is_ok());
        assert!(check_property_key("hw disk/bus", &PropertyRules::NOVA).is_err());
        assert!(check_property_key("os_glance_x", &PropertyRules::GLANCE).is_err());
        assert!(check_property_key("imagery:x", &PropertyRules::NOVA).is_err());
        assert!(matches!(check_property_key("status", &PropertyRules::GLANCE), Err(DomainError::Forbidden(Problem::ReadOnly { .. }))));
        assert!(matches!(
            check_property_key("name", &PropertyRules::GLANCE),
            Err(DomainError::Forbidden(Problem::AttributeNotProperty { .. }))
        ));
        let long = "v".repeat(256);
        assert!(check_property_value("k", &long, &PropertyRules::GLANCE).is_ok());
        assert!(check_property_value("k", &long, &PropertyRules::NOVA).is_err());
        assert!(check_property_value("k", &"v".repeat(MAX_GLANCE_PROPERTY_VALUE + 1), &PropertyRules::GLANCE).is_err());
    }
}
