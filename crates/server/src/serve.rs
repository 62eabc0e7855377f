//! Wiring: open the catalog and blob store, start identity and the service, build
//! each dialect's router and bind its listener. `start` returns once every
//! listener is accepting, so tests and benchmarks can talk to it immediately.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Router;
use imagery_http_common::limits::{FrontDoor, Gate, Logins, Refusals};
use imagery_http_common::{request_id, Auth};
use imagery_identity::{Identity, IdentityConfig};
use imagery_service::{ImageService, SystemCaller};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::config::Config;

/// A started server: its bound addresses and a handle to stop it.
pub struct Running {
    pub identity_addr: Option<SocketAddr>,
    pub image_addr: Option<SocketAddr>,
    pub compute_addr: Option<SocketAddr>,
    pub huawei_addr: Option<SocketAddr>,
    pub huawei_tls_addr: Option<SocketAddr>,
    pub azure_addr: Option<SocketAddr>,
    pub yandex_addr: Option<SocketAddr>,
    /// The certificate TLS clients must trust (when a TLS listener is on).
    pub tls_cert: Option<std::path::PathBuf>,
    pub combined_addr: Option<SocketAddr>,
    /// The admin listener (metrics, readiness), when on.
    pub admin_addr: Option<SocketAddr>,
    /// Where first start wrote the admin credentials, if it did.
    pub admin_credentials: Option<std::path::PathBuf>,
    pub service: Arc<ImageService>,
    pub identity: Arc<Identity>,
    /// This node's id among the nodes sharing the catalog.
    pub node_id: String,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    node: crate::node::Node,
    system: SystemCaller,
}

impl Running {
    /// Stop accepting, let in-flight requests finish (for up to the
    /// `shutdown_grace_secs` limit: connections still busy then are closed),
    /// return the uploads that deadline cut off to `queued`, and return.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        // Jobs running here are handed back at once, for another node to resume.
        self.service.stop_workers();
        for task in self.tasks {
            let _ = task.await;
        }
        // Every request has ended: an upload or staging of this node still marked
        // as running was cut off by the deadline; its client may retry at once.
        match self.service.take_over_dead_nodes(&self.system).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(images = n, "returned images whose upload the shutdown cut off to 'queued'"),
            Err(err) => tracing::warn!(%err, "could not return interrupted uploads to 'queued'; the next start will"),
        }
        self.service.leave_cluster(&self.system, &self.node.incarnation).await;
        drop(self.node);
    }

    pub async fn wait_for_shutdown_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await;
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,object_store=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let result = if config.log_format == "json" { builder.json().try_init() } else { builder.try_init() };
    if result.is_err() {
        // A subscriber was already installed (tests): keep it.
    }
}

/// Public URLs of each API, as advertised in the Keystone catalog and in every
/// link a response carries: from the configuration (`public_urls`, else
/// `public_host` and the ports), never from a request's `Host`.
struct PublicUrls {
    identity: String,
    image: String,
    compute: String,
    /// The devstack-layout port's root (its APIs under `/identity`, `/image`, `/compute`).
    combined: String,
}

/// Each API's own port when it has one, else its prefix on the combined port;
/// an operator's `public_urls` entry (a balancer's address) wins.
fn public_urls(config: &Config, identity_port: u16, image_port: u16, compute_port: u16, combined_port: u16) -> PublicUrls {
    let host = config.public_host();
    let url = |port: u16, prefix: &str| {
        if port != 0 || combined_port == 0 {
            format!("http://{host}:{port}")
        } else {
            format!("http://{host}:{combined_port}{prefix}")
        }
    };
    let pick = |configured: &Option<String>, computed: String| {
        configured.as_deref().map(|u| u.trim_end_matches('/').to_string()).unwrap_or(computed)
    };
    let o = &config.public_urls;
    PublicUrls {
        identity: pick(&o.identity, url(identity_port, "/identity")),
        image: pick(&o.image, url(image_port, "/image")),
        compute: pick(&o.compute, url(compute_port, "/compute")),
        combined: pick(&o.combined, format!("http://{host}:{combined_port}")),
    }
}

async fn bind(config: &Config, port: u16) -> anyhow::Result<Option<TcpListener>> {
    bind_on(&config.bind, port).await
}

async fn bind_on(address: &str, port: u16) -> anyhow::Result<Option<TcpListener>> {
    if port == 0 {
        return Ok(None);
    }
    let addr = if address.contains(':') { format!("[{address}]:{port}") } else { format!("{address}:{port}") };
    let listener = TcpListener::bind(&addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    Ok(Some(listener))
}

/// Start everything described by `config`. Ports given as 0 in `ports` are off;
/// tests pass pre-bound listeners through [`start_with_listeners`].
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let listeners = Listeners {
        identity: bind(&config, config.ports.identity).await?,
        image: bind(&config, config.ports.image).await?,
        compute: bind(&config, config.ports.compute).await?,
        huawei: bind(&config, config.ports.huawei).await?,
        huawei_tls: bind(&config, config.ports.huawei_tls).await?,
        azure: bind(&config, config.ports.azure).await?,
        yandex: bind(&config, config.ports.yandex).await?,
        combined: bind(&config, config.ports.combined).await?,
        admin: bind_on(&config.admin_bind, config.ports.admin).await?,
    };
    start_with_listeners(config, listeners).await
}

/// Pre-bound sockets, one per API (`None`: that API is off).
#[derive(Default)]
pub struct Listeners {
    pub identity: Option<TcpListener>,
    pub image: Option<TcpListener>,
    pub compute: Option<TcpListener>,
    pub huawei: Option<TcpListener>,
    pub huawei_tls: Option<TcpListener>,
    pub azure: Option<TcpListener>,
    pub yandex: Option<TcpListener>,
    pub combined: Option<TcpListener>,
    /// Metrics, liveness and readiness (`/metrics`, `/healthcheck`, `/ready`).
    pub admin: Option<TcpListener>,
}

pub async fn start_with_listeners(config: Config, listeners: Listeners) -> anyhow::Result<Running> {
    let port_of = |l: &Option<TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port()).unwrap_or(0);
    let urls = public_urls(
        &config,
        port_of(&listeners.identity),
        port_of(&listeners.image),
        port_of(&listeners.compute),
        port_of(&listeners.combined),
    );

    crate::data_dir::prepare(&config)?;
    let _ = crate::metrics::handle();
    let node = crate::node::Node::claim(&config)?;
    let (kek, kek_source) = crate::data_dir::key_encryption_key(&config)?;
    let catalog = imagery_catalog::open(&config.database_url()).await.map_err(|e| anyhow::anyhow!("cannot open catalog: {e}"))?;
    let blobs =
        imagery_store::open_with(&config.blob_url(), &config.s3).await.map_err(|e| anyhow::anyhow!("cannot open blob store: {e}"))?;

    let identity_config = IdentityConfig {
        token_ttl: Duration::from_secs(config.token_ttl_secs),
        max_concurrent_hashes: match config.limits.max_concurrent_logins {
            0 => IdentityConfig::default().max_concurrent_hashes,
            n => n,
        },
        max_queued_hashes: config.limits.login_queue,
        hash_queue_timeout: Duration::from_secs(config.limits.login_queue_timeout_secs),
        key_encryption_key: Some(kek),
        ..IdentityConfig::default()
    };
    let identity = Identity::open(catalog.clone(), identity_config)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start identity: {e} (key-encryption key from {kek_source})"))?;
    let admin_credentials = identity
        .bootstrap_first_start(&config.data_dir, &format!("{}/v3", urls.identity))
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap failed: {e}"))?;
    if let Some(path) = &admin_credentials {
        tracing::warn!(path = %path.display(), "first start: created user 'admin' in project 'admin'; its password is in this file (readable only by you)");
        eprintln!("imagery: first start created the admin account; credentials written to {}", path.display());
    }

    let mut service_config = config.service.clone();
    service_config.node_id = node.id.clone();
    let (service, system) = ImageService::with_system_caller(catalog.clone(), blobs, service_config);
    service
        .join_cluster(&system, &node.incarnation, node.previous.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("cannot join the cluster: {e}"))?;
    node.record_incarnation();
    tracing::info!(node = %node.id, "joined");
    match service.recover_interrupted(&system).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(images = n, "returned images with interrupted uploads to 'queued'"),
        Err(err) => tracing::error!(%err, "could not recover interrupted uploads"),
    }

    let auth = if config.insecure_trust_headers {
        tracing::warn!("INSECURE: --insecure-trust-headers is on; identity headers are trusted without any token. Development only!");
        eprintln!("imagery: WARNING: running with --insecure-trust-headers: anyone can claim any identity. Never use this in production.");
        Auth::TrustHeaders
    } else {
        Auth::Tokens(Arc::new(imagery_dialect_keystone::IdentityValidator(identity.clone())))
    };

    let keystone_state = imagery_dialect_keystone::KeystoneState::new(
        identity.clone(),
        imagery_dialect_keystone::ServiceCatalog {
            region: config.region.clone(),
            endpoints: ["public", "internal", "admin"]
                .into_iter()
                .flat_map(|interface| {
                    [
                        endpoint("identity", "keystone", interface, format!("{}/v3", urls.identity)),
                        endpoint("image", "glance", interface, urls.image.clone()),
                        endpoint("compute", "nova", interface, format!("{}/v2.1", urls.compute)),
                    ]
                })
                .collect(),
        },
    );
    // Links name the configured address of the listener that answers.
    let mounted = |prefix: &str, own: &str| if prefix.is_empty() { own.to_string() } else { format!("{}{prefix}", urls.combined) };
    let keystone_at = |prefix: &str| {
        let mut state = keystone_state.clone();
        state.public_url = Some(mounted(prefix, &urls.identity));
        imagery_dialect_keystone::router(state)
    };
    let keystone = keystone_at("");
    let glance_state = |prefix: &str| imagery_dialect_glance::GlanceState {
        service: service.clone(),
        auth: auth.clone(),
        auth_uri: urls.identity.clone(),
        public_url: Some(mounted(prefix, &urls.image)),
        mount_prefix: prefix.to_string(),
        tls: false,
    };
    let glance = imagery_dialect_glance::router(glance_state(""));
    let compute_state = |prefix: &str| {
        let mut state =
            imagery_dialect_compute::ComputeState::new(service.clone(), auth.clone(), urls.identity.clone(), urls.image.clone());
        state.mount_prefix = prefix.to_string();
        state.public_url = Some(mounted(prefix, &urls.compute));
        state
    };

    let host = config.public_host();
    // A certificate is only read (or generated) when some listener speaks TLS.
    let tls_files = if listeners.azure.is_some() || listeners.yandex.is_some() || listeners.huawei_tls.is_some() {
        Some(crate::tls::ensure_certificate(
            &config.data_dir,
            config.tls_cert.clone().zip(config.tls_key.clone()).map(|(cert, key)| crate::tls::TlsFiles { cert, key }),
            std::slice::from_ref(&host),
        )?)
    } else {
        None
    };
    let acceptor = tls_files.as_ref().map(crate::tls::acceptor).transpose()?;

    // The largest body anything could accept is the service's image size cap.
    let gate = Gate::new(config.limits.clone(), service.config().image_size_cap);
    let limits = config.limits.clone();
    let door = |refusals: Arc<dyn Refusals>, logins: Option<Arc<dyn Logins>>| FrontDoor::new(gate.clone(), refusals, logins);
    let keystone_door = || door(Arc::new(imagery_dialect_keystone::KeystoneRefusals), Some(Arc::new(crate::front_door::KeystoneLogins)));
    let huawei_door = || door(Arc::new(imagery_dialect_huawei::HuaweiRefusals), Some(Arc::new(crate::front_door::HuaweiLogins)));

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut addrs = [None, None, None, None, None, None, None, None];
    let huawei_state = |tls: bool, port: u16| {
        let mut state = imagery_dialect_huawei::HuaweiState::new(service.clone(), identity.clone(), auth.clone());
        state.image_endpoint = Some(urls.image.clone());
        state.tls = tls;
        let configured = if tls { &config.public_urls.huawei_tls } else { &config.public_urls.huawei };
        let scheme = if tls { "https" } else { "http" };
        state.public_url = Some(configured.clone().unwrap_or_else(|| format!("{scheme}://{host}:{port}")));
        state
    };
    if let Some(listener) = listeners.huawei {
        addrs[6] = listener.local_addr().ok();
        let port = addrs[6].map(|a| a.port()).unwrap_or(0);
        let router = with_common_layers(imagery_dialect_huawei::router(huawei_state(false, port)), huawei_door(), "huawei");
        tasks.push(crate::listener::spawn(listener, None, router, &limits, shutdown_rx.clone()));
    }
    if let (Some(listener), Some(acceptor)) = (listeners.huawei_tls, acceptor.clone()) {
        addrs[7] = listener.local_addr().ok();
        let port = addrs[7].map(|a| a.port()).unwrap_or(0);
        let router = with_common_layers(imagery_dialect_huawei::router(huawei_state(true, port)), huawei_door(), "huawei");
        tasks.push(crate::listener::spawn(listener, Some(acceptor), router, &limits, shutdown_rx.clone()));
    }
    if let Some(listener) = listeners.identity {
        addrs[0] = listener.local_addr().ok();
        tasks.push(crate::listener::spawn(
            listener,
            None,
            with_common_layers(keystone.clone(), keystone_door(), "keystone"),
            &limits,
            shutdown_rx.clone(),
        ));
    }
    if let Some(listener) = listeners.image {
        addrs[1] = listener.local_addr().ok();
        let router = with_common_layers(glance, door(Arc::new(imagery_dialect_glance::GlanceRefusals), None), "glance");
        tasks.push(crate::listener::spawn(listener, None, router, &limits, shutdown_rx.clone()));
    }
    if let Some(listener) = listeners.compute {
        addrs[2] = listener.local_addr().ok();
        let router = with_common_layers(
            imagery_dialect_compute::router(compute_state("")),
            door(Arc::new(imagery_dialect_compute::ComputeRefusals), None),
            "compute",
        );
        tasks.push(crate::listener::spawn(listener, None, router, &limits, shutdown_rx.clone()));
    }
    if let (Some(listener), Some(acceptor)) = (listeners.azure, acceptor.clone()) {
        addrs[4] = listener.local_addr().ok();
        let port = addrs[4].map(|a| a.port()).unwrap_or(0);
        let mut state = imagery_dialect_azure::AzureState::new(service.clone(), identity.clone(), format!("https://{host}:{port}"));
        state.default_resource_group = config.azure_default_resource_group.clone();
        state.default_location = config.azure_default_location.clone();
        let azure_door = door(Arc::new(imagery_dialect_azure::AzureRefusals), Some(Arc::new(crate::front_door::AzureLogins)));
        let router = with_common_layers(imagery_dialect_azure::router(state), azure_door, "azure");
        tasks.push(crate::listener::spawn(listener, Some(acceptor), router, &limits, shutdown_rx.clone()));
    }
    if let (Some(listener), Some(acceptor)) = (listeners.yandex, acceptor) {
        addrs[5] = listener.local_addr().ok();
        let port = addrs[5].map(|a| a.port()).unwrap_or(0);
        let state = imagery_dialect_yandex::YandexState {
            service: service.clone(),
            identity: identity.clone(),
            public_address: format!("{host}:{port}"),
        };
        let yandex_door = door(Arc::new(imagery_dialect_yandex::YandexRefusals), Some(Arc::new(crate::front_door::YandexLogins)));
        let router = with_common_layers(imagery_dialect_yandex::router(state), yandex_door, "yandex");
        tasks.push(crate::listener::spawn(listener, Some(acceptor), router, &limits, shutdown_rx.clone()));
    }
    if let Some(listener) = listeners.combined {
        addrs[3] = listener.local_addr().ok();
        let mounts = Arc::new(vec![
            ("/identity".to_string(), keystone_at("/identity")),
            ("/image".to_string(), imagery_dialect_glance::router(glance_state("/image"))),
            ("/compute".to_string(), imagery_dialect_compute::router(compute_state("/compute"))),
        ]);
        let combined = Router::new().fallback(move |request: Request| {
            let mounts = mounts.clone();
            async move { route_by_prefix(&mounts, request).await }
        });
        let refusals = crate::front_door::ByPrefix(
            vec![
                ("/image", Arc::new(imagery_dialect_glance::GlanceRefusals) as Arc<dyn Refusals>),
                ("/compute", Arc::new(imagery_dialect_compute::ComputeRefusals)),
            ],
            Arc::new(imagery_dialect_keystone::KeystoneRefusals),
        );
        let router = with_common_layers(combined, door(Arc::new(refusals), Some(Arc::new(crate::front_door::KeystoneLogins))), "combined");
        tasks.push(crate::listener::spawn(listener, None, router, &limits, shutdown_rx.clone()));
    }
    let admin_addr = match listeners.admin {
        Some(listener) => {
            let addr = listener.local_addr().ok();
            // Not behind the front door: scrapes and probes must work when the APIs are overloaded.
            let router = crate::metrics::admin_router(service.clone());
            tasks.push(crate::listener::spawn(listener, None, router, &limits, shutdown_rx.clone()));
            addr
        }
        None => None,
    };
    service.start_workers(&system);
    tasks.push(spawn_membership(service.clone(), system.clone(), node.incarnation.clone(), shutdown_rx.clone()));
    tasks.push(spawn_housekeeping(
        service.clone(),
        system.clone(),
        Duration::from_secs(config.gc_grace_secs),
        Duration::from_secs(config.gc_interval_secs.max(1)),
        shutdown_rx,
    ));
    for (name, addr) in
        ["identity", "image", "compute", "combined", "azure (TLS)", "yandex (TLS)", "huawei", "huawei (TLS)"].iter().zip(addrs.iter())
    {
        if let Some(addr) = addr {
            tracing::info!(api = name, %addr, "listening");
        }
    }
    Ok(Running {
        identity_addr: addrs[0],
        image_addr: addrs[1],
        compute_addr: addrs[2],
        combined_addr: addrs[3],
        admin_addr,
        huawei_addr: addrs[6],
        huawei_tls_addr: addrs[7],
        azure_addr: addrs[4],
        yandex_addr: addrs[5],
        tls_cert: tls_files.map(|f| f.cert),
        admin_credentials,
        service,
        identity,
        node_id: node.id.clone(),
        shutdown,
        tasks,
        node,
        system,
    })
}

fn endpoint(service_type: &str, service_name: &str, interface: &str, url: String) -> imagery_dialect_keystone::CatalogEndpoint {
    imagery_dialect_keystone::CatalogEndpoint {
        service_type: service_type.into(),
        service_name: service_name.into(),
        interface: interface.into(),
        url,
    }
}

/// The front door's limits inside the request id (so refusals carry one).
fn with_common_layers(router: Router, door: FrontDoor, dialect: &'static str) -> Router {
    router
        .layer(axum::middleware::from_fn_with_state(door, imagery_http_common::limits::guard))
        .layer(axum::middleware::from_fn(request_id::assign))
        .layer(axum::middleware::from_fn_with_state(dialect, crate::metrics::track))
}

/// Devstack layout: strip the mount prefix and hand the request to that API.
async fn route_by_prefix(mounts: &[(String, Router)], mut request: Request) -> Response {
    let path = request.uri().path().to_string();
    for (prefix, router) in mounts {
        let Some(rest) = path.strip_prefix(prefix.as_str()) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            continue;
        }
        let rest = if rest.is_empty() { "/" } else { rest };
        let new_uri = match request.uri().query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        };
        if let Ok(uri) = new_uri.parse() {
            *request.uri_mut() = uri;
        }
        return match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    (http::StatusCode::NOT_FOUND, "Not Found").into_response()
}

/// This node's heartbeat, and taking over what dead nodes left, every third of
/// the node lease.
fn spawn_membership(
    service: Arc<ImageService>,
    system: SystemCaller,
    incarnation: String,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(service.heartbeat_interval());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            let held = service.heartbeat(&system, &incarnation).await;
            metrics::gauge!("imagery_node_lease_held").set(if matches!(held, Ok(true)) { 1.0 } else { 0.0 });
            match held {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(node = %service.node_id(), "another process holds this node's heartbeat lease: this node was presumed dead and its in-flight work was taken over")
                }
                Err(err) => tracing::warn!(%err, "could not renew this node's heartbeat lease"),
            }
            match service.take_over_dead_nodes(&system).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(images = n, "took over interrupted work of nodes whose lease expired"),
                Err(err) => tracing::warn!(%err, "could not look for work of dead nodes"),
            }
        }
    })
}

/// Periodic garbage collection of unreferenced blobs and abandoned temporaries.
fn spawn_housekeeping(
    service: Arc<ImageService>,
    system: SystemCaller,
    grace: Duration,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let grace = chrono::Duration::from_std(grace).unwrap_or_else(|_| chrono::Duration::minutes(10));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            match service.collect_garbage(&system, grace).await {
                Ok((0, 0)) => {}
                Ok((blobs, temps)) => tracing::info!(blobs, temps, "garbage collected"),
                Err(err) => tracing::warn!(%err, "garbage collection failed"),
            }
            if let Err(err) = service.purge_finished_jobs(&system).await {
                tracing::warn!(%err, "could not purge finished jobs");
            }
        }
    })
}
