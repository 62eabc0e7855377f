//! Operators' view of a node: Prometheus metrics at `/metrics`, liveness at
//! `/healthcheck` and readiness (catalog and blob store answering) at `/ready`,
//! on the admin listener (loopback by default; `ports.admin`, `admin_bind`).
//!
//! One recorder per process (`metrics-exporter-prometheus`); every listener's
//! requests are counted by dialect, route template and status, with a latency
//! histogram. Route templates replace ids with `{id}`; answers that matched no
//! route (401 before routing, 404, 405) are counted under `-`, so what a client
//! puts in a path cannot grow the series without bound.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use imagery_service::ImageService;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets, seconds: from a cached show to a long upload.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0, 600.0];

/// The process's recorder, installed on first use (several servers in one test
/// process share it).
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(BUCKETS).ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "a metrics recorder was already installed; /metrics stays empty");
                    None
                }
            }
        })
        .clone()
}

/// The admin listener's routes.
pub fn admin_router(service: Arc<ImageService>) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .route("/healthcheck", get(|| async { "OK" }))
        .route("/ready", get(ready))
        .with_state(service)
}

async fn render() -> Response {
    match handle() {
        Some(handle) => {
            handle.run_upkeep();
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
        }
        None => (StatusCode::SERVICE_UNAVAILABLE, "no metrics recorder").into_response(),
    }
}

async fn ready(State(service): State<Arc<ImageService>>) -> Response {
    match service.check_ready().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(what) => {
            metrics::counter!("imagery_readiness_failures_total", "dependency" => what).increment(1);
            (StatusCode::SERVICE_UNAVAILABLE, [(axum::http::header::RETRY_AFTER, "5")], format!("not ready: the {what} does not answer"))
                .into_response()
        }
    }
}

/// Count and time every request of a listener serving `dialect`.
pub async fn track(State(dialect): State<&'static str>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let route = if matches!(status, 401 | 404 | 405) { "-".to_string() } else { template(&path) };
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("imagery_http_requests_total", "dialect" => dialect, "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("imagery_http_request_duration_seconds", "dialect" => dialect, "route" => route).record(elapsed);
    if status == 429 || status == 503 {
        metrics::counter!("imagery_http_refusals_total", "dialect" => dialect, "status" => status.to_string()).increment(1);
    }
    response
}

/// A path with its ids replaced: segments holding digits, or long, or other
/// than letters, `-`, `_` and `.`, become `{id}`; at most 8 segments.
pub fn template(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).take(8).collect();
    if segments.is_empty() {
        return "/".into();
    }
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        let word = segment.len() <= 24 && segment.bytes().all(|b| b.is_ascii_alphabetic() || matches!(b, b'-' | b'_' | b'.'))
            || matches!(segment, "v2" | "v2.0" | "v2.1" | "v3" | "v1");
        out.push_str(if word { segment } else { "{id}" });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::template;

    #[test]
    fn templates_hide_ids() {
        assert_eq!(template("/v2/images/0b5c1f3e-1111-4222-8333-944445555666/file"), "/v2/images/{id}/file");
        assert_eq!(template("/v2.1/6f0e/images/detail"), "/v2.1/{id}/images/detail");
        assert_eq!(template("/"), "/");
        assert_eq!(template("/v2/images/Ubuntu%2022"), "/v2/images/{id}");
        assert_eq!(template("/a/b/c/d/e/f/g/h/i/j"), "/a/b/c/d/e/f/g/h");
    }
}
