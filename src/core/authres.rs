//! Inbound sender authentication as data: which checks `authcheck` asks for, the results a
//! transaction collected (SPF at MAIL, DKIM/ARC/DMARC after DATA), their Tcl dictionary,
//! the policy findings they give, the `Authentication-Results:` header (RFC 8601) we add
//! and the removal of forged ones that claim our authserv-id. The verification itself is
//! the I/O layer's (`io::auth`).

/// The checks `authcheck` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthMethods {
    pub spf: bool,
    pub dkim: bool,
    pub dmarc: bool,
    pub arc: bool,
}

impl AuthMethods {
    /// Parses a list of `spf dkim dmarc arc` (spaces or commas; empty = none).
    pub fn parse(text: &str) -> Result<AuthMethods, String> {
        let mut m = AuthMethods::default();
        for word in text.split([' ', ',', '\t', '\n']).filter(|w| !w.is_empty()) {
            match word.to_ascii_lowercase().as_str() {
                "spf" => m.spf = true,
                "dkim" => m.dkim = true,
                "dmarc" => m.dmarc = true,
                "arc" => m.arc = true,
                _ => {
                    return Err(format!(
                        "unknown check \"{word}\": must be spf, dkim, dmarc or arc"
                    ))
                }
            }
        }
        Ok(m)
    }

    /// The canonical text (`spf dkim dmarc arc` order), as `cget` shows it.
    pub fn as_text(&self) -> String {
        [
            (self.spf, "spf"),
            (self.dkim, "dkim"),
            (self.dmarc, "dmarc"),
            (self.arc, "arc"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(" ")
    }

    pub fn any(&self) -> bool {
        self.spf || self.dkim || self.dmarc || self.arc
    }

    /// DMARC needs the SPF result of the MAIL identity, so SPF runs at MAIL for it too.
    pub fn needs_spf(&self) -> bool {
        self.spf || self.dmarc
    }

    /// DMARC needs the DKIM results, so DKIM runs after DATA for it too.
    pub fn needs_dkim(&self) -> bool {
        self.dkim || self.dmarc
    }
}

/// One method's outcome. `result` is an RFC 8601 result word (`pass`, `fail`, `softfail`,
/// `neutral`, `none`, `temperror`, `permerror`, `policy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    pub result: String,
    /// The domain the result is about (SPF: the checked identity's domain; DKIM/ARC: `d=`;
    /// DMARC: the From: domain).
    pub domain: String,
    /// DKIM: `s=`. Empty elsewhere.
    pub selector: String,
    /// SPF: `mailfrom` or `helo` and the identity checked (`smtp.mailfrom=...`); DKIM: `i=`.
    pub identity: String,
    /// Why, in a few words (the verifier's error), or empty.
    pub reason: String,
    /// DMARC: the published policy (`none`, `quarantine`, `reject`); empty elsewhere.
    pub policy: String,
}

/// The longest text kept in one field of a [`Check`].
const FIELD_LIMIT: usize = 255;

/// Text from a message or from DNS made safe for logs, Tcl and our header: control
/// characters become `?` (a decoded `i=` may hold CR LF) and it is cut at 255 bytes.
pub fn clean_field(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if out.len() > FIELD_LIMIT {
        let mut end = FIELD_LIMIT;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

impl Check {
    /// Every field passed through [`clean_field`].
    pub fn cleaned(self) -> Check {
        Check {
            result: clean_field(&self.result),
            domain: clean_field(&self.domain),
            selector: clean_field(&self.selector),
            identity: clean_field(&self.identity),
            reason: clean_field(&self.reason),
            policy: clean_field(&self.policy),
        }
    }

    pub fn new(result: &str) -> Check {
        Check {
            result: result.to_string(),
            ..Check::default()
        }
    }
}

/// What SPF identity a result is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpfScope {
    MailFrom,
    Helo,
}

impl SpfScope {
    pub fn as_str(self) -> &'static str {
        match self {
            SpfScope::MailFrom => "mailfrom",
            SpfScope::Helo => "helo",
        }
    }
}

/// The results of one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthRecord {
    /// The checks made for this transaction (none for a trusted client).
    pub checked: AuthMethods,
    pub spf: Option<Check>,
    pub spf_scope: Option<SpfScope>,
    /// One per signature, in message order.
    pub dkim: Vec<Check>,
    pub arc: Option<Check>,
    pub dmarc: Option<Check>,
}

impl AuthRecord {
    pub fn is_empty(&self) -> bool {
        self.spf.is_none() && self.dkim.is_empty() && self.arc.is_none() && self.dmarc.is_none()
    }

    /// The DKIM result that speaks for the message: the first passing signature, else the
    /// first one; `none` without signatures.
    pub fn dkim_summary(&self) -> Option<&Check> {
        self.dkim
            .iter()
            .find(|c| c.result == "pass")
            .or_else(|| self.dkim.first())
    }

    /// Policy findings, one per checked method: `spf-fail`, `dkim-pass`, `dmarc-none`, ...
    pub fn findings(&self, checked: &AuthMethods) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(spf) = &self.spf {
            out.push(format!("spf-{}", spf.result));
        }
        if checked.needs_dkim() && (checked.dkim || !self.dkim.is_empty()) {
            let word = self.dkim_summary().map_or("none", |c| c.result.as_str());
            out.push(format!("dkim-{word}"));
        }
        if let Some(arc) = &self.arc {
            out.push(format!("arc-{}", arc.result));
        }
        if let Some(dmarc) = &self.dmarc {
            out.push(format!("dmarc-{}", dmarc.result));
        }
        out
    }

    /// The `Authentication-Results:` header field (RFC 8601), CRLF-terminated, folded one
    /// method a line; `None` when nothing was checked.
    pub fn header(&self, authserv_id: &str, checked: &AuthMethods) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        if let Some(spf) = &self.spf {
            let scope = self.spf_scope.unwrap_or(SpfScope::MailFrom);
            let property = match scope {
                SpfScope::MailFrom => "smtp.mailfrom",
                SpfScope::Helo => "smtp.helo",
            };
            parts.push(format!(
                "spf={}{} {}={}",
                spf.result,
                comment(&spf.reason),
                property,
                value(&spf.identity)
            ));
        }
        if checked.dkim {
            if self.dkim.is_empty() {
                parts.push("dkim=none".into());
            }
            for dkim in &self.dkim {
                let mut part = format!("dkim={}{}", dkim.result, comment(&dkim.reason));
                if !dkim.domain.is_empty() {
                    part.push_str(&format!(" header.d={}", value(&dkim.domain)));
                }
                if !dkim.selector.is_empty() {
                    part.push_str(&format!(" header.s={}", value(&dkim.selector)));
                }
                parts.push(part);
            }
        }
        if let Some(arc) = &self.arc {
            parts.push(format!("arc={}{}", arc.result, comment(&arc.reason)));
        }
        if let Some(dmarc) = &self.dmarc {
            let mut part = format!("dmarc={}{}", dmarc.result, comment(&dmarc.reason));
            if !dmarc.domain.is_empty() {
                part.push_str(&format!(" header.from={}", value(&dmarc.domain)));
            }
            parts.push(part);
        }
        if parts.is_empty() {
            return None;
        }
        let mut header = format!("Authentication-Results: {}", value(authserv_id));
        for part in parts {
            header.push_str(";\r\n\t");
            header.push_str(&part);
        }
        header.push_str("\r\n");
        Some(header)
    }
}

/// A property value: a token as is, anything else quoted (RFC 8601 `value`).
fn value(text: &str) -> String {
    // A MIME token, or a `pvalue` with `@` (RFC 8601 §2.2).
    let token = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>,;:\\\"[]?=".contains(&b));
    if token {
        return text.to_string();
    }
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .collect();
    format!("\"{cleaned}\"")
}

/// A reason as an RFC 5322 comment, with characters that would end it removed.
fn comment(reason: &str) -> String {
    if reason.is_empty() {
        return String::new();
    }
    let cleaned: String = reason
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '(' | ')' | '\\'))
        .take(200)
        .collect();
    format!(" ({cleaned})")
}

/// The message with every `Authentication-Results:` header field whose authserv-id is ours
/// removed (RFC 8601 §5: a receiver removes claims it did not make). Only the header
/// section is looked at; everything else stays byte for byte.
pub fn strip_our_results(message: &[u8], authserv_id: &str) -> Vec<u8> {
    let header_end = header_section_end(message);
    let mut out = Vec::with_capacity(message.len());
    let mut pos = 0;
    while pos < header_end {
        let field_end = field_end(message, pos, header_end);
        let field = &message[pos..field_end];
        if !claims_authserv_id(field, authserv_id) {
            out.extend_from_slice(field);
        }
        pos = field_end;
    }
    out.extend_from_slice(&message[header_end..]);
    out
}

/// The size in bytes of each header field named `name` (folded lines included), in order.
pub fn field_sizes(message: &[u8], name: &str) -> Vec<usize> {
    let header_end = header_section_end(message);
    let mut sizes = Vec::new();
    let mut pos = 0;
    while pos < header_end {
        let end = field_end(message, pos, header_end);
        let field = &message[pos..end];
        let named = field.iter().position(|&b| b == b':').is_some_and(|colon| {
            String::from_utf8_lossy(&field[..colon])
                .trim()
                .eq_ignore_ascii_case(name)
        });
        if named {
            sizes.push(field.len());
        }
        pos = end;
    }
    sizes
}

/// Where the header section ends: after the line that ends it (before the empty line),
/// or the whole message when there is no body.
fn header_section_end(message: &[u8]) -> usize {
    let mut pos = 0;
    while pos < message.len() {
        if message[pos..].starts_with(b"\r\n") || message[pos..].starts_with(b"\n") {
            return pos;
        }
        match message[pos..].iter().position(|&b| b == b'\n') {
            Some(n) => pos += n + 1,
            None => return message.len(),
        }
    }
    message.len()
}

/// The end of the header field starting at `start`: its first line and every folded one.
fn field_end(message: &[u8], start: usize, limit: usize) -> usize {
    let mut pos = start;
    loop {
        match message[pos..limit].iter().position(|&b| b == b'\n') {
            Some(n) => pos += n + 1,
            None => return limit,
        }
        if pos >= limit || !matches!(message[pos], b' ' | b'\t') {
            return pos;
        }
    }
}

fn claims_authserv_id(field: &[u8], authserv_id: &str) -> bool {
    let Some(colon) = field.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = String::from_utf8_lossy(&field[..colon]);
    if !name.trim().eq_ignore_ascii_case("Authentication-Results") {
        return false;
    }
    let text = String::from_utf8_lossy(&field[colon + 1..]);
    let text = strip_comments(&text);
    let id = text
        .trim_start()
        .split(|c: char| c == ';' || c.is_whitespace())
        .next()
        .unwrap_or("")
        .trim_matches('"');
    // `mx.example.` is the same host as `mx.example`.
    id.trim_end_matches('.')
        .eq_ignore_ascii_case(authserv_id.trim_end_matches('.'))
}

/// Text without RFC 5322 comments (nested parentheses allowed).
fn strip_comments(text: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The `nameserver` option: servers as `host`, `host:port`, `[v6]` or `[v6]:port`, separated
/// by spaces or commas. Returns (host, port) pairs; port 53 when none is given.
pub fn parse_nameservers(text: &str) -> Result<Vec<(String, u16)>, String> {
    let mut out = Vec::new();
    for word in text.split([' ', ',', '\t', '\n']).filter(|w| !w.is_empty()) {
        let bad =
            || format!("invalid name server \"{word}\": must be host, host:port or [v6]:port");
        let (host, port) = if let Some(rest) = word.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            match after {
                "" => (host, None),
                p => (host, Some(p.strip_prefix(':').ok_or_else(bad)?)),
            }
        } else if word.matches(':').count() > 1 {
            // A bare IPv6 address: no port.
            (word, None)
        } else {
            match word.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (word, None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(bad)?,
            None => 53,
        };
        out.push((host.to_string(), port));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        let m = AuthMethods::parse("DKIM, spf").unwrap();
        assert!(m.spf && m.dkim && !m.dmarc && !m.arc);
        assert_eq!(m.as_text(), "spf dkim");
        assert!(!AuthMethods::parse("").unwrap().any());
        assert!(AuthMethods::parse("spf dnssec").is_err());
        let d = AuthMethods::parse("dmarc").unwrap();
        assert!(d.needs_spf() && d.needs_dkim() && !d.spf);
    }

    fn sample() -> AuthRecord {
        AuthRecord {
            checked: AuthMethods::default(),
            spf: Some(Check {
                result: "pass".into(),
                domain: "example.org".into(),
                identity: "a@example.org".into(),
                ..Check::default()
            }),
            spf_scope: Some(SpfScope::MailFrom),
            dkim: vec![
                Check {
                    result: "fail".into(),
                    domain: "example.org".into(),
                    selector: "old".into(),
                    reason: "signature (body hash) mismatch".into(),
                    ..Check::default()
                },
                Check {
                    result: "pass".into(),
                    domain: "example.org".into(),
                    selector: "s1".into(),
                    ..Check::default()
                },
            ],
            arc: None,
            dmarc: Some(Check {
                result: "pass".into(),
                domain: "example.org".into(),
                policy: "reject".into(),
                ..Check::default()
            }),
        }
    }

    #[test]
    fn findings_one_per_method() {
        let all = AuthMethods::parse("spf dkim dmarc").unwrap();
        assert_eq!(
            sample().findings(&all),
            vec!["spf-pass", "dkim-pass", "dmarc-pass"]
        );
        let unsigned = AuthRecord::default();
        assert_eq!(
            unsigned.findings(&AuthMethods::parse("dkim").unwrap()),
            vec!["dkim-none"]
        );
        assert!(unsigned.findings(&AuthMethods::default()).is_empty());
    }

    #[test]
    fn header_format() {
        let all = AuthMethods::parse("spf dkim dmarc").unwrap();
        let h = sample().header("mx.example.net", &all).unwrap();
        assert_eq!(
            h,
            "Authentication-Results: mx.example.net;\r\n\
             \tspf=pass smtp.mailfrom=a@example.org;\r\n\
             \tdkim=fail (signature body hash mismatch) header.d=example.org header.s=old;\r\n\
             \tdkim=pass header.d=example.org header.s=s1;\r\n\
             \tdmarc=pass header.from=example.org\r\n"
        );
        assert!(AuthRecord::default()
            .header("x", &AuthMethods::default())
            .is_none());
        let none = AuthRecord::default()
            .header("x", &AuthMethods::parse("dkim").unwrap())
            .unwrap();
        assert_eq!(none, "Authentication-Results: x;\r\n\tdkim=none\r\n");
    }

    #[test]
    fn header_values_are_quoted_when_needed() {
        assert_eq!(value("a@b.example"), "a@b.example");
        assert_eq!(value("we ird;x"), "\"we ird;x\"");
        assert_eq!(value(""), "\"\"");
        assert_eq!(comment("a (b) \\c"), " (a b c)");
    }

    #[test]
    fn strips_only_our_claims() {
        let msg = b"Received: from x\r\n\
Authentication-Results: mx.example.net; spf=pass\r\n\
Authentication-Results: (comment) MX.Example.NET;\r\n\tdkim=pass\r\n\
Authentication-Results: other.example; dkim=pass\r\n\
Subject: hi\r\n\
\r\n\
Authentication-Results: mx.example.net; in the body\r\n";
        let out = strip_our_results(msg, "mx.example.net");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Received: from x\r\n\
Authentication-Results: other.example; dkim=pass\r\n\
Subject: hi\r\n\
\r\n\
Authentication-Results: mx.example.net; in the body\r\n"
        );
        // A message without a body or without such fields comes back unchanged.
        assert_eq!(strip_our_results(b"Subject: x\r\n", "a"), b"Subject: x\r\n");
        assert_eq!(strip_our_results(b"", "a"), b"");
        // The same host written with its root dot is a claim of ours too.
        assert_eq!(
            strip_our_results(
                b"Authentication-Results: mx.example.net.; spf=pass\r\n\r\n",
                "mx.example.net"
            ),
            b"\r\n"
        );
    }

    #[test]
    fn field_sizes_count_folded_lines() {
        let msg = b"DKIM-Signature: a=1;\r\n b=2\r\nSubject: x\r\ndkim-signature: c\r\n\r\nDKIM-Signature: body\r\n";
        assert_eq!(field_sizes(msg, "DKIM-Signature"), vec![28, 19]);
        assert!(field_sizes(b"Subject: x\r\n\r\n", "DKIM-Signature").is_empty());
    }

    #[test]
    fn fields_lose_control_characters_and_length() {
        assert_eq!(
            clean_field("@a.example\r\nX-Forged: 1"),
            "@a.example??X-Forged: 1"
        );
        assert_eq!(clean_field("\u{1b}[31mred"), "?[31mred");
        let long = "é".repeat(200);
        let cut = clean_field(&long);
        assert!(cut.len() <= 255 && cut.chars().all(|c| c == 'é'));
        let check = Check {
            identity: "a\nb".into(),
            ..Check::new("pass")
        }
        .cleaned();
        assert_eq!(
            (check.result.as_str(), check.identity.as_str()),
            ("pass", "a?b")
        );
    }

    #[test]
    fn nameservers() {
        assert_eq!(
            parse_nameservers("127.0.0.1:5353, 10.0.0.1 [::1]:54 ::2 ns.example").unwrap(),
            vec![
                ("127.0.0.1".into(), 5353),
                ("10.0.0.1".into(), 53),
                ("::1".into(), 54),
                ("::2".into(), 53),
                ("ns.example".into(), 53)
            ]
        );
        assert!(parse_nameservers("").unwrap().is_empty());
        assert!(parse_nameservers("1.2.3.4:0").is_err());
        assert!(parse_nameservers("1.2.3.4:x").is_err());
        assert!(parse_nameservers("[::1").is_err());
        assert!(parse_nameservers(":53").is_err());
    }
}
