//! The relay-domain list (reference §13.1): the domains we accept mail for, each optionally
//! with its own next hop (`domain[:host[:port]]`, or `domain:[v6]:port`), and the rule that
//! decides which entry covers a recipient domain.
//!
//! Fixes against the original: matching is case-insensitive (an upper-case entry never
//! matched on the SMTP path), an empty domain is refused instead of read out of bounds,
//! a bad port is an error instead of silently becoming 25, `del` works (B-27) and `get`
//! prints `domain:host:port` with the colon (B-28).
use std::fmt;
use std::net::IpAddr;

/// Why a relay-domain entry was refused. Each variant carries the entry as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListError {
    /// Nothing before the first `:`.
    EmptyDomain { entry: String },
    /// The domain has characters or empty labels a domain cannot have.
    BadDomain { entry: String, domain: String },
    /// `domain:` or `domain::port`.
    EmptyHost { entry: String },
    /// The host has characters a host name cannot have, or `[...]` is not an IP address.
    BadHost { entry: String, host: String },
    /// The port is not a number from 1 to 65535.
    BadPort { entry: String, port: String },
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListError::EmptyDomain { entry } => {
                write!(f, "invalid relay domain \"{entry}\": the domain is empty")
            }
            ListError::BadDomain { entry, domain } => write!(
                f,
                "invalid relay domain \"{entry}\": \"{domain}\" is not a domain name"
            ),
            ListError::EmptyHost { entry } => write!(
                f,
                "invalid relay domain \"{entry}\": the host after \":\" is empty"
            ),
            ListError::BadHost { entry, host } => write!(
                f,
                "invalid relay domain \"{entry}\": \"{host}\" is not a host name or [IP address]"
            ),
            ListError::BadPort { entry, port } => write!(
                f,
                "invalid relay domain \"{entry}\": port \"{port}\" is not a number from 1 to 65535"
            ),
        }
    }
}

impl std::error::Error for ListError {}

/// One entry: a domain and, optionally, where mail for it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayEntry {
    /// As given (case kept for `get`), without leading or trailing dot.
    pub domain: String,
    /// Host name or IP address (an IPv6 address without brackets).
    pub host: Option<String>,
    /// `None`: the SMTP default, 25.
    pub port: Option<u16>,
}

impl RelayEntry {
    /// The entry's own next hop as `host:port` (`[v6]:port`), port 25 if none was given.
    pub fn target(&self) -> Option<String> {
        let host = self.host.as_ref()?;
        let port = self.port.unwrap_or(25);
        Some(if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        })
    }

    /// Whether the entry covers `domain`: equal, or a subdomain of it (the entry is a suffix
    /// at a label boundary), ignoring ASCII case and a trailing dot.
    pub fn matches(&self, domain: &str) -> bool {
        let d = domain.strip_suffix('.').unwrap_or(domain).as_bytes();
        let e = self.domain.as_bytes();
        if e.is_empty() || d.len() < e.len() {
            return false;
        }
        let cut = d.len() - e.len();
        d[cut..].eq_ignore_ascii_case(e) && (cut == 0 || d[cut - 1] == b'.')
    }
}

/// The form `relay get` lists: `domain`, `domain:host`, `domain:host:port`, `domain:[v6]:port`.
impl fmt::Display for RelayEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.domain)?;
        match &self.host {
            None => return Ok(()),
            Some(h) if h.contains(':') => write!(f, ":[{h}]")?,
            Some(h) => write!(f, ":{h}")?,
        }
        match self.port {
            Some(p) => write!(f, ":{p}"),
            None => Ok(()),
        }
    }
}

/// A domain (or host name): dot-separated non-empty labels of letters, digits, `-`, `_`.
fn valid_name(d: &str) -> bool {
    d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Parses `domain`, `domain:host`, `domain:host:port`, `domain:[v6]` or `domain:[v6]:port`.
/// Blanks around the entry are ignored; one leading or trailing dot of the domain is dropped
/// (`.example.com` covers the same domains as `example.com`).
pub fn parse_entry(text: &str) -> Result<RelayEntry, ListError> {
    let entry = text.trim();
    let owned = || entry.to_string();
    let (domain, rest) = match entry.split_once(':') {
        Some((d, r)) => (d, Some(r)),
        None => (entry, None),
    };
    let domain = domain.strip_prefix('.').unwrap_or(domain);
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return Err(ListError::EmptyDomain { entry: owned() });
    }
    if !valid_name(domain) {
        return Err(ListError::BadDomain {
            entry: owned(),
            domain: domain.to_string(),
        });
    }
    let Some(rest) = rest else {
        return Ok(RelayEntry {
            domain: domain.to_string(),
            host: None,
            port: None,
        });
    };
    let bad_host = |host: &str| ListError::BadHost {
        entry: owned(),
        host: host.to_string(),
    };
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        // `[v6]` or `[v6]:port`: the brackets keep the address's colons apart from the port's.
        let end = inner.find(']').ok_or_else(|| bad_host(rest))?;
        let (addr, after) = (&inner[..end], &inner[end + 1..]);
        if addr.parse::<IpAddr>().is_err() {
            return Err(bad_host(&rest[..end + 2]));
        }
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad_host(rest)),
        };
        (addr, port)
    } else {
        let (host, port) = match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        if host.is_empty() {
            return Err(ListError::EmptyHost { entry: owned() });
        }
        if !valid_name(host) {
            return Err(bad_host(host));
        }
        (host, port)
    };
    let port = match port {
        None => None,
        Some(p) => Some(
            p.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| p.parse::<u16>().ok())
                .flatten()
                .filter(|&n| n > 0)
                .ok_or_else(|| ListError::BadPort {
                    entry: owned(),
                    port: p.to_string(),
                })?,
        ),
    };
    Ok(RelayEntry {
        domain: domain.to_string(),
        host: Some(host.to_string()),
        port,
    })
}

/// The list, newest first (the order the original tried and listed entries in).
#[derive(Debug, Default, Clone)]
pub struct RelayDomains {
    entries: Vec<RelayEntry>,
}

impl RelayDomains {
    /// Adds an entry in front: it is tried before the older ones.
    pub fn add(&mut self, entry: RelayEntry) {
        self.entries.insert(0, entry);
    }

    /// Removes every entry for exactly this domain (ASCII case ignored); true if one was
    /// there. A `domain:host:port` argument, as `get` prints it, means its domain.
    pub fn del(&mut self, domain: &str) -> bool {
        let domain = domain.split(':').next().unwrap_or("").trim();
        let domain = domain.strip_prefix('.').unwrap_or(domain);
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        let before = self.entries.len();
        self.entries
            .retain(|e| !e.domain.eq_ignore_ascii_case(domain));
        self.entries.len() != before
    }

    /// Replaces the list; `entries()` then lists them, and `find` tries them, in this order.
    pub fn set(&mut self, entries: Vec<RelayEntry>) {
        self.entries = entries;
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The entries as `relay get` lists them, in list order.
    pub fn entries(&self) -> Vec<String> {
        self.entries.iter().map(ToString::to_string).collect()
    }

    /// The first entry, in list order, covering `domain`.
    pub fn find(&self, domain: &str) -> Option<&RelayEntry> {
        self.entries.iter().find(|e| e.matches(domain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list(specs: &[&str]) -> RelayDomains {
        let mut l = RelayDomains::default();
        for e in specs {
            l.add(parse_entry(e).unwrap());
        }
        l
    }

    /// Reference §13.1, with the case row fixed.
    #[test]
    fn matching_table_of_the_original() {
        let l = list(&[
            "localhost",
            "example.com",
            "sub.example.org:mx.example.org:2525",
            "other.net:smart",
        ]);
        let hit = |d: &str| l.find(d).map(|e| (e.host.clone(), e.port.unwrap_or(0)));
        assert_eq!(hit("localhost"), Some((None, 0)));
        assert_eq!(hit("example.com"), Some((None, 0)));
        assert_eq!(hit("foo.example.com"), Some((None, 0)));
        assert_eq!(hit("badexample.com"), None);
        // Fixed: the original compared case-sensitively.
        assert_eq!(hit("EXAMPLE.COM"), Some((None, 0)));
        assert_eq!(
            hit("sub.example.org"),
            Some((Some("mx.example.org".into()), 2525))
        );
        assert_eq!(
            hit("x.sub.example.org"),
            Some((Some("mx.example.org".into()), 2525))
        );
        assert_eq!(hit("other.net"), Some((Some("smart".into()), 0)));
        for d in ["net", "com", "example.com.evil", "", "org", "example.org"] {
            assert_eq!(hit(d), None, "{d}");
        }
        assert_eq!(
            l.find("other.net").unwrap().target(),
            Some("smart:25".into())
        );
        assert_eq!(
            l.find("sub.example.org").unwrap().target(),
            Some("mx.example.org:2525".into())
        );
        assert_eq!(l.find("example.com").unwrap().target(), None);
    }

    #[test]
    fn first_match_in_list_order_wins() {
        let l = list(&["example.com:old", "mail.example.com:new"]);
        assert_eq!(
            l.find("a.mail.example.com").unwrap().host.as_deref(),
            Some("new")
        );
        assert_eq!(
            l.find("b.example.com").unwrap().host.as_deref(),
            Some("old")
        );
        let mut s = RelayDomains::default();
        s.set(vec![
            parse_entry("example.com:first").unwrap(),
            parse_entry("mail.example.com:second").unwrap(),
        ]);
        assert_eq!(
            s.find("mail.example.com").unwrap().host.as_deref(),
            Some("first")
        );
    }

    #[test]
    fn get_format_and_list_operations() {
        let mut l = list(&[
            "example.com",
            "sub.example.org:mx.example.org:2525",
            "other.net:smart",
        ]);
        // Newest first; B-28 fixed: the colon before the port is there.
        assert_eq!(
            l.entries(),
            [
                "other.net:smart",
                "sub.example.org:mx.example.org:2525",
                "example.com"
            ]
        );
        // B-27 fixed: del removes.
        assert!(l.del("OTHER.net"));
        assert!(!l.del("other.net"));
        assert!(!l.del("example"));
        assert_eq!(
            l.entries(),
            ["sub.example.org:mx.example.org:2525", "example.com"]
        );
        assert!(l.del("sub.example.org:mx.example.org:2525"));
        l.set(vec![
            parse_entry("a.example").unwrap(),
            parse_entry("b.example:h:25").unwrap(),
        ]);
        assert_eq!(l.entries(), ["a.example", "b.example:h:25"]);
        l.add(parse_entry("a.example:x").unwrap());
        assert!(l.del("a.example"));
        assert_eq!(l.entries(), ["b.example:h:25"]);
        l.clear();
        assert!(l.entries().is_empty());
        assert!(l.find("b.example").is_none());
    }

    #[test]
    fn entry_forms() {
        let e = |s: &str| parse_entry(s).unwrap();
        assert_eq!(
            e("d.example:[::1]:26"),
            RelayEntry {
                domain: "d.example".into(),
                host: Some("::1".into()),
                port: Some(26)
            }
        );
        assert_eq!(e("d.example:[::1]:26").target(), Some("[::1]:26".into()));
        assert_eq!(e("d.example:[::1]:26").to_string(), "d.example:[::1]:26");
        assert_eq!(
            e("d.example:[2001:db8::5]").to_string(),
            "d.example:[2001:db8::5]"
        );
        assert_eq!(
            e("d.example:[2001:db8::5]").target(),
            Some("[2001:db8::5]:25".into())
        );
        assert_eq!(
            e("d.example:[10.0.0.1]:2525").target(),
            Some("10.0.0.1:2525".into())
        );
        assert_eq!(
            e("d.example:10.0.0.1:2525").to_string(),
            "d.example:10.0.0.1:2525"
        );
        assert_eq!(e("  Example.COM  ").to_string(), "Example.COM");
        assert_eq!(e(".example.com.").domain, "example.com");
        assert_eq!(
            e("x_y.example:relay_host").to_string(),
            "x_y.example:relay_host"
        );
        assert_eq!(e("d:h:00025").port, Some(25));
    }

    #[test]
    fn bad_entries_are_errors() {
        let err = |s: &str| parse_entry(s).unwrap_err();
        assert_eq!(err(""), ListError::EmptyDomain { entry: "".into() });
        assert_eq!(
            err(":host"),
            ListError::EmptyDomain {
                entry: ":host".into()
            }
        );
        assert!(matches!(err("a b"), ListError::BadDomain { .. }));
        assert!(matches!(err("a..b"), ListError::BadDomain { .. }));
        assert!(matches!(err("ex@mple.com"), ListError::BadDomain { .. }));
        assert!(matches!(err("exämple.com"), ListError::BadDomain { .. }));
        assert!(matches!(err("d:"), ListError::EmptyHost { .. }));
        assert!(matches!(err("d::25"), ListError::EmptyHost { .. }));
        assert!(matches!(err("d:h h"), ListError::BadHost { .. }));
        assert!(matches!(err("d:[::1"), ListError::BadHost { .. }));
        assert!(matches!(err("d:[nope]:25"), ListError::BadHost { .. }));
        assert!(matches!(err("d:[::1]x"), ListError::BadHost { .. }));
        for port in [
            "d:h:x",
            "d:h:0",
            "d:h:65536",
            "d:h:",
            "d:h:+25",
            "d:h:25:1",
            "d:[::1]:",
        ] {
            assert!(matches!(err(port), ListError::BadPort { .. }), "{port}");
        }
        assert_eq!(
            err("d:h:x").to_string(),
            "invalid relay domain \"d:h:x\": port \"x\" is not a number from 1 to 65535"
        );
        assert_eq!(
            err("d:").to_string(),
            "invalid relay domain \"d:\": the host after \":\" is empty"
        );
    }

    proptest! {
        #[test]
        fn get_output_parses_back(
            domain in "[a-z0-9]{1,8}(\\.[a-z]{2,5}){0,2}",
            host in proptest::option::of("[a-z0-9]{1,8}(\\.[a-z]{2,5}){0,2}"),
            port in proptest::option::of(1u16..),
        ) {
            let text = match (&host, port) {
                (None, _) => domain.clone(),
                (Some(h), None) => format!("{domain}:{h}"),
                (Some(h), Some(p)) => format!("{domain}:{h}:{p}"),
            };
            let entry = parse_entry(&text).unwrap();
            prop_assert_eq!(entry.to_string(), text.clone());
            prop_assert_eq!(parse_entry(&entry.to_string()).unwrap(), entry.clone());
            prop_assert!(entry.matches(&domain));
            let sub = format!("x.{domain}");
            prop_assert!(entry.matches(&sub));
            prop_assert!(entry.matches(&domain.to_uppercase()));
            let glued = format!("x{domain}");
            prop_assert!(!entry.matches(&glued));
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_entry(&s);
        }
    }
}
