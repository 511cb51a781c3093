//! Live sessions by id, so Tcl (`ns_smtpd getrcpt $id ...`) can reach a session while its
//! callback runs. A session is in the registry exactly as long as its [`SessionGuard`] lives.
use crate::core::envelope::Envelope;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

pub struct SessionHandle {
    pub id: u64,
    /// The server (listener) the session belongs to.
    pub server: u64,
    pub peer: SocketAddr,
    pub started: Instant,
    envelope: Mutex<Envelope>,
    state: Mutex<&'static str>,
    /// `TLSv1.3 TLS13_AES_256_GCM_SHA384` once the session is encrypted.
    tls: Mutex<Option<String>>,
}

impl SessionHandle {
    /// Locks the session's envelope. Never held across an await or a callback.
    pub fn envelope(&self) -> MutexGuard<'_, Envelope> {
        self.envelope.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the session is doing (for `sessions` and `stats`).
    pub fn state(&self) -> &'static str {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn tls(&self) -> Option<String> {
        self.tls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_tls(&self, description: String) {
        *self.tls.lock().unwrap_or_else(|e| e.into_inner()) = Some(description);
    }

    pub fn set_state(&self, s: &'static str) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = s;
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static SESSIONS: LazyLock<Mutex<HashMap<u64, Arc<SessionHandle>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn sessions() -> MutexGuard<'static, HashMap<u64, Arc<SessionHandle>>> {
    SESSIONS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes its session from the registry when dropped, however the session ends.
pub struct SessionGuard(pub Arc<SessionHandle>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        sessions().remove(&self.0.id);
    }
}

/// Registers a new session with a fresh id.
pub fn register(server: u64, peer: SocketAddr, flags: u32) -> SessionGuard {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut envelope = Envelope::default();
    envelope.flags = flags;
    let handle = Arc::new(SessionHandle {
        id,
        server,
        peer,
        started: Instant::now(),
        envelope: Mutex::new(envelope),
        state: Mutex::new("connected"),
        tls: Mutex::new(None),
    });
    sessions().insert(id, handle.clone());
    SessionGuard(handle)
}

pub fn get(id: u64) -> Option<Arc<SessionHandle>> {
    sessions().get(&id).cloned()
}

/// Sessions of one server, oldest first.
pub fn of_server(server: u64) -> Vec<Arc<SessionHandle>> {
    let mut v: Vec<_> = sessions()
        .values()
        .filter(|s| s.server == server)
        .cloned()
        .collect();
    v.sort_by_key(|s| s.id);
    v
}

/// A new id for a server instance.
pub fn new_server_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
