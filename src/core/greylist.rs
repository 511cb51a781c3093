//! Greylisting as a plain state machine: a bounded table of (peer, sender, recipient) tuples
//! and the decision for one more attempt. Time is passed in (Unix seconds), so every rule is
//! tested without waiting.
use std::collections::HashMap;

/// Reclaiming expired entries walks the whole table: at most once a minute.
pub const SWEEP_INTERVAL: i64 = 60;

/// The four numbers `greylistdelay`, `greylistretrywindow`, `greylistlifetime` and
/// `greylistmaxentries` (seconds, seconds, seconds, entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub delay: i64,
    pub window: i64,
    pub lifetime: i64,
    pub max_entries: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            delay: 300,
            window: 14_400,
            lifetime: 604_800,
            max_entries: 10_000,
        }
    }
}

impl Settings {
    /// A retry must be able to land between the delay and the end of the window.
    pub fn validate(&self) -> Result<(), String> {
        if self.window <= self.delay {
            return Err(format!(
                "-greylistretrywindow ({}) must exceed -greylistdelay ({})",
                self.window, self.delay
            ));
        }
        Ok(())
    }
}

/// The exact tuple a decision is about. The sender is empty for a null sender (`<>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tuple {
    pub peer: String,
    pub sender: String,
    pub recipient: String,
}

/// What the table remembers of a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The first attempt (a pending tuple's retry is timed from it).
    pub first: i64,
    /// When the entry ends: the retry window's end, or the lifetime's after a pass.
    pub expires: i64,
    /// A retry was accepted: the tuple is known.
    pub passed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Defer,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Defer => "defer",
        }
    }
}

/// Why a decision was made; each has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// First attempt: deferred, the tuple is now pending.
    New,
    /// A retry inside the window, after the delay: accepted, the tuple is known.
    Retry,
    /// A retry before the delay: deferred, timers unchanged.
    Early,
    /// A known tuple within its lifetime: accepted, lifetime refreshed.
    Known,
    /// The tuple's entry had expired: removed, and the attempt counts as a first one.
    Expired,
    /// The table is full: the new tuple passes without being stored.
    Capacity,
    /// The shared backend could not be asked: the attempt passes.
    Unavailable,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::New => "greylist-new",
            Reason::Retry => "greylist-retry",
            Reason::Early => "greylist-early",
            Reason::Known => "greylist-known",
            Reason::Expired => "greylist-expired",
            Reason::Capacity => "greylist-capacity",
            Reason::Unavailable => "greylist-unavailable",
        }
    }

    /// The reason named by `as_str` (answers of the shared backend's script).
    pub fn parse(text: &str) -> Option<Reason> {
        [
            Reason::New,
            Reason::Retry,
            Reason::Early,
            Reason::Known,
            Reason::Expired,
            Reason::Capacity,
            Reason::Unavailable,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }

    /// Accepted or deferred, as each reason implies.
    pub fn action(self) -> Action {
        match self {
            Reason::New | Reason::Early | Reason::Expired => Action::Defer,
            Reason::Retry | Reason::Known | Reason::Capacity | Reason::Unavailable => {
                Action::Accept
            }
        }
    }
}

/// What one attempt at `now` does to a tuple's entry (`None`: not in the table): the reason
/// and the entry to store (the caller decides whether a new tuple has room).
pub fn step(entry: Option<Entry>, now: i64, s: &Settings) -> (Reason, Entry) {
    let pending = |now: i64| Entry {
        first: now,
        expires: now.saturating_add(s.window),
        passed: false,
    };
    let known = |first: i64| Entry {
        first,
        expires: now.saturating_add(s.lifetime),
        passed: true,
    };
    match entry {
        None => (Reason::New, pending(now)),
        Some(e) if now >= e.expires => (Reason::Expired, pending(now)),
        Some(e) if e.passed => (Reason::Known, known(e.first)),
        // A clock set back cannot shorten the delay: the tuple starts over.
        Some(e) if now < e.first => (Reason::New, pending(now)),
        Some(e) if now - e.first < s.delay => (Reason::Early, e),
        Some(e) => (Reason::Retry, known(e.first)),
    }
}

/// The in-memory table of one server instance.
#[derive(Debug, Default)]
pub struct Table {
    entries: HashMap<Tuple, Entry>,
    last_sweep: Option<i64>,
}

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decides one attempt and records it.
    pub fn check(&mut self, tuple: &Tuple, now: i64, s: &Settings) -> Reason {
        // Looked up before the sweep, so an expired tuple is told as such.
        let before = self.entries.get(tuple).copied();
        self.sweep_if_due(now);
        let (reason, entry) = step(before, now, s);
        // A tuple not yet stored needs room; an expired one keeps its place.
        if before.is_none() && self.entries.len() >= s.max_entries {
            return Reason::Capacity;
        }
        self.entries.insert(tuple.clone(), entry);
        reason
    }

    /// Removes expired entries when the last sweep is a minute old (or the clock went back).
    fn sweep_if_due(&mut self, now: i64) {
        let due = match self.last_sweep {
            None => true,
            Some(last) => now < last || now - last >= SWEEP_INTERVAL,
        };
        if due {
            self.last_sweep = Some(now);
            self.remove_expired(now);
        }
    }

    /// Drops every entry expired at `now`; returns how many.
    pub fn remove_expired(&mut self, now: i64) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, e| now < e.expires);
        before - self.entries.len()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.last_sweep = None;
    }

    pub fn get(&self, tuple: &Tuple) -> Option<Entry> {
        self.entries.get(tuple).copied()
    }

    /// Every entry, sorted by tuple (stable listings and files).
    pub fn entries(&self) -> Vec<(Tuple, Entry)> {
        let mut all: Vec<_> = self.entries.iter().map(|(t, e)| (t.clone(), *e)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Replaces the table by saved entries: expired ones and ones dated after `now` are
    /// dropped, and at most `max_entries` kept (the latest first attempts first). Returns how
    /// many were kept.
    pub fn restore(
        &mut self,
        saved: impl IntoIterator<Item = (Tuple, Entry)>,
        now: i64,
        s: &Settings,
    ) -> usize {
        let mut usable: Vec<(Tuple, Entry)> = saved
            .into_iter()
            .filter(|(_, e)| e.first <= now && now < e.expires)
            .collect();
        usable.sort_by(|a, b| b.1.first.cmp(&a.1.first).then_with(|| a.0.cmp(&b.0)));
        usable.truncate(s.max_entries);
        self.clear();
        self.entries.extend(usable);
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(recipient: &str) -> Tuple {
        Tuple {
            peer: "192.0.2.1".into(),
            sender: "a@example.org".into(),
            recipient: recipient.into(),
        }
    }

    fn s() -> Settings {
        Settings::default()
    }

    #[test]
    fn first_attempt_defers_and_a_timely_retry_passes() {
        let mut t = Table::new();
        let reasons: Vec<_> = [1000, 1100, 1299, 1300, 1400]
            .iter()
            .map(|&now| t.check(&tuple("b@x"), now, &s()))
            .collect();
        assert_eq!(
            reasons,
            [
                Reason::New,
                Reason::Early,
                Reason::Early,
                Reason::Retry,
                Reason::Known
            ]
        );
        // Early retries kept the first attempt; the last accept refreshed the lifetime.
        assert_eq!(
            t.get(&tuple("b@x")),
            Some(Entry {
                first: 1000,
                expires: 1400 + 604_800,
                passed: true
            })
        );
    }

    #[test]
    fn pending_and_known_entries_expire() {
        let mut t = Table::new();
        t.check(&tuple("p"), 1000, &s());
        assert_eq!(t.check(&tuple("p"), 15_400, &s()), Reason::Expired);
        assert_eq!(t.get(&tuple("p")).map(|e| e.first), Some(15_400));
        t.check(&tuple("k"), 15_400, &s());
        assert_eq!(t.check(&tuple("k"), 15_700, &s()), Reason::Retry);
        assert_eq!(
            t.check(&tuple("k"), 15_700 + 604_800, &s()),
            Reason::Expired
        );
        assert_eq!(Reason::Expired.action(), Action::Defer);
    }

    #[test]
    fn a_clock_set_back_starts_the_tuple_over() {
        let mut t = Table::new();
        t.check(&tuple("b"), 1000, &s());
        t.check(&tuple("b"), 1300, &s());
        let mut t2 = Table::new();
        t2.check(&tuple("b"), 1000, &s());
        assert_eq!(t2.check(&tuple("b"), 900, &s()), Reason::New);
        assert_eq!(
            t2.get(&tuple("b")),
            Some(Entry {
                first: 900,
                expires: 900 + 14_400,
                passed: false
            })
        );
    }

    #[test]
    fn at_capacity_new_tuples_pass_unstored_and_existing_ones_keep_their_state() {
        let s = Settings {
            max_entries: 2,
            ..s()
        };
        let mut t = Table::new();
        t.check(&tuple("a"), 1000, &s);
        t.check(&tuple("b"), 1000, &s);
        assert_eq!(t.check(&tuple("c"), 1000, &s), Reason::Capacity);
        assert_eq!(t.len(), 2);
        assert_eq!(t.check(&tuple("a"), 1300, &s), Reason::Retry);
        // b expires at 15400 and is swept, so c finds room.
        assert_eq!(t.check(&tuple("c"), 15_400, &s), Reason::New);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn sweeps_happen_at_most_once_a_minute() {
        let s = Settings {
            delay: 1,
            window: 2,
            ..s()
        };
        let mut t = Table::new();
        t.check(&tuple("a"), 1000, &s);
        t.check(&tuple("b"), 1010, &s);
        // a expired at 1002, but the last sweep was at 1000.
        assert_eq!(t.len(), 2);
        t.check(&tuple("c"), 1060, &s);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn each_part_of_the_tuple_distinguishes() {
        let mut t = Table::new();
        let base = tuple("b");
        let others = [
            Tuple {
                peer: "192.0.2.2".into(),
                ..base.clone()
            },
            Tuple {
                sender: String::new(),
                ..base.clone()
            },
            tuple("c"),
        ];
        assert_eq!(t.check(&base, 1000, &s()), Reason::New);
        for o in &others {
            assert_eq!(t.check(o, 1000, &s()), Reason::New);
        }
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn restore_drops_expired_and_future_entries_and_keeps_the_bound() {
        let s = Settings {
            max_entries: 2,
            ..s()
        };
        let e = |first, expires| Entry {
            first,
            expires,
            passed: false,
        };
        let saved = vec![
            (tuple("old"), e(100, 500)),
            (tuple("future"), e(5000, 9000)),
            (tuple("a"), e(900, 2000)),
            (tuple("b"), e(950, 2000)),
            (tuple("c"), e(800, 2000)),
        ];
        let mut t = Table::new();
        assert_eq!(t.restore(saved, 1000, &s), 2);
        assert!(t.get(&tuple("a")).is_some() && t.get(&tuple("b")).is_some());
        assert!(t.get(&tuple("c")).is_none());
    }

    #[test]
    fn the_window_must_exceed_the_delay() {
        let bad = Settings {
            delay: 10,
            window: 10,
            ..s()
        };
        assert!(bad.validate().unwrap_err().contains("must exceed"));
        assert!(s().validate().is_ok());
        assert_eq!(Reason::parse("greylist-known"), Some(Reason::Known));
        assert_eq!(Reason::parse("nonsense"), None);
    }
}
