//! Inbound sender authentication with mail-auth, in the I/O layer (never on an interpreter
//! thread): SPF for the MAIL identity (or HELO for a null sender), and after DATA DKIM and
//! ARC on the exact received bytes and DMARC with the From: domain. Every stage is bounded
//! by a time limit; what runs out of time is a `temperror`. The results are the core's
//! [`Check`]s, ready for `ns_smtpd authresults` and the `Authentication-Results:` header.
use super::dns::Dns;
use crate::core::authres::{AuthMethods, Check, SpfScope};
use crate::core::spfrecord;
use mail_auth::arc::ArcError;
use mail_auth::dkim::DkimError;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::dmarc::Policy;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    AuthenticatedMessage, DkimOutput, DkimResult, DmarcResult, Parameters, SpfOutput, SpfResult,
};
use std::net::IpAddr;
use std::time::Duration;

/// The SPF result word of RFC 7208 §2.6 (as `smtpd::checkspf` returns it).
pub fn spf_word(result: SpfResult) -> &'static str {
    match result {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

fn spf_from_word(word: &str) -> SpfResult {
    match word {
        "pass" => SpfResult::Pass,
        "fail" => SpfResult::Fail,
        "softfail" => SpfResult::SoftFail,
        "neutral" => SpfResult::Neutral,
        "temperror" => SpfResult::TempError,
        "permerror" => SpfResult::PermError,
        _ => SpfResult::None,
    }
}

/// The identity SPF checks: the MAIL address, or `postmaster@helo` for a null sender.
/// `sender` is empty (or `<>`) for the null sender.
pub fn spf_scope(sender: &str) -> SpfScope {
    if sender.is_empty() || sender == "<>" {
        SpfScope::Helo
    } else {
        SpfScope::MailFrom
    }
}

/// SPF (RFC 7208) for one identity: the MAIL address, or the HELO name for a null sender.
/// `hostname` is ours (the `%r` macro).
pub async fn check_spf(
    dns: &Dns,
    ip: IpAddr,
    sender: &str,
    helo: &str,
    hostname: &str,
    limit: Duration,
) -> Check {
    let scope = spf_scope(sender);
    let helo = helo.trim().trim_end_matches('.');
    let (domain, identity) = match scope {
        SpfScope::Helo => (helo.to_ascii_lowercase(), helo.to_string()),
        SpfScope::MailFrom => (
            sender
                .rsplit_once('@')
                .map_or(helo, |(_, d)| d)
                .trim_end_matches('.')
                .to_ascii_lowercase(),
            sender.to_string(),
        ),
    };
    // An address literal or an empty name is no domain to ask about (RFC 7208 §2.3, §4.3).
    if domain.is_empty() || domain.starts_with('[') || domain.parse::<IpAddr>().is_ok() {
        return Check {
            result: "none".into(),
            domain,
            identity,
            reason: "no domain to check".into(),
            ..Check::default()
        }
        .cleaned();
    }
    let c = &dns.caches;
    let params = match scope {
        SpfScope::Helo => SpfParameters::verify_ehlo(ip, &domain, hostname),
        SpfScope::MailFrom => SpfParameters::verify_mail_from(ip, helo, hostname, sender),
    };
    let params = Parameters::new(params)
        .with_txt_cache(&c.txt)
        .with_mx_cache(&c.mx)
        .with_ipv4_cache(&c.ipv4)
        .with_ipv6_cache(&c.ipv6)
        .with_ptr_cache(&c.ptr);
    let verify = async {
        // The identity's own record first, against the rules mail-auth's parser lets pass.
        if let Some(why) = record_permerror(dns, &domain).await {
            return ("permerror", why);
        }
        let output = dns.authenticator().check_host(params).await;
        (spf_word(output.result()), String::new())
    };
    let (result, reason) = match tokio::time::timeout(limit, verify).await {
        Ok(found) => found,
        Err(_) => ("temperror", "time limit".to_string()),
    };
    Check {
        result: result.into(),
        domain,
        identity,
        reason,
        ..Check::default()
    }
    .cleaned()
}

/// Why the domain's SPF record is a permerror by [`spfrecord::permerror`]; `None` when it
/// is not, or when the lookup fails (mail-auth's own lookup then gives the result).
async fn record_permerror(dns: &Dns, domain: &str) -> Option<String> {
    let fqdn = format!("{domain}.");
    let lookup = dns.resolver().txt_lookup(fqdn.as_str()).await.ok()?;
    let records: Vec<String> = lookup
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            hickory_resolver::proto::rr::RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|part| String::from_utf8_lossy(part))
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect();
    spfrecord::permerror(&records)
}

/// What the checks after DATA found.
#[derive(Debug, Default)]
pub struct MessageResults {
    pub dkim: Vec<Check>,
    pub arc: Option<Check>,
    pub dmarc: Option<Check>,
}

/// DKIM (RFC 6376, RFC 8463), ARC (RFC 8617) and DMARC (RFC 7489) on the received message.
/// `spf` is the SPF result of the transaction and `spf_domain` the domain it was about
/// (the MAIL domain, or the HELO name for a null sender), for DMARC's SPF alignment.
pub async fn check_message(
    dns: &Dns,
    message: &[u8],
    methods: &AuthMethods,
    spf: Option<&Check>,
    spf_domain: &str,
    limit: Duration,
) -> MessageResults {
    let mut out = MessageResults::default();
    let Some(parsed) = AuthenticatedMessage::parse(message) else {
        let unreadable = || Check {
            result: "permerror".into(),
            reason: "message cannot be parsed".into(),
            ..Check::default()
        };
        if methods.dkim {
            out.dkim.push(unreadable());
        }
        if methods.arc {
            out.arc = Some(unreadable());
        }
        if methods.dmarc {
            out.dmarc = Some(unreadable());
        }
        return out;
    };
    // Each signature costs a key lookup, a header match and an RSA verification with no
    // await between them once the key is cached: a message with hundreds of signatures
    // could hold a runtime thread for long, so past a few none is verified.
    let overload = signature_overload(message);
    if let Some(why) = &overload {
        if methods.dkim {
            out.dkim.push(Check {
                result: "permerror".into(),
                reason: why.clone(),
                ..Check::default()
            });
        }
    }
    let verify = verify_parsed(
        dns,
        &parsed,
        methods,
        overload.is_none(),
        spf,
        spf_domain,
        &mut out,
    );
    if tokio::time::timeout(limit, verify).await.is_err() {
        let late = || Check {
            result: "temperror".into(),
            reason: "time limit".into(),
            ..Check::default()
        };
        if methods.dkim && out.dkim.is_empty() {
            out.dkim.push(late());
        }
        if methods.arc && out.arc.is_none() {
            out.arc = Some(late());
        }
        if methods.dmarc && out.dmarc.is_none() {
            out.dmarc = Some(late());
        }
    }
    MessageResults {
        dkim: out.dkim.into_iter().map(Check::cleaned).collect(),
        arc: out.arc.map(Check::cleaned),
        dmarc: out.dmarc.map(Check::cleaned),
    }
}

/// The most DKIM-Signature fields verified in one message (OpenDKIM and rspamd stop at a
/// handful too), and the longest one (a long `h=` makes the header match quadratic).
const MAX_DKIM_SIGNATURES: usize = 10;
const MAX_DKIM_SIGNATURE_BYTES: usize = 8192;

/// Why the message's DKIM signatures are not verified at all, if they are too many or one
/// is too long.
fn signature_overload(message: &[u8]) -> Option<String> {
    let sizes = crate::core::authres::field_sizes(message, "DKIM-Signature");
    if sizes.len() > MAX_DKIM_SIGNATURES {
        return Some(format!(
            "{} DKIM signatures, more than the {MAX_DKIM_SIGNATURES} verified",
            sizes.len()
        ));
    }
    if sizes.iter().any(|&n| n > MAX_DKIM_SIGNATURE_BYTES) {
        return Some(format!(
            "a DKIM-Signature field longer than {MAX_DKIM_SIGNATURE_BYTES} bytes"
        ));
    }
    None
}

async fn verify_parsed(
    dns: &Dns,
    message: &AuthenticatedMessage<'_>,
    methods: &AuthMethods,
    verify_dkim: bool,
    spf: Option<&Check>,
    spf_domain: &str,
    out: &mut MessageResults,
) {
    let auth = dns.authenticator();
    let c = &dns.caches;
    let dkim: Vec<DkimOutput<'_>> = if methods.needs_dkim() && verify_dkim {
        auth.verify_dkim(
            Parameters::new(message)
                .with_txt_cache(&c.txt)
                .with_mx_cache(&c.mx)
                .with_ipv4_cache(&c.ipv4)
                .with_ipv6_cache(&c.ipv6)
                .with_ptr_cache(&c.ptr),
        )
        .await
    } else {
        Vec::new()
    };
    if verify_dkim {
        out.dkim = dkim.iter().map(dkim_check).collect();
    }
    // RFC 8301 §3.1: a verifier must not count an rsa-sha1 signature as valid, so DMARC
    // never sees one.
    let dkim: Vec<DkimOutput<'_>> = dkim.into_iter().filter(|o| !is_sha1(o)).collect();
    if methods.arc {
        let arc = auth
            .verify_arc(
                Parameters::new(message)
                    .with_txt_cache(&c.txt)
                    .with_mx_cache(&c.mx)
                    .with_ipv4_cache(&c.ipv4)
                    .with_ipv6_cache(&c.ipv6)
                    .with_ptr_cache(&c.ptr),
            )
            .await;
        let (result, reason) = dkim_words(arc.result());
        let domain = arc
            .sets()
            .last()
            .map(|set| set.seal.header.d.clone())
            .unwrap_or_default();
        out.arc = Some(Check {
            result,
            reason,
            domain,
            ..Check::default()
        });
    }
    if methods.dmarc {
        let spf_output = SpfOutput::new(spf_domain.to_string())
            .with_result(spf.map_or(SpfResult::None, |s| spf_from_word(&s.result)));
        let dmarc = auth
            .verify_dmarc(
                Parameters::new(DmarcParameters::new(
                    message,
                    &dkim,
                    spf_domain,
                    &spf_output,
                ))
                .with_txt_cache(&c.txt)
                .with_mx_cache(&c.mx)
                .with_ipv4_cache(&c.ipv4)
                .with_ipv6_cache(&c.ipv6)
                .with_ptr_cache(&c.ptr),
            )
            .await;
        let (result, reason) = match dmarc.result() {
            DmarcResult::Pass => ("pass", String::new()),
            DmarcResult::Fail(e) => ("fail", e.to_string()),
            DmarcResult::TempError(e) => ("temperror", e.to_string()),
            DmarcResult::PermError(e) => ("permerror", e.to_string()),
            DmarcResult::None => ("none", String::new()),
        };
        let policy = match dmarc.dmarc_record() {
            None => "",
            Some(_) => match dmarc.policy() {
                Policy::Reject => "reject",
                Policy::Quarantine => "quarantine",
                Policy::None | Policy::Unspecified => "none",
            },
        };
        let domain = if dmarc.domain().is_empty() {
            message
                .from()
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .unwrap_or_default()
        } else {
            dmarc.domain().to_string()
        };
        out.dmarc = Some(Check {
            result: result.into(),
            domain,
            reason,
            policy: policy.into(),
            ..Check::default()
        });
    }
}

fn dkim_words(result: &DkimResult) -> (String, String) {
    let (word, reason) = match result {
        DkimResult::Pass => ("pass", String::new()),
        // mail-auth calls a body hash mismatch neutral; RFC 6376 §6.1.3 makes it a PERMFAIL,
        // which RFC 8601 reports as fail (and RFC 8617 §5.2 fails the ARC chain for it).
        DkimResult::Neutral(
            e @ (mail_auth::Error::Dkim(DkimError::FailedBodyHashMatch)
            | mail_auth::Error::Arc(ArcError::FailedBodyHashMatch)),
        ) => ("fail", e.to_string()),
        DkimResult::Neutral(e) => ("neutral", e.to_string()),
        DkimResult::Fail(e) => ("fail", e.to_string()),
        DkimResult::PermError(e) => ("permerror", e.to_string()),
        DkimResult::TempError(e) => ("temperror", e.to_string()),
        DkimResult::None => ("none", String::new()),
    };
    (word.to_string(), reason)
}

fn is_sha1(output: &DkimOutput<'_>) -> bool {
    output
        .signature()
        .is_some_and(|s| s.a == mail_auth::common::crypto::Algorithm::RsaSha1)
}

fn dkim_check(output: &DkimOutput<'_>) -> Check {
    let (result, reason) = if is_sha1(output) {
        (
            "permerror".to_string(),
            "rsa-sha1 signatures are not accepted (RFC 8301)".to_string(),
        )
    } else {
        dkim_words(output.result())
    };
    let (domain, selector, identity) = output.signature().map_or_else(Default::default, |s| {
        (s.d.clone(), s.s.clone(), s.i.clone())
    });
    Check {
        result,
        domain,
        selector,
        identity,
        reason,
        ..Check::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_hash_mismatch_is_a_failure() {
        let dkim = DkimResult::Neutral(mail_auth::Error::Dkim(DkimError::FailedBodyHashMatch));
        assert_eq!(dkim_words(&dkim).0, "fail");
        let arc = DkimResult::Neutral(mail_auth::Error::Arc(ArcError::FailedBodyHashMatch));
        assert_eq!(dkim_words(&arc).0, "fail");
        let other = DkimResult::Neutral(mail_auth::Error::Dkim(DkimError::SignatureExpired));
        assert_eq!(dkim_words(&other).0, "neutral");
        assert_eq!(dkim_words(&DkimResult::Pass).0, "pass");
    }

    #[test]
    fn spf_words_round_trip() {
        for word in [
            "pass",
            "fail",
            "softfail",
            "neutral",
            "temperror",
            "permerror",
            "none",
        ] {
            assert_eq!(spf_word(spf_from_word(word)), word);
        }
        assert_eq!(spf_scope("<>"), SpfScope::Helo);
        assert_eq!(spf_scope(""), SpfScope::Helo);
        assert_eq!(spf_scope("a@b"), SpfScope::MailFrom);
    }
}
