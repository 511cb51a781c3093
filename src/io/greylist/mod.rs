//! The greylist of one server instance, shared by every interpreter that drives it (the
//! owner and the worker interpreters): the memory table, or a Redis backend several servers
//! share, and the state file the memory table is kept in across restarts.
mod file;
mod redis;

use crate::config::ServerConfig;
use crate::core::greylist::{Entry, Reason, Settings, Table, Tuple};
use crate::log::{log, Severity};
use redis::RedisBackend;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The greylist numbers of a configuration.
pub fn settings(config: &ServerConfig) -> Settings {
    Settings {
        delay: config.greylistdelay,
        window: config.greylistretrywindow,
        lifetime: config.greylistlifetime,
        max_entries: config.greylistmaxentries,
    }
}

/// The checks `start` and `configure` make.
pub fn check_config(config: &ServerConfig) -> Result<(), String> {
    settings(config).validate()?;
    if config.greylistbackend != "memory" {
        RedisBackend::new(&config.greylistbackend)?;
    }
    Ok(())
}

/// Where a greylist lives.
#[derive(Clone)]
pub enum Backend {
    Memory,
    Redis(Arc<RedisBackend>),
}

#[derive(Default)]
pub struct Greylist {
    table: Mutex<Table>,
    /// The state file chosen at the last start: saved to at stop.
    file: Mutex<Option<PathBuf>>,
    /// The Redis backend of the last `redis://` URL used (its connection is kept).
    redis: Mutex<Option<Arc<RedisBackend>>>,
}

impl Greylist {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The backend a configuration names.
    pub fn backend(&self, config: &ServerConfig) -> Result<Backend, String> {
        let url = &config.greylistbackend;
        if url == "memory" {
            return Ok(Backend::Memory);
        }
        let mut slot = self.redis.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref() {
            Some(redis) if &redis.url == url => Ok(Backend::Redis(redis.clone())),
            _ => {
                let redis = Arc::new(RedisBackend::new(url)?);
                *slot = Some(redis.clone());
                Ok(Backend::Redis(redis))
            }
        }
    }

    /// Decides one attempt in the memory table.
    pub fn check_memory(&self, tuple: &Tuple, now: i64, s: &Settings) -> Reason {
        self.table().check(tuple, now, s)
    }

    pub fn memory_entries(&self) -> Vec<(Tuple, Entry)> {
        self.table().entries()
    }

    /// Empties the memory table; returns how many entries it had.
    pub fn flush_memory(&self) -> usize {
        let mut table = self.table();
        let n = table.len();
        table.clear();
        n
    }

    /// Saves the memory table to `path`; returns how many entries were saved.
    pub fn save(&self, path: &Path) -> Result<usize, String> {
        let entries = self.memory_entries();
        file::save(path, &entries)?;
        Ok(entries.len())
    }

    /// Replaces the memory table by the entries saved in `path` that are still valid at
    /// `now`; returns how many were kept (0 without a file).
    pub fn load(&self, path: &Path, now: i64, s: &Settings) -> Result<usize, String> {
        let saved = file::load(path)?.unwrap_or_default();
        Ok(self.table().restore(saved, now, s))
    }

    /// At `start`: with the memory table, remembers the state file and, if the table is
    /// empty (the first start), loads it. A file that cannot be read is logged, never fatal.
    pub fn started(&self, path: PathBuf, config: &ServerConfig, now: i64) {
        let memory = config.greylistbackend == "memory";
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = memory.then(|| path.clone());
        if memory && self.table().is_empty() {
            match self.load(&path, now, &settings(config)) {
                Ok(0) => {}
                Ok(n) => log(
                    Severity::Notice,
                    &format!(
                        "nssmtpd: greylist: {n} entries loaded from {}",
                        path.display()
                    ),
                ),
                Err(e) => log(Severity::Warning, &format!("nssmtpd: greylist: {e}")),
            }
        }
    }

    /// At an orderly stop: saves the memory table to the file chosen at start (none when
    /// the server used Redis). Failures are logged.
    pub fn stopped(&self) {
        let Some(path) = self.file.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        // An empty table over no file leaves nothing behind (servers that never greylist).
        if self.table().is_empty() && !path.exists() {
            return;
        }
        match self.save(&path) {
            Ok(n) => log(
                Severity::Notice,
                &format!("nssmtpd: greylist: {n} entries saved to {}", path.display()),
            ),
            Err(e) => log(Severity::Warning, &format!("nssmtpd: greylist: {e}")),
        }
    }
}

/// Logs the decisions worth an operator's eye, with the envelope (no message content).
pub fn log_decision(tuple: &Tuple, reason: Reason) {
    if matches!(
        reason,
        Reason::New | Reason::Retry | Reason::Expired | Reason::Capacity
    ) {
        log(
            Severity::Notice,
            &format!(
                "nssmtpd: {}: peer {} sender <{}> recipient <{}>",
                reason.as_str(),
                tuple.peer,
                tuple.sender,
                tuple.recipient
            ),
        );
    }
}
