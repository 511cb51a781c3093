//! The arguments of HELO, MAIL and RCPT: host-name syntax, the `strict` path rule, the
//! MAIL and RCPT parameters we take, and the sender and recipient addresses.
use super::replies;
use crate::core::address::parse_address;
use crate::core::command::Param;
use crate::core::reply::Reply;

/// A HELO/EHLO argument: a domain name or an address literal, nothing else.
pub fn valid_helo(arg: &str) -> bool {
    if arg.is_empty() || arg.len() > 255 {
        return false;
    }
    if let Some(literal) = arg.strip_prefix('[') {
        return literal.ends_with(']') && literal.len() > 1;
    }
    arg.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !arg.starts_with(['-', '.'])
}

/// HELO/EHLO/LHLO `arg`: refused when empty, or with `helocheck` when it names no host.
pub fn check_helo(verb: &str, arg: &str, helocheck: bool) -> Result<(), Reply> {
    if arg.is_empty() || (helocheck && !valid_helo(arg)) {
        return Err(replies::helo_syntax(verb));
    }
    Ok(())
}

/// MAIL FROM parameters: `SIZE` within `max_size`, `BODY=7BIT|8BITMIME`, `SMTPUTF8`, and
/// `AUTH=` when AUTH is offered (RFC 4954 §5); anything else is refused.
pub fn check_mail_params(params: &[Param], max_size: u64, auth_offered: bool) -> Result<(), Reply> {
    for p in params {
        match (p.keyword.as_str(), p.value.as_deref()) {
            ("SIZE", Some(v)) => match v.parse::<u64>() {
                Ok(n) if n > max_size => return Err(replies::message_too_big()),
                Ok(_) => {}
                Err(_) => return Err(replies::size_syntax()),
            },
            ("BODY", Some(v))
                if v.eq_ignore_ascii_case("7BIT") || v.eq_ignore_ascii_case("8BITMIME") => {}
            ("BODY", _) => return Err(replies::body_syntax()),
            ("SMTPUTF8", None) => {}
            ("AUTH", Some(_)) if auth_offered => {}
            _ => return Err(replies::unsupported_option(&p.keyword)),
        }
    }
    Ok(())
}

/// RCPT TO takes no parameters here (no DSN).
pub fn check_rcpt_params(params: &[Param]) -> Result<(), Reply> {
    match params.first() {
        Some(p) => Err(replies::unsupported_option(&p.keyword)),
        None => Ok(()),
    }
}

/// `strict`: the path was written in angle brackets and is an RFC 5321 `Mailbox` (or the
/// null sender for MAIL): a dot-atom or quoted local part, `@`, a domain or address literal.
/// `line` is the command as received, `path` the text inside the brackets.
pub fn strict_path(line: &str, path: &str, is_mail: bool) -> bool {
    let after_colon = line
        .split_once(':')
        .map(|(_, r)| r.trim_start())
        .unwrap_or("");
    if !after_colon.starts_with('<') {
        return false;
    }
    if path.is_empty() {
        return is_mail;
    }
    if !is_mail && path.eq_ignore_ascii_case("postmaster") {
        return true;
    }
    let Some((local, domain)) = path.rsplit_once('@') else {
        return false;
    };
    let atext =
        |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii();
    let local_ok = if local.starts_with('"') {
        local.len() >= 2
            && local.ends_with('"')
            && !local[1..local.len() - 1].contains(['\r', '\n'])
    } else {
        !local.is_empty()
            && local
                .split('.')
                .all(|a| !a.is_empty() && a.chars().all(atext))
    };
    let domain_ok = if let Some(literal) = domain.strip_prefix('[') {
        literal.ends_with(']') && literal.len() > 1
    } else {
        !domain.is_empty()
            && domain.len() <= 255
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
            })
    };
    local_ok && domain_ok
}

/// The sender of `MAIL FROM:<path>` as the session keeps it: `<>` for the null sender,
/// `postmaster`, or the lower-cased address. `line` is the command (for `strict`).
pub fn sender(line: &str, path: &str, strict: bool) -> Result<String, Reply> {
    if strict && !strict_path(line, path, true) {
        return Err(replies::strict_syntax("5.1.7", path));
    }
    // No control characters, even without `strict`: they would reach Tcl and the relay.
    if path.chars().any(char::is_control) {
        return Err(replies::address_unrecognized("5.1.7", path));
    }
    if path.is_empty() {
        return Ok("<>".to_string());
    }
    if path.eq_ignore_ascii_case("postmaster") {
        return Ok("postmaster".to_string());
    }
    match parse_address(path) {
        Some(a) => Ok(a.addr().to_lowercase()),
        None => Err(replies::address_unrecognized("5.1.7", path)),
    }
}

/// A recipient of `RCPT TO:<path>`: the lower-cased address and its domain (none for
/// `<postmaster>`, which RFC 5321 §4.5.1 says must be accepted).
pub fn recipient(line: &str, path: &str, strict: bool) -> Result<(String, Option<String>), Reply> {
    if strict && !strict_path(line, path, false) {
        return Err(replies::strict_syntax("5.1.3", path));
    }
    if path.chars().any(char::is_control) {
        return Err(replies::address_unrecognized("5.1.3", path));
    }
    if path.eq_ignore_ascii_case("postmaster") {
        return Ok(("postmaster".to_string(), None));
    }
    match parse_address(path) {
        Some(a) => Ok((a.addr().to_lowercase(), Some(a.domain.to_lowercase()))),
        None => Err(replies::address_unrecognized("5.1.3", path)),
    }
}

/// The address of `VRFY arg` and its domain, angle brackets optional.
pub fn vrfy_address(arg: &str) -> Result<(String, String), Reply> {
    let path = arg.trim().trim_start_matches('<').trim_end_matches('>');
    match parse_address(path) {
        Some(a) => Ok((a.addr().to_lowercase(), a.domain.to_lowercase())),
        None => Err(replies::vrfy_unrecognized(path)),
    }
}

/// RFC 6531 §3.4: a MAIL or RCPT path must be UTF-8, and ASCII unless MAIL carried
/// `SMTPUTF8`.
pub fn check_charset(path: &str, line_is_utf8: bool, smtputf8: bool) -> Result<(), Reply> {
    if !line_is_utf8 {
        return Err(replies::invalid_utf8_address());
    }
    if !smtputf8 && !path.is_ascii() {
        return Err(replies::needs_smtputf8(path));
    }
    Ok(())
}

/// How many recipients a transaction may have: `maxerrorrcpts` (when set) for a bounce.
pub fn recipient_limit(sender: Option<&str>, maxrcpt: usize, maxerrorrcpts: usize) -> usize {
    if sender == Some("<>") && maxerrorrcpts > 0 {
        maxerrorrcpts.min(maxrcpt)
    } else {
        maxrcpt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<impl Sized, Reply>) -> u16 {
        r.err().map(|r| r.code()).unwrap_or(0)
    }

    fn param(k: &str, v: Option<&str>) -> Param {
        Param {
            keyword: k.into(),
            value: v.map(str::to_string),
        }
    }

    #[test]
    fn strict_paths() {
        assert!(strict_path("mail from:<a@b.example>", "a@b.example", true));
        assert!(strict_path("mail from: <>", "", true));
        assert!(strict_path("rcpt to:<postmaster>", "postmaster", false));
        assert!(strict_path(
            "rcpt to:<\"a b\"@[192.0.2.1]>",
            "\"a b\"@[192.0.2.1]",
            false
        ));
        for (line, path) in [
            ("rcpt to:a@b.example", "a@b.example"),
            ("rcpt to:<>", ""),
            ("rcpt to:<a@b..example>", "a@b..example"),
            ("rcpt to:<a..x@b.example>", "a..x@b.example"),
            ("rcpt to:<@r.example:a@b.example>", "@r.example:a@b.example"),
            ("rcpt to:<a(c)@b.example>", "a(c)@b.example"),
            ("rcpt to:<a@-b.example>", "a@-b.example"),
            ("rcpt to:<ab.example>", "ab.example"),
        ] {
            assert!(!strict_path(line, path, false), "{line}");
        }
    }

    #[test]
    fn helo_names() {
        for ok in [
            "client.example",
            "localhost",
            "[127.0.0.1]",
            "[IPv6:::1]",
            "a_b.c",
        ] {
            assert!(valid_helo(ok), "{ok}");
            assert_eq!(check_helo("EHLO", ok, true), Ok(()));
        }
        for bad in ["", "a b", "-x", ".x", "a@b", "[", "x<y>"] {
            assert!(!valid_helo(bad), "{bad}");
        }
        let cases = [
            ("EHLO", "", true, Some("501 5.5.4 Syntax: EHLO hostname")),
            ("HELO", "", false, Some("501 5.5.4 Syntax: HELO hostname")),
            ("LHLO", "a b", true, Some("501 5.5.4 Syntax: LHLO hostname")),
            ("EHLO", "a b", false, None),
            (
                "EHLO",
                "ü.example",
                true,
                Some("501 5.5.4 Syntax: EHLO hostname"),
            ),
        ];
        for (verb, arg, check, want) in cases {
            let got = check_helo(verb, arg, check).err();
            assert_eq!(got.as_ref().map(Reply::text), want, "{verb} {arg:?}");
        }
    }

    #[test]
    fn mail_parameters() {
        let cases: &[(&[Param], bool, u16)] = &[
            (&[], false, 0),
            (&[param("SIZE", Some("1000"))], false, 0),
            (&[param("SIZE", Some("1001"))], false, 552),
            (&[param("SIZE", Some("x"))], false, 501),
            (&[param("SIZE", None)], false, 555),
            (&[param("BODY", Some("8bitmime"))], false, 0),
            (&[param("BODY", Some("7BIT"))], false, 0),
            (&[param("BODY", Some("BINARYMIME"))], false, 501),
            (&[param("BODY", None)], false, 501),
            (&[param("SMTPUTF8", None)], false, 0),
            (&[param("SMTPUTF8", Some("x"))], false, 555),
            (&[param("AUTH", Some("<>"))], true, 0),
            (&[param("AUTH", Some("<>"))], false, 555),
            (&[param("RET", Some("FULL"))], false, 555),
            (
                &[param("SIZE", Some("10")), param("XFOO", None)],
                false,
                555,
            ),
        ];
        for (params, auth, want) in cases {
            assert_eq!(
                code(check_mail_params(params, 1000, *auth)),
                *want,
                "{params:?}"
            );
        }
        assert_eq!(
            check_mail_params(&[param("XFOO", None)], 1, false)
                .unwrap_err()
                .text(),
            "555 5.5.4 Unsupported option: XFOO"
        );
        assert_eq!(code(check_rcpt_params(&[])), 0);
        assert_eq!(
            code(check_rcpt_params(&[param("NOTIFY", Some("NEVER"))])),
            555
        );
    }

    #[test]
    fn senders_and_recipients() {
        let senders = [
            (
                "mail from:<A@B.Example>",
                "A@B.Example",
                false,
                Ok("a@b.example"),
            ),
            ("mail from:<>", "", false, Ok("<>")),
            ("mail from:<>", "", true, Ok("<>")),
            (
                "mail from:<Postmaster>",
                "Postmaster",
                false,
                Ok("postmaster"),
            ),
            ("mail from:a@b.example", "a@b.example", true, Err(553)),
            ("mail from:<a@@b>", "a@@b", false, Err(553)),
            (
                "mail from:<a\x07@b.example>",
                "a\x07@b.example",
                false,
                Err(553),
            ),
            (
                "mail from:<\"a\tb\"@b.example>",
                "\"a\tb\"@b.example",
                false,
                Err(553),
            ),
        ];
        for (line, path, strict, want) in senders {
            let got = sender(line, path, strict).map_err(|r| r.code());
            assert_eq!(got.as_deref(), want.as_deref(), "{line}");
        }
        assert_eq!(
            sender("mail from:<x>", "x", true).unwrap_err().text(),
            "553 5.1.7 <x>... Address syntax: must be <local@domain>"
        );
        let rcpts = [
            (
                "rcpt to:<Postmaster>",
                "Postmaster",
                true,
                Ok(("postmaster", None)),
            ),
            (
                "rcpt to:<U@D.Example>",
                "U@D.Example",
                true,
                Ok(("u@d.example", Some("d.example"))),
            ),
            (
                "rcpt to:<>",
                "",
                false,
                Err("553 5.1.3 <>... Address unrecognized"),
            ),
            (
                "rcpt to:\x07\x0f'@x",
                "\x07\x0f'@x",
                false,
                // Reply texts show control characters as blanks.
                Err("553 5.1.3 <  '@x>... Address unrecognized"),
            ),
            (
                "rcpt to:<x>",
                "x",
                true,
                Err("553 5.1.3 <x>... Address syntax: must be <local@domain>"),
            ),
        ];
        for (line, path, strict, want) in rcpts {
            let got = recipient(line, path, strict);
            match (got, want) {
                (Ok((a, d)), Ok((wa, wd))) => {
                    assert_eq!((a.as_str(), d.as_deref()), (wa, wd), "{line}")
                }
                (Err(r), Err(text)) => assert_eq!(r.text(), text, "{line}"),
                (got, want) => panic!("{line}: {got:?} vs {want:?}"),
            }
        }
        assert_eq!(
            vrfy_address(" <U@D.example> "),
            Ok(("u@d.example".into(), "d.example".into()))
        );
        assert_eq!(
            vrfy_address("nobody").unwrap_err().text(),
            "501 5.1.3 <nobody>... Address unrecognized"
        );
    }

    #[test]
    fn address_charsets() {
        let cases = [
            ("a@b.example", true, false, None),
            ("jörg@b.example", true, true, None),
            (
                "jörg@b.example",
                true,
                false,
                Some("553 5.6.7 <jörg@b.example>... Non-ASCII address needs SMTPUTF8"),
            ),
            (
                "a\u{fffd}@b",
                false,
                true,
                Some("553 5.6.7 Address is not valid UTF-8"),
            ),
            (
                "a@b",
                false,
                false,
                Some("553 5.6.7 Address is not valid UTF-8"),
            ),
        ];
        for (path, utf8, smtputf8, want) in cases {
            let got = check_charset(path, utf8, smtputf8).err();
            assert_eq!(got.as_ref().map(Reply::text), want, "{path}");
        }
    }

    #[test]
    fn recipient_limits() {
        let cases = [
            (Some("a@b"), 100, 0, 100),
            (Some("<>"), 100, 0, 100),
            (Some("<>"), 100, 5, 5),
            (Some("<>"), 100, 500, 100),
            (Some("a@b"), 100, 5, 100),
            (None, 100, 5, 100),
        ];
        for (sender, max, bounce, want) in cases {
            assert_eq!(recipient_limit(sender, max, bounce), want, "{sender:?}");
        }
    }
}
