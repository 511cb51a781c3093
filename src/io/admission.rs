//! Who may open a session: the per-client-address limits (`maxperip`, `maxrate`) and the
//! load-average limit (`maxloadavg`). The total `maxconnections` is the listener's.
use super::stats::RefusedBecause;
use crate::config::ServerConfig;
use crate::core::reply::Reply;
use crate::core::rules::replies;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why a connection was refused, for the reply, the log and `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    PerIp,
    Rate,
    LoadAverage,
}

impl Refusal {
    pub fn reply(self, hostname: &str) -> Reply {
        match self {
            Refusal::PerIp => replies::too_many_from_address(hostname),
            Refusal::Rate => replies::connection_rate_exceeded(hostname),
            Refusal::LoadAverage => replies::system_busy(hostname),
        }
    }

    /// The `stats` counter of this refusal.
    pub fn counted_as(self) -> RefusedBecause {
        match self {
            Refusal::PerIp => RefusedBecause::PerIp,
            Refusal::Rate => RefusedBecause::Rate,
            Refusal::LoadAverage => RefusedBecause::LoadAverage,
        }
    }
}

#[derive(Default)]
struct Client {
    sessions: usize,
    /// Connection times within the last minute (only kept when `maxrate` is on).
    recent: VecDeque<Instant>,
}

/// The per-address bookkeeping of one server.
#[derive(Default)]
pub struct Admission {
    clients: Mutex<HashMap<IpAddr, Client>>,
}

/// Held for the life of an admitted session; gives its slot back when dropped.
pub struct Ticket {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut clients = self.admission.lock();
        if let Some(c) = clients.get_mut(&self.ip) {
            c.sessions = c.sessions.saturating_sub(1);
            if c.sessions == 0 && c.recent.is_empty() {
                clients.remove(&self.ip);
            }
        }
    }
}

const RATE_WINDOW: Duration = Duration::from_secs(60);

impl Admission {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Client>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a session from `ip` or says why not. `exempt` clients (the `local` list)
    /// are neither counted nor refused for per-address limits. With no per-address limit
    /// configured nothing is counted (`None`): sessions opened then do not count against
    /// a limit set later by `configure`.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        config: &ServerConfig,
        exempt: bool,
    ) -> Result<Option<Ticket>, Refusal> {
        if config.maxloadavg > 0.0 && load_average().is_some_and(|l| l > config.maxloadavg) {
            return Err(Refusal::LoadAverage);
        }
        // The local list is exempt from the per-address limits, so it is not counted either.
        if exempt || (config.maxperip == 0 && config.maxrate == 0) {
            return Ok(None);
        }
        let now = Instant::now();
        let mut clients = self.lock();
        let client = clients.entry(ip).or_default();
        while client
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > RATE_WINDOW)
        {
            client.recent.pop_front();
        }
        let refusal = if config.maxperip > 0 && client.sessions >= config.maxperip {
            Some(Refusal::PerIp)
        } else if config.maxrate > 0 && client.recent.len() >= config.maxrate {
            Some(Refusal::Rate)
        } else {
            None
        };
        if config.maxrate > 0 {
            // Refused attempts count too: hammering does not reset the window.
            client.recent.push_back(now);
        }
        if let Some(r) = refusal {
            if client.sessions == 0 && client.recent.is_empty() {
                clients.remove(&ip);
            }
            return Err(r);
        }
        client.sessions += 1;
        Ok(Some(Ticket {
            admission: self.clone(),
            ip,
        }))
    }

    /// Forgets rate history older than the window (called now and then so that addresses
    /// seen once do not stay in the map).
    pub fn sweep(&self) {
        let now = Instant::now();
        self.lock().retain(|_, c| {
            c.recent.retain(|t| now.duration_since(*t) <= RATE_WINDOW);
            c.sessions > 0 || !c.recent.is_empty()
        });
    }

    /// Addresses currently tracked.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }
}

/// The one-minute load average from `/proc/loadavg`; `None` where there is none.
pub fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(maxperip: usize, maxrate: usize) -> ServerConfig {
        ServerConfig {
            maxperip,
            maxrate,
            ..ServerConfig::default()
        }
    }

    #[test]
    fn per_ip_limit_counts_open_sessions() {
        let a = Arc::new(Admission::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let c = config(2, 0);
        let t1 = a.admit(ip, &c, false).unwrap();
        assert!(t1.is_some());
        let _t2 = a.admit(ip, &c, false).unwrap();
        assert_eq!(a.admit(ip, &c, false).err(), Some(Refusal::PerIp));
        assert!(a.admit("192.0.2.2".parse().unwrap(), &c, false).is_ok());
        assert!(a.admit(ip, &c, true).is_ok(), "exempt clients pass");
        drop(t1);
        assert!(a.admit(ip, &c, false).is_ok());
    }

    #[test]
    fn rate_limit_per_minute() {
        let a = Arc::new(Admission::default());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let c = config(0, 3);
        for _ in 0..3 {
            drop(a.admit(ip, &c, false).unwrap());
        }
        assert_eq!(a.admit(ip, &c, false).err(), Some(Refusal::Rate));
        assert_eq!(a.tracked(), 1);
    }

    #[test]
    fn nothing_is_counted_without_limits() {
        let a = Arc::new(Admission::default());
        let t = a.admit("192.0.2.1".parse().unwrap(), &config(0, 0), false);
        assert!(matches!(t, Ok(None)));
        assert_eq!(a.tracked(), 0);
    }

    #[test]
    fn map_is_emptied() {
        let a = Arc::new(Admission::default());
        let c = config(5, 0);
        for i in 0..100u8 {
            drop(a.admit(IpAddr::from([10, 0, 0, i]), &c, false).unwrap());
        }
        assert_eq!(a.tracked(), 0);
    }

    #[test]
    fn load_average_is_read() {
        if std::path::Path::new("/proc/loadavg").exists() {
            assert!(load_average().is_some_and(|l| l >= 0.0));
        }
    }
}
