//! The local-network list: client networks that may relay to any domain. IPv4 and IPv6, with
//! a prefix length or a mask; IPv4-mapped IPv6 clients match IPv4 entries.
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListError(pub String);

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A network: address (already masked) and mask, as 128-bit values for both families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    v4: bool,
    addr: u128,
    mask: u128,
}

/// What a `local` spec stands for: a network, or a host name the caller must resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    Net(Network),
    Host(String),
}

fn bits(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (true, u128::from(u32::from(a))),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (true, u128::from(u32::from(v4))),
            None => (false, u128::from(a)),
        },
    }
}

fn prefix_mask(v4: bool, prefix: u32) -> u128 {
    let width = if v4 { 32 } else { 128 };
    if prefix == 0 {
        return 0;
    }
    let all: u128 = if v4 { u128::from(u32::MAX) } else { u128::MAX };
    (all >> (width - prefix)) << (width - prefix)
}

impl Network {
    /// A single address.
    pub fn host(ip: IpAddr) -> Network {
        let (v4, addr) = bits(ip);
        Network {
            v4,
            addr,
            mask: prefix_mask(v4, if v4 { 32 } else { 128 }),
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (v4, addr) = bits(ip);
        v4 == self.v4 && addr & self.mask == self.addr
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.v4 {
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

/// Parses `addr`, `addr/prefix`, `addr/mask`, or a host name.
pub fn parse_spec(spec: &str) -> Result<Spec, ListError> {
    let spec = spec.trim();
    let bad = |why: &str| ListError(format!("invalid network \"{spec}\": {why}"));
    if spec.is_empty() {
        return Err(bad("empty"));
    }
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
        Err(_)
            if mask_text.is_none()
                && addr_text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
        {
            return Ok(Spec::Host(addr_text.to_string()))
        }
        Err(_) => return Err(bad("bad address")),
    };
    let (v4, addr) = bits(ip);
    let width = if v4 { 32 } else { 128 };
    let mask = match mask_text {
        None => prefix_mask(v4, width),
        Some(m) if m.contains(['.', ':']) => {
            let mask_ip: IpAddr = m.parse().map_err(|_| bad("bad mask"))?;
            let (mv4, mbits) = bits(mask_ip);
            if mv4 != v4 {
                return Err(bad("mask and address are of different families"));
            }
            mbits
        }
        Some(m) => {
            let prefix: u32 = m.parse().map_err(|_| bad("bad prefix length"))?;
            if prefix > width {
                return Err(bad(&format!(
                    "prefix length {prefix} is longer than {width}"
                )));
            }
            prefix_mask(v4, prefix)
        }
    };
    Ok(Spec::Net(Network {
        v4,
        addr: addr & mask,
        mask,
    }))
}

#[derive(Debug, Default, Clone)]
pub struct LocalNets {
    nets: Vec<Network>,
}

impl LocalNets {
    pub fn add(&mut self, net: Network) {
        if !self.nets.contains(&net) {
            self.nets.push(net);
        }
    }

    /// Removes the entry equal to `net`; true if it was there.
    pub fn del(&mut self, net: &Network) -> bool {
        let before = self.nets.len();
        self.nets.retain(|n| n != net);
        before != self.nets.len()
    }

    pub fn set(&mut self, nets: Vec<Network>) {
        self.nets.clear();
        for n in nets {
            self.add(n);
        }
    }

    pub fn clear(&mut self) {
        self.nets.clear();
    }

    pub fn entries(&self) -> &[Network] {
        &self.nets
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn forms_and_display() {
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/255.0.0.0");
        assert_eq!(net("10.1.2.3/16").to_string(), "10.1.0.0/255.255.0.0");
        assert_eq!(net("10.0.0.0/255.0.0.0"), net("10.0.0.0/8"));
        assert_eq!(
            net("::1").to_string(),
            "::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(net("2001:db8::/32").to_string(), "2001:db8::/ffff:ffff::");
        assert_eq!(
            net("2001:db8::1").to_string(),
            "2001:db8::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert_eq!(
            parse_spec("localhost").unwrap(),
            Spec::Host("localhost".into())
        );
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "1.2.3.4/x",
            "1.2.3.4/::",
            "a b",
            "",
            "[::1",
        ] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching() {
        let mut l = LocalNets::default();
        l.add(net("10.0.0.0/8"));
        l.add(net("2001:db8::/32"));
        assert!(l.contains(ip("10.9.8.7")));
        assert!(l.contains(ip("::ffff:10.9.8.7")));
        assert!(!l.contains(ip("11.0.0.1")));
        assert!(l.contains(ip("2001:db8::77")));
        assert!(!l.contains(ip("2001:db9::")));
        assert!(l.del(&net("10.0.0.0/8")));
        assert!(!l.contains(ip("10.9.8.7")));
        l.set(vec![net("0.0.0.0/0")]);
        assert!(l.contains(ip("8.8.8.8")));
        assert!(!l.contains(ip("::2")));
    }
}
