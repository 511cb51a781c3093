//! What kind of bad input a refused command line was, and what of it may appear in the
//! server log: the I/O diagnostics name the kind, at most a short verb token, the foreign
//! protocol when one is recognised, and never more than 80 escaped bytes of input.

/// Input the session refused before running any command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A real SMTP verb this server does not implement (TURN, ETRN, ...).
    UnsupportedSmtp,
    /// A known verb with bad arguments.
    InvalidSyntax,
    /// Another protocol talking to the SMTP port.
    WrongProtocol(Protocol),
    UnknownCommand,
    /// An empty line (or blanks only).
    Empty,
    /// NUL, control or non-ASCII bytes where a command should be.
    Binary,
    /// A line longer than `maxline` (thrown away unread).
    TooLong,
}

/// A foreign protocol recognised from its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Ssh,
    /// A TLS record (a ClientHello) on a plain-text session.
    Tls,
}

impl InputKind {
    /// The name in the log (`kind=`).
    pub fn name(self) -> &'static str {
        match self {
            InputKind::UnsupportedSmtp => "unsupported-smtp",
            InputKind::InvalidSyntax => "invalid-syntax",
            InputKind::WrongProtocol(_) => "wrong-protocol",
            InputKind::UnknownCommand => "unknown-command",
            InputKind::Empty => "empty",
            InputKind::Binary => "binary",
            InputKind::TooLong => "too-long",
        }
    }
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http => "HTTP",
            Protocol::Ssh => "SSH",
            Protocol::Tls => "TLS",
        }
    }
}

/// SMTP verbs of other RFCs that this server knowingly leaves out. The list is explicit: a
/// verb not on it is an unknown command.
const UNSUPPORTED_VERBS: &[&str] = &[
    "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML", "VERB", "ONEX", "XEXCH50", "BURL", "XCLIENT",
    "XFORWARD",
];

const HTTP_METHODS: &[&str] = &[
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE",
];

/// Why the session refused the line, as far as the refusal itself tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The verb was not recognised.
    Unrecognised,
    /// A known verb with arguments that do not parse.
    Syntax,
    /// The line could not be read as text (NUL, or a verb that is not ASCII).
    Undecodable,
}

/// The kind of a refused line (without its line ending). Foreign protocols and binary
/// bytes are recognised first: they are the interesting news for an operator, whatever
/// the command parser made of the line.
pub fn classify(line: &[u8], refusal: Refusal) -> InputKind {
    if let Some(p) = foreign_protocol(line) {
        return InputKind::WrongProtocol(p);
    }
    if line.iter().all(|&b| b == b' ' || b == b'\t') {
        return InputKind::Empty;
    }
    let verb = verb_bytes(line);
    let binary = |b: &u8| *b == 0 || b.is_ascii_control() && *b != b'\t';
    if refusal == Refusal::Undecodable || !verb.is_ascii() || line.iter().any(binary) {
        return InputKind::Binary;
    }
    if refusal == Refusal::Syntax {
        return InputKind::InvalidSyntax;
    }
    let verb = String::from_utf8_lossy(verb).to_ascii_uppercase();
    if UNSUPPORTED_VERBS.contains(&verb.as_str()) {
        InputKind::UnsupportedSmtp
    } else {
        InputKind::UnknownCommand
    }
}

fn verb_bytes(line: &[u8]) -> &[u8] {
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    &line[..end]
}

/// An HTTP request line (`GET / HTTP/1.1`), an SSH identification line (`SSH-2.0-...`) or
/// the start of a TLS handshake record (0x16 0x03).
pub fn foreign_protocol(line: &[u8]) -> Option<Protocol> {
    if line.len() >= 2 && line[0] == 0x16 && line[1] == 0x03 {
        return Some(Protocol::Tls);
    }
    if line.starts_with(b"SSH-1.") || line.starts_with(b"SSH-2.0-") {
        return Some(Protocol::Ssh);
    }
    let mut words = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return None;
    };
    let is_method = HTTP_METHODS.iter().any(|m| m.as_bytes() == method);
    let is_version = version.starts_with(b"HTTP/") && version.len() > 5;
    (is_method && !target.is_empty() && is_version).then_some(Protocol::Http)
}

/// The verb as the log may show it (`command=`): a whole ASCII alphabetic token of at most
/// 16 characters, upper-cased; anything else (arguments, digits, binary) is never shown.
pub fn command_token(line: &[u8]) -> Option<String> {
    let verb = verb_bytes(line);
    let ok = !verb.is_empty() && verb.len() <= 16 && verb.iter().all(u8::is_ascii_alphabetic);
    ok.then(|| String::from_utf8_lossy(verb).to_ascii_uppercase())
}

/// At most 80 bytes of input for the log, printable ASCII as is, everything else (and the
/// backslash and double quote) as `\xNN`; `...` marks a cut.
pub fn excerpt(input: &[u8]) -> String {
    const MAX: usize = 80;
    let mut out = String::new();
    for &b in input.iter().take(MAX) {
        if b.is_ascii_graphic() && b != b'\\' && b != b'"' || b == b' ' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if input.len() > MAX {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_refused_lines() {
        use InputKind::*;
        let cases: &[(&[u8], Refusal, InputKind)] = &[
            (
                b"GET / HTTP/1.1",
                Refusal::Unrecognised,
                WrongProtocol(Protocol::Http),
            ),
            (
                b"POST /wp-login.php HTTP/1.0",
                Refusal::Unrecognised,
                WrongProtocol(Protocol::Http),
            ),
            (
                b"CONNECT example.org:443 HTTP/1.1",
                Refusal::Unrecognised,
                WrongProtocol(Protocol::Http),
            ),
            (b"GET /", Refusal::Unrecognised, UnknownCommand),
            (b"GET / FTP/1", Refusal::Unrecognised, UnknownCommand),
            (
                b"SSH-2.0-OpenSSH_9.6",
                Refusal::Unrecognised,
                WrongProtocol(Protocol::Ssh),
            ),
            (
                b"SSH-1.99-x",
                Refusal::Unrecognised,
                WrongProtocol(Protocol::Ssh),
            ),
            (
                b"\x16\x03\x01\x02\x00\x01",
                Refusal::Undecodable,
                WrongProtocol(Protocol::Tls),
            ),
            (b"", Refusal::Unrecognised, Empty),
            (b"   ", Refusal::Unrecognised, Empty),
            (b"NO\0OP", Refusal::Undecodable, Binary),
            (b"\xff\xfe", Refusal::Undecodable, Binary),
            (b"FOO \x01bar", Refusal::Unrecognised, Binary),
            (b"\x1b[A", Refusal::Unrecognised, Binary),
            (b"MAIL <a@b>", Refusal::Syntax, InvalidSyntax),
            (b"DATA x", Refusal::Syntax, InvalidSyntax),
            (b"ETRN example.org", Refusal::Unrecognised, UnsupportedSmtp),
            (b"turn", Refusal::Unrecognised, UnsupportedSmtp),
            (
                b"XCLIENT ADDR=1.2.3.4",
                Refusal::Unrecognised,
                UnsupportedSmtp,
            ),
            (b"FOO bar", Refusal::Unrecognised, UnknownCommand),
            (b"HELLO", Refusal::Unrecognised, UnknownCommand),
            (b"X-FOO", Refusal::Unrecognised, UnknownCommand),
        ];
        for (line, refusal, want) in cases {
            assert_eq!(classify(line, *refusal), *want, "{line:?}");
        }
    }

    #[test]
    fn kind_and_protocol_names() {
        assert_eq!(
            InputKind::WrongProtocol(Protocol::Http).name(),
            "wrong-protocol"
        );
        assert_eq!(Protocol::Ssh.name(), "SSH");
        assert_eq!(InputKind::UnsupportedSmtp.name(), "unsupported-smtp");
        assert_eq!(InputKind::Empty.name(), "empty");
    }

    #[test]
    fn only_short_alphabetic_verbs_are_shown() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"foo bar baz", Some("FOO")),
            (b"ETRN secret.example", Some("ETRN")),
            (b"ABCDEFGHIJKLMNOP x", Some("ABCDEFGHIJKLMNOP")),
            (b"ABCDEFGHIJKLMNOPQ", None),
            (b"X-FOO", None),
            (b"F00", None),
            (b"", None),
            (b" lead", None),
            (b"\xc3\xa4bc", None),
        ];
        for (line, want) in cases {
            assert_eq!(command_token(line).as_deref(), *want, "{line:?}");
        }
    }

    #[test]
    fn excerpts_are_escaped_and_bounded() {
        assert_eq!(excerpt(b"GET / HTTP/1.1"), "GET / HTTP/1.1");
        assert_eq!(
            excerpt(b"a\r\n\0\x16\xff\\\"b"),
            "a\\x0d\\x0a\\x00\\x16\\xff\\x5c\\x22b"
        );
        let long = vec![b'A'; 200];
        let shown = excerpt(&long);
        assert_eq!(shown, format!("{}...", "A".repeat(80)));
        // 80 input bytes at most, even when each becomes four characters.
        let binary = vec![0u8; 100];
        assert_eq!(excerpt(&binary).matches("\\x00").count(), 80);
    }
}
