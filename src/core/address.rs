//! The address parser: finds the first `mailbox@domain` in an SMTP path or a header value the
//! way the original's `parseEmail` did (reference §12.1): comments, quoted strings, display
//! names, source routes, groups, `%` for `@`, and its domain character rules.
//!
//! Unlike the original it works on a borrowed `&str` and never changes its input (B-31), and
//! it has no recursion, so any input is parsed in linear time. Case is preserved; callers on
//! the SMTP path lower-case the result, as the original did.

/// An address found by [`parse_address`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The local part, unquoted (it may contain spaces: `"a b"@x.com`).
    pub mailbox: String,
    /// The domain after the original's clean-up (dots collapsed, blanks dropped).
    pub domain: String,
    /// The phrase before `<...>`, or a comment after a bare address; empty if none.
    pub display_name: String,
}

impl Address {
    /// `mailbox@domain`.
    pub fn addr(&self) -> String {
        format!("{}@{}", self.mailbox, self.domain)
    }
}

/// True if `s` contains CR, LF or NUL: such text must never reach an SMTP command line.
pub fn has_line_break_or_nul(s: &str) -> bool {
    s.contains(['\r', '\n', '\0'])
}

/// White space as C's `isspace` sees it in the C locale.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c')
}

/// A character of a domain as the original kept it (everything else ends the domain).
fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '[' | ']')
}

struct Scanner {
    chars: Vec<char>,
    pos: usize,
}

impl Scanner {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    /// At `(`: skips a comment (nested, `\` escapes) and returns its outer text.
    /// An unterminated comment runs to the end of the input.
    fn comment(&mut self) -> String {
        let mut text = String::new();
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '\\' => {
                    if let Some(e) = self.peek() {
                        text.push(e);
                        self.pos += 1;
                    }
                }
                '(' => {
                    if depth > 0 {
                        text.push(c);
                    }
                    depth += 1;
                }
                ')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                    text.push(c);
                }
                _ => text.push(c),
            }
        }
        text
    }

    /// Skips blanks and comments.
    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek() {
            if is_blank(c) {
                self.pos += 1;
            } else if c == '(' {
                self.comment();
            } else {
                break;
            }
        }
    }

    /// Reads a phrase up to one of `stops` (consumed): quoted strings unquoted, runs of
    /// blanks and comments collapsed to one space, no leading or trailing space.
    /// Returns the phrase and the stop character (`None` at the end of input).
    fn phrase(&mut self, stops: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        let mut space = false;
        while let Some(c) = self.peek() {
            if stops.contains(&c) {
                self.pos += 1;
                return (out, Some(c));
            }
            if is_blank(c) || c == '(' {
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

    /// Reads a domain after `@`: ASCII letters, digits, `-`, `[`, `]` and `.`; blanks are
    /// skipped (`a@b c` gives `bc`, as in the original), dots collapse, leading and trailing
    /// dots are dropped; any other character ends the domain (`a@x_y.com` gives `x`).
    fn domain(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if is_domain_char(c) {
                out.push(c);
            } else if c == '.' {
                if !out.is_empty() && !out.ends_with('.') {
                    out.push('.');
                }
            } else if !is_blank(c) {
                break;
            }
            self.pos += 1;
        }
        if out.ends_with('.') {
            out.pop();
        }
        out
    }

    /// After `<`: an optional source route `@a,@b:`, then `mailbox@domain`, then `>` or not.
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
        if !matches!(stop, Some('@' | '%')) {
            // `<user>` and `<>`: a route address needs a domain.
            return None;
        }
        let domain = self.domain();
        (!mailbox.is_empty() && !domain.is_empty()).then_some(Address {
            mailbox,
            domain,
            display_name,
        })
    }

    /// After a bare `mailbox@domain`: a following comment is the display name
    /// (`john@doe.com (John Doe)`).
    fn trailing_comment(&mut self) -> String {
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
        if self.peek() == Some('(') {
            self.comment().trim().to_string()
        } else {
            String::new()
        }
    }
}

/// Finds the first address in `input` (an SMTP path, a header value, a list); `None` if the
/// first address has no mailbox or no domain (`<>`, `postmaster`, `user@`, `@x`, ``).
pub fn parse_address(input: &str) -> Option<Address> {
    let mut s = Scanner {
        chars: input.chars().collect(),
        pos: 0,
    };
    let mut in_group = false;
    loop {
        s.skip_blanks();
        s.peek()?;
        // Inside a group `;` ends the group; outside, `:` starts one.
        let stops: &[char] = if in_group {
            &[',', '%', '@', '<', ';']
        } else {
            &[',', '%', '@', '<', ':']
        };
        let (phrase, stop) = s.phrase(stops);
        match stop {
            Some('@' | '%') => {
                let domain = s.domain();
                if phrase.is_empty() || domain.is_empty() {
                    return None;
                }
                let display_name = s.trailing_comment();
                return Some(Address {
                    mailbox: phrase,
                    domain,
                    display_name,
                });
            }
            Some('<') => return s.route_addr(phrase),
            Some(':') => in_group = true,
            Some(';') => in_group = false,
            // `,`: an empty list element or a phrase without address; try the next one.
            Some(_) => {}
            None => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(input: &str) -> Option<(String, String)> {
        parse_address(input).map(|a| (a.mailbox, a.domain))
    }

    /// Reference §12.1, every row.
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
            assert_eq!(
                p(input),
                Some((mailbox.to_string(), domain.to_string())),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn golden_failures_of_the_original() {
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
    fn display_names() {
        let name = |s: &str| parse_address(s).unwrap().display_name;
        assert_eq!(name("John Doe <john@doe.com>"), "John Doe");
        assert_eq!(name("\"John Doe\" <john@doe.com>"), "John Doe");
        assert_eq!(name("  John   (x)  Doe  <john@doe.com>"), "John Doe");
        assert_eq!(name("john@doe.com (John Doe)"), "John Doe");
        assert_eq!(name("john@doe.com (John (the) Doe)"), "John (the) Doe");
        assert_eq!(name("\"Q\\\"uote\" <a@b>"), "Q\"uote");
        assert_eq!(name("a@b"), "");
        assert_eq!(name("<a@b>"), "");
    }

    #[test]
    fn more_shapes() {
        // `%` inside angle brackets, mixed with a route.
        assert_eq!(p("<@r:u%h.com>"), Some(("u".into(), "h.com".into())));
        // A group with a display-name form inside.
        assert_eq!(
            p("team: Ann <ann@x.org>;"),
            Some(("ann".into(), "x.org".into()))
        );
        // Empty list elements are skipped.
        assert_eq!(p(", ,a@b"), Some(("a".into(), "b".into())));
        // After a group ends, the next address is still found.
        assert_eq!(p("g: ; a@b"), Some(("a".into(), "b".into())));
        assert_eq!(p("a@b.c."), Some(("a".into(), "b.c".into())));
        assert_eq!(p("a@..."), None);
        assert_eq!(p("<@route-only:>"), None);
    }

    #[test]
    fn addr_and_case() {
        let a = parse_address("Big <Mixed.Case@Example.ORG>").unwrap();
        assert_eq!(a.addr(), "Mixed.Case@Example.ORG");
    }

    #[test]
    fn never_mutates_its_input() {
        let input = String::from("John Doe <john@doe.com>");
        let copy = input.clone();
        let _ = parse_address(&input);
        assert_eq!(input, copy);
    }

    #[test]
    fn line_break_check() {
        assert!(has_line_break_or_nul("a\r\nb"));
        assert!(has_line_break_or_nul("a\nb"));
        assert!(has_line_break_or_nul("a\rb"));
        assert!(has_line_break_or_nul("a\0b"));
        assert!(!has_line_break_or_nul("a@b"));
        assert!(!has_line_break_or_nul("a\tb"));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for input in [
            "(", ")", "\"", "<", "<@", "<@x", "\\", "((((", "a@(", "<\"x", "a@b (", "a@b (\\", ":",
            ";", "g:", "<@:", "\u{0}", "a@\u{0}",
        ] {
            let _ = parse_address(input);
        }
        let deep = "(".repeat(100_000) + "a@b";
        assert_eq!(parse_address(&deep), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = parse_address(&s);
        }

        #[test]
        fn plain_addresses_parse_back(
            local in "[a-z0-9][a-z0-9.+_-]{0,15}",
            domain in "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z]{2,6}){1,3}",
        ) {
            let a = parse_address(&format!("<{local}@{domain}>")).unwrap();
            prop_assert_eq!(a.addr(), format!("{local}@{domain}"));
            let b = parse_address(&format!("Name <{local}@{domain}> SIZE=10")).unwrap();
            prop_assert_eq!(b.addr(), format!("{local}@{domain}"));
        }

        #[test]
        fn found_parts_are_never_empty(s in "[a-z@<>%:;,. ()\"\\\\]{0,30}") {
            if let Some(a) = parse_address(&s) {
                prop_assert!(!a.mailbox.is_empty());
                prop_assert!(!a.domain.is_empty());
                prop_assert!(!a.domain.starts_with('.') && !a.domain.ends_with('.'));
            }
        }
    }
}
