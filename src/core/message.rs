//! The message parser run after DATA: header fields (newest first, as `gethdrs` lists them),
//! the body offset, and `X-Smtpd-File` pseudo headers naming MIME attachments.
//!
//! Linear in the message size, never panics, MIME nesting bounded.
use super::address::parse_address;

/// Deepest MIME nesting we walk into.
const MAX_MIME_DEPTH: usize = 16;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ParsedMessage {
    /// `(name, value)`, newest first; `None` for an empty value.
    pub headers: Vec<(String, Option<String>)>,
    /// Byte offset of the body, 0 if the header block could not be found.
    pub body_offset: usize,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Where the header block ends (the body starts), skipping blank lines after it.
fn body_start(data: &[u8]) -> Option<usize> {
    let mut start = match find(data, b"\r\n\r\n") {
        Some(i) => i + 4,
        None => find(data, b"\n\n")? + 2,
    };
    while start < data.len() && (data[start] == b'\r' || data[start] == b'\n') {
        start += 1;
    }
    Some(start)
}

/// One header field: name and unfolded value, and where the next field starts.
struct Field {
    name: String,
    value: Option<String>,
    next: usize,
}

/// Reads the field at `pos` inside `block`; `None` where the header block stops being valid.
fn field_at(block: &[u8], pos: usize) -> Option<Field> {
    let mut end = pos;
    loop {
        match block[end..].iter().position(|&b| b == b'\n') {
            Some(i) => end += i,
            None => {
                end = block.len();
                break;
            }
        }
        // Folded continuation lines start with a blank.
        if end + 1 < block.len() && matches!(block[end + 1], b' ' | b'\t') {
            end += 1;
            continue;
        }
        break;
    }
    let line = &block[pos..end];
    let name_len = line
        .iter()
        .position(|&b| !(33..=126).contains(&b) || b == b':')
        .unwrap_or(line.len());
    if line.get(name_len) != Some(&b':') {
        return None;
    }
    let mut v = name_len;
    while v < line.len() && matches!(line[v], b':' | b' ' | b'\t') {
        v += 1;
    }
    let mut raw = &line[v..];
    if raw.last() == Some(&b'\r') {
        raw = &raw[..raw.len() - 1];
    }
    let value: String = String::from_utf8_lossy(raw)
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
        name: String::from_utf8_lossy(&line[..name_len]).into_owned(),
        value: (!value.is_empty()).then_some(value),
        next: end + 1,
    })
}

/// Fields of a header block, in message order.
fn fields(block: &[u8]) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < block.len() {
        if matches!(block[pos], b'\r' | b'\n') {
            break;
        }
        match field_at(block, pos) {
            Some(f) => {
                out.push((f.name, f.value));
                pos = f.next;
            }
            None => break,
        }
    }
    out
}

/// A MIME parameter (`boundary`, `filename`, `name`): quoted, or up to `;` or a blank.
pub fn mime_param(value: &str, param: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let key = format!("{param}=");
    let mut from = 0;
    while let Some(i) = lower[from..].find(&key) {
        let at = from + i;
        // A whole parameter name: start of value or after `;` / blank.
        let boundary_ok = at == 0 || matches!(lower.as_bytes()[at - 1], b';' | b' ' | b'\t');
        from = at + key.len();
        if !boundary_ok {
            continue;
        }
        let rest = value[from..].trim_start();
        let found = if let Some(q) = rest.strip_prefix('"') {
            q.split('"').next().unwrap_or("").to_string()
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

/// Walks a multipart body, collecting attachment names in message order.
fn walk_mime(body: &[u8], boundary: &str, depth: usize, files: &mut Vec<String>) {
    if depth >= MAX_MIME_DEPTH {
        return;
    }
    let marker = format!("--{boundary}");
    let marker = marker.as_bytes();
    // Start of each part: the byte after a marker line.
    let mut starts = Vec::new();
    let mut pos = 0;
    while let Some(i) = find(&body[pos..], marker) {
        let at = pos + i;
        pos = at + marker.len();
        if at > 0 && body[at - 1] != b'\n' {
            continue;
        }
        if body[pos..].starts_with(b"--") {
            starts.push((at, None));
            break;
        }
        let line_end = body[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|n| pos + n + 1);
        starts.push((at, line_end));
    }
    for w in 0..starts.len() {
        let Some(part_start) = starts[w].1 else { break };
        let part_end = starts.get(w + 1).map(|s| s.0).unwrap_or(body.len());
        if part_start >= part_end {
            continue;
        }
        let part = &body[part_start..part_end];
        let header_end = body_start(part).unwrap_or(part.len());
        let mut file = None;
        let mut nested = None;
        for (name, value) in fields(&part[..header_end]) {
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
        if let Some(f) = file {
            files.push(f);
        }
        if let Some(b) = nested {
            walk_mime(&part[header_end.min(part.len())..], &b, depth + 1, files);
        }
    }
}

const ADDRESS_HEADERS: &[&str] = &["sender", "x-sender", "from", "to", "reply-to"];

pub fn parse_message(data: &[u8]) -> ParsedMessage {
    let Some(start) = body_start(data) else {
        return ParsedMessage::default();
    };
    let block = &data[..start];
    let mut headers = Vec::new();
    let mut pos = 0;
    let mut body_offset = 0;
    let mut boundary = None;
    while pos < start {
        let Some(f) = field_at(block, pos) else { break };
        let mut value = f.value;
        let lname = f.name.to_ascii_lowercase();
        if ADDRESS_HEADERS.contains(&lname.as_str()) {
            if let Some(a) = value.as_deref().and_then(parse_address) {
                value = Some(a.addr().to_lowercase());
            }
        } else if lname == "content-type" {
            boundary = value.as_deref().and_then(|v| mime_param(v, "boundary"));
        }
        headers.push((f.name, value));
        let mut after = f.next.min(block.len());
        while after < block.len() && matches!(block[after], b'\r' | b'\n') {
            after += 1;
        }
        if after >= start {
            body_offset = start;
            break;
        }
        pos = f.next;
    }
    let mut files = Vec::new();
    if let Some(b) = boundary {
        if body_offset > 0 {
            walk_mime(&data[body_offset..], &b, 0, &mut files);
        }
    }
    let mut all: Vec<(String, Option<String>)> = files
        .into_iter()
        .rev()
        .map(|f| ("X-Smtpd-File".to_string(), Some(f)))
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

    fn h(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn golden_vectors() {
        let p = parse_message(b"From: John <John@Example.COM>\r\nTo: a@b.c, d@e.f\r\nSubject: hi\r\n there\r\n\r\nbody\r\n");
        assert_eq!(p.body_offset, 72);
        assert_eq!(
            p.headers,
            h(&[
                ("Subject", Some("hi   there")),
                ("To", Some("a@b.c")),
                ("From", Some("john@example.com"))
            ])
        );
        let p = parse_message(b"Subject: x\n\nbody\n");
        assert_eq!(
            (p.body_offset, p.headers),
            (12, h(&[("Subject", Some("x"))]))
        );
        let p = parse_message(b"Subject: x\r\nX-Empty:\r\nX-Two::  v\r\n\r\n\r\n\r\nbody");
        assert_eq!(p.body_offset, 40);
        assert_eq!(
            p.headers,
            h(&[
                ("X-Two", Some("v")),
                ("X-Empty", None),
                ("Subject", Some("x"))
            ])
        );
        for none in [
            &b"no headers here\r\n\r\nbody"[..],
            b"Subject : bad\r\nFrom: a@b\r\n\r\nbody",
            b"Subject: only headers\r\n",
            b"\r\nbody only",
        ] {
            let p = parse_message(none);
            assert_eq!(
                (p.body_offset, p.headers.len()),
                (0, 0),
                "{:?}",
                String::from_utf8_lossy(none)
            );
        }
        let p = parse_message(b"Subject: a\r\nSubject: b\r\n\r\nx");
        assert_eq!(
            (p.body_offset, p.headers),
            (26, h(&[("Subject", Some("b")), ("Subject", Some("a"))]))
        );
        let p = parse_message(
            b"Reply-To: \"Q\" <Q@X.Y>\r\nSender: bogus\r\nX-Sender: <s@t.u>\r\n\r\nb",
        );
        assert_eq!(p.body_offset, 59);
        assert_eq!(
            p.headers,
            h(&[
                ("X-Sender", Some("s@t.u")),
                ("Sender", Some("bogus")),
                ("Reply-To", Some("q@x.y"))
            ])
        );
        let p = parse_message(b"Subject:\tTabbed\tvalue\r\n\r\nb");
        assert_eq!(
            (p.body_offset, p.headers),
            (25, h(&[("Subject", Some("Tabbed value"))]))
        );
    }

    #[test]
    fn mime_attachments() {
        let msg = b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\nSubject: m\r\n\r\n--XYZ\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XYZ\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Disposition: attachment; filename=\"doc2.pdf\"\r\n\r\nPDF\r\n--XYZ\r\nContent-Type: image/png; name=pic.png\r\n\r\nPNG\r\n--XYZ--\r\n";
        let p = parse_message(msg);
        let names: Vec<_> = p
            .headers
            .iter()
            .map(|(n, v)| format!("{n}={}", v.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            names[..3],
            ["X-Smtpd-File=pic.png", "X-Smtpd-File=doc2.pdf", "Subject=m"]
        );
        // Unquoted parameters stop at `;` (fixed in nssmtpd).
        let msg = b"Content-Type: multipart/mixed; boundary=abc; charset=x\r\n\r\n--abc\r\nContent-Disposition: attachment; filename=f.bin; size=3\r\n\r\nx\r\n--abc--\r\n";
        assert_eq!(
            parse_message(msg).headers[0],
            ("X-Smtpd-File".to_string(), Some("f.bin".to_string()))
        );
        // Nested multipart.
        let msg = b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\nContent-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n--inner\r\nContent-Disposition: attachment; filename=a.txt; size=3\r\n\r\nabc\r\n--inner--\r\n--outer--\r\n";
        assert_eq!(
            parse_message(msg).headers[0],
            ("X-Smtpd-File".to_string(), Some("a.txt".to_string()))
        );
    }

    #[test]
    fn odd_input_does_not_panic() {
        for m in [
            &b""[..],
            b"\n\n",
            b":\n\n",
            b"a:\r\n\r\n",
            b"Content-Type: x; boundary=\"\r\n\r\n--",
            b"Content-Type: multipart/x; boundary=b\r\n\r\n--b\r\n--b--",
        ] {
            let _ = parse_message(m);
        }
        assert_eq!(mime_param("x; boundary=\"\"", "boundary"), None);
        assert_eq!(mime_param("x; xboundary=a", "boundary"), None);
    }
}
