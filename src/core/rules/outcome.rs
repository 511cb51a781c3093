//! The reply to a message: refusals at the end of data, how a failure at the next hop
//! becomes the client's reply, how the local and relay verdicts combine, and LMTP's reply
//! per recipient.
use super::replies;
use crate::core::reply::Reply;
use crate::core::server_reply::ServerReply;

/// What the DATA reader found that refuses a message outright.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataFindings {
    pub too_big: bool,
    pub bare_line_ending: bool,
    /// `barelf reject`: a bare CR or LF refuses the message (else it was normalized).
    pub reject_bare_line_endings: bool,
    pub line_too_long: bool,
    /// A NUL byte in the message, and whether that refuses it (`allownul` off).
    pub nul: bool,
    pub reject_nul: bool,
}

pub fn data_refusal(found: DataFindings) -> Option<Reply> {
    if found.too_big {
        Some(replies::message_too_big())
    } else if found.bare_line_ending && found.reject_bare_line_endings {
        Some(replies::bare_line_ending())
    } else if found.line_too_long {
        Some(replies::data_line_too_long())
    } else if found.nul && found.reject_nul {
        Some(replies::nul_in_message())
    } else {
        None
    }
}

/// The client's reply for a failure at the next hop during `step` (`MAIL FROM`, `RCPT TO`,
/// `DATA`, `end of data`, or a step of the connection itself). The relay's refusal of this
/// mail is passed on (its 421 as 451: the relay closing on us is no reason to close on our
/// client); anything else about the relay is a temporary failure for the client, so nothing
/// is lost.
pub fn relay_failure(step: &str, relay_reply: Option<&ServerReply>, target: &str) -> Reply {
    let about_this_mail = matches!(step, "MAIL FROM" | "RCPT TO" | "DATA" | "end of data");
    match relay_reply {
        Some(r) if r.code >= 400 && about_this_mail => {
            let text = r.lines.first().map(|l| {
                let t = l.trim();
                match r.enhanced() {
                    Some(en) => t[en.len()..].trim().to_string(),
                    None => t.to_string(),
                }
            });
            let enhanced = r.enhanced().map(str::to_string).unwrap_or_else(|| {
                if r.code >= 500 {
                    "5.0.0".into()
                } else {
                    "4.0.0".into()
                }
            });
            let code = if r.code == 421 { 451 } else { r.code };
            Reply::new(code, &enhanced, &text.unwrap_or_default())
        }
        _ => replies::next_hop_unavailable(target),
    }
}

/// Of two failures, the one that makes the client try again (4xx) wins: with a temporary
/// failure nothing is lost, at worst delivered twice.
pub fn worse(a: Option<Reply>, b: Reply) -> Reply {
    match a {
        Some(a) if a.is_transient_failure() => a,
        Some(a) if !b.is_transient_failure() && !b.is_positive() => a,
        _ => b,
    }
}

/// The one final reply for a message: the local verdict (dataproc) combined with the
/// relay's. `250` only when every part was accepted.
pub fn final_reply(local: Reply, relay_failure: Option<Reply>) -> Reply {
    match relay_failure {
        None => local,
        Some(failure) if local.is_positive() => failure,
        Some(failure) => worse(Some(local), failure),
    }
}

/// LMTP (RFC 2033 §4.2): the message's reply once per recipient, in RCPT order, each
/// naming its recipient.
pub fn lmtp_replies(reply: &Reply, recipients: &[String]) -> Vec<Reply> {
    let last = reply.text().lines().last().unwrap_or("").to_string();
    let rest = last.get(4..).unwrap_or("").trim();
    recipients
        .iter()
        .map(|addr| {
            let line = format!("{} {rest} <{addr}>", reply.code());
            Reply::from_callback(&line).unwrap_or_else(|| reply.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16, lines: &[&str]) -> ServerReply {
        ServerReply {
            code,
            lines: lines.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn r(text: &str) -> Reply {
        Reply::from_callback(text).unwrap()
    }

    #[test]
    fn data_refusals() {
        let f = |too_big, bare, reject, long| DataFindings {
            too_big,
            bare_line_ending: bare,
            reject_bare_line_endings: reject,
            line_too_long: long,
            ..DataFindings::default()
        };
        let nul = |nul, reject_nul| DataFindings {
            nul,
            reject_nul,
            ..DataFindings::default()
        };
        let cases = [
            (f(false, false, true, false), None),
            (
                f(true, true, true, true),
                Some("552 5.3.4 Message size exceeds fixed maximum message size"),
            ),
            (
                f(false, true, true, true),
                Some("550 5.6.0 Message contains bare CR or LF; lines must end with CRLF"),
            ),
            (f(false, true, false, false), None),
            (
                f(false, true, false, true),
                Some("552 5.3.4 Message line too long"),
            ),
            (
                f(false, false, true, true),
                Some("552 5.3.4 Message line too long"),
            ),
        ];
        let more = [
            (
                nul(true, true),
                Some("550 5.6.0 Message contains NUL characters"),
            ),
            (nul(true, false), None),
            (nul(false, true), None),
            (
                DataFindings {
                    too_big: true,
                    ..nul(true, true)
                },
                Some("552 5.3.4 Message size exceeds fixed maximum message size"),
            ),
        ];
        for (found, want) in cases.into_iter().chain(more) {
            let got = data_refusal(found);
            assert_eq!(got.as_ref().map(Reply::text), want, "{found:?}");
        }
    }

    #[test]
    fn relay_failures() {
        let hop = "relay.example:25";
        let unavailable = "451 4.4.1 Next hop relay.example:25 unavailable, try again later";
        let cases: Vec<(&str, Option<ServerReply>, &str)> = vec![
            (
                "RCPT TO",
                Some(server(550, &["5.1.1 No such user"])),
                "550 5.1.1 No such user",
            ),
            (
                "RCPT TO",
                Some(server(550, &["No such user"])),
                "550 5.0.0 No such user",
            ),
            (
                "MAIL FROM",
                Some(server(452, &["Try later"])),
                "452 4.0.0 Try later",
            ),
            (
                "DATA",
                Some(server(554, &["5.7.1 No", "more"])),
                "554 5.7.1 No",
            ),
            (
                "end of data",
                Some(server(421, &["4.3.2 Bye"])),
                "451 4.3.2 Bye",
            ),
            ("end of data", Some(server(552, &[])), "552 5.0.0 "),
            ("EHLO", Some(server(554, &["5.7.1 Go away"])), unavailable),
            ("connect", None, unavailable),
            (
                "STARTTLS",
                Some(server(454, &["4.7.0 no TLS"])),
                unavailable,
            ),
            ("AUTH", Some(server(535, &["5.7.8 bad"])), unavailable),
            ("RCPT TO", None, unavailable),
            ("RCPT TO", Some(server(250, &["ok"])), unavailable),
        ];
        for (step, reply, want) in cases {
            assert_eq!(
                relay_failure(step, reply.as_ref(), hop).text(),
                want,
                "{step} {reply:?}"
            );
        }
    }

    #[test]
    fn combined_replies() {
        let ok = r("250 2.0.0 Ok");
        let soft = r("451 4.4.1 later");
        let hard = r("550 5.1.1 no");
        let hard2 = r("554 5.7.1 spam");
        let cases = [
            (ok.clone(), None, "250 2.0.0 Ok"),
            (ok.clone(), Some(hard.clone()), "550 5.1.1 no"),
            (ok.clone(), Some(soft.clone()), "451 4.4.1 later"),
            (hard.clone(), Some(soft.clone()), "451 4.4.1 later"),
            (soft.clone(), Some(hard.clone()), "451 4.4.1 later"),
            (hard.clone(), Some(hard2.clone()), "550 5.1.1 no"),
            (hard2, None, "554 5.7.1 spam"),
        ];
        for (local, relay, want) in cases {
            assert_eq!(
                final_reply(local.clone(), relay.clone()).text(),
                want,
                "{local:?} {relay:?}"
            );
        }
        assert_eq!(worse(None, ok.clone()).text(), "250 2.0.0 Ok");
        assert_eq!(worse(Some(hard.clone()), ok).text(), "250 2.0.0 Ok");
    }

    #[test]
    fn lmtp_per_recipient() {
        let rcpts = vec!["a@x".to_string(), "b@y".to_string()];
        let cases = [
            (
                r("250 2.0.0 Ok: queued as 7.1"),
                vec![
                    "250 2.0.0 Ok: queued as 7.1 <a@x>",
                    "250 2.0.0 Ok: queued as 7.1 <b@y>",
                ],
            ),
            (
                r("550-5.7.1 first\n550 5.7.1 last"),
                vec!["550 5.7.1 last <a@x>", "550 5.7.1 last <b@y>"],
            ),
            // A bare code (a callback's `setreply 451`) keeps its empty text.
            (r("451"), vec!["451  <a@x>", "451  <b@y>"]),
        ];
        for (reply, want) in cases {
            let got: Vec<String> = lmtp_replies(&reply, &rcpts)
                .iter()
                .map(|r| r.text().to_string())
                .collect();
            assert_eq!(got, want, "{reply:?}");
        }
        assert!(lmtp_replies(&r("250 ok"), &[]).is_empty());
    }
}
