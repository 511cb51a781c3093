//! `ns_smtpd parseemail ?-syntax header|smtp? ?--? address`, `ns_smtpd checkemail string`
//! and `ns_smtpd checkdomain domain`.
use crate::core::mailbox::{self, Mailbox, Syntax};
use crate::io::dns;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{bad_choice, CmdError, CmdResult, Value};
use std::time::Duration;

/// How long a domain check may take in all (two lookups, one try each).
const CHECKDOMAIN_LIMIT: Duration = Duration::from_secs(5);

const PARSEEMAIL_USAGE: &str = "?-syntax header|smtp? ?--? address";

/// The parsed constituents as a dict: `name` only when a display name was written.
fn mailbox_dict(m: Mailbox) -> Value {
    let mut words = vec![
        Value::from("localpart"),
        Value::Str(m.localpart),
        Value::from("domain"),
        Value::Str(m.domain),
        Value::from("address"),
        Value::Str(m.address),
    ];
    if let Some(name) = m.name {
        words.push(Value::from("name"));
        words.push(Value::Str(name));
    }
    Value::List(words)
}

pub fn parseemail(_: &InterpContext, args: &Args) -> CmdResult {
    let wrong = || CmdError::wrong_args("ns_smtpd parseemail", PARSEEMAIL_USAGE);
    let mut syntax = Syntax::Header;
    let mut i = 2;
    // Options come before the last word, so an address starting with `-` needs no `--`.
    while i + 1 < args.len() {
        match args.str(i).as_str() {
            "--" => {
                i += 1;
                break;
            }
            "-syntax" => {
                let value = args.str(i + 1);
                syntax = match value.as_str() {
                    "header" => Syntax::Header,
                    "smtp" => Syntax::Smtp,
                    _ => return Err(bad_choice("syntax", &value, &["header", "smtp"])),
                };
                i += 2;
            }
            other if other.starts_with('-') => {
                return Err(bad_choice("option", other, &["-syntax", "--"]))
            }
            _ => break,
        }
    }
    if i + 1 != args.len() {
        return Err(wrong());
    }
    let input = args.str(i);
    match mailbox::parse(&input, syntax) {
        Ok(m) => Ok(mailbox_dict(m)),
        // A plain error like ns_parseurl's: no error code, no partial result.
        Err(e) => Err(CmdError::from_tcl(format!(
            "Could not parse email \"{input}\": {e}"
        ))),
    }
}

pub fn checkemail(_: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::wrong_args("ns_smtpd checkemail", "address"));
    }
    // The argument is only read: the caller's value is never modified.
    Ok(mailbox::parse(&args.str(2), Syntax::Header)
        .map(|m| Value::Str(m.address))
        .unwrap_or(Value::Empty))
}

pub fn checkdomain(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::wrong_args("ns_smtpd checkdomain", "domain"));
    }
    let domain = args.str(2);
    let dns = server_dns(context)?;
    let exists = context.wait(async move { dns.domain_exists(&domain, CHECKDOMAIN_LIMIT).await });
    Ok(Value::from(exists))
}

/// The resolver of this interpreter's running server, else the system's.
pub(crate) fn server_dns(context: &InterpContext) -> Result<std::sync::Arc<dns::Dns>, CmdError> {
    match context.instance.server().as_ref() {
        Some(server) => Ok(server.shared.dns()),
        None => dns::Dns::system().ok_or_else(|| {
            CmdError::new("nssmtpd: no DNS resolver can be built from the system configuration")
        }),
    }
}
