//! Before the greeting: the PROXY header of a trusted load balancer, the per-address limits,
//! the `resolve` check, and (after the greeting delay) early talkers. A connection that fails
//! one is answered and closed without becoming a session.
use super::Session;
use crate::config::ServerConfig;
use crate::core::flags;
use crate::core::proxy::{parse_proxy_header, ProxyHeader};
use crate::core::relay_target::RelayTarget;
use crate::core::reply::Reply;
use crate::core::rules::greeting;
use crate::core::rules::replies;
use crate::io::client::ClientOptions;
use crate::io::conn::{Conn, Stream};
use crate::io::relay::RelayTransaction;
use crate::io::shared::{Mode, ServerShared};
use crate::io::stats::RefusedBecause;
use crate::log::{log, Severity};
use crate::registry::{self, SessionGuard};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::timeout;

impl Session {
    /// Admits a connection and registers its session; `None` if it was refused (after
    /// saying why). The guard keeps the session in the registry.
    pub(super) async fn open(
        stream: Box<dyn Stream>,
        peer: SocketAddr,
        shared: Arc<ServerShared>,
        mode: Mode,
        helo: Option<String>,
    ) -> Option<(Session, SessionGuard)> {
        let config = shared.config();
        let mut conn = Conn::new(stream, config.readtimeout, config.writetimeout);
        let mut peer = peer;
        if config.proxyprotocol && mode != Mode::Replay {
            match read_proxy_header(&mut conn, peer, &config).await {
                Ok(source) => peer = source,
                Err(reply) => {
                    shared.stats.refused(RefusedBecause::Proxy);
                    conn.close_with(&reply).await;
                    return None;
                }
            }
        }
        let local = shared.lists.local_nets.read().unwrap().contains(peer.ip());
        let ticket = if mode == Mode::Replay {
            None
        } else {
            match shared.admission.admit(peer.ip(), &config, local) {
                Ok(t) => t,
                Err(refusal) => {
                    shared.stats.refused(refusal.counted_as());
                    log(
                        Severity::Notice,
                        &format!("nssmtpd: HOST: {}: refused: {refusal:?}", peer.ip()),
                    );
                    conn.close_with(&refusal.reply(&config.hostname)).await;
                    return None;
                }
            }
        };
        let mut session_flags = config.flags;
        if local {
            session_flags |= flags::LOCAL;
        }
        // `resolve`: the client must have a confirmed host name (reverse, then forward DNS).
        let mut client_name = None;
        if session_flags & flags::RESOLVE != 0 && mode != Mode::Replay {
            client_name = shared
                .dns()
                .confirmed_client_name(peer.ip(), Duration::from_secs(5))
                .await;
            if client_name.is_none() {
                shared.stats.refused(RefusedBecause::Resolve);
                conn.close_with(&replies::cannot_resolve_client(&config.hostname))
                    .await;
                return None;
            }
        }
        let guard = registry::register(shared.id, peer, session_flags);
        let relay = (!config.relay.is_empty())
            .then(|| RelayTarget::parse(&config.relay).ok())
            .flatten();
        let client_opts = ClientOptions {
            helo_name: config.hostname.clone(),
            connect_timeout: config.writetimeout,
            read_timeout: config.readtimeout,
            write_timeout: config.writetimeout,
            tls: shared.relay_tls.clone(),
            cleartext_auth: config.cleartextauth,
        };
        let seat = shared.policy.open(guard.0.id);
        let session = Session {
            relay,
            relay_tx: RelayTransaction::default(),
            client_opts,
            mail_params: Vec::new(),
            conn,
            shutdown: shared.shutdown.clone(),
            shared,
            handle: guard.0.clone(),
            config,
            peer,
            mode,
            client_name,
            chunks: None,
            errors: 0,
            esmtp: helo.is_some(),
            helo,
            events: super::events::SessionEvents::new(guard.0.server, guard.0.id),
            _ticket: ticket,
            _seat: seat,
            style: None,
            helo_refused: false,
            starttls_done: false,
            line_utf8: true,
            auth_failures: 0,
            diag: Default::default(),
        };
        if session.helo.is_some() {
            let mut env = session.handle.envelope();
            env.flags |= flags::GOTHELO;
            env.helo = session.helo.clone();
        }
        Some((session, guard))
    }

    /// The greeting from the `banner` template.
    pub(super) fn banner(&self) -> String {
        // The clock is read only for a template that shows it (`%T`), not on every connect.
        let now = if self.config.banner.contains("%T") {
            crate::core::clock::Utc::now().rfc5322()
        } else {
            String::new()
        };
        greeting::banner(
            &self.config.banner,
            &self.config.hostname,
            crate::VERSION,
            &now,
        )
    }

    /// Waits `greetdelay` before the greeting; a client that talks meanwhile is refused
    /// (a well-behaved one waits for the greeting, RFC 5321 §3.1). True if it was.
    pub(super) async fn early_talker(&mut self) -> bool {
        let delay = Duration::from_millis(self.config.greetdelay);
        let talked = tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            r = self.conn.fill() => r.is_ok(),
        };
        if talked {
            self.shared.stats.refused(RefusedBecause::EarlyTalker);
            log(
                Severity::Notice,
                &format!(
                    "nssmtpd: {}: HOST: {}: refused: input before the greeting",
                    self.id(),
                    self.peer.ip()
                ),
            );
            self.conn
                .close_with(&replies::early_talker(&self.config.hostname))
                .await;
        }
        talked
    }
}

/// Reads the PROXY header a trusted load balancer sends first and returns the real client
/// address; anything else is refused with the reply to give.
async fn read_proxy_header(
    conn: &mut Conn,
    peer: SocketAddr,
    config: &ServerConfig,
) -> Result<SocketAddr, Reply> {
    let trusted = crate::core::localnet::parse_list(&config.proxytrusted)
        .map(|l| l.contains(peer.ip()))
        .unwrap_or(false);
    if !trusted {
        log(
            Severity::Notice,
            &format!("nssmtpd: HOST: {}: refused: not a trusted proxy", peer.ip()),
        );
        return Err(replies::untrusted_proxy(&config.hostname));
    }
    let header = async {
        loop {
            match parse_proxy_header(conn.buffered()) {
                ProxyHeader::Done { length, source } => {
                    conn.consume(length);
                    return Ok(source.unwrap_or(peer));
                }
                ProxyHeader::Invalid(why) => return Err(why.to_string()),
                ProxyHeader::NeedMore => match conn.fill().await {
                    Ok(_) => {}
                    Err(e) => return Err(format!("no PROXY header: {e:?}")),
                },
            }
        }
    };
    // The whole header within one read timeout, however slowly it trickles in.
    let result = match timeout(config.readtimeout, header).await {
        Ok(r) => r,
        Err(_) => Err("PROXY header timed out".to_string()),
    };
    result.map_err(|why| {
        log(
            Severity::Notice,
            &format!("nssmtpd: HOST: {}: refused: {why}", peer.ip()),
        );
        replies::invalid_proxy_header(&config.hostname)
    })
}
