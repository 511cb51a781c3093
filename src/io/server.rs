//! The listener: accepts connections, enforces the connection limit, runs one session task
//! per connection, and drains or stops them on request.
use super::policy::Policy;
use super::runtime::runtime;
use super::session;
use super::shared::{Lists, Mode, ServerShared, Shutdown};
use super::stats::RefusedBecause;
use crate::config::ServerConfig;
use crate::core::rules::replies;
use crate::log::{log, Severity};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

pub struct Server {
    pub shared: Arc<ServerShared>,
    pub local_addr: SocketAddr,
    shutdown_tx: watch::Sender<Shutdown>,
    active: Arc<Semaphore>,
    max_sessions: u32,
    /// The accept loops; each closes its listening socket when it ends.
    listeners: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Binds the listener and starts accepting on the shared runtime.
    pub fn start(
        config: ServerConfig,
        lists: Arc<Lists>,
        policy: Arc<dyn Policy>,
    ) -> std::io::Result<Server> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let max_sessions = config.maxconnections as u32;
        let (tlsport, lmtpport) = (config.tlsport, config.lmtpport);
        let host = bracket_v6(&config.address);
        let addr = format!("{host}:{}", config.port);
        // Everything is checked before anything is bound.
        let (shared, shutdown_tx) = ServerShared::new(config, lists, policy).map_err(invalid)?;
        let prebound = super::prebound::take(&shared.config().address, shared.config().port);
        let listener = match prebound {
            // from_std registers the socket with the runtime's reactor: inside the runtime.
            Some(l) => runtime().block_on(async { TcpListener::from_std(l) }),
            None => runtime().block_on(TcpListener::bind(&addr)),
        }
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {addr}: {}", super::os_text(&e)),
            )
        })?;
        let local_addr = listener.local_addr()?;
        let bind_extra = |port: u16| -> std::io::Result<Option<TcpListener>> {
            if port == 0 {
                return Ok(None);
            }
            let extra = format!("{host}:{port}");
            runtime()
                .block_on(TcpListener::bind(&extra))
                .map(Some)
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("cannot listen on {extra}: {}", super::os_text(&e)),
                    )
                })
        };
        let tls_listener = bind_extra(tlsport)?;
        let lmtp_listener = bind_extra(lmtpport)?;
        let active = Arc::new(Semaphore::new(max_sessions as usize));
        let mut listeners = vec![runtime().spawn(accept_loop(
            listener,
            shared.clone(),
            active.clone(),
            Mode::Smtp,
        ))];
        if let Some(l) = tls_listener {
            log(
                Severity::Notice,
                &format!("nssmtpd: TLS listening on {}", l.local_addr()?),
            );
            listeners.push(runtime().spawn(accept_loop(
                l,
                shared.clone(),
                active.clone(),
                Mode::Tls,
            )));
        }
        if let Some(l) = lmtp_listener {
            log(
                Severity::Notice,
                &format!("nssmtpd: LMTP listening on {}", l.local_addr()?),
            );
            listeners.push(runtime().spawn(accept_loop(
                l,
                shared.clone(),
                active.clone(),
                Mode::Lmtp,
            )));
        }
        log(
            Severity::Notice,
            &format!("nssmtpd: listening on {local_addr}"),
        );
        Ok(Server {
            shared,
            local_addr,
            shutdown_tx,
            active,
            max_sessions,
            listeners,
        })
    }

    /// Changes the configuration for sessions that start from now on.
    pub fn reconfigure(&self, config: ServerConfig) -> Result<(), String> {
        self.shared.reconfigure(config)
    }

    /// Sessions currently open.
    pub fn active_sessions(&self) -> u64 {
        u64::from(self.max_sessions) - self.active.available_permits() as u64
    }

    /// Stops accepting and asks idle sessions to close; `drained` is true once all are gone.
    pub fn begin_stop(&self) {
        let _ = self.shutdown_tx.send(Shutdown::Draining);
    }

    /// Resolves once every listening socket is closed (after `begin_stop`), so a `stop`
    /// that returned leaves the port free and refusing connections.
    pub fn listeners_closed(&mut self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let listeners = std::mem::take(&mut self.listeners);
        async move {
            for listener in listeners {
                let _ = listener.await;
            }
        }
    }

    pub fn force_stop(&self) {
        let _ = self.shutdown_tx.send(Shutdown::Forced);
        self.shared.pool.clear();
    }

    pub fn drained(&self) -> bool {
        self.active.available_permits() == self.max_sessions as usize
    }

    /// Waits (on the runtime) until every session ended or `limit` passed.
    pub async fn wait_drained(active: Arc<Semaphore>, max: u32, limit: Duration) -> bool {
        tokio::time::timeout(limit, active.acquire_many_owned(max))
            .await
            .is_ok()
    }

    pub fn semaphore(&self) -> (Arc<Semaphore>, u32) {
        (self.active.clone(), self.max_sessions)
    }
}

impl Drop for Server {
    /// The server is gone: what runs its callbacks (a worker pool) ends with it.
    fn drop(&mut self) {
        self.shared.policy.stop();
    }
}

fn bracket_v6(address: &str) -> String {
    if address.contains(':') && !address.starts_with('[') {
        format!("[{address}]")
    } else {
        address.to_string()
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<ServerShared>,
    active: Arc<Semaphore>,
    mode: Mode,
) {
    let mut shutdown = shared.shutdown.clone();
    // Rate-limit history of clients that went away is dropped now and then.
    let mut sweep = tokio::time::interval(Duration::from_secs(60));
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = sweep.tick() => {
                shared.admission.sweep();
                shared.auth_failures.sweep();
                continue;
            }
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                log(
                    Severity::Warning,
                    &format!("nssmtpd: accept failed: {}", super::os_text(&e)),
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        shared.stats.connection();
        let _ = stream.set_nodelay(true);
        match active.clone().try_acquire_owned() {
            Ok(permit) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    session::run(Box::new(stream), peer, shared, mode).await;
                    drop(permit);
                });
            }
            Err(_) => {
                shared.stats.refused(RefusedBecause::MaxConnections);
                tokio::spawn(session::refuse(
                    Box::new(stream),
                    replies::too_many_connections(),
                ));
            }
        }
    }
    log(Severity::Notice, "nssmtpd: listener closed");
}
