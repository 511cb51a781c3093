//! The extension's entry point `Nssmtpd_Init` and the `ns_smtpd` object command proc.
//!
//! No panic may cross `extern "C"`: every proc here runs its body under `catch_unwind` and
//! turns a panic into a Tcl error.
use super::api::{self, EvalOutcome, TCL_ERROR, TCL_OK};
use super::args::Args;
use super::cmd;
use super::context::{InterpContext, Role};
use super::sys::{tcl, ClientData, Tcl_Interp, Tcl_Obj, Tcl_Size};
use super::value::CmdError;
use crate::instance::Instance;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

thread_local! {
    /// Set while a worker of the pool loads the extension: its `ns_smtpd` then drives this
    /// instance (the server's) instead of a new one of its own.
    static ADOPT: RefCell<Option<Arc<Instance>>> = const { RefCell::new(None) };
}

extern "C" {
    fn nssmtpd_init_stubs(interp: *mut Tcl_Interp) -> *const c_char;
}

/// Tcl scripts evaluated in every interpreter that loads the extension.
const EMBEDDED_SCRIPTS: &[(&str, &str)] = &[
    ("config-shim.tcl", include_str!("../../tcl/config-shim.tcl")),
    (
        "nssmtpd-procs.tcl",
        include_str!("../../tcl/nssmtpd-procs.tcl"),
    ),
    ("policy.tcl", include_str!("../../tcl/policy.tcl")),
    ("aliases.tcl", include_str!("../../tcl/aliases.tcl")),
    ("greylist.tcl", include_str!("../../tcl/greylist.tcl")),
    ("auth.tcl", include_str!("../../tcl/auth.tcl")),
];

/// Loads the extension into an interpreter: creates `ns_smtpd` and provides package nssmtpd.
///
/// # Safety
/// Called by Tcl's `load` with a valid interpreter.
#[no_mangle]
pub unsafe extern "C" fn Nssmtpd_Init(interp: *mut Tcl_Interp) -> c_int {
    // SAFETY: Tcl passes a valid interp; the stubs must be initialised before any other call.
    if unsafe { nssmtpd_init_stubs(interp) }.is_null() {
        return TCL_ERROR; // Tcl has set the error message.
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let (instance, role) = match ADOPT.with(|a| a.borrow_mut().take()) {
            Some(instance) => (instance, Role::Worker),
            None => (Arc::new(Instance::new()), Role::Owner),
        };
        // SAFETY: stubs are initialised and we are on the interp's thread.
        unsafe { init_interp(interp, instance, role) }
    }));
    match outcome {
        Ok(Ok(())) => TCL_OK,
        Ok(Err(err)) => {
            // SAFETY: valid interp on its thread.
            unsafe { api::set_error(interp, &err) };
            TCL_ERROR
        }
        Err(panic) => {
            // SAFETY: valid interp on its thread.
            unsafe { api::set_error(interp, &panic_error(&panic)) };
            TCL_ERROR
        }
    }
}

/// NaviServer module mode: gives an interpreter of the server `ns_smtpd`, driving the
/// module's shared instance (the interpreter does not own it: deleting the interpreter leaves
/// the server running). Returns TCL_OK or TCL_ERROR with the message in the result.
///
/// # Safety
/// Called by NaviServer's interp-create trace with a valid interpreter on its thread.
pub unsafe fn init_module_interp(interp: *mut Tcl_Interp, instance: Arc<Instance>) -> c_int {
    // SAFETY: valid interp (caller); the stubs must be initialised before any other call.
    if unsafe { nssmtpd_init_stubs(interp) }.is_null() {
        return TCL_ERROR;
    }
    // SAFETY: stubs are initialised and we are on the interp's thread.
    match unsafe { init_interp(interp, instance, Role::Module) } {
        Ok(()) => TCL_OK,
        Err(err) => {
            // SAFETY: valid interp on its thread.
            unsafe { api::set_error(interp, &err) };
            TCL_ERROR
        }
    }
}

/// Whether the Tcl stubs table has been set up (by loading into some interpreter).
pub fn stubs_ready() -> bool {
    // SAFETY: reads a pointer-sized global written once per load with the same value.
    unsafe { !super::sys::tclStubsPtr.is_null() }
}

/// A pool worker's interpreter gets `ns_smtpd` driving the server's `instance`: loaded from
/// `library` as `load` does (so `info loaded` and `package require` see it), or set up
/// directly when the file is not known.
///
/// # Safety
/// `interp` must be a valid interpreter of the calling thread; the stubs must be set up
/// (the extension is loaded in the process).
pub unsafe fn load_for_worker(
    interp: *mut Tcl_Interp,
    instance: Arc<Instance>,
    library: Option<&str>,
) -> Result<(), String> {
    let Some(library) = library else {
        // SAFETY: as the caller guarantees.
        if unsafe { nssmtpd_init_stubs(interp) }.is_null() {
            return Err(unsafe { api::take_result(interp) });
        }
        // SAFETY: as the caller guarantees.
        return unsafe { init_interp(interp, instance, Role::Worker) }.map_err(|e| e.to_string());
    };
    ADOPT.with(|a| *a.borrow_mut() = Some(instance));
    // SAFETY: as the caller guarantees.
    let loaded = unsafe { api::eval_words(interp, &["load", library, "Nssmtpd"]) };
    ADOPT.with(|a| a.borrow_mut().take());
    match loaded {
        EvalOutcome::Ok(_) => Ok(()),
        EvalOutcome::Error { message, .. } => Err(format!("loading {library}: {message}")),
    }
}

unsafe fn init_interp(
    interp: *mut Tcl_Interp,
    instance: Arc<Instance>,
    role: Role,
) -> Result<(), CmdError> {
    for (name, script) in EMBEDDED_SCRIPTS {
        // SAFETY: valid interp on its thread (caller).
        if let api::EvalOutcome::Error { message, .. } = unsafe { api::eval_script(interp, script) }
        {
            return Err(CmdError::new(format!("nssmtpd: loading {name}: {message}")));
        }
    }
    // SAFETY: the context is owned by the command, which the interpreter deletes before it
    // dies, so the interp outlives it.
    let context = Box::new(unsafe { InterpContext::new(interp, instance, role) });
    let client_data = Box::into_raw(context) as ClientData;
    let name = CString::new("ns_smtpd").unwrap();
    // SAFETY: valid interp; client_data is owned by the command and freed in delete_proc.
    unsafe {
        #[cfg(tcl9)]
        tcl!(
            tcl_CreateObjCommand2,
            interp,
            name.as_ptr(),
            Some(command_proc),
            client_data,
            Some(delete_proc)
        );
        #[cfg(not(tcl9))]
        tcl!(
            tcl_CreateObjCommand,
            interp,
            name.as_ptr(),
            Some(command_proc),
            client_data,
            Some(delete_proc)
        );
        let pkg = CString::new("nssmtpd").unwrap();
        let version = CString::new(crate::VERSION).unwrap();
        if tcl!(
            tcl_PkgProvideEx,
            interp,
            pkg.as_ptr(),
            version.as_ptr(),
            std::ptr::null()
        ) != TCL_OK
        {
            return Err(CmdError::new(api::take_result(interp)));
        }
    }
    Ok(())
}

unsafe extern "C" fn command_proc(
    client_data: ClientData,
    interp: *mut Tcl_Interp,
    objc: Tcl_Size,
    objv: *const *mut Tcl_Obj,
) -> c_int {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: client_data is the context boxed in init_interp, alive until delete_proc;
        // objv holds objc valid objects for the duration of this call.
        unsafe {
            let context = &*(client_data as *const InterpContext);
            let words = std::slice::from_raw_parts(objv, objc as usize);
            let args = Args::new(interp, words);
            cmd::dispatch(context, &args)
        }
    }));
    let result = outcome.unwrap_or_else(|panic| Err(panic_error(&panic)));
    // SAFETY: valid interp on its thread.
    unsafe {
        match result {
            Ok(value) => {
                api::set_result(interp, &value);
                TCL_OK
            }
            Err(err) => {
                api::set_error(interp, &err);
                TCL_ERROR
            }
        }
    }
}

unsafe extern "C" fn delete_proc(client_data: ClientData) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: client_data came from Box::into_raw in init_interp and is freed only here.
        let context = unsafe { Box::from_raw(client_data as *mut InterpContext) };
        if context.owns_instance() {
            context.instance.shutdown();
        }
    }));
}

fn panic_error(panic: &Box<dyn std::any::Any + Send>) -> CmdError {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    CmdError::new(format!("nssmtpd: internal error: {text}"))
}
