//! The Tcl callbacks as the server's policy: each hook becomes a job that evaluates
//! `<proc prefix> <session id>` in the interpreter that started the server or, with a pool,
//! in the session's worker.
use super::bridge::{Bridge, Callback, Job};
use super::pool::Pool;
use crate::config::Procs;
use crate::io::policy::{Hook, HookFuture, HookOutcome, Policy, PolicyStats, Seat};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::oneshot;

/// Where the callbacks run.
pub enum Runner {
    /// In the interpreter that started the server (`workers 0`).
    Interp(Arc<Bridge>),
    /// In a pool of worker interpreters.
    Pool(Pool),
}

pub struct TclPolicy {
    runner: Runner,
    /// Shared with `configure`, so changed procs apply to the next callback.
    pub procs: Arc<RwLock<Procs>>,
}

/// How long stopping the server waits for busy workers.
const WORKER_STOP_WAIT: Duration = Duration::from_secs(5);

impl TclPolicy {
    pub fn new(runner: Runner, procs: Arc<RwLock<Procs>>) -> Self {
        TclPolicy { runner, procs }
    }

    fn prefix(&self, hook: Hook) -> String {
        let procs = self.procs.read().unwrap_or_else(|e| e.into_inner());
        match hook {
            Hook::Helo => procs.helo.clone(),
            Hook::Mail => procs.mail.clone(),
            Hook::Rcpt => procs.rcpt.clone(),
            Hook::Data => procs.data.clone(),
            Hook::Error => procs.error.clone(),
            Hook::Auth => procs.auth.clone(),
            Hook::AuthDetails => procs.auth_details.clone(),
            // These two are called through Tcl procs of the library, which call the
            // configured prefix the way upstream's contract says (a context dict, named
            // arguments) and turn its answer into a reply or a result the session reads.
            Hook::Alias => internal(&procs.alias, "::nssmtpd::aliasrcpt"),
            Hook::DataPolicy => internal(&procs.data_policy, "::nssmtpd::datapolicy"),
        }
    }
}

/// The library's proc that runs a configured prefix, when one is configured.
fn internal(configured: &str, proc_name: &str) -> String {
    if configured.trim().is_empty() {
        String::new()
    } else {
        proc_name.to_string()
    }
}

impl Policy for TclPolicy {
    fn wants(&self, hook: Hook) -> bool {
        !self.prefix(hook).trim().is_empty()
    }

    fn call(&self, hook: Hook, id: u64, extra: Vec<String>) -> HookFuture {
        let command = Callback::new(&self.prefix(hook), id, &extra);
        let (reply, answer) = oneshot::channel();
        let job = Job::Eval {
            command,
            session: id,
            reply,
        };
        let bridge = match &self.runner {
            Runner::Interp(bridge) => bridge,
            Runner::Pool(pool) => return pool.call(id, job, answer),
        };
        if !bridge.post(job) {
            return Box::pin(async { HookOutcome::Unavailable });
        }
        Box::pin(async move { answer.await.unwrap_or(HookOutcome::Unavailable) })
    }

    fn open(&self, id: u64) -> Seat {
        match &self.runner {
            Runner::Interp(_) => Seat::none(),
            Runner::Pool(pool) => pool.seat(id),
        }
    }

    fn stop(&self) {
        if let Runner::Pool(pool) = &self.runner {
            pool.stop_and_wait(WORKER_STOP_WAIT);
        }
    }

    fn stats(&self) -> PolicyStats {
        match &self.runner {
            Runner::Interp(bridge) => PolicyStats {
                workers: 0,
                busy: usize::from(bridge.is_busy()),
                queued: bridge.queued(),
                runs: vec![bridge.runs()],
                restarts: 0,
            },
            Runner::Pool(pool) => pool.stats(),
        }
    }

    fn worker_of(&self, id: u64) -> Option<usize> {
        match &self.runner {
            Runner::Interp(_) => None,
            Runner::Pool(pool) => pool.worker_of(id),
        }
    }
}
