//! The Tcl binding layer: the only place with `unsafe`.
//!
//! - `sys`: bindgen's view of the Tcl headers and the `tcl!` macro calling through the stubs table;
//! - `api`, `args`, `utf`, `value`: safe wrappers for reading arguments and building results;
//! - `init`: `Nssmtpd_Init` and the `ns_smtpd` command proc (panics caught at the boundary);
//! - `context`: per-interpreter state;
//! - `module`, `nsapi`: NaviServer module mode (`Ns_ModuleInit`), libnsd found by dlsym;
//!   `loaded`: the modules loaded and what the commands ask about them;
//! - `bridge`, `policy`: callbacks from the runtime, run on the interpreter's thread;
//!   `pool`, `worker`: the pool of worker interpreters (`workers N`);
//! - `cmd`: one module per subcommand group, dispatched from a sorted table.
pub mod api;
pub mod args;
pub mod bridge;
pub mod cmd;
pub mod context;
pub mod init;
pub mod loaded;
pub mod module;
pub mod nsapi;
pub mod policy;
pub mod pool;
pub mod sys;
pub mod utf;
pub mod value;
pub mod worker;
