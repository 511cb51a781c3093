//! nssmtpd: an SMTP server, relay proxy and client, loadable into Tcl 8.6 and 9.0 as the
//! `ns_smtpd` command.
//!
//! Map of the crate (data flows one way):
//! - [`core`]: the protocol core without I/O — codecs, address parser, flag table, relay-domain
//!   and local-network lists, message parser, and `core::rules`: what a session decides
//!   (command order, arguments, every reply), as pure functions with table tests.
//! - [`io`]: the tokio runtime, the listener (`io::server`), what its sessions share
//!   (`io::shared`, `io::stats`), the session itself as one file per stage (`io::session`),
//!   the relay and send client, TLS, DNS checks, Maildir delivery.
//! - [`config`]: server options, one described row each; [`registry`]: live sessions by id;
//!   [`log`]: the log.
//! - [`instance`]: the state one `ns_smtpd` command drives.
//! - [`tcl`]: the Tcl binding (the only place with `unsafe`): the stubs table, the `ns_smtpd`
//!   command with one module per subcommand group.
pub mod config;
pub mod core;
pub mod instance;
pub mod io;
pub mod log;
pub mod registry;
pub mod tcl;

/// The version reported by `ns_smtpd info version` and the package.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
