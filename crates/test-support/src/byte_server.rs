//! A loopback HTTP server that serves fixed bytes at fixed paths.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::net::TcpListener;

/// Serve `files` (path without the leading `/` → bytes) on 127.0.0.1; returns
/// the origin, `http://127.0.0.1:PORT`. Unknown paths answer 404.
pub async fn serve(files: Vec<(String, Vec<u8>)>) -> String {
    let files: Arc<HashMap<String, Bytes>> = Arc::new(files.into_iter().map(|(k, v)| (k, Bytes::from(v))).collect());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind byte server");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route("/{*path}", axum::routing::get(file)).with_state(files);
    tokio::spawn(axum::serve(listener, app).into_future());
    origin
}

async fn file(State(files): State<Arc<HashMap<String, Bytes>>>, Path(path): Path<String>) -> Response {
    match files.get(&path) {
        Some(bytes) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
