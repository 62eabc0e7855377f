//! The request rules of the Yandex protos (`yandex.cloud.validation` options, now
//! comments): lengths, name/family/label patterns, value ranges. Violations are
//! collected and reported together as one `INVALID_ARGUMENT`.

use std::collections::BTreeMap;

use imagery_core::rules::{yandex, LabelSyntax, LabelViolation, NameSyntax};

use crate::error::{YcError, YcResult};
use crate::ids::MAX_ID_LEN;
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
        if !NameSyntax::Yandex.allows(value) {
            self.fail(field, format!("field does not match the pattern /{}/", NameSyntax::Yandex.pattern()));
        }
        self
    }

    pub fn description(&mut self, field: &str, value: &str) -> &mut Self {
        self.max_len(field, value, yandex::MAX_DESCRIPTION)
    }

    pub fn family(&mut self, field: &str, value: &str) -> &mut Self {
        if !yandex::family_allowed(value) {
            self.fail(field, format!("field does not match the pattern /{}/", yandex::FAMILY_PATTERN));
        }
        self
    }

    pub fn labels(&mut self, field: &str, labels: &BTreeMap<String, String>) -> &mut Self {
        let syntax = LabelSyntax::Yandex;
        for violation in syntax.violations(labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            match violation {
                LabelViolation::TooMany { max } => self.fail(field, format!("no more than {max} per resource")),
                LabelViolation::BadKey { key } => self.fail(
                    &format!("{field}[{key:?}]"),
                    format!("key must be 1-{} characters matching /[a-z][-_./\\@0-9a-z]*/", syntax.max_key_chars()),
                ),
                LabelViolation::BadValue { key } => self.fail(
                    &format!("{field}[{key:?}]"),
                    format!("value must be at most {} characters matching /[-_./\\@0-9a-z]*/", syntax.max_value_chars()),
                ),
            }
        }
        self
    }

    /// `min_disk_size`: 0 (unset) or 4 MiB .. 4 TiB.
    pub fn min_disk_size(&mut self, field: &str, value: i64) -> &mut Self {
        if !yandex::min_disk_size_allowed(value) {
            let range = yandex::MIN_DISK_SIZE_RANGE;
            self.fail(field, format!("value must be in range {}-{}", range.start(), range.end()));
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

#[cfg(test)]
mod tests {
    use super::*;

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
