//! Session subcommands (`ns_smtpd <sub> <id> ...`): read and change a live session, usually
//! from inside its callbacks. A session that has ended is an error, never a crash.
use crate::core::address::has_line_break_or_nul;
use crate::core::envelope::{Envelope, Recipient, Selector};
use crate::core::flags;
use crate::core::message;
use crate::registry::{self, SessionHandle};
use crate::tcl::api::EvalOutcome;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};
use std::io::Write;
use std::sync::Arc;

/// Checks the arity (`min..=max` words after the id) and finds the session.
fn session(
    args: &Args,
    min: usize,
    max: usize,
    usage: &str,
) -> Result<Arc<SessionHandle>, CmdError> {
    let sub = args.str(1);
    let extra = args.len().saturating_sub(3);
    if args.len() < 3 || extra < min || extra > max {
        let usage = if usage.is_empty() {
            "id".to_string()
        } else {
            format!("id {usage}")
        };
        return Err(CmdError::wrong_args(&format!("ns_smtpd {sub}"), &usage));
    }
    let word = args.str(2);
    word.trim()
        .parse::<u64>()
        .ok()
        .and_then(registry::get)
        .ok_or_else(|| CmdError::new(format!("invalid session id \"{word}\"")))
}

fn string(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// Message bytes for Tcl: text when it is UTF-8, else one character per byte.
fn message_value(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::Str(s.to_string()),
        Err(_) => Value::Bytes(bytes.to_vec()),
    }
}

fn rcpt_triple(r: &Recipient) -> Vec<Value> {
    vec![
        string(&r.addr),
        Value::from(r.flags),
        Value::Double(r.spam_score),
    ]
}

/// A flag argument: a non-negative integer or a flag name.
fn flag_value(word: &str) -> Result<u32, CmdError> {
    if let Ok(n) = word.trim().parse::<i64>() {
        return u32::try_from(n).map_err(|_| {
            CmdError::new(format!(
                "invalid flag \"{word}\": must be a flag name or a non-negative integer"
            ))
        });
    }
    flags::flag_by_name(word)
        .ok_or_else(|| CmdError::new(format!("nssmtpd: invalid flag \"{word}\"")))
}

fn no_line_breaks(what: &str, s: &str) -> Result<(), CmdError> {
    if has_line_break_or_nul(s) {
        return Err(CmdError::new(format!(
            "{what} must not contain CR, LF or NUL"
        )));
    }
    Ok(())
}

/// `gethdr id name ?-all? ?-raw?`: the newest non-empty value of a header (the address
/// headers reduced to their first address, lower-cased); `-all` every non-empty value in
/// message order as a list; `-raw` values as written (unfolded), not reduced.
pub fn gethdr(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 1, 3, "name ?-all? ?-raw?")?;
    let name = args.str(3);
    let (mut all, mut raw) = (false, false);
    for i in 4..args.len() {
        match args.str(i).as_str() {
            "-all" => all = true,
            "-raw" => raw = true,
            other => {
                return Err(CmdError::new(format!(
                    "bad option \"{other}\": must be -all or -raw"
                )))
            }
        }
    }
    let env = s.envelope();
    let raw_list;
    let own = if raw {
        message::raw_headers(&env.message)
    } else {
        Vec::new()
    };
    // With `-raw`, the pseudo headers (`X-Smtpd-*`, which come first) and then the message's
    // own fields as written; when the stored list holds fewer (no message kept), it as is.
    let headers = match env.headers.len().checked_sub(own.len()) {
        Some(pseudo) if raw => {
            raw_list = env.headers[..pseudo]
                .iter()
                .cloned()
                .chain(own)
                .collect::<Vec<_>>();
            &raw_list
        }
        _ => &env.headers,
    };
    let mut values = headers
        .iter()
        .filter(|(n, v)| {
            n.eq_ignore_ascii_case(&name) && v.as_deref().is_some_and(|v| !v.is_empty())
        })
        .map(|(_, v)| v.clone().unwrap_or_default());
    if all {
        let mut list: Vec<Value> = values.map(Value::Str).collect();
        list.reverse();
        return Ok(Value::List(list));
    }
    Ok(Value::Str(values.next().unwrap_or_default()))
}

pub fn gethdrs(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 1, "?name?")?;
    let env = s.envelope();
    if args.len() == 4 {
        let name = args.str(3);
        return Ok(Value::List(
            env.headers
                .iter()
                .filter(|(n, v)| {
                    n.eq_ignore_ascii_case(&name) && v.as_deref().is_some_and(|v| !v.is_empty())
                })
                .map(|(_, v)| string(v.as_deref().unwrap_or("")))
                .collect(),
        ));
    }
    Ok(Value::List(
        env.headers
            .iter()
            .map(|(n, v)| Value::List(vec![string(n), string(v.as_deref().unwrap_or(""))]))
            .collect(),
    ))
}

/// `getbody id ?-binary?`: `{message offset length}`. As text (UTF-8 when the message is,
/// else one character per byte) the offset of the body and the length are in characters,
/// so `string range $message $offset end` is the body; with `-binary` the message is always
/// a byte array and both are in bytes, so that a script can hand it on unchanged.
pub fn getbody(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 1, "?-binary?")?;
    let binary = args.len() == 4;
    if binary && args.str(3) != "-binary" {
        return Err(CmdError::new(format!(
            "bad option \"{}\": must be -binary",
            args.str(3)
        )));
    }
    let env = s.envelope();
    if binary {
        return Ok(Value::List(vec![
            Value::Bytes(env.message.clone()),
            Value::Int(env.body_offset as i64),
            Value::Int(env.message.len() as i64),
        ]));
    }
    let (offset, length) = match std::str::from_utf8(&env.message) {
        Ok(text) => {
            let at = env.body_offset.min(text.len());
            // The offset is always at a line start, so on a character boundary.
            let head = text.get(..at).map_or(at, |h| h.chars().count());
            (head, text.chars().count())
        }
        Err(_) => (env.body_offset, env.message.len()),
    };
    Ok(Value::List(vec![
        message_value(&env.message),
        Value::Int(offset as i64),
        Value::Int(length as i64),
    ]))
}

pub fn getfrom(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 0, "")?;
    let from = s.envelope().from.clone().unwrap_or_default();
    Ok(Value::Str(from))
}

pub fn getfromdata(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 0, "")?;
    let data = s.envelope().from_data.clone();
    Ok(Value::Str(data))
}

pub fn setfrom(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 1, 1, "address")?;
    let addr = args.str(3);
    no_line_breaks("address", &addr)?;
    s.envelope().from = Some(addr);
    Ok(Value::Empty)
}

pub fn setfromdata(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 1, 1, "data")?;
    s.envelope().from_data = args.str(3);
    Ok(Value::Empty)
}

pub fn getrcpt(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 1, "?address|index?")?;
    let env = s.envelope();
    if args.len() == 4 {
        return Ok(env
            .find(&Selector::parse(&args.str(3)))
            .map(|r| Value::List(rcpt_triple(r)))
            .unwrap_or(Value::List(vec![])));
    }
    Ok(Value::List(
        env.recipients()
            .map(|r| Value::List(rcpt_triple(r)))
            .collect(),
    ))
}

pub fn getrcptdata(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 1, "?address|index?")?;
    if args.len() == 3 {
        return Ok(Value::Empty);
    }
    let env = s.envelope();
    Ok(env
        .find(&Selector::parse(&args.str(3)))
        .map(|r| string(&r.data))
        .unwrap_or(Value::Empty))
}

pub fn addrcpt(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 1, 3, "address ?flags? ?data?")?;
    let addr = args.str(3);
    no_line_breaks("address", &addr)?;
    if addr.is_empty() {
        return Err(CmdError::new("address must not be empty"));
    }
    let flags = if args.len() > 4 {
        flag_value(&args.str(4))?
    } else {
        0
    };
    let mut r = Recipient::new(addr, flags);
    if args.len() > 5 {
        r.data = args.str(5);
    }
    s.envelope().add_recipient(r);
    Ok(Value::Empty)
}

pub fn setrcptdata(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 2, 2, "address|index data")?;
    let data = args.str(4);
    if let Some(r) = s.envelope().find_mut(&Selector::parse(&args.str(3))) {
        r.data = data;
    }
    Ok(Value::Empty)
}

pub fn delrcpt(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 1, 1, "address|index")?;
    let removed = s.envelope().remove(&Selector::parse(&args.str(3)));
    Ok(Value::Int(removed as i64))
}

/// Applies `change` to the flags the selector names; the new flags, or `""` for no match.
fn change_flags(env: &mut Envelope, sel: &Selector, change: impl Fn(u32) -> u32) -> Value {
    if *sel == Selector::Session {
        env.flags = change(env.flags);
        return Value::from(env.flags);
    }
    match env.find_mut(sel) {
        Some(r) => {
            r.flags = change(r.flags);
            Value::from(r.flags)
        }
        None => Value::Empty,
    }
}

pub fn setflag(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 2, 2, "address|index|-1 flag")?;
    let bits = flag_value(&args.str(4))?;
    let sel = Selector::parse(&args.str(3));
    let mut env = s.envelope();
    Ok(change_flags(&mut env, &sel, |f| f | bits))
}

pub fn unsetflag(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 2, 2, "address|index|-1 flag")?;
    let bits = flag_value(&args.str(4))?;
    let sel = Selector::parse(&args.str(3));
    let mut env = s.envelope();
    Ok(change_flags(&mut env, &sel, |f| f & !bits))
}

pub fn getflag(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 1, "?address|index|-1?")?;
    let env = s.envelope();
    let sel = if args.len() == 4 {
        Selector::parse(&args.str(3))
    } else {
        Selector::Session
    };
    Ok(match sel {
        Selector::Session => Value::from(env.flags),
        _ => Value::from(env.find(&sel).map(|r| r.flags).unwrap_or(0)),
    })
}

pub fn setreply(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 1, 1, "reply")?;
    let text = args.str(3);
    if text.contains('\0') {
        return Err(CmdError::new("reply must not contain NUL"));
    }
    let code_ok = text
        .get(..3)
        .and_then(|c| c.parse::<u16>().ok())
        .is_some_and(|c| (200..600).contains(&c));
    if !code_ok {
        return Err(CmdError::new(format!(
            "invalid reply \"{text}\": must start with a reply code 200..599"
        )));
    }
    s.envelope().reply = Some(text);
    Ok(Value::Empty)
}

pub fn getline(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 0, "")?;
    let line = s.envelope().line.clone();
    Ok(Value::Str(line))
}

pub fn dump(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 1, 1, "filename")?;
    let path = args.str(3);
    let mut out = Vec::new();
    {
        let env = s.envelope();
        out.extend_from_slice(format!("From: {}\n", env.from.as_deref().unwrap_or("")).as_bytes());
        for r in env.recipients() {
            out.extend_from_slice(format!("To: {}\n", r.addr).as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&env.message);
        out.extend_from_slice(b"\n\n");
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(&out))
        .map_err(|e| {
            CmdError::new(format!(
                "cannot write \"{path}\": {}",
                crate::io::os_text(&e)
            ))
        })?;
    Ok(Value::Empty)
}

pub fn maildir(context: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 1, 1, "directory")?;
    let dir = args.str(3);
    let message = s.envelope().message.clone();
    let host = context
        .instance
        .config()
        .as_ref()
        .map(|c| c.hostname.clone())
        .unwrap_or_else(|| "localhost".into());
    crate::io::maildir::deliver(std::path::Path::new(&dir), &host, &message)
        .map(|p| Value::Str(p.display().to_string()))
        .map_err(|e| {
            CmdError::new(format!(
                "cannot deliver to Maildir \"{dir}\": {}",
                crate::io::os_text(&e)
            ))
        })
}

pub fn getauth(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 0, "")?;
    let user = s.envelope().auth_user.clone().unwrap_or_default();
    Ok(Value::Str(user))
}

/// `gethelo id`: the name the client gave in HELO/EHLO/LHLO, as given; empty before one
/// was accepted and after STARTTLS.
pub fn gethelo(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 0, "")?;
    let helo = s.envelope().helo.clone().unwrap_or_default();
    Ok(Value::Str(helo))
}

/// `headers id`: every parsed header in message order (pseudo headers last), duplicates
/// and empty values kept. A flat name/value list in tclsh; in NaviServer a new
/// case-insensitive `ns_set` holding the same pairs.
pub fn headers(context: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 0, "")?;
    // The envelope keeps them newest first; copied out before any Tcl runs.
    let pairs: Vec<(String, String)> = s
        .envelope()
        .headers
        .iter()
        .rev()
        .map(|(n, v)| (n.clone(), v.clone().unwrap_or_default()))
        .collect();
    if crate::tcl::loaded::is_active() && context.has_command("ns_set") {
        let mut words = vec!["ns_set", "create", "-nocase", "--", "headers"];
        for (n, v) in &pairs {
            words.push(n);
            words.push(v);
        }
        return match context.eval_words(&words) {
            EvalOutcome::Ok(set) => {
                context.keep_header_set(set.clone(), s.id);
                Ok(Value::Str(set))
            }
            EvalOutcome::Error { message, .. } => Err(CmdError::from_tcl(message)),
        };
    }
    Ok(Value::List(
        pairs
            .into_iter()
            .flat_map(|(n, v)| [Value::Str(n), Value::Str(v)])
            .collect(),
    ))
}

/// `authresults id ?-findings?`: the sender authentication results of the transaction
/// (`authcheck`), one key per method checked, each a dict with `result`, `domain`, `reason`
/// and the method's own keys; with `-findings` the policy finding names (`spf-pass`, ...).
pub fn authresults(_: &InterpContext, args: &Args) -> CmdResult {
    let s = session(args, 0, 1, "?-findings?")?;
    let findings = match args.len() {
        4 if args.str(3) == "-findings" => true,
        4 => {
            return Err(CmdError::new(format!(
                "bad option \"{}\": must be -findings",
                args.str(3)
            )))
        }
        _ => false,
    };
    let record = s.envelope().auth.clone();
    if findings {
        let names = record.findings(&record.checked);
        return Ok(Value::List(names.into_iter().map(Value::Str).collect()));
    }
    Ok(auth_record_value(&record))
}

fn dict(items: Vec<(&str, Value)>) -> Value {
    Value::List(
        items
            .into_iter()
            .flat_map(|(k, v)| [string(k), v])
            .collect(),
    )
}

fn auth_record_value(record: &crate::core::authres::AuthRecord) -> Value {
    use crate::core::authres::Check;
    let base = |c: &Check| -> Vec<(&'static str, Value)> {
        vec![
            ("result", string(&c.result)),
            ("domain", string(&c.domain)),
            ("reason", string(&c.reason)),
        ]
    };
    let dkim_one = |c: &Check| {
        let mut items = base(c);
        items.push(("selector", string(&c.selector)));
        items.push(("identity", string(&c.identity)));
        items
    };
    let mut out: Vec<(&str, Value)> = Vec::new();
    if let Some(spf) = &record.spf {
        let mut items = base(spf);
        let scope = record.spf_scope.map_or("mailfrom", |s| s.as_str());
        items.push(("scope", string(scope)));
        items.push(("identity", string(&spf.identity)));
        out.push(("spf", dict(items)));
    }
    if record.checked.needs_dkim() {
        let mut items = match record.dkim_summary() {
            Some(c) => dkim_one(c),
            None => dkim_one(&Check {
                result: "none".into(),
                reason: "no signature".into(),
                ..Check::default()
            }),
        };
        let all = record.dkim.iter().map(|c| dict(dkim_one(c))).collect();
        items.push(("signatures", Value::List(all)));
        out.push(("dkim", dict(items)));
    }
    if let Some(arc) = &record.arc {
        out.push(("arc", dict(base(arc))));
    }
    if let Some(dmarc) = &record.dmarc {
        let mut items = base(dmarc);
        items.push(("policy", string(&dmarc.policy)));
        out.push(("dmarc", dict(items)));
    }
    dict(out)
}
