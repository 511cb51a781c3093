//! Outbound DKIM signing as data: the `dkimsign` entries (`{domain selector keyfile
//! ?algorithm? ?headers?}`), which entry signs a message (its From: domain), which header
//! fields are signed, and the line ends a message has on the wire. No keys and no files
//! here: `io::dkim_sign` reads the keys and signs.
use super::tcllist;
use std::borrow::Cow;

/// A signing algorithm (RFC 6376 `rsa-sha256`, RFC 8463 `ed25519-sha256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignAlgorithm {
    RsaSha256,
    Ed25519Sha256,
}

impl SignAlgorithm {
    pub fn parse(word: &str) -> Option<SignAlgorithm> {
        match word.to_ascii_lowercase().as_str() {
            "rsa-sha256" | "rsa" => Some(SignAlgorithm::RsaSha256),
            "ed25519-sha256" | "ed25519" => Some(SignAlgorithm::Ed25519Sha256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SignAlgorithm::RsaSha256 => "rsa-sha256",
            SignAlgorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }
}

/// One `dkimsign` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignEntry {
    /// The From: domain it signs, lower case; a leading `.` means "any subdomain of".
    pub pattern: String,
    pub selector: String,
    pub keyfile: String,
    /// `None`: taken from the key.
    pub algorithm: Option<SignAlgorithm>,
    /// Header fields to sign as given; empty = [`DEFAULT_SIGNED_HEADERS`], From oversigned.
    pub headers: Vec<String>,
}

impl SignEntry {
    /// The `d=` tag: the entry's domain without the subdomain dot.
    pub fn signing_domain(&self) -> &str {
        self.pattern.trim_start_matches('.')
    }
}

/// The fields signed when an entry names none (those present in the message; `From` once
/// more, so a second From: added later breaks the signature, RFC 6376 §8.15).
pub const DEFAULT_SIGNED_HEADERS: &[&str] = &[
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
];

/// Parses the `dkimsign` option: a Tcl list of entries, each a list of 3 to 5 words.
pub fn parse_entries(text: &str) -> Result<Vec<SignEntry>, String> {
    let mut entries: Vec<SignEntry> = Vec::new();
    for item in tcllist::split(text)? {
        let words = tcllist::split(&item)?;
        if !(3..=5).contains(&words.len()) {
            return Err(format!(
                "entry \"{item}\": must be {{domain selector keyfile ?algorithm? ?headers?}}"
            ));
        }
        let pattern = words[0].trim().to_ascii_lowercase();
        let domain = pattern.strip_prefix('.').unwrap_or(&pattern);
        if !is_domain(domain) {
            return Err(format!("entry \"{item}\": bad domain \"{}\"", words[0]));
        }
        let selector = words[1].trim().to_string();
        if !is_domain(&selector) {
            return Err(format!("entry \"{item}\": bad selector \"{selector}\""));
        }
        if words[2].trim().is_empty() {
            return Err(format!("entry \"{item}\": no key file"));
        }
        let algorithm = match words.get(3).map(|w| w.trim()) {
            None | Some("") => None,
            Some(w) => Some(SignAlgorithm::parse(w).ok_or_else(|| {
                format!(
                    "entry \"{item}\": bad algorithm \"{w}\": must be rsa-sha256 or ed25519-sha256"
                )
            })?),
        };
        let headers: Vec<String> = words
            .get(4)
            .map(|h| {
                h.split(|c: char| c == ':' || c.is_whitespace())
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(bad) = headers.iter().find(|h| !is_field_name(h)) {
            return Err(format!("entry \"{item}\": bad header name \"{bad}\""));
        }
        if !headers.is_empty() && !headers.iter().any(|h| h.eq_ignore_ascii_case("from")) {
            // RFC 6376 §5.4: From MUST be signed.
            return Err(format!(
                "entry \"{item}\": the signed headers must include From"
            ));
        }
        if entries.iter().any(|e| e.pattern == pattern) {
            return Err(format!("domain \"{pattern}\" is listed twice"));
        }
        entries.push(SignEntry {
            pattern,
            selector,
            keyfile: words[2].trim().to_string(),
            algorithm,
            headers,
        });
    }
    Ok(entries)
}

/// The entry that signs mail from `domain`: the exact domain first, else the entry
/// `.parent` with the longest parent that `domain` is a subdomain of.
pub fn find_entry<'a>(entries: &'a [SignEntry], domain: &str) -> Option<&'a SignEntry> {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if let Some(e) = entries.iter().find(|e| e.pattern == domain) {
        return Some(e);
    }
    entries
        .iter()
        .filter(|e| e.pattern.starts_with('.') && domain.ends_with(&e.pattern))
        .max_by_key(|e| e.pattern.len())
}

/// The entry `-dkim domain` names: the one whose domain is written that way.
pub fn named_entry<'a>(entries: &'a [SignEntry], name: &str) -> Option<&'a SignEntry> {
    let name = name.trim().to_ascii_lowercase();
    entries
        .iter()
        .find(|e| e.pattern == name || e.signing_domain() == name)
}

/// The domain of the first mailbox in the first From: field, from the message's header
/// fields as (name, value) pairs in message order.
pub fn from_domain<'a>(headers: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Option<String> {
    let (_, value) = headers
        .into_iter()
        .find(|(name, _)| name.trim_ascii().eq_ignore_ascii_case(b"from"))?;
    let value = String::from_utf8_lossy(value);
    let unfolded = value.replace(['\r', '\n'], " ");
    let address = crate::core::address::parse_address(&unfolded)?;
    Some(address.domain.to_ascii_lowercase())
}

/// The `h=` list for one message: the entry's own list as given, or the default fields the
/// message has (by name, in the default order) with From once more.
pub fn signed_headers<'a>(
    entry: &SignEntry,
    present: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<String> {
    if !entry.headers.is_empty() {
        return entry.headers.clone();
    }
    let present: Vec<&[u8]> = present.into_iter().map(|n| n.trim_ascii()).collect();
    let mut out: Vec<String> = DEFAULT_SIGNED_HEADERS
        .iter()
        .filter(|d| present.iter().any(|p| p.eq_ignore_ascii_case(d.as_bytes())))
        .map(|d| d.to_string())
        .collect();
    out.push("From".to_string());
    out
}

/// The header fields of a message in order, as (name, value) with the value's folding
/// kept: each field ends at a line break not followed by a blank, the header at the first
/// empty line. A line without `:` is skipped.
pub fn header_fields(message: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < message.len() && !matches!(message[pos], b'\r' | b'\n') {
        let mut end = pos;
        loop {
            match message[end..].iter().position(|&b| b == b'\n') {
                Some(nl) => end += nl + 1,
                None => end = message.len(),
            }
            if end >= message.len() || !matches!(message[end], b' ' | b'\t') {
                break;
            }
        }
        let field = &message[pos..end];
        if let Some(colon) = field.iter().position(|&b| b == b':') {
            out.push((&field[..colon], &field[colon + 1..]));
        }
        pos = end;
    }
    out
}

/// The message as the client engine puts it on the wire before dot-stuffing: bare CR and
/// LF become CRLF and the last line ends with CRLF (the rules of `data::dot_stuff`). DKIM
/// signs these bytes.
pub fn wire_form(message: &[u8]) -> Cow<'_, [u8]> {
    let crlf_only = message.iter().enumerate().all(|(i, &b)| match b {
        b'\r' => message.get(i + 1) == Some(&b'\n'),
        b'\n' => i > 0 && message[i - 1] == b'\r',
        _ => true,
    });
    if crlf_only && (message.is_empty() || message.ends_with(b"\r\n")) {
        return Cow::Borrowed(message);
    }
    let mut out = Vec::with_capacity(message.len() + message.len() / 32 + 2);
    let mut i = 0;
    while i < message.len() {
        match message[i] {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                if message[i] == b'\r' && message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    Cow::Owned(out)
}

/// A domain name or selector: dot-separated labels of letters, digits, `-` and `_`.
fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// An RFC 5322 field name: printable ASCII except `:`.
fn is_field_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<SignEntry> {
        parse_entries(text).unwrap()
    }

    #[test]
    fn entries_parse_with_optional_algorithm_and_headers() {
        let e = entries(
            "{example.com s1 /k/rsa.pem} {Example.ORG ed /k/ed.pem ed25519-sha256} \
             {.sub.example.net s2 k.pem {} {From:To Subject}}",
        );
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].pattern, "example.com");
        assert_eq!(e[0].selector, "s1");
        assert_eq!(e[0].keyfile, "/k/rsa.pem");
        assert_eq!(e[0].algorithm, None);
        assert!(e[0].headers.is_empty());
        assert_eq!(e[1].pattern, "example.org");
        assert_eq!(e[1].algorithm, Some(SignAlgorithm::Ed25519Sha256));
        assert_eq!(e[2].pattern, ".sub.example.net");
        assert_eq!(e[2].signing_domain(), "sub.example.net");
        assert_eq!(e[2].headers, vec!["From", "To", "Subject"]);
        assert!(parse_entries("").unwrap().is_empty());
    }

    #[test]
    fn bad_entries_are_refused_with_a_reason() {
        let err = |t: &str| parse_entries(t).unwrap_err();
        assert!(err("{example.com s1}").contains("must be {domain selector keyfile"));
        assert!(err("{exa_mple..com s1 k}").contains("bad domain"));
        assert!(err("{example.com {s 1} k}").contains("bad selector"));
        assert!(err("{example.com s1 k rsa-sha1}").contains("bad algorithm \"rsa-sha1\""));
        assert!(err("{example.com s1 k {} {To Subject}}").contains("must include From"));
        assert!(err("{example.com s1 k {} {From Bäd}}").contains("bad header name \"Bäd\""));
        assert!(err("{a.com s k} {A.com t k}").contains("listed twice"));
        assert!(err("{example.com s1 k").contains("unmatched open brace"));
        assert!(err("{example.com s1 {} }").contains("no key file"));
    }

    #[test]
    fn exact_domain_wins_over_subdomain_entries() {
        let e = entries("{.example.com a k} {mail.example.com b k} {.eu.example.com c k}");
        assert_eq!(find_entry(&e, "MAIL.example.com").unwrap().selector, "b");
        assert_eq!(find_entry(&e, "x.eu.example.com").unwrap().selector, "c");
        assert_eq!(find_entry(&e, "eu.example.com").unwrap().selector, "a");
        // The bare parent is not a subdomain of itself, nor is a look-alike.
        assert!(find_entry(&e, "example.com").is_none());
        assert!(find_entry(&e, "badexample.com").is_none());
        assert!(find_entry(&e, "other.org").is_none());
        assert_eq!(named_entry(&e, "eu.example.com").unwrap().selector, "c");
        assert!(named_entry(&e, "nosuch.example").is_none());
    }

    #[test]
    fn from_domain_takes_the_first_mailbox_of_the_first_from() {
        let h: Vec<(&[u8], &[u8])> = vec![
            (b"To", b" x@to.example\r\n"),
            (
                b"From",
                b" \"Joe, Q\" (comment)\r\n <Joe@Mail.Example.COM>, b@other.example\r\n",
            ),
            (b"From", b" second@second.example\r\n"),
        ];
        assert_eq!(from_domain(h).as_deref(), Some("mail.example.com"));
        let none: Vec<(&[u8], &[u8])> = vec![(b"From", b" undisclosed\r\n")];
        assert_eq!(from_domain(none), None);
    }

    #[test]
    fn header_fields_keep_folding_and_stop_at_the_body() {
        let m = b"A: 1\r\nB: x\r\n\ty\r\nnocolon\r\nC:z\r\n\r\nD: body\r\n";
        let names: Vec<_> = header_fields(m).into_iter().collect();
        assert_eq!(
            names,
            vec![
                (&b"A"[..], &b" 1\r\n"[..]),
                (b"B", b" x\r\n\ty\r\n"),
                (b"C", b"z\r\n")
            ]
        );
        assert!(header_fields(b"\r\nA: b").is_empty());
        assert_eq!(header_fields(b"A: no end").len(), 1);
    }

    #[test]
    fn default_headers_are_those_present_with_from_oversigned() {
        let e = entries("{example.com s k}");
        let present: Vec<&[u8]> = vec![b"Received", b"subject", b"From", b"To", b"X-Other"];
        assert_eq!(
            signed_headers(&e[0], present),
            vec!["From", "Subject", "To", "From"]
        );
        let own = entries("{example.com s k {} {from date}}");
        assert_eq!(
            signed_headers(&own[0], Vec::<&[u8]>::new()),
            vec!["from", "date"]
        );
    }

    #[test]
    fn wire_form_is_what_dot_stuffing_puts_on_the_wire() {
        use crate::core::data::dot_stuff;
        let cases: &[&[u8]] = &[
            b"A: b\r\n\r\nbody\r\n",
            b"A: b\n\nbody",
            b"A: b\r\n\r\nx\ry\r\n\r",
            b"\nA: b\r\n\r\n.dot\r\n",
            b"",
        ];
        for m in cases {
            let w = wire_form(m);
            // Stuffing the wire form sends the same bytes as stuffing the message.
            assert_eq!(dot_stuff(&w), dot_stuff(m), "{m:?}");
            assert!(w.is_empty() || w.ends_with(b"\r\n"));
        }
        assert!(matches!(wire_form(b"A: b\r\n\r\nok\r\n"), Cow::Borrowed(_)));
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn wire_form_matches_dot_stuffing(m in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(b'a')], 0..40)) {
                use crate::core::data::dot_stuff;
                prop_assert_eq!(dot_stuff(&wire_form(&m)), dot_stuff(&m));
                let w = wire_form(&m);
                let again = wire_form(&w);
                prop_assert_eq!(again.as_ref(), w.as_ref());
            }
        }
    }
}
