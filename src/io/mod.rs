//! The I/O layer: the tokio runtime, the listener and sessions, DNS checks.
#![forbid(unsafe_code)]
pub mod admission;
pub mod auth_guard;
pub mod client;
pub mod conn;
pub mod dns;
pub mod maildir;
pub mod metrics;
pub mod panics;
pub mod policy;
pub mod relay;
pub mod replay;
pub mod runtime;
pub mod scan;
pub mod send;
pub mod sendlog;
pub mod server;
pub mod session;
pub mod shared;
pub mod stats;
pub mod storage;
pub mod tls;
