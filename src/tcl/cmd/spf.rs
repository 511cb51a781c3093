//! `ns_smtpd spf ip sender helo ?timeout?`: the built-in SPF evaluator behind `smtpd::spf`,
//! through the server's resolver (the system's when no server runs). The evaluation runs on
//! the I/O runtime; the interpreter only waits for its word.
use super::email::server_dns;
use crate::io::auth;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};
use std::net::IpAddr;
use std::time::Duration;

/// upstream's deadline for one evaluation, and its maximum.
const DEFAULT_LIMIT: f64 = 20.0;
const MAX_LIMIT: f64 = 120.0;

pub fn spf(context: &InterpContext, args: &Args) -> CmdResult {
    if !(5..=6).contains(&args.len()) {
        return Err(CmdError::wrong_args(
            "ns_smtpd spf",
            "ip sender helo ?timeout?",
        ));
    }
    let ip_text = args.str(2);
    let ip: IpAddr = ip_text
        .trim()
        .parse()
        .map_err(|_| CmdError::new(format!("invalid IP address \"{ip_text}\"")))?;
    let sender = args.str(3);
    let helo = args.str(4);
    for (what, text) in [("sender", &sender), ("helo", &helo)] {
        if text.chars().any(|c| c.is_control()) {
            return Err(CmdError::new(format!(
                "{what} must not contain control characters"
            )));
        }
    }
    let limit = if args.len() == 6 {
        let word = args.str(5);
        match word.trim().parse::<f64>() {
            Ok(secs) if secs > 0.0 && secs <= MAX_LIMIT => secs,
            _ => {
                return Err(CmdError::new(format!(
                    "invalid timeout \"{word}\": must be seconds from 0 to {MAX_LIMIT}"
                )))
            }
        }
    } else {
        DEFAULT_LIMIT
    };
    if sender.is_empty() && helo.trim().is_empty() {
        return Err(CmdError::new("a null sender needs a helo name to check"));
    }
    let hostname = context
        .instance
        .config()
        .as_ref()
        .map(|c| c.hostname.clone())
        .unwrap_or_else(|| "localhost".into());
    let dns = server_dns(context)?;
    let check = context.wait(async move {
        auth::check_spf(
            &dns,
            ip.to_canonical(),
            &sender,
            &helo,
            &hostname,
            Duration::from_secs_f64(limit),
        )
        .await
    });
    Ok(Value::Str(check.result))
}
