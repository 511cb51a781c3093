//! Strict parsing of one mailbox, for `ns_smtpd parseemail` and `checkemail`: the header
//! syntax of RFC 5322 §3.4 (`Name <local@domain>` with comments and folding white space) or
//! the path syntax of RFC 5321 §4.1.2 (`<local@domain>`, `<>`, source routes), with UTF-8
//! allowed in local parts and domain labels (RFC 6531/6532).
//!
//! Hand-written rather than taken from `mail-parser`: that crate recovers from malformed
//! input (it returns some address for almost any text), while this parser must reject
//! address lists, groups, trailing text, unquoted spaces and bad domains, and say why. The
//! grammar is small enough to state directly; parsing is linear and has no recursion.
//!
//! The lenient phrase extractor in [`super::address`] stays in use on the SMTP path and for
//! message headers.
use std::net::{Ipv4Addr, Ipv6Addr};

/// Which grammar an address is read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// RFC 5322 `mailbox`: an optional display name, comments and folding white space.
    Header,
    /// RFC 5321 `Path` or `Mailbox`: no white space at all, `<>` is the null path.
    Smtp,
}

/// A parsed mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The local part, quotes and escapes removed (may contain spaces).
    pub localpart: String,
    /// A domain name as written, or an address literal such as `[192.0.2.1]`.
    pub domain: String,
    /// `localpart@domain`, quoted where needed; `<>` for the null path.
    pub address: String,
    /// The display name (header syntax only), present only when one was written.
    pub name: Option<String>,
}

/// Why an address was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn fail<T>(reason: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(reason.into()))
}

/// Longest domain name (RFC 1035 §2.3.4, without the root dot) and label.
const MAX_DOMAIN: usize = 253;
const MAX_LABEL: usize = 63;

/// Parses exactly one mailbox; anything else in `input` is an error.
pub fn parse(input: &str, syntax: Syntax) -> Result<Mailbox, ParseError> {
    if input.contains('\0') {
        return fail("embedded NUL in address");
    }
    let tokens = Lexer::new(input, syntax).run()?;
    let mut parser = Parser { tokens, pos: 0 };
    match syntax {
        Syntax::Header => parser.header_mailbox(),
        Syntax::Smtp => parser.smtp_path(),
    }
}

/// `localpart@domain` with the local part quoted unless it is a dot-atom.
pub fn serialize(localpart: &str, domain: &str) -> String {
    if is_dot_atom(localpart) {
        return format!("{localpart}@{domain}");
    }
    let mut out = String::with_capacity(localpart.len() + domain.len() + 3);
    out.push('"');
    for c in localpart.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("\"@");
    out.push_str(domain);
    out
}

/// RFC 5322 `atext`, plus UTF-8 (RFC 6532 `UTF8-non-ascii`).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control())
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|a| !a.is_empty() && a.chars().all(is_atext))
}

/// One lexical unit; `spaced` says white space or a comment came before it.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: Kind,
    spaced: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Atom(String),
    /// A quoted string, decoded.
    Quoted(String),
    /// A domain literal's text including the brackets, white space removed.
    Literal(String),
    /// One of `< > @ , ; : .`
    Special(char),
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    syntax: Syntax,
}

impl Lexer {
    fn new(input: &str, syntax: Syntax) -> Self {
        Lexer {
            chars: input.chars().collect(),
            pos: 0,
            syntax,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn run(mut self) -> Result<Vec<Token>, ParseError> {
        let mut tokens = Vec::new();
        loop {
            let spaced = self.skip_cfws()?;
            let Some(c) = self.peek() else {
                return Ok(tokens);
            };
            let kind = match c {
                '"' => Kind::Quoted(self.quoted()?),
                '[' => Kind::Literal(self.literal()?),
                '<' | '>' | '@' | ',' | ';' | ':' | '.' => {
                    self.pos += 1;
                    Kind::Special(c)
                }
                c if is_atext(c) => {
                    let start = self.pos;
                    while self.peek().is_some_and(is_atext) {
                        self.pos += 1;
                    }
                    Kind::Atom(self.chars[start..self.pos].iter().collect())
                }
                ')' => return fail("unbalanced ')'"),
                c => return fail(format!("invalid character {}", shown(c))),
            };
            tokens.push(Token { kind, spaced });
        }
    }

    /// At CR or LF: consumes a fold (CRLF or LF, then a blank); anything else is an error.
    fn fold(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        if self.peek() == Some('\r') {
            self.pos += 1;
        }
        if self.peek() == Some('\n') && matches!(self.chars.get(self.pos + 1), Some(' ' | '\t')) {
            self.pos += 1;
            return Ok(());
        }
        self.pos = start;
        fail("line break in address")
    }

    /// Skips white space, folds and comments (header syntax); true if anything was skipped.
    fn skip_cfws(&mut self) -> Result<bool, ParseError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' | '(' if self.syntax == Syntax::Smtp => {
                    return fail(if c == '(' {
                        "comment in SMTP path"
                    } else {
                        "white space in SMTP path"
                    });
                }
                ' ' | '\t' => self.pos += 1,
                '\r' | '\n' => self.fold()?,
                '(' => self.comment()?,
                _ => break,
            }
        }
        Ok(self.pos > start)
    }

    /// At `(`: a comment, possibly nested, with quoted pairs.
    fn comment(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                '\\' => {
                    self.pos += 1;
                    self.quoted_pair_char()?;
                    continue;
                }
                '\r' | '\n' => {
                    self.fold()?;
                    continue;
                }
                c if c.is_control() && c != '\t' => {
                    return fail(format!("invalid character {} in comment", shown(c)))
                }
                _ => {}
            }
            self.pos += 1;
        }
        fail("unterminated comment")
    }

    /// After a backslash: the escaped character (VCHAR or WSP; SMTP: printable ASCII).
    fn quoted_pair_char(&mut self) -> Result<char, ParseError> {
        let Some(c) = self.peek() else {
            return fail("backslash at end of input");
        };
        let ok = match self.syntax {
            Syntax::Header => c == ' ' || c == '\t' || !c.is_control(),
            Syntax::Smtp => (' '..='~').contains(&c),
        };
        if !ok {
            return fail(format!("invalid escaped character {}", shown(c)));
        }
        self.pos += 1;
        Ok(c)
    }

    /// At `"`: a quoted string, decoded (escapes removed, folds unfolded).
    fn quoted(&mut self) -> Result<String, ParseError> {
        self.pos += 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            match c {
                '"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                '\\' => {
                    self.pos += 1;
                    let e = self.quoted_pair_char()?;
                    out.push(e);
                }
                '\r' | '\n' if self.syntax == Syntax::Header => self.fold()?,
                '\t' if self.syntax == Syntax::Header => {
                    out.push(c);
                    self.pos += 1;
                }
                c if c.is_control() => {
                    return fail(format!("invalid character {} in quoted string", shown(c)))
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        fail("unterminated quoted string")
    }

    /// At `[`: a domain literal up to `]`, folding white space dropped (header syntax).
    fn literal(&mut self) -> Result<String, ParseError> {
        let mut out = String::from("[");
        self.pos += 1;
        while let Some(c) = self.peek() {
            match c {
                ']' => {
                    self.pos += 1;
                    out.push(']');
                    return Ok(out);
                }
                ' ' | '\t' | '\r' | '\n' if self.syntax == Syntax::Header => {
                    if matches!(c, '\r' | '\n') {
                        self.fold()?;
                    } else {
                        self.pos += 1;
                    }
                }
                '[' | '\\' => return fail("invalid character in address literal"),
                c if c.is_ascii_graphic() => {
                    out.push(c);
                    self.pos += 1;
                }
                c => return fail(format!("invalid character {} in address literal", shown(c))),
            }
        }
        fail("unterminated address literal")
    }
}

/// A character for an error message: printable as is, control characters as `\xNN`.
fn shown(c: char) -> String {
    if c.is_control() {
        format!("\\x{:02x}", c as u32)
    } else {
        format!("'{c}'")
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_special(&self) -> Option<char> {
        match self.peek() {
            Some(Token {
                kind: Kind::Special(c),
                ..
            }) => Some(*c),
            _ => None,
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek_special() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// After the mailbox: nothing may follow.
    fn end(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => match t.kind {
                Kind::Special(',') => fail("address lists are not supported"),
                Kind::Special(';') => fail("groups are not supported"),
                _ => fail("unexpected text after address"),
            },
        }
    }

    /// RFC 5322 `mailbox`: `name-addr` or `addr-spec`.
    fn header_mailbox(&mut self) -> Result<Mailbox, ParseError> {
        if self.tokens.is_empty() {
            return fail("empty address");
        }
        // A display name runs up to `<`; without one, the words are the local part.
        let words = self
            .tokens
            .iter()
            .take_while(|t| matches!(t.kind, Kind::Atom(_) | Kind::Quoted(_) | Kind::Special('.')))
            .count();
        match self.tokens.get(words).map(|t| &t.kind) {
            Some(Kind::Special('<')) => {
                let name = (words > 0).then(|| self.display_name(words)).transpose()?;
                self.pos = words + 1;
                let mut mailbox = self.angle_body()?;
                self.end()?;
                mailbox.name = name;
                Ok(mailbox)
            }
            Some(Kind::Special(':')) => fail("groups are not supported"),
            Some(Kind::Special('@')) => {
                let mailbox = self.addr_spec()?;
                self.end()?;
                Ok(mailbox)
            }
            Some(Kind::Special(',')) => fail("address lists are not supported"),
            Some(Kind::Special(c)) => fail(format!("unexpected '{c}'")),
            _ => fail("missing '@'"),
        }
    }

    /// `phrase` (RFC 5322 §3.2.5, with the obsolete `.`): words joined by single spaces
    /// where white space or a comment separated them.
    fn display_name(&self, words: usize) -> Result<String, ParseError> {
        let mut name = String::new();
        for (i, t) in self.tokens[..words].iter().enumerate() {
            if i > 0 && t.spaced {
                name.push(' ');
            }
            match &t.kind {
                Kind::Atom(s) | Kind::Quoted(s) => name.push_str(s),
                Kind::Special('.') if i > 0 => name.push('.'),
                _ => return fail("display name starts with '.'"),
            }
        }
        Ok(name)
    }

    /// After `<`: an optional obsolete source route, the mailbox, `>`.
    fn angle_body(&mut self) -> Result<Mailbox, ParseError> {
        if self.peek_special() == Some('@') {
            self.source_route()?;
        }
        let mailbox = self.addr_spec()?;
        if !self.eat('>') {
            return match self.peek() {
                None => fail("missing '>'"),
                Some(_) => fail("unexpected text before '>'"),
            };
        }
        Ok(mailbox)
    }

    /// `@domain,@domain:` (RFC 5321 `A-d-l`): each domain is checked, then forgotten.
    fn source_route(&mut self) -> Result<(), ParseError> {
        loop {
            if !self.eat('@') {
                return fail("malformed source route");
            }
            self.domain()?;
            if self.eat(':') {
                return Ok(());
            }
            if !self.eat(',') {
                return fail("malformed source route");
            }
        }
    }

    /// `local-part "@" domain`.
    fn addr_spec(&mut self) -> Result<Mailbox, ParseError> {
        let localpart = self.local_part()?;
        if !self.eat('@') {
            return fail("missing '@'");
        }
        let domain = self.domain()?;
        Ok(Mailbox {
            address: serialize(&localpart, &domain),
            localpart,
            domain,
            name: None,
        })
    }

    /// A dot-atom (no space between its parts) or one quoted string.
    fn local_part(&mut self) -> Result<String, ParseError> {
        let first = self.pos;
        if let Some(Token {
            kind: Kind::Quoted(s),
            ..
        }) = self.peek()
        {
            let s = s.clone();
            self.pos += 1;
            return match self.peek_special() {
                Some('@') => Ok(s),
                Some('.') => fail("quoted string mixed with atoms in local part"),
                _ => self.after_local_part(),
            };
        }
        let mut out = String::new();
        let mut want_atom = true;
        while let Some(t) = self.peek() {
            if self.pos > first && t.spaced && !matches!(t.kind, Kind::Special('@')) {
                return fail("unquoted space in local part");
            }
            match &t.kind {
                Kind::Atom(s) if want_atom => out.push_str(s),
                Kind::Special('.') if !want_atom => out.push('.'),
                Kind::Special('.') if out.is_empty() => return fail("local part starts with '.'"),
                Kind::Special('.') => return fail("consecutive dots in local part"),
                Kind::Quoted(_) => return fail("quoted string mixed with atoms in local part"),
                _ => break,
            }
            want_atom = !want_atom;
            self.pos += 1;
        }
        if out.is_empty() {
            return match self.peek() {
                Some(t) if matches!(t.kind, Kind::Special('@')) => fail("empty local part"),
                _ => self.after_local_part(),
            };
        }
        if want_atom {
            return fail("local part ends with '.'");
        }
        Ok(out)
    }

    /// The local part ended at something that is not `@`.
    fn after_local_part<T>(&self) -> Result<T, ParseError> {
        match self.peek() {
            None => fail("missing '@'"),
            Some(Token {
                kind: Kind::Atom(_) | Kind::Quoted(_),
                spaced: true,
            }) => fail("unquoted space in local part"),
            Some(Token {
                kind: Kind::Atom(_) | Kind::Quoted(_),
                ..
            }) => fail("quoted string mixed with atoms in local part"),
            Some(Token {
                kind: Kind::Special(c),
                ..
            }) => fail(format!("unexpected '{c}' in local part")),
            Some(_) => fail("missing '@'"),
        }
    }

    /// A domain name or an address literal.
    fn domain(&mut self) -> Result<String, ParseError> {
        if let Some(Token {
            kind: Kind::Literal(l),
            ..
        }) = self.peek()
        {
            let l = l.clone();
            self.pos += 1;
            check_literal(&l)?;
            return Ok(l);
        }
        let first = self.pos;
        let mut out = String::new();
        let mut want_label = true;
        while let Some(t) = self.peek() {
            if self.pos > first && t.spaced {
                break;
            }
            match &t.kind {
                Kind::Atom(s) if want_label => {
                    check_label(s)?;
                    out.push_str(s);
                }
                Kind::Special('.') if !want_label => out.push('.'),
                Kind::Special('.') if out.is_empty() => return fail("domain starts with '.'"),
                Kind::Special('.') => return fail("consecutive dots in domain"),
                _ => break,
            }
            want_label = !want_label;
            self.pos += 1;
        }
        if out.is_empty() {
            return fail("missing domain");
        }
        if want_label {
            return fail("domain ends with '.'");
        }
        if out.len() > MAX_DOMAIN {
            return fail(format!("domain longer than {MAX_DOMAIN} octets"));
        }
        Ok(out)
    }
}

/// A DNS label: letters, digits and inner hyphens (RFC 5321 `sub-domain`), at most 63 octets.
fn check_label(label: &str) -> Result<(), ParseError> {
    if label.len() > MAX_LABEL {
        return fail(format!("domain label longer than {MAX_LABEL} octets"));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return fail(format!("domain label \"{label}\" starts or ends with '-'"));
    }
    if let Some(c) = label.chars().find(|&c| !(c.is_alphanumeric() || c == '-')) {
        return fail(format!("invalid character {} in domain", shown(c)));
    }
    Ok(())
}

/// `[IPv4]` or `[IPv6:address]`; other tagged literals are not accepted.
fn check_literal(literal: &str) -> Result<(), ParseError> {
    let inner = &literal[1..literal.len() - 1];
    if inner.len() >= 5 && inner[..5].eq_ignore_ascii_case("IPv6:") {
        return match inner[5..].parse::<Ipv6Addr>() {
            Ok(_) => Ok(()),
            Err(_) => fail("invalid IPv6 address literal"),
        };
    }
    match inner.parse::<Ipv4Addr>() {
        Ok(_) => Ok(()),
        Err(_) => fail("invalid IPv4 address literal"),
    }
}

impl Parser {
    /// RFC 5321 `Reverse-path`/`Forward-path` or a bare `Mailbox`.
    fn smtp_path(&mut self) -> Result<Mailbox, ParseError> {
        if self.tokens.is_empty() {
            return fail("empty address");
        }
        if self.eat('<') {
            if self.eat('>') {
                self.end()?;
                return Ok(Mailbox {
                    localpart: String::new(),
                    domain: String::new(),
                    address: "<>".to_string(),
                    name: None,
                });
            }
            let mailbox = self.angle_body()?;
            self.end()?;
            return Ok(mailbox);
        }
        let mailbox = self.addr_spec()?;
        self.end()?;
        Ok(mailbox)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> Mailbox {
        parse(s, Syntax::Header).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn smtp(s: &str) -> Mailbox {
        parse(s, Syntax::Smtp).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn mailbox(localpart: &str, domain: &str, address: &str, name: Option<&str>) -> Mailbox {
        Mailbox {
            localpart: localpart.into(),
            domain: domain.into(),
            address: address.into(),
            name: name.map(str::to_string),
        }
    }

    #[test]
    fn bare_mailbox() {
        assert_eq!(
            header("user@example.org"),
            mailbox("user", "example.org", "user@example.org", None)
        );
    }

    #[test]
    fn display_name_and_quoted_local_part() {
        assert_eq!(
            header(r#"Example User <"john smith"@example.org>"#),
            mailbox(
                "john smith",
                "example.org",
                r#""john smith"@example.org"#,
                Some("Example User")
            )
        );
        assert_eq!(
            header(r#""Doe, John" <j@x.org>"#).name.as_deref(),
            Some("Doe, John")
        );
        assert_eq!(
            header("John Q. Public <j@x.org>").name.as_deref(),
            Some("John Q. Public")
        );
        assert_eq!(header("<j@x.org>").name, None);
    }

    #[test]
    fn quotes_and_backslashes() {
        assert_eq!(
            header(r#""a\"b\\c"@example.org"#),
            mailbox(r#"a"b\c"#, "example.org", r#""a\"b\\c"@example.org"#, None)
        );
        assert_eq!(header(r#""john"@x.org"#).address, "john@x.org");
        assert_eq!(header(r#"""@x.org"#).address, r#"""@x.org"#);
    }

    #[test]
    fn comments_and_white_space() {
        assert_eq!(
            header("User (comment) <john (local) @ (domain) example.org> (tail)"),
            mailbox("john", "example.org", "john@example.org", Some("User"))
        );
        assert_eq!(
            header("(a (nested \\) comment)) user@example.org").address,
            "user@example.org"
        );
        assert_eq!(header("user @example.org").address, "user@example.org");
        assert_eq!(header("user@ example.org").address, "user@example.org");
    }

    #[test]
    fn folding_inside_quotes_is_unfolded() {
        assert_eq!(
            header("\"john\r\n smith\"@example.org"),
            mailbox(
                "john smith",
                "example.org",
                "\"john smith\"@example.org",
                None
            )
        );
        assert_eq!(
            header("Name\r\n\t<a@example.org>").name.as_deref(),
            Some("Name")
        );
    }

    #[test]
    fn address_literals() {
        assert_eq!(header("user@[192.0.2.1]").domain, "[192.0.2.1]");
        assert_eq!(
            header("user@[IPv6:2001:db8::1]").domain,
            "[IPv6:2001:db8::1]"
        );
        assert_eq!(header("user@[ 192.0.2.1 ]").domain, "[192.0.2.1]");
        assert_eq!(
            smtp("<user@[IPv6:::ffff:192.0.2.1]>").domain,
            "[IPv6:::ffff:192.0.2.1]"
        );
    }

    #[test]
    fn smtp_syntax() {
        assert_eq!(
            smtp(r#"<"john smith"@example.org>"#),
            mailbox(
                "john smith",
                "example.org",
                r#""john smith"@example.org"#,
                None
            )
        );
        assert_eq!(smtp("<>"), mailbox("", "", "<>", None));
        assert_eq!(smtp("user@example.org").address, "user@example.org");
        assert_eq!(
            smtp("<@relay.example,@other.example:user@example.org>"),
            mailbox("user", "example.org", "user@example.org", None)
        );
    }

    #[test]
    fn long_local_parts_stay_accepted() {
        let a = "bounce-lite6.39265260631.4-355+1791622104+f8771ef23b8323544edfb6e3671837541e1faac9@openacs.org";
        assert_eq!(smtp(a).address, a);
        assert_eq!(header(a).address, a);
    }

    #[test]
    fn atext_specials_are_valid() {
        assert_eq!(header("nobody+|tag@example.org").localpart, "nobody+|tag");
        assert_eq!(header("üser@exämple.org").address, "üser@exämple.org");
    }

    fn reason(s: &str, syntax: Syntax) -> String {
        match parse(s, syntax) {
            Ok(m) => panic!("{s:?} parsed as {m:?}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn malformed_header_input() {
        let long_label = format!("a@{}.org", "x".repeat(64));
        let cases = [
            "nobody+|sleep 1; ping -p cafebabe -c 3 sploit.wu.ac.at@localhost",
            "nobody+|sleep 1; ping -p cafebabe -c 3 sploit.wu.ac.at @ localhost",
            "xxx <nobody+|sleep 1; ping -p cafebabe -c 3 sploit.wu.ac.at @ localhost>",
            "a..b@example.org",
            ".a@example.org",
            "a.@example.org",
            "a@exam ple.org",
            "a@example..org",
            "a@-example.org",
            "a@example-.org",
            "a@example.org.",
            "a@example.org garbage",
            "Name <a@example.org",
            "a@example.org,b@example.org",
            "Group: a@example.org;",
            "\"unterminated@example.org",
            "a@[999.1.2.3]",
            "a@[IPv6:not-an-ip]",
            "a@example.org\nInjected: yes",
            "a@example.org\0suffix",
            &long_label,
            "",
            "   ",
            "user",
            "@example.org",
            "user@",
            "<>",
            "a b@example.org",
            "\"a\".b@example.org",
            "a@x_y.org",
            "(unterminated a@example.org",
            "a@example.org)",
            "Name <a@example.org> trailing",
            "a@b@c.org",
            "a@[tag:content]",
            "a@example.org\r\n",
        ];
        for c in cases {
            reason(c, Syntax::Header);
        }
        assert_eq!(
            reason("a@example.org,b@example.org", Syntax::Header),
            "address lists are not supported"
        );
        assert_eq!(
            reason("Group: a@example.org;", Syntax::Header),
            "groups are not supported"
        );
        assert_eq!(
            reason("a b@example.org", Syntax::Header),
            "unquoted space in local part"
        );
        assert_eq!(
            reason("Name\0Hidden <user@example.org>", Syntax::Header),
            "embedded NUL in address"
        );
    }

    #[test]
    fn malformed_smtp_input() {
        for c in [
            "User <user@example.org>",
            "user @example.org",
            "user@ example.org",
            "< user@example.org>",
            "<user@example.org >",
            "user(comment)@example.org",
            "<user@example.org",
            "<@relay.example:user@example.org",
            "<@relay..example:user@example.org>",
            "<@relay.example,user@example.org>",
            "<relay.example:user@example.org>",
            "\"a\tb\"@example.org",
            "<<>>",
            "<>x",
            "",
        ] {
            reason(c, Syntax::Smtp);
        }
    }

    #[test]
    fn serialization_reparses() {
        for local in ["a", "a.b", "john smith", "a\"b\\c", ".a", "a..b", "", "ü"] {
            let address = serialize(local, "example.org");
            let m = header(&address);
            assert_eq!(m.localpart, local);
            assert_eq!(m.address, address);
            assert_eq!(smtp(&address).localpart, local);
        }
    }
}
