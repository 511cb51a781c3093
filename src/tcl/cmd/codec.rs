//! `ns_smtpd encode|decode base64|hex|qprint data`: binary in, binary out.
use crate::core::codec;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{bad_choice, CmdError, CmdResult, Value};

const TYPES: &[&str] = &["base64", "hex", "qprint"];

pub fn encode(_: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 4 {
        return Err(CmdError::wrong_args(
            "ns_smtpd encode",
            "base64|hex|qprint data",
        ));
    }
    let kind = args.str(2);
    let data = args.bytes(3)?;
    let text = match kind.as_str() {
        "base64" => codec::base64_encode(&data),
        "hex" => codec::hex_encode(&data),
        "qprint" => codec::qprint_encode(&data),
        _ => return Err(bad_choice("type", &kind, TYPES)),
    };
    Ok(Value::Str(text))
}

pub fn decode(_: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 4 {
        return Err(CmdError::wrong_args(
            "ns_smtpd decode",
            "base64|hex|qprint data",
        ));
    }
    let kind = args.str(2);
    // Encoded text is ASCII; taking the string form keeps Tcl 9 from refusing non-byte input
    // before we can say what is wrong with it.
    let text = args.str(3);
    let decoded = match kind.as_str() {
        "base64" => codec::base64_decode(text.as_bytes()),
        "hex" => codec::hex_decode(text.as_bytes()),
        "qprint" => codec::qprint_decode(text.as_bytes()),
        _ => return Err(bad_choice("type", &kind, TYPES)),
    };
    decoded
        .map(Value::Bytes)
        .map_err(|e| CmdError::new(format!("invalid {kind} data: {e}")))
}
