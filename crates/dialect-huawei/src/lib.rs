//! Huawei Cloud's image APIs, wire-compatible, on the root of one listener: the
//! IMS native API (`/v2/cloudimages`), IMS's Glance-compatible API (`/v2/images…`,
//! whose image objects carry Huawei's `__*` attributes at the top level), and the
//! ECS "native OpenStack" image API (`/v2[.1]/{project_id}/images…`, Nova's image
//! proxy with Huawei's attributes in `metadata`), authenticated the way the
//! huaweicloud SDKs do it: `SDK-HMAC-SHA256` AK/SK request signatures, or
//! `X-Auth-Token`. This crate translates; every decision is the service's, and
//! whatever Glance or Nova already says the way IMS and ECS say it is delegated to
//! those dialects.
//!
//! Layout: `router` lists the surface; `api_server` routes, authenticates (via
//! `auth`, `signature`) and dispatches; `handoff` carries the caller into
//! the delegated dialects (`glance`, `ecs`); `attributes` derives the Huawei
//! attributes of a canonical image; `views` renders the IMS image object; `query`
//! parses list queries; `images` handles the IMS image endpoints; `error` renders
//! APIG and IMS errors.

mod api_server;
mod attributes;
mod auth;
mod ecs;
mod error;
mod glance;
mod handoff;
mod images;
mod query;
mod router;
pub mod signature;
mod views;

#[cfg(test)]
mod fuzz;

pub use api_server::{router, HuaweiState};
pub use error::HuaweiRefusals;
