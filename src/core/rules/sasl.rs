//! AUTH PLAIN and LOGIN (RFC 4954, RFC 4616) as data: the command's argument, the client's
//! base64 answers, and the credentials they carry.
use super::replies;
use crate::core::codec::base64_decode;
use crate::core::reply::Reply;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Login,
}

/// The LOGIN prompts, base64 of `Username:` and `Password:`.
pub const LOGIN_USER_PROMPT: &str = "VXNlcm5hbWU6";
pub const LOGIN_PASSWORD_PROMPT: &str = "UGFzc3dvcmQ6";

/// `AUTH mechanism [initial-response]`: the mechanism and the initial response, if any
/// (`=` stands for an empty one).
pub fn parse_auth(arg: &str) -> Result<(Mechanism, Option<String>), Reply> {
    let mut words = arg.split_whitespace();
    let mechanism = match words.next().map(str::to_ascii_uppercase).as_deref() {
        Some("PLAIN") => Mechanism::Plain,
        Some("LOGIN") => Mechanism::Login,
        None => return Err(replies::auth_syntax()),
        Some(_) => return Err(replies::auth_mechanism_unknown()),
    };
    let initial = words.next().map(|r| match r {
        "=" if mechanism == Mechanism::Plain => String::new(),
        r => r.to_string(),
    });
    Ok((mechanism, initial))
}

/// The client's answer to a `334` challenge; `*` cancels the exchange.
pub fn challenge_answer(line: &[u8]) -> Result<String, Reply> {
    let answer = String::from_utf8_lossy(line).trim().to_string();
    if answer == "*" {
        Err(replies::auth_cancelled())
    } else {
        Ok(answer)
    }
}

/// The user and password of a PLAIN response (`authzid NUL user NUL password`, base64).
pub fn plain_credentials(response: &str) -> Result<(String, String), Reply> {
    let raw = decode(response)?;
    let mut parts = raw.splitn(3, |&b| b == 0);
    let (_authz, user, pass) = (parts.next(), parts.next(), parts.next());
    match (user, pass) {
        (Some(u), Some(p)) => Ok((text(u), text(p))),
        _ => Err(replies::auth_malformed_plain()),
    }
}

/// One LOGIN answer (user name or password), base64.
pub fn login_field(answer: &str) -> Result<String, Reply> {
    decode(answer).map(|b| text(&b))
}

fn decode(b64: &str) -> Result<Vec<u8>, Reply> {
    base64_decode(b64.as_bytes()).map_err(|_| replies::auth_bad_base64())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether `authproc`'s result accepts the credentials.
pub fn accepted(result: &str) -> bool {
    matches!(
        result.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on" | "ok"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed<'a> = Result<(Mechanism, Option<&'a str>), &'a str>;

    #[test]
    fn auth_arguments() {
        let cases: &[(&str, Parsed)] = &[
            ("PLAIN", Ok((Mechanism::Plain, None))),
            ("plain AGEAYg==", Ok((Mechanism::Plain, Some("AGEAYg==")))),
            ("PLAIN =", Ok((Mechanism::Plain, Some("")))),
            ("LOGIN", Ok((Mechanism::Login, None))),
            ("LOGIN dXNlcg==", Ok((Mechanism::Login, Some("dXNlcg==")))),
            ("LOGIN =", Ok((Mechanism::Login, Some("=")))),
            ("", Err("501 5.5.4 Syntax: AUTH mechanism")),
            ("   ", Err("501 5.5.4 Syntax: AUTH mechanism")),
            (
                "CRAM-MD5",
                Err("504 5.5.4 Unrecognized authentication type"),
            ),
            (
                "XOAUTH2 abc",
                Err("504 5.5.4 Unrecognized authentication type"),
            ),
        ];
        for (arg, want) in cases {
            let got = parse_auth(arg);
            match (got, want) {
                (Ok((m, i)), Ok((wm, wi))) => {
                    assert_eq!((m, i.as_deref()), (*wm, *wi), "{arg}")
                }
                (Err(r), Err(w)) => assert_eq!(r.text(), *w, "{arg}"),
                (got, want) => panic!("{arg}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn plain_responses() {
        // base64("\0user\0pass"), base64("authz\0u\0p w"), base64("nonul"), base64("a\0b")
        type Credentials<'a> = Result<(&'a str, &'a str), &'a str>;
        let cases: &[(&str, Credentials)] = &[
            ("AHVzZXIAcGFzcw==", Ok(("user", "pass"))),
            ("YXV0aHoAdQBwIHc=", Ok(("u", "p w"))),
            ("bm9udWw=", Err("501 5.5.2 Malformed PLAIN response")),
            ("YQBi", Err("501 5.5.2 Malformed PLAIN response")),
            ("", Err("501 5.5.2 Malformed PLAIN response")),
            ("!!!", Err("501 5.5.2 Invalid base64 data")),
        ];
        for (response, want) in cases {
            let got = plain_credentials(response);
            match (got, want) {
                (Ok((u, p)), Ok((wu, wp))) => assert_eq!((u.as_str(), p.as_str()), (*wu, *wp)),
                (Err(r), Err(w)) => assert_eq!(r.text(), *w, "{response}"),
                (got, want) => panic!("{response}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn login_and_challenges() {
        assert_eq!(login_field("dXNlcg==").as_deref(), Ok("user"));
        assert_eq!(
            login_field("%%").unwrap_err().text(),
            "501 5.5.2 Invalid base64 data"
        );
        assert_eq!(challenge_answer(b" abc \r").as_deref(), Ok("abc"));
        assert_eq!(
            challenge_answer(b"*").unwrap_err().text(),
            "501 5.0.0 Authentication cancelled"
        );
        for yes in ["1", "true", " OK ", "Yes", "on"] {
            assert!(accepted(yes), "{yes}");
        }
        for no in ["0", "", "false", "no", "2", "okay"] {
            assert!(!accepted(no), "{no}");
        }
    }
}
