//! Session and recipient flags: names and values exactly as the original module had them.

pub const VERIFIED: u32 = 0x1;
pub const LOCAL: u32 = 0x2;
pub const RELAY: u32 = 0x4;
pub const DELIVERED: u32 = 0x8;
pub const ABORT: u32 = 0x10;
pub const VIRUSCHECK: u32 = 0x20;
pub const SPAMCHECK: u32 = 0x40;
pub const NEEDDOMAIN: u32 = 0x100;
pub const SEGV: u32 = 0x1000;
pub const FASTPROXY: u32 = 0x4000;
pub const RESOLVE: u32 = 0x8000;
pub const NEEDHELO: u32 = 0x10000;
pub const GOTHELO: u32 = 0x20000;
pub const GOTMAIL: u32 = 0x40000;
pub const GOTSPAM: u32 = 0x80000;
pub const GOTVIRUS: u32 = 0x100000;
pub const GOTSTARTTLS: u32 = 0x200000;
pub const GOTAUTHPLAIN: u32 = 0x400000;

/// Every named flag.
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

/// A flag's value by name (case-insensitive).
pub fn flag_by_name(name: &str) -> Option<u32> {
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, v)| *v)
}

/// The `flags` config value: comma-separated names (blanks around names are ignored).
/// Returns the bits and the names that are unknown.
pub fn parse_flag_list(s: &str) -> (u32, Vec<String>) {
    let mut bits = 0;
    let mut unknown = Vec::new();
    for name in s
        .split([',', ' ', '\t'])
        .map(str::trim)
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
    fn names_and_lists() {
        assert_eq!(flag_by_name("VERIFIED"), Some(1));
        assert_eq!(flag_by_name("gotvirus"), Some(0x100000));
        assert_eq!(flag_by_name("nope"), None);
        assert_eq!(
            parse_flag_list("needhelo, resolve"),
            (0x18000 | 0x10000, vec![])
        );
        assert_eq!(parse_flag_list("x,local").1, vec!["x".to_string()]);
        assert_eq!(parse_flag_list(""), (0, vec![]));
    }
}
