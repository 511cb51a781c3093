//! Values Tcl hands to the core through `ns_smtpd` and its configuration: `setreply` texts
//! (src/core/reply.rs), flag lists (flags.rs), local networks (localnet.rs), relay domains
//! (relaydomains.rs) and relay targets (relay_target.rs).
//!
//! Checks: no panic; a callback reply is CRLF lines with no other control character, so a
//! Tcl string cannot put a bare CR or LF on the wire; what each list parser accepts, written
//! back the way `info`/`dump` show it, parses to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nssmtpd_fuzz::core::flags::{flag_names, parse_flag_list};
use nssmtpd_fuzz::core::localnet::{parse_spec, Spec};
use nssmtpd_fuzz::core::relay_target::RelayTarget;
use nssmtpd_fuzz::core::relaydomains::parse_entry;
use nssmtpd_fuzz::core::reply::Reply;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    if let Some(reply) = Reply::from_callback(&text) {
        assert!((200..600).contains(&reply.code()));
        let wire = reply.as_bytes();
        assert!(wire.is_empty() || wire.ends_with(b"\r\n"), "{wire:?}");
        for line in wire.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let body = line.strip_suffix(b"\r").expect("line without CR before LF");
            let body = String::from_utf8(body.to_vec()).expect("reply is UTF-8");
            assert!(
                !body.chars().any(char::is_control),
                "control character in {body:?}"
            );
        }
    }

    let (bits, unknown) = parse_flag_list(&text);
    assert_eq!(parse_flag_list(&flag_names(bits).join(",")), (bits, vec![]));
    for name in &unknown {
        assert!(
            !name.is_empty() && !name.contains([',', ' ', '\t', '\n']),
            "{name:?}"
        );
    }

    if let Ok(Spec::Net(net)) = parse_spec(&text) {
        assert_eq!(
            parse_spec(&net.to_string()),
            Ok(Spec::Net(net)),
            "{text:?} shown as {net}"
        );
    }

    if let Ok(entry) = parse_entry(&text) {
        assert_eq!(
            parse_entry(&entry.to_string()).as_ref(),
            Ok(&entry),
            "{text:?} shown as {entry}"
        );
    }

    if let Ok(target) = RelayTarget::parse(&text) {
        assert!(!target.host.is_empty(), "{text:?}");
        let again = RelayTarget::parse(&target.to_string()).expect("shown relay parses");
        assert_eq!(
            (&again.host, again.port),
            (&target.host, target.port),
            "{text:?}"
        );
    }
});
