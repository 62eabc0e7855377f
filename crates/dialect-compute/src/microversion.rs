//! Compute API microversions: parsing `OpenStack-API-Version: compute X.Y` (or the
//! legacy `X-OpenStack-Nova-API-Version`) into the version a `/v2.1` request runs
//! at, with Nova's 400/406 rules, and the headers that echo it back.

use std::fmt;

use http::HeaderMap;

/// The header every current client sends (`compute 2.35`).
pub const HEADER: &str = "openstack-api-version";
/// The header clients older than 2.27 read and send (`2.35`).
pub const LEGACY_HEADER: &str = "x-openstack-nova-api-version";
/// `Vary` value of every `/v2.1` response.
pub const VARY: &str = "OpenStack-API-Version, X-OpenStack-Nova-API-Version";

/// A compute microversion `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Microversion {
    pub major: u16,
    pub minor: u16,
}

impl Microversion {
    pub const fn new(major: u16, minor: u16) -> Self {
        Microversion { major, minor }
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The oldest microversion `/v2.1` speaks, and what a request without a header gets.
pub const MIN_VERSION: Microversion = Microversion::new(2, 1);
/// What real Nova currently advertises.
pub const MAX_VERSION: Microversion = Microversion::new(2, 104);
/// The image proxy (`/images`, `/images/detail`, `/images/{id}`) ends at 2.35.
pub const MAX_IMAGE_PROXY: Microversion = Microversion::new(2, 35);
/// The image metadata proxy ends at 2.38.
pub const MAX_IMAGE_METADATA_PROXY: Microversion = Microversion::new(2, 38);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionError {
    /// Not `MajorNum.MinorNum` (400).
    Malformed(String),
    /// Well-formed but outside the supported range (406); Nova still echoes it.
    Unsupported(Microversion),
}

impl VersionError {
    pub fn message(&self, max: Microversion) -> String {
        match self {
            VersionError::Malformed(raw) => {
                format!("API Version String {raw} is of invalid format. Must be of format MajorNum.MinorNum.")
            }
            VersionError::Unsupported(v) => {
                format!("Version {v} is not supported by the API. Minimum is {MIN_VERSION} and maximum is {max}.")
            }
        }
    }
}

/// The version a `/v2.1` request asked for: the new header wins over the legacy
/// one, no header means 2.1, `latest` means `max`.
pub fn negotiate(headers: &HeaderMap, max: Microversion) -> Result<Microversion, VersionError> {
    let Some(raw) = requested(headers) else {
        return Ok(MIN_VERSION);
    };
    if raw.eq_ignore_ascii_case("latest") {
        return Ok(max);
    }
    let version = parse(&raw).ok_or(VersionError::Malformed(raw))?;
    if version < MIN_VERSION || version > max {
        return Err(VersionError::Unsupported(version));
    }
    Ok(version)
}

/// The raw version string for the `compute` service, as microversion-parse finds it.
fn requested(headers: &HeaderMap) -> Option<String> {
    let modern = headers.get_all(HEADER).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).find_map(|item| {
        let item = item.trim();
        let (service, version) = item.split_once(char::is_whitespace).unwrap_or((item, ""));
        service.eq_ignore_ascii_case("compute").then(|| version.trim().to_string())
    });
    modern.or_else(|| headers.get(LEGACY_HEADER).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_string()))
}

/// Nova's `^([1-9]\d*)\.([1-9]\d*|0)$`.
pub fn parse(raw: &str) -> Option<Microversion> {
    let (major, minor) = raw.split_once('.')?;
    let number = |s: &str, zero_ok: bool| -> Option<u16> {
        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let canonical = !s.starts_with('0') || (zero_ok && s == "0");
        if digits && canonical {
            s.parse().ok()
        } else {
            None
        }
    };
    Some(Microversion::new(number(major, false)?, number(minor, true)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn parses_like_nova() {
        assert_eq!(parse("2.35"), Some(Microversion::new(2, 35)));
        assert_eq!(parse("2.0"), Some(Microversion::new(2, 0)));
        assert_eq!(parse("2.01"), None);
        assert_eq!(parse("02.1"), None);
        assert_eq!(parse("2"), None);
        assert_eq!(parse("2.x"), None);
        assert_eq!(parse("99999999.1"), None);
        assert!(Microversion::new(2, 9) < Microversion::new(2, 35));
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(&headers(&[]), MAX_VERSION), Ok(MIN_VERSION));
        assert_eq!(negotiate(&headers(&[(HEADER, "compute 2.35")]), MAX_VERSION), Ok(Microversion::new(2, 35)));
        assert_eq!(negotiate(&headers(&[(HEADER, "placement 1.3, compute 2.5")]), MAX_VERSION), Ok(Microversion::new(2, 5)));
        assert_eq!(negotiate(&headers(&[(HEADER, "compute 2.30"), (LEGACY_HEADER, "2.10")]), MAX_VERSION), Ok(Microversion::new(2, 30)));
        assert_eq!(negotiate(&headers(&[(HEADER, "placement 1.3"), (LEGACY_HEADER, "2.10")]), MAX_VERSION), Ok(Microversion::new(2, 10)));
        assert_eq!(negotiate(&headers(&[(LEGACY_HEADER, "latest")]), MAX_VERSION), Ok(MAX_VERSION));
        assert_eq!(negotiate(&headers(&[(HEADER, "compute LATEST")]), MAX_VERSION), Ok(MAX_VERSION));
        assert_eq!(negotiate(&headers(&[(HEADER, "compute 9.99")]), MAX_VERSION), Err(VersionError::Unsupported(Microversion::new(9, 99))));
        assert_eq!(negotiate(&headers(&[(HEADER, "compute 2.0")]), MAX_VERSION), Err(VersionError::Unsupported(Microversion::new(2, 0))));
        assert_eq!(negotiate(&headers(&[(HEADER, "compute junk")]), MAX_VERSION), Err(VersionError::Malformed("junk".into())));
        assert_eq!(
            VersionError::Unsupported(Microversion::new(2, 999)).message(MAX_VERSION),
            "Version 2.999 is not supported by the API. Minimum is 2.1 and maximum is 2.104."
        );
    }
}
