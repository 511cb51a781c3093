//! The address parser (src/core/address.rs): SMTP paths and header values from clients,
//! relayed messages and Tcl.
//!
//! Checks: no panic; a found address has a non-empty mailbox and a domain made only of
//! letters, digits, `-`, `[`, `]` and single inner dots; written back with the mailbox
//! quoted (bare and as `"name" <...>`), it parses to the same address.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nssmtpd_fuzz::core::address::{parse_address, Address};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let Some(a) = parse_address(&input) else {
        return;
    };
    assert!(!a.mailbox.is_empty(), "empty mailbox from {input:?}");
    assert!(!a.domain.is_empty(), "empty domain from {input:?}");
    assert!(
        a.domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-[].".contains(&b)),
        "domain {:?} from {input:?}",
        a.domain
    );
    assert!(
        !a.domain.starts_with('.') && !a.domain.ends_with('.') && !a.domain.contains(".."),
        "domain dots {:?} from {input:?}",
        a.domain
    );

    let bare = format!("{}@{}", quoted(&a.mailbox), a.domain);
    let expect = Address {
        display_name: String::new(),
        ..a.clone()
    };
    assert_eq!(
        parse_address(&bare),
        Some(expect),
        "{input:?} written as {bare:?}"
    );

    let named = format!("{} <{bare}>", quoted(&a.display_name));
    assert_eq!(
        parse_address(&named),
        Some(a.clone()),
        "{input:?} written as {named:?}"
    );
});

/// A quoted string: `"` and `\` escaped.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}
