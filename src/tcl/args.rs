//! The words of one `ns_smtpd` invocation, with safe accessors that apply Tcl's own parsing
//! rules and error messages.
use super::api;
use super::sys::{Tcl_Interp, Tcl_Obj};
use super::value::{CmdError, Value};

pub struct Args<'a> {
    interp: *mut Tcl_Interp,
    objv: &'a [*mut Tcl_Obj],
}

impl<'a> Args<'a> {
    /// # Safety
    /// `interp` and every element of `objv` must be valid for the current thread for `'a`.
    pub unsafe fn new(interp: *mut Tcl_Interp, objv: &'a [*mut Tcl_Obj]) -> Self {
        Args { interp, objv }
    }

    pub fn len(&self) -> usize {
        self.objv.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objv.is_empty()
    }

    /// Word `i` as a string; `""` past the end (callers check `len` for arity first).
    pub fn str(&self, i: usize) -> String {
        match self.objv.get(i) {
            // SAFETY: objects of objv are valid for 'a (constructor contract).
            Some(&obj) => unsafe { api::obj_string(obj) },
            None => String::new(),
        }
    }

    /// Word `i` as binary data.
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, CmdError> {
        let obj = self.obj(i)?;
        // SAFETY: interp and obj are valid for 'a (constructor contract).
        unsafe { api::obj_bytes(self.interp, obj) }
    }

    /// Word `i` as an integer, with Tcl's `expected integer but got "x"` error.
    pub fn int(&self, i: usize) -> Result<i64, CmdError> {
        let obj = self.obj(i)?;
        // SAFETY: interp and obj are valid for 'a (constructor contract).
        unsafe { api::obj_wide(self.interp, obj) }
    }

    /// Word `i` as a Tcl boolean (`1`, `yes`, `on`, `true`, ...), as Tcl reads it.
    pub fn boolean(&self, i: usize) -> Result<bool, CmdError> {
        let obj = self.obj(i)?;
        // SAFETY: interp and obj are valid for 'a (constructor contract).
        unsafe { api::obj_boolean(self.interp, obj) }
    }

    /// Word `i` as a Tcl list of strings.
    pub fn list(&self, i: usize) -> Result<Vec<String>, CmdError> {
        let obj = self.obj(i)?;
        // SAFETY: interp and obj are valid for 'a (constructor contract).
        unsafe { api::obj_list(self.interp, obj) }
    }

    /// Reads a variable visible from the caller's scope.
    pub fn read_var(&self, name: &str) -> Result<Value, CmdError> {
        // SAFETY: the interp is valid for 'a and we are on its thread.
        unsafe { api::get_var(self.interp, name) }
    }

    pub fn interp_ptr(&self) -> *mut Tcl_Interp {
        self.interp
    }

    fn obj(&self, i: usize) -> Result<*mut Tcl_Obj, CmdError> {
        self.objv
            .get(i)
            .copied()
            .ok_or_else(|| CmdError::new("missing argument"))
    }
}
