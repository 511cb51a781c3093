//! The header and MIME parser run after DATA (src/core/message.rs), over any bytes a client
//! can send as a message.
//!
//! Checks: no panic; the body offset lies inside the message and after an empty line;
//! header names are printable ASCII without `:` (possibly empty, as in the original), values
//! have no CR or LF; attachment entries come first; and writing the headers back one per
//! line in front of the same body gives the same headers, attachment names and body
//! (address headers are compared by name only: their value is reduced to `mailbox@domain`,
//! which is lossy by design).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nssmtpd_fuzz::core::message::{mime_param, parse_message, FILE_HEADER};

const ADDRESS_HEADERS: &[&str] = &["sender", "x-sender", "from", "to", "reply-to"];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for p in ["boundary", "filename", "name"] {
        if let Some(v) = mime_param(&text, p) {
            assert!(!v.is_empty());
        }
    }

    let parsed = parse_message(data);
    let off = parsed.body_offset;
    assert!(off <= data.len(), "body offset {off} past {}", data.len());
    if off > 0 {
        let head = &data[..off];
        assert!(
            head.windows(2).any(|w| w == b"\n\n") || head.windows(3).any(|w| w == b"\n\r\n"),
            "body offset {off} without an empty line before it"
        );
        assert!(off == data.len() || !matches!(data[off], b'\r' | b'\n'));
    }
    let files = parsed
        .headers
        .iter()
        .take_while(|(n, _)| n == FILE_HEADER)
        .count();
    for (name, value) in &parsed.headers[files..] {
        // An empty name (a line starting with `:`) is accepted, as in the original.
        assert!(
            name.bytes().all(|b| (33..=126).contains(&b) && b != b':'),
            "name {name:?}"
        );
        if let Some(v) = value {
            assert!(!v.is_empty() && !v.contains(['\r', '\n']), "value {v:?}");
        }
    }
    if off == 0 {
        return;
    }

    // Headers one per line (message order), an empty line, the same body.
    let mut again = Vec::new();
    for (name, value) in parsed.headers[files..].iter().rev() {
        again.extend_from_slice(name.as_bytes());
        again.push(b':');
        if let Some(v) = value {
            again.push(b' ');
            again.extend_from_slice(v.as_bytes());
        }
        again.extend_from_slice(b"\r\n");
    }
    again.extend_from_slice(b"\r\n");
    let body_at = again.len();
    again.extend_from_slice(&data[off..]);
    let reparsed = parse_message(&again);
    assert_eq!(
        reparsed.body_offset, body_at,
        "body offset after rewriting the headers"
    );
    assert_eq!(
        reparsed.headers.len(),
        parsed.headers.len(),
        "header count after rewriting"
    );
    assert_eq!(
        parsed.headers[..files],
        reparsed.headers[..files],
        "attachments after rewriting"
    );
    for (a, b) in parsed.headers[files..]
        .iter()
        .zip(&reparsed.headers[files..])
    {
        assert_eq!(a.0, b.0, "header name after rewriting");
        if !ADDRESS_HEADERS.contains(&a.0.to_ascii_lowercase().as_str()) {
            // A value may start with blanks that were a line break right after the colon
            // (`X:\r\n v`, `X:\r: v`); written on one line, they and any `:` after them
            // are skipped like the blanks after the name.
            let start = |v: &Option<String>| {
                v.as_deref()
                    .map(|v| v.trim_start_matches([' ', ':']).to_string())
            };
            let first = start(&a.1).filter(|v| !v.is_empty());
            assert_eq!(first, b.1, "value of {} after rewriting", a.0);
        }
    }
});
