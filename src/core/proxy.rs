//! The PROXY protocol header (HAProxy's `proxy-protocol.txt`, versions 1 and 2) that a load
//! balancer sends before the client's first byte, naming the real client address.
//!
//! The parser is incremental: it says how many more bytes it needs, and never looks past
//! the header, so whatever follows stays for the SMTP session.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The v2 signature: `\r\n\r\n\0\r\nQUIT\n`.
pub const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 line, CRLF included (spec §2.1).
pub const V1_MAX: usize = 107;
/// The longest v2 header we accept: addresses plus a generous allowance for TLVs.
pub const V2_MAX: usize = 16 + 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyHeader {
    /// More bytes are needed to decide.
    NeedMore,
    /// A complete header of `length` bytes; `source` is the real client, or `None` for
    /// `UNKNOWN` / `LOCAL` / an unspecified family (the connection's own address applies).
    Done {
        length: usize,
        source: Option<SocketAddr>,
    },
    Invalid(&'static str),
}

/// Parses a PROXY header at the start of `buf`.
pub fn parse_proxy_header(buf: &[u8]) -> ProxyHeader {
    if buf.is_empty() {
        return ProxyHeader::NeedMore;
    }
    if buf[0] == b'\r' {
        return parse_v2(buf);
    }
    if buf[0] == b'P' {
        return parse_v1(buf);
    }
    ProxyHeader::Invalid("no PROXY header")
}

fn parse_v1(buf: &[u8]) -> ProxyHeader {
    let prefix = b"PROXY ";
    let n = buf.len().min(prefix.len());
    if buf[..n] != prefix[..n] {
        return ProxyHeader::Invalid("no PROXY header");
    }
    let Some(end) = buf.windows(2).take(V1_MAX - 1).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            ProxyHeader::Invalid("PROXY v1 line too long")
        } else {
            ProxyHeader::NeedMore
        };
    };
    let Ok(line) = std::str::from_utf8(&buf[prefix.len().min(end)..end]) else {
        return ProxyHeader::Invalid("PROXY v1 line is not text");
    };
    let length = end + 2;
    let words: Vec<&str> = line.split(' ').collect();
    match words.as_slice() {
        ["UNKNOWN", ..] => ProxyHeader::Done {
            length,
            source: None,
        },
        [family @ ("TCP4" | "TCP6"), src, dst, sport, dport] => {
            let v6 = *family == "TCP6";
            let (Some(src), Some(_), Some(sport), Some(_)) =
                (ip(src, v6), ip(dst, v6), port(sport), port(dport))
            else {
                return ProxyHeader::Invalid("PROXY v1 address or port malformed");
            };
            ProxyHeader::Done {
                length,
                source: Some(SocketAddr::new(src, sport)),
            }
        }
        _ => ProxyHeader::Invalid("PROXY v1 line malformed"),
    }
}

fn ip(text: &str, v6: bool) -> Option<IpAddr> {
    if v6 {
        text.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        text.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// A decimal port without sign or leading zeros (spec: "0" alone, else no leading zero).
fn port(text: &str) -> Option<u16> {
    if text.is_empty() || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_v2(buf: &[u8]) -> ProxyHeader {
    let n = buf.len().min(V2_SIGNATURE.len());
    if buf[..n] != V2_SIGNATURE[..n] {
        return ProxyHeader::Invalid("no PROXY header");
    }
    if buf.len() < 16 {
        return ProxyHeader::NeedMore;
    }
    let version = buf[12] >> 4;
    let command = buf[12] & 0x0f;
    if version != 2 {
        return ProxyHeader::Invalid("PROXY v2 version unsupported");
    }
    if command > 1 {
        return ProxyHeader::Invalid("PROXY v2 command unsupported");
    }
    let family = buf[13];
    let body_len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let length = 16 + body_len;
    if length > V2_MAX {
        return ProxyHeader::Invalid("PROXY v2 header too long");
    }
    if buf.len() < length {
        return ProxyHeader::NeedMore;
    }
    let body = &buf[16..length];
    // LOCAL: the proxy's own connection (health checks); the addresses are ignored.
    if command == 0 {
        return ProxyHeader::Done {
            length,
            source: None,
        };
    }
    let source = match family {
        // TCP over IPv4 (and UDP, 0x12, which carries the same addresses).
        0x11 | 0x12 => {
            if body.len() < 12 {
                return ProxyHeader::Invalid("PROXY v2 IPv4 addresses truncated");
            }
            let src = Ipv4Addr::new(body[0], body[1], body[2], body[3]);
            let sport = u16::from_be_bytes([body[8], body[9]]);
            Some(SocketAddr::new(IpAddr::V4(src), sport))
        }
        0x21 | 0x22 => {
            if body.len() < 36 {
                return ProxyHeader::Invalid("PROXY v2 IPv6 addresses truncated");
            }
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&body[..16]);
            let sport = u16::from_be_bytes([body[32], body[33]]);
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), sport))
        }
        // UNSPEC or unix sockets: no usable address.
        0x00 | 0x31 | 0x32 => None,
        _ => return ProxyHeader::Invalid("PROXY v2 address family unsupported"),
    };
    ProxyHeader::Done { length, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(buf: &[u8]) -> (usize, Option<SocketAddr>) {
        match parse_proxy_header(buf) {
            ProxyHeader::Done { length, source } => (length, source),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn v1_tcp4_and_tcp6() {
        let h = b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\nEHLO x\r\n";
        assert_eq!(done(h), (44, Some("192.0.2.7:56324".parse().unwrap())));
        let h = b"PROXY TCP6 2001:db8::7 2001:db8::1 4000 25\r\n";
        assert_eq!(done(h).1, Some("[2001:db8::7]:4000".parse().unwrap()));
        assert_eq!(done(b"PROXY UNKNOWN\r\n"), (15, None));
        assert_eq!(done(b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n").1, None);
    }

    #[test]
    fn v1_incomplete_and_bad() {
        assert_eq!(parse_proxy_header(b"PRO"), ProxyHeader::NeedMore);
        assert_eq!(
            parse_proxy_header(b"PROXY TCP4 1.2.3.4"),
            ProxyHeader::NeedMore
        );
        for bad in [
            &b"EHLO x\r\n"[..],
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            b"PROXY TCP4 ::1 ::1 1 2\r\n",
            b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
            b"PROXY SCTP 1.2.3.4 5.6.7.8 1 2\r\n",
        ] {
            assert!(
                matches!(parse_proxy_header(bad), ProxyHeader::Invalid(_)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = [b"PROXY ".as_slice(), &[b'A'; 200]].concat();
        assert!(matches!(parse_proxy_header(&long), ProxyHeader::Invalid(_)));
    }

    fn v2(cmd: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut h = V2_SIGNATURE.to_vec();
        h.push(0x20 | cmd);
        h.push(family);
        h.extend_from_slice(&(body.len() as u16).to_be_bytes());
        h.extend_from_slice(body);
        h
    }

    #[test]
    fn v2_addresses() {
        let mut body = vec![192, 0, 2, 7, 198, 51, 100, 1];
        body.extend_from_slice(&5000u16.to_be_bytes());
        body.extend_from_slice(&25u16.to_be_bytes());
        body.extend_from_slice(&[0x04, 0, 1, 0xff]); // a TLV, ignored
        let mut h = v2(1, 0x11, &body);
        h.extend_from_slice(b"EHLO x\r\n");
        assert_eq!(done(&h), (32, Some("192.0.2.7:5000".parse().unwrap())));
        let mut body6 = vec![0u8; 36];
        body6[0] = 0x20;
        body6[1] = 0x01;
        body6[15] = 7;
        body6[32..34].copy_from_slice(&4000u16.to_be_bytes());
        assert_eq!(
            done(&v2(1, 0x21, &body6)).1,
            Some("[2001::7]:4000".parse().unwrap())
        );
        assert_eq!(done(&v2(0, 0x00, &[])), (16, None));
    }

    #[test]
    fn v2_incomplete_and_bad() {
        let h = v2(1, 0x11, &[1; 12]);
        for cut in 0..h.len() {
            assert_eq!(
                parse_proxy_header(&h[..cut]),
                ProxyHeader::NeedMore,
                "{cut}"
            );
        }
        assert!(matches!(
            parse_proxy_header(&v2(1, 0x11, &[1; 5])),
            ProxyHeader::Invalid(_)
        ));
        assert!(matches!(
            parse_proxy_header(&v2(2, 0x11, &[1; 12])),
            ProxyHeader::Invalid(_)
        ));
        let mut wrong_version = v2(1, 0x11, &[1; 12]);
        wrong_version[12] = 0x11;
        assert!(matches!(
            parse_proxy_header(&wrong_version),
            ProxyHeader::Invalid(_)
        ));
        let mut huge = V2_SIGNATURE.to_vec();
        huge.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert!(matches!(parse_proxy_header(&huge), ProxyHeader::Invalid(_)));
        assert!(matches!(
            parse_proxy_header(b"\r\nX"),
            ProxyHeader::Invalid(_)
        ));
    }
}
