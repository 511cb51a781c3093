//! `ns_smtpd info version|address|relay|server|session|peeraddr`.
use crate::registry;
use crate::tcl::args::Args;
use crate::tcl::bridge::current_session;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{bad_choice, CmdError, CmdResult, Value};

const KEYS: &[&str] = &[
    "address", "peeraddr", "relay", "server", "session", "version",
];

pub fn info(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::wrong_args(
            "ns_smtpd info",
            "address|peeraddr|relay|server|session|version",
        ));
    }
    let key = args.str(2).to_ascii_lowercase();
    let value = match key.as_str() {
        "version" => crate::VERSION.to_string(),
        "server" => context.server_name(),
        "address" => context
            .instance
            .listen_address()
            .unwrap_or_else(|| context.config_value("address").unwrap_or_default()),
        "relay" => context
            .instance
            .relay_target()
            .unwrap_or_else(|| context.config_value("relay").unwrap_or_default()),
        // The session whose callback runs now (what `ns_conn peeraddr` answers in a callback).
        "session" => current_session().map_or(String::new(), |id| id.to_string()),
        "peeraddr" => {
            let peer = current_session()
                .and_then(registry::get)
                .map(|s| s.peer.ip());
            match peer {
                Some(ip) => ip.to_string(),
                None => return Err(CmdError::new("nssmtpd: no SMTP callback is running")),
            }
        }
        _ => return Err(bad_choice("key", &args.str(2), KEYS)),
    };
    Ok(Value::Str(value))
}
