//! SMTP command lines as data: one line (without its CRLF) in, one [`Command`] out.
//!
//! Verbs match exactly and case-insensitively (`QUITNOW` is not `QUIT`). Arguments keep their
//! case; addresses are lower-cased later, where the original module did it.

/// A `MAIL FROM`/`RCPT TO` parameter such as `SIZE=1000` or `BODY=8BITMIME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Upper-cased keyword.
    pub keyword: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Helo(String),
    Ehlo(String),
    /// LMTP's greeting (RFC 2033); unknown to an SMTP listener.
    Lhlo(String),
    /// `MAIL FROM:<path> params`; `path` is what stood between the angle brackets.
    Mail {
        path: String,
        params: Vec<Param>,
    },
    /// `RCPT TO:<path> params`.
    Rcpt {
        path: String,
        params: Vec<Param>,
    },
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    Help(String),
    Vrfy(String),
    Expn(String),
    StartTls(String),
    Auth(String),
    /// A known verb with arguments it cannot have, or a malformed path: the text says why.
    Syntax(&'static str),
    /// Not a command we know.
    Unknown,
}

impl Command {
    /// A short lower-case name for logs and statistics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Helo(_) => "helo",
            Command::Ehlo(_) => "ehlo",
            Command::Lhlo(_) => "lhlo",
            Command::Mail { .. } => "mail",
            Command::Rcpt { .. } => "rcpt",
            Command::Data => "data",
            Command::Bdat { .. } => "bdat",
            Command::Rset => "rset",
            Command::Noop => "noop",
            Command::Quit => "quit",
            Command::Help(_) => "help",
            Command::Vrfy(_) => "vrfy",
            Command::Expn(_) => "expn",
            Command::StartTls(_) => "starttls",
            Command::Auth(_) => "auth",
            Command::Syntax(_) => "syntax",
            Command::Unknown => "unknown",
        }
    }
}

/// Parses one command line (CRLF already removed).
pub fn parse_command(line: &str) -> Command {
    let (verb, rest) = match line.find(' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    let arg = rest.trim();
    match verb.to_ascii_uppercase().as_str() {
        "HELO" => Command::Helo(arg.to_string()),
        "EHLO" => Command::Ehlo(arg.to_string()),
        "LHLO" => Command::Lhlo(arg.to_string()),
        "MAIL" => parse_path_command(rest, "FROM:", true),
        "RCPT" => parse_path_command(rest, "TO:", false),
        "DATA" if arg.is_empty() => Command::Data,
        "DATA" => Command::Syntax("DATA takes no arguments"),
        "BDAT" => parse_bdat(arg),
        "RSET" if arg.is_empty() => Command::Rset,
        "RSET" => Command::Syntax("RSET takes no arguments"),
        "NOOP" => Command::Noop,
        "QUIT" if arg.is_empty() => Command::Quit,
        "QUIT" => Command::Syntax("QUIT takes no arguments"),
        "HELP" => Command::Help(arg.to_string()),
        "VRFY" => Command::Vrfy(arg.to_string()),
        "EXPN" => Command::Expn(arg.to_string()),
        "STARTTLS" => Command::StartTls(arg.to_string()),
        "AUTH" => Command::Auth(arg.to_string()),
        _ => Command::Unknown,
    }
}

fn parse_path_command(rest: &str, keyword: &str, is_mail: bool) -> Command {
    let bad = if is_mail {
        "Syntax: MAIL FROM:<address>"
    } else {
        "Syntax: RCPT TO:<address>"
    };
    // `get`, not indexing: a multi-byte character may straddle the keyword's length.
    if !rest
        .get(..keyword.len())
        .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
    {
        return Command::Syntax(bad);
    }
    // Postfix and most servers tolerate a space after the colon.
    let after = rest[keyword.len()..].trim_start();
    let (path, tail) = match split_path(after) {
        Some(p) => p,
        None => return Command::Syntax(bad),
    };
    let params = match parse_params(tail) {
        Some(p) => p,
        None => return Command::Syntax("Syntax: malformed parameter"),
    };
    if is_mail {
        Command::Mail { path, params }
    } else {
        Command::Rcpt { path, params }
    }
}

/// Splits `<path> params` (the brackets are required, as RFC 5321 says; a bare address
/// without brackets is accepted as well because old clients send it).
fn split_path(s: &str) -> Option<(String, &str)> {
    if let Some(inner) = s.strip_prefix('<') {
        let mut in_quotes = false;
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_quotes => escaped = true,
                '"' => in_quotes = !in_quotes,
                '>' if !in_quotes => return Some((inner[..i].to_string(), &inner[i + 1..])),
                _ => {}
            }
        }
        return None;
    }
    let end = s.find(' ').unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    Some((s[..end].to_string(), &s[end..]))
}

fn parse_params(s: &str) -> Option<Vec<Param>> {
    let mut out = Vec::new();
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let (k, v) = match word.find('=') {
            Some(i) => (&word[..i], Some(word[i + 1..].to_string())),
            None => (word, None),
        };
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return None;
        }
        out.push(Param {
            keyword: k.to_ascii_uppercase(),
            value: v,
        });
    }
    Some(out)
}

fn parse_bdat(arg: &str) -> Command {
    let mut words = arg.split_whitespace();
    let size = match words.next().and_then(|w| w.parse::<u64>().ok()) {
        Some(s) => s,
        None => return Command::Syntax("Syntax: BDAT size [LAST]"),
    };
    match (words.next(), words.next()) {
        (None, _) => Command::Bdat { size, last: false },
        (Some(w), None) if w.eq_ignore_ascii_case("LAST") => Command::Bdat { size, last: true },
        _ => Command::Syntax("Syntax: BDAT size [LAST]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(path: &str) -> Command {
        Command::Mail {
            path: path.into(),
            params: vec![],
        }
    }

    #[test]
    fn verbs_match_exactly_and_case_insensitively() {
        assert_eq!(parse_command("quit"), Command::Quit);
        assert_eq!(parse_command("QuIt"), Command::Quit);
        assert_eq!(parse_command("QUITNOW"), Command::Unknown);
        assert_eq!(parse_command("datax"), Command::Unknown);
        assert_eq!(parse_command(" QUIT"), Command::Unknown);
        assert_eq!(parse_command(""), Command::Unknown);
        assert_eq!(parse_command("NOOP anything"), Command::Noop);
        assert_eq!(
            parse_command("EHLO client.example"),
            Command::Ehlo("client.example".into())
        );
        assert_eq!(parse_command("HELO"), Command::Helo(String::new()));
    }

    #[test]
    fn mail_paths() {
        assert_eq!(parse_command("MAIL FROM:<a@b.c>"), mail("a@b.c"));
        assert_eq!(parse_command("mail from: <a@b.c>"), mail("a@b.c"));
        assert_eq!(parse_command("MAIL FROM:<>"), mail(""));
        assert_eq!(parse_command("MAIL FROM:a@b.c"), mail("a@b.c"));
        assert_eq!(
            parse_command("MAIL FROM:<\"x>y\"@b.c>"),
            mail("\"x>y\"@b.c")
        );
        assert!(matches!(parse_command("MAIL <a@b>"), Command::Syntax(_)));
        assert!(matches!(
            parse_command("MAIL FROM:<a@b"),
            Command::Syntax(_)
        ));
        assert!(matches!(parse_command("MAIL FROM:"), Command::Syntax(_)));
        // A multi-byte character across the end of `FROM:`/`TO:` (found by fuzzing: it
        // panicked on slicing inside the character).
        assert!(matches!(
            parse_command("MAIL FROM\u{e9}<a@b>"),
            Command::Syntax(_)
        ));
        assert!(matches!(
            parse_command("RCPT TO\u{fffd}<a@b>"),
            Command::Syntax(_)
        ));
    }

    #[test]
    fn mail_params() {
        let Command::Mail { path, params } =
            parse_command("MAIL FROM:<a@b.c> SIZE=1000 body=8BITMIME SMTPUTF8")
        else {
            panic!("not MAIL")
        };
        assert_eq!(path, "a@b.c");
        assert_eq!(
            params,
            vec![
                Param {
                    keyword: "SIZE".into(),
                    value: Some("1000".into())
                },
                Param {
                    keyword: "BODY".into(),
                    value: Some("8BITMIME".into())
                },
                Param {
                    keyword: "SMTPUTF8".into(),
                    value: None
                },
            ]
        );
        assert!(matches!(
            parse_command("MAIL FROM:<a@b> =x"),
            Command::Syntax(_)
        ));
    }

    #[test]
    fn rcpt_and_bdat() {
        assert_eq!(
            parse_command("RCPT TO:<Joe@X.org> NOTIFY=NEVER"),
            Command::Rcpt {
                path: "Joe@X.org".into(),
                params: vec![Param {
                    keyword: "NOTIFY".into(),
                    value: Some("NEVER".into())
                }]
            }
        );
        assert_eq!(
            parse_command("BDAT 10 LAST"),
            Command::Bdat {
                size: 10,
                last: true
            }
        );
        assert_eq!(
            parse_command("BDAT 0"),
            Command::Bdat {
                size: 0,
                last: false
            }
        );
        assert!(matches!(parse_command("BDAT x"), Command::Syntax(_)));
        assert!(matches!(parse_command("DATA x"), Command::Syntax(_)));
    }
}
