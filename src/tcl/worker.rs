//! One worker of the interpreter pool: a thread with its own Tcl interpreter and event loop,
//! where the callbacks of the sessions tied to it run.
//!
//! In tclsh the thread creates a fresh interpreter, runs `Tcl_Init`, loads this extension
//! from the file the starting interpreter loaded it from (its `ns_smtpd` drives the same
//! server), and evaluates `workerinit`. In NaviServer it takes a server interpreter, as a
//! connection thread does, so the server's Tcl library is there; `workerinit` is optional.
//! `exit` in a worker ends that worker (the pool starts a fresh one), never the process.
use super::api::{self, EvalOutcome};
use super::bridge::{Bridge, Job};
use super::nsapi;
use super::sys::{self, tcl, Tcl_Interp};
use crate::instance::Instance;
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How to make a worker's interpreter.
#[derive(Clone)]
pub enum Host {
    /// A plain Tcl process: a new interpreter set up like the one that started the server.
    Tclsh {
        /// The file this extension was loaded from (`info loaded`), if known.
        library: Option<String>,
        /// Runs before `Tcl_Init`: `tcl_library` of the starting interpreter.
        preinit: String,
        /// Runs after loading the extension: `auto_path`, the configuration sections and the
        /// log file of the starting interpreter.
        setup: String,
    },
    /// NaviServer module mode: an interpreter of this server.
    NaviServer { server: String },
}

/// Everything a worker thread needs; shared by the pool's workers.
pub struct Spec {
    pub host: Host,
    /// `workerinit`: evaluated once in each worker after its interpreter is set up.
    pub init: String,
    pub instance: Arc<Instance>,
}

/// `exit` in a worker: the worker ends after the callback (which fails, so its command gets
/// a 451) and the pool replaces it; the process and the server go on.
const WORKER_EXIT: &str = r#"
namespace eval ::nssmtpd::worker {}
rename ::exit {}
proc ::exit {{code 0}} {
    set ::nssmtpd::worker::exit $code
    return -code error -errorcode {NSSMTPD WORKER EXIT} \
        "exit in an nssmtpd worker ends that worker, not the process (a new worker takes its place)"
}
"#;

/// What a worker reports once its interpreter is ready (or why it is not).
pub type Ready = Result<Arc<Bridge>, String>;

/// Why a worker's loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The pool stopped.
    Stopped,
    /// The interpreter called `exit` or was deleted: the pool should replace the worker.
    Lost,
}

/// Runs a worker on the calling thread: sets up its interpreter, reports through `ready`,
/// serves events until `stop` is set or the interpreter ends, then tears it down.
pub fn run(spec: &Spec, index: usize, stop: &AtomicBool, ready: impl FnOnce(Ready)) -> End {
    match &spec.host {
        Host::Tclsh { .. } => {
            // SAFETY: a new interpreter of this thread, deleted here before the thread ends.
            let interp = unsafe { tcl!(tcl_CreateInterp) };
            // SAFETY: the interpreter just created on this thread.
            let end = serve_if_ready(interp, unsafe { set_up_tclsh(interp, spec) }, stop, ready);
            // SAFETY: the interpreter was created on this thread; Tcl_FinalizeThread frees
            // the thread's Tcl data, as Tcl's own threads do at exit.
            unsafe {
                if tcl!(tcl_InterpDeleted, interp) == 0 {
                    tcl!(tcl_DeleteInterp, interp);
                }
                tcl!(tcl_FinalizeThread);
            }
            end
        }
        Host::NaviServer { server } => {
            let Some(ns) = nsapi::api() else {
                ready(Err("NaviServer's API is not available".into()));
                return End::Stopped;
            };
            ns.set_thread_name(&format!("-nssmtpd:worker{index}-"));
            let name = nsapi::c_string(server);
            // SAFETY: NUL-terminated server name; the interpreter belongs to this thread.
            let interp = unsafe { (ns.tcl_allocate_interp)(name.as_ptr()) };
            if interp.is_null() {
                ready(Err(format!("no interpreter for server {server}")));
                return End::Stopped;
            }
            // SAFETY: a valid interpreter of this thread.
            let end = serve_if_ready(interp, unsafe { set_up_common(interp, spec) }, stop, ready);
            // SAFETY: the interpreter came from Ns_TclAllocateInterp on this thread (a
            // deleted one is only released, never used again).
            unsafe { (ns.tcl_deallocate_interp)(interp) };
            end
        }
    }
}

/// A new tclsh interpreter: `tcl_library` as the starting interpreter has it, `Tcl_Init`,
/// this extension bound to the server's instance, then the common part.
///
/// # Safety
/// `interp` must be a valid interpreter of the calling thread.
unsafe fn set_up_tclsh(interp: *mut Tcl_Interp, spec: &Spec) -> Result<Arc<Bridge>, String> {
    let Host::Tclsh {
        library,
        preinit,
        setup,
    } = &spec.host
    else {
        unreachable!("set_up_tclsh is only called for tclsh workers")
    };
    // SAFETY: valid interp of this thread (caller), for every call below.
    unsafe {
        if let EvalOutcome::Error { message, .. } = api::eval_script(interp, preinit) {
            return Err(message);
        }
        if tcl!(tcl_Init, interp) != api::TCL_OK {
            return Err(format!("Tcl_Init: {}", api::take_result(interp)));
        }
        super::init::load_for_worker(interp, spec.instance.clone(), library.as_deref())?;
        if let EvalOutcome::Error { message, .. } = api::eval_script(interp, setup) {
            return Err(message);
        }
        set_up_common(interp, spec)
    }
}

/// `exit` made a worker's, `workerinit` evaluated, and the bridge the pool posts to.
///
/// # Safety
/// `interp` must be a valid interpreter of the calling thread.
unsafe fn set_up_common(interp: *mut Tcl_Interp, spec: &Spec) -> Result<Arc<Bridge>, String> {
    // SAFETY: valid interp of this thread (caller).
    unsafe {
        if let EvalOutcome::Error { message, .. } = api::eval_script(interp, WORKER_EXIT) {
            return Err(message);
        }
        if let Host::NaviServer { .. } = spec.host {
            let _ = api::eval_words(interp, &["::nssmtpd::callback_ns_conn"]);
        }
        if !spec.init.trim().is_empty() {
            if let EvalOutcome::Error { message, .. } = api::eval_script(interp, &spec.init) {
                return Err(message);
            }
        }
        Ok(Bridge::create(interp))
    }
}

/// Reports how the set-up went and, when the interpreter is ready, serves it.
fn serve_if_ready(
    interp: *mut Tcl_Interp,
    set_up: Ready,
    stop: &AtomicBool,
    ready: impl FnOnce(Ready),
) -> End {
    match set_up {
        Ok(bridge) => {
            ready(Ok(bridge.clone()));
            serve(interp, &bridge, stop)
        }
        Err(e) => {
            ready(Err(e));
            End::Stopped
        }
    }
}

/// The worker's event loop: runs until the pool stops or the interpreter ends.
fn serve(interp: *mut Tcl_Interp, bridge: &Arc<Bridge>, stop: &AtomicBool) -> End {
    loop {
        if stop.load(Ordering::Acquire) {
            return End::Stopped;
        }
        // SAFETY: this thread's interpreter; a deleted one is never evaluated in.
        unsafe {
            if !bridge.is_alive() || tcl!(tcl_InterpDeleted, interp) != 0 {
                return End::Lost;
            }
            if exit_called(interp) {
                return End::Lost;
            }
            tcl!(tcl_DoOneEvent, sys::TCL_ALL_EVENTS as c_int);
        }
    }
}

/// Whether a callback called `exit` in this worker.
///
/// # Safety
/// `interp` must be a valid, undeleted interpreter of the calling thread.
unsafe fn exit_called(interp: *mut Tcl_Interp) -> bool {
    // SAFETY: as the caller guarantees; a global lookup without an error message leaves the
    // interpreter's result alone.
    unsafe {
        !tcl!(
            tcl_GetVar2Ex,
            interp,
            c"::nssmtpd::worker::exit".as_ptr(),
            std::ptr::null(),
            sys::TCL_GLOBAL_ONLY as c_int
        )
        .is_null()
    }
}

/// Wakes a worker so it sees its stop flag.
pub fn wake(bridge: &Bridge) {
    bridge.post(Job::Wake);
}

/// Starts `body` on a new thread: NaviServer's own threads in module mode (so its log and
/// thread list know them), a named Rust thread otherwise.
pub fn spawn_thread(name: String, body: Box<dyn FnOnce() + Send>) -> Result<(), String> {
    if crate::tcl::loaded::is_active() {
        if let Some(create) = nsapi::api().and_then(|api| api.thread_create) {
            let arg = Box::into_raw(Box::new(body)) as *mut c_void;
            // SAFETY: thread_main matches Ns_ThreadProc and takes back the boxed body exactly
            // once; a NULL result pointer makes the thread detached.
            unsafe { create(thread_main, arg, 0, std::ptr::null_mut()) };
            return Ok(());
        }
    }
    std::thread::Builder::new()
        .name(name)
        .spawn(body)
        .map(|_| ())
        .map_err(|e| format!("cannot start a worker thread: {}", crate::io::os_text(&e)))
}

unsafe extern "C" fn thread_main(arg: *mut c_void) {
    // SAFETY: arg is the box leaked in spawn_thread, taken back only here.
    let body = unsafe { Box::from_raw(arg as *mut Box<dyn FnOnce() + Send>) };
    let _ = catch_unwind(AssertUnwindSafe(body));
}
