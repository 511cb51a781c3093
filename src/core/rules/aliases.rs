//! What an alias resolution answered (`aliasproc`, through the library's Tcl wrapper) and the
//! reply for each failure: unknown `550`, over the recipient limit `452`, a lookup that failed
//! `451` (the client retries; the unresolved address is never used instead).
use super::replies;
use crate::core::reply::Reply;

/// The final addresses for `addr`, or the reply refusing it. `answer` is the wrapper's
/// result: a first line `ok`, `unknown`, `limit` or `error`, then the addresses (or a
/// message), one per line.
pub fn resolution(addr: &str, answer: &str) -> Result<Vec<String>, Reply> {
    let mut lines = answer.lines();
    match lines.next().unwrap_or("") {
        "ok" => {
            let targets: Vec<String> = lines
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            if targets.is_empty() {
                Err(replies::unknown_recipient(addr))
            } else {
                Ok(targets)
            }
        }
        "unknown" => Err(replies::unknown_recipient(addr)),
        "limit" => Err(replies::too_many_recipients()),
        _ => Err(replies::recipient_lookup_failed(addr)),
    }
}

/// Whether the resolution changes nothing (the address maps to itself alone).
pub fn is_identity(addr: &str, targets: &[String]) -> bool {
    matches!(targets, [only] if only.eq_ignore_ascii_case(addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_addresses_or_replies() {
        assert_eq!(
            resolution("a@x.org", "ok\nb@y.org\n\nc@z.org\n"),
            Ok(vec!["b@y.org".to_string(), "c@z.org".to_string()])
        );
        let code = |answer: &str| resolution("a@x.org", answer).unwrap_err().code();
        assert_eq!(code("ok"), 550);
        assert_eq!(code("unknown\nunknown recipient: a@x.org"), 550);
        assert_eq!(code("limit\ntoo many"), 452);
        assert_eq!(code("error\ndatabase down"), 451);
        assert_eq!(code(""), 451);
        assert_eq!(code("garbage"), 451);
        let unknown = resolution("a@x.org", "unknown").unwrap_err();
        assert_eq!(
            unknown.as_bytes(),
            b"550 5.1.1 <a@x.org>... Unknown recipient\r\n"
        );
    }

    #[test]
    fn identity() {
        assert!(is_identity("a@x.org", &["A@x.org".to_string()]));
        assert!(!is_identity("a@x.org", &["b@x.org".to_string()]));
        assert!(!is_identity(
            "a@x.org",
            &["a@x.org".to_string(), "b@x.org".to_string()]
        ));
    }
}
