//! `ns_smtpd checkspam|trainspam|spamversion|checkvirus|virusversion`: the spam and virus
//! daemons configured with `spamd`/`rspamd` and `clamd`.
use crate::config::ServerConfig;
use crate::io::scan;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};

/// The running server's configuration, else the module section's.
fn config(context: &InterpContext, args: &Args) -> Result<ServerConfig, CmdError> {
    match context.instance.config().clone() {
        Some(c) => Ok(c),
        None => super::server::configuration(context, args, args.len()),
    }
}

fn need(value: &str, option: &str) -> Result<(), CmdError> {
    if value.is_empty() {
        return Err(CmdError::new(format!("nssmtpd: no {option} configured")));
    }
    Ok(())
}

fn scan_error(e: scan::ScanError) -> CmdError {
    CmdError::new(format!("nssmtpd: {e}"))
}

/// `checkspam message ?email?` → `Spam|Innocent score signature`.
pub fn checkspam(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() < 3 || args.len() > 4 {
        return Err(CmdError::wrong_args(
            "ns_smtpd checkspam",
            "message ?email?",
        ));
    }
    let c = config(context, args)?;
    if c.rspamd.is_empty() {
        need(&c.spamd, "spamd")?;
    }
    let message = args.str(2).into_bytes();
    let user = (args.len() == 4).then(|| args.str(3));
    let (spamd, rspamd, limit) = (c.spamd.clone(), c.rspamd.clone(), c.scantimeout);
    let v =
        context
            .wait(async move {
                scan::spam_check(&spamd, &rspamd, &message, user.as_deref(), limit).await
            })
            .map_err(scan_error)?;
    Ok(Value::Str(format!(
        "{} {:.2} {}",
        if v.spam { "Spam" } else { "Innocent" },
        v.score,
        v.symbols
    )))
}

/// `trainspam 1|0 email message ?signature? ?mode? ?source?`: teaches spamd (TELL).
pub fn trainspam(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() < 5 || args.len() > 8 {
        return Err(CmdError::wrong_args(
            "ns_smtpd trainspam",
            "1|0 email message ?signature? ?mode? ?source?",
        ));
    }
    let spam = args.int(2)? != 0;
    let c = config(context, args)?;
    need(&c.spamd, "spamd")?;
    let user = args.str(3);
    let message = args.str(4).into_bytes();
    let (spamd, limit) = (c.spamd.clone(), c.scantimeout);
    let user = (!user.is_empty()).then_some(user);
    context
        .wait(async move { scan::spamd_tell(&spamd, &message, spam, user.as_deref(), limit).await })
        .map(Value::Str)
        .map_err(scan_error)
}

pub fn spamversion(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 2 {
        return Err(CmdError::wrong_args("ns_smtpd spamversion", ""));
    }
    let c = config(context, args)?;
    let (spamd, rspamd, limit) = (c.spamd.clone(), c.rspamd.clone(), c.scantimeout);
    if rspamd.is_empty() {
        need(&spamd, "spamd")?;
    }
    context
        .wait(async move {
            if rspamd.is_empty() {
                scan::spamd_version(&spamd, limit).await
            } else {
                scan::rspamd_version(&rspamd, limit).await
            }
        })
        .map(Value::Str)
        .map_err(scan_error)
}

/// `checkvirus data`: `""` when clean, else the virus name. Data starting with `/` is a
/// file to scan.
pub fn checkvirus(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::wrong_args("ns_smtpd checkvirus", "data|/path"));
    }
    let c = config(context, args)?;
    // As the C module: without a virus scanner nothing is found (logged, so a site that
    // expects scanning can see that none happens).
    if c.clamd.is_empty() {
        context.log(
            "Warning",
            "nssmtpd: checkvirus: no clamd configured, nothing was scanned",
        );
        return Ok(Value::Str(String::new()));
    }
    let text = args.str(2);
    let data = if text.starts_with('/') && !text.contains('\n') {
        std::fs::read(&text).map_err(|e| {
            CmdError::new(format!(
                "cannot read \"{text}\": {}",
                crate::io::os_text(&e)
            ))
        })?
    } else {
        args.bytes(2).unwrap_or_else(|_| text.into_bytes())
    };
    let (clamd, limit) = (c.clamd.clone(), c.scantimeout);
    let found = context
        .wait(async move { scan::virus_check(&clamd, &data, limit).await })
        .map_err(scan_error)?;
    Ok(Value::Str(found.unwrap_or_default()))
}

pub fn virusversion(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 2 {
        return Err(CmdError::wrong_args("ns_smtpd virusversion", ""));
    }
    let c = config(context, args)?;
    need(&c.clamd, "clamd")?;
    let (clamd, limit) = (c.clamd.clone(), c.scantimeout);
    context
        .wait(async move { scan::clamd_version(&clamd, limit).await })
        .map(Value::Str)
        .map_err(scan_error)
}
