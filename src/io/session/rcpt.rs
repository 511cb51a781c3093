//! RCPT TO: limits, the address, the relay rules (relay domains, or a LOCAL or
//! authenticated client), `rcptproc`, and the recipient handed to its next hop at once so
//! the next hop's refusal reaches the client as the RCPT reply.
use super::{Flow, Session};
use crate::core::command::Param;
use crate::core::envelope::Recipient;
use crate::core::flags;
use crate::core::rules::{paths, replies};
use crate::io::policy::Hook;
use crate::log::{log, Severity};

impl Session {
    /// RCPT, once its order was checked.
    pub(super) async fn rcpt(&mut self, path: String, params: Vec<Param>) -> Flow {
        if let Err(reply) = paths::check_rcpt_params(&params) {
            return self.error_reply(reply);
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
            return self.error_reply(replies::too_many_recipients());
        }
        let smtputf8 = self.mail_params.iter().any(|p| p.keyword == "SMTPUTF8");
        if let Err(reply) = paths::check_charset(&path, self.line_utf8, smtputf8) {
            return self.error_reply(reply);
        }
        let (addr, domain) = match paths::recipient(&line, &path, self.strict()) {
            Ok(r) => r,
            Err(reply) => return self.error_reply(reply),
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
            return self.error_reply(replies::relaying_denied(&addr));
        }
        // Aliases are resolved (and unknown recipients refused) before rcptproc, which sees
        // the original address; its targets replace it only once it is accepted.
        let targets = match self.resolve_alias(&addr, room).await {
            Ok(t) => t,
            Err(reply) => {
                self.shared.stats.recipient_rejected();
                return self.error_reply(reply);
            }
        };
        self.handle.envelope().add_recipient(recipient);
        let mut reply = self
            .callback_reply(Hook::Rcpt, replies::recipient_ok(&addr))
            .await;
        let mut finals = vec![addr.clone()];
        if reply.is_positive() {
            if let Some(targets) = targets {
                if self.expand_recipient(&addr, &targets) {
                    finals = targets;
                }
            }
            for each in &finals {
                if let Some(refusal) = self.relay_recipient(each).await {
                    reply = refusal;
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
        self.conclude(reply)
    }
}
