//! The RFC 7208 record rules that make a checked domain's policy a `permerror` before any
//! mechanism is evaluated: more than one `v=spf1` record (§4.5), an unknown mechanism
//! (§5), a malformed `ip4`/`ip6` network or CIDR length (§5.6), a repeated `redirect`
//! or `exp` modifier (§6). mail-auth's parser is lenient on these, so the identity's own
//! record is checked here first.
use std::net::{Ipv4Addr, Ipv6Addr};

/// Why the TXT records of a domain make its SPF result a `permerror`, if they do.
pub fn permerror(records: &[String]) -> Option<String> {
    let spf: Vec<&String> = records.iter().filter(|r| is_spf(r)).collect();
    match spf.len() {
        0 => None,
        1 => check_record(spf[0]).err(),
        _ => Some("more than one SPF record".into()),
    }
}

fn is_spf(record: &str) -> bool {
    let lower = record.to_ascii_lowercase();
    lower == "v=spf1" || lower.starts_with("v=spf1 ")
}

fn check_record(record: &str) -> Result<(), String> {
    let mut redirect = false;
    let mut exp = false;
    for term in record.split_ascii_whitespace().skip(1) {
        let bad = || format!("invalid term \"{term}\"");
        let name_end = term.find([':', '/', '=']).unwrap_or(term.len());
        if term[name_end..].starts_with('=') {
            let name = term[..name_end].to_ascii_lowercase();
            let valid_name = name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid_name {
                return Err(bad());
            }
            let seen = match name.as_str() {
                "redirect" => &mut redirect,
                "exp" => &mut exp,
                _ => continue,
            };
            if std::mem::replace(seen, true) || term.len() == name_end + 1 {
                return Err(bad());
            }
            continue;
        }
        let mechanism = term.trim_start_matches(['+', '-', '~', '?']);
        if term.len() - mechanism.len() > 1 {
            return Err(bad());
        }
        let name_end = mechanism.find([':', '/']).unwrap_or(mechanism.len());
        let (name, rest) = mechanism.split_at(name_end);
        let argument = rest.strip_prefix(':');
        match name.to_ascii_lowercase().as_str() {
            "all" if rest.is_empty() => {}
            "include" | "exists" if argument.is_some_and(|a| !a.is_empty()) => {}
            "ptr" if rest.is_empty() || argument.is_some_and(|a| !a.is_empty()) => {}
            "a" | "mx" => {
                let cidr = match argument {
                    Some(a) => a.find('/').map_or("", |i| &a[i..]),
                    None => rest,
                };
                if argument == Some("") || !dual_cidr(cidr) {
                    return Err(bad());
                }
            }
            "ip4" => {
                let (net, len) = split_cidr(argument.ok_or_else(bad)?);
                if net.parse::<Ipv4Addr>().is_err() || !cidr_ok(len, 32) {
                    return Err(bad());
                }
            }
            "ip6" => {
                let (net, len) = split_cidr(argument.ok_or_else(bad)?);
                if net.parse::<Ipv6Addr>().is_err() || !cidr_ok(len, 128) {
                    return Err(bad());
                }
            }
            _ => return Err(format!("unknown mechanism \"{term}\"")),
        }
    }
    Ok(())
}

fn split_cidr(text: &str) -> (&str, Option<&str>) {
    match text.split_once('/') {
        Some((net, len)) => (net, Some(len)),
        None => (text, None),
    }
}

fn cidr_ok(len: Option<&str>, max: u32) -> bool {
    match len {
        None => true,
        Some(l) => {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_digit())
                && (l.len() == 1 || !l.starts_with('0'))
                && l.parse::<u32>().is_ok_and(|n| n <= max)
        }
    }
}

/// `""`, `/n`, `//m` or `/n//m` (RFC 7208 §5.6 dual-cidr-length).
fn dual_cidr(text: &str) -> bool {
    if text.is_empty() {
        return true;
    }
    let Some(rest) = text.strip_prefix('/') else {
        return false;
    };
    match rest.split_once("//") {
        Some((v4, v6)) => (v4.is_empty() || cidr_ok(Some(v4), 32)) && cidr_ok(Some(v6), 128),
        None => match rest.strip_prefix('/') {
            Some(v6) => cidr_ok(Some(v6), 128),
            None => cidr_ok(Some(rest), 32),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(records: &[&str]) -> Option<String> {
        permerror(&records.iter().map(|r| r.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn good_records_pass() {
        for r in [
            "v=spf1 -all",
            "v=spf1",
            "V=SPF1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx/24 a:x.test/24//64 mx//64 ~all",
            "v=spf1 include:_spf.example.org ?exists:%{i}.x.test ptr ptr:x.test redirect=x.test",
            "v=spf1 exp=explain.test foo=bar -all",
        ] {
            assert_eq!(check(&[r, "google-site-verification=x"]), None, "{r}");
        }
        assert_eq!(check(&["not spf"]), None);
        assert_eq!(check(&[]), None);
    }

    #[test]
    fn bad_records_are_permerrors() {
        assert_eq!(
            check(&["v=spf1 -all", "v=spf1 +all"]).as_deref(),
            Some("more than one SPF record")
        );
        for r in [
            "v=spf1 foo:bar -all",
            "v=spf1 ip4:300.1.1.1 -all",
            "v=spf1 ip4:192.0.2.0/33",
            "v=spf1 ip4:192.0.2.0/024",
            "v=spf1 ip6:2001:db8::/129",
            "v=spf1 ip4",
            "v=spf1 include",
            "v=spf1 include:",
            "v=spf1 all:x",
            "v=spf1 a/40",
            "v=spf1 a:",
            "v=spf1 redirect=a.test redirect=b.test",
            "v=spf1 redirect=",
            "v=spf1 1x=y",
            "v=spf1 +-all",
        ] {
            assert!(check(&[r]).is_some(), "{r}");
        }
    }
}
