//! RCPT TO: limits, the address, the relay rules (relay domains, or a LOCAL or
//! authenticated client), `rcptproc`, and the recipient handed to its next hop at once so
//! the next hop's refusal reaches the client as the RCPT reply.
use super::{Flow, Session};
use crate::core::command::Param;
use crate::core::envelope::Recipient;
use crate::core::flags;
use crate::core::reply::Reply;
use crate::core::rules::{paths, replies};
use crate::io::policy::Hook;
use crate::log::{log, Severity};

/// How one RCPT ended: an error reply (counted as an error) or a decision to conclude;
/// with the address (as given, when it did not parse) and the session's own reason for
/// the event log (empty when a callback or policy decided).
enum Decision {
    Error(Reply, String, &'static str),
    Final(Reply, String, &'static str),
}

impl Session {
    /// RCPT, once its order was checked: decided, logged as one `recipient` event, replied.
    pub(super) async fn rcpt(&mut self, path: String, params: Vec<Param>) -> Flow {
        let decision = self.rcpt_decision(path, params).await;
        let (Decision::Error(reply, addr, reason) | Decision::Final(reply, addr, reason)) =
            &decision;
        self.event_recipient(addr, reply.code(), reason);
        match decision {
            Decision::Error(reply, ..) => self.error_reply(reply),
            Decision::Final(reply, ..) => self.conclude(reply),
        }
    }

    async fn rcpt_decision(&mut self, path: String, params: Vec<Param>) -> Decision {
        if let Err(reply) = paths::check_rcpt_params(&params) {
            return Decision::Error(reply, path, "invalid-parameters");
        }
        let (room, line) = {
            let env = self.handle.envelope();
            let limit = paths::recipient_limit(
                env.from.as_deref(),
                self.config.maxrcpt,
                self.config.maxerrorrcpts,
            );
            (
                limit.saturating_sub(env.recipient_count()),
                env.line.clone(),
            )
        };
        let full = room == 0;
        if full {
            return Decision::Error(replies::too_many_recipients(), path, "too-many-recipients");
        }
        let smtputf8 = self.mail_params.iter().any(|p| p.keyword == "SMTPUTF8");
        if let Err(reply) = paths::check_charset(&path, self.line_utf8, smtputf8) {
            return Decision::Error(reply, path, "invalid-address");
        }
        let (addr, domain) = match paths::recipient(&line, &path, self.strict()) {
            Ok(r) => r,
            Err(reply) => return Decision::Error(reply, path, "invalid-address"),
        };
        let mut recipient = Recipient::new(addr.clone(), 0);
        match &domain {
            None => recipient.flags |= flags::RELAY,
            Some(d) => {
                let lists = self.shared.lists.relay_domains.read().unwrap();
                if let Some(entry) = lists.find(d) {
                    recipient.flags |= flags::RELAY;
                    recipient.next_hop = entry.target();
                }
            }
        }
        // Local clients and authenticated users may send to any domain.
        if recipient.flags & flags::RELAY == 0 && !self.trusted_client() {
            self.shared.stats.recipient_rejected();
            log(
                Severity::Notice,
                &format!(
                    "nssmtpd: {}: HOST: {}, RCPT: {addr}, Relaying denied",
                    self.id(),
                    self.peer.ip()
                ),
            );
            return Decision::Error(replies::relaying_denied(&addr), addr, "relay-denied");
        }
        // Aliases are resolved (and unknown recipients refused) before rcptproc, which sees
        // the original address; its targets replace it only once it is accepted.
        let targets = match self.resolve_alias(&addr, room).await {
            Ok(t) => t,
            Err(reply) => {
                self.shared.stats.recipient_rejected();
                let reason = if reply.code() >= 500 {
                    "unknown-recipient"
                } else {
                    "alias-error"
                };
                return Decision::Error(reply, addr, reason);
            }
        };
        self.handle.envelope().add_recipient(recipient);
        let mut reply = self
            .callback_reply(Hook::Rcpt, replies::recipient_ok(&addr))
            .await;
        let mut finals = vec![addr.clone()];
        let mut reason = "";
        if reply.is_positive() {
            if let Some(targets) = targets {
                if self.expand_recipient(&addr, &targets) {
                    self.event_alias(&addr, &targets);
                    finals = targets;
                }
            }
            for each in &finals {
                if let Some(refusal) = self.relay_recipient(each).await {
                    reply = refusal;
                    reason = "relay-refused";
                    break;
                }
            }
        }
        if reply.is_positive() {
            self.shared.stats.recipient_accepted();
        } else {
            self.shared.stats.recipient_rejected();
            // A refused recipient is not kept, whether or not the callback removed it.
            let mut env = self.handle.envelope();
            for each in finals.iter().rev() {
                env.remove_newest_if(each);
            }
        }
        Decision::Final(reply, addr, reason)
    }
}
