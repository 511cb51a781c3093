//! The event bridge: how work from tokio threads reaches the interpreter's thread.
//!
//! Session tasks never touch Tcl. They push a [`Job`] onto the interpreter's queue and alert
//! its thread; an event source (registered on that thread) turns queued jobs into one Tcl
//! event, whose proc runs them there. Answers go back on oneshot channels. When the
//! interpreter is deleted, the queue is emptied, which drops the senders: waiting sessions
//! see the interpreter as gone and answer `451`.
use super::api;
use super::sys::{self, tcl, ClientData, Tcl_Event, Tcl_Interp, Tcl_ThreadId, Tcl_Time};
use crate::io::policy::HookOutcome;
use std::collections::VecDeque;
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

#[derive(Debug, PartialEq, Eq)]
/// A callback invocation: plain words (run without parsing) or, for prefixes that need Tcl's
/// parser, a script.
pub enum Callback {
    Words(Vec<String>),
    Script(String),
}

impl Callback {
    /// `prefix id ?extra ...?`: words when the prefix is a plain list of simple words (the
    /// usual `proc` or `ns::proc arg`), a script otherwise, as the original evaluated it.
    pub fn new(prefix: &str, id: u64, extra: &[String]) -> Callback {
        let simple = !prefix.chars().any(|c| {
            matches!(
                c,
                '{' | '}' | '[' | ']' | '$' | '"' | '\\' | ';' | '#' | '\n' | '\r'
            )
        });
        if simple {
            let mut words: Vec<String> = prefix.split_whitespace().map(str::to_string).collect();
            words.push(id.to_string());
            words.extend(extra.iter().cloned());
            Callback::Words(words)
        } else {
            let mut script = format!("{prefix} {id}");
            for word in extra {
                script.push(' ');
                script.push_str(&quote_word(word));
            }
            Callback::Script(script)
        }
    }
}

/// One Tcl word for a script: every character Tcl's parser treats specially is escaped
/// with a backslash, so any text arrives unchanged as a single argument.
fn quote_word(word: &str) -> String {
    if word.is_empty() {
        return "{}".to_string();
    }
    let mut out = String::with_capacity(word.len() + 8);
    for c in word.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '{' | '}' | '[' | ']' | '$' | '"' | '\\' | ';' | ' ' | '#' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Work for the interpreter's thread.
pub enum Job {
    /// Run a command at global level; the outcome goes back to the sender.
    Eval {
        command: Callback,
        /// The session the callback is for (`ns_conn peeraddr` answers for it).
        session: u64,
        reply: oneshot::Sender<HookOutcome>,
    },
    /// Only wakes the event loop (a blocking command waits for a result).
    Wake,
    /// A log line for `ns_log`; nobody waits for it.
    Log {
        severity: &'static str,
        message: String,
    },
}

pub struct Bridge {
    interp: *mut Tcl_Interp,
    thread: Tcl_ThreadId,
    queue: Mutex<VecDeque<Job>>,
    alive: AtomicBool,
    event_pending: AtomicBool,
    /// A callback is running now (for `stats`).
    busy: AtomicBool,
    /// Callbacks run so far (for `stats`).
    runs: AtomicU64,
}

// SAFETY: the raw interp pointer is only dereferenced on the interpreter's own thread (in
// event procs); other threads only use `thread` with Tcl_ThreadAlert, which Tcl allows from
// any thread, and the queue, which is behind a mutex.
unsafe impl Send for Bridge {}
// SAFETY: as above; all shared mutable state is atomic or behind a mutex.
unsafe impl Sync for Bridge {}

/// The Tcl event that carries a bridge to the interpreter thread; header first, as Tcl
/// requires.
#[repr(C)]
struct BridgeEvent {
    header: Tcl_Event,
    bridge: *const Bridge,
}

impl Bridge {
    /// Creates the bridge for an interpreter (on its thread) and hooks it into the event loop.
    ///
    /// # Safety
    /// Must be called on the interpreter's thread with a valid interp.
    pub unsafe fn create(interp: *mut Tcl_Interp) -> Arc<Bridge> {
        // SAFETY: on the interp's thread (caller).
        let thread = unsafe { tcl!(tcl_GetCurrentThread) };
        let bridge = Arc::new(Bridge {
            interp,
            thread,
            queue: Mutex::new(VecDeque::new()),
            alive: AtomicBool::new(true),
            event_pending: AtomicBool::new(false),
            busy: AtomicBool::new(false),
            runs: AtomicU64::new(0),
        });
        // Tcl holds one reference for the event source; it is released in `interp_deleted`.
        let data = Arc::into_raw(bridge.clone()) as ClientData;
        // SAFETY: procs and data stay valid until interp_deleted removes them.
        unsafe {
            tcl!(
                tcl_CreateEventSource,
                Some(setup_proc),
                Some(check_proc),
                data
            );
            tcl!(tcl_CallWhenDeleted, interp, Some(interp_deleted), data);
        }
        bridge
    }

    /// Queues a job for the interpreter thread; false if the interpreter is gone.
    pub fn post(&self, job: Job) -> bool {
        if !self.alive.load(Ordering::Acquire) {
            return false;
        }
        let was_empty = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.push_back(job);
            queue.len() == 1
        };
        // Only the first job needs to wake the thread: while the queue is not empty the
        // setup proc keeps the event loop from sleeping, so later jobs are seen anyway.
        if was_empty {
            // SAFETY: Tcl_ThreadAlert may be called from any thread; the stubs table is global.
            unsafe { tcl!(tcl_ThreadAlert, self.thread) };
        }
        true
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Whether a callback runs in the interpreter now.
    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed)
    }

    /// Jobs waiting for the interpreter.
    pub fn queued(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Callbacks run so far.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    fn has_jobs(&self) -> bool {
        !self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Runs the jobs queued so far (on the interpreter thread).
    fn run_jobs(&self) {
        let n = self.queue.lock().unwrap_or_else(|e| e.into_inner()).len();
        for _ in 0..n {
            let job = self
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            let Some(job) = job else { break };
            if let Job::Log { severity, message } = &job {
                // SAFETY: on the interp's thread, interp alive (as below).
                let _ = unsafe { api::eval_words(self.interp, &["ns_log", severity, message]) };
                continue;
            }
            if let Job::Eval {
                command,
                session,
                reply,
            } = job
            {
                if reply.is_closed() {
                    continue; // The session gave up waiting; don't run a stale callback.
                }
                self.busy.store(true, Ordering::Relaxed);
                let _current = CurrentSession::enter(session);
                // SAFETY: we are on the interp's thread (event proc) and the interp is alive
                // (checked by the caller); Tcl_Preserve keeps it while the script runs.
                let outcome = unsafe {
                    tcl!(tcl_Preserve, self.interp as ClientData);
                    let o = match &command {
                        Callback::Words(words) => {
                            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                            api::eval_words(self.interp, &refs)
                        }
                        Callback::Script(script) => api::eval_script(self.interp, script),
                    };
                    tcl!(tcl_Release, self.interp as ClientData);
                    o
                };
                self.busy.store(false, Ordering::Relaxed);
                self.runs.fetch_add(1, Ordering::Relaxed);
                let _ = reply.send(match outcome {
                    api::EvalOutcome::Ok(result) => HookOutcome::Done(result),
                    api::EvalOutcome::Error { message, info, .. } => {
                        // SAFETY: on the interp's thread, interp alive (as above).
                        unsafe { report_error(self.interp, &message, &info) };
                        HookOutcome::Failed(message)
                    }
                });
            }
            if !self.is_alive() {
                break;
            }
        }
    }
}

thread_local! {
    /// The session whose callback runs on this thread now (0: none).
    static CURRENT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Marks the session whose callback runs on this thread, until dropped (callbacks nest
/// when one waits in the event loop, e.g. in `ns_smtpd send`).
struct CurrentSession(u64);

impl CurrentSession {
    fn enter(id: u64) -> CurrentSession {
        CurrentSession(CURRENT.with(|c| c.replace(id)))
    }
}

impl Drop for CurrentSession {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// The session whose callback runs on this thread, if any.
pub fn current_session() -> Option<u64> {
    Some(CURRENT.with(|c| c.get())).filter(|&id| id != 0)
}

/// Hands `interp bgerror`'s handler the message and an options dict, as an error in an
/// event handler would.
const BGERROR: &str = "{message info} {
    catch {
        {*}[interp bgerror {}] $message [dict create -code 1 -level 0 -errorcode NONE -errorinfo $info]
    }
}";

/// A callback's error with its whole errorInfo, lines intact: to the interpreter's
/// background error handler in tclsh, to the server log in NaviServer (the session's log
/// line then names only the message).
///
/// # Safety
/// `interp` must be a valid interpreter of the current thread.
unsafe fn report_error(interp: *mut Tcl_Interp, message: &str, info: &str) {
    // SAFETY: valid interp on its thread (caller).
    unsafe {
        if crate::tcl::loaded::is_active() {
            let _ = api::eval_words(interp, &["ns_log", "Error", info]);
        } else {
            let _ = api::eval_words(interp, &["apply", BGERROR, message, info]);
        }
    }
}

unsafe extern "C" fn setup_proc(data: ClientData, _flags: c_int) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: data is the Arc<Bridge> pointer registered in `create`, alive until removal.
        let bridge = unsafe { &*(data as *const Bridge) };
        if bridge.has_jobs() {
            let zero = Tcl_Time { sec: 0, usec: 0 };
            // SAFETY: plain call on the interp thread.
            unsafe { tcl!(tcl_SetMaxBlockTime, &zero) };
        }
    }));
}

unsafe extern "C" fn check_proc(data: ClientData, _flags: c_int) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as in setup_proc.
        let bridge = unsafe { &*(data as *const Bridge) };
        if !bridge.has_jobs() || bridge.event_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        // SAFETY: Tcl_Alloc'd memory is freed by Tcl after the event proc returns 1 (or by
        // Tcl_DeleteEvents); the event holds one Arc reference, released in event_proc/filter.
        unsafe {
            Arc::increment_strong_count(data as *const Bridge);
            let ev = tcl!(tcl_Alloc, std::mem::size_of::<BridgeEvent>() as _) as *mut BridgeEvent;
            (*ev).header.proc_ = Some(event_proc);
            (*ev).header.nextPtr = std::ptr::null_mut();
            (*ev).bridge = data as *const Bridge;
            tcl!(
                tcl_QueueEvent,
                ev as *mut Tcl_Event,
                sys::TCL_QUEUE_TAIL as _
            );
        }
    }));
}

unsafe extern "C" fn event_proc(ev: *mut Tcl_Event, flags: c_int) -> c_int {
    if flags & sys::TCL_FILE_EVENTS as c_int == 0 {
        return 0; // Not now (e.g. `update idletasks`); Tcl keeps the event.
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: ev is our BridgeEvent; its Arc reference is taken back here exactly once.
        let bridge = unsafe { Arc::from_raw((*(ev as *mut BridgeEvent)).bridge) };
        bridge.event_pending.store(false, Ordering::Release);
        if bridge.is_alive() {
            bridge.run_jobs();
        }
    }));
    1
}

unsafe extern "C" fn delete_filter(ev: *mut Tcl_Event, data: ClientData) -> c_int {
    let ours =
        (*ev).proc_.map(|p| p as *const () as usize) == Some(event_proc as *const () as usize);
    // SAFETY: events with our proc are BridgeEvents; drop their Arc before Tcl frees them.
    unsafe {
        if ours && (*(ev as *mut BridgeEvent)).bridge == data as *const Bridge {
            drop(Arc::from_raw((*(ev as *mut BridgeEvent)).bridge));
            return 1;
        }
    }
    0
}

unsafe extern "C" fn interp_deleted(data: ClientData, _interp: *mut Tcl_Interp) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: data is the event source's Arc reference from `create`; released here once.
        unsafe {
            let bridge = Arc::from_raw(data as *const Bridge);
            bridge.alive.store(false, Ordering::Release);
            tcl!(
                tcl_DeleteEventSource,
                Some(setup_proc),
                Some(check_proc),
                data
            );
            tcl!(tcl_DeleteEvents, Some(delete_filter), data);
            // Dropping queued jobs drops their senders: waiting sessions see "gone".
            bridge
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
    }));
}

/// Runs `fut` on the runtime while this thread keeps serving Tcl events (so callbacks of a
/// server in the same interpreter still run), and returns its output.
pub fn wait_pumping<T: Send + 'static>(
    bridge: &Arc<Bridge>,
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let waker = bridge.clone();
    crate::io::runtime::runtime().spawn(async move {
        let out = fut.await;
        let _ = tx.send(out);
        waker.post(Job::Wake);
    });
    loop {
        if let Ok(out) = rx.try_recv() {
            return out;
        }
        // SAFETY: called from a command proc on the interpreter's thread.
        unsafe { tcl!(tcl_DoOneEvent, sys::TCL_ALL_EVENTS as c_int) };
    }
}

/// Log lines go to `ns_log` in the interpreter that started the server (NaviServer's log, or
/// the tclsh stand-in), without the session waiting for it.
pub struct TclLog(pub Arc<Bridge>);

impl crate::log::LogSink for TclLog {
    fn write(&self, severity: crate::log::Severity, message: &str) {
        let job = Job::Log {
            severity: severity.name(),
            message: message.to_string(),
        };
        if !self.0.post(job) {
            crate::log::stderr(severity, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Callback;

    #[test]
    fn simple_prefixes_become_words() {
        assert_eq!(
            Callback::new("smtpd::rcpt", 7, &[]),
            Callback::Words(vec!["smtpd::rcpt".into(), "7".into()])
        );
        assert_eq!(
            Callback::new(" p  arg ", 1, &[]),
            Callback::Words(vec!["p".into(), "arg".into(), "1".into()])
        );
        assert_eq!(
            Callback::new("p {a b}", 2, &[]),
            Callback::Script("p {a b} 2".into())
        );
        assert_eq!(
            Callback::new("p $x", 3, &[]),
            Callback::Script("p $x 3".into())
        );
        assert_eq!(
            Callback::new("p {a}", 4, &["u s".into(), "a$[b]\\".into(), String::new()]),
            Callback::Script("p {a} 4 u\\ s a\\$\\[b\\]\\\\ {}".into())
        );
    }
}
