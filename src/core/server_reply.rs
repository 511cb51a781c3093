//! Replies from an SMTP server we talk to as a client (the relay, `ns_smtpd send`):
//! multi-line aware, bounded, and tolerant of a bare code as the last line (`250`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReply {
    pub code: u16,
    /// The text of each line, without code and separator.
    pub lines: Vec<String>,
}

impl ServerReply {
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// The whole reply on one line: `550 5.1.1 first line second line`.
    pub fn joined(&self) -> String {
        let text: Vec<&str> = self
            .lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        if text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {}", self.code, text.join(" "))
        }
    }

    /// The enhanced status code of the first line (`5.1.1`), if there is one.
    pub fn enhanced(&self) -> Option<&str> {
        let first = self.lines.first()?.split_whitespace().next()?;
        let parts: Vec<&str> = first.split('.').collect();
        let ok = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
        ok.then_some(first)
    }

    /// EHLO keywords (upper-cased first word of each line after the first).
    pub fn keywords(&self) -> impl Iterator<Item = (String, &str)> {
        self.lines.iter().skip(1).map(|l| {
            let mut parts = l.splitn(2, [' ', '=']);
            let key = parts.next().unwrap_or("").to_ascii_uppercase();
            (key, parts.next().unwrap_or("").trim())
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyParse {
    /// More input is needed.
    Incomplete,
    /// A reply, and how many bytes of the input it used.
    Done(ServerReply, usize),
    /// Not an SMTP reply (or too long): the connection cannot be trusted any more.
    Invalid(String),
}

/// Longest reply line we accept, and most lines per reply.
pub const MAX_LINE: usize = 4096;
pub const MAX_LINES: usize = 200;

/// Parses one reply from the start of `buf`.
pub fn parse_reply(buf: &[u8]) -> ReplyParse {
    let mut pos = 0;
    let mut lines = Vec::new();
    let mut code: Option<u16> = None;
    loop {
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
            // The longest line may still be waiting for its LF after its CR.
            if buf.len() - pos > MAX_LINE + 1 {
                return ReplyParse::Invalid("reply line too long".into());
            }
            return ReplyParse::Incomplete;
        };
        let mut line = &buf[pos..pos + nl];
        pos += nl + 1;
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if line.len() > MAX_LINE {
            return ReplyParse::Invalid("reply line too long".into());
        }
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
            return ReplyParse::Invalid(format!(
                "not an SMTP reply: {}",
                String::from_utf8_lossy(&line[..line.len().min(80)])
            ));
        }
        let this: u16 = std::str::from_utf8(&line[..3]).unwrap().parse().unwrap();
        if !(200..600).contains(&this) {
            return ReplyParse::Invalid(format!("reply code {this} out of range"));
        }
        if code.is_some_and(|c| c != this) {
            return ReplyParse::Invalid("reply code changed within a multi-line reply".into());
        }
        code = Some(this);
        let (last, text) = match line.get(3) {
            None => (true, &b""[..]),
            Some(b' ') => (true, &line[4..]),
            Some(b'-') => (false, &line[4..]),
            Some(_) => return ReplyParse::Invalid("bad separator after reply code".into()),
        };
        lines.push(String::from_utf8_lossy(text).into_owned());
        if last {
            return ReplyParse::Done(ServerReply { code: this, lines }, pos);
        }
        if lines.len() >= MAX_LINES {
            return ReplyParse::Invalid("too many reply lines".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(s: &str) -> (ServerReply, usize) {
        match parse_reply(s.as_bytes()) {
            ReplyParse::Done(r, n) => (r, n),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn single_and_multi() {
        let (r, n) = done("250 ok\r\nNEXT");
        assert_eq!(
            (r.code, r.lines.clone(), n),
            (250, vec!["ok".to_string()], 8)
        );
        let (r, _) = done("250-mx\r\n250-SIZE 100\r\n250 AUTH PLAIN LOGIN\r\n");
        assert_eq!(r.lines.len(), 3);
        let keys: Vec<_> = r.keywords().collect();
        assert_eq!(keys[0], ("SIZE".to_string(), "100"));
        assert_eq!(keys[1], ("AUTH".to_string(), "PLAIN LOGIN"));
        let (r, _) = done("250-a\r\n250\r\n");
        assert_eq!(r.lines, vec!["a".to_string(), String::new()]);
        assert_eq!(parse_reply(b"250-a\r\n250-b"), ReplyParse::Incomplete);
    }

    #[test]
    fn join_and_enhanced() {
        let (r, _) = done("535-5.7.8 Username and Password not accepted. Learn more at\r\n535 5.7.8 https://x/?p=Bad\r\n");
        assert_eq!(
            r.joined(),
            "535 5.7.8 Username and Password not accepted. Learn more at 5.7.8 https://x/?p=Bad"
        );
        assert_eq!(r.enhanced(), Some("5.7.8"));
        let (r, _) = done("250-a\n250-b\n250 c\n");
        assert_eq!(r.joined(), "250 a b c");
        assert_eq!(r.enhanced(), None);
    }

    #[test]
    fn garbage_is_invalid() {
        for bad in [
            "hello\r\n",
            "25\r\n",
            "250-a\r\n251 b\r\n",
            "250xok\r\n",
            "999 x\r\n",
        ] {
            assert!(
                matches!(parse_reply(bad.as_bytes()), ReplyParse::Invalid(_)),
                "{bad}"
            );
        }
        let long = vec![b'2'; MAX_LINE + 10];
        assert!(matches!(parse_reply(&long), ReplyParse::Invalid(_)));
    }

    #[test]
    fn longest_line_is_the_same_reply_however_it_arrives() {
        let mut line = b"250 ".to_vec();
        line.resize(MAX_LINE, b'x');
        line.extend_from_slice(b"\r\n");
        assert!(matches!(parse_reply(&line), ReplyParse::Done(_, n) if n == line.len()));
        // Every prefix is incomplete, also the one that ends in the CR.
        for cut in [MAX_LINE, MAX_LINE + 1] {
            assert_eq!(
                parse_reply(&line[..cut]),
                ReplyParse::Incomplete,
                "{cut} bytes"
            );
        }
        // One byte more is too long, with or without its line end.
        line.insert(5, b'x');
        assert!(matches!(parse_reply(&line), ReplyParse::Invalid(_)));
        assert!(matches!(
            parse_reply(&line[..MAX_LINE + 2]),
            ReplyParse::Invalid(_)
        ));
    }
}
