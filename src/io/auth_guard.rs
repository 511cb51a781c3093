//! AUTH guessing: failures per client address within an hour (`maxauthfailures`), after
//! which AUTH from that address is refused until the hour has passed. The per-session
//! slow-down is the session's (`session/auth.rs`).
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a failure counts against its address.
pub const WINDOW: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub struct AuthFailures {
    by_address: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl AuthFailures {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, VecDeque<Instant>>> {
        self.by_address.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `ip` has had `max` failures within the window (`max` 0: never).
    pub fn locked_out(&self, ip: IpAddr, max: usize) -> bool {
        if max == 0 {
            return false;
        }
        let mut map = self.lock();
        let Some(times) = map.get_mut(&ip) else {
            return false;
        };
        forget_old(times, Instant::now());
        let locked = times.len() >= max;
        if times.is_empty() {
            map.remove(&ip);
        }
        locked
    }

    /// Counts a failure of `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut map = self.lock();
        let times = map.entry(ip).or_default();
        forget_old(times, now);
        times.push_back(now);
    }

    /// Drops addresses whose failures are all older than the window.
    pub fn sweep(&self) {
        let now = Instant::now();
        self.lock().retain(|_, t| {
            forget_old(t, now);
            !t.is_empty()
        });
    }

    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}

fn forget_old(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) > WINDOW)
    {
        times.pop_front();
    }
}

/// The wait before answering the `n`th failed AUTH of a session (1-based): `first`
/// doubled with each failure, up to `cap`.
pub fn failure_delay(n: u32, first: Duration, cap: Duration) -> Duration {
    let doublings = n.saturating_sub(1).min(20);
    first.saturating_mul(1u32 << doublings).min(cap.max(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_after_max_failures_per_address() {
        let f = AuthFailures::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(!f.locked_out(a, 3));
            f.failed(a);
        }
        assert!(f.locked_out(a, 3));
        assert!(!f.locked_out(a, 4));
        assert!(!f.locked_out(a, 0), "0 turns the lockout off");
        assert!(!f.locked_out(b, 3));
        assert_eq!(f.tracked(), 1);
        f.sweep();
        assert_eq!(f.tracked(), 1, "recent failures are kept");
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let s = Duration::from_secs;
        let cases = [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (40, 10)];
        for (n, want) in cases {
            assert_eq!(failure_delay(n, s(1), s(10)), s(want), "failure {n}");
        }
        assert_eq!(
            failure_delay(3, s(5), s(1)),
            s(5),
            "a cap below the first wait"
        );
        assert_eq!(failure_delay(1, Duration::ZERO, s(10)), Duration::ZERO);
    }
}
