//! Timestamps: the catalog keeps UTC instants with microsecond precision; each
//! dialect formats them its own way.

use chrono::{DateTime, SubsecRound, Utc};

pub type Timestamp = DateTime<Utc>;

/// The current instant truncated to microseconds, the precision every catalog keeps.
pub fn now() -> Timestamp {
    Utc::now().trunc_subsecs(6)
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the OpenStack rendering (no fractional seconds).
pub fn iso_seconds(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn from_micros(us: i64) -> Timestamp {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

pub fn to_micros(t: &Timestamp) -> i64 {
    t.timestamp_micros()
}
