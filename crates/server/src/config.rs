//! Configuration: built-in defaults, then a TOML file, then environment variables
//! and command-line flags (clap reads both), each overriding the one before.

use std::fmt;
use std::path::{Path, PathBuf};

use clap::Args;
use imagery_service::ServiceConfig;
use serde::{Deserialize, Serialize};

/// Where each API listens. A port of 0 disables that listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ports {
    pub identity: u16,
    pub image: u16,
    /// Nova image proxy (Compute v2/v2.1).
    pub compute: u16,
    /// Huawei Cloud IMS + ECS image APIs (AK/SK signatures), at the listener root.
    pub huawei: u16,
    /// The same Huawei APIs over TLS (the SDK's default scheme is https).
    pub huawei_tls: u16,
    /// Azure Resource Manager images and its token endpoint (TLS).
    pub azure: u16,
    /// Yandex Cloud Compute v1 images, REST and gRPC (TLS).
    pub yandex: u16,
    /// Devstack-style single port serving `/identity`, `/image` and `/compute`.
    pub combined: u16,
    /// Metrics (`/metrics`), liveness and readiness, on `admin_bind`.
    pub admin: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Ports {
            identity: 5000,
            image: 9292,
            compute: 8774,
            huawei: 8780,
            huawei_tls: 8781,
            azure: 8443,
            yandex: 9443,
            combined: 0,
            admin: 9464,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the catalog, blobs and generated credentials live by default.
    pub data_dir: PathBuf,
    /// `sqlite://FILE` or `postgres://…`; default `sqlite://<data_dir>/catalog.db`.
    pub database_url: Option<String>,
    /// `file:///DIR`, a path, or `s3://bucket/prefix`; default `<data_dir>/blobs`.
    pub blob_url: Option<String>,
    /// Endpoint, region, addressing and credentials of an `s3://` blob_url (over the
    /// `AWS_*` variables; the URL's query wins).
    pub s3: imagery_store::S3Settings,
    /// Address every listener binds.
    pub bind: String,
    /// Address the admin listener (metrics, readiness) binds: loopback by default.
    pub admin_bind: String,
    pub ports: Ports,
    /// Host name put in advertised URLs (catalog, links); default: the bind address,
    /// or `localhost` when binding all interfaces.
    pub public_host: Option<String>,
    /// Keystone region of the service catalog.
    pub region: String,
    /// Development only: trust `X-Project-Id`/`X-Roles` headers instead of tokens.
    pub insecure_trust_headers: bool,
    /// Token lifetime in seconds.
    pub token_ttl_secs: u64,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// Unreferenced blobs are deleted once older than this many seconds.
    pub gc_grace_secs: u64,
    /// Seconds between garbage collections (unreferenced blobs, abandoned
    /// temporaries, finished jobs); the first runs at start.
    pub gc_interval_secs: u64,
    /// TLS certificate and key (PEM) for the TLS listeners; default: a self-signed
    /// pair generated on first start under `<data_dir>/tls/`.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Azure resource group where images made through other APIs appear.
    pub azure_default_resource_group: String,
    /// Azure location of images that never had one.
    pub azure_default_location: String,
    pub service: ServiceConfig,
    /// File holding the key-encryption key that seals the catalog's secrets (token
    /// signing keys, access-key secrets): 32 raw bytes or their base64. Default
    /// `<data_dir>/kek`, created on first start. Every node sharing a catalog
    /// needs the same key.
    pub kek_file: Option<PathBuf>,
    /// The key-encryption key itself, base64 of 32 bytes (wins over `kek_file`).
    pub kek: Option<String>,
    /// Timeouts, connection and in-flight caps, rate limits (`[limits]`).
    pub limits: imagery_http_common::limits::Limits,
    /// This node's id among the nodes sharing a catalog; default: generated on
    /// first start and kept in `<data_dir>/node-id`.
    pub node_id: Option<String>,
    /// Addresses clients reach each API at (a load balancer's), for the Keystone
    /// catalog and every link; default: `public_host` with each listener's port.
    pub public_urls: PublicUrlOverrides,
}

/// `[public_urls]`: each API's advertised base URL (scheme, host, port, path
/// prefix; no trailing slash needed). Links never come from a request's `Host`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicUrlOverrides {
    pub identity: Option<String>,
    pub image: Option<String>,
    pub compute: Option<String>,
    /// The devstack-layout port's root.
    pub combined: Option<String>,
    pub huawei: Option<String>,
    pub huawei_tls: Option<String>,
}

/// Shows everything but the key-encryption key and a catalog URL's password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be added without deciding here
        // whether it is a secret.
        let Config {
            data_dir,
            database_url,
            blob_url,
            s3,
            bind,
            admin_bind,
            ports,
            public_host,
            region,
            insecure_trust_headers,
            token_ttl_secs,
            log_format,
            gc_grace_secs,
            gc_interval_secs,
            tls_cert,
            tls_key,
            azure_default_resource_group,
            azure_default_location,
            service,
            kek_file,
            kek,
            limits,
            node_id,
            public_urls,
        } = self;
        f.debug_struct("Config")
            .field("data_dir", data_dir)
            .field("database_url", &database_url.as_deref().map(redact_url_password))
            .field("blob_url", blob_url)
            .field("s3", s3)
            .field("bind", bind)
            .field("admin_bind", admin_bind)
            .field("ports", ports)
            .field("public_host", public_host)
            .field("region", region)
            .field("insecure_trust_headers", insecure_trust_headers)
            .field("token_ttl_secs", token_ttl_secs)
            .field("log_format", log_format)
            .field("gc_grace_secs", gc_grace_secs)
            .field("gc_interval_secs", gc_interval_secs)
            .field("tls_cert", tls_cert)
            .field("tls_key", tls_key)
            .field("azure_default_resource_group", azure_default_resource_group)
            .field("azure_default_location", azure_default_location)
            .field("service", service)
            .field("kek_file", kek_file)
            .field("kek", &kek.as_ref().map(|_| "<redacted>"))
            .field("limits", limits)
            .field("node_id", node_id)
            .field("public_urls", public_urls)
            .finish()
    }
}

/// `scheme://user:<redacted>@host/…`, and `password=<redacted>` in a query.
fn redact_url_password(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(start) = url.find("://").map(|i| i + 3) {
        let authority_end = url[start..].find(['/', '?']).map_or(url.len(), |i| start + i);
        if let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) {
            if let Some(colon) = url[start..at].find(':').map(|i| start + i) {
                out = format!("{}<redacted>{}", &url[..=colon], &url[at..]);
            }
        }
    }
    if let Some(query_start) = out.find('?') {
        let (head, query) = out.split_at(query_start + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=<redacted>"),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{head}{query}");
    }
    out
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./data"),
            database_url: None,
            blob_url: None,
            s3: imagery_store::S3Settings::default(),
            bind: "127.0.0.1".into(),
            admin_bind: "127.0.0.1".into(),
            ports: Ports::default(),
            public_host: None,
            region: "RegionOne".into(),
            insecure_trust_headers: false,
            token_ttl_secs: 3600,
            log_format: "text".into(),
            gc_grace_secs: 600,
            gc_interval_secs: 60,
            tls_cert: None,
            tls_key: None,
            azure_default_resource_group: "imagery-default".into(),
            azure_default_location: "westus".into(),
            service: ServiceConfig::default(),
            kek_file: None,
            kek: None,
            limits: imagery_http_common::limits::Limits::default(),
            node_id: None,
            public_urls: PublicUrlOverrides::default(),
        }
    }
}

/// Flags shared by every subcommand. Each also reads an `IMAGERY_*` variable.
#[derive(Clone, Default, Args)]
pub struct ConfigArgs {
    /// TOML configuration file (every key optional; see README).
    #[arg(long, short = 'c', env = "IMAGERY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory for the embedded catalog, blobs and generated credentials.
    #[arg(long, env = "IMAGERY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Catalog URL: `sqlite://FILE` (default under the data dir) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "IMAGERY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Blob store URL: a directory, `file:///DIR`, or `s3://BUCKET/PREFIX[?endpoint=URL&region=R&addressing=path|virtual-host]`.
    #[arg(long, env = "IMAGERY_BLOB_URL")]
    pub blob_url: Option<String>,
    /// Address to bind every listener to (e.g. 0.0.0.0 for all interfaces).
    #[arg(long, env = "IMAGERY_BIND")]
    pub bind: Option<String>,
    /// Keystone identity port (0 disables).
    #[arg(long, env = "IMAGERY_IDENTITY_PORT")]
    pub identity_port: Option<u16>,
    /// Image API (Glance v2) port (0 disables).
    #[arg(long, env = "IMAGERY_IMAGE_PORT")]
    pub image_port: Option<u16>,
    /// Compute API (Nova image proxy) port (0 disables).
    #[arg(long, env = "IMAGERY_COMPUTE_PORT")]
    pub compute_port: Option<u16>,
    /// Huawei IMS/ECS port (0 disables).
    #[arg(long, env = "IMAGERY_HUAWEI_PORT")]
    pub huawei_port: Option<u16>,
    /// Huawei IMS/ECS port over TLS (0 disables).
    #[arg(long, env = "IMAGERY_HUAWEI_TLS_PORT")]
    pub huawei_tls_port: Option<u16>,
    /// Azure ARM + token endpoint port, TLS (0 disables).
    #[arg(long, env = "IMAGERY_AZURE_PORT")]
    pub azure_port: Option<u16>,
    /// Yandex Compute REST + gRPC port, TLS (0 disables).
    #[arg(long, env = "IMAGERY_YANDEX_PORT")]
    pub yandex_port: Option<u16>,
    /// TLS certificate (PEM) for the TLS listeners (default: generated, self-signed).
    #[arg(long, env = "IMAGERY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) matching --tls-cert.
    #[arg(long, env = "IMAGERY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Single devstack-style port serving /identity, /image and /compute (0 disables).
    #[arg(long, env = "IMAGERY_COMBINED_PORT")]
    pub combined_port: Option<u16>,
    /// Admin port: Prometheus /metrics, /healthcheck, /ready, on --admin-bind (0 disables).
    #[arg(long, env = "IMAGERY_ADMIN_PORT")]
    pub admin_port: Option<u16>,
    /// Address of the admin listener (default 127.0.0.1).
    #[arg(long, env = "IMAGERY_ADMIN_BIND")]
    pub admin_bind: Option<String>,
    /// Host name used in advertised URLs.
    #[arg(long, env = "IMAGERY_PUBLIC_HOST")]
    pub public_host: Option<String>,
    /// DEVELOPMENT ONLY: trust X-Project-Id / X-User-Id / X-Roles headers, no tokens.
    #[arg(long, env = "IMAGERY_INSECURE_TRUST_HEADERS")]
    pub insecure_trust_headers: bool,
    /// Log format: text or json.
    #[arg(long, env = "IMAGERY_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Largest image accepted, in bytes.
    #[arg(long, env = "IMAGERY_IMAGE_SIZE_CAP")]
    pub image_size_cap: Option<u64>,
    /// Let imports (Glance web-download, Yandex create-from-URI) reach private,
    /// loopback and other special addresses behind any allow-listed host
    /// (`[service] web_download_allow`; see SECURITY.md). Without it only an
    /// allow-list entry whose host is the IP address itself reaches one.
    #[arg(long, env = "IMAGERY_WEB_DOWNLOAD_ALLOW_PRIVATE")]
    pub web_download_allow_private: bool,
    /// Seconds an import may take to connect to its source (0: no limit) [default: 10]
    #[arg(long, env = "IMAGERY_WEB_DOWNLOAD_CONNECT_TIMEOUT", value_name = "SECS")]
    pub web_download_connect_timeout: Option<u64>,
    /// Seconds an import's source may send nothing before the import fails (0: no limit) [default: 60]
    #[arg(long, env = "IMAGERY_WEB_DOWNLOAD_STALL_TIMEOUT", value_name = "SECS")]
    pub web_download_stall_timeout: Option<u64>,
    /// Seconds a whole import fetch may take (0: no limit) [default: 21600]
    #[arg(long, env = "IMAGERY_WEB_DOWNLOAD_TIMEOUT", value_name = "SECS")]
    pub web_download_timeout: Option<u64>,
    /// Token lifetime in seconds.
    #[arg(long, env = "IMAGERY_TOKEN_TTL")]
    pub token_ttl_secs: Option<u64>,
    /// Key-encryption key file sealing the catalog's secrets: 32 raw bytes or
    /// their base64 [default: <data-dir>/kek, created on first start]. Nodes
    /// sharing a catalog must all use the same key.
    #[arg(long, env = "IMAGERY_KEK_FILE")]
    pub kek_file: Option<PathBuf>,
    /// The key-encryption key as base64 of 32 bytes (wins over --kek-file).
    /// Prefer the environment variable: arguments are visible to other local users.
    #[arg(long, env = "IMAGERY_KEK", hide_env_values = true)]
    pub kek: Option<String>,
    /// This node's id (default: generated once, kept in <data_dir>/node-id).
    #[arg(long, env = "IMAGERY_NODE_ID")]
    pub node_id: Option<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Timeouts and limits of every listener (TOML: the `[limits]` table, same
/// names). 0 turns a limit off. Rate limits are per node, in memory.
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "Timeouts and limits")]
pub struct LimitArgs {
    /// Seconds to send a complete request head (HTTP/1; also how long a new
    /// connection may stay silent and HTTP/1 keep-alive idleness) [default: 15]
    #[arg(long, env = "IMAGERY_HEADER_TIMEOUT", value_name = "SECS")]
    pub header_timeout: Option<u64>,
    /// Seconds a connection with no request in progress may stay idle [default: 60]
    #[arg(long, env = "IMAGERY_IDLE_TIMEOUT", value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Seconds a TLS handshake may take [default: 10]
    #[arg(long, env = "IMAGERY_TLS_HANDSHAKE_TIMEOUT", value_name = "SECS")]
    pub tls_handshake_timeout: Option<u64>,
    /// Seconds a request body may send nothing before the request fails (a stalled
    /// upload fails and its image returns to queued) [default: 60]
    #[arg(long, env = "IMAGERY_BODY_TIMEOUT", value_name = "SECS")]
    pub body_timeout: Option<u64>,
    /// Seconds a client may stop reading a response before it is disconnected [default: 60]
    #[arg(long, env = "IMAGERY_SEND_TIMEOUT", value_name = "SECS")]
    pub send_timeout: Option<u64>,
    /// Open connections per listener; more wait in the kernel backlog [default: 10000]
    #[arg(long, env = "IMAGERY_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Requests in progress on this node; more get 503 + Retry-After [default: 1024]
    #[arg(long, env = "IMAGERY_MAX_IN_FLIGHT", value_name = "N")]
    pub max_in_flight: Option<usize>,
    /// Uploads in progress on this node; more get 503 + Retry-After [default: 16]
    #[arg(long, env = "IMAGERY_MAX_UPLOADS", value_name = "N")]
    pub max_uploads: Option<usize>,
    /// Requests per second from one source address (burst: twice); more get 429 [default: 1000]
    #[arg(long, env = "IMAGERY_RATE_PER_ADDRESS", value_name = "PER_SEC")]
    pub rate_per_address: Option<u32>,
    /// Reading requests per second by one credential (burst: twice) [default: 500]
    #[arg(long, env = "IMAGERY_RATE_PER_CALLER_READS", value_name = "PER_SEC")]
    pub rate_per_caller_reads: Option<u32>,
    /// Writing requests per second by one credential (burst: twice) [default: 100]
    #[arg(long, env = "IMAGERY_RATE_PER_CALLER_WRITES", value_name = "PER_SEC")]
    pub rate_per_caller_writes: Option<u32>,
    /// Failed logins per minute for one (user, address), also the burst; one
    /// address gets five times this over all users [default: 10]
    #[arg(long, env = "IMAGERY_LOGIN_FAILURES_PER_MINUTE", value_name = "N")]
    pub login_failures_per_minute: Option<u32>,
    /// Password hashes computed at once (argon2, 19 MiB each) [default: one per core]
    #[arg(long, env = "IMAGERY_MAX_CONCURRENT_LOGINS", value_name = "N")]
    pub max_concurrent_logins: Option<usize>,
    /// Logins that may wait for a password hash; more get 503 [default: 64]
    #[arg(long, env = "IMAGERY_LOGIN_QUEUE", value_name = "N")]
    pub login_queue: Option<usize>,
    /// Seconds a login may wait for a password hash before 503 [default: 5]
    #[arg(long, env = "IMAGERY_LOGIN_QUEUE_TIMEOUT", value_name = "SECS")]
    pub login_queue_timeout: Option<u64>,
    /// Longest request target (path + query), bytes; longer gets 414 [default: 16384]
    #[arg(long, env = "IMAGERY_MAX_URI_BYTES", value_name = "BYTES")]
    pub max_uri_bytes: Option<usize>,
    /// Largest header section, bytes; larger gets 431 [default: 65536]
    #[arg(long, env = "IMAGERY_MAX_HEADER_BYTES", value_name = "BYTES")]
    pub max_header_bytes: Option<usize>,
    /// HTTP/2 and gRPC streams per connection [default: 128]
    #[arg(long, env = "IMAGERY_H2_MAX_STREAMS", value_name = "N")]
    pub h2_max_streams: Option<u32>,
    /// HTTP/2 streams a client may reset before they are answered, per connection
    /// (rapid-reset protection) [default: 20]
    #[arg(long, env = "IMAGERY_H2_MAX_PENDING_RESETS", value_name = "N")]
    pub h2_max_pending_resets: Option<usize>,
    /// HTTP/2 streams the server may reset for protocol errors before it drops the
    /// connection [default: 256]
    #[arg(long, env = "IMAGERY_H2_MAX_ERROR_RESETS", value_name = "N")]
    pub h2_max_error_resets: Option<usize>,
    /// Seconds requests in flight may take to finish after SIGTERM; connections
    /// still busy then are closed (0: wait for every request) [default: 25]
    #[arg(long, env = "IMAGERY_SHUTDOWN_GRACE", value_name = "SECS")]
    pub shutdown_grace: Option<u64>,
    /// BENCHMARKS ONLY: turn every timeout, cap and rate limit off
    #[arg(long, env = "IMAGERY_NO_LIMITS")]
    pub no_limits: bool,
}

impl LimitArgs {
    fn apply(&self, limits: &mut imagery_http_common::limits::Limits) {
        if self.no_limits {
            *limits = imagery_http_common::limits::Limits::off();
        }
        let set = |target: &mut u64, value: Option<u64>| {
            if let Some(v) = value {
                *target = v;
            }
        };
        set(&mut limits.header_timeout_secs, self.header_timeout);
        set(&mut limits.idle_timeout_secs, self.idle_timeout);
        set(&mut limits.tls_handshake_timeout_secs, self.tls_handshake_timeout);
        set(&mut limits.body_timeout_secs, self.body_timeout);
        set(&mut limits.send_timeout_secs, self.send_timeout);
        set(&mut limits.login_queue_timeout_secs, self.login_queue_timeout);
        set(&mut limits.shutdown_grace_secs, self.shutdown_grace);
        let set = |target: &mut usize, value: Option<usize>| {
            if let Some(v) = value {
                *target = v;
            }
        };
        set(&mut limits.max_connections, self.max_connections);
        set(&mut limits.max_in_flight, self.max_in_flight);
        set(&mut limits.max_uploads, self.max_uploads);
        set(&mut limits.max_concurrent_logins, self.max_concurrent_logins);
        set(&mut limits.login_queue, self.login_queue);
        set(&mut limits.max_uri_bytes, self.max_uri_bytes);
        set(&mut limits.max_header_bytes, self.max_header_bytes);
        set(&mut limits.h2_max_pending_reset_streams, self.h2_max_pending_resets);
        set(&mut limits.h2_max_local_error_reset_streams, self.h2_max_error_resets);
        let set = |target: &mut u32, value: Option<u32>| {
            if let Some(v) = value {
                *target = v;
            }
        };
        set(&mut limits.per_address_rate, self.rate_per_address);
        set(&mut limits.per_caller_read_rate, self.rate_per_caller_reads);
        set(&mut limits.per_caller_write_rate, self.rate_per_caller_writes);
        set(&mut limits.login_failures_per_minute, self.login_failures_per_minute);
        set(&mut limits.h2_max_concurrent_streams, self.h2_max_streams);
    }
}

/// Hand-written so that `--kek` never shows.
impl fmt::Debug for ConfigArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = f.debug_struct("ConfigArgs");
        shown.field("config", &self.config).field("data_dir", &self.data_dir);
        shown.field("database_url", &self.database_url.as_deref().map(redact_url_password));
        shown.field("kek_file", &self.kek_file).field("kek", &self.kek.as_ref().map(|_| "<redacted>"));
        shown.finish_non_exhaustive()
    }
}

impl Config {
    pub fn load(args: &ConfigArgs) -> anyhow::Result<Config> {
        let mut config = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("invalid configuration {}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(v) = &args.data_dir {
            config.data_dir = v.clone();
        }
        if let Some(v) = &args.database_url {
            config.database_url = Some(v.clone());
        }
        if let Some(v) = &args.blob_url {
            config.blob_url = Some(v.clone());
        }
        if let Some(v) = &args.bind {
            config.bind = v.clone();
        }
        if let Some(v) = args.identity_port {
            config.ports.identity = v;
        }
        if let Some(v) = args.image_port {
            config.ports.image = v;
        }
        if let Some(v) = args.compute_port {
            config.ports.compute = v;
        }
        if let Some(v) = args.huawei_port {
            config.ports.huawei = v;
        }
        if let Some(v) = args.huawei_tls_port {
            config.ports.huawei_tls = v;
        }
        if let Some(v) = args.azure_port {
            config.ports.azure = v;
        }
        if let Some(v) = args.yandex_port {
            config.ports.yandex = v;
        }
        if let Some(v) = &args.tls_cert {
            config.tls_cert = Some(v.clone());
        }
        if let Some(v) = &args.tls_key {
            config.tls_key = Some(v.clone());
        }
        if let Some(v) = args.combined_port {
            config.ports.combined = v;
        }
        if let Some(v) = args.admin_port {
            config.ports.admin = v;
        }
        if let Some(v) = &args.admin_bind {
            config.admin_bind = v.clone();
        }
        if let Some(v) = &args.public_host {
            config.public_host = Some(v.clone());
        }
        if args.insecure_trust_headers {
            config.insecure_trust_headers = true;
        }
        if let Some(v) = &args.log_format {
            config.log_format = v.clone();
        }
        if let Some(v) = args.image_size_cap {
            config.service.image_size_cap = v;
        }
        if args.web_download_allow_private {
            config.service.web_download_allow_private = true;
        }
        if let Some(v) = args.web_download_connect_timeout {
            config.service.web_download_connect_timeout_secs = v;
        }
        if let Some(v) = args.web_download_stall_timeout {
            config.service.web_download_stall_timeout_secs = v;
        }
        if let Some(v) = args.web_download_timeout {
            config.service.web_download_timeout_secs = v;
        }
        if let Some(v) = args.token_ttl_secs {
            config.token_ttl_secs = v;
        }
        if let Some(v) = &args.kek_file {
            config.kek_file = Some(v.clone());
        }
        if let Some(v) = &args.kek {
            config.kek = Some(v.clone());
        }
        if let Some(v) = &args.node_id {
            config.node_id = Some(v.clone());
        }
        args.limits.apply(&mut config.limits);
        Ok(config)
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("catalog.db").display()))
    }

    pub fn blob_url(&self) -> String {
        self.blob_url.clone().unwrap_or_else(|| absolute(&self.data_dir.join("blobs")).display().to_string())
    }

    pub fn public_host(&self) -> String {
        match &self.public_host {
            Some(h) => h.clone(),
            None if self.bind == "0.0.0.0" || self.bind == "::" => "localhost".into(),
            None if self.bind.contains(':') => format!("[{}]", self.bind),
            None => self.bind.clone(),
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key_encryption_key_and_catalog_password() {
        let config = Config {
            kek: Some("S0VLLVNFQ1JFVC1WQUxVRQ==".into()),
            database_url: Some("postgres://imagery:pg-SECRET@db:5432/imagery?sslmode=require&password=pg-SECRET".into()),
            ..Config::default()
        };
        let text = format!("{config:?}");
        assert!(!text.contains("S0VLLVNFQ1JFVC1WQUxVRQ") && !text.contains("pg-SECRET"), "{text}");
        assert!(text.contains("postgres://imagery:<redacted>@db:5432/imagery?sslmode=require&password=<redacted>"), "{text}");
        let args = ConfigArgs { kek: config.kek.clone(), database_url: config.database_url.clone(), ..ConfigArgs::default() };
        let text = format!("{args:?}");
        assert!(!text.contains("S0VLLVNFQ1JFVC1WQUxVRQ") && !text.contains("pg-SECRET") && text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn import_fetch_settings_come_from_the_file_and_the_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("imagery.toml");
        let toml = "[service]\nweb_download_allow = [\"http://10.0.0.5/images/\"]\nweb_download_stall_timeout_secs = 5\n";
        std::fs::write(&file, toml).unwrap();
        let args = ConfigArgs { config: Some(file.clone()), ..ConfigArgs::default() };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.service.web_download_allow, ["http://10.0.0.5/images/"]);
        assert_eq!(config.service.web_download_stall_timeout_secs, 5);
        assert!(!config.service.web_download_allow_private, "off by default");
        assert_eq!(config.service.web_download_connect_timeout_secs, 10);
        assert_eq!(config.service.web_download_timeout_secs, 6 * 3600);
        let args = ConfigArgs {
            config: Some(file),
            web_download_allow_private: true,
            web_download_connect_timeout: Some(3),
            web_download_stall_timeout: Some(7),
            web_download_timeout: Some(600),
            ..ConfigArgs::default()
        };
        let config = Config::load(&args).unwrap();
        assert!(config.service.web_download_allow_private);
        assert_eq!(
            (
                config.service.web_download_connect_timeout_secs,
                config.service.web_download_stall_timeout_secs,
                config.service.web_download_timeout_secs
            ),
            (3, 7, 600)
        );
    }

    #[test]
    fn collection_interval_and_shutdown_grace_come_from_the_file_and_the_flags() {
        let defaults = Config::default();
        assert_eq!((defaults.gc_interval_secs, defaults.limits.shutdown_grace_secs), (60, 25));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("imagery.toml");
        std::fs::write(&file, "gc_grace_secs = 2\ngc_interval_secs = 1\n[limits]\nshutdown_grace_secs = 3\n").unwrap();
        let config = Config::load(&ConfigArgs { config: Some(file.clone()), ..ConfigArgs::default() }).unwrap();
        assert_eq!((config.gc_grace_secs, config.gc_interval_secs, config.limits.shutdown_grace_secs), (2, 1, 3));
        let args = ConfigArgs {
            config: Some(file),
            limits: LimitArgs { shutdown_grace: Some(0), ..LimitArgs::default() },
            ..ConfigArgs::default()
        };
        assert_eq!(Config::load(&args).unwrap().limits.shutdown_grace_secs, 0);
    }

    #[test]
    fn urls_without_passwords_are_unchanged() {
        for url in ["sqlite:///var/lib/imagery/catalog.db", "postgres://imagery@db/imagery", "postgres://db/x?sslmode=disable"] {
            assert_eq!(redact_url_password(url), url);
        }
    }
}
