//! The NaviServer modules loaded in this process and what the rest of the binding asks
//! about them (is module mode on, which thread runs a module's event loop, which config
//! section is a server's). Kept apart from `module`, which loads them, so the commands can
//! ask without depending on the loader.
use super::sys::Tcl_ThreadId;
use crate::instance::Instance;
use std::sync::{Arc, Condvar, Mutex};

/// One loaded module: lives for the rest of the process (NaviServer never unloads modules).
pub struct Module {
    pub server: String,
    pub name: String,
    pub instance: Arc<Instance>,
    pub state: Mutex<LoopState>,
    pub changed: Condvar,
}

#[derive(Default)]
pub struct LoopState {
    /// The event-loop thread's Tcl id while its loop may still take events.
    pub thread: Option<Tcl_ThreadId>,
    pub stop: bool,
    pub running: bool,
    /// `ns_smtpd start`'s outcome: the listening address, or why it failed.
    pub started: Option<Result<String, String>>,
    /// The event-loop thread (the only one whose interpreter may start the server).
    pub loop_thread: Option<std::thread::ThreadId>,
}

// SAFETY: Tcl_ThreadId is an opaque id used only with Tcl_ThreadQueueEvent/Tcl_ThreadAlert,
// which Tcl allows from any thread; everything else is owned Rust data behind a mutex.
unsafe impl Send for LoopState {}

static MODULES: Mutex<Vec<&'static Module>> = Mutex::new(Vec::new());

pub fn modules() -> std::sync::MutexGuard<'static, Vec<&'static Module>> {
    MODULES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the library runs as a NaviServer module in this process.
pub fn is_active() -> bool {
    !modules().is_empty()
}

/// Whether the calling thread is a module's event-loop thread.
pub fn on_event_loop_thread() -> bool {
    let me = std::thread::current().id();
    modules().iter().any(|m| m.state().loop_thread == Some(me))
}

/// The module section of `server` when the module is loaded for it.
pub fn section_for(server: &str) -> Option<String> {
    modules()
        .iter()
        .find(|m| m.server == server)
        .map(|m| m.section())
}

impl Module {
    pub fn section(&self) -> String {
        format!("ns/server/{}/module/{}", self.server, self.name)
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, LoopState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn update(&self, f: impl FnOnce(&mut LoopState)) {
        f(&mut self.state());
        self.changed.notify_all();
    }
}
