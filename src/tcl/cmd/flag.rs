//! `ns_smtpd flag NAME`: the numeric value of a session/recipient flag.
use crate::core::flags;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};

pub fn flag(_: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::wrong_args("ns_smtpd flag", "name"));
    }
    let name = args.str(2);
    flags::flag_by_name(&name)
        .map(Value::from)
        .ok_or_else(|| CmdError::new(format!("nssmtpd: invalid flag name \"{name}\"")))
}
