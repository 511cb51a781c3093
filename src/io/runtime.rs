//! The one tokio runtime of the extension, created lazily on first use (never at load time,
//! so a process that loads us and forks is unaffected until it starts using the network).
use std::sync::OnceLock;
use tokio::runtime::{Builder, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The shared runtime (two worker threads: the machines we target are small, and sessions
/// are I/O bound).
pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        super::panics::install_hook();
        Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(super::panics::IO_THREAD_NAME)
            .enable_all()
            .build()
            .expect("cannot start the nssmtpd I/O runtime")
    })
}
