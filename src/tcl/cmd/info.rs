//! `ns_smtpd info version|address|relay|server`.
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{bad_choice, CmdError, CmdResult, Value};

const KEYS: &[&str] = &["address", "relay", "server", "version"];

pub fn info(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::wrong_args(
            "ns_smtpd info",
            "address|relay|server|version",
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
        _ => return Err(bad_choice("key", &args.str(2), KEYS)),
    };
    Ok(Value::Str(value))
}
