//! The message parser run after DATA (reference §7): header fields (newest first, as
//! `gethdrs` lists them), the body offset, and `X-Smtpd-File` pseudo headers naming MIME
//! attachments, their names decoded by `mail-parser` (RFC 2231 charsets and continuations,
//! RFC 2047 words).
//!
//! It takes arbitrary bytes (it is fuzzed): no panics, time linear in the message size for
//! each MIME nesting level, and nesting followed at most [`MAX_MIME_DEPTH`] levels deep.
//! Differences from the original: an unquoted `boundary`, `filename` or `name` parameter ends
//! at `;` or a blank (B-21); a MIME delimiter must start a line and carry exactly the
//! boundary (so `--abc` does not also match `--abcd`); the header block ends at the first
//! empty line whether it is CRLF CRLF, LF LF or a mix.
use super::address::parse_address;
use mail_parser::{MessageParser, MimeHeaders};

/// Deepest MIME nesting walked into; deeper parts are not searched for attachment names.
pub const MAX_MIME_DEPTH: usize = 32;

/// Headers whose value is replaced by the (first) address in it, lower-cased.
const ADDRESS_HEADERS: &[&str] = &["sender", "x-sender", "from", "to", "reply-to"];

/// The pseudo header naming an attachment.
pub const FILE_HEADER: &str = "X-Smtpd-File";

/// What [`parse_message`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ParsedMessage {
    /// `(name, value)`, newest first (so a lookup of the first match gives the last
    /// occurrence, as `gethdr` did); `None` for an empty value. `X-Smtpd-File` entries come
    /// first, newest attachment first.
    pub headers: Vec<(String, Option<String>)>,
    /// Byte offset of the body, 0 if no well-formed header block ends in an empty line.
    pub body_offset: usize,
}

/// The end of the line starting at or after `pos`: the index of its `\n`, or `data.len()`.
fn line_end(data: &[u8], pos: usize) -> usize {
    data[pos..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |i| pos + i)
}

/// Where the body starts: after the first empty line (`\n\n`, `\n\r\n`), and after any
/// further CR/LF bytes (blank lines that open the body are skipped, as in the original).
/// `None` if there is no empty line.
fn body_start(data: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut start = loop {
        let nl = i + data.get(i..)?.iter().position(|&b| b == b'\n')?;
        match (data.get(nl + 1), data.get(nl + 2)) {
            (Some(b'\n'), _) => break nl + 2,
            (Some(b'\r'), Some(b'\n')) => break nl + 3,
            _ => i = nl + 1,
        }
    };
    while start < data.len() && matches!(data[start], b'\r' | b'\n') {
        start += 1;
    }
    Some(start)
}

/// One header field: name, unfolded value, and where the next line starts.
struct Field {
    name: String,
    value: Option<String>,
    next: usize,
}

/// Reads the field at `pos` of a header `block`; `None` if the line is not a field (no name
/// of bytes 33..126 directly followed by `:`), which ends the header scan.
fn field_at(block: &[u8], pos: usize) -> Option<Field> {
    let mut end = line_end(block, pos);
    // Folding: a line starting with a blank continues the field.
    while end + 1 < block.len() && matches!(block[end + 1], b' ' | b'\t') {
        end = line_end(block, end + 1);
    }
    let line = &block[pos..end];
    let name_len = line
        .iter()
        .position(|&b| !(33..=126).contains(&b) || b == b':')
        .unwrap_or(line.len());
    if line.get(name_len) != Some(&b':') {
        return None;
    }
    // As the original: every `:`, space and tab after the name is skipped (`X-Two::  v`
    // gives `v`).
    let mut v = name_len;
    while v < line.len() && matches!(line[v], b':' | b' ' | b'\t') {
        v += 1;
    }
    let raw = line[v..].strip_suffix(b"\r").unwrap_or(&line[v..]);
    let value: String = text_or_bytes(raw)
        .chars()
        .map(|c| {
            if matches!(c, '\r' | '\n' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    Some(Field {
        name: text_or_bytes(&line[..name_len]),
        value: (!value.is_empty()).then_some(value),
        next: end + 1,
    })
}

/// Header text for Tcl without loss: UTF-8 when it is, else one character per byte
/// (ISO 8859-1, so `encoding convertto iso8859-1` gives the bytes back), as message bodies.
fn text_or_bytes(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => raw.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The fields of a MIME part's header block, in message order; stops at the first empty
/// or malformed line. Returns the fields and where the part's body starts.
fn part_fields(part: &[u8]) -> (Vec<(String, Option<String>)>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < part.len() {
        if part[pos] == b'\n' {
            return (out, pos + 1);
        }
        if part[pos..].starts_with(b"\r\n") {
            return (out, pos + 2);
        }
        match field_at(part, pos) {
            Some(f) => {
                out.push((f.name, f.value));
                pos = f.next;
            }
            None => {
                // Not a header line: treat the rest as the body.
                return (out, pos);
            }
        }
    }
    (out, part.len())
}

/// A MIME parameter (`boundary`, `filename`, `name`) of a header value: a quoted string
/// (with `\` escapes), or a token up to `;` or a blank. The name is matched whole and
/// case-insensitively (`filename=` is not `name=`). `None` if absent or empty.
pub fn mime_param(value: &str, param: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let key = format!("{}=", param.to_ascii_lowercase());
    let mut from = 0;
    while let Some(i) = lower[from..].find(&key) {
        let at = from + i;
        from = at + key.len();
        let whole_name = at == 0 || matches!(lower.as_bytes()[at - 1], b';' | b' ' | b'\t');
        if !whole_name {
            continue;
        }
        let rest = value[from..].trim_start_matches([' ', '\t']);
        let found = if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            out
        } else {
            rest.split([';', ' ', '\t'])
                .next()
                .unwrap_or("")
                .to_string()
        };
        return (!found.is_empty()).then_some(found);
    }
    None
}

/// If the line `line` (without its line break) is a delimiter for `marker` (`--boundary`),
/// whether it is the closing one (`--boundary--`). Trailing blanks are allowed (RFC 2046).
fn delimiter(line: &[u8], marker: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(marker)?;
    let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
    let (closing, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    rest.iter()
        .all(|&b| b == b' ' || b == b'\t')
        .then_some(closing)
}

/// Walks a multipart body, appending attachment names in message order.
fn walk_mime(body: &[u8], boundary: &str, depth: usize, files: &mut Vec<String>) {
    if depth >= MAX_MIME_DEPTH {
        return;
    }
    let marker = format!("--{boundary}");
    let marker = marker.as_bytes();
    // The parts: from after one delimiter line to the start of the next delimiter line.
    let mut part_start: Option<usize> = None;
    let mut pos = 0;
    while pos < body.len() {
        let end = line_end(body, pos);
        if let Some(closing) = delimiter(&body[pos..end], marker) {
            if let Some(start) = part_start {
                // The line break before a delimiter belongs to the delimiter.
                walk_part(&body[start..pos], depth, files);
            }
            if closing {
                return;
            }
            part_start = Some(end + 1);
        }
        pos = end + 1;
    }
    // No closing delimiter: the last part runs to the end.
    if let Some(start) = part_start.filter(|&s| s < body.len()) {
        walk_part(&body[start..], depth, files);
    }
}

/// One MIME part: its attachment name, then those of a nested multipart.
fn walk_part(part: &[u8], depth: usize, files: &mut Vec<String>) {
    let (fields, body) = part_fields(part);
    let mut file = None;
    let mut nested = None;
    for (name, value) in fields {
        let Some(value) = value else { continue };
        if name.eq_ignore_ascii_case("Content-Disposition") {
            if let Some(f) = mime_param(&value, "filename") {
                file = Some(f);
            }
        } else if name.eq_ignore_ascii_case("Content-Type") {
            if let Some(b) = mime_param(&value, "boundary") {
                nested = Some(b);
            }
            if file.is_none() {
                file = mime_param(&value, "name");
            }
        }
    }
    // The name decoded by mail-parser (RFC 2231 charsets and continuations, RFC 2047
    // words); the hand-read parameter when mail-parser finds none.
    let decoded = MessageParser::new()
        .parse_headers(&part[..body])
        .and_then(|m| m.attachment_name().map(one_line))
        .filter(|n| !n.is_empty());
    files.extend(decoded.or(file));
    if let Some(b) = nested {
        walk_mime(&part[body..], &b, depth + 1, files);
    }
}

/// A decoded name on one line: control characters become blanks, outer blanks go.
fn one_line(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Parses the (dot-unstuffed) message: header fields, body offset, attachment names.
pub fn parse_message(data: &[u8]) -> ParsedMessage {
    parse(data, true)
}

/// The header fields as [`parse_message`] gives them (newest first, no `X-Smtpd-File`
/// entries, MIME parts not walked), but with every value as written (unfolded): `From`, `To` and the other
/// address headers are not reduced to their first address.
pub fn raw_headers(data: &[u8]) -> Vec<(String, Option<String>)> {
    parse(data, false).headers
}

fn parse(data: &[u8], reduce: bool) -> ParsedMessage {
    let Some(start) = body_start(data) else {
        return ParsedMessage::default();
    };
    let block = &data[..start];
    let mut headers = Vec::new();
    let mut body_offset = 0;
    let mut boundary = None;
    let mut pos = 0;
    while pos < start {
        let Some(f) = field_at(block, pos) else { break };
        let mut value = f.value;
        let lname = f.name.to_ascii_lowercase();
        if reduce && ADDRESS_HEADERS.contains(&lname.as_str()) {
            // Only the first address of a list survives, as in the original.
            if let Some(a) = value.as_deref().and_then(parse_address) {
                value = Some(a.addr().to_lowercase());
            }
        } else if lname == "content-type" {
            boundary = value.as_deref().and_then(|v| mime_param(v, "boundary"));
        }
        headers.push((f.name, value));
        let mut after = f.next.min(start);
        while after < start && matches!(block[after], b'\r' | b'\n') {
            after += 1;
        }
        if after >= start {
            body_offset = start;
            break;
        }
        pos = f.next;
    }
    let mut files = Vec::new();
    if let Some(b) = boundary.filter(|_| reduce && body_offset > 0) {
        walk_mime(&data[body_offset..], &b, 0, &mut files);
    }
    let mut all: Vec<(String, Option<String>)> = files
        .into_iter()
        .rev()
        .map(|f| (FILE_HEADER.to_string(), Some(f)))
        .collect();
    all.extend(headers.into_iter().rev());
    ParsedMessage {
        headers: all,
        body_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
            .collect()
    }

    fn parsed(data: &[u8]) -> (usize, Vec<(String, Option<String>)>) {
        let p = parse_message(data);
        (p.body_offset, p.headers)
    }

    fn files(data: &[u8]) -> Vec<String> {
        parse_message(data)
            .headers
            .into_iter()
            .filter(|(n, _)| n == FILE_HEADER)
            .filter_map(|(_, v)| v)
            .collect()
    }

    // Reference §7.3, row by row.

    #[test]
    fn golden_folding_and_addresses() {
        let msg = b"From: John <John@Example.COM>\r\nTo: a@b.c, d@e.f\r\nSubject: hi\r\n there\r\n\r\nbody\r\n";
        assert_eq!(
            parsed(msg),
            (
                72,
                h(&[
                    ("Subject", Some("hi   there")),
                    ("To", Some("a@b.c")),
                    ("From", Some("john@example.com"))
                ])
            )
        );
        assert_eq!(&msg[72..], b"body\r\n");
    }

    #[test]
    fn golden_lf_only() {
        assert_eq!(
            parsed(b"Subject: x\n\nbody\n"),
            (12, h(&[("Subject", Some("x"))]))
        );
    }

    #[test]
    fn golden_empty_value_double_colon_and_blank_lines() {
        let msg = b"Subject: x\r\nX-Empty:\r\nX-Two::  v\r\n\r\n\r\n\r\nbody";
        assert_eq!(
            parsed(msg),
            (
                40,
                h(&[
                    ("X-Two", Some("v")),
                    ("X-Empty", None),
                    ("Subject", Some("x"))
                ])
            )
        );
        assert_eq!(&msg[40..], b"body");
    }

    #[test]
    fn golden_no_headers() {
        for none in [
            &b"no headers here\r\n\r\nbody"[..],
            b"Subject : bad\r\nFrom: a@b\r\n\r\nbody",
            b"Subject: only headers\r\n",
            b"\r\nbody only",
        ] {
            assert_eq!(
                parsed(none),
                (0, vec![]),
                "{:?}",
                String::from_utf8_lossy(none)
            );
        }
    }

    #[test]
    fn golden_repeated_header_newest_first() {
        assert_eq!(
            parsed(b"Subject: a\r\nSubject: b\r\n\r\nx"),
            (26, h(&[("Subject", Some("b")), ("Subject", Some("a"))]))
        );
    }

    #[test]
    fn golden_multipart_files() {
        let msg = b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\nSubject: m\r\n\r\n\
--XYZ\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
--XYZ\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Disposition: attachment; filename=\"doc2.pdf\"\r\n\r\nPDF\r\n\
--XYZ\r\nContent-Type: image/png; name=pic.png\r\n\r\nPNG\r\n--XYZ--\r\n";
        assert_eq!(
            parsed(msg),
            (
                61,
                h(&[
                    (FILE_HEADER, Some("pic.png")),
                    (FILE_HEADER, Some("doc2.pdf")),
                    ("Subject", Some("m")),
                    ("Content-Type", Some("multipart/mixed; boundary=\"XYZ\"")),
                ])
            )
        );
    }

    #[test]
    fn attachment_names_are_decoded_finding_10() {
        let msg = b"Content-Type: multipart/mixed; boundary=B\r\n\r\n\
--B\r\nContent-Disposition: attachment; filename*=UTF-8''caf%C3%A9.pdf\r\n\r\nx\r\n\
--B\r\nContent-Disposition: attachment;\r\n filename*0*=UTF-8''r%C3%A9sum;\r\n filename*1*=%C3%A9.txt\r\n\r\nx\r\n\
--B\r\nContent-Disposition: attachment; filename*0=\"long\"; filename*1=\"name.txt\"\r\n\r\nx\r\n\
--B\r\nContent-Type: application/octet-stream; name=\"=?UTF-8?B?w6l0w6kuYmlu?=\"\r\n\r\nx\r\n\
--B\r\nContent-Disposition: attachment; filename=\"=?ISO-8859-1?Q?na=EFve.txt?=\"\r\n\r\nx\r\n\
--B\r\nContent-Disposition: attachment; filename*=iso-8859-1'en'%E9t%E9.txt\r\n\r\nx\r\n\
--B\r\nContent-Disposition: attachment; filename=plain.txt\r\n\r\nx\r\n--B--\r\n";
        assert_eq!(
            files(msg),
            // Newest first, as every header.
            [
                "plain.txt",
                "été.txt",
                "naïve.txt",
                "été.bin",
                "longname.txt",
                "résumé.txt",
                "café.pdf"
            ]
        );
    }

    #[test]
    fn decoded_names_stay_on_one_line() {
        let msg = b"Content-Type: multipart/mixed; boundary=B\r\n\r\n\
--B\r\nContent-Disposition: attachment; filename*=UTF-8''a%0D%0Ab%09c.txt\r\n\r\nx\r\n--B--\r\n";
        assert_eq!(files(msg), ["a  b c.txt"]);
    }

    #[test]
    fn raw_headers_keep_address_values() {
        let msg = b"From: John <John@Example.COM>\r\nTo: a@b.c,\r\n d@e.f\r\n\
Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: a/b; name=x.bin\r\n\r\nx\r\n--B--\r\n";
        assert_eq!(
            raw_headers(msg),
            h(&[
                ("Content-Type", Some("multipart/mixed; boundary=B")),
                ("To", Some("a@b.c,   d@e.f")),
                ("From", Some("John <John@Example.COM>"))
            ])
        );
        assert_eq!(files(msg), ["x.bin"]);
    }

    #[test]
    fn golden_nested_multipart_fixed_b21() {
        let msg = b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n\
--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n\
--inner\r\nContent-Disposition: attachment; filename=a.txt; size=3\r\n\r\nabc\r\n--inner--\r\n\
--outer--\r\n";
        let (offset, headers) = parsed(msg);
        assert_eq!(offset, 49);
        // The original gave `a.txt; size=3`.
        assert_eq!(
            headers,
            h(&[
                (FILE_HEADER, Some("a.txt")),
                ("Content-Type", Some("multipart/mixed; boundary=outer")),
            ])
        );
    }

    #[test]
    fn golden_unquoted_boundary_with_parameters_fixed_b21() {
        let msg = b"Content-Type: multipart/mixed; boundary=abc; charset=x\r\n\r\n\
--abc\r\nContent-Disposition: attachment; filename=f.bin\r\n\r\nx\r\n--abc--\r\n";
        let (offset, headers) = parsed(msg);
        assert_eq!(offset, 58);
        // The original found no boundary and so no file.
        assert_eq!(
            headers,
            h(&[
                (FILE_HEADER, Some("f.bin")),
                (
                    "Content-Type",
                    Some("multipart/mixed; boundary=abc; charset=x")
                ),
            ])
        );
    }

    #[test]
    fn golden_address_headers() {
        assert_eq!(
            parsed(b"Reply-To: \"Q\" <Q@X.Y>\r\nSender: bogus\r\nX-Sender: <s@t.u>\r\n\r\nb"),
            (
                59,
                h(&[
                    ("X-Sender", Some("s@t.u")),
                    ("Sender", Some("bogus")),
                    ("Reply-To", Some("q@x.y"))
                ])
            )
        );
    }

    #[test]
    fn golden_tabs() {
        assert_eq!(
            parsed(b"Subject:\tTabbed\tvalue\r\n\r\nb"),
            (25, h(&[("Subject", Some("Tabbed value"))]))
        );
    }

    // Beyond the table.

    #[test]
    fn header_details() {
        // An empty name is accepted, as in the original.
        assert_eq!(parsed(b":v\r\n\r\nb"), (6, h(&[("", Some("v"))])));
        // Header names keep their case; address headers match case-insensitively.
        assert_eq!(
            parsed(b"FROM: <A@B.C>\r\n\r\nb").1,
            h(&[("FROM", Some("a@b.c"))])
        );
        // A bad line after good ones ends the scan: earlier headers stay, no offset.
        assert_eq!(
            parsed(b"A: 1\r\nnot a header\r\n\r\nbody"),
            (0, h(&[("A", Some("1"))]))
        );
        // Folding with a tab, and a value that is only blanks.
        assert_eq!(
            parsed(b"A: x\r\n\ty\r\nB:   \r\n\r\nz").1,
            h(&[("B", None), ("A", Some("x   y"))])
        );
        // Mixed line endings: the first empty line ends the block.
        assert_eq!(parsed(b"A: b\n\r\nbody"), (7, h(&[("A", Some("b"))])));
        // Non-UTF-8 bytes are kept, one character per byte; UTF-8 is decoded.
        assert_eq!(
            parsed(b"Subject: caf\xe9\r\n\r\nb").1,
            h(&[("Subject", Some("caf\u{e9}"))])
        );
        assert_eq!(
            parsed(b"Subject: caf\xc3\xa9 \xff\r\n\r\nb").1,
            h(&[("Subject", Some("caf\u{c3}\u{a9} \u{ff}"))])
        );
        assert_eq!(
            parsed("Subject: café\r\n\r\nb".as_bytes()).1,
            h(&[("Subject", Some("café"))])
        );
        // A headers-only message that ends in an empty line has an empty body.
        assert_eq!(parsed(b"A: b\r\n\r\n"), (8, h(&[("A", Some("b"))])));
    }

    #[test]
    fn mime_params() {
        assert_eq!(mime_param("x; boundary=\"\"", "boundary"), None);
        assert_eq!(mime_param("x; xboundary=a", "boundary"), None);
        assert_eq!(mime_param("x; BOUNDARY=Ab", "boundary"), Some("Ab".into()));
        assert_eq!(
            mime_param("x; boundary= ab ;c", "boundary"),
            Some("ab".into())
        );
        assert_eq!(
            mime_param("x;boundary=ab\tc", "boundary"),
            Some("ab".into())
        );
        assert_eq!(
            mime_param("a; filename=\"q\\\"x.txt\"", "filename"),
            Some("q\"x.txt".into())
        );
        assert_eq!(
            mime_param("a; filename=\"open", "filename"),
            Some("open".into())
        );
        assert_eq!(mime_param("a; filename=f.txt", "name"), None);
        assert_eq!(mime_param("a; xname=f; name=g", "name"), Some("g".into()));
        assert_eq!(mime_param("name=first", "name"), Some("first".into()));
    }

    #[test]
    fn mime_delimiters_must_be_exact_lines() {
        // `--XYZ1` is not a delimiter of `XYZ`; neither is `--XYZ` inside a line.
        let msg = b"Content-Type: multipart/mixed; boundary=XYZ\r\n\r\n\
--XYZ\r\nContent-Type: text/plain; name=one.txt\r\n\r\nsee --XYZ\r\n--XYZ1\r\nContent-Type: x; name=fake\r\n\r\n\
--XYZ  \r\nContent-Type: x; name=two.txt\r\n\r\nb\r\n--XYZ-- \r\nepilogue\r\n--XYZ\r\nContent-Type: x; name=after\r\n\r\n";
        assert_eq!(files(msg), ["two.txt", "one.txt"]);
    }

    #[test]
    fn mime_without_closing_delimiter_and_lf_only() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment; filename=x.bin\n\ndata\n--b\nContent-Type: a/b; name=y.bin\n";
        assert_eq!(files(msg), ["y.bin", "x.bin"]);
    }

    #[test]
    fn mime_part_without_headers() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nContent-Type: a; name=not-a-header\r\n\r\n--b--\r\n";
        assert_eq!(files(msg), Vec::<String>::new());
    }

    #[test]
    fn mime_without_top_level_offset_is_not_walked() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\r\nbad line\r\n\r\n--b\r\nContent-Type: a; name=x\r\n\r\n--b--";
        assert_eq!(files(msg), Vec::<String>::new());
    }

    /// A message with `depth` nested multiparts, an attachment at every level.
    fn nested(depth: usize) -> Vec<u8> {
        let mut m = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n".to_vec();
        for i in 0..depth {
            m.extend_from_slice(
                format!(
                    "--b{i}\r\nContent-Type: multipart/mixed; boundary=b{}; name=f{i}\r\n\r\n",
                    i + 1
                )
                .as_bytes(),
            );
        }
        for i in (0..depth).rev() {
            m.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
        }
        m
    }

    #[test]
    fn mime_nesting_is_bounded() {
        let names = files(&nested(5));
        assert_eq!(names, ["f4", "f3", "f2", "f1", "f0"]);
        assert_eq!(files(&nested(MAX_MIME_DEPTH + 10)).len(), MAX_MIME_DEPTH);
        // Far deeper than any stack would allow unbounded.
        assert_eq!(files(&nested(5000)).len(), MAX_MIME_DEPTH);
    }

    #[test]
    fn odd_input_does_not_panic() {
        for m in [
            &b""[..],
            b"\n",
            b"\n\n",
            b"\r\n\r\n",
            b":\n\n",
            b"a:\r\n\r\n",
            b"a:\r\n \r\n\r\n",
            b"a: b\r\n \n\n",
            b"Content-Type: x; boundary=\"\r\n\r\n--",
            b"Content-Type: multipart/x; boundary=b\r\n\r\n--b\r\n--b--",
            b"Content-Type: multipart/x; boundary=b\r\n\r\n--b",
            b"Content-Type: multipart/x; boundary=b\r\n\r\n--b\r\n",
            b"Content-Type: multipart/x; boundary=b\r\n\r\n--b\r\nContent-Type: y; boundary=b\r\n\r\n--b\r\n",
        ] {
            let p = parse_message(m);
            assert!(p.body_offset <= m.len());
        }
    }

    #[test]
    fn large_input_is_fast() {
        // Linear time: a megabyte of header-like lines and one of delimiters-to-be.
        let mut m = b"Content-Type: multipart/mixed; boundary=x\r\n".to_vec();
        m.extend(b"X-A: b\r\n".repeat(100_000));
        m.extend_from_slice(b"\r\n");
        m.extend(b"--x\r\n\r\n".repeat(100_000));
        let p = parse_message(&m);
        assert_eq!(p.headers.len(), 100_001);
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let p = parse_message(&data);
            prop_assert!(p.body_offset <= data.len());
        }

        #[test]
        fn never_panics_on_mail_like_text(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("\r\n"), Just("\n"), Just(" "), Just("\t"), Just(":"), Just("--b"),
                    Just("--b--"), Just("Content-Type: multipart/mixed; boundary=b"),
                    Just("Content-Disposition: attachment; filename="), Just("\""),
                    Just("name="), Just("From: "), Just("a@b"), Just("x"),
                ],
                0..60,
            )
        ) {
            let data = parts.concat();
            let p = parse_message(data.as_bytes());
            prop_assert!(p.body_offset <= data.len());
        }

        #[test]
        fn simple_headers_round_trip(
            fields in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,30}"), 1..8),
            body in "[ -~]{0,40}",
        ) {
            let mut m = String::new();
            for (n, v) in &fields {
                m.push_str(&format!("{n}: {v}\r\n"));
            }
            m.push_str("\r\n");
            let offset = m.len();
            m.push_str(&body);
            let p = parse_message(m.as_bytes());
            prop_assert_eq!(p.body_offset, offset);
            prop_assert_eq!(p.headers.len(), fields.len());
            for ((n, _), (pn, _)) in fields.iter().rev().zip(&p.headers) {
                prop_assert_eq!(n, pn);
            }
        }
    }
}
