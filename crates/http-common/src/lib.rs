//! Shared plumbing for the HTTP dialects: the request id every response carries,
//! how a Keystone-style caller is obtained from a request (tokens, or trusted
//! headers in development), body helpers that never buffer more than a limit, and
//! the front door's limits (rate, size, overload, body progress) every request passes.

pub mod auth;
pub mod body;
pub mod limits;
pub mod request_id;

pub use auth::{Auth, AuthFailure, TokenValidator};
pub use request_id::RequestId;
