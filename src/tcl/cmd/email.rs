//! `ns_smtpd checkemail string` and `ns_smtpd checkdomain domain`.
use crate::core::address::parse_address;
use crate::io::dns;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};
use std::time::Duration;

/// How long a domain check may take in all (two lookups, one try each).
const CHECKDOMAIN_LIMIT: Duration = Duration::from_secs(5);

pub fn checkemail(_: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::wrong_args("ns_smtpd checkemail", "address"));
    }
    // The argument is only read: the caller's value is never modified.
    Ok(parse_address(&args.str(2))
        .map(|a| Value::Str(a.addr()))
        .unwrap_or(Value::Empty))
}

pub fn checkdomain(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::wrong_args("ns_smtpd checkdomain", "domain"));
    }
    let domain = args.str(2);
    let exists = context.wait(async move { dns::domain_exists(&domain, CHECKDOMAIN_LIMIT).await });
    Ok(Value::from(exists))
}
