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

// ---- per-cloud syntax: parameters of the same rules, where clouds really differ ----

/// How a cloud spells an image name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSyntax {
    /// Glance, Nova, Huawei: up to 255 printable characters ([`check_name`]).
    Glance,
    /// Yandex: `|[a-z]([-_a-z0-9]{0,61}[a-z0-9])?`.
    Yandex,
    /// ARM resource names: 1–80 word characters, `.` or `-`, starting and ending
    /// with a word character.
    AzureResource,
}

fn lower_or_digit(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

impl NameSyntax {
    /// The pattern as the cloud's API documents it.
    pub fn pattern(self) -> &'static str {
        match self {
            NameSyntax::Glance => "^.{0,255}$",
            NameSyntax::Yandex => "|[a-z]([-_a-z0-9]{0,61}[a-z0-9])?",
            NameSyntax::AzureResource => "^[\\w][\\w.-]{0,78}[\\w]?$",
        }
    }

    /// The longest name, in characters.
    pub fn max_chars(self) -> usize {
        match self {
            NameSyntax::Glance => MAX_IDENTIFIER,
            NameSyntax::Yandex => 63,
            NameSyntax::AzureResource => 80,
        }
    }

    pub fn allows(self, name: &str) -> bool {
        let count = name.chars().count();
        match self {
            NameSyntax::Glance => count <= MAX_IDENTIFIER && !has_control(name),
            NameSyntax::Yandex => {
                name.is_empty()
                    || (count <= 63
                        && name.starts_with(|c: char| c.is_ascii_lowercase())
                        && name.ends_with(lower_or_digit)
                        && name.chars().all(|c| lower_or_digit(c) || c == '-' || c == '_'))
            }
            NameSyntax::AzureResource => {
                let word = |c: char| c.is_alphanumeric() || c == '_';
                (1..=80).contains(&count)
                    && name.chars().all(|c| word(c) || c == '.' || c == '-')
                    && name.chars().next().is_some_and(word)
                    && name.chars().last().is_some_and(word)
            }
        }
    }
}

/// Key/value metadata a cloud shows instead of (or besides) properties: Yandex
/// labels, ARM tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelSyntax {
    /// At most 64; keys `[a-z][-_./\\@0-9a-z]{0,62}`, values `[-_./\\@0-9a-z]{0,63}`.
    Yandex,
    /// At most 50; names 1–512 characters without `<>%&\\?/`, values up to 256.
    AzureTags,
}

/// Why a set of labels or tags is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelViolation {
    TooMany { max: usize },
    BadKey { key: String },
    BadValue { key: String },
}

fn yandex_label_char(c: char) -> bool {
    lower_or_digit(c) || matches!(c, '-' | '_' | '.' | '/' | '@')
}

impl LabelSyntax {
    pub fn max_count(self) -> usize {
        match self {
            LabelSyntax::Yandex => 64,
            LabelSyntax::AzureTags => 50,
        }
    }

    pub fn max_key_chars(self) -> usize {
        match self {
            LabelSyntax::Yandex => 63,
            LabelSyntax::AzureTags => 512,
        }
    }

    pub fn max_value_chars(self) -> usize {
        match self {
            LabelSyntax::Yandex => 63,
            LabelSyntax::AzureTags => 256,
        }
    }

    pub fn key_allowed(self, key: &str) -> bool {
        let count = key.chars().count();
        match self {
            LabelSyntax::Yandex => {
                (1..=63).contains(&count) && key.starts_with(|c: char| c.is_ascii_lowercase()) && key.chars().all(yandex_label_char)
            }
            LabelSyntax::AzureTags => {
                (1..=512).contains(&count) && !key.chars().any(|c| matches!(c, '<' | '>' | '%' | '&' | '\\' | '?' | '/'))
            }
        }
    }

    pub fn value_allowed(self, value: &str) -> bool {
        let count = value.chars().count();
        match self {
            LabelSyntax::Yandex => count <= 63 && value.chars().all(yandex_label_char),
            LabelSyntax::AzureTags => count <= 256,
        }
    }

    /// Every violation of `labels`, in order (count first, then per label).
    pub fn violations<'a>(self, labels: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> Vec<LabelViolation> {
        let mut found = Vec::new();
        if labels.len() > self.max_count() {
            found.push(LabelViolation::TooMany { max: self.max_count() });
        }
        for (key, value) in labels {
            if !self.key_allowed(key) {
                found.push(LabelViolation::BadKey { key: key.to_string() });
            }
            if !self.value_allowed(value) {
                found.push(LabelViolation::BadValue { key: key.to_string() });
            }
        }
        found
    }
}

/// Yandex's image attributes without a Glance counterpart.
pub mod yandex {
    use super::lower_or_digit;

    /// `family`: `|[a-z][-a-z0-9]{1,61}[a-z0-9]`.
    pub const FAMILY_PATTERN: &str = "|[a-z][-a-z0-9]{1,61}[a-z0-9]";
    /// `description`: at most this many characters.
    pub const MAX_DESCRIPTION: usize = 256;
    /// Each of `product_ids`: at most this many characters.
    pub const MAX_PRODUCT_ID: usize = 50;
    /// `min_disk_size`: 0 (unset) or within 4 MiB .. 4 TiB.
    pub const MIN_DISK_SIZE_RANGE: std::ops::RangeInclusive<i64> = 4_194_304..=4_398_046_511_104;

    pub fn family_allowed(s: &str) -> bool {
        s.is_empty()
            || ((3..=63).contains(&s.chars().count())
                && s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.ends_with(lower_or_digit)
                && s.chars().all(|c| lower_or_digit(c) || c == '-'))
    }

    pub fn min_disk_size_allowed(bytes: i64) -> bool {
        bytes == 0 || MIN_DISK_SIZE_RANGE.contains(&bytes)
    }
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
    fn cloud_syntaxes() {
        for ok in ["", "a", "ab", "my-image_1", "a1"] {
            assert!(NameSyntax::Yandex.allows(ok), "{ok}");
        }
        for bad in ["A", "1a", "a-", "a_", "my image", &"a".repeat(64)] {
            assert!(!NameSyntax::Yandex.allows(bad), "{bad}");
        }
        assert!(NameSyntax::AzureResource.allows("img.v1-final_") && NameSyntax::AzureResource.allows(&"a".repeat(80)));
        assert!(!NameSyntax::AzureResource.allows(&"a".repeat(81)) && !NameSyntax::AzureResource.allows("-x"));
        assert!(!NameSyntax::AzureResource.allows(""));
        for ok in ["", "abc", "debian-12", &"a".repeat(63)] {
            assert!(yandex::family_allowed(ok), "{ok}");
        }
        for bad in ["ab", "a_b-c", "abc-", "9abc", &"a".repeat(64)] {
            assert!(!yandex::family_allowed(bad), "{bad}");
        }
        let y = LabelSyntax::Yandex;
        assert!(y.key_allowed("env") && y.key_allowed("a/b.c@d-e_f") && !y.key_allowed("Env") && !y.key_allowed("1a"));
        assert!(!y.key_allowed(""));
        assert!(y.value_allowed("") && y.value_allowed("prod-1") && !y.value_allowed("Prod") && !y.value_allowed(&"a".repeat(64)));
        let t = LabelSyntax::AzureTags;
        assert!(t.key_allowed(&"k".repeat(512)) && !t.key_allowed(&"k".repeat(513)) && !t.key_allowed("a/b") && !t.key_allowed(""));
        assert!(t.value_allowed(&"v".repeat(256)) && !t.value_allowed(&"v".repeat(257)));
        let many: Vec<(String, String)> = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        assert_eq!(t.violations(many.iter().map(|(k, v)| (k.as_str(), v.as_str()))), vec![LabelViolation::TooMany { max: 50 }]);
        assert!(yandex::min_disk_size_allowed(0) && !yandex::min_disk_size_allowed(5));
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
