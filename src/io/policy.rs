//! The questions a session asks its policy (the Tcl callbacks), as a small trait so the
//! I/O layer can be tested without Tcl; [`ScriptedPolicy`] is the Rust policy the tests and
//! the session fuzz target use.
use crate::registry;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Helo,
    Mail,
    Rcpt,
    Data,
    Error,
    /// AUTH: called with the user and password as extra arguments; its result decides.
    Auth,
    /// Alias resolution of a recipient (`aliasproc`), with the recipient, whether unknown
    /// recipients pass (`1` for LOCAL clients) and how many more recipients fit as extra
    /// arguments. Its result is `ok` and the final addresses, or `unknown`, `limit` or
    /// `error` and a message, one per line.
    Alias,
    /// The message policy after DATA (`datapolicyproc`): its reply refuses the message.
    DataPolicy,
    /// Diagnostics after DATA, before `dataproc` (`authdetailsproc`): informational, its
    /// reply and errors change nothing.
    AuthDetails,
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
    /// A session begins: the policy may tie it to the place its callbacks will run. The
    /// session holds the seat until it ends.
    fn open(&self, _id: u64) -> Seat {
        Seat::none()
    }
    /// The server is gone: the policy ends what it runs for it (worker threads).
    fn stop(&self) {}
    /// Gauges and counters of what runs the callbacks, for `stats`.
    fn stats(&self) -> PolicyStats {
        PolicyStats::default()
    }
    /// Where session `id`'s callbacks run (the worker's index), if in a pool.
    fn worker_of(&self, _id: u64) -> Option<usize> {
        None
    }
}

/// Held by a session for as long as it lives; tells the policy when it ends, however it
/// ends.
pub struct Seat(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Seat {
    pub fn none() -> Seat {
        Seat(None)
    }

    /// A seat that runs `release` when the session ends.
    pub fn new(release: impl FnOnce() + Send + Sync + 'static) -> Seat {
        Seat(Some(Box::new(release)))
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            release();
        }
    }
}

/// What runs the callbacks, as `stats` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyStats {
    /// Worker interpreters in the pool (0: the interpreter that started the server).
    pub workers: usize,
    /// Interpreters running a callback now.
    pub busy: usize,
    /// Callbacks waiting for an interpreter.
    pub queued: usize,
    /// Callbacks run, per worker (one entry without a pool).
    pub runs: Vec<u64>,
    /// Workers replaced after their interpreter ended.
    pub restarts: u64,
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

/// What a [`ScriptedPolicy`] callback does when one of its rules matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Sets no reply: the server's default answer applies.
    Accept,
    /// Sets this reply text, as `ns_smtpd setreply` would (`550 5.1.1 no`).
    Reply(String),
    /// Raises an error: the command gets `451 4.3.0`.
    Fail,
    /// Returns this result without setting a reply; AUTH accepts `1` and refuses `0`.
    Return(String),
    /// Never answers: the session's `callbacktimeout` ends the wait (`451 4.3.0`).
    Hang,
}

/// One scripted answer: for `hook`, optionally only when the current command line or the
/// newest recipient contains a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub hook: Hook,
    /// Matches only if the command line (lower-cased, as `getline` shows it) contains this.
    pub line_contains: Option<String>,
    /// Matches only if the newest recipient's address contains this.
    pub rcpt_contains: Option<String>,
    pub action: Action,
}

impl Rule {
    pub fn new(hook: Hook, action: Action) -> Rule {
        Rule {
            hook,
            line_contains: None,
            rcpt_contains: None,
            action,
        }
    }

    /// Only when the command line contains `text`.
    pub fn when_line(mut self, text: &str) -> Rule {
        self.line_contains = Some(text.to_string());
        self
    }

    /// Only when the newest recipient contains `text`.
    pub fn when_rcpt(mut self, text: &str) -> Rule {
        self.rcpt_contains = Some(text.to_string());
        self
    }

    fn matches(&self, hook: Hook, line: &str, newest_rcpt: Option<&str>) -> bool {
        self.hook == hook
            && self
                .line_contains
                .as_ref()
                .is_none_or(|t| line.contains(t.as_str()))
            && self
                .rcpt_contains
                .as_ref()
                .is_none_or(|t| newest_rcpt.is_some_and(|r| r.contains(t.as_str())))
    }
}

/// One callback as a [`ScriptedPolicy`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub hook: Hook,
    pub session: u64,
    /// The extra arguments (AUTH: the user and the password).
    pub extra: Vec<String>,
    /// The command line as the callback saw it (`getline`).
    pub line: String,
    pub from: Option<String>,
    /// The recipients, in RCPT order.
    pub recipients: Vec<String>,
    /// `Hook::Data` only: the message handed on, our `Received:` header first.
    pub message: Option<Vec<u8>>,
    /// What the policy did.
    pub action: Action,
}

/// The Rust policy the session is tested with (no Tcl): scripted answers per hook, and a
/// record of every call.
///
/// A hook is wanted when a rule names it; the first rule that matches decides, and a hook
/// without a matching rule is accepted (AUTH then refuses: it needs `Return("1")`).
pub struct ScriptedPolicy {
    rules: Vec<Rule>,
    calls: Mutex<Vec<Call>>,
}

impl ScriptedPolicy {
    pub fn new(rules: Vec<Rule>) -> ScriptedPolicy {
        ScriptedPolicy {
            rules,
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The calls of one hook so far, oldest first.
    pub fn calls_of(&self, hook: Hook) -> Vec<Call> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.iter().filter(|c| c.hook == hook).cloned().collect()
    }
}

impl Policy for ScriptedPolicy {
    fn wants(&self, hook: Hook) -> bool {
        self.rules.iter().any(|r| r.hook == hook)
    }

    fn call(&self, hook: Hook, id: u64, extra: Vec<String>) -> HookFuture {
        let Some(handle) = registry::get(id) else {
            return Box::pin(async { HookOutcome::Unavailable });
        };
        let mut env = handle.envelope();
        let newest = env.recipients().next().map(|r| r.addr.clone());
        let action = self
            .rules
            .iter()
            .find(|r| r.matches(hook, &env.line, newest.as_deref()))
            .map_or(Action::Accept, |r| r.action.clone());
        let mut recipients: Vec<String> = env.recipients().map(|r| r.addr.clone()).collect();
        recipients.reverse();
        let call = Call {
            hook,
            session: id,
            extra,
            line: env.line.clone(),
            from: env.from.clone(),
            recipients,
            message: (hook == Hook::Data).then(|| env.message.clone()),
            action: action.clone(),
        };
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
        let outcome = match action {
            Action::Accept => HookOutcome::Done(String::new()),
            Action::Reply(text) => {
                env.reply = Some(text);
                HookOutcome::Done(String::new())
            }
            Action::Fail => HookOutcome::Failed("scripted failure".into()),
            Action::Return(result) => HookOutcome::Done(result),
            Action::Hang => return Box::pin(std::future::pending()),
        };
        Box::pin(async move { outcome })
    }
}
