//! The client engine's reply parser (src/core/server_reply.rs), which reads what relays and
//! `ns_smtpd send` peers answer: multi-line replies, bounded.
//!
//! Checks: no panic; a reply has a code in 200..=599 and 1..=MAX_LINES lines and ends at a
//! line feed; the result does not depend on how much of the stream has arrived (a prefix
//! ending before the reply is Incomplete, any longer buffer gives the same reply, and an
//! Invalid stays Invalid); a reply written back as `code-text` / `code text` lines parses
//! to itself; the helpers (`joined`, `enhanced`, `keywords`) do not panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nssmtpd_fuzz::core::server_reply::{parse_reply, ReplyParse, MAX_LINE, MAX_LINES};

fuzz_target!(|data: &[u8]| {
    let (Some(&cut), rest) = (data.first(), data.get(1..).unwrap_or_default()) else {
        return;
    };
    let result = parse_reply(rest);
    let at = usize::from(cut) * rest.len() / 256;
    let prefix = parse_reply(&rest[..at]);
    match &result {
        ReplyParse::Done(reply, used) => {
            let used = *used;
            assert!(
                used <= rest.len() && rest[used - 1] == b'\n',
                "reply ends at {used}"
            );
            assert!((200..600).contains(&reply.code), "code {}", reply.code);
            assert!(!reply.lines.is_empty() && reply.lines.len() <= MAX_LINES);
            if at < used {
                assert_eq!(prefix, ReplyParse::Incomplete, "prefix of {at} bytes");
            } else {
                assert_eq!(&prefix, &result, "prefix of {at} bytes");
            }
            // Written back (a line made longer by U+FFFD for invalid UTF-8 may not fit).
            let mut wire = Vec::new();
            for (i, line) in reply.lines.iter().enumerate() {
                let sep = if i + 1 == reply.lines.len() { ' ' } else { '-' };
                wire.extend_from_slice(format!("{}{sep}{line}\r\n", reply.code).as_bytes());
            }
            if reply.lines.iter().all(|l| l.len() + 4 <= MAX_LINE) {
                assert_eq!(
                    parse_reply(&wire),
                    ReplyParse::Done(reply.clone(), wire.len()),
                    "{wire:?}"
                );
            }
            let _ = reply.joined();
            if let Some(e) = reply.enhanced() {
                assert!(
                    reply.lines[0].trim_start().starts_with(e),
                    "enhanced code {e:?}"
                );
                assert_eq!(e.split('.').count(), 3, "enhanced code {e:?}");
            }
            for (key, _) in reply.keywords() {
                assert_eq!(key, key.to_ascii_uppercase());
            }
        }
        ReplyParse::Incomplete => {
            assert_eq!(prefix, ReplyParse::Incomplete, "prefix of {at} bytes")
        }
        ReplyParse::Invalid(_) => assert!(
            matches!(prefix, ReplyParse::Incomplete | ReplyParse::Invalid(_)),
            "prefix of {at} bytes: {prefix:?}"
        ),
    }
});
