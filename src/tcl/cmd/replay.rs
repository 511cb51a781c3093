//! `ns_smtpd replay ?-client ip? ?-helo name? inChan outChan`: one session read from a Tcl
//! channel (a BSMTP batch or a scripted dialogue) through the server started in this
//! interpreter, with its policy and callbacks; the replies are written to `outChan`.
use crate::io::replay::{normalize_line_endings, replay as run_replay};
use crate::tcl::api::EvalOutcome;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};
use std::net::{IpAddr, SocketAddr};

const USAGE: &str = "?-client ip? ?-helo name? inChan outChan";

pub fn replay(context: &InterpContext, args: &Args) -> CmdResult {
    let mut client: IpAddr = IpAddr::from([127, 0, 0, 1]);
    let mut helo = None;
    let mut i = 2;
    while i + 2 < args.len() {
        let option = args.str(i);
        let value = args.str(i + 1);
        match option.as_str() {
            "-client" => {
                client = value.trim().parse().map_err(|_| {
                    CmdError::new(format!(
                        "invalid -client \"{value}\": expected an IP address"
                    ))
                })?
            }
            "-helo" => helo = Some(value),
            _ => {
                return Err(CmdError::new(format!(
                    "bad option \"{option}\": must be -client or -helo"
                )))
            }
        }
        i += 2;
    }
    if args.len() != i + 2 {
        return Err(CmdError::wrong_args("ns_smtpd replay", USAGE));
    }
    let (in_chan, out_chan) = (args.str(i), args.str(i + 1));
    let shared = context
        .instance
        .server()
        .as_ref()
        .map(|s| s.shared.clone())
        .ok_or_else(|| CmdError::new("nssmtpd: no server is running: ns_smtpd start it first"))?;
    // Binary both ways: the dialogue's bytes are the protocol.
    let binary = |chan: &str| eval(context, &["fconfigure", chan, "-translation", "binary"]);
    binary(&in_chan)?;
    binary(&out_chan)?;
    let input = latin1_bytes(&eval(context, &["read", &in_chan])?)?;
    let input = normalize_line_endings(input);
    let output = context.wait(run_replay(shared, SocketAddr::new(client, 0), helo, input));
    let text: String = output.iter().map(|&b| char::from(b)).collect();
    eval(context, &["puts", "-nonewline", &out_chan, &text])?;
    eval(context, &["flush", &out_chan])?;
    Ok(Value::Empty)
}

fn eval(context: &InterpContext, words: &[&str]) -> Result<String, CmdError> {
    match context.eval_words(words) {
        EvalOutcome::Ok(s) => Ok(s),
        EvalOutcome::Error { message, .. } => Err(CmdError::new(message)),
    }
}

/// The bytes a binary channel read gave (one character per byte).
fn latin1_bytes(text: &str) -> Result<Vec<u8>, CmdError> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| CmdError::new("channel is not binary")))
        .collect()
}
