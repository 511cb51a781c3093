//! The protocol core: SMTP as data, without I/O, Tcl or tokio. Everything here is a pure
//! function or a plain state machine, unit- and property-tested.
//!
//! - `command`, `reply`, `data`: the server side — command lines, replies, the DATA reader;
//! - `server_reply`, `relay_target`: the client side — replies we read, where we relay to;
//! - `envelope`, `flags`: what a session knows and Tcl may change;
//! - `address`, `message`, `trace`: addresses, the post-DATA parser, the `Received:` header;
//! - `mime`: a whole message decoded for a reader (the test sink), with its RFC violations;
//! - `relaydomains`, `localnet`: the relay-domain and local-network lists;
//! - `rules`: what a server session decides — command order, arguments, replies;
//! - `greylist`: the greylist table and its decisions;
//! - `eventlog`: the SMTP event log's line format, escaping and `logevent` checks;
//! - `proxy`: the PROXY protocol header of a load balancer in front of us;
//! - `aliasfile`: text alias files (`virtual`, `aliases`) and the recipient expansion;
//! - `dkim_keys`: outbound DKIM signing entries, the From: domain match, the signed fields;
//! - `authres`, `spfrecord`: sender authentication results, their header and findings;
//!   the SPF record rules mail-auth lets pass;
//! - `tcllist`: Tcl lists in option values;
//! - `codec`, `clock`: codecs and time stamps;
//! - `diagnostic`: the server log's I/O diagnostic lines (failed operation, counts, refused input).
#![forbid(unsafe_code)]
pub mod address;
pub mod aliasfile;
pub mod authres;
pub mod clock;
pub mod codec;
pub mod command;
pub mod data;
pub mod diagnostic;
pub mod dkim_keys;
pub mod envelope;
pub mod eventlog;
pub mod flags;
pub mod greylist;
pub mod localnet;
pub mod mailbox;
pub mod message;
pub mod mime;
pub mod proxy;
pub mod relay_target;
pub mod relaydomains;
pub mod reply;
pub mod rules;
pub mod server_reply;
pub mod spfrecord;
pub mod tcllist;
pub mod trace;
