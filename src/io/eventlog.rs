//! The SMTP event log's writer (option `eventlogging`): one file per server, opened through
//! the send log's rolling file (`sendlog`), so both roll the same way. Lines are formatted
//! by `core::eventlog`.
//!
//! Writing: each line is one `write` on an `O_APPEND` file under the file's mutex, so lines
//! from concurrent sessions never interleave. The write is synchronous on the session's
//! task: a line is ~200 bytes into the page cache, and a dedicated writer task would need a
//! queue bound and a policy for dropping lines when full; docs/operations.md says so.
//!
//! With event logging off nothing here runs per message: a session asks [`for_server`] once
//! (one atomic load when no server logs events) and carries `None`.
use super::sendlog::{RollPolicy, SendLog};
use crate::core::clock::Utc;
use crate::core::eventlog::{session_tag, Event};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// One server's event log.
pub struct EventLog {
    file: Arc<SendLog>,
    /// The (virtual) server name of the `server` field.
    pub server: String,
    /// Roll on SIGHUP (`eventlogrollonsignal`).
    pub roll_on_signal: bool,
}

impl EventLog {
    pub fn open(path: &Path, policy: RollPolicy, server: String, roll_on_signal: bool) -> Self {
        EventLog {
            file: SendLog::open_other(path, policy),
            server,
            roll_on_signal,
        }
    }

    /// Writes one event; a failure goes to the server log, never to the SMTP dialogue.
    pub fn write(&self, event: &Event, conn: u64) {
        let stamp = Utc::now().log_stamp().replace(']', " +0000]");
        let line = event.line(&stamp, &format!("-nssmtpd:{conn}-"));
        if let Err(e) = self.file.write(&line) {
            crate::log::log(
                crate::log::Severity::Error,
                &format!(
                    "nssmtpd: event log: error '{e}' writing '{}'",
                    self.file.path().display()
                ),
            );
        }
    }

    /// Rolls the file now.
    pub fn roll(&self) -> std::io::Result<()> {
        self.file.roll_now()
    }
}

/// When the library was loaded: the first part of every session identifier.
static STARTED: LazyLock<u64> = LazyLock::new(|| {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
});

/// The session identifier of connection `conn` of server `server` (event log, `Received:`).
pub fn session_id(server: u64, conn: u64) -> String {
    session_tag(*STARTED, std::process::id(), server, conn)
}

static ANY: AtomicBool = AtomicBool::new(false);
static LOGS: LazyLock<Mutex<HashMap<u64, Arc<EventLog>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn logs() -> MutexGuard<'static, HashMap<u64, Arc<EventLog>>> {
    LOGS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Server `server` writes its sessions' events to `log`.
pub fn register(server: u64, log: Arc<EventLog>) {
    logs().insert(server, log);
    ANY.store(true, Ordering::Release);
}

/// The server stopped.
pub fn unregister(server: u64) {
    let mut logs = logs();
    logs.remove(&server);
    ANY.store(!logs.is_empty(), Ordering::Release);
}

/// The event log of `server`, if it keeps one.
pub fn for_server(server: u64) -> Option<Arc<EventLog>> {
    if !ANY.load(Ordering::Acquire) {
        return None;
    }
    logs().get(&server).cloned()
}

/// Every event log (for `ns_smtpd roll` and the signal hook).
pub fn all() -> Vec<Arc<EventLog>> {
    logs().values().cloned().collect()
}

/// A details dict of `ns_smtpd logevent`, as key-value pairs in order.
pub type Details = Vec<(String, String)>;

/// What `ns_smtpd logevent id policy details` said during the current RCPT of a session,
/// folded into that RCPT's `recipient` event. Keyed by connection id.
static POLICY_NOTES: LazyLock<Mutex<HashMap<u64, Details>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn notes() -> MutexGuard<'static, HashMap<u64, Details>> {
    POLICY_NOTES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps a policy's details for the recipient event of connection `conn`.
pub fn note_policy(conn: u64, details: Details) {
    notes().insert(conn, details);
}

/// Takes the policy details noted for connection `conn` (at the end of its RCPT).
pub fn take_policy(conn: u64) -> Option<Details> {
    notes().remove(&conn)
}

/// The MAIL transaction number of each connection that logs events, for `logevent`.
static TRANSACTIONS: LazyLock<Mutex<HashMap<u64, u32>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

pub fn set_transaction(conn: u64, n: u32) {
    TRANSACTIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(conn, n);
}

pub fn transaction(conn: u64) -> u32 {
    TRANSACTIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&conn)
        .copied()
        .unwrap_or(0)
}

/// Connection `conn` ended: its notes go.
pub fn forget(conn: u64) {
    notes().remove(&conn);
    TRANSACTIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&conn);
}

/// `logrollonsignal` of the running server: SIGHUP also rolls the send logs.
pub static SEND_LOGS_ROLL_ON_SIGNAL: AtomicBool = AtomicBool::new(false);

/// Rolls every send log and every event log (`ns_smtpd roll`); the first error, if any.
pub fn roll_everything() -> std::io::Result<()> {
    let mut result = super::sendlog::roll_all();
    for log in all() {
        if let Err(e) = log.roll() {
            result = result.and(Err(e));
        }
    }
    result
}

/// SIGHUP: rolls the logs configured to roll on it.
pub fn on_signal() {
    let mut result = Ok(());
    if SEND_LOGS_ROLL_ON_SIGNAL.load(Ordering::Acquire) {
        result = super::sendlog::roll_all();
    }
    for log in all().into_iter().filter(|l| l.roll_on_signal) {
        if let Err(e) = log.roll() {
            result = result.and(Err(e));
        }
    }
    if let Err(e) = result {
        crate::log::log(
            crate::log::Severity::Error,
            &format!("nssmtpd: rolling logs on SIGHUP: {e}"),
        );
    }
}
