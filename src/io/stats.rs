//! The counters of one server (`ns_smtpd stats`, rendered for Prometheus by `metrics`),
//! with one method per counted event so a count is never half-made.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A count of RCPT decisions: `((action, reason), count)`.
pub type Decision = ((String, String), u64);

/// Distinct labels kept per labelled family; further ones count as `other` (a policy's
/// free-form reasons must not grow the exposition without bound).
const MAX_LABELS: usize = 64;

/// Why a connection was turned away before its session began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedBecause {
    MaxConnections,
    PerIp,
    Rate,
    LoadAverage,
    Proxy,
    EarlyTalker,
    Resolve,
}

#[derive(Default)]
pub struct Stats {
    connections: AtomicU64,
    refused: AtomicU64,
    messages_accepted: AtomicU64,
    messages_rejected: AtomicU64,
    messages_relayed: AtomicU64,
    bytes_received: AtomicU64,
    recipients_accepted: AtomicU64,
    recipients_rejected: AtomicU64,
    errors_protocol: AtomicU64,
    errors_timeout: AtomicU64,
    errors_callback: AtomicU64,
    errors_io: AtomicU64,
    /// Sessions ended by a failure inside the server (a bug), caught and answered 421.
    errors_internal: AtomicU64,
    refused_maxconnections: AtomicU64,
    refused_perip: AtomicU64,
    refused_rate: AtomicU64,
    refused_loadavg: AtomicU64,
    refused_proxy: AtomicU64,
    refused_earlytalker: AtomicU64,
    refused_resolve: AtomicU64,
    relay_failures: AtomicU64,
    /// Clients closed for sending ahead where RFC 2920 forbids it.
    errors_pipelining: AtomicU64,
    /// AUTH attempts that failed, and those refused because their address failed too often.
    auth_failures: AtomicU64,
    auth_lockouts: AtomicU64,
    /// MAIL or a message refused for want of free space (`minavailspace`).
    storage_refusals: AtomicU64,
    /// Greylist decisions by reason, and checks the shared backend could not answer.
    greylist_new: AtomicU64,
    greylist_retry: AtomicU64,
    greylist_known: AtomicU64,
    greylist_early: AtomicU64,
    greylist_expired: AtomicU64,
    greylist_capacity: AtomicU64,
    greylist_backend_errors: AtomicU64,
    callbacks: AtomicU64,
    /// Time callbacks took, queueing included.
    callback_micros: AtomicU64,
    /// RCPT decisions by action and reason, as in the event log's `recipient` events.
    recipient_decisions: Mutex<BTreeMap<(String, String), u64>>,
    /// MAIL transactions by how they ended, as in the event log's `transaction` events.
    transaction_ends: Mutex<BTreeMap<String, u64>>,
}

fn count_label<K: Ord + Clone>(map: &Mutex<BTreeMap<K, u64>>, key: K, other: K) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    let key = if map.len() >= MAX_LABELS && !map.contains_key(&key) {
        other
    } else {
        key
    };
    *map.entry(key).or_insert(0) += 1;
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Stats {
    /// The final decision on one RCPT (`reason` may be empty).
    pub fn recipient_decision(&self, action: &str, reason: &str) {
        count_label(
            &self.recipient_decisions,
            (action.to_string(), reason.to_string()),
            (action.to_string(), "other".to_string()),
        );
    }

    /// A MAIL transaction ended (`quit-before-data`, `accepted`, ...).
    pub fn transaction_end(&self, outcome: &str) {
        count_label(
            &self.transaction_ends,
            outcome.to_string(),
            "other".to_string(),
        );
    }

    /// The labelled counters: recipient decisions and transaction outcomes.
    pub fn labelled(&self) -> (Vec<Decision>, Vec<(String, u64)>) {
        let decisions = self
            .recipient_decisions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let ends = self
            .transaction_ends
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        (
            decisions.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            ends.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        )
    }

    pub fn connection(&self) {
        add(&self.connections, 1);
    }

    /// A connection turned away: the total and the reason.
    pub fn refused(&self, because: RefusedBecause) {
        add(&self.refused, 1);
        add(
            match because {
                RefusedBecause::MaxConnections => &self.refused_maxconnections,
                RefusedBecause::PerIp => &self.refused_perip,
                RefusedBecause::Rate => &self.refused_rate,
                RefusedBecause::LoadAverage => &self.refused_loadavg,
                RefusedBecause::Proxy => &self.refused_proxy,
                RefusedBecause::EarlyTalker => &self.refused_earlytalker,
                RefusedBecause::Resolve => &self.refused_resolve,
            },
            1,
        );
    }

    pub fn message_accepted(&self) {
        add(&self.messages_accepted, 1);
    }

    pub fn message_rejected(&self) {
        add(&self.messages_rejected, 1);
    }

    pub fn message_relayed(&self) {
        add(&self.messages_relayed, 1);
    }

    pub fn bytes_received(&self, n: u64) {
        add(&self.bytes_received, n);
    }

    pub fn recipient_accepted(&self) {
        add(&self.recipients_accepted, 1);
    }

    pub fn recipient_rejected(&self) {
        add(&self.recipients_rejected, 1);
    }

    pub fn protocol_error(&self) {
        add(&self.errors_protocol, 1);
    }

    pub fn timeout(&self) {
        add(&self.errors_timeout, 1);
    }

    pub fn callback_error(&self) {
        add(&self.errors_callback, 1);
    }

    pub fn io_error(&self) {
        add(&self.errors_io, 1);
    }

    pub fn internal_error(&self) {
        add(&self.errors_internal, 1);
    }

    pub fn relay_failure(&self) {
        add(&self.relay_failures, 1);
    }

    pub fn pipelining_error(&self) {
        add(&self.errors_pipelining, 1);
    }

    pub fn auth_failure(&self) {
        add(&self.auth_failures, 1);
    }

    pub fn auth_lockout(&self) {
        add(&self.auth_lockouts, 1);
    }

    pub fn storage_refusal(&self) {
        add(&self.storage_refusals, 1);
    }

    /// A greylist decision; `Unavailable` counts as a backend error.
    pub fn greylist(&self, reason: crate::core::greylist::Reason) {
        use crate::core::greylist::Reason;
        add(
            match reason {
                Reason::New => &self.greylist_new,
                Reason::Retry => &self.greylist_retry,
                Reason::Known => &self.greylist_known,
                Reason::Early => &self.greylist_early,
                Reason::Expired => &self.greylist_expired,
                Reason::Capacity => &self.greylist_capacity,
                Reason::Unavailable => &self.greylist_backend_errors,
            },
            1,
        );
    }

    pub fn callback_ran(&self, micros: u64) {
        add(&self.callbacks, 1);
        add(&self.callback_micros, micros);
    }

    /// Every counter by name, in a stable order (`stats`, the Prometheus rendering).
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("connections", get(&self.connections)),
            ("refused", get(&self.refused)),
            ("refused_maxconnections", get(&self.refused_maxconnections)),
            ("refused_perip", get(&self.refused_perip)),
            ("refused_rate", get(&self.refused_rate)),
            ("refused_loadavg", get(&self.refused_loadavg)),
            ("refused_proxy", get(&self.refused_proxy)),
            ("refused_earlytalker", get(&self.refused_earlytalker)),
            ("refused_resolve", get(&self.refused_resolve)),
            ("messages_accepted", get(&self.messages_accepted)),
            ("messages_rejected", get(&self.messages_rejected)),
            ("messages_relayed", get(&self.messages_relayed)),
            ("bytes_received", get(&self.bytes_received)),
            ("recipients_accepted", get(&self.recipients_accepted)),
            ("recipients_rejected", get(&self.recipients_rejected)),
            ("relay_failures", get(&self.relay_failures)),
            ("storage_refusals", get(&self.storage_refusals)),
            ("errors_protocol", get(&self.errors_protocol)),
            ("errors_timeout", get(&self.errors_timeout)),
            ("errors_callback", get(&self.errors_callback)),
            ("errors_io", get(&self.errors_io)),
            ("errors_internal", get(&self.errors_internal)),
            ("errors_pipelining", get(&self.errors_pipelining)),
            ("auth_failures", get(&self.auth_failures)),
            ("auth_lockouts", get(&self.auth_lockouts)),
            ("greylist_new", get(&self.greylist_new)),
            ("greylist_retry", get(&self.greylist_retry)),
            ("greylist_known", get(&self.greylist_known)),
            ("greylist_early", get(&self.greylist_early)),
            ("greylist_expired", get(&self.greylist_expired)),
            ("greylist_capacity", get(&self.greylist_capacity)),
            (
                "greylist_backend_errors",
                get(&self.greylist_backend_errors),
            ),
            ("callbacks", get(&self.callbacks)),
            ("callback_micros", get(&self.callback_micros)),
        ]
    }

    /// One counter by its `snapshot` name (tests, diagnostics).
    pub fn get(&self, name: &str) -> Option<u64> {
        self.snapshot()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_counts_its_reason_and_the_total() {
        let stats = Stats::default();
        stats.refused(RefusedBecause::PerIp);
        stats.refused(RefusedBecause::Resolve);
        stats.callback_ran(7);
        stats.greylist(crate::core::greylist::Reason::Unavailable);
        assert_eq!(stats.get("greylist_backend_errors"), Some(1));
        assert_eq!(stats.get("refused"), Some(2));
        assert_eq!(stats.get("refused_perip"), Some(1));
        assert_eq!(stats.get("refused_resolve"), Some(1));
        assert_eq!(stats.get("refused_rate"), Some(0));
        assert_eq!(stats.get("callbacks"), Some(1));
        assert_eq!(stats.get("callback_micros"), Some(7));
        assert_eq!(stats.get("nonesuch"), None);
    }
}
