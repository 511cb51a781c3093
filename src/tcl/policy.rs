//! The Tcl callbacks as the server's policy: each hook becomes a job on the interpreter
//! thread that evaluates `<proc prefix> <session id>`.
use super::bridge::{Bridge, Callback, Job};
use crate::config::Procs;
use crate::io::policy::{Hook, HookFuture, HookOutcome, Policy};
use std::sync::{Arc, RwLock};
use tokio::sync::oneshot;

pub struct TclPolicy {
    bridge: Arc<Bridge>,
    /// Shared with `configure`, so changed procs apply to the next callback.
    pub procs: Arc<RwLock<Procs>>,
}

impl TclPolicy {
    pub fn new(bridge: Arc<Bridge>, procs: Arc<RwLock<Procs>>) -> Self {
        TclPolicy { bridge, procs }
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
        }
    }
}

impl Policy for TclPolicy {
    fn wants(&self, hook: Hook) -> bool {
        !self.prefix(hook).trim().is_empty()
    }

    fn call(&self, hook: Hook, id: u64, extra: Vec<String>) -> HookFuture {
        let command = Callback::new(&self.prefix(hook), id, &extra);
        let (reply, answer) = oneshot::channel();
        if !self.bridge.post(Job::Eval { command, reply }) {
            return Box::pin(async { HookOutcome::Unavailable });
        }
        Box::pin(async move { answer.await.unwrap_or(HookOutcome::Unavailable) })
    }
}
