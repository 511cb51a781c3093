//! NaviServer's C API (libnsd), found at run time with `dlsym(RTLD_DEFAULT, ...)`.
//!
//! nsd links libnsd, so its functions are global symbols of the process. Looking them up at
//! run time keeps the library free of any link-time dependency on libnsd: the same file
//! loads into plain tclsh, where the lookup finds nothing and module mode stays off.
//! Signatures follow NaviServer's `include/ns.h` and `include/nsthread.h`.
use super::sys::Tcl_Interp;
use std::ffi::{c_char, c_int, c_long, c_void, CStr, CString};
use std::sync::OnceLock;

pub const NS_OK: c_int = 0;
pub const NS_ERROR: c_int = -1;
/// `Ns_TclTraceType`: the trace runs for every new interpreter of the server.
pub const NS_TCL_TRACE_CREATE: c_int = 1;

/// `Ns_LogSeverity` values of NaviServer's predefined severities.
pub const NOTICE: c_int = 0;
pub const WARNING: c_int = 1;
pub const ERROR: c_int = 2;
pub const DEBUG: c_int = 5;

/// `Ns_Time`: an absolute time (seconds and microseconds since the epoch).
#[repr(C)]
pub struct NsTime {
    pub sec: libc::time_t,
    pub usec: c_long,
}

pub type NsCallback = unsafe extern "C" fn(arg: *mut c_void);
pub type NsShutdownProc = unsafe extern "C" fn(to: *const NsTime, arg: *mut c_void);
pub type NsTclTraceProc =
    unsafe extern "C" fn(interp: *mut Tcl_Interp, arg: *const c_void) -> c_int;

/// The libnsd functions module mode uses.
pub struct NsApi {
    pub log: unsafe extern "C" fn(severity: c_int, fmt: *const c_char, ...),
    pub create_log_severity: Option<unsafe extern "C" fn(name: *const c_char) -> c_int>,
    pub config_get_value:
        unsafe extern "C" fn(section: *const c_char, key: *const c_char) -> *const c_char,
    pub tcl_register_trace: unsafe extern "C" fn(
        server: *const c_char,
        proc_: NsTclTraceProc,
        arg: *const c_void,
        when: c_int,
    ) -> c_int,
    pub register_at_startup:
        unsafe extern "C" fn(proc_: NsCallback, arg: *mut c_void) -> *mut c_void,
    /// Runs before NaviServer starts its drivers (HTTP) and startup procs.
    pub register_at_prestartup:
        Option<unsafe extern "C" fn(proc_: NsCallback, arg: *mut c_void) -> *mut c_void>,
    pub register_at_shutdown:
        unsafe extern "C" fn(proc_: NsShutdownProc, arg: *mut c_void) -> *mut c_void,
    /// Runs on SIGHUP (NaviServer's log roll signal).
    pub register_at_signal:
        Option<unsafe extern "C" fn(proc_: NsCallback, arg: *mut c_void) -> *mut c_void>,
    pub tcl_allocate_interp: unsafe extern "C" fn(server: *const c_char) -> *mut Tcl_Interp,
    pub tcl_deallocate_interp: unsafe extern "C" fn(interp: *mut Tcl_Interp),
    pub thread_create: Option<
        unsafe extern "C" fn(
            proc_: NsCallback,
            arg: *mut c_void,
            stack: isize,
            thr: *mut *mut c_void,
        ),
    >,
    pub thread_set_name: Option<unsafe extern "C" fn(fmt: *const c_char, ...)>,
}

/// Looks a symbol up among the global symbols of the process.
///
/// # Safety
/// `T` must be the function pointer type matching the symbol's C declaration.
unsafe fn symbol<T: Copy>(name: &CStr) -> Option<T> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the symbol tables.
    let ptr = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if ptr.is_null() {
        return None;
    }
    debug_assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: T is a function pointer type of the same size (caller's contract).
    Some(unsafe { std::mem::transmute_copy(&ptr) })
}

/// The API of the NaviServer this process runs in, or `None` outside NaviServer.
pub fn api() -> Option<&'static NsApi> {
    static API: OnceLock<Option<NsApi>> = OnceLock::new();
    API.get_or_init(|| {
        // SAFETY: each type below is the C declaration of the named libnsd function.
        unsafe {
            Some(NsApi {
                log: symbol(c"Ns_Log")?,
                create_log_severity: symbol(c"Ns_CreateLogSeverity"),
                config_get_value: symbol(c"Ns_ConfigGetValue")?,
                tcl_register_trace: symbol(c"Ns_TclRegisterTrace")?,
                register_at_startup: symbol(c"Ns_RegisterAtStartup")?,
                register_at_prestartup: symbol(c"Ns_RegisterAtPreStartup"),
                register_at_shutdown: symbol(c"Ns_RegisterAtShutdown")?,
                register_at_signal: symbol(c"Ns_RegisterAtSignal"),
                tcl_allocate_interp: symbol(c"Ns_TclAllocateInterp")?,
                tcl_deallocate_interp: symbol(c"Ns_TclDeAllocateInterp")?,
                thread_create: symbol(c"Ns_ThreadCreate"),
                thread_set_name: symbol(c"Ns_ThreadSetName"),
            })
        }
    })
    .as_ref()
}

/// A C string for NaviServer; NUL bytes (never expected here) become spaces.
pub fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

impl NsApi {
    /// One line in NaviServer's log.
    pub fn log(&self, severity: c_int, message: &str) {
        let text = c_string(message);
        // SAFETY: "%s" with one NUL-terminated string argument matches Ns_Log's format rules.
        unsafe { (self.log)(severity, c"%s".as_ptr(), text.as_ptr()) };
    }

    /// `Ns_ConfigGetValue(section, key)`; `None` when the key is not set.
    pub fn config_value(&self, section: &str, key: &str) -> Option<String> {
        let (section, key) = (c_string(section), c_string(key));
        // SAFETY: both arguments are NUL-terminated; the result is NULL or a string owned by
        // NaviServer's config, which lives for the process.
        unsafe {
            let value = (self.config_get_value)(section.as_ptr(), key.as_ptr());
            (!value.is_null()).then(|| CStr::from_ptr(value).to_string_lossy().into_owned())
        }
    }

    /// A named log severity (e.g. `Debug(smtpd)`), or NaviServer's `Debug`.
    pub fn severity(&self, name: &str) -> c_int {
        let name = c_string(name);
        match self.create_log_severity {
            // SAFETY: NUL-terminated name; NaviServer copies it.
            Some(create) => unsafe { create(name.as_ptr()) },
            None => DEBUG,
        }
    }

    /// Names the calling thread in NaviServer's thread list and log lines.
    pub fn set_thread_name(&self, name: &str) {
        if let Some(set) = self.thread_set_name {
            let name = c_string(name);
            // SAFETY: "%s" with one NUL-terminated string argument.
            unsafe { set(c"%s".as_ptr(), name.as_ptr()) };
        }
    }
}
