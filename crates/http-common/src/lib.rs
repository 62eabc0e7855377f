//! Shared plumbing for the HTTP dialects: the request id every response carries,
//! how a Keystone-style caller is obtained from a request (tokens, or trusted
//! headers in development), and body helpers that never buffer more than a limit.

pub mod auth;
pub mod body;
pub mod request_id;

pub use auth::{Auth, AuthFailure, TokenValidator};
pub use request_id::RequestId;
