//! The SMTP event log's lines, as upstream nssmtpd 2.8 writes them (its README, "SMTP event
//! logging"): positional fields separated by single spaces, then `key=value` tokens.
//!
//! ```text
//! [timestamp] thread code event [peer] session transaction server sender recipient action reason targets key=value ...
//! ```
//!
//! Absent or empty fields are `-`; inside a field, spaces, control bytes and backslashes are
//! written `\xHH`, so every field stays one token and a reader splits on spaces. Non-ASCII
//! text is kept as UTF-8. This module also holds the checks of `ns_smtpd logevent` and the
//! folding of a recipient policy's details into the final `recipient` event.

/// One event, before it is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// The SMTP reply code, if the event has one.
    pub code: Option<u16>,
    pub event: String,
    /// The socket peer's address (written in brackets).
    pub peer: String,
    pub session: String,
    /// The MAIL transaction within the session; 0 before the first MAIL.
    pub transaction: u32,
    pub server: String,
    pub sender: String,
    pub recipient: String,
    pub action: String,
    pub reason: String,
    pub targets: Vec<String>,
    /// Trailing `key=value` tokens, in order.
    pub extra: Vec<(String, String)>,
}

/// One field: `-` when empty, else spaces, control bytes and backslashes as `\xHH`.
pub fn escape(value: &str) -> String {
    escape_with(value, &[])
}

/// As [`escape`], also escaping `also` (commas inside a target, `=` inside a key).
fn escape_with(value: &str, also: &[char]) -> String {
    if value.is_empty() {
        return "-".into();
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == ' ' || c == '\\' || c.is_ascii_control() || also.contains(&c) {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else if c.is_control() {
            // C1 controls and the like: escaped byte by byte, as their UTF-8.
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Event {
    /// The whole line, without its newline. `stamp` is the send log's bracketed time.
    pub fn line(&self, stamp: &str, thread: &str) -> String {
        let targets = if self.targets.is_empty() {
            "-".to_string()
        } else {
            self.targets
                .iter()
                .map(|t| escape_with(t, &[',']))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut line = format!(
            "{stamp} {} {} {} [{}] {} {} {} {} {} {} {} {targets}",
            escape(thread),
            self.code.map_or("-".to_string(), |c| c.to_string()),
            escape(&self.event),
            escape(&self.peer),
            escape(&self.session),
            self.transaction,
            escape(&self.server),
            escape(&self.sender),
            escape(&self.recipient),
            escape(&self.action),
            escape(&self.reason),
        );
        for (key, value) in &self.extra {
            line.push(' ');
            line.push_str(&escape_with(key, &['=']));
            line.push('=');
            line.push_str(&escape(value));
        }
        line
    }
}

/// The action a final reply code stands for: 2xx accept, 4xx defer, 5xx reject.
pub fn action_of(code: u16) -> &'static str {
    match code {
        200..=399 => "accept",
        400..=499 => "defer",
        _ => "reject",
    }
}

/// Folds a recipient policy's details (the dict given to `ns_smtpd logevent id policy`)
/// into the final `recipient` event of the RCPT: the final code and action stand; the
/// policy's reason is kept only when its action is the final one (a changed action means a
/// later step decided, so the stale reason goes); `builtin` is the session's own reason.
pub fn fold_policy(event: &mut Event, builtin: &str, policy: Option<&[(String, String)]>) {
    let code = event.code.unwrap_or(250);
    event.action = action_of(code).to_string();
    event.reason = builtin.to_string();
    let Some(details) = policy else {
        return;
    };
    let get = |k: &str| {
        details
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if builtin.is_empty() {
        event.reason = if get("action") == Some(event.action.as_str()) {
            get("reason")
                .filter(|r| !r.is_empty())
                .unwrap_or("recipient-policy")
                .to_string()
        } else {
            "recipient-policy".to_string()
        };
    }
    for (key, value) in details {
        if !FIXED_KEYS.contains(&key.as_str()) && !event.extra.iter().any(|(k, _)| k == key) {
            event.extra.push((key.clone(), value.clone()));
        }
    }
}

/// The dict keys that fill positional fields rather than trailing tokens.
pub const FIXED_KEYS: &[&str] = &["code", "recipient", "sender", "action", "reason", "targets"];

/// The largest details dict `ns_smtpd logevent` takes (its string form).
pub const MAX_DETAILS: usize = 16 * 1024;

/// An event name for `ns_smtpd logevent`: 1-64 lowercase letters, digits, `_` or `-`.
pub fn check_event_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid event name \"{name}\": 1-64 lowercase letters, digits, underscores or hyphens"
        ))
    }
}

/// A details key: 1-64 letters, digits, `_` or `-`.
pub fn check_key(key: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid key \"{key}\": 1-64 letters, digits, underscores or hyphens"
        ))
    }
}

/// A supplied `code`: an integer from 100 to 599.
pub fn check_code(value: &str) -> Result<u16, String> {
    match value.trim().parse::<u16>() {
        Ok(c) if (100..=599).contains(&c) => Ok(c),
        _ => Err(format!(
            "invalid code \"{value}\": an integer from 100 to 599"
        )),
    }
}

/// The session identifier of the event log and the `Received:` id, of upstream's shape:
/// module start time, process id, server (listener) and connection ids.
pub fn session_tag(started: u64, pid: u32, server: u64, conn: u64) -> String {
    format!("{started}-{pid}-{server}-{conn}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Event {
        Event {
            code: Some(451),
            event: "recipient".into(),
            peer: "91.114.61.250".into(),
            session: "1790690000-123456-8-12".into(),
            transaction: 1,
            server: "openacs.org".into(),
            sender: "neumann@wu.ac.at".into(),
            recipient: "webmaster@openacs.org".into(),
            action: "defer".into(),
            reason: "greylist-new".into(),
            ..Event::default()
        }
    }

    #[test]
    fn upstream_example_line() {
        assert_eq!(
            sample().line("[29/Sep/2026:15:10:00 +0200]", "-nssmptd:12-"),
            "[29/Sep/2026:15:10:00 +0200] -nssmptd:12- 451 recipient [91.114.61.250] \
             1790690000-123456-8-12 1 openacs.org neumann@wu.ac.at webmaster@openacs.org \
             defer greylist-new -"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(escape(""), "-");
        assert_eq!(escape("a b"), "a\\x20b");
        assert_eq!(
            escape("line1\nline2\r\t\\\"{}[x]$x"),
            "line1\\x0aline2\\x0d\\x09\\x5c\"{}[x]$x"
        );
        assert_eq!(escape("Grüße world"), "Grüße\\x20world");
        assert_eq!(escape("\u{7f}\u{85}"), "\\x7f\\xc2\\x85");
        let mut e = sample();
        e.code = None;
        e.peer = "::1".into();
        e.targets = vec!["a@x.test".into(), "b,c@x.test".into()];
        e.extra = vec![
            ("tag".into(), "Grüße world".into()),
            ("empty".into(), String::new()),
        ];
        let line = e.line("[t +0000]", "-t-");
        assert!(line.contains(" - recipient [::1] "), "{line}");
        assert!(
            line.ends_with(" a@x.test,b\\x2cc@x.test tag=Grüße\\x20world empty=-"),
            "{line}"
        );
        // Every line splits into the same number of tokens whatever the input.
        let mut hostile = sample();
        hostile.sender = " \u{0}\u{1b}[31m \\ ".into();
        hostile.recipient = "x\r\ny z".into();
        hostile.server = "a b".into();
        assert_eq!(hostile.line("[t +0000]", "-t-").split(' ').count(), 14);
        assert!(!hostile.line("[t +0000]", "-t-").contains('\n'));
    }

    #[test]
    fn policy_folding() {
        let pairs = |s: &[(&str, &str)]| -> Vec<(String, String)> {
            s.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        // A custom reason stays when its action is the final one; the final code wins.
        let mut e = Event {
            code: Some(451),
            ..Event::default()
        };
        let p = pairs(&[
            ("action", "defer"),
            ("reason", "rate-limit"),
            ("code", "550"),
            ("tag", "custom"),
        ]);
        fold_policy(&mut e, "", Some(&p));
        assert_eq!(
            (e.action.as_str(), e.reason.as_str()),
            ("defer", "rate-limit")
        );
        assert_eq!(e.extra, pairs(&[("tag", "custom")]));
        // A changed action discards the stale reason.
        let mut e = Event {
            code: Some(550),
            ..Event::default()
        };
        fold_policy(
            &mut e,
            "",
            Some(&pairs(&[
                ("action", "accept"),
                ("reason", "greylist-known"),
            ])),
        );
        assert_eq!(
            (e.action.as_str(), e.reason.as_str()),
            ("reject", "recipient-policy")
        );
        // No reason: recipient-policy.
        let mut e = Event {
            code: Some(250),
            ..Event::default()
        };
        fold_policy(&mut e, "", Some(&pairs(&[("action", "accept")])));
        assert_eq!(
            (e.action.as_str(), e.reason.as_str()),
            ("accept", "recipient-policy")
        );
        // A later step's own reason takes precedence.
        let mut e = Event {
            code: Some(550),
            ..Event::default()
        };
        fold_policy(
            &mut e,
            "relay-refused",
            Some(&pairs(&[
                ("action", "accept"),
                ("reason", "greylist-known"),
            ])),
        );
        assert_eq!(e.reason, "relay-refused");
        // No policy: the session's reason.
        let mut e = Event {
            code: Some(550),
            ..Event::default()
        };
        fold_policy(&mut e, "relay-denied", None);
        assert_eq!(
            (e.action.as_str(), e.reason.as_str()),
            ("reject", "relay-denied")
        );
    }

    #[test]
    fn checks() {
        assert!(check_event_name("custom").is_ok());
        assert!(check_event_name("a_b-9").is_ok());
        assert!(check_event_name("Custom").is_err());
        assert!(check_event_name("").is_err());
        assert!(check_event_name(&"a".repeat(65)).is_err());
        assert!(check_event_name("a b").is_err());
        assert!(check_key("Tag_1-x").is_ok());
        assert!(check_key("a=b").is_err());
        assert!(check_key("").is_err());
        assert_eq!(check_code("451"), Ok(451));
        assert!(check_code("99").is_err());
        assert!(check_code("600").is_err());
        assert!(check_code("abc").is_err());
        assert_eq!(
            session_tag(1790690000, 123456, 8, 12),
            "1790690000-123456-8-12"
        );
    }
}
