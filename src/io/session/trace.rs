//! What a session leaves behind: our `Received:` header (RFC 5321 §4.4) on each message,
//! and one summary log line per transaction.
use super::Session;
use crate::core::clock::Utc;
use crate::core::trace::{received_header, TraceInfo};
use crate::log::{log, Severity};

impl Session {
    pub(super) fn trace_header(&self, id: &str) -> String {
        let tls = self.handle.tls();
        let env = self.handle.envelope();
        let auth_user = env.auth_user.clone();
        let single = if env.recipient_count() == 1 {
            env.recipients().next().map(|r| r.addr.clone())
        } else {
            None
        };
        received_header(&TraceInfo {
            helo: self.helo.as_deref().unwrap_or("unknown"),
            client_ip: &self.peer.ip().to_string(),
            client_name: self.client_name.as_deref(),
            hostname: &self.config.hostname,
            version: crate::VERSION,
            // RFC 3848: S for TLS, A for AUTH.
            protocol: match (self.esmtp, tls.is_some(), auth_user.is_some()) {
                (true, true, true) => "ESMTPSA",
                (true, false, true) => "ESMTPA",
                (true, true, false) => "ESMTPS",
                (true, false, false) => "ESMTP",
                (false, true, _) => "SMTPS",
                (false, false, _) => "SMTP",
            },
            id,
            single_rcpt: single.as_deref(),
            auth_user: auth_user.as_deref(),
            date: &Utc::now().rfc5322(),
            tls: tls.as_deref(),
        })
    }

    /// One summary line per transaction (when `debug` >= 1).
    pub(super) fn log_transaction(&self, status: u16, size: u64) {
        if self.config.debug < 1 {
            return;
        }
        let env = self.handle.envelope();
        let rcpts: Vec<String> = env
            .recipients()
            .map(|r| format!("{}(0x{:x}/{:.2})", r.addr, r.flags, r.spam_score))
            .collect();
        log(
            Severity::Notice,
            &format!(
                "nssmtpd: {}: HOST: {}, AUTH: {}, FLAGS: 0x{:x}, FROM: {}, RCPT: {}, SIZE: {}, STATUS: {}",
                self.id(),
                self.peer.ip(),
                env.auth_user.as_deref().unwrap_or("-"),
                env.flags,
                env.from.as_deref().unwrap_or(""),
                rcpts.join(", "),
                size,
                status
            ),
        );
    }
}
