//! The local-network list (reference §13.2): client networks that may relay to any domain.
//! Parses `addr`, `addr/prefix`, `addr/mask` for IPv4 and IPv6, leaves host names to the
//! caller to resolve, and matches client addresses with IPv4 and IPv4-mapped IPv6 as one.
//!
//! Fixes against the original: IPv6 specs such as `2001:db8::1` and `2001:db8::/32` parse
//! (B-39); `/0` means every address (the original read it as a full-length mask); a prefix
//! that is too long is an error instead of an entry that matches nothing; `::ffff:10.0.0.1`
//! is that IPv4 host (the original stored `::/128`); `del` removes the exact entry (B-29).
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a local-network spec was refused. Each variant carries the spec as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListError {
    /// Nothing but blanks.
    Empty,
    /// Neither an IP address nor a host name.
    BadAddress { spec: String, addr: String },
    /// The part after `/` is neither a prefix length nor an address mask.
    BadMask { spec: String, mask: String },
    /// A prefix length beyond the address width.
    PrefixTooLong {
        spec: String,
        prefix: String,
        max: u32,
    },
    /// An IPv4 mask on an IPv6 address or the other way round.
    MaskFamily { spec: String },
    /// A mask whose one bits are not all in front (`255.0.255.0`).
    NonContiguousMask { spec: String, mask: String },
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListError::Empty => f.write_str("invalid network \"\": empty"),
            ListError::BadAddress { spec, addr } => write!(
                f,
                "invalid network \"{spec}\": \"{addr}\" is neither an IP address nor a host name"
            ),
            ListError::BadMask { spec, mask } => write!(
                f,
                "invalid network \"{spec}\": \"{mask}\" is neither a prefix length nor a mask"
            ),
            ListError::PrefixTooLong { spec, prefix, max } => write!(
                f,
                "invalid network \"{spec}\": prefix length {prefix} is longer than {max}"
            ),
            ListError::MaskFamily { spec } => write!(
                f,
                "invalid network \"{spec}\": the mask and the address are of different families"
            ),
            ListError::NonContiguousMask { spec, mask } => write!(
                f,
                "invalid network \"{spec}\": mask {mask} is not contiguous (use a prefix length)"
            ),
        }
    }
}

impl std::error::Error for ListError {}

/// `::ffff:0:0/96`, where IPv4 lives in the IPv6 space.
const V4_MAPPED: u128 = 0xffff << 32;
/// The top 96 bits: an IPv4 network's mask always has them.
const V4_MASK_TOP: u128 = !(u32::MAX as u128);

/// A network: address (already masked) and mask. Both families live in one 128-bit space,
/// IPv4 as IPv4-mapped IPv6, so `10.0.0.0/8` and `::ffff:10.0.0.0/104` are the same network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network {
    addr: u128,
    mask: u128,
}

/// What a `local` spec stands for: a network, or a host name the caller must resolve (each
/// of its addresses then becomes a [`Network::host`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    Net(Network),
    Host(String),
}

/// An address in the common 128-bit space.
fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => V4_MAPPED | u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The 128-bit mask of `prefix` leading one bits.
fn prefix_mask(prefix: u32) -> u128 {
    match prefix {
        0 => 0,
        p => u128::MAX << (128 - p.min(128)),
    }
}

impl Network {
    /// A single address (full-length mask).
    pub fn host(ip: IpAddr) -> Network {
        Network {
            addr: bits(ip),
            mask: u128::MAX,
        }
    }

    /// `ip/prefix`, the prefix counted in bits of `ip`'s family; `None` if it is too long.
    pub fn with_prefix(ip: IpAddr, prefix: u32) -> Option<Network> {
        let (width, offset) = if ip.is_ipv4() { (32, 96) } else { (128, 0) };
        (prefix <= width).then(|| {
            let mask = prefix_mask(prefix + offset);
            Network {
                addr: bits(ip) & mask,
                mask,
            }
        })
    }

    /// True if the network is an IPv4 one (shown and compared as such).
    pub fn is_ipv4(&self) -> bool {
        self.mask & V4_MASK_TOP == V4_MASK_TOP && self.addr & V4_MASK_TOP == V4_MAPPED
    }

    /// Whether `ip` is in the network; an IPv4 client and its IPv4-mapped IPv6 form match alike.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        bits(ip) & self.mask == self.addr
    }
}

/// `addr/mask` in dotted or colon notation, like the original's `local get`:
/// `10.0.0.0/255.0.0.0`, `::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff`.
impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ipv4() {
            write!(
                f,
                "{}/{}",
                Ipv4Addr::from(self.addr as u32),
                Ipv4Addr::from(self.mask as u32)
            )
        } else {
            write!(
                f,
                "{}/{}",
                Ipv6Addr::from(self.addr),
                Ipv6Addr::from(self.mask)
            )
        }
    }
}

/// A host name the caller may resolve: labels of letters, digits, `-` and `_`, with at least
/// one letter (so a mistyped IPv4 address such as `10.0.0` is not sent to the resolver, which
/// would read it as `10.0.0.0`).
fn looks_like_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Parses `addr`, `addr/prefix`, `addr/mask` (IPv4 or IPv6, `[v6]` allowed), or a host name.
/// A bare address is a single host; `/0` is every address of its family (`::/0`: every
/// address); the stored address is masked (`10.1.2.3/16` is `10.1.0.0/255.255.0.0`).
pub fn parse_spec(spec: &str) -> Result<Spec, ListError> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(ListError::Empty);
    }
    let owned = || spec.to_string();
    let (addr_text, mask_text) = match spec.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (spec, None),
    };
    let unbracketed = addr_text
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr_text);
    let ip: IpAddr = match unbracketed.parse() {
        Ok(ip) => ip,
        Err(_) if mask_text.is_none() && looks_like_host_name(addr_text) => {
            return Ok(Spec::Host(addr_text.to_string()))
        }
        Err(_) => {
            return Err(ListError::BadAddress {
                spec: owned(),
                addr: addr_text.to_string(),
            })
        }
    };
    let width = if ip.is_ipv4() { 32 } else { 128 };
    let Some(m) = mask_text else {
        return Ok(Spec::Net(Network::host(ip)));
    };
    let bad_mask = || ListError::BadMask {
        spec: owned(),
        mask: m.to_string(),
    };
    if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) {
        let too_long = || ListError::PrefixTooLong {
            spec: owned(),
            prefix: m.to_string(),
            max: width,
        };
        let prefix: u32 = m.parse().map_err(|_| too_long())?;
        return Network::with_prefix(ip, prefix)
            .map(Spec::Net)
            .ok_or_else(too_long);
    }
    let mask_ip: IpAddr = m.parse().map_err(|_| bad_mask())?;
    if mask_ip.is_ipv4() != ip.is_ipv4() {
        return Err(ListError::MaskFamily { spec: owned() });
    }
    // Only contiguous masks: they are what a prefix length can say, and anything else is
    // almost certainly a typo that would silently match the wrong clients.
    let prefix = match mask_ip {
        IpAddr::V4(v4) => {
            let m32 = u32::from(v4);
            (m32.leading_ones() + m32.trailing_zeros() == 32).then(|| m32.leading_ones())
        }
        IpAddr::V6(v6) => {
            let m128 = u128::from(v6);
            (m128.leading_ones() + m128.trailing_zeros() == 128).then(|| m128.leading_ones())
        }
    };
    let prefix = prefix.ok_or_else(|| ListError::NonContiguousMask {
        spec: owned(),
        mask: m.to_string(),
    })?;
    Network::with_prefix(ip, prefix)
        .map(Spec::Net)
        .ok_or_else(bad_mask)
}

/// A list of networks written as words separated by blanks or commas (`127.0.0.1
/// 10.0.0.0/8, ::1`); host names are not allowed (trust must not depend on DNS).
pub fn parse_list(text: &str) -> Result<LocalNets, String> {
    let mut list = LocalNets::default();
    for word in text.split(|c: char| c.is_whitespace() || c == ',') {
        if word.is_empty() {
            continue;
        }
        match parse_spec(word).map_err(|e| e.to_string())? {
            Spec::Net(net) => list.add(net),
            Spec::Host(h) => return Err(format!("{h} is not an address or network")),
        }
    }
    Ok(list)
}

/// The list, in the order entries were added.
#[derive(Debug, Default, Clone)]
pub struct LocalNets {
    nets: Vec<Network>,
}

impl LocalNets {
    /// Appends a network.
    pub fn add(&mut self, net: Network) {
        self.nets.push(net);
    }

    /// Removes every entry equal to `net` (not merely containing it, B-29); true if one was.
    pub fn del(&mut self, net: &Network) -> bool {
        let before = self.nets.len();
        self.nets.retain(|n| n != net);
        before != self.nets.len()
    }

    /// Replaces the list, keeping the order given.
    pub fn set(&mut self, nets: Vec<Network>) {
        self.nets = nets;
    }

    pub fn clear(&mut self) {
        self.nets.clear();
    }

    /// The entries in list order; their `Display` is the `local get` form.
    pub fn entries(&self) -> &[Network] {
        &self.nets
    }

    /// Whether any entry contains `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> Network {
        match parse_spec(s).unwrap() {
            Spec::Net(n) => n,
            Spec::Host(h) => panic!("host {h}"),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_forms_and_display() {
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/255.0.0.0");
        assert_eq!(net("10.0.0.0/255.0.0.0"), net("10.0.0.0/8"));
        // The stored address is pre-masked.
        assert_eq!(net("10.1.2.3/16").to_string(), "10.1.0.0/255.255.0.0");
        assert_eq!(net("127.0.0.1").to_string(), "127.0.0.1/255.255.255.255");
        assert_eq!(net("127.0.0.1"), net("127.0.0.1/32"));
        assert_eq!(
            net(" 192.168.1.0/24 ").to_string(),
            "192.168.1.0/255.255.255.0"
        );
        // Fixed: /0 is everything (the original made it a host mask).
        assert_eq!(net("0.0.0.0/0").to_string(), "0.0.0.0/0.0.0.0");
        assert_eq!(net("1.2.3.4/0"), net("0.0.0.0/0.0.0.0"));
    }

    #[test]
    fn ipv6_forms_and_display() {
        assert_eq!(
            net("::1").to_string(),
            "::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(net("[::1]"), net("::1"));
        // B-39 fixed: these were rejected.
        assert_eq!(net("2001:db8::/32").to_string(), "2001:db8::/ffff:ffff::");
        assert_eq!(
            net("2001:db8::1").to_string(),
            "2001:db8::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(net("fd00::/8").to_string(), "fd00::/ff00::");
        assert_eq!(
            net("fe80::1").to_string(),
            "fe80::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        // The original ignored this mask.
        assert_eq!(net("::1/64").to_string(), "::/ffff:ffff:ffff:ffff::");
        assert_eq!(net("2001:db8::/ffff:ffff::"), net("2001:db8::/32"));
        assert_eq!(net("::/0").to_string(), "::/::");
        // An IPv4-mapped address is that IPv4 host (the original stored `::/128`).
        assert_eq!(net("::ffff:10.0.0.1"), net("10.0.0.1"));
        assert_eq!(net("::ffff:10.0.0.0/104"), net("10.0.0.0/8"));
        assert_eq!(net("::ffff:10.0.0.0/104").to_string(), "10.0.0.0/255.0.0.0");
    }

    #[test]
    fn host_names_are_left_to_the_caller() {
        assert_eq!(
            parse_spec("localhost").unwrap(),
            Spec::Host("localhost".into())
        );
        assert_eq!(
            parse_spec(" mail-1.example.org ").unwrap(),
            Spec::Host("mail-1.example.org".into())
        );
    }

    #[test]
    fn bad_specs_are_errors() {
        let err = |s: &str| parse_spec(s).unwrap_err();
        assert_eq!(err(""), ListError::Empty);
        assert_eq!(err("  "), ListError::Empty);
        assert!(matches!(
            err("10.0.0.0/33"),
            ListError::PrefixTooLong { max: 32, .. }
        ));
        assert!(matches!(
            err("::/129"),
            ListError::PrefixTooLong { max: 128, .. }
        ));
        assert!(matches!(
            err("::/99999999999999999999"),
            ListError::PrefixTooLong { .. }
        ));
        assert!(matches!(err("1.2.3.4/x"), ListError::BadMask { .. }));
        assert!(matches!(err("1.2.3.4/"), ListError::BadMask { .. }));
        assert!(matches!(err("1.2.3.4/+8"), ListError::BadMask { .. }));
        assert!(matches!(err("1.2.3.4/::"), ListError::MaskFamily { .. }));
        assert!(matches!(err("::1/255.0.0.0"), ListError::MaskFamily { .. }));
        assert!(matches!(
            err("10.0.0.0/255.0.255.0"),
            ListError::NonContiguousMask { .. }
        ));
        for bad in [
            "a b",
            "[::1",
            "10.0.0",
            "1.2.3.4 junk",
            "localhost/24",
            "fe80::1%eth0",
            "a..b",
        ] {
            assert!(matches!(err(bad), ListError::BadAddress { .. }), "{bad}");
        }
        assert_eq!(
            err("10.0.0.0/33").to_string(),
            "invalid network \"10.0.0.0/33\": prefix length 33 is longer than 32"
        );
        assert_eq!(
            err("10.0.0").to_string(),
            "invalid network \"10.0.0\": \"10.0.0\" is neither an IP address nor a host name"
        );
    }

    #[test]
    fn matching() {
        let mut l = LocalNets::default();
        l.add(net("10.0.0.0/8"));
        l.add(net("192.168.1.0/255.255.255.0"));
        l.add(net("2001:db8::/32"));
        l.add(net("::1"));
        assert!(l.contains(ip("10.1.2.3")));
        assert!(!l.contains(ip("11.0.0.1")));
        assert!(l.contains(ip("192.168.1.77")));
        assert!(l.contains(ip("2001:db8::5")));
        assert!(!l.contains(ip("2001:db9::5")));
        // IPv4-mapped IPv6 clients match IPv4 entries.
        assert!(l.contains(ip("::ffff:10.9.9.9")));
        assert!(l.contains(ip("::1")));
        assert!(!l.contains(ip("::2")));
        assert_eq!(
            l.entries()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "10.0.0.0/255.0.0.0",
                "192.168.1.0/255.255.255.0",
                "2001:db8::/ffff:ffff::",
                "::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
            ]
        );
    }

    #[test]
    fn mapped_entries_match_plain_ipv4() {
        let n = net("::ffff:10.0.0.0/104");
        assert!(n.contains(ip("10.200.0.1")));
        assert!(n.contains(ip("::ffff:10.200.0.1")));
        assert!(!n.contains(ip("11.0.0.1")));
    }

    #[test]
    fn zero_prefix_matches_its_family_and_all_v6_matches_everything() {
        let v4 = net("0.0.0.0/0");
        assert!(v4.contains(ip("8.8.8.8")));
        assert!(v4.contains(ip("::ffff:8.8.8.8")));
        assert!(!v4.contains(ip("2001:db8::1")));
        let all = net("::/0");
        assert!(all.contains(ip("2001:db8::1")));
        assert!(all.contains(ip("8.8.8.8")));
    }

    #[test]
    fn list_operations() {
        let mut l = LocalNets::default();
        l.add(net("10.0.0.0/8"));
        l.add(net("10.1.0.0/16"));
        // B-29 fixed: the exact entry goes, not the first one containing it.
        assert!(l.del(&net("10.1.0.0/16")));
        assert_eq!(l.entries(), [net("10.0.0.0/8")]);
        assert!(!l.del(&net("10.1.0.0/16")));
        assert!(!l.del(&net("10.0.0.0/9")));
        // Equal in another spelling.
        assert!(l.del(&net("10.9.9.9/255.0.0.0")));
        assert!(l.entries().is_empty());
        l.set(vec![net("127.0.0.1"), net("0.0.0.0/0")]);
        assert!(l.contains(ip("8.8.8.8")));
        assert_eq!(l.entries()[0], Network::host(ip("127.0.0.1")));
        l.clear();
        assert!(!l.contains(ip("127.0.0.1")));
        assert!(l.entries().is_empty());
    }

    #[test]
    fn constructors() {
        assert_eq!(
            Network::with_prefix(ip("10.1.2.3"), 8),
            Some(net("10.0.0.0/8"))
        );
        assert_eq!(Network::with_prefix(ip("10.1.2.3"), 33), None);
        assert_eq!(Network::with_prefix(ip("::1"), 129), None);
        assert!(Network::host(ip("10.0.0.1")).is_ipv4());
        assert!(Network::host(ip("::ffff:10.0.0.1")).is_ipv4());
        assert!(!Network::host(ip("::1")).is_ipv4());
        assert!(!net("::/0").is_ipv4());
    }

    proptest! {
        #[test]
        fn v4_prefix_agrees_with_arithmetic(a: u32, c: u32, p in 0u32..=32) {
            let n = Network::with_prefix(IpAddr::V4(Ipv4Addr::from(a)), p).unwrap();
            let m = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            let client = Ipv4Addr::from(c);
            prop_assert_eq!(n.contains(IpAddr::V4(client)), (a & m) == (c & m));
            prop_assert_eq!(n.contains(IpAddr::V6(client.to_ipv6_mapped())), (a & m) == (c & m));
            // Display parses back to the same network.
            prop_assert_eq!(net(&n.to_string()), n);
        }

        #[test]
        fn v6_prefix_agrees_with_arithmetic(a: u128, c: u128, p in 0u32..=128) {
            let n = Network::with_prefix(IpAddr::V6(Ipv6Addr::from(a)), p).unwrap();
            let m = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            let client = Ipv6Addr::from(c);
            // A mapped client is compared as its IPv4 self, which is the same bits.
            prop_assert_eq!(n.contains(IpAddr::V6(client)), (a & m) == (c & m));
            prop_assert_eq!(net(&n.to_string()), n);
            prop_assert_eq!(net(&format!("{}/{p}", Ipv6Addr::from(a))), n);
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_spec(&s);
        }
    }
}
