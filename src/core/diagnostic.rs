//! The I/O diagnostics of a session, as text: which operation failed and why, the last
//! command, the bytes each way and the input refused. One line per event, `key=value`
//! fields after a human-readable head, never message data and never arguments.
use crate::core::rules::input_kind::{classify, command_token, excerpt, InputKind, Refusal};
use std::time::Duration;

/// The refused input of a session: how many lines, and what the last one was.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RejectedInput {
    pub count: u32,
    last: Option<Rejected>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rejected {
    kind: InputKind,
    /// The verb token (unknown, unsupported and bad-syntax commands only).
    command: Option<String>,
    /// The first bytes of a foreign protocol's line (never of anything SMTP-shaped, which
    /// could be message text sent after a refused DATA).
    input: Option<String>,
}

impl RejectedInput {
    /// Counts a refused line and remembers what kind it was.
    /// A foreign protocol, once seen, stays the kind reported: the lines after an HTTP
    /// request line are its headers, not news.
    pub fn record(&mut self, line: &[u8], refusal: Refusal) -> InputKind {
        let kind = classify(line, refusal);
        self.count += 1;
        if matches!(&self.last, Some(r) if matches!(r.kind, InputKind::WrongProtocol(_))) {
            return kind;
        }
        let (command, input) = match kind {
            InputKind::WrongProtocol(_) => (None, Some(excerpt(line))),
            InputKind::UnsupportedSmtp | InputKind::InvalidSyntax | InputKind::UnknownCommand => {
                (command_token(line), None)
            }
            _ => (None, None),
        };
        self.last = Some(Rejected {
            kind,
            command,
            input,
        });
        kind
    }

    /// Counts a line longer than `maxline` (its bytes were never kept).
    pub fn record_too_long(&mut self) {
        self.count += 1;
        self.last = Some(Rejected {
            kind: InputKind::TooLong,
            command: None,
            input: None,
        });
    }

    /// ` rejected=N kind=K [command=VERB] [protocol=P input="..."]`, or nothing.
    fn fields(&self) -> String {
        let Some(last) = &self.last else {
            return String::new();
        };
        let mut out = format!(" rejected={} kind={}", self.count, last.kind.name());
        if let Some(c) = &last.command {
            out.push_str(&format!(" command={c}"));
        }
        if let InputKind::WrongProtocol(p) = last.kind {
            out.push_str(&format!(" protocol={}", p.name()));
        }
        if let Some(i) = &last.input {
            out.push_str(&format!(" input=\"{i}\""));
        }
        out
    }
}

/// Where a session stands for the diagnostics: the peer, the last command and the counts.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    pub peer: &'a str,
    /// The last recognised SMTP verb (`GREETING` before any), never its arguments.
    pub last: &'a str,
    pub rx: u64,
    pub tx: u64,
    pub rejected: &'a RejectedInput,
}

impl Progress<'_> {
    fn fields(&self) -> String {
        format!(
            "peer={}{} last={} rx={} tx={}",
            self.peer,
            self.rejected.fields(),
            self.last,
            self.rx,
            self.tx
        )
    }
}

/// Why a read or write failed, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    Timeout(Duration),
    Eof,
    Error(String),
}

impl Cause {
    pub fn text(&self) -> String {
        match self {
            Cause::Timeout(d) => format!("timeout after {}", timeout_text(*d)),
            Cause::Eof => "peer closed connection (EOF)".into(),
            Cause::Error(e) => e.clone(),
        }
    }
}

/// `3 seconds`, `1 second`, `250 ms`.
pub fn timeout_text(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        let s = d.as_secs();
        format!("{s} second{}", if s == 1 { "" } else { "s" })
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// `I/O: TLS read during DATA failed: peer closed connection (EOF); peer=... last=DATA rx=.. tx=..`
pub fn io_failure_line(
    write: bool,
    tls: bool,
    phase: &str,
    cause: &Cause,
    progress: &Progress,
) -> String {
    format!(
        "I/O: {}{} during {phase} failed: {}; {}",
        if tls { "TLS " } else { "" },
        if write { "write" } else { "read" },
        cause.text(),
        progress.fields()
    )
}

/// The session-end line when input was refused and no I/O failure said so already.
pub fn rejected_summary_line(progress: &Progress) -> String {
    format!(
        "I/O: session ended after rejected input; {}",
        progress.fields()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress<'a>(rejected: &'a RejectedInput, last: &'a str) -> Progress<'a> {
        Progress {
            peer: "192.0.2.1:4711",
            last,
            rx: 6,
            tx: 34,
            rejected,
        }
    }

    #[test]
    fn failure_lines() {
        let none = RejectedInput::default();
        assert_eq!(
            io_failure_line(
                false,
                false,
                "command/reply",
                &Cause::Eof,
                &progress(&none, "GREETING")
            ),
            "I/O: read during command/reply failed: peer closed connection (EOF); \
             peer=192.0.2.1:4711 last=GREETING rx=6 tx=34"
        );
        assert_eq!(
            io_failure_line(
                true,
                true,
                "DATA",
                &Cause::Timeout(Duration::from_secs(3)),
                &progress(&none, "DATA")
            ),
            "I/O: TLS write during DATA failed: timeout after 3 seconds; \
             peer=192.0.2.1:4711 last=DATA rx=6 tx=34"
        );
        assert_eq!(
            io_failure_line(
                false,
                false,
                "command/reply",
                &Cause::Error("connection reset by peer".into()),
                &progress(&none, "RSET")
            ),
            "I/O: read during command/reply failed: connection reset by peer; \
             peer=192.0.2.1:4711 last=RSET rx=6 tx=34"
        );
    }

    #[test]
    fn rejected_input_fields() {
        let mut r = RejectedInput::default();
        r.record(b"FOO secret-argument", Refusal::Unrecognised);
        assert_eq!(r.fields(), " rejected=1 kind=unknown-command command=FOO");
        r.record(b"GET /admin HTTP/1.1", Refusal::Unrecognised);
        assert_eq!(
            r.fields(),
            " rejected=2 kind=wrong-protocol protocol=HTTP input=\"GET /admin HTTP/1.1\""
        );
        // The request's header lines are counted, the request line stays the news.
        r.record(b"Host: example.org", Refusal::Unrecognised);
        assert_eq!(
            r.fields(),
            " rejected=3 kind=wrong-protocol protocol=HTTP input=\"GET /admin HTTP/1.1\""
        );
        let mut r = RejectedInput {
            count: 2,
            last: None,
        };
        r.record(b"\x16\x03\x01\x00\xa5\x01", Refusal::Undecodable);
        assert_eq!(
            r.fields(),
            " rejected=3 kind=wrong-protocol protocol=TLS input=\"\\x16\\x03\\x01\\x00\\xa5\\x01\""
        );
        let mut r = RejectedInput {
            count: 3,
            last: None,
        };
        r.record(b"Dear friend, \x01", Refusal::Unrecognised);
        assert_eq!(r.fields(), " rejected=4 kind=binary");
        r.record(b"", Refusal::Unrecognised);
        assert_eq!(r.fields(), " rejected=5 kind=empty");
        r.record(b"MAIL <a@b>", Refusal::Syntax);
        assert_eq!(r.fields(), " rejected=6 kind=invalid-syntax command=MAIL");
        r.record_too_long();
        assert_eq!(r.fields(), " rejected=7 kind=too-long");
        let line = rejected_summary_line(&progress(&r, "HELO"));
        assert_eq!(
            line,
            "I/O: session ended after rejected input; peer=192.0.2.1:4711 \
             rejected=7 kind=too-long last=HELO rx=6 tx=34"
        );
    }

    #[test]
    fn timeouts_in_words() {
        assert_eq!(timeout_text(Duration::from_secs(3)), "3 seconds");
        assert_eq!(timeout_text(Duration::from_secs(1)), "1 second");
        assert_eq!(timeout_text(Duration::from_millis(250)), "250 ms");
        assert_eq!(timeout_text(Duration::from_millis(1500)), "1500 ms");
    }
}
