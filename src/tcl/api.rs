//! Thin safe wrappers over the Tcl C API used by the rest of the Tcl layer: reading command
//! arguments, building results, evaluating scripts. Every `unsafe` block states why it holds.
//!
//! All functions here must be called on the thread that owns the interpreter, with the stubs
//! table initialised (guaranteed: they are only reached from Tcl command/event procs).
use super::sys::{self, tcl, Tcl_Interp, Tcl_Obj, Tcl_Size};
use super::utf;
use super::value::{CmdError, Value};
use std::ffi::{c_char, CString};
use std::ptr;

pub const TCL_OK: i32 = sys::TCL_OK as i32;
pub const TCL_ERROR: i32 = sys::TCL_ERROR as i32;

/// A live Tcl object reference held by Rust (incremented on creation, decremented on drop).
pub struct ObjRef(*mut Tcl_Obj);

impl ObjRef {
    /// Takes a new reference to `obj`.
    ///
    /// # Safety
    /// `obj` must be a valid Tcl object of the current thread.
    pub unsafe fn new(obj: *mut Tcl_Obj) -> Self {
        // SAFETY: the caller guarantees obj is valid; we own one reference from now on.
        unsafe { tcl!(tcl_DbIncrRefCount, obj, c"nssmtpd".as_ptr(), 0) };
        ObjRef(obj)
    }

    pub fn as_ptr(&self) -> *mut Tcl_Obj {
        self.0
    }
}

impl Drop for ObjRef {
    fn drop(&mut self) {
        // SAFETY: we hold exactly one reference taken in `new`.
        unsafe { tcl!(tcl_DbDecrRefCount, self.0, c"nssmtpd".as_ptr(), 0) };
    }
}

/// The string value of a Tcl object as a Rust string.
///
/// # Safety
/// `obj` must be a valid Tcl object of the current thread.
pub unsafe fn obj_string(obj: *mut Tcl_Obj) -> String {
    let mut len: Tcl_Size = 0;
    // SAFETY: obj is valid (caller); Tcl returns a pointer to `len` bytes owned by the object.
    unsafe {
        let p = tcl!(tcl_GetStringFromObj, obj, &mut len);
        utf::from_tcl(std::slice::from_raw_parts(p as *const u8, len as usize))
    }
}

/// The bytes of a Tcl object taken as a byte array (binary data).
///
/// # Safety
/// `interp` and `obj` must be valid objects of the current thread.
pub unsafe fn obj_bytes(interp: *mut Tcl_Interp, obj: *mut Tcl_Obj) -> Result<Vec<u8>, CmdError> {
    let mut len: Tcl_Size = 0;
    #[cfg(tcl9)]
    // SAFETY: valid interp and obj; Tcl 9 returns NULL (with an error message) for values that
    // are not byte sequences.
    let p = unsafe { tcl!(tcl_GetBytesFromObj, ptr::null_mut(), obj, &mut len) };
    #[cfg(not(tcl9))]
    // SAFETY: valid obj; Tcl 8.6 converts any value (characters above U+00FF keep their low byte).
    let p = unsafe {
        let _ = interp;
        tcl!(tcl_GetByteArrayFromObj, obj, &mut len)
    };
    if p.is_null() {
        #[cfg(tcl9)]
        let _ = interp;
        return Err(CmdError::new(
            "expected a byte sequence but got a string with characters above U+00FF \
             (use encoding convertto first)",
        ));
    }
    // SAFETY: p points to len bytes owned by obj, valid until obj changes; we copy them now.
    Ok(unsafe { std::slice::from_raw_parts(p, len as usize) }.to_vec())
}

/// The integer value of a Tcl object (Tcl's own parsing rules and error message).
///
/// # Safety
/// `interp` and `obj` must be valid objects of the current thread.
pub unsafe fn obj_wide(interp: *mut Tcl_Interp, obj: *mut Tcl_Obj) -> Result<i64, CmdError> {
    let mut v: sys::Tcl_WideInt = 0;
    // SAFETY: valid interp and obj; on error Tcl leaves its message in the interp result.
    let rc = unsafe { tcl!(tcl_GetWideIntFromObj, interp, obj, &mut v) };
    if rc == TCL_OK {
        Ok(v)
    } else {
        // SAFETY: the interp is valid; take Tcl's message and clear it.
        Err(CmdError::new(unsafe { take_result(interp) }))
    }
}

/// A Tcl boolean (any form Tcl accepts), with Tcl's `expected boolean value but got "x"`.
///
/// # Safety
/// `interp` and `obj` must be valid objects of the current thread.
pub unsafe fn obj_boolean(interp: *mut Tcl_Interp, obj: *mut Tcl_Obj) -> Result<bool, CmdError> {
    let mut v: std::ffi::c_int = 0;
    // SAFETY: valid interp and obj; on error Tcl leaves its message in the interp result.
    let rc = unsafe { tcl!(tcl_GetBooleanFromObj, interp, obj, &mut v) };
    if rc == TCL_OK {
        Ok(v != 0)
    } else {
        // SAFETY: the interp is valid; take Tcl's message and clear it.
        Err(CmdError::new(unsafe { take_result(interp) }))
    }
}

/// The elements of a Tcl list as strings.
///
/// # Safety
/// `interp` and `obj` must be valid objects of the current thread.
pub unsafe fn obj_list(
    interp: *mut Tcl_Interp,
    obj: *mut Tcl_Obj,
) -> Result<Vec<String>, CmdError> {
    let mut n: Tcl_Size = 0;
    let mut elems: *mut *mut Tcl_Obj = ptr::null_mut();
    // SAFETY: valid interp and obj; Tcl fills n and a pointer to n element objects owned by obj.
    unsafe {
        if tcl!(tcl_ListObjGetElements, interp, obj, &mut n, &mut elems) != TCL_OK {
            return Err(CmdError::new(take_result(interp)));
        }
        Ok((0..n as usize).map(|i| obj_string(*elems.add(i))).collect())
    }
}

/// Builds a new (unshared, refcount 0) Tcl object for a value.
///
/// # Safety
/// Must be called on an interpreter thread with the stubs table initialised.
pub unsafe fn new_obj(value: &Value) -> *mut Tcl_Obj {
    // SAFETY: plain constructors of new objects; lengths match the buffers passed.
    unsafe {
        match value {
            Value::Empty => tcl!(tcl_NewStringObj, c"".as_ptr(), 0),
            Value::Str(s) => new_string_obj(s),
            Value::Bytes(b) => tcl!(tcl_NewByteArrayObj, b.as_ptr(), b.len() as Tcl_Size),
            Value::Int(i) => tcl!(tcl_NewWideIntObj, *i as sys::Tcl_WideInt),
            Value::Double(d) => tcl!(tcl_NewDoubleObj, *d),
            Value::List(items) => {
                let objs: Vec<*mut Tcl_Obj> = items.iter().map(|v| new_obj(v)).collect();
                tcl!(tcl_NewListObj, objs.len() as Tcl_Size, objs.as_ptr())
            }
        }
    }
}

/// A new Tcl string object.
///
/// # Safety
/// Must be called on an interpreter thread with the stubs table initialised.
pub unsafe fn new_string_obj(s: &str) -> *mut Tcl_Obj {
    let bytes = utf::to_tcl(s);
    // SAFETY: bytes is a valid buffer of the given length; Tcl copies it.
    unsafe {
        tcl!(
            tcl_NewStringObj,
            bytes.as_ptr() as *const c_char,
            bytes.len() as Tcl_Size
        )
    }
}

/// Sets the interpreter result to `value`.
///
/// # Safety
/// `interp` must be a valid interpreter of the current thread.
pub unsafe fn set_result(interp: *mut Tcl_Interp, value: &Value) {
    // SAFETY: valid interp; the new object is handed to Tcl, which takes a reference.
    unsafe { tcl!(tcl_SetObjResult, interp, new_obj(value)) };
}

/// Sets the interpreter result and `-errorcode` for an error.
///
/// # Safety
/// `interp` must be a valid interpreter of the current thread.
pub unsafe fn set_error(interp: *mut Tcl_Interp, err: &CmdError) {
    // SAFETY: valid interp; new objects are handed over to Tcl.
    unsafe {
        set_result(interp, &Value::Str(err.message.clone()));
        // An empty code keeps the one Tcl set (setting the result does not clear it).
        if !err.code.is_empty() {
            let code = Value::List(err.code.iter().map(|c| Value::Str(c.clone())).collect());
            tcl!(tcl_SetObjErrorCode, interp, new_obj(&code));
        }
    }
}

/// Returns the interpreter's current result as a string and resets it.
///
/// # Safety
/// `interp` must be a valid interpreter of the current thread.
pub unsafe fn take_result(interp: *mut Tcl_Interp) -> String {
    // SAFETY: valid interp; the result object is read before being reset.
    unsafe {
        let s = obj_string(tcl!(tcl_GetObjResult, interp));
        tcl!(tcl_ResetResult, interp);
        s
    }
}

/// The outcome of evaluating Tcl code: the result string, or the error message with its
/// `errorInfo`.
#[derive(Debug)]
pub enum EvalOutcome {
    Ok(String),
    /// The message, errorInfo and `-errorcode` (as a list) of a failed evaluation.
    Error {
        message: String,
        info: String,
        code: Vec<String>,
    },
}

/// Evaluates a command given as words (no substitution happens on the words) at global level.
///
/// # Safety
/// `interp` must be a valid interpreter of the current thread.
pub unsafe fn eval_words(interp: *mut Tcl_Interp, words: &[&str]) -> EvalOutcome {
    // SAFETY: each word becomes an object we hold a reference to during the call.
    unsafe {
        let objs: Vec<ObjRef> = words
            .iter()
            .map(|w| ObjRef::new(new_string_obj(w)))
            .collect();
        let ptrs: Vec<*mut Tcl_Obj> = objs.iter().map(ObjRef::as_ptr).collect();
        let rc = tcl!(
            tcl_EvalObjv,
            interp,
            ptrs.len() as Tcl_Size,
            ptrs.as_ptr(),
            sys::TCL_EVAL_GLOBAL as i32
        );
        outcome(interp, rc)
    }
}

/// Evaluates a script at global level.
///
/// # Safety
/// `interp` must be a valid interpreter of the current thread.
pub unsafe fn eval_script(interp: *mut Tcl_Interp, script: &str) -> EvalOutcome {
    // SAFETY: `eval` with the script as one word evaluates it; objects are held during the call.
    unsafe { eval_words(interp, &["eval", script]) }
}

unsafe fn outcome(interp: *mut Tcl_Interp, rc: i32) -> EvalOutcome {
    // SAFETY: valid interp (caller); reads the result and errorInfo, then resets the result.
    unsafe {
        // TCL_RETURN from a callback that did `return` counts as success.
        if rc == TCL_OK || rc == sys::TCL_RETURN as i32 {
            return EvalOutcome::Ok(take_result(interp));
        }
        let message = obj_string(tcl!(tcl_GetObjResult, interp));
        let global = |name: &std::ffi::CStr| {
            tcl!(
                tcl_GetVar2Ex,
                interp,
                name.as_ptr(),
                ptr::null(),
                sys::TCL_GLOBAL_ONLY as i32
            )
        };
        let info_obj = global(c"errorInfo");
        let info = if info_obj.is_null() {
            message.clone()
        } else {
            obj_string(info_obj)
        };
        let code_obj = global(c"errorCode");
        let code = if code_obj.is_null() {
            Vec::new()
        } else {
            obj_list(interp, code_obj).unwrap_or_default()
        };
        tcl!(tcl_ResetResult, interp);
        EvalOutcome::Error {
            message,
            info,
            code,
        }
    }
}

/// Reads a variable in the caller's scope.
///
/// # Safety
/// `interp` must be a valid interpreter of the current thread.
pub unsafe fn get_var(interp: *mut Tcl_Interp, name: &str) -> Result<Value, CmdError> {
    let cname = CString::new(name).map_err(|_| CmdError::new("variable name contains NUL"))?;
    // SAFETY: valid interp; TCL_LEAVE_ERR_MSG leaves Tcl's standard message on failure.
    unsafe {
        let obj = tcl!(
            tcl_GetVar2Ex,
            interp,
            cname.as_ptr(),
            ptr::null(),
            sys::TCL_LEAVE_ERR_MSG as i32
        );
        if obj.is_null() {
            // Not reset: Tcl's `-errorcode` (TCL LOOKUP VARNAME ...) stays for the caller.
            let message = obj_string(tcl!(tcl_GetObjResult, interp));
            return Err(CmdError::from_tcl(message));
        }
        Ok(Value::Str(obj_string(obj)))
    }
}

/// Whether a command of that name exists in the interpreter.
///
/// # Safety
/// `interp` must be a valid interpreter of the current thread.
pub unsafe fn command_exists(interp: *mut Tcl_Interp, name: &str) -> bool {
    let Ok(cname) = CString::new(name) else {
        return false;
    };
    let mut info: sys::Tcl_CmdInfo = unsafe { std::mem::zeroed() };
    // SAFETY: valid interp; Tcl fills `info` when the command exists.
    unsafe { tcl!(tcl_GetCommandInfo, interp, cname.as_ptr(), &mut info) != 0 }
}
