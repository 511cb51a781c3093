//! Per-interpreter state of the extension: the interpreter it belongs to and the engine
//! instance (lists, configuration, server) that `ns_smtpd` in that interpreter drives.
use super::api::{self, EvalOutcome};
use super::bridge::Bridge;
use super::sys::Tcl_Interp;
use crate::instance::Instance;
use std::sync::{Arc, OnceLock};

pub struct InterpContext {
    interp: *mut Tcl_Interp,
    pub instance: Arc<Instance>,
    bridge: OnceLock<Arc<Bridge>>,
    role: Role,
    /// `ns_set`s made by `ns_smtpd headers` here, with their session: freed once the
    /// session is gone (a worker's interpreter lives as long as the server).
    header_sets: std::sync::Mutex<Vec<(String, u64)>>,
}

/// How an interpreter relates to the instance its `ns_smtpd` drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It loaded the extension: the instance is its own and ends with it.
    Owner,
    /// An interpreter of a NaviServer server: the module's instance is shared.
    Module,
    /// A worker of the interpreter pool: the server's instance, driven from a callback.
    Worker,
}

impl InterpContext {
    /// # Safety
    /// `interp` must stay valid for the lifetime of the context (the context is owned by the
    /// `ns_smtpd` command, which the interpreter deletes before it dies).
    pub unsafe fn new(interp: *mut Tcl_Interp, instance: Arc<Instance>, role: Role) -> Self {
        InterpContext {
            interp,
            instance,
            bridge: OnceLock::new(),
            role,
            header_sets: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Whether the instance ends with this interpreter (it does unless shared).
    pub fn owns_instance(&self) -> bool {
        self.role == Role::Owner
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The bridge that brings work from the runtime to this interpreter's thread, created
    /// on first use.
    pub fn bridge(&self) -> &Arc<Bridge> {
        // SAFETY: the interp is valid and we are on its thread (constructor contract).
        self.bridge
            .get_or_init(|| unsafe { Bridge::create(self.interp) })
    }

    /// Runs a future on the runtime while serving this interpreter's events.
    pub fn wait<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        super::bridge::wait_pumping(self.bridge(), fut)
    }

    pub fn interp_ptr(&self) -> *mut Tcl_Interp {
        self.interp
    }

    /// Runs a command given as words at global level (the words are not substituted).
    pub fn eval_words(&self, words: &[&str]) -> EvalOutcome {
        // SAFETY: the interp is valid (constructor contract) and contexts are only used from
        // command procs, i.e. on the interpreter's thread.
        unsafe { api::eval_words(self.interp, words) }
    }

    /// Runs a command given as words and reads its result as a Tcl list; a Tcl error keeps
    /// its message and `-errorcode`.
    pub fn eval_list(&self, words: &[&str]) -> Result<Vec<String>, crate::tcl::value::CmdError> {
        match self.eval_words(words) {
            // SAFETY: as in `eval_words`; the new object is held while it is read.
            EvalOutcome::Ok(text) => unsafe {
                let obj = super::api::ObjRef::new(super::api::new_string_obj(&text));
                super::api::obj_list(self.interp, obj.as_ptr())
            },
            EvalOutcome::Error { message, code, .. } => {
                let code: Vec<&str> = code.iter().map(String::as_str).collect();
                Err(crate::tcl::value::CmdError::from_tcl(message).with_code(&code))
            }
        }
    }

    /// Remembers an `ns_set` made for session `id`, after freeing those of sessions that
    /// ended (a set the script freed itself is skipped quietly).
    pub fn keep_header_set(&self, set: String, id: u64) {
        let mut sets = self.header_sets.lock().unwrap_or_else(|e| e.into_inner());
        sets.retain(|(name, session)| {
            let live = crate::registry::get(*session).is_some();
            if !live {
                let _ = self.eval_words(&["ns_set", "free", name]);
            }
            live
        });
        sets.push((set, id));
    }

    /// Whether a command exists in this interpreter.
    pub fn has_command(&self, name: &str) -> bool {
        // SAFETY: as in `eval_words`.
        unsafe { api::command_exists(self.interp, name) }
    }

    /// Logs through `ns_log` (NaviServer's, or the shim's in tclsh). Logging never fails.
    pub fn log(&self, severity: &str, message: &str) {
        if self.has_command("ns_log") {
            let _ = self.eval_words(&["ns_log", severity, message]);
        }
    }

    /// `ns_config` lookup of `key` in this instance's module section; `None` when unset.
    pub fn config_value(&self, key: &str) -> Option<String> {
        let section = self.config_section();
        match self.eval_words(&["ns_config", &section, key]) {
            EvalOutcome::Ok(v) if !v.is_empty() => Some(v),
            _ => None,
        }
    }

    /// The module's configuration section, `ns/server/<server>/module/nssmtpd` (in module
    /// mode the module's name as given in the server's modules section).
    pub fn config_section(&self) -> String {
        let server = self.server_name();
        super::loaded::section_for(&server)
            .unwrap_or_else(|| format!("ns/server/{server}/module/nssmtpd"))
    }

    /// The server name: `ns_info server` (NaviServer's, or the shim's).
    pub fn server_name(&self) -> String {
        match self.eval_words(&["ns_info", "server"]) {
            EvalOutcome::Ok(s) if !s.is_empty() => s,
            _ => "nssmtpd".to_string(),
        }
    }
}
