//! The engine state that one `ns_smtpd` command drives: the relay-domain and local-network
//! lists, the configuration and the running server.
use crate::config::{Procs, ServerConfig};
use crate::io::server::Server;
pub use crate::io::shared::Lists;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

#[derive(Default)]
pub struct Instance {
    pub lists: Arc<Lists>,
    server: Mutex<Option<Server>>,
    /// The configuration of the running server, or the last one given to `start`.
    pub config: Mutex<Option<ServerConfig>>,
    /// Options given to `configure` while no server ran: `start` applies them over the
    /// config section (and under its own options), so they are not lost.
    pub configured: Mutex<Vec<(String, String)>>,
    /// The callbacks in force, shared with the running server's policy.
    pub procs: Arc<RwLock<Procs>>,
    /// The greylist, shared by every interpreter of this instance and kept across restarts.
    pub greylist: crate::io::greylist::Greylist,
}

impl Instance {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn config(&self) -> MutexGuard<'_, Option<ServerConfig>> {
        self.config.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn server(&self) -> MutexGuard<'_, Option<Server>> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The address the running server listens on, if one runs.
    pub fn listen_address(&self) -> Option<String> {
        self.server()
            .as_ref()
            .map(|s| s.local_addr.ip().to_string())
    }

    /// The configured relay, if a server with a relay is configured.
    pub fn relay_target(&self) -> Option<String> {
        self.config()
            .as_ref()
            .map(|c| c.relay.clone())
            .filter(|r| !r.is_empty())
    }

    /// Stops the server at once (the owning interpreter is going away).
    pub fn shutdown(&self) {
        if let Some(server) = self.server().take() {
            server.force_stop();
            self.greylist.stopped();
        }
    }
}
