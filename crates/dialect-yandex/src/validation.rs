//! The request rules of the Yandex protos (`yandex.cloud.validation` options, now
//! comments): lengths, name/family/label patterns, value ranges. Violations are
//! collected and reported together as one `INVALID_ARGUMENT`.

use std::collections::BTreeMap;

use crate::error::{YcError, YcResult};
use crate::ids::MAX_ID_LEN;

pub const NAME_PATTERN: &str = "|[a-z]([-_a-z0-9]{0,61}[a-z0-9])?";
pub const FAMILY_PATTERN: &str = "|[a-z][-a-z0-9]{1,61}[a-z0-9]";
pub const MIN_DISK_SIZE_RANGE: std::ops::RangeInclusive<i64> = 4_194_304..=4_398_046_511_104;
pub const MAX_PAGE_SIZE: i64 = 1000;
pub const DEFAULT_PAGE_SIZE: i64 = 100;

#[derive(Default)]
pub struct Checks(Vec<String>);

impl Checks {
    fn fail(&mut self, field: &str, why: impl std::fmt::Display) {
        self.0.push(format!("{field}: {why}"));
    }

    pub fn required(&mut self, field: &str, value: &str) -> &mut Self {
        if value.is_empty() {
            self.fail(field, "field is required");
        }
        self
    }

    pub fn max_len(&mut self, field: &str, value: &str, max: usize) -> &mut Self {
        if value.chars().count() > max {
            self.fail(field, format!("the length must be at most {max} characters"));
        }
        self
    }

    /// A required resource id (`image_id`, `folder_id`, `operation_id`).
    pub fn id(&mut self, field: &str, value: &str) -> &mut Self {
        self.required(field, value).max_len(field, value, MAX_ID_LEN)
    }

    pub fn name(&mut self, field: &str, value: &str) -> &mut Self {
        if !is_name(value) {
            self.fail(field, format!("field does not match the pattern /{NAME_PATTERN}/"));
        }
        self
    }

    pub fn family(&mut self, field: &str, value: &str) -> &mut Self {
        if !is_family(value) {
            self.fail(field, format!("field does not match the pattern /{FAMILY_PATTERN}/"));
        }
        self
    }

    pub fn labels(&mut self, field: &str, labels: &BTreeMap<String, String>) -> &mut Self {
        if labels.len() > 64 {
            self.fail(field, "no more than 64 per resource");
        }
        for (key, value) in labels {
            if !is_label_key(key) {
                self.fail(&format!("{field}[{key:?}]"), "key must be 1-63 characters matching /[a-z][-_./\\@0-9a-z]*/");
            }
            if !is_label_value(value) {
                self.fail(&format!("{field}[{key:?}]"), "value must be at most 63 characters matching /[-_./\\@0-9a-z]*/");
            }
        }
        self
    }

    /// `min_disk_size`: 0 (unset) or 4 MiB .. 4 TiB.
    pub fn min_disk_size(&mut self, field: &str, value: i64) -> &mut Self {
        if value != 0 && !MIN_DISK_SIZE_RANGE.contains(&value) {
            self.fail(field, format!("value must be in range {}-{}", MIN_DISK_SIZE_RANGE.start(), MIN_DISK_SIZE_RANGE.end()));
        }
        self
    }

    pub fn page(&mut self, page_size: i64, page_token: &str) -> &mut Self {
        if !(0..=MAX_PAGE_SIZE).contains(&page_size) {
            self.fail("page_size", format!("value must be in range 0-{MAX_PAGE_SIZE}"));
        }
        self.max_len("page_token", page_token, 100)
    }

    pub fn check(&self) -> YcResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(YcError::invalid(format!("validation failed:\n  - {}", self.0.join("\n  - "))))
        }
    }
}

/// Page size as requested, 0 meaning the default.
pub fn page_size(requested: i64) -> usize {
    usize::try_from(if requested == 0 { DEFAULT_PAGE_SIZE } else { requested.clamp(1, MAX_PAGE_SIZE) }).unwrap_or(100)
}

fn lower_or_digit(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `|[a-z]([-_a-z0-9]{0,61}[a-z0-9])?`
pub fn is_name(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    s.chars().count() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.ends_with(lower_or_digit)
        && s.chars().all(|c| lower_or_digit(c) || c == '-' || c == '_')
}

/// `|[a-z][-a-z0-9]{1,61}[a-z0-9]`
pub fn is_family(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    (3..=63).contains(&s.chars().count())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.ends_with(lower_or_digit)
        && s.chars().all(|c| lower_or_digit(c) || c == '-')
}

fn label_char(c: char) -> bool {
    lower_or_digit(c) || matches!(c, '-' | '_' | '.' | '/' | '@')
}

fn is_label_key(s: &str) -> bool {
    let count = s.chars().count();
    (1..=63).contains(&count) && s.starts_with(|c: char| c.is_ascii_lowercase()) && s.chars().all(label_char)
}

fn is_label_value(s: &str) -> bool {
    s.chars().count() <= 63 && s.chars().all(label_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        for ok in ["", "a", "ab", "my-image_1", "a1"] {
            assert!(is_name(ok), "{ok}");
        }
        for bad in ["A", "1a", "a-", "a_", "my image", &"a".repeat(64)] {
            assert!(!is_name(bad), "{bad}");
        }
        for ok in ["", "abc", "debian-12", &"a".repeat(63)] {
            assert!(is_family(ok), "{ok}");
        }
        for bad in ["ab", "a_b-c", "abc-", "9abc", &"a".repeat(64)] {
            assert!(!is_family(bad), "{bad}");
        }
        assert!(is_label_key("env") && is_label_key("a/b.c@d-e_f") && !is_label_key("Env") && !is_label_key("1a") && !is_label_key(""));
        assert!(is_label_value("") && is_label_value("prod-1") && !is_label_value("Prod") && !is_label_value(&"a".repeat(64)));
    }

    #[test]
    fn checks_collect_every_violation() {
        let mut labels = BTreeMap::new();
        labels.insert("Bad".to_string(), "x".to_string());
        let err =
            Checks::default().name("name", "Bad").family("family", "x").labels("labels", &labels).min_disk_size("min_disk_size", 5).check();
        let message = err.err().map(|e| e.message).unwrap_or_default();
        for field in ["name", "family", "labels", "min_disk_size"] {
            assert!(message.contains(field), "{message}");
        }
        assert!(Checks::default().min_disk_size("m", 0).min_disk_size("m", 4_194_304).check().is_ok());
        assert!(Checks::default().page(1001, "").check().is_err());
        assert_eq!(page_size(0), 100);
    }
}
