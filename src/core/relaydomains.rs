//! The relay-domain list: domains we accept mail for, each optionally with its own next hop
//! (`domain[:host[:port]]`). Matching is by label-boundary suffix, case-insensitive.
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListError(pub String);

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayEntry {
    pub domain: String,
    pub host: Option<String>,
    pub port: Option<u16>,
}

impl RelayEntry {
    /// The entry's own next hop as `host:port` (port 25 if none was given).
    pub fn target(&self) -> Option<String> {
        let host = self.host.as_ref()?;
        let port = self.port.unwrap_or(25);
        Some(if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        })
    }

    /// Whether the entry covers `domain` (equal, or a subdomain of it).
    pub fn matches(&self, domain: &str) -> bool {
        let d = domain.trim_end_matches('.');
        let e = self.domain.as_str();
        if d.len() < e.len() {
            return false;
        }
        let tail = &d[d.len() - e.len()..];
        tail.eq_ignore_ascii_case(e)
            && (d.len() == e.len() || d.as_bytes()[d.len() - e.len() - 1] == b'.')
    }
}

impl fmt::Display for RelayEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.host, self.port) {
            (None, _) => write!(f, "{}", self.domain),
            (Some(h), None) => write!(f, "{}:{h}", self.domain),
            (Some(h), Some(p)) if h.contains(':') => write!(f, "{}:[{h}]:{p}", self.domain),
            (Some(h), Some(p)) => write!(f, "{}:{h}:{p}", self.domain),
        }
    }
}

fn valid_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

/// Parses `domain`, `domain:host`, `domain:host:port` or `domain:[v6]:port`.
pub fn parse_entry(text: &str) -> Result<RelayEntry, ListError> {
    let bad = |why: &str| ListError(format!("invalid relay domain \"{text}\": {why}"));
    let text_t = text.trim();
    let (domain, rest) = match text_t.split_once(':') {
        Some((d, r)) => (d, Some(r)),
        None => (text_t, None),
    };
    let domain = domain.trim_start_matches('.').to_ascii_lowercase();
    if !valid_domain(&domain) {
        return Err(bad("bad domain"));
    }
    let (host, port) = match rest {
        None => (None, None),
        Some(r) => {
            let (host, port) = if let Some(inner) = r.strip_prefix('[') {
                let end = inner.find(']').ok_or_else(|| bad("missing ]"))?;
                let after = &inner[end + 1..];
                let port = match after.strip_prefix(':') {
                    Some(p) => Some(p),
                    None if after.is_empty() => None,
                    None => return Err(bad("junk after ]")),
                };
                (inner[..end].to_string(), port)
            } else {
                match r.split_once(':') {
                    Some((h, p)) => (h.to_string(), Some(p)),
                    None => (r.to_string(), None),
                }
            };
            if host.is_empty() {
                return Err(bad("empty host"));
            }
            let port = match port {
                None => None,
                Some(p) => Some(
                    p.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| bad("bad port"))?,
                ),
            };
            (Some(host), port)
        }
    };
    Ok(RelayEntry { domain, host, port })
}

#[derive(Debug, Default, Clone)]
pub struct RelayDomains {
    /// Newest first, as the original listed them.
    entries: Vec<RelayEntry>,
}

impl RelayDomains {
    pub fn add(&mut self, entry: RelayEntry) {
        self.entries.insert(0, entry);
    }

    /// Removes the entries for exactly this domain; true if one was there.
    pub fn del(&mut self, domain: &str) -> bool {
        let domain = domain.split(':').next().unwrap_or("").trim();
        let before = self.entries.len();
        self.entries
            .retain(|e| !e.domain.eq_ignore_ascii_case(domain));
        self.entries.len() != before
    }

    /// Replaces the list; `entries()` then lists them in the order given.
    pub fn set(&mut self, entries: Vec<RelayEntry>) {
        self.entries = entries;
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn entries(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.to_string()).collect()
    }

    /// The first entry covering `domain`.
    pub fn find(&self, domain: &str) -> Option<&RelayEntry> {
        self.entries.iter().find(|e| e.matches(domain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_table_of_the_original() {
        let mut l = RelayDomains::default();
        for e in [
            "localhost",
            "example.com",
            "sub.example.org:mx.example.org:2525",
            "other.net:smart",
        ] {
            l.add(parse_entry(e).unwrap());
        }
        let target = |d: &str| l.find(d).map(|e| e.target());
        assert_eq!(target("localhost"), Some(None));
        assert_eq!(target("example.com"), Some(None));
        assert_eq!(target("foo.example.com"), Some(None));
        assert_eq!(target("badexample.com"), None);
        assert_eq!(target("EXAMPLE.COM"), Some(None));
        assert_eq!(
            target("sub.example.org"),
            Some(Some("mx.example.org:2525".into()))
        );
        assert_eq!(
            target("x.sub.example.org"),
            Some(Some("mx.example.org:2525".into()))
        );
        assert_eq!(target("other.net"), Some(Some("smart:25".into())));
        for d in ["net", "com", "example.com.evil"] {
            assert_eq!(target(d), None, "{d}");
        }
        assert_eq!(
            l.entries(),
            vec![
                "other.net:smart",
                "sub.example.org:mx.example.org:2525",
                "example.com",
                "localhost"
            ]
        );
        assert!(l.del("other.net"));
        assert!(!l.del("nope"));
        assert_eq!(l.entries().len(), 3);
    }

    #[test]
    fn entry_forms() {
        assert_eq!(
            parse_entry("d.example:[::1]:26").unwrap().target(),
            Some("[::1]:26".into())
        );
        assert_eq!(
            parse_entry("d.example:[::1]:26").unwrap().to_string(),
            "d.example:[::1]:26"
        );
        for bad in ["", "a b", "d:h:x", "d:h:0", "d:", "d:[::1"] {
            assert!(parse_entry(bad).is_err(), "{bad}");
        }
    }
}
