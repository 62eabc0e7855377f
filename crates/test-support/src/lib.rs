//! Test support shared by the crates' test suites (a dev-dependency only).
//!
//! * [`samples`]: disk images made by the real `qemu-img` at test time — clean
//!   ones, and the hostile ones Glance's format-safety CVEs are about.
//! * [`byte_server`]: a loopback HTTP server that serves fixed bytes, for
//!   imports that fetch a URL.
//! * [`world`]: the backends, accounts and loopback server every dialect's
//!   harness starts from.
//! * [`fuzz`]: the bounded, seeded configuration of every property test.
//! * [`postgres`]: a fresh schema on the PostgreSQL test server.
//! * [`rules`]: the rule matrix — one row per rule, what each cloud answers.

// Test support fails loudly: a broken fixture is a broken test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod byte_server;
pub mod fuzz;
pub mod postgres;
pub mod rules;
pub mod samples;
pub mod world;
