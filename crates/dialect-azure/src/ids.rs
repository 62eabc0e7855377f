//! Identifier and name rules ARM applies: GUID rendering of imagery ids, resource
//! name validation, location normalisation, ARM timestamps.

use imagery_core::time::Timestamp;

/// `8-4-4-4-12` rendering of a 32-hex-digit id (lowercase); other ids as they are.
pub(crate) fn guid_or_id(id: &str) -> String {
    guid_of_hex(id).unwrap_or_else(|| id.to_string())
}

/// `8-4-4-4-12` rendering of exactly 32 hex digits.
pub(crate) fn guid_of_hex(id: &str) -> Option<String> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = id.to_ascii_lowercase();
    Some(format!("{}-{}-{}-{}-{}", &id[0..8], &id[8..12], &id[12..16], &id[16..20], &id[20..32]))
}

/// Is `s` a GUID (`8-4-4-4-12` hex digits, any case)?
pub(crate) fn is_guid(s: &str) -> bool {
    s.len() == 36 && s.bytes().enumerate().all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() })
}

/// The 32 lowercase hex digits of a GUID.
pub(crate) fn hex_of_guid(s: &str) -> Option<String> {
    is_guid(s).then(|| s.replace('-', "").to_ascii_lowercase())
}

/// ARM stores locations lowercase without spaces (`"West US"` → `"westus"`).
pub(crate) fn normalize_location(location: &str) -> String {
    location.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// Image names: ARM's resource-name syntax (the one name rule, with Azure's parameter).
pub(crate) fn valid_image_name(name: &str) -> bool {
    imagery_core::rules::NameSyntax::AzureResource.allows(name)
}

/// Resource group names: 1–90 characters, letters, digits, `_ ( ) - .`, not ending with `.`.
pub(crate) fn valid_resource_group_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=90).contains(&count)
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '(' | ')' | '-' | '.'))
        && !name.ends_with('.')
}

/// ARM's operation timestamps: `2025-01-01T00:00:00.0000000+00:00`.
pub(crate) fn arm_time(t: &Timestamp) -> String {
    format!("{}.{:07}+00:00", t.format("%Y-%m-%dT%H:%M:%S"), t.timestamp_subsec_nanos() / 100)
}

/// RFC 3339 with a `Z`, as `systemData` and resource groups show times.
pub(crate) fn iso_time(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert_eq!(guid_of_hex("0123456789ABCDEF0123456789abcdef").as_deref(), Some("01234567-89ab-cdef-0123-456789abcdef"));
        assert_eq!(guid_of_hex("xyz"), None);
        assert_eq!(guid_or_id("default"), "default");
        assert!(is_guid("01234567-89ab-cdef-0123-456789abcdef"));
        assert!(!is_guid("01234567089ab-cdef-0123-456789abcdef"));
        assert_eq!(hex_of_guid("01234567-89AB-cdef-0123-456789abcdef").as_deref(), Some("0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn names_and_locations() {
        assert_eq!(normalize_location("West US 2"), "westus2");
        assert!(valid_image_name("my-Image_1.0_"));
        assert!(!valid_image_name("-bad"));
        assert!(!valid_image_name("bad."));
        assert!(!valid_image_name(&"a".repeat(81)));
        assert!(!valid_image_name(""));
        assert!(valid_resource_group_name("my.RG(1)-x"));
        assert!(!valid_resource_group_name("rg."));
        assert!(!valid_resource_group_name("a/b"));
    }

    #[test]
    fn times() {
        let t = imagery_core::time::from_micros(1_735_689_600_123_456);
        assert_eq!(arm_time(&t), "2025-01-01T00:00:00.1234560+00:00");
    }
}
