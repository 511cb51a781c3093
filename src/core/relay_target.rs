//! The `relay` parameter: where accepted mail goes next, and with which credentials.
//!
//! Forms: `host`, `host:port`, `IPv4:port`, `[IPv6]:port`, `scheme://[user:password@]host[:port]`
//! with the scheme `smtp`, `plain` (both SMTP, STARTTLS as `relaytls` says) or `smtps` (TLS
//! from the first byte, RFC 8314; default port 465), with percent-decoding of the user part.
use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct RelayTarget {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    /// `smtps://`: TLS from the first byte instead of STARTTLS.
    pub implicit_tls: bool,
}

/// Never shows the password.
impl fmt::Debug for RelayTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelayTarget({})", self)
    }
}

/// `host:port` (brackets around IPv6), as `info relay` and logs show it.
impl fmt::Display for RelayTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayError(pub String);

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Percent-decoding as the original did it: `%XY` becomes a byte, anything else is kept.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_port(text: &str, whole: &str) -> Result<u16, RelayError> {
    text.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
        RelayError(format!(
            "invalid relay \"{}\": bad port \"{text}\"",
            redact(whole)
        ))
    })
}

/// The value with any password replaced, for error messages.
fn redact(value: &str) -> String {
    match (value.find("://"), value.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &value[..s], &value[at + 1..]),
        _ => value.to_string(),
    }
}

/// Parses `host[:port]` or `[v6][:port]` with a default port.
pub fn parse_host_port(
    text: &str,
    default_port: u16,
    whole: &str,
) -> Result<(String, u16), RelayError> {
    let bad = |why: &str| RelayError(format!("invalid relay \"{}\": {why}", redact(whole)));
    if let Some(rest) = text.strip_prefix('[') {
        let end = rest.find(']').ok_or_else(|| bad("missing ]"))?;
        let host = &rest[..end];
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad("bad IPv6 address"));
        }
        let port = match &rest[end + 1..] {
            "" => default_port,
            p => parse_port(
                p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?,
                whole,
            )?,
        };
        return Ok((host.to_string(), port));
    }
    // A bare IPv6 address has several colons and no port.
    if text.matches(':').count() > 1 {
        if text.parse::<std::net::Ipv6Addr>().is_ok() {
            return Ok((text.to_string(), default_port));
        }
        return Err(bad("use [address]:port for IPv6"));
    }
    let (host, port) = match text.split_once(':') {
        Some((h, p)) => (h, parse_port(p, whole)?),
        None => (text, default_port),
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._".contains(&c))
    {
        return Err(bad("bad host name"));
    }
    Ok((host.to_string(), port))
}

impl RelayTarget {
    pub fn parse(value: &str) -> Result<RelayTarget, RelayError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(RelayError("relay is empty".into()));
        }
        let mut implicit_tls = false;
        let (user, password, hostport) = match value.split_once("://") {
            Some((scheme, rest)) => {
                match scheme.to_ascii_lowercase().as_str() {
                    "smtp" | "plain" => {}
                    "smtps" => implicit_tls = true,
                    _ => {
                        return Err(RelayError(format!(
                            "invalid relay \"{}\": unknown scheme \"{scheme}\": must be smtp, plain, or smtps",
                            redact(value)
                        )))
                    }
                }
                let rest = rest.trim_end_matches('/');
                match rest.rfind('@') {
                    Some(at) => {
                        let info = percent_decode(&rest[..at]);
                        let (u, p) = info.split_once(':').ok_or_else(|| {
                            RelayError(format!(
                                "invalid relay \"{}\": user information needs user:password",
                                redact(value)
                            ))
                        })?;
                        (Some(u.to_string()), Some(p.to_string()), &rest[at + 1..])
                    }
                    None => (None, None, rest),
                }
            }
            None => (None, None, value),
        };
        let default_port = if implicit_tls { 465 } else { 25 };
        let (host, port) = parse_host_port(hostport, default_port, value)?;
        Ok(RelayTarget {
            host,
            port,
            user,
            password,
            implicit_tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(v: &str) -> (String, u16) {
        let t = RelayTarget::parse(v).unwrap();
        (t.host, t.port)
    }

    #[test]
    fn forms() {
        assert_eq!(hp("localhost"), ("localhost".into(), 25));
        assert_eq!(
            hp("mail.example.com:2525"),
            ("mail.example.com".into(), 2525)
        );
        assert_eq!(hp("127.0.0.1:26"), ("127.0.0.1".into(), 26));
        assert_eq!(hp("[::1]:2525"), ("::1".into(), 2525));
        assert_eq!(hp("::1"), ("::1".into(), 25));
        assert_eq!(hp("mail_host:25"), ("mail_host".into(), 25));
        assert_eq!(hp("smtp://[::1]:25"), ("::1".into(), 25));
        assert_eq!(hp("smtp://127.0.0.1:2525/"), ("127.0.0.1".into(), 2525));
        assert_eq!(hp("smtps://mx.example.com"), ("mx.example.com".into(), 465));
        assert!(RelayTarget::parse("SMTPS://h:2465").unwrap().implicit_tls);
        assert!(
            !RelayTarget::parse("plain://u:p@h:587")
                .unwrap()
                .implicit_tls
        );
        assert!(!RelayTarget::parse("h:25").unwrap().implicit_tls);
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let t = RelayTarget::parse("plain://us%40er:p%3Aw%25d@smtp.example.com:587").unwrap();
        assert_eq!(t.user.as_deref(), Some("us@er"));
        assert_eq!(t.password.as_deref(), Some("p:w%d"));
        assert_eq!(t.to_string(), "smtp.example.com:587");
        assert!(!format!("{t:?}").contains("p:w"));
        assert_eq!(percent_decode("x%2"), "x%2");
        assert_eq!(percent_decode("%41%42"), "AB");
        assert_eq!(percent_decode("a+b"), "a+b");
    }

    #[test]
    fn bad_values_are_clear_errors() {
        for bad in [
            "",
            "host:x",
            "host:0",
            "host:99999",
            "[::1",
            "[nothost]:25",
            "a b",
            "plain://user@h:25",
            "http://h:25",
            "lmtp://h:24",
            "://h",
        ] {
            assert!(RelayTarget::parse(bad).is_err(), "{bad}");
        }
        let e = RelayTarget::parse("plain://u:secret@h:x").unwrap_err();
        assert!(!e.0.contains("secret"), "{e}");
    }
}
