//! OpenStack Compute v2 / v2.1 image API — the Nova "image proxy" — wire-compatible:
//! version discovery, microversion negotiation, `/images[/detail]`, image show and
//! delete, and the image metadata sub-resource, in JSON and in the legacy
//! (pre-Kilo) XML representation, with Nova's fault bodies and headers. This crate
//! translates; every decision is the service's.
//!
//! Layout: `router` lists the whole surface; `api_server` negotiates versions and
//! media types, authenticates and dispatches; `error` renders Nova faults; `views`
//! builds the JSON image views (reusable by Nova-compatible dialects such as
//! Huawei ECS); `xml` derives the legacy XML documents from those views; one file
//! per resource (`versions`, `images`, `metadata`).

mod api_server;
mod error;
mod images;
mod media;
mod metadata;
mod microversion;
mod router;
mod versions;
pub mod views;
mod xml;

#[cfg(test)]
mod fuzz;

pub use api_server::{router, ComputeState, MetadataHook};
pub use error::ComputeError;
pub use error::ComputeRefusals;
pub use media::Format;
pub use microversion::{Microversion, MAX_VERSION, MIN_VERSION};
