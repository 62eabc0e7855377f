//! The imagery server: turns a configuration into running listeners. `main.rs`
//! only parses the command line; everything here is usable from tests, which start
//! real servers on loopback sockets.

pub mod admin;
pub mod config;
pub mod data_dir;
pub mod front_door;
pub mod listener;
pub mod metrics;
pub mod node;
pub mod serve;
pub mod tls;

pub use config::Config;
pub use serve::{start, Running};
