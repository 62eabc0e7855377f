//! OpenStack Image API v2 (Glance), wire-compatible: the exact paths, status codes,
//! headers, JSON shapes and error bodies real clients (glanceclient, openstacksdk,
//! openstackclient, tempest) expect. This crate translates; every decision is the
//! service's.
//!
//! Layout: `router` lists the whole surface; `api_server` authenticates and
//! dispatches; `error` renders Glance errors; one file per resource.
#![recursion_limit = "512"]

mod api_server;
mod error;
mod image_data;
mod images;
mod info;
pub mod list_query;
mod members;
pub mod router;
mod schemas;
mod tasks;
pub mod views;

pub use api_server::{router, GlanceState};
pub use error::GlanceError;
pub use error::GlanceRefusals;
pub use router::{is_public, parse as parse_route, surface, Endpoint};
