//! One SMTP session, from greeting to close: reads commands, applies the protocol rules of
//! the core, asks the policy (callbacks) and writes the replies. Every limit and timeout of
//! a session is applied here.
use super::admission::Refusal;
use super::client::{ClientError, ClientErrorKind, ClientOptions};
use super::conn::{Conn, ConnError, Line, Stream};
use super::policy::{Hook, HookOutcome};
use super::relay::RelayTransaction;
use super::scan;
use super::server::{ServerShared, Shutdown, Stats};
use crate::config::{ScanAction, ScanFailure, ServerConfig};
use crate::core::address::parse_address;
use crate::core::clock::Utc;
use crate::core::command::{parse_command, Command, Param};
use crate::core::data::{DataOutcome, DataReader, Feed};
use crate::core::envelope::{Recipient, Selector};
use crate::core::flags;
use crate::core::localnet::parse_list;
use crate::core::message::parse_message;
use crate::core::proxy::{parse_proxy_header, ProxyHeader};
use crate::core::relay_target::RelayTarget;
use crate::core::reply::Reply;
use crate::core::trace::{received_header, TraceInfo};
use crate::log::{log, Severity};
use crate::registry::{self, SessionHandle};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

/// Whether the session goes on after a command.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// A callback's verdict on a command.
enum Verdict {
    /// No reply was set: the server's default applies.
    Default,
    /// The callback's own reply (`setreply`).
    Reply(Reply),
}

struct Session {
    conn: Conn,
    shared: Arc<ServerShared>,
    config: Arc<ServerConfig>,
    handle: Arc<SessionHandle>,
    peer: SocketAddr,
    mode: Mode,
    /// The confirmed host name of the client (with the `resolve` flag).
    client_name: Option<String>,
    /// A message being received in BDAT chunks.
    chunks: Option<Chunks>,
    shutdown: tokio::sync::watch::Receiver<Shutdown>,
    errors: u32,
    helo: Option<String>,
    esmtp: bool,
    transactions: u32,
    /// The configured next hop, if mail is relayed.
    relay: Option<RelayTarget>,
    relay_tx: RelayTransaction,
    client_opts: ClientOptions,
    /// MAIL parameters to pass on to the relay (those it supports).
    mail_params: Vec<Param>,
}

/// A message arriving in BDAT chunks (RFC 3030).
struct Chunks {
    reader: DataReader,
    trace_id: String,
}

/// Answers a connection we will not serve and closes it.
pub async fn refuse(mut stream: Box<dyn Stream>, reply: &'static str) {
    let _ = timeout(std::time::Duration::from_secs(5), async {
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
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

/// Runs a session to its end.
pub async fn run(stream: Box<dyn Stream>, peer: SocketAddr, shared: Arc<ServerShared>, mode: Mode) {
    run_with(stream, peer, shared, mode, None).await
}

/// Runs a session; `helo` presets the client's EHLO name (for `replay`).
pub async fn run_with(
    stream: Box<dyn Stream>,
    peer: SocketAddr,
    shared: Arc<ServerShared>,
    mode: Mode,
    helo: Option<String>,
) {
    let config = shared.config();
    let mut conn = Conn::new(stream, config.readtimeout, config.writetimeout);
    let mut peer = peer;
    if config.proxyprotocol && mode != Mode::Replay {
        match read_proxy_header(&mut conn, peer, &config).await {
            Ok(source) => peer = source,
            Err(reply) => {
                Stats::add(&shared.stats.refused, 1);
                Stats::add(&shared.stats.refused_proxy, 1);
                conn.close_with(&reply).await;
                return;
            }
        }
    }
    let local = shared.lists.local_nets.read().unwrap().contains(peer.ip());
    let _ticket = if mode == Mode::Replay {
        None
    } else {
        match shared.admission.admit(peer.ip(), &config, local) {
            Ok(t) => t,
            Err(refusal) => {
                let counter = match refusal {
                    Refusal::PerIp => &shared.stats.refused_perip,
                    Refusal::Rate => &shared.stats.refused_rate,
                    Refusal::LoadAverage => &shared.stats.refused_loadavg,
                };
                Stats::add(counter, 1);
                Stats::add(&shared.stats.refused, 1);
                log(
                    Severity::Notice,
                    &format!("nssmtpd: HOST: {}: refused: {refusal:?}", peer.ip()),
                );
                conn.close_with(&refusal.reply(&config.hostname)).await;
                return;
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
        client_name =
            super::dns::confirmed_client_name(peer.ip(), std::time::Duration::from_secs(5)).await;
        if client_name.is_none() {
            Stats::add(&shared.stats.refused, 1);
            Stats::add(&shared.stats.refused_resolve, 1);
            let reply = Reply::new(
                421,
                "4.7.25",
                &format!(
                    "{} Cannot find your host name, try again later",
                    config.hostname
                ),
            );
            conn.close_with(&reply).await;
            return;
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
    };
    let mut session = Session {
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
        transactions: 0,
    };
    if session.helo.is_some() {
        session.handle.envelope().flags |= flags::GOTHELO;
    }
    let limit = session.config.sessiontimeout;
    if mode == Mode::Tls && !session.handshake().await {
        session.handle.set_state("closed");
        return;
    }
    if timeout(limit, session.serve()).await.is_err() {
        Stats::add(&session.shared.stats.errors_timeout, 1);
        let reply = Reply::new(
            421,
            "4.4.2",
            &format!("{} Session time limit exceeded", session.config.hostname),
        );
        session.conn.close_with(&reply).await;
    }
    session.end_relay().await;
    session.handle.set_state("closed");
    drop(guard);
}

/// Reads the PROXY header a trusted load balancer sends first and returns the real client
/// address; anything else is refused with the reply to give.
async fn read_proxy_header(
    conn: &mut Conn,
    peer: SocketAddr,
    config: &ServerConfig,
) -> Result<SocketAddr, Reply> {
    let trusted = parse_list(&config.proxytrusted)
        .map(|l| l.contains(peer.ip()))
        .unwrap_or(false);
    if !trusted {
        log(
            Severity::Notice,
            &format!("nssmtpd: HOST: {}: refused: not a trusted proxy", peer.ip()),
        );
        return Err(Reply::new(
            554,
            "5.7.0",
            &format!(
                "{} Connections are accepted from trusted proxies only",
                config.hostname
            ),
        ));
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
        Reply::new(
            421,
            "4.7.0",
            &format!("{} Invalid PROXY header", config.hostname),
        )
    })
}

impl Session {
    fn id(&self) -> u64 {
        self.handle.id
    }

    async fn serve(&mut self) {
        if self.config.greetdelay > 0 && self.mode != Mode::Replay && self.early_talker().await {
            return;
        }
        let greeting = Reply::new(220, "", &self.banner());
        self.conn.queue(&greeting);
        loop {
            self.handle.set_state("command");
            let line = match self.next_line().await {
                Some(l) => l,
                None => return,
            };
            let errors_before = self.errors;
            let flow = match line {
                Line::TooLong => self.error_reply(Reply::new(500, "5.5.2", "Line too long")),
                Line::Text(bytes) => self.command(bytes).await,
            };
            if flow == Flow::Close {
                self.conn.shutdown().await;
                return;
            }
            if self.errors > errors_before {
                self.tarpit().await;
            }
        }
    }

    /// The greeting from the `banner` template.
    fn banner(&self) -> String {
        let template = &self.config.banner;
        let mut out = String::new();
        let mut chars = template.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('H') => out.push_str(&self.config.hostname),
                Some('V') => out.push_str(crate::VERSION),
                Some('T') => out.push_str(&Utc::now().rfc5322()),
                Some('%') => out.push('%'),
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
                None => out.push('%'),
            }
        }
        out
    }

    /// Waits `greetdelay` before the greeting; a client that talks meanwhile is refused
    /// (a well-behaved one waits for the greeting, RFC 5321 §3.1). True if it was.
    async fn early_talker(&mut self) -> bool {
        let delay = std::time::Duration::from_millis(self.config.greetdelay);
        let talked = tokio::select! {
            _ = tokio::time::sleep(delay) => false,
            r = self.conn.fill() => r.is_ok(),
        };
        if talked {
            Stats::add(&self.shared.stats.refused, 1);
            Stats::add(&self.shared.stats.refused_earlytalker, 1);
            log(
                Severity::Notice,
                &format!(
                    "nssmtpd: {}: HOST: {}: refused: input before the greeting",
                    self.id(),
                    self.peer.ip()
                ),
            );
            let reply = Reply::new(
                554,
                "5.5.1",
                &format!(
                    "{} Protocol error: input before the greeting",
                    self.config.hostname
                ),
            );
            self.conn.close_with(&reply).await;
        }
        talked
    }

    /// The tarpit: after an error, wait `errordelay` ms, doubled with each further error up
    /// to `errordelaymax`, before reading on (replies are sent first).
    async fn tarpit(&mut self) {
        let initial = self.config.errordelay;
        if initial == 0 || self.mode == Mode::Replay {
            return;
        }
        let doublings = (self.errors - 1).min(20);
        let ms = initial
            .saturating_mul(1u64 << doublings)
            .min(self.config.errordelaymax.max(initial));
        let _ = self.conn.flush().await;
        self.handle.set_state("tarpit");
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }

    /// The next command line; `None` when the session must end (after writing why).
    async fn next_line(&mut self) -> Option<Line> {
        let maxline = self.config.maxline;
        let result = loop {
            let state = *self.shutdown.borrow();
            if state == Shutdown::Forced || (state == Shutdown::Draining && !self.in_transaction())
            {
                let reply = Reply::new(
                    421,
                    "4.3.2",
                    &format!("{} Service shutting down", self.config.hostname),
                );
                self.conn.close_with(&reply).await;
                return None;
            }
            // A whole command line within the read timeout, however slowly it trickles in
            // (a client sending a byte now and then must not hold its slot for ever).
            let line_limit = self.config.readtimeout;
            tokio::select! {
                r = timeout(line_limit, self.conn.read_line(maxline)) => {
                    break r.unwrap_or(Err(ConnError::Timeout));
                }
                changed = self.shutdown.changed() => {
                    if changed.is_err() {
                        // The server is gone: treat it as a forced stop.
                        let reply = Reply::new(421, "4.3.2", "Service shutting down");
                        self.conn.close_with(&reply).await;
                        return None;
                    }
                }
            }
        };
        match result {
            Ok(line) => Some(line),
            Err(ConnError::Timeout) => {
                Stats::add(&self.shared.stats.errors_timeout, 1);
                let reply = Reply::new(
                    421,
                    "4.4.2",
                    &format!("{} Error: timeout exceeded", self.config.hostname),
                );
                self.conn.close_with(&reply).await;
                None
            }
            Err(ConnError::Closed) => None,
            Err(ConnError::Io(e)) => {
                Stats::add(&self.shared.stats.errors_io, 1);
                log(
                    Severity::Debug,
                    &format!("nssmtpd: {}: read error: {e}", self.id()),
                );
                None
            }
        }
    }

    fn in_transaction(&self) -> bool {
        self.handle.envelope().from.is_some()
    }

    /// Queues an error reply and counts it; too many errors close the session.
    fn error_reply(&mut self, reply: Reply) -> Flow {
        self.conn.queue(&reply);
        self.error_reply_counted()
    }

    /// Counts an error whose reply was already queued; too many close the session.
    fn error_reply_counted(&mut self) -> Flow {
        self.errors += 1;
        Stats::add(&self.shared.stats.errors_protocol, 1);
        if self.errors >= self.config.maxerrors {
            let bye = Reply::new(
                421,
                "4.7.0",
                &format!(
                    "{} Too many errors, closing connection",
                    self.config.hostname
                ),
            );
            self.conn.queue(&bye);
            return Flow::Close;
        }
        Flow::Continue
    }

    /// HELP: the `helptext` lines, or the built-in text.
    fn help_reply(&self) -> Reply {
        if !self.config.helptext.is_empty() {
            let lines: Vec<&str> = self.config.helptext.lines().collect();
            return Reply::lines(214, "2.0.0", &lines);
        }
        Reply::lines(
            214,
            "2.0.0",
            &[
                format!("This is nssmtpd version {}", crate::VERSION),
                "Supported commands:".to_string(),
                " HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY".to_string(),
                "End of HELP info".to_string(),
            ],
        )
    }

    /// VRFY: off (default), a `252` that reveals nothing; on, the address is checked as a
    /// recipient would be (syntax and relay rules), still without saying whether it exists.
    fn vrfy(&mut self, arg: String) -> Flow {
        let generic = Reply::new(
            252,
            "2.5.2",
            "Cannot VRFY user, but will accept message and attempt delivery",
        );
        if !self.config.vrfy {
            return self.reply(generic);
        }
        let path = arg.trim().trim_start_matches('<').trim_end_matches('>');
        let Some(address) = parse_address(path) else {
            return self.error_reply(Reply::new(
                501,
                "5.1.3",
                &format!("<{path}>... Address unrecognized"),
            ));
        };
        let addr = address.addr().to_lowercase();
        let relayed = self
            .shared
            .lists
            .relay_domains
            .read()
            .unwrap()
            .find(&address.domain.to_lowercase())
            .is_some();
        let local = {
            let env = self.handle.envelope();
            env.flags & flags::LOCAL != 0 || env.auth_user.is_some()
        };
        if !relayed && !local {
            return self.error_reply(Reply::new(
                550,
                "5.7.1",
                &format!("<{addr}>... Relaying denied"),
            ));
        }
        self.reply(Reply::new(
            252,
            "2.1.5",
            &format!("<{addr}>... Cannot verify, but will accept mail for it"),
        ))
    }

    fn reply(&mut self, reply: Reply) -> Flow {
        self.conn.queue(&reply);
        Flow::Continue
    }

    async fn command(&mut self, bytes: Vec<u8>) -> Flow {
        if bytes.contains(&0) {
            return self.error_reply(Reply::new(
                500,
                "5.5.2",
                "Syntax error: NUL character in command",
            ));
        }
        let line = String::from_utf8_lossy(&bytes).into_owned();
        // Credentials never reach a log line or getline: AUTH shows only its mechanism.
        let shown = if line.len() >= 4 && line[..4].eq_ignore_ascii_case("AUTH") {
            line.split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            line.clone()
        };
        log(
            Severity::Debug,
            &format!("nssmtpd: {}: <<< {shown}", self.id()),
        );
        // Callbacks see the command as the original module showed it: lower-cased.
        self.handle.envelope().line = shown.to_ascii_lowercase();
        let command = parse_command(&line);
        if self.mode == Mode::Lmtp {
            // LMTP greets with LHLO only (RFC 2033 §4.1).
            let verb = line.split(' ').next().unwrap_or("");
            if verb.eq_ignore_ascii_case("LHLO") {
                let arg = line[verb.len()..].trim().to_string();
                return self.helo(arg, true).await;
            }
            if matches!(command, Command::Helo(_) | Command::Ehlo(_)) {
                return self.error_reply(Reply::new(500, "5.5.1", "This is LMTP: use LHLO"));
            }
        }
        if self.chunks.is_some()
            && !matches!(
                command,
                Command::Bdat { .. } | Command::Rset | Command::Quit | Command::Noop
            )
        {
            // RFC 3030 §3: only BDAT may follow BDAT until LAST; the message is abandoned.
            self.chunks = None;
            self.end_relay().await;
            self.handle.envelope().reset_transaction();
            return self.error_reply(Reply::new(
                503,
                "5.5.1",
                "Bad sequence: BDAT transfer abandoned",
            ));
        }
        match command {
            Command::Helo(arg) => self.helo(arg, false).await,
            Command::Ehlo(arg) => self.helo(arg, true).await,
            Command::Mail { path, params } => self.mail(path, params).await,
            Command::Rcpt { path, params } => self.rcpt(path, params).await,
            Command::Data => self.data().await,
            Command::Rset => {
                self.chunks = None;
                self.end_relay().await;
                self.handle.envelope().reset_transaction();
                self.reply(Reply::new(250, "2.0.0", "Reset OK"))
            }
            Command::Noop => self.reply(Reply::new(250, "2.0.0", "OK")),
            Command::Quit => {
                let bye = Reply::new(221, "2.0.0", &format!("{} Bye", self.config.hostname));
                self.conn.queue(&bye);
                Flow::Close
            }
            Command::Help(_) => {
                let reply = self.help_reply();
                self.reply(reply)
            }
            Command::Vrfy(arg) => self.vrfy(arg),
            Command::Expn(arg) => {
                if self.config.expn {
                    // Enabled, but there are no lists here to expand.
                    self.error_reply(Reply::new(
                        550,
                        "5.1.1",
                        &format!("{}... No such mailing list", arg.trim()),
                    ))
                } else {
                    self.error_reply(Reply::new(502, "5.5.1", "EXPN not available"))
                }
            }
            Command::StartTls(arg) => self.starttls(arg).await,
            Command::Auth(arg) => self.auth(arg).await,
            Command::Bdat { size, last } => self.bdat(size, last).await,
            Command::Syntax(why) => self.error_reply(Reply::new(501, "5.5.4", why)),
            Command::Unknown => self.error_reply(Reply::new(500, "5.5.2", "Command unrecognized")),
        }
    }

    /// Runs a callback if one is configured; its error or a timeout refuses the command.
    async fn callback(&mut self, hook: Hook) -> Result<Verdict, Reply> {
        let policy = self.shared.policy.clone();
        if !policy.wants(hook) {
            return Ok(Verdict::Default);
        }
        self.handle.envelope().reply = None;
        self.handle.set_state("callback");
        // Replies to earlier pipelined commands need not wait for the callback.
        if !self.conn.has_buffered_line() {
            let _ = self.conn.flush().await;
        }
        let started = std::time::Instant::now();
        let failure = Reply::new(451, "4.3.0", "Internal error, try again later");
        let call = timeout(
            self.config.callbacktimeout,
            policy.call(hook, self.id(), Vec::new()),
        );
        let outcome = tokio::select! {
            o = call => o,
            // A forced stop does not wait for the callback: it may be the one stopping.
            _ = forced_stop(self.shutdown.clone()) => return Err(failure),
        };
        Stats::add(&self.shared.stats.callbacks, 1);
        Stats::add(
            &self.shared.stats.callback_micros,
            started.elapsed().as_micros() as u64,
        );
        match outcome {
            Ok(HookOutcome::Done(_)) => {}
            Ok(HookOutcome::Failed(info)) => {
                Stats::add(&self.shared.stats.errors_callback, 1);
                log(
                    Severity::Error,
                    &format!("nssmtpd: {}: {hook:?} callback failed: {info}", self.id()),
                );
                return Err(failure);
            }
            Ok(HookOutcome::Unavailable) => {
                Stats::add(&self.shared.stats.errors_callback, 1);
                return Err(failure);
            }
            Err(_) => {
                Stats::add(&self.shared.stats.errors_callback, 1);
                log(
                    Severity::Error,
                    &format!(
                        "nssmtpd: {}: {hook:?} callback gave no answer within {:?}",
                        self.id(),
                        started.elapsed()
                    ),
                );
                return Err(failure);
            }
        }
        let text = self.handle.envelope().reply.take();
        match text {
            None => Ok(Verdict::Default),
            Some(t) => match Reply::from_callback(&t) {
                Some(r) => Ok(Verdict::Reply(r)),
                None => {
                    log(
                        Severity::Error,
                        &format!(
                            "nssmtpd: {}: {hook:?} callback set an invalid reply: {t}",
                            self.id()
                        ),
                    );
                    Err(failure)
                }
            },
        }
    }

    /// Whether a callback asked to close the session (`ABORT`).
    fn aborted(&self) -> bool {
        self.handle.envelope().flags & flags::ABORT != 0
    }

    /// Finishes a command whose callback may have set a reply or `ABORT`.
    fn conclude(&mut self, reply: Reply) -> Flow {
        let positive = reply.is_positive();
        let flow = if positive {
            self.reply(reply)
        } else {
            self.error_reply(reply)
        };
        if self.aborted() {
            return Flow::Close;
        }
        flow
    }

    async fn helo(&mut self, arg: String, esmtp: bool) -> Flow {
        let verb = match (self.mode, esmtp) {
            (Mode::Lmtp, _) => "LHLO",
            (_, true) => "EHLO",
            _ => "HELO",
        };
        if arg.is_empty() || (self.config.helocheck && !valid_helo(&arg)) {
            return self.error_reply(Reply::new(
                501,
                "5.5.4",
                &format!("Syntax: {verb} hostname"),
            ));
        }
        // A new EHLO/HELO starts over (RFC 5321 §4.1.4).
        self.end_relay().await;
        self.handle.envelope().reset_transaction();
        let verdict = match self.callback(Hook::Helo).await {
            Ok(v) => v,
            Err(r) => return self.conclude(r),
        };
        let reply = match verdict {
            Verdict::Reply(r) => r,
            Verdict::Default if esmtp => self.ehlo_reply(),
            Verdict::Default => Reply::new(250, "", &self.config.hostname),
        };
        if reply.is_positive() {
            self.helo = Some(arg);
            self.esmtp = esmtp;
            self.handle.envelope().flags |= flags::GOTHELO;
        }
        self.conclude(reply)
    }

    /// STARTTLS (RFC 3207): offered with a certificate, once; afterwards the session starts
    /// over, and nothing sent before the handshake is read.
    async fn starttls(&mut self, arg: String) -> Flow {
        if self.handle.tls().is_some() {
            return self.error_reply(Reply::new(503, "5.5.1", "TLS already active"));
        }
        if !arg.is_empty() {
            return self.error_reply(Reply::new(501, "5.5.4", "Syntax: STARTTLS"));
        }
        if self.shared.tls().is_none() {
            return self.error_reply(Reply::new(502, "5.5.1", "STARTTLS not available"));
        }
        self.conn
            .queue(&Reply::new(220, "2.0.0", "Ready to start TLS"));
        if self.conn.flush().await.is_err() {
            return Flow::Close;
        }
        if !self.handshake().await {
            return Flow::Close;
        }
        self.end_relay().await;
        self.helo = None;
        self.esmtp = false;
        let mut env = self.handle.envelope();
        env.reset_transaction();
        env.flags &= !flags::GOTHELO;
        Flow::Continue
    }

    /// The TLS handshake, bounded by the read timeout; false if it failed (then the
    /// connection is done for).
    async fn handshake(&mut self) -> bool {
        let Some(config) = self.shared.tls() else {
            return false;
        };
        let plain = self.conn.take_stream();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        match timeout(self.config.readtimeout, acceptor.accept(plain)).await {
            Ok(Ok(stream)) => {
                self.handle
                    .set_tls(super::tls::describe(stream.get_ref().1));
                self.handle.envelope().flags |= flags::GOTSTARTTLS;
                self.conn.set_stream(Box::new(stream));
                true
            }
            Ok(Err(e)) => {
                log(
                    Severity::Notice,
                    &format!("nssmtpd: {}: TLS handshake failed: {e}", self.id()),
                );
                false
            }
            Err(_) => {
                Stats::add(&self.shared.stats.errors_timeout, 1);
                false
            }
        }
    }

    /// AUTH is offered when an `authproc` is configured, after STARTTLS (or always with
    /// `authwithouttls`).
    fn auth_offered(&self) -> bool {
        self.shared.policy.wants(Hook::Auth)
            && (self.handle.tls().is_some() || self.config.authwithouttls)
    }

    /// AUTH PLAIN and AUTH LOGIN (RFC 4954, 4616), checked by `authproc`.
    async fn auth(&mut self, arg: String) -> Flow {
        if !self.shared.policy.wants(Hook::Auth) {
            return self.error_reply(Reply::new(502, "5.5.1", "AUTH not available"));
        }
        if !self.auth_offered() {
            return self.error_reply(Reply::new(
                538,
                "5.7.11",
                "Encryption required for requested authentication mechanism",
            ));
        }
        if !self.esmtp {
            return self.error_reply(Reply::new(503, "5.5.1", "Send EHLO first"));
        }
        if self.handle.envelope().auth_user.is_some() {
            return self.error_reply(Reply::new(503, "5.5.1", "Already authenticated"));
        }
        if self.in_transaction() {
            return self.error_reply(Reply::new(
                503,
                "5.5.1",
                "AUTH not permitted during a mail transaction",
            ));
        }
        let mut words = arg.split_whitespace();
        let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
        let initial = words.next().map(str::to_string);
        let credentials = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(r) if r == "=" => Ok(String::new()),
                    Some(r) => Ok(r),
                    None => self.challenge("").await,
                };
                response.and_then(|r| {
                    let raw = decode_auth(&r)?;
                    let mut parts = raw.splitn(3, |&b| b == 0);
                    let (_authz, user, pass) = (parts.next(), parts.next(), parts.next());
                    match (user, pass) {
                        (Some(u), Some(p)) => Ok((
                            String::from_utf8_lossy(u).into_owned(),
                            String::from_utf8_lossy(p).into_owned(),
                        )),
                        _ => Err(Reply::new(501, "5.5.2", "Malformed PLAIN response")),
                    }
                })
            }
            "LOGIN" => {
                let user = match initial {
                    Some(r) => Ok(r),
                    None => self.challenge("VXNlcm5hbWU6").await,
                };
                match user.and_then(|u| decode_auth(&u)) {
                    Ok(u) => self
                        .challenge("UGFzc3dvcmQ6")
                        .await
                        .and_then(|p| decode_auth(&p))
                        .map(|p| {
                            (
                                String::from_utf8_lossy(&u).into_owned(),
                                String::from_utf8_lossy(&p).into_owned(),
                            )
                        }),
                    Err(r) => Err(r),
                }
            }
            "" => Err(Reply::new(501, "5.5.4", "Syntax: AUTH mechanism")),
            _ => Err(Reply::new(504, "5.5.4", "Unrecognized authentication type")),
        };
        let (user, password) = match credentials {
            Ok(c) => c,
            Err(r) if r.code() == 421 => {
                self.conn.queue(&r);
                return Flow::Close;
            }
            Err(r) => return self.error_reply(r),
        };
        let policy = self.shared.policy.clone();
        self.handle.set_state("callback");
        let outcome = timeout(
            self.config.callbacktimeout,
            policy.call(Hook::Auth, self.id(), vec![user.clone(), password]),
        )
        .await;
        let accepted = match outcome {
            Ok(HookOutcome::Done(result)) => {
                matches!(
                    result.trim().to_ascii_lowercase().as_str(),
                    "1" | "true" | "yes" | "on" | "ok"
                )
            }
            Ok(HookOutcome::Failed(info)) => {
                Stats::add(&self.shared.stats.errors_callback, 1);
                log(
                    Severity::Error,
                    &format!("nssmtpd: {}: authproc failed: {info}", self.id()),
                );
                return self.error_reply(Reply::new(
                    454,
                    "4.7.0",
                    "Temporary authentication failure",
                ));
            }
            _ => {
                Stats::add(&self.shared.stats.errors_callback, 1);
                return self.error_reply(Reply::new(
                    454,
                    "4.7.0",
                    "Temporary authentication failure",
                ));
            }
        };
        if !accepted {
            log(
                Severity::Notice,
                &format!(
                    "nssmtpd: {}: HOST: {}, AUTH failed for user {user}",
                    self.id(),
                    self.peer.ip()
                ),
            );
            return self.error_reply(Reply::new(
                535,
                "5.7.8",
                "Authentication credentials invalid",
            ));
        }
        self.handle.envelope().auth_user = Some(user);
        self.reply(Reply::new(235, "2.7.0", "Authentication successful"))
    }

    /// Sends a `334` challenge and reads the client's answer; `*` cancels (RFC 4954).
    async fn challenge(&mut self, text: &str) -> Result<String, Reply> {
        self.conn.queue(&Reply::new(334, "", text));
        match self.conn.read_line(self.config.maxline).await {
            Ok(Line::Text(bytes)) => {
                let answer = String::from_utf8_lossy(&bytes).trim().to_string();
                if answer == "*" {
                    Err(Reply::new(501, "5.0.0", "Authentication cancelled"))
                } else {
                    Ok(answer)
                }
            }
            Ok(Line::TooLong) => Err(Reply::new(
                500,
                "5.5.6",
                "Authentication exchange line is too long",
            )),
            Err(_) => Err(Reply::new(421, "4.4.2", "Connection problem during AUTH")),
        }
    }

    fn ehlo_reply(&self) -> Reply {
        let mut lines = vec![
            self.config.hostname.clone(),
            "PIPELINING".to_string(),
            format!("SIZE {}", self.config.maxdata),
            "8BITMIME".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "SMTPUTF8".to_string(),
            "CHUNKING".to_string(),
        ];
        if self.shared.tls().is_some() && self.handle.tls().is_none() {
            lines.push("STARTTLS".to_string());
        }
        if self.auth_offered() {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        lines.push("HELP".to_string());
        Reply::lines(250, "", &lines)
    }

    async fn mail(&mut self, path: String, params: Vec<Param>) -> Flow {
        if self.in_transaction() {
            return self.error_reply(Reply::new(503, "5.5.1", "Error: nested MAIL command"));
        }
        let config_flags = self.config.flags;
        if config_flags & flags::NEEDHELO != 0 && self.helo.is_none() {
            return self.error_reply(Reply::new(503, "5.5.1", "Need HELO or EHLO"));
        }
        if self.config.msamode {
            let env = self.handle.envelope();
            let allowed = env.flags & flags::LOCAL != 0 || env.auth_user.is_some();
            drop(env);
            if !allowed {
                return self.error_reply(Reply::new(530, "5.7.0", "Authentication required"));
            }
        }
        for p in &params {
            match (p.keyword.as_str(), p.value.as_deref()) {
                ("SIZE", Some(v)) => match v.parse::<u64>() {
                    Ok(n) if n > self.config.maxdata => {
                        return self.error_reply(Reply::new(
                            552,
                            "5.3.4",
                            "Message size exceeds fixed maximum message size",
                        ));
                    }
                    Ok(_) => {}
                    Err(_) => {
                        return self.error_reply(Reply::new(501, "5.5.4", "Syntax: SIZE=number"))
                    }
                },
                ("BODY", Some(v))
                    if v.eq_ignore_ascii_case("7BIT") || v.eq_ignore_ascii_case("8BITMIME") => {}
                ("BODY", _) => {
                    return self.error_reply(Reply::new(501, "5.5.4", "Syntax: BODY=7BIT|8BITMIME"))
                }
                ("SMTPUTF8", None) => {}
                // RFC 4954 §5: the submitter's identity, accepted when AUTH is offered.
                ("AUTH", Some(_)) if self.auth_offered() => {}
                _ => {
                    return self.error_reply(Reply::new(
                        555,
                        "5.5.4",
                        &format!("Unsupported option: {}", p.keyword),
                    ))
                }
            }
        }
        if self.config.strict && !strict_path(&self.handle.envelope().line, &path, true) {
            return self.error_reply(Reply::new(
                553,
                "5.1.7",
                &format!("<{path}>... Address syntax: must be <local@domain>"),
            ));
        }
        let sender = if path.is_empty() {
            "<>".to_string()
        } else if path.eq_ignore_ascii_case("postmaster") {
            "postmaster".to_string()
        } else {
            match parse_address(&path) {
                Some(a) => a.addr().to_lowercase(),
                None => {
                    return self.error_reply(Reply::new(
                        553,
                        "5.1.7",
                        &format!("<{path}>... Address unrecognized"),
                    ))
                }
            }
        };
        if config_flags & flags::NEEDDOMAIN != 0
            || self.handle.envelope().flags & flags::NEEDDOMAIN != 0
        {
            if let Some((_, domain)) = sender.rsplit_once('@') {
                if !super::dns::domain_exists(domain, std::time::Duration::from_secs(5)).await {
                    return self.error_reply(Reply::new(
                        553,
                        "5.1.8",
                        &format!("<{sender}>... Domain unrecognized"),
                    ));
                }
            }
        }
        self.end_relay().await;
        {
            let mut env = self.handle.envelope();
            env.reset_transaction();
            env.from = Some(sender.clone());
            env.flags |= flags::GOTMAIL;
        }
        self.mail_params = params;
        let reply = match self.callback(Hook::Mail).await {
            Ok(Verdict::Reply(r)) => r,
            Ok(Verdict::Default) => Reply::new(250, "2.1.0", &format!("<{sender}>... Sender OK")),
            Err(r) => r,
        };
        if !reply.is_positive() {
            // A refused MAIL opens no transaction.
            self.handle.envelope().reset_transaction();
        }
        self.conclude(reply)
    }

    async fn rcpt(&mut self, path: String, params: Vec<Param>) -> Flow {
        if !self.in_transaction() {
            return self.error_reply(Reply::new(503, "5.5.1", "Need MAIL before RCPT"));
        }
        if let Some(p) = params.first() {
            return self.error_reply(Reply::new(
                555,
                "5.5.4",
                &format!("Unsupported option: {}", p.keyword),
            ));
        }
        let limit = {
            let env = self.handle.envelope();
            let bounce = env.from.as_deref() == Some("<>");
            if bounce && self.config.maxerrorrcpts > 0 {
                self.config.maxerrorrcpts.min(self.config.maxrcpt)
            } else {
                self.config.maxrcpt
            }
        };
        if self.handle.envelope().recipient_count() >= limit {
            return self.error_reply(Reply::new(452, "4.5.3", "Too many recipients"));
        }
        if self.config.strict && !strict_path(&self.handle.envelope().line, &path, false) {
            return self.error_reply(Reply::new(
                553,
                "5.1.3",
                &format!("<{path}>... Address syntax: must be <local@domain>"),
            ));
        }
        let (addr, domain) = if path.eq_ignore_ascii_case("postmaster") {
            // RFC 5321 §4.5.1: <postmaster> without a domain must be accepted.
            ("postmaster".to_string(), None)
        } else {
            match parse_address(&path) {
                Some(a) => (a.addr().to_lowercase(), Some(a.domain.to_lowercase())),
                None => {
                    return self.error_reply(Reply::new(
                        553,
                        "5.1.3",
                        &format!("<{path}>... Address unrecognized"),
                    ))
                }
            }
        };
        let mut recipient = Recipient::new(addr.clone(), 0);
        match &domain {
            None => recipient.flags |= flags::RELAY,
            Some(d) => {
                let lists = self.shared.lists.relay_domains.read().unwrap();
                if let Some(entry) = lists.find(d) {
                    recipient.flags |= flags::RELAY;
                    recipient.next_hop = entry.target();
                }
            }
        }
        // Local clients and authenticated users may send to any domain.
        let local = {
            let env = self.handle.envelope();
            env.flags & flags::LOCAL != 0 || env.auth_user.is_some()
        };
        if recipient.flags & flags::RELAY == 0 && !local {
            Stats::add(&self.shared.stats.recipients_rejected, 1);
            log(
                Severity::Notice,
                &format!(
                    "nssmtpd: {}: HOST: {}, RCPT: {addr}, Relaying denied",
                    self.id(),
                    self.peer.ip()
                ),
            );
            return self.error_reply(Reply::new(
                550,
                "5.7.1",
                &format!("<{addr}>... Relaying denied"),
            ));
        }
        self.handle.envelope().add_recipient(recipient);
        let mut reply = match self.callback(Hook::Rcpt).await {
            Ok(Verdict::Reply(r)) => r,
            Ok(Verdict::Default) => Reply::new(250, "2.1.5", &format!("<{addr}>... Recipient OK")),
            Err(r) => r,
        };
        if reply.is_positive() {
            if let Some(refusal) = self.relay_recipient(&addr).await {
                reply = refusal;
            }
        }
        if reply.is_positive() {
            Stats::add(&self.shared.stats.recipients_accepted, 1);
        } else {
            Stats::add(&self.shared.stats.recipients_rejected, 1);
            // A refused recipient is not kept, whether or not the callback removed it.
            self.handle.envelope().remove_newest_if(&addr);
        }
        self.conclude(reply)
    }

    async fn data(&mut self) -> Flow {
        if !self.in_transaction() {
            return self.error_reply(Reply::new(503, "5.5.1", "Need MAIL command"));
        }
        if self.handle.envelope().recipient_count() == 0 {
            return self.error_reply(Reply::new(503, "5.5.1", "Need RCPT (recipient)"));
        }
        let (trace_id, mut reader) = self.start_message(false);
        self.conn
            .queue(&Reply::new(354, "", "End data with <CR><LF>.<CR><LF>"));
        loop {
            let buffered = self.conn.buffered();
            if !buffered.is_empty() {
                let n = buffered.len();
                match reader.feed(buffered) {
                    Feed::Done(used) => {
                        self.conn.consume(used);
                        break;
                    }
                    Feed::NeedMore => self.conn.consume(n),
                }
            }
            if !self.fill_message_input().await {
                return Flow::Close;
            }
        }
        self.deliver(reader.finish(), trace_id).await
    }

    /// Reads more of a message (DATA or a BDAT chunk); false when the session must end:
    /// a forced stop or a timeout (after saying so), or the client gone mid-message
    /// (nothing was accepted, nothing is kept).
    async fn fill_message_input(&mut self) -> bool {
        let stopping = Reply::new(421, "4.3.2", "Service shutting down");
        if *self.shutdown.borrow() == Shutdown::Forced {
            self.conn.close_with(&stopping).await;
            return false;
        }
        let filled = tokio::select! {
            r = self.conn.fill() => r,
            _ = forced_stop(self.shutdown.clone()) => {
                self.conn.close_with(&stopping).await;
                return false;
            }
        };
        match filled {
            Ok(_) => true,
            Err(ConnError::Timeout) => {
                Stats::add(&self.shared.stats.errors_timeout, 1);
                let reply = Reply::new(
                    421,
                    "4.4.2",
                    &format!("{} Error: timeout exceeded", self.config.hostname),
                );
                self.conn.close_with(&reply).await;
                false
            }
            Err(_) => false,
        }
    }

    /// A new message: its trace id and a reader with our `Received:` header in front.
    fn start_message(&mut self, chunked: bool) -> (String, DataReader) {
        self.transactions += 1;
        let trace_id = format!("{}.{}", self.id(), self.transactions);
        let header = self.trace_header(&trace_id);
        self.handle.set_state("data");
        let (barelf, max, line) = (
            self.config.barelf,
            self.config.maxdata,
            self.config.maxdataline,
        );
        let mut reader = if chunked {
            DataReader::chunked(barelf, max, line)
        } else {
            DataReader::new(barelf, max, line)
        };
        reader.prefix(header.as_bytes());
        (trace_id, reader)
    }

    /// BDAT (RFC 3030): exactly `size` bytes follow the command. They are read even when
    /// the chunk is refused, so the session stays in step.
    async fn bdat(&mut self, size: u64, last: bool) -> Flow {
        let refusal = if !self.in_transaction() {
            Some(Reply::new(503, "5.5.1", "Need MAIL command"))
        } else if self.handle.envelope().recipient_count() == 0 {
            Some(Reply::new(503, "5.5.1", "Need RCPT (recipient)"))
        } else {
            None
        };
        if self.chunks.is_none() && refusal.is_none() {
            let (trace_id, reader) = self.start_message(true);
            self.chunks = Some(Chunks { reader, trace_id });
        }
        self.handle.set_state("bdat");
        let mut remaining = size;
        while remaining > 0 {
            let buffered = self.conn.buffered();
            let take = buffered
                .len()
                .min(remaining.min(usize::MAX as u64) as usize);
            if take > 0 {
                if let Some(chunks) = self.chunks.as_mut() {
                    chunks.reader.feed(&buffered[..take]);
                }
                self.conn.consume(take);
                remaining -= take as u64;
                continue;
            }
            if !self.fill_message_input().await {
                return Flow::Close;
            }
        }
        if let Some(reply) = refusal {
            return self.error_reply(reply);
        }
        if !last {
            return self.reply(Reply::new(250, "2.0.0", &format!("{size} octets received")));
        }
        let Some(chunks) = self.chunks.take() else {
            return self.error_reply(Reply::new(503, "5.5.1", "Need MAIL command"));
        };
        self.deliver(chunks.reader.finish(), chunks.trace_id).await
    }

    /// The end of a message (DATA or BDAT LAST): limits, content checks, the relay,
    /// dataproc, and the reply (one per recipient under LMTP).
    async fn deliver(&mut self, outcome: DataOutcome, trace_id: String) -> Flow {
        // In RCPT order, as LMTP's replies must be (the envelope keeps the newest first).
        let mut recipients: Vec<String> = self
            .handle
            .envelope()
            .recipients()
            .map(|r| r.addr.clone())
            .collect();
        recipients.reverse();
        Stats::add(&self.shared.stats.bytes_received, outcome.size);
        let refusal = if outcome.too_big {
            Some(Reply::new(
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            ))
        } else if outcome.bare_line_ending
            && self.config.barelf == crate::core::data::BareLinePolicy::Reject
        {
            Some(Reply::new(
                550,
                "5.6.0",
                "Message contains bare CR or LF; lines must end with CRLF",
            ))
        } else if outcome.line_too_long {
            Some(Reply::new(552, "5.3.4", "Message line too long"))
        } else {
            None
        };
        if let Some(reply) = refusal {
            Stats::add(&self.shared.stats.messages_rejected, 1);
            self.log_transaction(reply.code(), outcome.size);
            self.handle.envelope().reset_transaction();
            return self.message_reply(reply, &recipients);
        }
        let mut message = outcome.message;
        // Content checks come first: nothing is relayed that they refuse.
        let pseudo = match self.content_checks(&mut message).await {
            Ok(p) => p,
            Err(reply) => {
                Stats::add(&self.shared.stats.messages_rejected, 1);
                self.log_transaction(reply.code(), outcome.size);
                self.end_relay().await;
                self.handle.envelope().reset_transaction();
                return self.message_reply(reply, &recipients);
            }
        };
        let parsed = parse_message(&message);
        {
            let mut env = self.handle.envelope();
            env.headers = pseudo;
            env.headers.extend(parsed.headers);
            env.body_offset = parsed.body_offset;
        }
        // The relay gets the message before dataproc runs, so dataproc sees DELIVERED.
        let relay_failure = self.relay_message(&message).await;
        {
            let mut env = self.handle.envelope();
            // FASTPROXY: when the relay took every recipient, Tcl gets no copy of the message.
            let all_delivered = env.recipients().all(|r| r.flags & flags::DELIVERED != 0);
            if env.flags & flags::FASTPROXY != 0 && all_delivered {
                env.headers.clear();
                env.body_offset = 0;
            } else {
                env.message = message;
            }
        }
        let local = match self.callback(Hook::Data).await {
            Ok(Verdict::Reply(r)) => r,
            Ok(Verdict::Default) => Reply::new(250, "2.0.0", &format!("Ok: queued as {trace_id}")),
            Err(r) => r,
        };
        let reply = final_reply(local, relay_failure);
        self.end_relay().await;
        if reply.is_positive() {
            Stats::add(&self.shared.stats.messages_accepted, 1);
        } else {
            Stats::add(&self.shared.stats.messages_rejected, 1);
        }
        self.log_transaction(reply.code(), outcome.size);
        self.handle.envelope().reset_transaction();
        if self.mode == Mode::Lmtp {
            let abort = self.aborted();
            let flow = self.message_reply(reply, &recipients);
            return if abort { Flow::Close } else { flow };
        }
        self.conclude(reply)
    }

    /// The reply to a message: once, or under LMTP once per recipient (RFC 2033 §4.2).
    fn message_reply(&mut self, reply: Reply, recipients: &[String]) -> Flow {
        if self.mode != Mode::Lmtp {
            return if reply.is_positive() {
                self.reply(reply)
            } else {
                self.error_reply(reply)
            };
        }
        let last = reply.text().lines().last().unwrap_or("").to_string();
        let rest = last.get(4..).unwrap_or("").trim();
        for addr in recipients {
            let line = format!("{} {rest} <{addr}>", reply.code());
            let each = Reply::from_callback(&line).unwrap_or_else(|| reply.clone());
            self.conn.queue(&each);
        }
        if reply.is_positive() {
            Flow::Continue
        } else {
            // One error for the message, however many recipients it had.
            self.error_reply_counted()
        }
    }

    /// Where a just-accepted recipient goes next: its domain's own hop or the relay, if
    /// a callback marked it `VERIFIED`; `None` keeps it for dataproc.
    fn next_hop_for(&self, addr: &str) -> Option<RelayTarget> {
        let env = self.handle.envelope();
        let r = env.find(&Selector::Address(addr.to_string()))?;
        if r.flags & flags::VERIFIED == 0 {
            return None;
        }
        match &r.next_hop {
            Some(hop) => RelayTarget::parse(hop).ok().or_else(|| self.relay.clone()),
            None => self.relay.clone(),
        }
    }

    /// Passes a recipient to its next hop; `Some(reply)` if it must be refused.
    async fn relay_recipient(&mut self, addr: &str) -> Option<Reply> {
        let target = self.next_hop_for(addr)?;
        let from = match self
            .handle
            .envelope()
            .from
            .clone()
            .unwrap_or_default()
            .as_str()
        {
            "<>" => String::new(),
            f => f.to_string(),
        };
        let params = self.mail_params.clone();
        let result = self
            .relay_tx
            .add_recipient(
                &self.shared.pool,
                &target,
                &self.client_opts,
                &from,
                &params,
                addr,
            )
            .await;
        match result {
            Ok(r) if r.is_positive() => None,
            Ok(r) => {
                let e = ClientError {
                    step: "RCPT TO",
                    kind: ClientErrorKind::Refused(r),
                };
                Some(
                    self.relay_problem(&format!("RCPT TO:<{addr}>"), &target, &e)
                        .await,
                )
            }
            Err(e) => {
                let command = if e.step == "RCPT TO" {
                    format!("RCPT TO:<{addr}>")
                } else {
                    e.step.to_string()
                };
                Some(self.relay_problem(&command, &target, &e).await)
            }
        }
    }

    /// Hands the message to every hop with recipients; marks them `DELIVERED`. Returns the
    /// reply for the client if a hop failed.
    async fn relay_message(&mut self, message: &[u8]) -> Option<Reply> {
        if self.relay_tx.is_empty() {
            return None;
        }
        let mut failure: Option<Reply> = None;
        for handoff in self.relay_tx.deliver(message).await {
            let problem = match handoff.result {
                Ok(r) if r.is_positive() => {
                    Stats::add(&self.shared.stats.messages_relayed, 1);
                    let mut env = self.handle.envelope();
                    for addr in &handoff.recipients {
                        if let Some(r) = env.find_mut(&Selector::Address(addr.clone())) {
                            r.flags |= flags::DELIVERED;
                        }
                    }
                    continue;
                }
                Ok(r) => ClientError {
                    step: "end of data",
                    kind: ClientErrorKind::Refused(r),
                },
                Err(e) => e,
            };
            let reply = self
                .relay_problem(&problem.step.to_uppercase(), &handoff.target, &problem)
                .await;
            failure = Some(worse(failure, reply));
        }
        failure
    }

    /// A failure at the next hop: logged, shown to errorproc (`getline` is
    /// `<command>: <relay reply>`), and turned into the client's reply: the relay's own 5xx,
    /// else a 4xx so the client tries again.
    async fn relay_problem(
        &mut self,
        command: &str,
        target: &RelayTarget,
        e: &ClientError,
    ) -> Reply {
        Stats::add(&self.shared.stats.relay_failures, 1);
        let detail = match e.reply() {
            Some(r) => r.joined(),
            None => e.to_string(),
        };
        log(
            Severity::Error,
            &format!(
                "nssmtpd: {}: relay {target}: {command}: {detail}",
                self.id()
            ),
        );
        self.handle.envelope().line = format!("{command}: {detail}");
        if let Ok(Verdict::Reply(r)) = self.callback(Hook::Error).await {
            return r;
        }
        // Problems with the session to the relay itself (our configuration, the relay's
        // state) are temporary for the client: only a refusal of this mail is passed on.
        let about_this_mail = matches!(e.step, "MAIL FROM" | "RCPT TO" | "DATA" | "end of data");
        match e.reply() {
            Some(r) if r.code >= 400 && about_this_mail => {
                let text = r.lines.first().map(|l| {
                    let t = l.trim();
                    match r.enhanced() {
                        Some(en) => t[en.len()..].trim().to_string(),
                        None => t.to_string(),
                    }
                });
                let enhanced = r.enhanced().map(str::to_string).unwrap_or_else(|| {
                    if r.code >= 500 {
                        "5.0.0".into()
                    } else {
                        "4.0.0".into()
                    }
                });
                // The relay closing on us (421) is not a reason to close on our client.
                let code = if r.code == 421 { 451 } else { r.code };
                Reply::new(code, &enhanced, &text.unwrap_or_default())
            }
            _ => Reply::new(
                451,
                "4.4.1",
                &format!("Next hop {target} unavailable, try again later"),
            ),
        }
    }

    async fn end_relay(&mut self) {
        let tx = std::mem::take(&mut self.relay_tx);
        tx.finish(&self.shared.pool).await;
    }

    /// Spam and virus checks for the message, when a recipient or the session asked for
    /// them (`SPAMCHECK`, `VIRUSCHECK`). Sets scores and flags, may add headers (`tag`), and
    /// returns the pseudo headers for Tcl — or the reply that refuses the message.
    async fn content_checks(
        &mut self,
        message: &mut Vec<u8>,
    ) -> Result<Vec<(String, Option<String>)>, Reply> {
        let config = self.config.clone();
        let (want_spam, want_virus, user) = {
            let env = self.handle.envelope();
            let session_spam = env.flags & flags::SPAMCHECK != 0;
            let spam_rcpt = env
                .recipients()
                .find(|r| r.flags & flags::SPAMCHECK != 0)
                .map(|r| r.addr.clone());
            let virus = env.flags & flags::VIRUSCHECK != 0
                || env.recipients().any(|r| r.flags & flags::VIRUSCHECK != 0);
            (session_spam || spam_rcpt.is_some(), virus, spam_rcpt)
        };
        let mut pseudo = Vec::new();
        let mut added = String::new();
        let unavailable = || Reply::new(451, "4.7.1", "Content check unavailable, try again later");
        if want_virus && !config.clamd.is_empty() {
            self.handle.set_state("virus check");
            match scan::virus_check(&config.clamd, message, config.scantimeout).await {
                Ok(None) => {}
                Ok(Some(name)) => {
                    self.handle.envelope().flags |= flags::GOTVIRUS;
                    pseudo.push(("X-Smtpd-Virus-Status".to_string(), Some(name.clone())));
                    match config.virusaction {
                        ScanAction::Reject => {
                            return Err(Reply::new(
                                554,
                                "5.7.1",
                                &format!("Message contains a virus ({name})"),
                            ))
                        }
                        ScanAction::Tag => added.push_str(&format!("X-Virus-Status: Infected ({name})\r\n")),
                        ScanAction::None => {}
                    }
                }
                Err(_) if config.scanfail == ScanFailure::Accept => {}
                Err(_) => return Err(unavailable()),
            }
        }
        if want_spam && (!config.spamd.is_empty() || !config.rspamd.is_empty()) {
            self.handle.set_state("spam check");
            match scan::spam_check(
                &config.spamd,
                &config.rspamd,
                message,
                user.as_deref(),
                config.scantimeout,
            )
            .await
            {
                Ok(v) => {
                    {
                        let mut env = self.handle.envelope();
                        let all = env.flags & flags::SPAMCHECK != 0;
                        for i in 0..env.recipient_count() {
                            if let Some(r) = env.find_mut(&Selector::Index(i)) {
                                if all || r.flags & flags::SPAMCHECK != 0 {
                                    r.spam_score = v.score;
                                    if v.spam {
                                        r.flags |= flags::GOTSPAM;
                                    }
                                }
                            }
                        }
                    }
                    pseudo.push(("X-Smtpd-Signature".to_string(), Some(v.symbols.clone())));
                    if v.spam && config.spamaction == ScanAction::Reject {
                        return Err(Reply::new(554, "5.7.1", "Message classified as spam"));
                    }
                    if config.spamaction == ScanAction::Tag {
                        if v.spam {
                            added.push_str("X-Spam-Flag: YES\r\n");
                        }
                        added.push_str(&format!(
                            "X-Spam-Status: {}, score={:.1} required={:.1} tests={}\r\n",
                            if v.spam { "Yes" } else { "No" },
                            v.score,
                            v.threshold,
                            v.symbols
                                .chars()
                                .filter(|c| !c.is_control())
                                .collect::<String>()
                        ));
                    }
                }
                Err(_) if config.scanfail == ScanFailure::Accept => {}
                Err(_) => return Err(unavailable()),
            }
        }
        if !added.is_empty() {
            let mut tagged = Vec::with_capacity(added.len() + message.len());
            tagged.extend_from_slice(added.as_bytes());
            tagged.extend_from_slice(message);
            *message = tagged;
        }
        Ok(pseudo)
    }

    fn trace_header(&self, id: &str) -> String {
        let tls = self.handle.tls();
        let env = self.handle.envelope();
        let auth_user = env.auth_user.clone();
        let single = if env.recipient_count() == 1 {
            env.recipients().next().map(|r| r.addr.clone())
        } else {
            None
        };
        received_header(&TraceInfo {
            helo: self.helo.as_deref().unwrap_or("unknown"),
            client_ip: &self.peer.ip().to_string(),
            client_name: self.client_name.as_deref(),
            hostname: &self.config.hostname,
            version: crate::VERSION,
            // RFC 3848: S for TLS, A for AUTH.
            protocol: match (self.esmtp, tls.is_some(), auth_user.is_some()) {
                (true, true, true) => "ESMTPSA",
                (true, false, true) => "ESMTPA",
                (true, true, false) => "ESMTPS",
                (true, false, false) => "ESMTP",
                (false, true, _) => "SMTPS",
                (false, false, _) => "SMTP",
            },
            id,
            single_rcpt: single.as_deref(),
            auth_user: auth_user.as_deref(),
            date: &Utc::now().rfc5322(),
            tls: tls.as_deref(),
        })
    }

    /// One summary line per transaction (when `debug` >= 1).
    fn log_transaction(&self, status: u16, size: u64) {
        if self.config.debug < 1 {
            return;
        }
        let env = self.handle.envelope();
        let rcpts: Vec<String> = env
            .recipients()
            .map(|r| format!("{}(0x{:x}/{:.2})", r.addr, r.flags, r.spam_score))
            .collect();
        log(
            Severity::Notice,
            &format!(
                "nssmtpd: {}: HOST: {}, AUTH: {}, FLAGS: 0x{:x}, FROM: {}, RCPT: {}, SIZE: {}, STATUS: {}",
                self.id(),
                self.peer.ip(),
                env.auth_user.as_deref().unwrap_or("-"),
                env.flags,
                env.from.as_deref().unwrap_or(""),
                rcpts.join(", "),
                size,
                status
            ),
        );
    }
}

/// Resolves once the server is stopped by force or is gone.
async fn forced_stop(mut shutdown: tokio::sync::watch::Receiver<Shutdown>) {
    let _ = shutdown.wait_for(|s| *s == Shutdown::Forced).await;
}

/// Base64 of an AUTH exchange, or the `501 5.5.2` reply for bad base64.
fn decode_auth(text: &str) -> Result<Vec<u8>, Reply> {
    crate::core::codec::base64_decode(text.as_bytes())
        .map_err(|_| Reply::new(501, "5.5.2", "Invalid base64 data"))
}

/// Of two failures, the one that makes the client try again (4xx) wins: with a temporary
/// failure nothing is lost, at worst delivered twice.
fn worse(a: Option<Reply>, b: Reply) -> Reply {
    match a {
        Some(a) if a.is_transient_failure() => a,
        Some(a) if !b.is_transient_failure() && !b.is_positive() => a,
        _ => b,
    }
}

/// The one final reply for a message: the local verdict (dataproc) combined with the relay's.
/// `250` only when every part was accepted.
fn final_reply(local: Reply, relay_failure: Option<Reply>) -> Reply {
    match relay_failure {
        None => local,
        Some(failure) if local.is_positive() => failure,
        Some(failure) => worse(Some(local), failure),
    }
}

/// `strict`: the path was written in angle brackets and is an RFC 5321 `Mailbox` (or the
/// null sender for MAIL): a dot-atom or quoted local part, `@`, a domain or address literal.
/// `line` is the command as received (lower-cased), `path` the text inside the brackets.
fn strict_path(line: &str, path: &str, is_mail: bool) -> bool {
    let after_colon = line
        .split_once(':')
        .map(|(_, r)| r.trim_start())
        .unwrap_or("");
    if !after_colon.starts_with('<') {
        return false;
    }
    if path.is_empty() {
        return is_mail;
    }
    if !is_mail && path.eq_ignore_ascii_case("postmaster") {
        return true;
    }
    let Some((local, domain)) = path.rsplit_once('@') else {
        return false;
    };
    let atext =
        |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii();
    let local_ok = if local.starts_with('"') {
        local.len() >= 2
            && local.ends_with('"')
            && !local[1..local.len() - 1].contains(['\r', '\n'])
    } else {
        !local.is_empty()
            && local
                .split('.')
                .all(|a| !a.is_empty() && a.chars().all(atext))
    };
    let domain_ok = if let Some(literal) = domain.strip_prefix('[') {
        literal.ends_with(']') && literal.len() > 1
    } else {
        !domain.is_empty()
            && domain.len() <= 255
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
            })
    };
    local_ok && domain_ok
}

/// A HELO/EHLO argument: a domain name or an address literal, nothing else.
fn valid_helo(arg: &str) -> bool {
    if arg.is_empty() || arg.len() > 255 {
        return false;
    }
    if let Some(literal) = arg.strip_prefix('[') {
        return literal.ends_with(']') && literal.len() > 1;
    }
    arg.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !arg.starts_with(['-', '.'])
}

#[cfg(test)]
mod tests {
    use super::{strict_path, valid_helo};

    #[test]
    fn strict_paths() {
        assert!(strict_path("mail from:<a@b.example>", "a@b.example", true));
        assert!(strict_path("mail from: <>", "", true));
        assert!(strict_path("rcpt to:<postmaster>", "postmaster", false));
        assert!(strict_path(
            "rcpt to:<\"a b\"@[192.0.2.1]>",
            "\"a b\"@[192.0.2.1]",
            false
        ));
        for (line, path) in [
            ("rcpt to:a@b.example", "a@b.example"),
            ("rcpt to:<>", ""),
            ("rcpt to:<a@b..example>", "a@b..example"),
            ("rcpt to:<a..x@b.example>", "a..x@b.example"),
            ("rcpt to:<@r.example:a@b.example>", "@r.example:a@b.example"),
            ("rcpt to:<a(c)@b.example>", "a(c)@b.example"),
            ("rcpt to:<a@-b.example>", "a@-b.example"),
            ("rcpt to:<ab.example>", "ab.example"),
        ] {
            assert!(!strict_path(line, path, false), "{line}");
        }
    }

    #[test]
    fn helo_names() {
        for ok in [
            "client.example",
            "localhost",
            "[127.0.0.1]",
            "[IPv6:::1]",
            "a_b.c",
        ] {
            assert!(valid_helo(ok), "{ok}");
        }
        for bad in ["", "a b", "-x", ".x", "a@b", "[", "x<y>"] {
            assert!(!valid_helo(bad), "{bad}");
        }
    }
}
