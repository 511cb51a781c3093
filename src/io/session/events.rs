//! The session's part of the SMTP event log (`eventlogging`, docs/operations.md): the
//! session identifier, the MAIL transaction counter, and the `recipient`, `alias`,
//! `starttls` and `transaction end` events. With event logging off, `log` is `None` and
//! every method returns at once; only the identifier (the `Received:` id) is kept.
use super::Session;
use crate::core::eventlog::{fold_policy, Event};
use crate::io::eventlog::{self, EventLog};
use std::sync::Arc;

pub(super) struct SessionEvents {
    log: Option<Arc<EventLog>>,
    /// `start-pid-server-connection`: the event log's session, the `Received:` id's first part.
    pub tag: String,
    /// MAIL transactions begun in this session (0 before the first).
    pub transaction: u32,
    /// A MAIL transaction is open and its end not yet logged.
    open: bool,
    /// DATA bytes of the current transaction (wire lines, without the terminator).
    pub data_bytes: u64,
    /// The relay's final reply to the current transaction's DATA, if there was one.
    pub relay_reply: Option<String>,
    /// A relay took the message (its DATA was answered 2xx).
    pub relay_accepted: bool,
    /// The transfer to a relay failed (not a refusal by reply).
    pub transfer_failed: bool,
    conn: u64,
}

impl SessionEvents {
    pub fn new(server: u64, conn: u64) -> Self {
        SessionEvents {
            log: eventlog::for_server(server),
            tag: eventlog::session_id(server, conn),
            transaction: 0,
            open: false,
            data_bytes: 0,
            relay_reply: None,
            relay_accepted: false,
            transfer_failed: false,
            conn,
        }
    }
}

impl Drop for SessionEvents {
    fn drop(&mut self) {
        if self.log.is_some() {
            eventlog::forget(self.conn);
        }
    }
}

/// How a transaction ended (the `reason` of its `transaction end` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TransactionEnd {
    QuitBeforeData,
    Reset,
    Disconnect,
    Aborted,
    TransferFailed,
    MessageTooLarge,
    Accepted,
    Rejected,
    RelayAccepted,
}

impl TransactionEnd {
    fn as_str(self) -> &'static str {
        match self {
            TransactionEnd::QuitBeforeData => "quit-before-data",
            TransactionEnd::Reset => "reset",
            TransactionEnd::Disconnect => "disconnect",
            TransactionEnd::Aborted => "aborted",
            TransactionEnd::TransferFailed => "transfer-failed",
            TransactionEnd::MessageTooLarge => "message-too-large",
            TransactionEnd::Accepted => "accepted",
            TransactionEnd::Rejected => "rejected",
            TransactionEnd::RelayAccepted => "relay-accepted",
        }
    }
}

impl Session {
    /// How a message that got its final reply ended.
    pub(super) fn message_end(&self, positive: bool, too_big: bool) -> TransactionEnd {
        if too_big {
            TransactionEnd::MessageTooLarge
        } else if self.events.transfer_failed && !self.events.relay_accepted {
            TransactionEnd::TransferFailed
        } else if self.events.relay_accepted {
            TransactionEnd::RelayAccepted
        } else if positive {
            TransactionEnd::Accepted
        } else {
            TransactionEnd::Rejected
        }
    }

    /// An event with this session's fixed fields filled in.
    fn event(&self, name: &str) -> Event {
        let sender = self.handle.envelope().from.clone().unwrap_or_default();
        Event {
            event: name.to_string(),
            peer: self.peer.ip().to_string(),
            session: self.events.tag.clone(),
            transaction: self.events.transaction,
            server: self
                .events
                .log
                .as_ref()
                .map(|l| l.server.clone())
                .unwrap_or_default(),
            sender,
            ..Event::default()
        }
    }

    fn write_event(&self, event: &Event) {
        if let Some(log) = &self.events.log {
            log.write(event, self.id());
        }
    }

    /// MAIL was accepted: a new transaction begins.
    pub(super) fn event_mail(&mut self) {
        self.events.transaction += 1;
        self.events.open = true;
        self.events.data_bytes = 0;
        self.events.relay_reply = None;
        self.events.relay_accepted = false;
        self.events.transfer_failed = false;
        if self.events.log.is_some() {
            eventlog::set_transaction(self.id(), self.events.transaction);
            // A note left by a policy outside RCPT must not reach the next recipient.
            eventlog::take_policy(self.id());
        }
    }

    /// The final decision on one RCPT: `reason` is the session's own (empty when a
    /// callback or policy decided); policy details noted by `logevent` are folded in.
    pub(super) fn event_recipient(&mut self, recipient: &str, code: u16, reason: &str) {
        let action = crate::core::eventlog::action_of(code);
        let policy_reason = if self.events.log.is_some() {
            let policy = eventlog::take_policy(self.id());
            let mut event = self.event("recipient");
            event.code = Some(code);
            event.recipient = recipient.to_string();
            fold_policy(&mut event, reason, policy.as_deref());
            self.write_event(&event);
            event.reason
        } else {
            reason.to_string()
        };
        self.shared.stats.recipient_decision(action, &policy_reason);
    }

    /// An applied, non-identity alias expansion.
    pub(super) fn event_alias(&self, recipient: &str, targets: &[String]) {
        if self.events.log.is_none() {
            return;
        }
        let mut event = self.event("alias");
        event.recipient = recipient.to_string();
        event.action = "expand".into();
        event.targets = targets.to_vec();
        self.write_event(&event);
    }

    /// A failed STARTTLS: `reason` is `context` or `handshake`.
    pub(super) fn event_starttls_failed(&self, reason: &str, message: &str) {
        if self.events.log.is_none() {
            return;
        }
        let mut event = self.event("starttls");
        event.action = "fail".into();
        event.reason = reason.to_string();
        event.extra.push(("message".into(), message.to_string()));
        self.write_event(&event);
    }

    /// The open transaction ended (before the envelope is discarded); nothing if none is.
    pub(super) fn event_transaction_end(&mut self, end: TransactionEnd) {
        if !self.events.open {
            return;
        }
        self.events.open = false;
        self.shared.stats.transaction_end(end.as_str());
        if self.events.log.is_none() {
            return;
        }
        let mut event = self.event("transaction");
        event.action = "end".into();
        event.reason = end.as_str().to_string();
        let last = self.handle.envelope().line.clone();
        let last = last
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        event.extra.push(("last".into(), last));
        event
            .extra
            .push(("data-bytes".into(), self.events.data_bytes.to_string()));
        if let Some(reply) = &self.events.relay_reply {
            let reply: String = reply.chars().take(511).collect();
            event.extra.push(("relay-reply".into(), reply));
        }
        if self.events.relay_accepted {
            event.extra.push(("relay-accepted".into(), "true".into()));
        }
        self.write_event(&event);
    }
}
