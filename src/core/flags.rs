//! Session and recipient flags: the bit values and names of the original module (reference §2),
//! name lookup for `ns_smtpd flag`, and the comma-separated `flags` configuration value.
//!
//! One flag word exists per session and one per recipient; both use these bits. The values
//! are part of the Tcl API (scripts test them with `expr`), so they never change.

/// Recipient approved for relaying to the smarthost (set by rcptproc).
pub const VERIFIED: u32 = 0x1;
/// Client address is in the local-network list: may relay to any domain.
pub const LOCAL: u32 = 0x2;
/// Recipient domain is in the relay-domain list.
pub const RELAY: u32 = 0x4;
/// Recipient was handed to the relay.
pub const DELIVERED: u32 = 0x8;
/// Close the session after the current reply.
pub const ABORT: u32 = 0x10;
/// Scan the message for viruses.
pub const VIRUSCHECK: u32 = 0x20;
/// Check the message for spam for this recipient.
pub const SPAMCHECK: u32 = 0x40;
/// The MAIL FROM domain must resolve.
pub const NEEDDOMAIN: u32 = 0x100;
/// Install the crash trap (accepted for compatibility).
pub const SEGV: u32 = 0x1000;
/// Do not buffer the body when every recipient is relayed.
pub const FASTPROXY: u32 = 0x4000;
/// Check the client's reverse DNS at connect.
pub const RESOLVE: u32 = 0x8000;
/// MAIL requires a prior HELO/EHLO.
pub const NEEDHELO: u32 = 0x10000;
/// HELO/EHLO seen.
pub const GOTHELO: u32 = 0x20000;
/// MAIL FROM accepted: a transaction is open.
pub const GOTMAIL: u32 = 0x40000;
/// Spam detected for this recipient.
pub const GOTSPAM: u32 = 0x80000;
/// Virus detected in the message.
pub const GOTVIRUS: u32 = 0x100000;
/// TLS active (server side) or STARTTLS advertised (relay side). Unnamed in the original.
pub const GOTSTARTTLS: u32 = 0x200000;
/// The relay advertised AUTH PLAIN. Unnamed in the original.
pub const GOTAUTHPLAIN: u32 = 0x400000;

/// Every named flag, in the order of the original's table.
pub const NAMES: &[(&str, u32)] = &[
    ("verified", VERIFIED),
    ("local", LOCAL),
    ("relay", RELAY),
    ("delivered", DELIVERED),
    ("abort", ABORT),
    ("viruscheck", VIRUSCHECK),
    ("spamcheck", SPAMCHECK),
    ("needdomain", NEEDDOMAIN),
    ("segv", SEGV),
    ("fastproxy", FASTPROXY),
    ("resolve", RESOLVE),
    ("needhelo", NEEDHELO),
    ("gothelo", GOTHELO),
    ("gotmail", GOTMAIL),
    ("gotspam", GOTSPAM),
    ("gotvirus", GOTVIRUS),
    ("gotstarttls", GOTSTARTTLS),
    ("gotauthplain", GOTAUTHPLAIN),
];

/// A flag's value by name, case-insensitively; `None` for an unknown name.
pub fn flag_by_name(name: &str) -> Option<u32> {
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// The names of the bits set in `bits`, in table order (for logs and `dump`).
pub fn flag_names(bits: u32) -> Vec<&'static str> {
    NAMES
        .iter()
        .filter(|(_, v)| bits & v != 0)
        .map(|(n, _)| *n)
        .collect()
}

/// The `flags` config value: names separated by commas. Blanks around names are ignored
/// (the original did not trim, so `needhelo, resolve` silently lost `resolve`), and so are
/// empty items; blanks also separate names, since Tcl users naturally write lists.
/// Returns the bits and the unknown names, so the caller can warn or refuse.
pub fn parse_flag_list(s: &str) -> (u32, Vec<String>) {
    let mut bits = 0;
    let mut unknown = Vec::new();
    for name in s
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
    {
        match flag_by_name(name) {
            Some(v) => bits |= v,
            None => unknown.push(name.to_string()),
        }
    }
    (bits, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_the_original() {
        let expected: &[(&str, u32)] = &[
            ("verified", 1),
            ("local", 2),
            ("relay", 4),
            ("delivered", 8),
            ("abort", 16),
            ("viruscheck", 32),
            ("spamcheck", 64),
            ("needdomain", 256),
            ("segv", 4096),
            ("fastproxy", 16384),
            ("resolve", 32768),
            ("needhelo", 65536),
            ("gothelo", 131072),
            ("gotmail", 262144),
            ("gotspam", 524288),
            ("gotvirus", 1048576),
            ("gotstarttls", 2097152),
            ("gotauthplain", 4194304),
        ];
        assert_eq!(NAMES, expected);
    }

    #[test]
    fn bits_are_distinct() {
        let mut all = 0;
        for (name, v) in NAMES {
            assert_eq!(v.count_ones(), 1, "{name}");
            assert_eq!(all & v, 0, "{name}");
            all |= v;
        }
    }

    #[test]
    fn lookup_is_case_insensitive_and_exact() {
        assert_eq!(flag_by_name("verified"), Some(VERIFIED));
        assert_eq!(flag_by_name("VERIFIED"), Some(VERIFIED));
        assert_eq!(flag_by_name("NeedHelo"), Some(NEEDHELO));
        assert_eq!(flag_by_name("gotvirus"), Some(0x100000));
        assert_eq!(flag_by_name("gotstarttls"), Some(0x200000));
        assert_eq!(flag_by_name("GOTAUTHPLAIN"), Some(0x400000));
        for bad in ["nope", "", " verified", "verified ", "verify", "1"] {
            assert_eq!(flag_by_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_of_bits() {
        assert_eq!(flag_names(0), Vec::<&str>::new());
        assert_eq!(flag_names(RELAY | VERIFIED), vec!["verified", "relay"]);
        assert_eq!(flag_names(0x800), Vec::<&str>::new());
    }

    #[test]
    fn config_lists() {
        assert_eq!(parse_flag_list(""), (0, vec![]));
        assert_eq!(parse_flag_list("needhelo"), (NEEDHELO, vec![]));
        // Trimmed around names (the original yielded the unknown name " resolve").
        assert_eq!(
            parse_flag_list("needhelo, resolve"),
            (NEEDHELO | RESOLVE, vec![])
        );
        assert_eq!(
            parse_flag_list(" NeedDomain ,\tFASTPROXY ,"),
            (NEEDDOMAIN | FASTPROXY, vec![])
        );
        assert_eq!(parse_flag_list("segv resolve"), (SEGV | RESOLVE, vec![]));
        assert_eq!(parse_flag_list(",,"), (0, vec![]));
        assert_eq!(
            parse_flag_list("x,local, bogus "),
            (LOCAL, vec!["x".to_string(), "bogus".to_string()])
        );
    }
}
