//! A command line before it is parsed: what may not be in it, and what of it may be shown.
use super::replies;
use crate::core::reply::Reply;

/// The text of a command line, or the reply that refuses it: a NUL anywhere, or a verb
/// that is not ASCII (no SMTP verb is; arguments may be UTF-8 under SMTPUTF8).
pub fn command_text(bytes: &[u8]) -> Result<String, Reply> {
    if bytes.contains(&0) {
        return Err(replies::nul_in_command());
    }
    let verb_end = bytes.iter().position(|&b| b == b' ').unwrap_or(bytes.len());
    if !bytes[..verb_end].is_ascii() {
        return Err(replies::unrecognized());
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// Whether the line's bytes are UTF-8 (a path that is not gets `553 5.6.7`).
pub fn is_utf8(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok()
}

/// The command as logs and `getline` may show it: credentials never appear, so AUTH keeps
/// only its mechanism.
pub fn shown(line: &str) -> String {
    let is_auth = line
        .get(..4)
        .is_some_and(|verb| verb.eq_ignore_ascii_case("AUTH"));
    if is_auth {
        line.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        let cases: &[(&[u8], Result<&str, &str>)] = &[
            (b"NOOP", Ok("NOOP")),
            (b"", Ok("")),
            (
                b"MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8",
                Ok("MAIL FROM:<jörg@example.org> SMTPUTF8"),
            ),
            (b"ABC\xc3\xbc", Err("500 5.5.2 Command unrecognized")),
            (b"\xc3\xbcABC", Err("500 5.5.2 Command unrecognized")),
            (b"AUT\xc3\xbc PLAIN", Err("500 5.5.2 Command unrecognized")),
            (b"\xff", Err("500 5.5.2 Command unrecognized")),
            (
                b"NO\0OP",
                Err("500 5.5.2 Syntax error: NUL character in command"),
            ),
            (
                b"\xc3\0",
                Err("500 5.5.2 Syntax error: NUL character in command"),
            ),
        ];
        for (bytes, want) in cases {
            let got = command_text(bytes);
            match (got, want) {
                (Ok(t), Ok(w)) => assert_eq!(&t, w),
                (Err(r), Err(w)) => assert_eq!(r.text(), *w, "{bytes:?}"),
                (got, want) => panic!("{bytes:?}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn credentials_are_never_shown() {
        let cases = [
            ("AUTH PLAIN AGEAYg==", "AUTH PLAIN"),
            ("auth login dXNlcg==", "auth login"),
            ("AUTH", "AUTH"),
            ("AUTHX y z", "AUTHX y"),
            ("MAIL FROM:<a@b>", "MAIL FROM:<a@b>"),
            ("AUü", "AUü"),
            ("ü", "ü"),
            ("", ""),
        ];
        for (line, want) in cases {
            assert_eq!(shown(line), want, "{line}");
        }
    }
}
