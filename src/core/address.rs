//! The address parser: finds `mailbox@domain` in an SMTP path or a header value, the way the
//! original module's `parseEmail` did (comments, quoted strings, display names, source routes,
//! groups, `%` for `@`), without ever changing its input.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub mailbox: String,
    pub domain: String,
    pub display_name: String,
}

impl Address {
    /// `mailbox@domain`.
    pub fn addr(&self) -> String {
        format!("{}@{}", self.mailbox, self.domain)
    }
}

/// True if `s` contains CR, LF or NUL (never allowed in an address handed to SMTP).
pub fn has_line_break_or_nul(s: &str) -> bool {
    s.contains(['\r', '\n', '\0'])
}

struct Scanner {
    chars: Vec<char>,
    pos: usize,
}

impl Scanner {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_comment(&mut self) {
        // At '(': nested comments with backslash escapes.
        let mut depth = 0;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '\\' => self.pos += 1,
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += 1;
            } else if c == '(' {
                self.skip_comment();
            } else {
                break;
            }
        }
    }

    /// Reads a phrase up to one of `stops`: quoted strings unquoted, blanks and comments
    /// collapsed to one space, no trailing space. Returns the phrase and the stop character.
    fn phrase(&mut self, stops: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        let mut space = false;
        while let Some(c) = self.peek() {
            if stops.contains(&c) {
                self.pos += 1;
                return (out, Some(c));
            }
            if c.is_whitespace() || c == '(' {
                self.skip_blanks();
                space = true;
                continue;
            }
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            self.pos += 1;
            if c == '"' {
                while let Some(q) = self.peek() {
                    self.pos += 1;
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(e) = self.peek() {
                                out.push(e);
                                self.pos += 1;
                            }
                        }
                        _ => out.push(q),
                    }
                }
            } else {
                out.push(c);
            }
        }
        (out, None)
    }

    /// Reads a domain after `@`: letters, digits, `-`, `[`, `]`, `.`; blanks are skipped,
    /// dots collapse, and leading/trailing dots are dropped.
    fn domain(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '[' | ']') {
                out.push(c);
            } else if c == '.' {
                if !out.is_empty() && !out.ends_with('.') {
                    out.push('.');
                }
            } else if c.is_whitespace() {
                // Blanks inside a domain are skipped (as the original did).
            } else {
                break;
            }
            self.pos += 1;
        }
        while out.ends_with('.') {
            out.pop();
        }
        out
    }

    /// After `<`: an optional source route, then `mailbox@domain`, then an optional `>`.
    fn route_addr(&mut self, display_name: String) -> Option<Address> {
        self.skip_blanks();
        if self.peek() == Some('@') {
            while let Some(c) = self.peek() {
                self.pos += 1;
                if c == ':' {
                    break;
                }
            }
        }
        let (mailbox, stop) = self.phrase(&['@', '%', '>']);
        if !matches!(stop, Some('@') | Some('%')) {
            return None;
        }
        let domain = self.domain();
        if mailbox.is_empty() || domain.is_empty() {
            return None;
        }
        Some(Address {
            mailbox,
            domain,
            display_name,
        })
    }
}

/// Finds the first address in `input`; `None` if there is none.
pub fn parse_address(input: &str) -> Option<Address> {
    let mut s = Scanner {
        chars: input.chars().collect(),
        pos: 0,
    };
    let mut in_group = false;
    loop {
        s.skip_blanks();
        s.peek()?;
        let stops: &[char] = if in_group {
            &[',', '%', '@', '<', ';']
        } else {
            &[',', '%', '@', '<', ':']
        };
        let (phrase, stop) = s.phrase(stops);
        match stop {
            Some('@') | Some('%') => {
                let domain = s.domain();
                if phrase.is_empty() || domain.is_empty() {
                    return None;
                }
                return Some(Address {
                    mailbox: phrase,
                    domain,
                    display_name: String::new(),
                });
            }
            Some('<') => return s.route_addr(phrase),
            Some(':') => in_group = true,
            Some(';') => in_group = false,
            Some(',') => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(input: &str) -> Option<(String, String)> {
        parse_address(input).map(|a| (a.mailbox, a.domain))
    }

    fn ok(mailbox: &str, domain: &str) -> Option<(String, String)> {
        Some((mailbox.to_string(), domain.to_string()))
    }

    #[test]
    fn golden_vectors_of_the_original() {
        let cases: &[(&str, &str, &str)] = &[
            ("user@example.com", "user", "example.com"),
            ("<user@example.com>", "user", "example.com"),
            ("  <User@Example.COM>  ", "User", "Example.COM"),
            ("John Doe <john@doe.com>", "john", "doe.com"),
            ("\"John Doe\" <john@doe.com>", "john", "doe.com"),
            ("john@doe.com (John Doe)", "john", "doe.com"),
            ("john(comment)@doe.com", "john", "doe.com"),
            ("<@route1,@route2:user@host.com>", "user", "host.com"),
            ("user%host.com", "user", "host.com"),
            ("<user@example.com> SIZE=1000", "user", "example.com"),
            ("a@x b@y", "a", "xb"),
            ("a@x, b@y", "a", "x"),
            ("a@x.y..z", "a", "x.y.z"),
            ("a@.x.y", "a", "x.y"),
            ("a@x.y.", "a", "x.y"),
            ("a@[1.2.3.4]", "a", "[1.2.3.4]"),
            ("a@x_y.com", "a", "x"),
            ("a@x+y.com", "a", "x"),
            ("\"a b\"@x.com", "a b", "x.com"),
            ("first last@x.com", "first last", "x.com"),
            ("group: a@x, b@y;", "a", "x"),
            ("Name <a@b> , c@d", "a", "b"),
            ("<a@b", "a", "b"),
            ("a@b>", "a", "b"),
            ("a\\@b@c", "a\\", "b"),
            ("<\"quoted@local\"@dom.com>", "quoted@local", "dom.com"),
            ("a@b@c", "a", "b"),
            ("  a  @  b  ", "a", "b"),
            ("<a @ b>", "a", "b"),
            ("=?utf-8?q?x?= <a@b.c>", "a", "b.c"),
            ("a@b.c\r\n", "a", "b.c"),
            ("a@-b.c", "a", "-b.c"),
            ("Ünicode <ü@ex.com>", "ü", "ex.com"),
            ("a@ex.com;b@c", "a", "ex.com"),
        ];
        for (input, mailbox, domain) in cases {
            assert_eq!(p(input), ok(mailbox, domain), "input {input:?}");
        }
        for input in [
            "user",
            "<user>",
            "<>",
            "postmaster",
            "mailer-daemon",
            "@example.com",
            "user@",
            "group: ;",
            "(comment only)",
            "",
        ] {
            assert_eq!(p(input), None, "input {input:?}");
        }
    }

    #[test]
    fn display_name_and_helpers() {
        assert_eq!(
            parse_address("John Doe <john@doe.com>")
                .unwrap()
                .display_name,
            "John Doe"
        );
        assert_eq!(parse_address("a@b.c").unwrap().addr(), "a@b.c");
        assert!(has_line_break_or_nul("a\r\nb"));
        assert!(!has_line_break_or_nul("a@b"));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for input in ["(", "\"", "<", "<@", "<@x", "\\", "((((", "a@(", "<\"x"] {
            let _ = parse_address(input);
        }
    }
}
