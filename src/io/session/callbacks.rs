//! Asking the policy (the Tcl procs): a callback runs with the session's state in the
//! registry, within `callbacktimeout`, and answers with the server's default, its own reply
//! (`setreply`), or a failure that refuses the command with a 451.
use super::transport::forced_stop;
use super::{Flow, Session};
use crate::core::flags;
use crate::core::reply::Reply;
use crate::core::rules::replies;
use crate::io::policy::{Hook, HookOutcome};
use crate::log::{log, Severity};
use std::time::Instant;
use tokio::time::timeout;

/// A callback's verdict on a command.
pub(super) enum Verdict {
    /// No reply was set: the server's default applies.
    Default,
    /// The callback's own reply (`setreply`).
    Reply(Reply),
}

impl Verdict {
    /// The reply to give: the callback's own, or `default`.
    pub(super) fn or(self, default: Reply) -> Reply {
        match self {
            Verdict::Default => default,
            Verdict::Reply(r) => r,
        }
    }
}

impl Session {
    /// Runs a callback if one is configured; its error or a timeout refuses the command.
    pub(super) async fn callback(&mut self, hook: Hook) -> Result<Verdict, Reply> {
        self.callback_with(hook, Vec::new())
            .await
            .map(|(verdict, _)| verdict)
    }

    /// As `callback`, with extra arguments after the session id; also gives the callback's
    /// result.
    pub(super) async fn callback_with(
        &mut self,
        hook: Hook,
        extra: Vec<String>,
    ) -> Result<(Verdict, String), Reply> {
        let policy = self.shared.policy.clone();
        if !policy.wants(hook) {
            return Ok((Verdict::Default, String::new()));
        }
        self.handle.envelope().reply = None;
        self.handle.set_state("callback");
        // Replies to earlier pipelined commands need not wait for the callback.
        if !self.conn.has_buffered_line() {
            let _ = self.conn.flush().await;
        }
        let started = Instant::now();
        let failure = replies::callback_failed();
        let call = timeout(
            self.config.callbacktimeout,
            policy.call(hook, self.id(), extra),
        );
        let outcome = tokio::select! {
            o = call => o,
            // A forced stop does not wait for the callback: it may be the one stopping.
            _ = forced_stop(self.shutdown.clone()) => return Err(failure),
        };
        self.shared
            .stats
            .callback_ran(started.elapsed().as_micros() as u64);
        let result = match outcome {
            Ok(HookOutcome::Done(result)) => result,
            Ok(HookOutcome::Failed(info)) => {
                self.shared.stats.callback_error();
                log(
                    Severity::Error,
                    &format!("nssmtpd: {}: {hook:?} callback failed: {info}", self.id()),
                );
                return Err(failure);
            }
            Ok(HookOutcome::Unavailable) => {
                self.shared.stats.callback_error();
                return Err(failure);
            }
            Err(_) => {
                self.shared.stats.callback_error();
                log(
                    Severity::Error,
                    &format!(
                        "nssmtpd: {}: {hook:?} callback gave no answer within {:?}",
                        self.id(),
                        started.elapsed()
                    ),
                );
                return Err(failure);
            }
        };
        let text = self.handle.envelope().reply.take();
        match text {
            None => Ok((Verdict::Default, result)),
            Some(t) => match Reply::from_callback(&t) {
                Some(r) => Ok((Verdict::Reply(r), result)),
                None => {
                    log(
                        Severity::Error,
                        &format!(
                            "nssmtpd: {}: {hook:?} callback set an invalid reply: {t}",
                            self.id()
                        ),
                    );
                    Err(failure)
                }
            },
        }
    }

    /// The reply after a callback: its own, the `default`, or the failure that refused it.
    pub(super) async fn callback_reply(&mut self, hook: Hook, default: Reply) -> Reply {
        match self.callback(hook).await {
            Ok(verdict) => verdict.or(default),
            Err(failure) => failure,
        }
    }

    /// Whether a callback asked to close the session (`ABORT`).
    pub(super) fn aborted(&self) -> bool {
        self.handle.envelope().flags & flags::ABORT != 0
    }

    /// Finishes a command whose callback may have set a reply or `ABORT`.
    pub(super) fn conclude(&mut self, reply: Reply) -> Flow {
        let flow = if reply.is_positive() {
            self.reply(reply)
        } else {
            self.error_reply(reply)
        };
        if self.aborted() {
            return Flow::Close;
        }
        flow
    }
}
