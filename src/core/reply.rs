//! SMTP replies: the one place that formats reply lines for the wire.
use std::fmt::Write;

/// A complete reply, already formatted (every line ends in CRLF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    code: u16,
    wire: String,
}

impl Reply {
    /// A one-line reply with an enhanced status code (RFC 2034), e.g. `(250, "2.1.0", "Ok")`.
    pub fn new(code: u16, enhanced: &str, text: &str) -> Reply {
        Reply::lines(code, enhanced, &[text])
    }

    /// A reply of several lines (`250-a`, `250 b`); `enhanced` may be empty (EHLO, greeting).
    pub fn lines<S: AsRef<str>>(code: u16, enhanced: &str, lines: &[S]) -> Reply {
        let mut wire = String::new();
        let n = lines.len().max(1);
        for i in 0..n {
            let text = lines.get(i).map(|s| clean(s.as_ref())).unwrap_or_default();
            let sep = if i + 1 == n { ' ' } else { '-' };
            let _ = write!(wire, "{code}{sep}");
            if !enhanced.is_empty() {
                let _ = write!(wire, "{enhanced} ");
            }
            wire.push_str(&text);
            wire.push_str("\r\n");
        }
        Reply { code, wire }
    }

    /// A reply text supplied by a callback (`ns_smtpd setreply`), used verbatim except that
    /// every line gets a CRLF ending. `None` if it does not start with a reply code 200..599.
    pub fn from_callback(text: &str) -> Option<Reply> {
        let code: u16 = text.get(..3)?.parse().ok()?;
        if !(200..600).contains(&code) {
            return None;
        }
        let mut wire = String::with_capacity(text.len() + 2);
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            wire.push_str(&clean(line));
            wire.push_str("\r\n");
        }
        Some(Reply { code, wire })
    }

    pub fn code(&self) -> u16 {
        self.code
    }

    /// 2xx or 3xx: the command was accepted.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    pub fn is_transient_failure(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.wire.as_bytes()
    }

    /// The reply as text without the final CRLF (for logs and `getline`).
    pub fn text(&self) -> &str {
        self.wire.trim_end_matches("\r\n")
    }
}

/// Keeps reply lines to printable text: control characters would break the client's parser.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_line() {
        assert_eq!(
            Reply::new(250, "2.0.0", "Ok").as_bytes(),
            b"250 2.0.0 Ok\r\n"
        );
        assert_eq!(
            Reply::lines(250, "", &["host", "SIZE 10", "HELP"]).as_bytes(),
            b"250-host\r\n250-SIZE 10\r\n250 HELP\r\n"
        );
        assert_eq!(Reply::new(354, "", "Go").as_bytes(), b"354 Go\r\n");
    }

    #[test]
    fn control_characters_never_reach_the_wire() {
        assert_eq!(
            Reply::new(550, "5.1.1", "bad\r\nRSET").as_bytes(),
            b"550 5.1.1 bad  RSET\r\n"
        );
    }

    #[test]
    fn callback_replies() {
        let r = Reply::from_callback("550 User unknown").unwrap();
        assert_eq!(r.as_bytes(), b"550 User unknown\r\n");
        assert!(!r.is_positive());
        let r = Reply::from_callback("250-a\r\n250 b\r\n").unwrap();
        assert_eq!(r.as_bytes(), b"250-a\r\n250 b\r\n");
        assert_eq!(r.code(), 250);
        assert!(Reply::from_callback("hello").is_none());
        assert!(Reply::from_callback("199 x").is_none());
        assert!(Reply::from_callback("").is_none());
    }
}
