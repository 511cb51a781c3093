//! NaviServer module mode: `Ns_ModuleInit` and `Ns_ModuleVersion`.
//!
//! Loaded from `ns/server/<server>/modules` (`ns_param nssmtpd /path/libnssmtpd.so`), the
//! module
//! - logs through NaviServer's `Ns_Log`;
//! - registers an interp-create trace, so every interpreter of the server gets `ns_smtpd`,
//!   all of them driving one shared instance (lists, configuration, server);
//! - at start-up, starts its own thread that allocates a server interpreter, runs
//!   `ns_smtpd start` there (configuration from the module section through `ns_config`,
//!   then `initproc`) and runs the Tcl event loop, so the bridge delivers the SMTP callbacks
//!   to that interpreter;
//! - at shutdown, stops the server and ends the thread.
//!
//! `Ns_ModuleInit` runs before any interpreter of ours exists, so it must not call Tcl (the
//! stubs table is still empty); Tcl is only used from the trace and from the thread.
use super::api::{self, EvalOutcome};
use super::loaded::{modules, section_for, LoopState, Module};
use super::nsapi::{self, NsApi, NsTime};
use super::sys::{self, tcl, Tcl_Event, Tcl_Interp, Tcl_ThreadId};
use crate::instance::Instance;
use crate::log::{LogSink, Severity};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The module interface version NaviServer checks for (`Ns_ModuleVersion`).
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static Ns_ModuleVersion: c_int = 1;

/// How long start-up waits for the listener (and `initproc`) before nsd goes on.
const START_WAIT: Duration = Duration::from_secs(60);
/// The name the runtime gives its worker threads.
const RUNTIME_THREAD: &str = crate::io::panics::IO_THREAD_NAME;
/// How long the thread gives open sessions to finish at shutdown.
const STOP_TIMEOUT_SECS: &str = "5";

/// Log lines go straight to NaviServer's log, from whichever thread writes them.
struct NsLog {
    api: &'static NsApi,
    debug: c_int,
}

impl LogSink for NsLog {
    fn write(&self, severity: Severity, message: &str) {
        // Runtime threads are not NaviServer's: name them once for the log's thread column.
        thread_local!(static NAMED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        if !NAMED.with(|n| n.replace(true)) && std::thread::current().name() == Some(RUNTIME_THREAD)
        {
            self.api.set_thread_name("-nssmtpd:worker-");
        }
        let level = match severity {
            Severity::Notice => nsapi::NOTICE,
            Severity::Warning => nsapi::WARNING,
            Severity::Error => nsapi::ERROR,
            Severity::Debug => self.debug,
        };
        self.api.log(level, message);
    }
}

/// Called by NaviServer when it loads the module for `server`.
///
/// # Safety
/// Called by NaviServer with NUL-terminated strings (`server` may be NULL for a global module).
#[no_mangle]
pub unsafe extern "C" fn Ns_ModuleInit(server: *const c_char, module: *const c_char) -> c_int {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: strings from NaviServer (caller's contract).
        unsafe { module_init(server, module) }
    }));
    outcome.unwrap_or_else(|_| {
        if let Some(api) = nsapi::api() {
            api.log(
                nsapi::ERROR,
                "nssmtpd: internal error while loading the module",
            );
        }
        nsapi::NS_ERROR
    })
}

unsafe fn module_init(server: *const c_char, module: *const c_char) -> c_int {
    let Some(api) = nsapi::api() else {
        // Not inside NaviServer: nothing to register with.
        return nsapi::NS_ERROR;
    };
    // SAFETY: NULL or a NUL-terminated string from NaviServer.
    let text = |p: *const c_char| unsafe {
        (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
    };
    let Some(server) = text(server) else {
        api.log(
            nsapi::ERROR,
            "nssmtpd: load the module for a server (ns/server/<server>/modules), not globally",
        );
        return nsapi::NS_ERROR;
    };
    let name = text(module).unwrap_or_else(|| "nssmtpd".to_string());
    if section_for(&server).is_some() {
        api.log(
            nsapi::ERROR,
            &format!("nssmtpd: module already loaded for server {server}"),
        );
        return nsapi::NS_ERROR;
    }
    let module: &'static Module = Box::leak(Box::new(Module {
        server,
        name,
        instance: Arc::new(Instance::new()),
        state: Mutex::new(LoopState::default()),
        changed: Condvar::new(),
    }));
    crate::log::set_sink(Arc::new(NsLog {
        api,
        debug: api.severity("Debug(smtpd)"),
    }));

    let section = module.section();
    let setting = |key: &str| api.config_value(&section, key).unwrap_or_default();
    api.log(
        nsapi::NOTICE,
        &format!(
            "nssmtpd: module {} {} for server {}: section {section}, address {} port {}",
            module.name,
            crate::VERSION,
            module.server,
            setting("address"),
            setting("port"),
        ),
    );

    let arg = module as *const Module as *mut c_void;
    let server_c = nsapi::c_string(&module.server);
    // SAFETY: the procs match NaviServer's callback types; `arg` is the leaked module, valid
    // for the rest of the process.
    let traced = unsafe {
        (api.tcl_register_trace)(
            server_c.as_ptr(),
            trace_create,
            arg,
            nsapi::NS_TCL_TRACE_CREATE,
        )
    };
    if traced != nsapi::NS_OK {
        api.log(
            nsapi::ERROR,
            "nssmtpd: cannot register the interpreter trace",
        );
        return nsapi::NS_ERROR;
    }
    // The listening socket is bound now, as the C module's was at load: a client (or a
    // startup script) connecting before the server runs waits in the backlog instead of
    // being refused. The server takes it over when it starts.
    prebind(&setting("address"), &setting("port"));
    // The server starts before NaviServer starts its drivers and runs its startup procs,
    // so `ns_atstartup` scripts and the first HTTP requests find it running.
    let register = api
        .register_at_prestartup
        .unwrap_or(api.register_at_startup);
    // SAFETY: as above.
    unsafe {
        register(at_startup, arg);
        (api.register_at_shutdown)(at_shutdown, arg);
    }
    register_roll_on_signal(api);
    modules().push(module);
    nsapi::NS_OK
}

/// SIGHUP rolls the send and event logs whose `*rollonsignal` is set (checked at the
/// signal, so the registration is made once, whatever the configuration).
fn register_roll_on_signal(api: &nsapi::NsApi) {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    let Some(register) = api.register_at_signal else {
        return;
    };
    REGISTERED.call_once(|| {
        // SAFETY: a valid callback taking no argument; NaviServer keeps the pointer.
        unsafe {
            register(at_signal, std::ptr::null_mut());
        }
    });
}

/// NaviServer's SIGHUP callback (run by its signal thread, not in a signal handler).
unsafe extern "C" fn at_signal(_arg: *mut std::ffi::c_void) {
    // No panic may cross into C.
    let _ = std::panic::catch_unwind(crate::io::eventlog::on_signal);
}

/// Binds the configured address and port for the server to take over at start.
fn prebind(address: &str, port: &str) {
    let address = if address.is_empty() {
        "127.0.0.1"
    } else {
        address
    };
    let Ok(port) = port.trim().parse::<u16>() else {
        return; // Not configured (25 by default: bound at start) or invalid (start says so).
    };
    if port == 0 {
        return;
    }
    if let Err(e) = crate::io::prebound::bind(address, port) {
        crate::log::log(
            Severity::Warning,
            &format!(
                "nssmtpd: cannot listen on {address}:{port} at load: {e} (tried again at start)"
            ),
        );
    }
}

/// Runs for every new interpreter of the server: creates `ns_smtpd` there.
unsafe extern "C" fn trace_create(interp: *mut Tcl_Interp, arg: *const c_void) -> c_int {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: arg is the leaked Module registered in module_init; interp is the new
        // interpreter on the current thread.
        unsafe {
            let module = &*(arg as *const Module);
            super::init::init_module_interp(interp, module.instance.clone())
        }
    }));
    let rc = outcome.unwrap_or(api::TCL_ERROR);
    if rc != api::TCL_OK && super::init::stubs_ready() {
        // SAFETY: valid interp on its thread; the stubs are set up.
        let message = unsafe { api::take_result(interp) };
        crate::log::log(
            Severity::Error,
            &format!("nssmtpd: cannot add ns_smtpd to an interpreter: {message}"),
        );
    }
    rc
}

/// After start-up: starts the event-loop thread and waits until the listener runs.
unsafe extern "C" fn at_startup(arg: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: arg is the leaked Module registered in module_init.
        let module = unsafe { &*(arg as *const Module) };
        start_thread(module);
        let state = module.state();
        let (state, _) = module
            .changed
            .wait_timeout_while(state, START_WAIT, |s| s.started.is_none())
            .unwrap_or_else(|e| e.into_inner());
        match &state.started {
            Some(Ok(_)) => {} // The server has logged where it listens.
            Some(Err(why)) => crate::log::log(
                Severity::Error,
                &format!("nssmtpd: server {} not started: {why}", module.server),
            ),
            None => crate::log::log(
                Severity::Warning,
                &format!(
                    "nssmtpd: server {} still starting after {START_WAIT:?}",
                    module.server
                ),
            ),
        }
    }));
}

fn start_thread(module: &'static Module) {
    module.update(|s| s.running = true);
    let arg = module as *const Module as *mut c_void;
    match nsapi::api().and_then(|api| api.thread_create) {
        // SAFETY: thread_main matches Ns_ThreadProc; a NULL result pointer makes the thread
        // detached; arg is the leaked module.
        Some(create) => unsafe { create(thread_main, arg, 0, std::ptr::null_mut()) },
        None => {
            let arg = arg as usize;
            // SAFETY: as above.
            std::thread::spawn(move || unsafe { thread_main(arg as *mut c_void) });
        }
    }
}

unsafe extern "C" fn thread_main(arg: *mut c_void) {
    // SAFETY: arg is the leaked Module registered in module_init.
    let module = unsafe { &*(arg as *const Module) };
    let outcome = catch_unwind(AssertUnwindSafe(|| run_event_loop(module)));
    if outcome.is_err() {
        crate::log::log(Severity::Error, "nssmtpd: internal error in the event loop");
    }
    module.update(|s| {
        s.thread = None;
        s.running = false;
        s.started.get_or_insert(Err("the event loop ended".into()));
    });
}

fn run_event_loop(module: &Module) {
    let Some(api) = nsapi::api() else { return };
    api.set_thread_name(&format!("-nssmtpd:{}-", module.server));
    module.update(|s| s.loop_thread = Some(std::thread::current().id()));
    let server = nsapi::c_string(&module.server);
    // SAFETY: NUL-terminated server name; the interp belongs to this thread.
    let interp = unsafe { (api.tcl_allocate_interp)(server.as_ptr()) };
    if interp.is_null() || !super::init::stubs_ready() {
        module.update(|s| s.started = Some(Err("no interpreter for the server".into())));
        return;
    }
    // SAFETY: valid interp of this thread (for all unsafe blocks below).
    let has_command = unsafe { api::command_exists(interp, "ns_smtpd") };
    let started = if has_command {
        // SAFETY: as above. Callbacks may run here (workers 0): `ns_conn peeraddr` works.
        let _ = unsafe { api::eval_words(interp, &["::nssmtpd::callback_ns_conn"]) };
        // SAFETY: as above.
        match unsafe { api::eval_words(interp, &["ns_smtpd", "start"]) } {
            EvalOutcome::Ok(addr) => Ok(addr),
            EvalOutcome::Error { message, .. } => Err(message),
        }
    } else {
        Err("ns_smtpd is missing in the server's interpreter".into())
    };
    let ok = started.is_ok();
    // SAFETY: on this thread; the id is only used to queue wake-up events.
    let me = unsafe { tcl!(tcl_GetCurrentThread) };
    module.update(|s| {
        s.started = Some(started);
        if ok {
            s.thread = Some(me);
        }
    });
    if ok {
        while !module.state().stop {
            // SAFETY: this thread's event loop; callbacks run in `interp`.
            unsafe { tcl!(tcl_DoOneEvent, sys::TCL_ALL_EVENTS as c_int) };
        }
        // No more wake-ups once the loop is left.
        module.update(|s| s.thread = None);
        let stop = ["ns_smtpd", "stop", "-timeout", STOP_TIMEOUT_SECS];
        // SAFETY: as above; the interp is still this thread's.
        let stopped = unsafe { api::eval_words(interp, &stop) };
        if let EvalOutcome::Error { message, .. } = stopped {
            crate::log::log(Severity::Warning, &format!("nssmtpd: stop: {message}"));
        }
    }
    // SAFETY: the interp came from Ns_TclAllocateInterp on this thread.
    unsafe { (api.tcl_deallocate_interp)(interp) };
}

/// NaviServer calls this twice at shutdown: first with no time (stop now), then with the
/// deadline (wait for the thread until then).
unsafe extern "C" fn at_shutdown(to: *const NsTime, arg: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: arg is the leaked Module registered in module_init.
        let module = unsafe { &*(arg as *const Module) };
        if to.is_null() {
            let mut state = module.state();
            state.stop = true;
            if let Some(thread) = state.thread {
                // SAFETY: the thread is still in its event loop (it clears `thread` under
                // this lock before leaving it).
                unsafe { wake(thread) };
            }
            return;
        }
        // SAFETY: NaviServer passes a valid time.
        let deadline = unsafe { UNIX_EPOCH + Duration::new((*to).sec.max(0) as u64, 0) }
            + Duration::from_micros(unsafe { (*to).usec }.max(0) as u64);
        let limit = deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let state = module.state();
        let (state, _) = module
            .changed
            .wait_timeout_while(state, limit, |s| s.running)
            .unwrap_or_else(|e| e.into_inner());
        if state.running {
            crate::log::log(
                Severity::Warning,
                "nssmtpd: event loop still running at the shutdown deadline",
            );
        }
    }));
}

/// An empty event, queued to end the loop thread's wait in `Tcl_DoOneEvent`.
#[repr(C)]
struct WakeEvent {
    header: Tcl_Event,
}

unsafe extern "C" fn wake_proc(_ev: *mut Tcl_Event, _flags: c_int) -> c_int {
    1
}

/// Wakes the loop thread from any thread.
///
/// # Safety
/// `thread` must be a thread that still has its Tcl notifier.
unsafe fn wake(thread: Tcl_ThreadId) {
    // SAFETY: Tcl_Alloc, Tcl_ThreadQueueEvent and Tcl_ThreadAlert may be called from any
    // thread; Tcl frees the event after wake_proc returns 1.
    unsafe {
        let ev = tcl!(tcl_Alloc, std::mem::size_of::<WakeEvent>() as _) as *mut WakeEvent;
        (*ev).header.proc_ = Some(wake_proc);
        (*ev).header.nextPtr = std::ptr::null_mut();
        tcl!(
            tcl_ThreadQueueEvent,
            thread,
            ev as *mut Tcl_Event,
            sys::TCL_QUEUE_TAIL as _
        );
        tcl!(tcl_ThreadAlert, thread);
    }
}
