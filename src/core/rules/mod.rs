//! The rules a server session applies, as pure functions with table tests: the I/O layer
//! asks, these answer with a decision or the reply to give.
//!
//! - `state`: command order — may this command run now, and if not, which reply;
//! - `input`: what a command line may contain, and what of it may be logged;
//! - `input_kind`: what kind of bad input a refused line was (for the I/O diagnostics);
//! - `paths`: HELO names, MAIL/RCPT parameters, `strict` paths, senders and recipients;
//! - `sasl`: AUTH PLAIN/LOGIN decoding;
//! - `greeting`: banner, EHLO capabilities, HELP;
//! - `helostyle`: per-client styles and refusals by HELO name (ZMailer's smtpserver.conf);
//! - `outcome`: end-of-data refusals, relay failures, combined and LMTP replies;
//! - `aliases`: what an alias resolution answered, and its refusals;
//! - `replies`: every fixed reply, by name.
pub mod aliases;
pub mod greeting;
pub mod helostyle;
pub mod input;
pub mod input_kind;
pub mod outcome;
pub mod paths;
pub mod replies;
pub mod sasl;
pub mod state;
