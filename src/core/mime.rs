//! A whole message decoded for a reader (the test sink, `ns_smtpd parsemessage`): header
//! fields in order with RFC 2047 words decoded, the subject, the first text/plain and
//! text/html bodies in UTF-8, the attachments with their decoded names and bytes, and the
//! RFC violations in the raw bytes that a test may want to assert on.
//!
//! The MIME work is Stalwart's `mail-parser`, which copes with what real clients send
//! (folded multipart headers, RFC 2231 names, many charsets); this module only chooses what
//! to take from it and checks the raw bytes itself. Unlike `message`, which must reproduce
//! the original module's `gethdr` view, nothing here is compatibility-bound.
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::parsers::MessageStream;
use mail_parser::{
    Encoding, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

/// RFC 5322 §2.1.1: a line is at most 998 characters without its CRLF.
pub const MAX_LINE: usize = 998;

/// An RFC violation seen in a message, by its code in the Tcl dict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A LF without CR before it (RFC 5321 §2.3.8).
    BareLf,
    /// A CR without LF after it.
    BareCr,
    /// A NUL byte (RFC 5322 §3.5 forbids it in a message).
    Nul,
    /// No `Date:` (required, RFC 5322 §3.6).
    MissingDate,
    /// No `From:` (required, RFC 5322 §3.6).
    MissingFrom,
    /// No `Message-ID:` (should be present, RFC 5322 §3.6.4).
    MissingMessageId,
    /// Bytes above 127 while the envelope declared neither `BODY=8BITMIME` nor `SMTPUTF8`
    /// (RFC 6152).
    EightBitWithout8BitMime,
    /// A line longer than [`MAX_LINE`] (RFC 5322 §2.1.1).
    LongLine,
}

impl Problem {
    pub fn code(self) -> &'static str {
        match self {
            Problem::BareLf => "bare-lf",
            Problem::BareCr => "bare-cr",
            Problem::Nul => "nul",
            Problem::MissingDate => "missing-date",
            Problem::MissingFrom => "missing-from",
            Problem::MissingMessageId => "missing-message-id",
            Problem::EightBitWithout8BitMime => "8bit-without-8bitmime",
            Problem::LongLine => "long-line",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// RFC 2231 / RFC 2047 decoded; empty when the part names no file.
    pub filename: String,
    /// `type/subtype`, lower-case.
    pub content_type: String,
    /// The part's bytes after its transfer encoding is undone (no charset conversion).
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The top-level header fields in message order: the name as written, the value
    /// unfolded, trimmed and RFC 2047 decoded.
    pub headers: Vec<(String, String)>,
    /// The first `Subject:`, decoded; empty without one.
    pub subject: String,
    /// The first text/plain body part, in UTF-8 with LF line ends; empty without one.
    pub text: String,
    /// The first text/html body part, likewise.
    pub html: String,
    pub attachments: Vec<Attachment>,
    /// Each problem once, in the order of [`Problem`].
    pub problems: Vec<Problem>,
}

/// Decodes `raw` (a message as received, without dot-stuffing). `eight_bit` says whether
/// the envelope allowed 8-bit data (`BODY=8BITMIME` or `SMTPUTF8`).
pub fn decode(raw: &[u8], eight_bit: bool) -> Decoded {
    // Content-Type and friends must be parsed structurally for the MIME tree; every other
    // field as unstructured text, which decodes RFC 2047 words.
    let parser = MessageParser::new()
        .with_mime_headers()
        .default_header_text();
    let mut out = Decoded::default();
    if let Some(message) = parser.parse(raw) {
        out.headers = headers(raw, message.root_part());
        out.text = first_body(&message, &message.text_body, false);
        out.html = first_body(&message, &message.html_body, true);
        out.attachments = message
            .attachments
            .iter()
            .filter_map(|&id| message.parts.get(id as usize))
            .map(|part| attachment(raw, part))
            .collect();
    }
    out.subject = first_header(&out.headers, "subject")
        .unwrap_or_default()
        .to_string();
    out.problems = problems(raw, &out.headers, eight_bit);
    out
}

fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A part's header fields: names as the message spells them (mail-parser gives known names
/// in its own spelling), values re-read from the raw bytes so that every field, structured
/// or not, is shown the same way.
fn headers(raw: &[u8], part: &MessagePart) -> Vec<(String, String)> {
    part.headers
        .iter()
        .filter_map(|h| {
            // A line without a colon is no field, though mail-parser makes it one.
            let field = slice(raw, h.offset_field, h.offset_start);
            let colon = field.iter().position(|&b| b == b':')?;
            let name = String::from_utf8_lossy(&field[..colon]).trim().to_string();
            let value = slice(raw, h.offset_start, h.offset_end);
            let value = match MessageStream::new(value).parse_unstructured() {
                HeaderValue::Text(t) => t.trim().to_string(),
                _ => String::new(),
            };
            Some((name, value))
        })
        .collect()
}

/// `raw[start..end]`, empty if the offsets do not fit (they come from the parser).
fn slice(raw: &[u8], start: u32, end: u32) -> &[u8] {
    raw.get(start as usize..end as usize).unwrap_or_default()
}

/// The first body part of the wanted kind. mail-parser lists an HTML part among the text
/// bodies too (and the other way round) when the message has no alternative; that
/// stand-in is not what the sender wrote, so only a part of the right type counts.
fn first_body(message: &Message, ids: &[u32], html: bool) -> String {
    ids.iter()
        .filter_map(|&id| message.parts.get(id as usize))
        .find_map(|part| match (&part.body, html) {
            (PartType::Text(t), false) | (PartType::Html(t), true) => Some(t),
            _ => None,
        })
        .map(|t| t.replace("\r\n", "\n"))
        .unwrap_or_default()
}

fn attachment(raw: &[u8], part: &MessagePart) -> Attachment {
    let content_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "text/plain".to_string())
        .to_ascii_lowercase();
    let data = match &part.body {
        PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
        // Text parts were converted to UTF-8 from their charset; an attachment's bytes are
        // what the sender encoded, so undo only the transfer encoding of the raw body. An
        // attached message is its raw bytes too (mail-parser keeps the whole outer buffer).
        PartType::Text(_) | PartType::Html(_) | PartType::Message(_) => {
            transfer_decoded(slice(raw, part.offset_body, part.offset_end), part.encoding)
        }
        PartType::Multipart(_) => Vec::new(),
    };
    Attachment {
        filename: part.attachment_name().unwrap_or_default().to_string(),
        content_type,
        data,
    }
}

fn transfer_decoded(body: &[u8], encoding: Encoding) -> Vec<u8> {
    let decoded = match encoding {
        Encoding::Base64 => base64_decode(body),
        Encoding::QuotedPrintable => quoted_printable_decode(body),
        Encoding::None => None,
    };
    decoded.unwrap_or_else(|| body.to_vec())
}

/// The problems of the raw bytes and of the top-level header.
fn problems(raw: &[u8], headers: &[(String, String)], eight_bit: bool) -> Vec<Problem> {
    let mut found = Vec::new();
    let mut line_len = 0;
    let mut long_line = false;
    for (i, &b) in raw.iter().enumerate() {
        match b {
            b'\n' => {
                if i == 0 || raw[i - 1] != b'\r' {
                    found.push(Problem::BareLf);
                }
                line_len = 0;
            }
            b'\r' if raw.get(i + 1) != Some(&b'\n') => {
                found.push(Problem::BareCr);
                line_len = 0;
            }
            b'\r' => {}
            _ => {
                line_len += 1;
                long_line |= line_len > MAX_LINE;
            }
        }
    }
    if raw.contains(&0) {
        found.push(Problem::Nul);
    }
    for (name, problem) in [
        ("date", Problem::MissingDate),
        ("from", Problem::MissingFrom),
        ("message-id", Problem::MissingMessageId),
    ] {
        if first_header(headers, name).is_none() {
            found.push(problem);
        }
    }
    if !eight_bit && raw.iter().any(|&b| b >= 0x80) {
        found.push(Problem::EightBitWithout8BitMime);
    }
    if long_line {
        found.push(Problem::LongLine);
    }
    found.sort_by_key(|p| *p as u8);
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crlf(text: &str) -> Vec<u8> {
        text.replace('\n', "\r\n").into_bytes()
    }

    const HEAD: &str = "Date: Sun, 22 Nov 2026 12:00:00 +0000\nFrom: a@example.com\n\
                        Message-ID: <1@example.com>\n";

    #[test]
    fn headers_in_order_unfolded_and_decoded() {
        let raw = crlf(
            "Subject: =?UTF-8?B?R3LDvMOfZQ==?= aus\n =?ISO-8859-1?Q?M=FCnchen?=\n\
             From: =?utf-8?q?J=C3=B6rg?= <j@example.com>\nX-Two: one\nx-two: two\n\
             Content-Type: text/plain;\n charset=utf-8\n\nbody\n",
        );
        let d = decode(&raw, true);
        assert_eq!(
            d.headers,
            [
                ("Subject", "Grüße aus München"),
                ("From", "Jörg <j@example.com>"),
                ("X-Two", "one"),
                ("x-two", "two"),
                ("Content-Type", "text/plain; charset=utf-8"),
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()))
        );
        assert_eq!(d.subject, "Grüße aus München");
        assert_eq!(d.text, "body\n");
        assert_eq!(d.html, "");
    }

    #[test]
    fn multipart_alternative_with_attachments() {
        let raw = crlf(&format!(
            "{HEAD}Subject: m\nMIME-Version: 1.0\n\
             Content-Type: multipart/mixed;\n boundary=\"outer\"\n\n\
             --outer\nContent-Type: multipart/alternative; boundary=inner\n\n\
             --inner\nContent-Type: text/plain; charset=iso-8859-1\n\
             Content-Transfer-Encoding: quoted-printable\n\ncaf=E9\n\
             --inner\nContent-Type: text/html; charset=utf-8\n\n<p>caf\u{e9}</p>\n\
             --inner--\n\
             --outer\nContent-Type: application/octet-stream\n\
             Content-Disposition: attachment; filename*=utf-8''%C3%A9t%C3%A9.bin\n\
             Content-Transfer-Encoding: base64\n\nAP8NCi4NCkE=\n\
             --outer\nContent-Type: text/plain; charset=iso-8859-1; name=\"=?utf-8?q?r=C3=A9sum=C3=A9?=.txt\"\n\
             Content-Disposition: attachment\nContent-Transfer-Encoding: quoted-printable\n\n\
             caf=E9\n\
             --outer--\n"
        ));
        let d = decode(&raw, true);
        // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
        assert_eq!(d.text, "café");
        assert_eq!(d.html, "<p>café</p>");
        assert_eq!(d.attachments.len(), 2);
        let a = &d.attachments[0];
        assert_eq!(a.filename, "été.bin");
        assert_eq!(a.content_type, "application/octet-stream");
        assert_eq!(a.data, b"\x00\xff\r\n.\r\nA");
        let b = &d.attachments[1];
        assert_eq!(b.filename, "résumé.txt");
        assert_eq!(b.content_type, "text/plain");
        // The sender's bytes (ISO-8859-1), not the text converted to UTF-8.
        assert_eq!(b.data, b"caf\xe9");
        assert_eq!(d.problems, []);
    }

    #[test]
    fn html_only_message_has_no_text() {
        let raw = crlf(&format!(
            "{HEAD}Content-Type: text/html; charset=utf-8\n\n<b>hi</b>\n"
        ));
        let d = decode(&raw, false);
        assert_eq!((d.text.as_str(), d.html.as_str()), ("", "<b>hi</b>\n"));
    }

    #[test]
    fn text_only_message_has_no_html() {
        let d = decode(&crlf(&format!("{HEAD}\nhello\n")), false);
        assert_eq!((d.text.as_str(), d.html.as_str()), ("hello\n", ""));
        assert_eq!(d.problems, []);
    }

    #[test]
    fn attached_message_is_its_raw_bytes() {
        let inner = "Subject: inner\r\n\r\nhi\r\n";
        let raw = crlf(&format!(
            "{HEAD}Content-Type: multipart/mixed; boundary=b\n\n--b\n\ntext\n--b\n\
             Content-Type: message/rfc822\nContent-Disposition: attachment; filename=fw.eml\n\n"
        ))
        .into_iter()
        .chain(inner.bytes())
        .chain(b"--b--\r\n".iter().copied())
        .collect::<Vec<u8>>();
        let d = decode(&raw, false);
        assert_eq!(d.attachments.len(), 1);
        assert_eq!(d.attachments[0].filename, "fw.eml");
        assert_eq!(d.attachments[0].content_type, "message/rfc822");
        assert_eq!(d.attachments[0].data, b"Subject: inner\r\n\r\nhi");
    }

    #[test]
    fn problems_of_the_raw_bytes() {
        let d = decode(
            b"Subject: x\nTo: b@example.com\n\nbare\rcr\0nul \xc3\xa9\n",
            false,
        );
        assert_eq!(
            d.problems,
            [
                Problem::BareLf,
                Problem::BareCr,
                Problem::Nul,
                Problem::MissingDate,
                Problem::MissingFrom,
                Problem::MissingMessageId,
                Problem::EightBitWithout8BitMime,
            ]
        );
        let codes: Vec<&str> = d.problems.iter().map(|p| p.code()).collect();
        assert_eq!(codes[..3], ["bare-lf", "bare-cr", "nul"]);
        // 8-bit is fine once the envelope said so.
        let ok = crlf(&format!("{HEAD}\ncaf\u{e9}\n"));
        assert_eq!(decode(&ok, true).problems, []);
        assert_eq!(
            decode(&ok, false).problems,
            [Problem::EightBitWithout8BitMime]
        );
    }

    #[test]
    fn long_lines_count_octets_without_the_line_end() {
        let at_limit = crlf(&format!("{HEAD}\n{}\n", "x".repeat(MAX_LINE)));
        assert_eq!(decode(&at_limit, false).problems, []);
        let over = crlf(&format!("{HEAD}\n{}\nshort\n", "x".repeat(MAX_LINE + 1)));
        assert_eq!(decode(&over, false).problems, [Problem::LongLine]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_keeps_problems_unique(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            eight_bit in proptest::prelude::any::<bool>(),
        ) {
            let d = decode(&data, eight_bit);
            let mut unique = d.problems.clone();
            unique.dedup();
            proptest::prop_assert_eq!(unique, d.problems);
        }
    }

    #[test]
    fn nothing_to_parse() {
        for raw in [&b""[..], b"\r\n", b"no header here", b"\xff\xfe\x00"] {
            let d = decode(raw, true);
            assert!(d.headers.is_empty() && d.attachments.is_empty());
            assert!(d.problems.contains(&Problem::MissingFrom), "{raw:?}");
        }
    }
}
