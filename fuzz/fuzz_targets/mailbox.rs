//! The strict mailbox parser (src/core/mailbox.rs) behind `ns_smtpd parseemail` and
//! `checkemail`, in both syntaxes.
//!
//! Checks: no panic; a parsed `address` parses again, in the same syntax, to the same
//! local part, domain and address (without a name); the null path only in SMTP syntax.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nssmtpd_fuzz::core::mailbox::{parse, Syntax};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    for syntax in [Syntax::Header, Syntax::Smtp] {
        let Ok(m) = parse(&input, syntax) else {
            continue;
        };
        if m.address == "<>" {
            assert_eq!(syntax, Syntax::Smtp, "null path from {input:?}");
            assert!(m.localpart.is_empty() && m.domain.is_empty());
            continue;
        }
        assert!(!m.domain.is_empty(), "empty domain from {input:?}");
        assert!(
            syntax == Syntax::Header || m.name.is_none(),
            "name in SMTP syntax from {input:?}"
        );
        let again = parse(&m.address, syntax)
            .unwrap_or_else(|e| panic!("{input:?} gave {:?}, which fails: {e}", m.address));
        assert_eq!(again.localpart, m.localpart, "{input:?}");
        assert_eq!(again.domain, m.domain, "{input:?}");
        assert_eq!(again.address, m.address, "{input:?}");
        assert_eq!(again.name, None, "{input:?}");
    }
});
