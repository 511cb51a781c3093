//! What every session of one server shares: its configuration, the address lists, the
//! policy, the counters, the shutdown signal, the relay pool and the TLS contexts; and
//! which listener a session came from.
use super::admission::Admission;
use super::auth_guard::AuthFailures;
use super::client::ClientTls;
use super::dkim_sign::DkimSigners;
use super::dns::Dns;
use super::policy::Policy;
use super::relay::RelayPool;
use super::stats::Stats;
use super::storage::StorageGuard;
use super::tls;
use crate::config::ServerConfig;
use crate::core::localnet::LocalNets;
use crate::core::relay_target::RelayTarget;
use crate::core::relaydomains::RelayDomains;
use crate::core::rules::helostyle::HeloStyles;
use crate::registry;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// The lists the server consults at RCPT and at connect; Tcl changes them at any time.
#[derive(Default)]
pub struct Lists {
    pub relay_domains: RwLock<RelayDomains>,
    pub local_nets: RwLock<LocalNets>,
}

/// How sessions are asked to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    Running,
    /// Stop accepting; idle sessions close now, open transactions may finish.
    Draining,
    /// Close every session now (`421 4.3.2`).
    Forced,
}

/// Which listener a session came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Smtp,
    /// TLS from the first byte (RFC 8314).
    Tls,
    /// LMTP (RFC 2033): LHLO, and one reply per recipient after the data.
    Lmtp,
    /// A dialogue read from a Tcl channel (`ns_smtpd replay`): no connection policy.
    Replay,
}

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
    /// HELO style rules from `helostyles` and `helostylefile`; replaced by `configure`.
    helo_styles: RwLock<Arc<HeloStyles>>,
    /// The `minavailspace` check.
    pub storage: StorageGuard,
    /// AUTH failures per client address (`maxauthfailures`).
    pub auth_failures: AuthFailures,
    /// The `dkimsign` keys; replaced by `configure`.
    dkim_signers: RwLock<Arc<DkimSigners>>,
    /// The resolver of `nameserver`, for every lookup of the sessions; replaced by
    /// `configure` when `nameserver` changes.
    dns: RwLock<Arc<Dns>>,
}

impl ServerShared {
    /// Checks a configuration and builds the shared state for it, with the sender that
    /// stops its sessions. Binds nothing: the listener (or a test) brings the streams.
    pub fn new(
        config: ServerConfig,
        lists: Arc<Lists>,
        policy: Arc<dyn Policy>,
    ) -> Result<(Arc<ServerShared>, watch::Sender<Shutdown>), String> {
        let Checked {
            server_tls,
            relay_tls,
            helo_styles,
            dkim_signers,
        } = check(&config)?;
        let dns = Arc::new(Dns::new(&config.nameserver).map_err(|e| format!("-nameserver: {e}"))?);
        let (shutdown_tx, shutdown_rx) = watch::channel(Shutdown::Running);
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
            helo_styles: RwLock::new(Arc::new(helo_styles)),
            storage: StorageGuard::default(),
            auth_failures: AuthFailures::default(),
            dkim_signers: RwLock::new(Arc::new(dkim_signers)),
            dns: RwLock::new(dns),
        });
        Ok((shared, shutdown_tx))
    }

    /// The configuration new sessions start with.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The spool `minavailspace` watches, if any.
    pub fn spool(&self) -> Option<std::path::PathBuf> {
        let config = self.config();
        let dir = if config.spooldir.is_empty() {
            &config.maildir
        } else {
            &config.spooldir
        };
        (!dir.is_empty()).then(|| std::path::PathBuf::from(dir))
    }

    /// The HELO style rules in force.
    pub fn helo_styles(&self) -> Arc<HeloStyles> {
        self.helo_styles
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The DKIM signing keys in force.
    pub fn dkim_signers(&self) -> Arc<DkimSigners> {
        self.dkim_signers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The resolver every lookup of this server goes through.
    pub fn dns(&self) -> Arc<Dns> {
        self.dns.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current STARTTLS context, if a certificate is configured.
    pub fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        self.tls.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Changes the configuration (and TLS context) for sessions that start from now on.
    pub fn reconfigure(&self, config: ServerConfig) -> Result<(), String> {
        // The same checks as at start, so `configure` cannot set what `start` refuses.
        let Checked {
            server_tls: tls,
            helo_styles: styles,
            dkim_signers: signers,
            ..
        } = check(&config)?;
        if self.dns().nameserver != config.nameserver {
            let dns = Dns::new(&config.nameserver).map_err(|e| format!("-nameserver: {e}"))?;
            *self.dns.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(dns);
        }
        *self.tls.write().unwrap_or_else(|e| e.into_inner()) = tls;
        *self.helo_styles.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(styles);
        *self.dkim_signers.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(signers);
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }
}

/// What a checked configuration builds.
pub struct Checked {
    pub server_tls: Option<Arc<rustls::ServerConfig>>,
    pub relay_tls: ClientTls,
    pub helo_styles: HeloStyles,
    pub dkim_signers: DkimSigners,
}

/// Every check `start` makes before binding, for `start` and `configure` alike.
pub fn check(config: &ServerConfig) -> Result<Checked, String> {
    if !config.relay.is_empty() {
        RelayTarget::parse(&config.relay).map_err(|e| e.0)?;
    }
    let server_tls = server_tls(config)?;
    let relay_tls = ClientTls::new(&config.relaytls, &config.relaycafile)?;
    if config.tlsport != 0 && server_tls.is_none() {
        return Err("-tlsport needs a -certificate".into());
    }
    let helo_styles = helo_styles(config)?;
    if config.minavailspace > 0 && config.spooldir.is_empty() && config.maildir.is_empty() {
        return Err("-minavailspace needs a -spooldir or a -maildir to check".into());
    }
    super::greylist::check_config(config)?;
    // Every key is read now: a bad one fails start/configure, never a message later.
    let dkim_signers = DkimSigners::load(&config.dkimsign)?;
    Ok(Checked {
        server_tls,
        relay_tls,
        helo_styles,
        dkim_signers,
    })
}

/// The HELO style rules of a configuration: `helostyles`, then the file's.
fn helo_styles(config: &ServerConfig) -> Result<HeloStyles, String> {
    let inline = HeloStyles::parse(&config.helostyles).map_err(|e| format!("-helostyles: {e}"))?;
    if config.helostylefile.is_empty() {
        return Ok(inline);
    }
    let path = &config.helostylefile;
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "-helostylefile: cannot read \"{path}\": {}",
            super::os_text(&e)
        )
    })?;
    let from_file = HeloStyles::parse(&text).map_err(|e| format!("-helostylefile {path}: {e}"))?;
    Ok(inline.then(from_file))
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
