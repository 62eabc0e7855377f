//! The `api-version` query parameter: which versions each resource provider
//! accepts, and which image fields and operations each Compute version has.

use crate::error::ArmError;

/// Microsoft.Compute api-versions serving `images`, oldest first (every version
/// an azure-mgmt-compute release has sent for images).
pub(crate) const COMPUTE: &[&str] = &[
    "2016-04-30-preview",
    "2017-03-30",
    "2017-12-01",
    "2018-04-01",
    "2018-06-01",
    "2018-10-01",
    "2019-03-01",
    "2019-07-01",
    "2019-12-01",
    "2020-06-01",
    "2020-12-01",
    "2021-03-01",
    "2021-04-01",
    "2021-07-01",
    "2021-11-01",
    "2022-03-01",
    "2022-08-01",
    "2022-11-01",
    "2023-03-01",
    "2023-07-01",
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-04-01",
    "2025-11-01",
    "2026-04-01",
];

/// Microsoft.Resources api-versions named in errors. Resource-group and
/// subscription routes accept any well-formed version from 2014-04-01 on, so
/// SDKs newer or older than this list keep working.
pub(crate) const RESOURCES: &[&str] = &[
    "2014-04-01",
    "2015-11-01",
    "2016-02-01",
    "2016-06-01",
    "2016-07-01",
    "2016-09-01",
    "2017-05-10",
    "2018-02-01",
    "2018-05-01",
    "2019-03-01",
    "2019-05-01",
    "2019-05-10",
    "2019-06-01",
    "2019-07-01",
    "2019-08-01",
    "2019-10-01",
    "2019-11-01",
    "2020-01-01",
    "2020-06-01",
    "2020-08-01",
    "2020-10-01",
    "2021-01-01",
    "2021-04-01",
    "2022-09-01",
    "2022-12-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-01-01",
    "2025-03-01",
    "2025-04-01",
];

/// Which provider's versions a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Compute,
    Resources,
}

/// An accepted api-version. Versions are `YYYY-MM-DD[-suffix]`, so their string
/// order is their date order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ApiVersion(String);

impl ApiVersion {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    fn at_least(&self, version: &str) -> bool {
        self.0.as_str() >= version
    }

    pub(crate) fn has_storage_account_type(&self) -> bool {
        self.at_least("2017-03-30")
    }

    /// Images_Update (PATCH), `zoneResilient`, and images without an OS disk
    /// (from a source VM alone) appeared together in 2017-12-01.
    pub(crate) fn has_patch(&self) -> bool {
        self.at_least("2017-12-01")
    }

    pub(crate) fn has_zone_resilient(&self) -> bool {
        self.at_least("2017-12-01")
    }

    pub(crate) fn requires_os_disk(&self) -> bool {
        !self.at_least("2017-12-01")
    }

    pub(crate) fn has_hyper_v_generation(&self) -> bool {
        self.at_least("2019-03-01")
    }

    pub(crate) fn has_disk_encryption_set(&self) -> bool {
        self.at_least("2019-07-01")
    }

    pub(crate) fn has_extended_location(&self) -> bool {
        self.at_least("2020-12-01")
    }

    pub(crate) fn has_system_data(&self) -> bool {
        self.at_least("2024-07-01")
    }
}

/// Check the request's `api-version` against a provider's versions.
pub(crate) fn check(family: Family, given: Option<&str>) -> Result<ApiVersion, ArmError> {
    let Some(given) = given else {
        return Err(ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let accepted = match family {
        Family::Compute => COMPUTE.contains(&given),
        Family::Resources => well_formed(given) && given >= "2014-04-01",
    };
    if accepted {
        Ok(ApiVersion(given.to_string()))
    } else {
        Err(invalid(
            given,
            match family {
                Family::Compute => COMPUTE,
                Family::Resources => RESOURCES,
            },
        ))
    }
}

/// `InvalidApiVersionParameter` naming the versions that would do.
pub(crate) fn invalid(given: &str, supported: &[&str]) -> ArmError {
    ArmError::bad_request(
        "InvalidApiVersionParameter",
        format!("The api-version '{given}' is invalid. The supported versions are '{}'.", supported.join(",")),
    )
}

/// Compute versions that have PATCH on images.
pub(crate) fn compute_with_patch() -> Vec<&'static str> {
    COMPUTE.iter().copied().filter(|v| ApiVersion(v.to_string()).has_patch()).collect()
}

/// `YYYY-MM-DD` optionally followed by `-preview`, `-beta` or `-alpha`.
fn well_formed(v: &str) -> bool {
    if !v.is_ascii() {
        return false;
    }
    let (date, suffix) = v.split_at(v.len().min(10));
    let date_ok = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
        && (1..=12).contains(&date[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&date[8..10].parse::<u8>().unwrap_or(0));
    date_ok && matches!(suffix, "" | "-preview" | "-beta" | "-alpha")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert!(check(Family::Compute, Some("2026-04-01")).is_ok());
        assert!(check(Family::Compute, Some("2016-04-30-preview")).is_ok());
        assert!(check(Family::Compute, Some("2025-04-02")).is_err());
        assert!(check(Family::Compute, None).is_err());
        assert!(check(Family::Resources, Some("2025-04-01")).is_ok());
        assert!(check(Family::Resources, Some("2025-07-01")).is_ok());
        assert!(check(Family::Resources, Some("2013-01-01")).is_err());
        assert!(check(Family::Resources, Some("2025-13-01")).is_err());
        assert!(check(Family::Resources, Some("latest")).is_err());
        assert!(check(Family::Resources, Some("2025-0é-01")).is_err());
        assert!(check(Family::Resources, Some("2025-04-0é")).is_err());
        assert!(check(Family::Resources, Some("")).is_err());
        assert!(check(Family::Resources, Some("2025-04-01-preview")).is_ok());
    }

    #[test]
    fn gates() {
        let v = |s: &str| ApiVersion(s.to_string());
        assert!(!v("2016-04-30-preview").has_patch());
        assert!(!v("2016-04-30-preview").has_storage_account_type());
        assert!(v("2017-03-30").has_storage_account_type());
        assert!(!v("2018-10-01").has_hyper_v_generation());
        assert!(v("2019-03-01").has_hyper_v_generation());
        assert!(v("2026-04-01").has_system_data());
        assert!(!compute_with_patch().contains(&"2017-03-30"));
        assert!(compute_with_patch().contains(&"2017-12-01"));
    }
}
