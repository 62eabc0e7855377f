//! Service limits and defaults, set by the operator (see the server's config file).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Per-project quotas. `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quota {
    pub image_count: Option<i64>,
    /// Total bytes of image data a project may store.
    pub image_size_total: Option<i64>,
    /// Total bytes of staged (glance-direct) data a project may hold.
    pub image_stage_total: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Largest image accepted, in bytes (Glance `image_size_cap`, 1 TiB).
    pub image_size_cap: u64,
    pub image_property_quota: usize,
    pub image_tag_quota: usize,
    pub image_member_quota: usize,
    pub container_formats: Vec<String>,
    pub disk_formats: Vec<String>,
    /// Enabled interoperable-import methods.
    pub import_methods: Vec<String>,
    /// URL prefixes `web-download` may fetch from. Empty: web-download refuses every URL.
    pub web_download_allow: Vec<String>,
    /// Let imports reach private and other special addresses (loopback, RFC 1918,
    /// fc00::/7, CGNAT, documentation…) behind any allow-listed host. Off: only an
    /// allow-list entry whose host is that IP literal reaches such an address.
    /// Link-local (169.254.0.0/16 with the cloud metadata service, fe80::/10) is
    /// reachable only through such a literal entry, and unspecified, multicast and
    /// broadcast addresses never.
    pub web_download_allow_private: bool,
    /// Seconds an import may take to connect to its source (0: no limit).
    pub web_download_connect_timeout_secs: u64,
    /// Seconds an import's source may send nothing (response head or body) before
    /// the import fails (0: no limit).
    pub web_download_stall_timeout_secs: u64,
    /// Seconds a whole import fetch may take (0: no limit).
    pub web_download_timeout_secs: u64,
    /// Reject uploads whose bytes do not match the declared disk format.
    pub require_image_format_match: bool,
    pub default_quota: Quota,
    /// Quotas for particular projects (by project id), overriding `default_quota`.
    pub project_quotas: BTreeMap<String, Quota>,
    /// This node's id: marks its in-flight uploads and its job claims. Set by the
    /// server (persisted in the data directory, or configured), not by `[service]`.
    #[serde(skip)]
    pub node_id: String,
    /// A node that has not renewed its heartbeat for this long is presumed dead:
    /// other nodes take its uploads back to `queued` and its jobs over.
    pub node_lease_secs: u64,
    /// A job claim lasts this long unless renewed (renewed every third of it
    /// while the job runs); then another node may claim the job.
    pub job_lease_secs: u64,
    /// Jobs (imports) one node runs at once.
    pub job_workers: usize,
    /// Claims of one job before it fails for good (a job taken over from dead
    /// nodes this many times is not tried again).
    pub job_max_attempts: i32,
    /// Finished jobs are kept this long (Glance keeps tasks 48 hours).
    pub job_retention_secs: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        ServiceConfig {
            image_size_cap: 1 << 40,
            image_property_quota: 128,
            image_tag_quota: 128,
            image_member_quota: 128,
            container_formats: strings(&["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]),
            disk_formats: strings(&["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"]),
            import_methods: strings(&["glance-direct", "web-download", "copy-image"]),
            web_download_allow: Vec::new(),
            web_download_allow_private: false,
            web_download_connect_timeout_secs: 10,
            web_download_stall_timeout_secs: 60,
            web_download_timeout_secs: 6 * 3600,
            require_image_format_match: true,
            default_quota: Quota::default(),
            project_quotas: BTreeMap::new(),
            node_id: "node-1".into(),
            node_lease_secs: 15,
            job_lease_secs: 30,
            job_workers: 2,
            job_max_attempts: 3,
            job_retention_secs: 48 * 3600,
        }
    }
}

impl ServiceConfig {
    pub(crate) fn node_lease(&self) -> chrono::Duration {
        seconds(self.node_lease_secs)
    }

    pub(crate) fn job_lease(&self) -> chrono::Duration {
        seconds(self.job_lease_secs)
    }

    pub fn quota_for(&self, project: &str) -> &Quota {
        self.project_quotas.get(project).unwrap_or(&self.default_quota)
    }
}

pub(crate) fn seconds(n: u64) -> chrono::Duration {
    i64::try_from(n.max(1)).ok().and_then(chrono::Duration::try_seconds).unwrap_or_else(|| chrono::Duration::days(3650))
}
