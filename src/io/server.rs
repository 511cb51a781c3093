//! The listener: accepts connections, enforces the connection limit, runs one session task
//! per connection, and drains or stops them on request.
use super::admission::Admission;
use super::client::ClientTls;
use super::policy::Policy;
use super::relay::RelayPool;
use super::runtime::runtime;
use super::session::{self, Mode};
use super::tls;
use crate::config::ServerConfig;
use crate::core::relay_target::RelayTarget;
use crate::instance::Lists;
use crate::log::{log, Severity};
use crate::registry;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// How sessions are asked to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    Running,
    /// Stop accepting; idle sessions close now, open transactions may finish.
    Draining,
    /// Close every session now (`421 4.3.2`).
    Forced,
}

/// Counters for `ns_smtpd stats`.
#[derive(Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub refused: AtomicU64,
    pub messages_accepted: AtomicU64,
    pub messages_rejected: AtomicU64,
    pub messages_relayed: AtomicU64,
    pub bytes_received: AtomicU64,
    pub recipients_accepted: AtomicU64,
    pub recipients_rejected: AtomicU64,
    pub errors_protocol: AtomicU64,
    pub errors_timeout: AtomicU64,
    pub errors_callback: AtomicU64,
    pub errors_io: AtomicU64,
    /// Refusals by reason (`refused` counts the total connections turned away).
    pub refused_maxconnections: AtomicU64,
    pub refused_perip: AtomicU64,
    pub refused_rate: AtomicU64,
    pub refused_loadavg: AtomicU64,
    pub refused_proxy: AtomicU64,
    pub refused_earlytalker: AtomicU64,
    pub refused_resolve: AtomicU64,
    pub relay_failures: AtomicU64,
    /// Callbacks run and the time they took (microseconds, queueing included).
    pub callbacks: AtomicU64,
    pub callback_micros: AtomicU64,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Every counter by name, in a stable order (`stats`, the Prometheus rendering).
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("connections", get(&self.connections)),
            ("refused", get(&self.refused)),
            ("refused_maxconnections", get(&self.refused_maxconnections)),
            ("refused_perip", get(&self.refused_perip)),
            ("refused_rate", get(&self.refused_rate)),
            ("refused_loadavg", get(&self.refused_loadavg)),
            ("refused_proxy", get(&self.refused_proxy)),
            ("refused_earlytalker", get(&self.refused_earlytalker)),
            ("refused_resolve", get(&self.refused_resolve)),
            ("messages_accepted", get(&self.messages_accepted)),
            ("messages_rejected", get(&self.messages_rejected)),
            ("messages_relayed", get(&self.messages_relayed)),
            ("bytes_received", get(&self.bytes_received)),
            ("recipients_accepted", get(&self.recipients_accepted)),
            ("recipients_rejected", get(&self.recipients_rejected)),
            ("relay_failures", get(&self.relay_failures)),
            ("errors_protocol", get(&self.errors_protocol)),
            ("errors_timeout", get(&self.errors_timeout)),
            ("errors_callback", get(&self.errors_callback)),
            ("errors_io", get(&self.errors_io)),
            ("callbacks", get(&self.callbacks)),
            ("callback_micros", get(&self.callback_micros)),
        ]
    }
}

/// What every session of one server shares.
pub struct ServerShared {
    pub id: u64,
    config: RwLock<Arc<ServerConfig>>,
    pub lists: Arc<Lists>,
    pub policy: Arc<dyn Policy>,
    pub stats: Stats,
    pub shutdown: watch::Receiver<Shutdown>,
    /// Idle connections to the relay, reused across transactions.
    pub pool: RelayPool,
    /// The STARTTLS context (none without a certificate); replaced by `configure`.
    tls: RwLock<Option<Arc<rustls::ServerConfig>>>,
    /// How we talk TLS to the relay.
    pub relay_tls: ClientTls,
    /// Per-client-address limits.
    pub admission: Arc<Admission>,
}

impl ServerShared {
    /// The configuration new sessions start with.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The current STARTTLS context, if a certificate is configured.
    pub fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        self.tls.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The TLS context a configuration calls for; `None` without a certificate.
pub fn server_tls(config: &ServerConfig) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    if config.certificate.is_empty() {
        return Ok(None);
    }
    tls::server_config(&tls::ServerTlsOptions {
        certificate: &config.certificate,
        key: &config.key,
        cafile: &config.cafile,
        capath: &config.capath,
        ciphers: &config.ciphers,
        protocols: &config.protocols,
    })
    .map(Some)
}

pub struct Server {
    pub shared: Arc<ServerShared>,
    pub local_addr: SocketAddr,
    shutdown_tx: watch::Sender<Shutdown>,
    active: Arc<Semaphore>,
    max_sessions: u32,
}

impl Server {
    /// Binds the listener and starts accepting on the shared runtime.
    pub fn start(
        config: ServerConfig,
        lists: Arc<Lists>,
        policy: Arc<dyn Policy>,
    ) -> std::io::Result<Server> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        if !config.relay.is_empty() {
            RelayTarget::parse(&config.relay).map_err(|e| invalid(e.0))?;
        }
        let server_tls = server_tls(&config).map_err(invalid)?;
        let relay_tls = ClientTls::new(&config.relaytls, &config.relaycafile).map_err(invalid)?;
        if config.tlsport != 0 && server_tls.is_none() {
            return Err(invalid("-tlsport needs a -certificate".into()));
        }
        let addr = format!("{}:{}", bracket_v6(&config.address), config.port);
        let listener = runtime()
            .block_on(TcpListener::bind(&addr))
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        let local_addr = listener.local_addr()?;
        let bind_extra = |port: u16| -> std::io::Result<Option<TcpListener>> {
            if port == 0 {
                return Ok(None);
            }
            let extra = format!("{}:{}", bracket_v6(&config.address), port);
            runtime()
                .block_on(TcpListener::bind(&extra))
                .map(Some)
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("cannot listen on {extra}: {e}"))
                })
        };
        let tls_listener = bind_extra(config.tlsport)?;
        let lmtp_listener = bind_extra(config.lmtpport)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(Shutdown::Running);
        let max_sessions = config.maxconnections as u32;
        let shared = Arc::new(ServerShared {
            id: registry::new_server_id(),
            config: RwLock::new(Arc::new(config)),
            lists,
            policy,
            stats: Stats::default(),
            shutdown: shutdown_rx,
            pool: RelayPool::default(),
            tls: RwLock::new(server_tls),
            relay_tls,
            admission: Arc::new(Admission::default()),
        });
        let active = Arc::new(Semaphore::new(max_sessions as usize));
        runtime().spawn(accept_loop(
            listener,
            shared.clone(),
            active.clone(),
            Mode::Smtp,
        ));
        if let Some(l) = tls_listener {
            log(
                Severity::Notice,
                &format!("nssmtpd: TLS listening on {}", l.local_addr()?),
            );
            runtime().spawn(accept_loop(l, shared.clone(), active.clone(), Mode::Tls));
        }
        if let Some(l) = lmtp_listener {
            log(
                Severity::Notice,
                &format!("nssmtpd: LMTP listening on {}", l.local_addr()?),
            );
            runtime().spawn(accept_loop(l, shared.clone(), active.clone(), Mode::Lmtp));
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
        })
    }

    /// Changes the configuration for sessions that start from now on.
    pub fn reconfigure(&self, config: ServerConfig) -> Result<(), String> {
        let tls = server_tls(&config)?;
        *self.shared.tls.write().unwrap_or_else(|e| e.into_inner()) = tls;
        *self
            .shared
            .config
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }

    /// Sessions currently open.
    pub fn active_sessions(&self) -> u64 {
        u64::from(self.max_sessions) - self.active.available_permits() as u64
    }

    /// Stops accepting and asks idle sessions to close; `drained` is true once all are gone.
    pub fn begin_stop(&self) {
        let _ = self.shutdown_tx.send(Shutdown::Draining);
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
                continue;
            }
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                log(Severity::Warning, &format!("nssmtpd: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        Stats::add(&shared.stats.connections, 1);
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
                Stats::add(&shared.stats.refused, 1);
                Stats::add(&shared.stats.refused_maxconnections, 1);
                tokio::spawn(session::refuse(
                    Box::new(stream),
                    "421 4.7.0 Too many connections, try again later\r\n",
                ));
            }
        }
    }
    log(Severity::Notice, "nssmtpd: listener closed");
}
