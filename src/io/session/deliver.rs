//! The end of a message (DATA or BDAT LAST): limits, content checks, the relay, `dataproc`,
//! and the one reply (one per recipient under LMTP). `250` only when every part accepted.
use super::callbacks::Verdict;
use super::events::TransactionEnd;
use super::{Flow, Session};
use crate::core::data::{BareLinePolicy, DataOutcome};
use crate::core::flags;
use crate::core::message::parse_message;
use crate::core::reply::Reply;
use crate::core::rules::outcome::{self, DataFindings};
use crate::core::rules::replies;
use crate::io::policy::Hook;
use crate::io::shared::Mode;

/// The pseudo header that tells `dataproc` which bare line endings were normalized.
pub const BARE_LINE_HEADER: &str = "X-Smtpd-Bare-Line-Endings";

impl Session {
    pub(super) async fn deliver(&mut self, data: DataOutcome, trace_id: String) -> Flow {
        // In RCPT order, as LMTP's replies must be (the envelope keeps the newest first).
        let mut recipients: Vec<String> = self
            .handle
            .envelope()
            .recipients()
            .map(|r| r.addr.clone())
            .collect();
        recipients.reverse();
        self.shared.stats.bytes_received(data.size);
        self.events.data_bytes = data.size;
        let refusal = outcome::data_refusal(DataFindings {
            too_big: data.too_big,
            bare_line_ending: data.bare_line_ending,
            reject_bare_line_endings: self.barelf() == BareLinePolicy::Reject,
            line_too_long: data.line_too_long,
            nul: data.message.contains(&0),
            reject_nul: !self.config.allownul,
        });
        if let Some(reply) = refusal {
            let end = self.message_end(false, data.too_big);
            return self
                .refuse_message(reply, data.size, &recipients, end)
                .await;
        }
        let mut message = data.message;
        // Sender authentication on the bytes as received (before the content checks may
        // tag them), and before any callback, so that each can read the results.
        if let Some(reply) = self.check_message(&mut message).await {
            return self
                .refuse_message(reply, data.size, &recipients, TransactionEnd::Rejected)
                .await;
        }
        // Content checks come first: nothing is relayed that they refuse.
        let mut pseudo = match self.content_checks(&mut message).await {
            Ok(p) => p,
            Err(reply) => {
                return self
                    .refuse_message(reply, data.size, &recipients, TransactionEnd::Rejected)
                    .await
            }
        };
        // What `barelf normalize` rewrote, for Tcl only (the message no longer shows it).
        if data.bare_lf || data.bare_cr {
            let kinds: Vec<&str> = [(data.bare_lf, "lf"), (data.bare_cr, "cr")]
                .iter()
                .filter(|(seen, _)| *seen)
                .map(|(_, kind)| *kind)
                .collect();
            pseudo.push((BARE_LINE_HEADER.to_string(), Some(kinds.join(" "))));
        }
        // A full disk would lose the message after we said 250.
        if let Some(reply) = self.storage_refusal() {
            return self
                .refuse_message(reply, data.size, &recipients, TransactionEnd::Rejected)
                .await;
        }
        let parsed = parse_message(&message);
        {
            let mut env = self.handle.envelope();
            env.headers = pseudo;
            env.headers.extend(parsed.headers);
            env.body_offset = parsed.body_offset;
        }
        // datapolicyproc judges the whole message before the relay gets any of it.
        if let Some(reply) = self.data_policy(&mut message).await {
            return self
                .refuse_message(reply, data.size, &recipients, TransactionEnd::Rejected)
                .await;
        }
        // The relay gets the message before dataproc runs, so dataproc sees DELIVERED.
        let relay_failure = self.relay_message(&message).await;
        {
            let mut env = self.handle.envelope();
            // FASTPROXY: when the relay took every recipient, Tcl gets no copy of the message.
            let all_delivered = env.recipients().all(|r| r.flags & flags::DELIVERED != 0);
            if env.flags & flags::FASTPROXY != 0 && all_delivered {
                env.headers.clear();
                env.body_offset = 0;
            } else {
                env.message = message;
            }
        }
        // authdetailsproc only looks: what it answers or sets is not the message's reply.
        if self.shared.policy.wants(Hook::AuthDetails) {
            let _ = self.callback(Hook::AuthDetails).await;
            self.handle.envelope().reply = None;
        }
        let local = self
            .callback_reply(Hook::Data, replies::queued(&trace_id))
            .await;
        let reply = outcome::final_reply(local, relay_failure);
        self.end_relay().await;
        if reply.is_positive() {
            self.shared.stats.message_accepted();
        } else {
            self.shared.stats.message_rejected();
        }
        self.log_transaction(reply.code(), data.size);
        let end = self.message_end(reply.is_positive(), false);
        self.event_transaction_end(end);
        self.handle.envelope().reset_transaction();
        if self.mode == Mode::Lmtp {
            let abort = self.aborted();
            let flow = self.message_reply(reply, &recipients);
            return if abort { Flow::Close } else { flow };
        }
        self.conclude(reply)
    }

    /// The message policy (`datapolicyproc`): the refusal it gave, if any. The message is
    /// the session's while it runs, so `getbody` and `gethdr` see it.
    async fn data_policy(&mut self, message: &mut Vec<u8>) -> Option<Reply> {
        if !self.shared.policy.wants(Hook::DataPolicy) {
            return None;
        }
        self.handle.envelope().message = std::mem::take(message);
        let verdict = self.callback(Hook::DataPolicy).await;
        *message = std::mem::take(&mut self.handle.envelope().message);
        match verdict {
            Ok(Verdict::Reply(r)) if !r.is_positive() => Some(r),
            Ok(_) => None,
            Err(failure) => Some(failure),
        }
    }

    /// A message refused before the relay and dataproc saw it.
    async fn refuse_message(
        &mut self,
        reply: Reply,
        size: u64,
        recipients: &[String],
        end: TransactionEnd,
    ) -> Flow {
        self.shared.stats.message_rejected();
        self.event_transaction_end(end);
        self.log_transaction(reply.code(), size);
        self.end_relay().await;
        self.handle.envelope().reset_transaction();
        self.message_reply(reply, recipients)
    }

    /// The reply to a message: once, or under LMTP once per recipient (RFC 2033 §4.2).
    fn message_reply(&mut self, reply: Reply, recipients: &[String]) -> Flow {
        if self.mode != Mode::Lmtp {
            return if reply.is_positive() {
                self.reply(reply)
            } else {
                self.error_reply(reply)
            };
        }
        for each in outcome::lmtp_replies(&reply, recipients) {
            self.conn.queue(&each);
        }
        if reply.is_positive() {
            Flow::Continue
        } else {
            // One error for the message, however many recipients it had.
            self.error_reply_counted()
        }
    }
}
