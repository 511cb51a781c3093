//! `ns_smtpd resolve addrlist`: the recipients as `aliasproc` resolves them, without sending
//! (unknown addresses pass, duplicates go, at most `maxrcpt`); unchanged without aliasproc.
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};

pub fn resolve(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::wrong_args("ns_smtpd resolve", "addrlist"));
    }
    args.list(2)?; // a clear error for what is not a list
    let resolved = context.eval_list(&["::nssmtpd::resolve", &args.str(2)])?;
    Ok(Value::List(resolved.into_iter().map(Value::Str).collect()))
}

/// The recipients of `send` after alias resolution (errors keep their `-errorcode`, e.g.
/// `NSSMTPD ALIAS UNKNOWN`); resolved before any connection is made.
pub fn expand(context: &InterpContext, recipients: &[String]) -> Result<Vec<String>, CmdError> {
    let mut words = vec!["list"];
    words.extend(recipients.iter().map(String::as_str));
    let list = match context.eval_words(&words) {
        crate::tcl::api::EvalOutcome::Ok(list) => list,
        crate::tcl::api::EvalOutcome::Error { message, .. } => return Err(CmdError::new(message)),
    };
    context.eval_list(&["::nssmtpd::resolve", &list])
}
