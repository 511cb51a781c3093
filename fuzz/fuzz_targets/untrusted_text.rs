//! Text from clients, messages and DNS that reaches logs, headers and option parsers:
//! the event log's field escaping (src/core/eventlog.rs), the I/O diagnostics' input excerpt
//! (src/core/rules/input_kind.rs), the removal of forged Authentication-Results and the
//! DKIM-Signature sizes (src/core/authres.rs), the SPF record rules (src/core/spfrecord.rs)
//! and Tcl lists in option values (src/core/tcllist.rs, src/core/dkim_keys.rs).
//!
//! Checks: no panic; an escaped field has no space, no control character and decodes back
//! to the input; an excerpt is short printable ASCII; stripping our claims never grows the
//! message and a second pass changes nothing; cleaned result fields hold no control
//! character and at most 255 bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nssmtpd_fuzz::core::{authres, dkim_keys, eventlog, rules::input_kind, spfrecord, tcllist};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let escaped = eventlog::escape(&text);
    assert!(
        !escaped.chars().any(|c| c == ' ' || c.is_control()),
        "{escaped:?} from {text:?}"
    );
    if !text.is_empty() {
        assert_eq!(unescape(&escaped), text.as_bytes(), "{escaped:?}");
    }

    let excerpt = input_kind::excerpt(data);
    assert!(excerpt.len() <= 80 * 4 + 3, "{} bytes", excerpt.len());
    assert!(excerpt.bytes().all(|b| b == b' ' || b.is_ascii_graphic()), "{excerpt:?}");

    let stripped = authres::strip_our_results(data, "mx.example");
    assert!(stripped.len() <= data.len());
    assert_eq!(authres::strip_our_results(&stripped, "mx.example"), stripped);
    let _ = authres::field_sizes(data, "DKIM-Signature");

    let cleaned = authres::clean_field(&text);
    assert!(cleaned.len() <= 255 && !cleaned.chars().any(char::is_control));

    let _ = spfrecord::permerror(&[text.to_string()]);
    let _ = tcllist::split(&text);
    let _ = dkim_keys::parse_entries(&text);
});

/// The escaped field's bytes: `\xHH` sequences decoded, everything else as it is.
fn unescape(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1] == b'x' {
            let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}
