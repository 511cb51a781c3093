//! The questions a session asks its policy (the Tcl callbacks), as a small trait so the
//! I/O layer can be tested without Tcl.
use std::future::Future;
use std::pin::Pin;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Helo,
    Mail,
    Rcpt,
    Data,
    Error,
    /// AUTH: called with the user and password as extra arguments; its result decides.
    Auth,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    /// The callback ran (with this result); its `setreply`, flag and recipient changes are
    /// in the session.
    Done(String),
    /// The callback raised an error (message with errorInfo).
    Failed(String),
    /// Nobody can answer any more (the interpreter is gone).
    Unavailable,
}

pub type HookFuture = Pin<Box<dyn Future<Output = HookOutcome> + Send>>;

pub trait Policy: Send + Sync {
    /// Whether a callback is configured for the hook (no work at all otherwise).
    fn wants(&self, hook: Hook) -> bool;
    /// Runs the callback for session `id`, with `extra` arguments after the id.
    fn call(&self, hook: Hook, id: u64, extra: Vec<String>) -> HookFuture;
}

/// A policy without callbacks: every command gets the server's default answer.
pub struct NoPolicy;

impl Policy for NoPolicy {
    fn wants(&self, _: Hook) -> bool {
        false
    }
    fn call(&self, _: Hook, _: u64, _: Vec<String>) -> HookFuture {
        Box::pin(async { HookOutcome::Done(String::new()) })
    }
}
