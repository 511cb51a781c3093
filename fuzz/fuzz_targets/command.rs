//! SMTP command lines (src/core/command.rs), as the session reads them: one line, CRLF
//! removed, bytes made UTF-8 lossily.
//!
//! Checks: no panic; the verb matches case-insensitively (upper-casing the verb changes
//! nothing); every parsed command renders back to a line that parses to the same command
//! (so paths and parameters survive a round trip through a relay's command line).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nssmtpd_fuzz::core::command::{parse_command, Command, Param};

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let cmd = parse_command(&line);
    let _ = cmd.name();

    let (verb, rest) = line.split_at(line.find(' ').unwrap_or(line.len()));
    let upper = format!("{}{rest}", verb.to_ascii_uppercase());
    assert_eq!(
        parse_command(&upper),
        cmd,
        "verb case changed the result: {line:?}"
    );

    if let Some(again) = render(&cmd) {
        assert_eq!(parse_command(&again), cmd, "{line:?} rendered as {again:?}");
    }
});

/// The canonical command line for `cmd`; `None` for commands without one.
fn render(cmd: &Command) -> Option<String> {
    Some(match cmd {
        Command::Helo(a) => format!("HELO {a}"),
        Command::Ehlo(a) => format!("EHLO {a}"),
        Command::Lhlo(a) => format!("LHLO {a}"),
        Command::Mail { path, params } => {
            format!("MAIL FROM:{}{}", path_form(path), params_form(params))
        }
        Command::Rcpt { path, params } => {
            format!("RCPT TO:{}{}", path_form(path), params_form(params))
        }
        Command::Data => "DATA".into(),
        Command::Bdat { size, last: true } => format!("BDAT {size} LAST"),
        Command::Bdat { size, last: false } => format!("BDAT {size}"),
        Command::Rset => "RSET".into(),
        Command::Noop => "NOOP".into(),
        Command::Quit => "QUIT".into(),
        Command::Help(a) => format!("HELP {a}"),
        Command::Vrfy(a) => format!("VRFY {a}"),
        Command::Expn(a) => format!("EXPN {a}"),
        Command::StartTls(a) => format!("STARTTLS {a}"),
        Command::Auth(a) => format!("AUTH {a}"),
        Command::Syntax(_) | Command::Unknown => return None,
    })
}

/// `<path>` when the bracket scanner would end exactly at our closing `>` (no unquoted `>`
/// inside, quotes balanced); otherwise the path must have come from the bare form, which
/// then has to be representable as one (non-empty, no space, not starting with `<`).
fn path_form(path: &str) -> String {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut clean = true;
    for c in path.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '>' if !in_quotes => clean = false,
            _ => {}
        }
    }
    if clean && !in_quotes && !escaped {
        return format!("<{path}>");
    }
    assert!(
        !path.is_empty() && !path.contains(' ') && !path.starts_with('<'),
        "path {path:?} has no command-line form"
    );
    path.to_string()
}

fn params_form(params: &[Param]) -> String {
    let mut out = String::new();
    for p in params {
        assert!(!p.keyword.is_empty(), "empty parameter keyword");
        assert_eq!(p.keyword, p.keyword.to_ascii_uppercase());
        out.push(' ');
        out.push_str(&p.keyword);
        if let Some(v) = &p.value {
            assert!(!v.contains(' '), "parameter value with a space: {v:?}");
            out.push('=');
            out.push_str(v);
        }
    }
    out
}
