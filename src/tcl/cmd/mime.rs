//! `ns_smtpd parsemessage bytes ?-8bitmime bool?`: a message decoded into a Tcl dict (see
//! `core::mime`), for the test sink and for scripts that read mail.
use crate::core::mime::{decode, Attachment, Decoded};
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};

const USAGE: &str = "bytes ?-8bitmime bool?";

pub fn parsemessage(_: &InterpContext, args: &Args) -> CmdResult {
    let eight_bit = match args.len() {
        3 => false,
        5 if args.str(3) == "-8bitmime" => args.boolean(4)?,
        5 => {
            return Err(CmdError::new(format!(
                "bad option \"{}\": must be -8bitmime",
                args.str(3)
            )))
        }
        _ => return Err(CmdError::wrong_args("ns_smtpd parsemessage", USAGE)),
    };
    let raw = args.bytes(2)?;
    let decoded = decode(&raw, eight_bit);
    Ok(message_dict(raw, decoded))
}

fn s(text: &str) -> Value {
    Value::Str(text.to_string())
}

/// The dict: `raw` and attachment `data` are byte arrays, everything else text.
fn message_dict(raw: Vec<u8>, d: Decoded) -> Value {
    let headers = d
        .headers
        .iter()
        .flat_map(|(name, value)| [s(name), s(value)])
        .collect();
    Value::List(vec![
        s("size"),
        Value::Int(raw.len() as i64),
        s("raw"),
        Value::Bytes(raw),
        s("headers"),
        Value::List(headers),
        s("subject"),
        Value::Str(d.subject),
        s("text"),
        Value::Str(d.text),
        s("html"),
        Value::Str(d.html),
        s("attachments"),
        Value::List(d.attachments.into_iter().map(attachment_dict).collect()),
        s("problems"),
        Value::List(d.problems.iter().map(|p| s(p.code())).collect()),
    ])
}

fn attachment_dict(a: Attachment) -> Value {
    Value::List(vec![
        s("filename"),
        Value::Str(a.filename),
        s("type"),
        Value::Str(a.content_type),
        s("size"),
        Value::Int(a.data.len() as i64),
        s("data"),
        Value::Bytes(a.data),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_keys_and_byte_values() {
        let raw = b"Subject: s\r\n\r\nx\r\n".to_vec();
        let v = message_dict(raw.clone(), decode(&raw, false));
        let Value::List(items) = v else {
            panic!("not a list")
        };
        let keys: Vec<&Value> = items.iter().step_by(2).collect();
        assert_eq!(
            keys,
            [
                "size",
                "raw",
                "headers",
                "subject",
                "text",
                "html",
                "attachments",
                "problems"
            ]
            .map(s)
            .iter()
            .collect::<Vec<_>>()
        );
        assert_eq!(items[1], Value::Int(raw.len() as i64));
        assert_eq!(items[3], Value::Bytes(raw));
        assert_eq!(items[5], Value::List(vec![s("Subject"), s("s")]));
    }
}
