//! One SMTP session, from greeting to close. This file holds the session's state, the serve
//! loop and the dispatch of commands; each stage has a room of its own:
//!
//! - `connect`: admission before the greeting (PROXY header, per-address limits, FCrDNS,
//!   early talkers);
//! - `transport`: command lines and message input, timeouts, the tarpit, the TLS handshake;
//! - `callbacks`: asking the policy (the Tcl procs) and applying its verdict;
//! - `helo`, `query`, `auth`, `mail`, `rcpt`, `data`: the commands;
//! - `deliver`: the end of a message; `relay`: the dialogue with the next hop;
//! - `authcheck`: SPF, DKIM, ARC and DMARC (`authcheck`);
//! - `checks`: spam and virus checks; `trace`: the `Received:` header and the log line;
//! - `events`: the SMTP event log's session id, transaction counter and events;
//! - `style`: the HELO style rules and the free-space guard.
//!
//! The rules themselves (command order, arguments, reply texts) come from
//! [`crate::core::rules`]; this layer moves bytes, holds timeouts and keeps counts.
mod alias;
mod auth;
mod authcheck;
mod callbacks;
mod checks;
mod connect;
mod data;
mod deliver;
mod diagnostics;
mod events;
mod helo;
mod mail;
mod query;
mod rcpt;
mod relay;
mod style;
mod trace;
mod transport;

use super::admission::Ticket;
use super::client::ClientOptions;
use super::conn::{Conn, Line, Stream};
use super::policy::Seat;
use super::relay::RelayTransaction;
use super::shared::{Mode, ServerShared, Shutdown};
use crate::config::ServerConfig;
use crate::core::command::{parse_command, Command, Param};
use crate::core::data::DataReader;
use crate::core::flags;
use crate::core::relay_target::RelayTarget;
use crate::core::reply::Reply;
use crate::core::rules::helostyle::StyleFlags;
use crate::core::rules::state::{gate, Facts};
use crate::core::rules::{input, replies};
use crate::log::{log, Severity};
use crate::registry::SessionHandle;
use futures_util::FutureExt;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

/// Whether the session goes on after a command.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
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
    /// The session identifier, MAIL transactions and the event log (see `events`).
    events: events::SessionEvents,
    /// The configured next hop, if mail is relayed.
    relay: Option<RelayTarget>,
    relay_tx: RelayTransaction,
    client_opts: ClientOptions,
    /// MAIL parameters to pass on to the relay (those it supports).
    mail_params: Vec<Param>,
    /// The client address's slot under the per-address limits, given back at the end.
    _ticket: Option<Ticket>,
    /// Where the policy runs this session's callbacks (a worker interpreter), given back at
    /// the end.
    _seat: Seat,
    /// The HELO style rule's letters for this client, if one matched (see `style`).
    style: Option<StyleFlags>,
    /// A HELO style rule refused the client's HELO/EHLO: no MAIL until another is accepted.
    helo_refused: bool,
    /// STARTTLS completed: EHLO must come again before a transaction (RFC 3207 §4.2).
    starttls_done: bool,
    /// The current command line was UTF-8 (paths that are not are refused).
    line_utf8: bool,
    /// AUTH failures in this session (each answered a little later than the last).
    auth_failures: u32,
    /// The last command, the refused input, for the I/O diagnostics in the server log.
    diag: diagnostics::Diagnostics,
}

/// A message arriving in BDAT chunks (RFC 3030).
struct Chunks {
    reader: DataReader,
    trace_id: String,
}

/// Answers a connection we will not serve and closes it.
pub async fn refuse(mut stream: Box<dyn Stream>, reply: Reply) {
    let _ = timeout(std::time::Duration::from_secs(5), async {
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
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
    let Some((mut session, guard)) = Session::open(stream, peer, shared, mode, helo).await else {
        return;
    };
    let limit = session.config.sessiontimeout;
    if mode == Mode::Tls && session.handshake().await.is_err() {
        session.handle.set_state("closed");
        return;
    }
    // A bug in one session must not take the server down: the panic is caught here,
    // logged without client bytes (see `panics`), counted, and the client told to retry.
    let served = AssertUnwindSafe(timeout(limit, session.serve()))
        .catch_unwind()
        .await;
    match served {
        Ok(Ok(())) => {}
        Ok(Err(_)) => {
            session.event_transaction_end(events::TransactionEnd::Aborted);
            session.shared.stats.timeout();
            let reply = replies::session_time_limit(&session.config.hostname);
            session.conn.close_with(&reply).await;
        }
        Err(_) => {
            session.event_transaction_end(events::TransactionEnd::Aborted);
            session.shared.stats.internal_error();
            log(
                Severity::Error,
                &format!(
                    "nssmtpd: {}: session ended by an internal error at {}",
                    session.id(),
                    super::panics::last_location()
                ),
            );
            let reply = replies::internal_failure(&session.config.hostname);
            session.conn.close_with(&reply).await;
        }
    }
    session.event_transaction_end(events::TransactionEnd::Disconnect);
    session.end_relay().await;
    session.log_rejected_summary();
    session.handle.set_state("closed");
    drop(guard);
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
                Line::TooLong => {
                    self.note_too_long();
                    self.error_reply(replies::line_too_long())
                }
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

    /// One command line: checked, shown to the log and callbacks, ordered, then run.
    async fn command(&mut self, bytes: Vec<u8>) -> Flow {
        let line = match input::command_text(&bytes) {
            Ok(line) => line,
            Err(reply) => {
                self.note_undecodable(&bytes);
                return self.error_reply(reply);
            }
        };
        self.line_utf8 = input::is_utf8(&bytes);
        let shown = input::shown(&line);
        log(
            Severity::Debug,
            &format!("nssmtpd: {}: <<< {shown}", self.id()),
        );
        // Callbacks see the command as the original module showed it: lower-cased.
        self.handle.envelope().line = shown.to_ascii_lowercase();
        let command = parse_command(&line);
        self.note_command(&bytes, &command);
        if self.sent_ahead(&command) {
            return self.improper_pipelining(&command);
        }
        if let Err(refusal) = gate(&command, &self.facts()) {
            if refusal.abandons_chunks {
                self.event_transaction_end(events::TransactionEnd::Aborted);
                self.chunks = None;
                self.end_relay().await;
                self.handle.envelope().reset_transaction();
            }
            // A BDAT out of order still has its chunk read, so the dialogue stays in step.
            if let Command::Bdat { size, .. } = command {
                return self.refuse_chunk(size, refusal.reply).await;
            }
            return self.error_reply(refusal.reply);
        }
        match command {
            Command::Helo(arg) => self.helo(arg, false).await,
            Command::Ehlo(arg) => self.helo(arg, true).await,
            Command::Lhlo(arg) if self.mode == Mode::Lmtp => self.helo(arg, true).await,
            Command::Lhlo(_) => self.error_reply(replies::unrecognized()),
            Command::Mail { path, params } => self.mail(path, params).await,
            Command::Rcpt { path, params } => self.rcpt(path, params).await,
            Command::Data => self.data().await,
            Command::Bdat { size, last } => self.bdat(size, last).await,
            Command::Rset => {
                self.event_transaction_end(events::TransactionEnd::Reset);
                self.chunks = None;
                self.end_relay().await;
                self.handle.envelope().reset_transaction();
                self.reply(replies::reset_ok())
            }
            Command::Noop => self.reply(replies::ok()),
            Command::Quit => {
                self.event_transaction_end(events::TransactionEnd::QuitBeforeData);
                self.conn.queue(&replies::bye(&self.config.hostname));
                Flow::Close
            }
            Command::Help(_) => self.help(),
            Command::Vrfy(arg) => self.vrfy(arg),
            Command::Expn(arg) => self.expn(arg),
            Command::StartTls(_) => self.starttls().await,
            Command::Auth(arg) => self.auth(arg).await,
            Command::Syntax(why) => self.error_reply(replies::syntax(why)),
            Command::Unknown => self.error_reply(replies::unrecognized()),
        }
    }

    /// What the order rules of the core need to know now.
    fn facts(&self) -> Facts {
        let env = self.handle.envelope();
        let authenticated = env.auth_user.is_some();
        Facts {
            lmtp: self.mode == Mode::Lmtp,
            greeted: self.helo.is_some(),
            esmtp: self.esmtp,
            in_transaction: env.from.is_some(),
            recipients: env.recipient_count(),
            chunking: self.chunks.is_some(),
            tls_active: self.handle.tls().is_some(),
            tls_available: self.shared.tls().is_some(),
            authenticated,
            auth_configured: self.auth_configured(),
            auth_offered: self.auth_offered(),
            local: env.flags & flags::LOCAL != 0,
            need_helo: self.config.flags & flags::NEEDHELO != 0,
            msa_mode: self.config.msamode,
            helo_refused: self.helo_refused,
            starttls_done: self.starttls_done,
        }
    }

    /// RFC 2920: after EHLO/HELO, DATA, NOOP and QUIT a client must wait for our reply.
    /// Input already here means it did not — spam software does that, mail clients do not.
    /// Local and authenticated clients may (`forbidunauthpipelining` off: anyone may).
    fn sent_ahead(&self, command: &Command) -> bool {
        let ends_group = matches!(
            command,
            Command::Helo(_)
                | Command::Ehlo(_)
                | Command::Lhlo(_)
                | Command::Data
                | Command::Noop
                | Command::Quit
        );
        ends_group
            && self.config.forbidunauthpipelining
            && self.mode != Mode::Replay
            && !self.conn.buffered().is_empty()
            && !self.trusted_client()
    }

    fn improper_pipelining(&mut self, command: &Command) -> Flow {
        self.shared.stats.pipelining_error();
        log(
            Severity::Notice,
            &format!(
                "nssmtpd: {}: HOST: {}: improper pipelining after {}: closed",
                self.id(),
                self.peer.ip(),
                command.name().to_ascii_uppercase()
            ),
        );
        self.conn
            .queue(&replies::improper_pipelining(&self.config.hostname));
        Flow::Close
    }

    fn in_transaction(&self) -> bool {
        self.handle.envelope().from.is_some()
    }

    /// The client is trusted to send anywhere: LOCAL, or authenticated.
    fn trusted_client(&self) -> bool {
        let env = self.handle.envelope();
        env.flags & flags::LOCAL != 0 || env.auth_user.is_some()
    }

    fn reply(&mut self, reply: Reply) -> Flow {
        self.conn.queue(&reply);
        Flow::Continue
    }

    /// Queues an error reply and counts it; too many errors close the session.
    fn error_reply(&mut self, reply: Reply) -> Flow {
        self.conn.queue(&reply);
        self.error_reply_counted()
    }

    /// Counts an error whose reply was already queued; too many close the session.
    fn error_reply_counted(&mut self) -> Flow {
        self.errors += 1;
        self.shared.stats.protocol_error();
        if self.errors >= self.config.maxerrors {
            self.conn
                .queue(&replies::too_many_errors(&self.config.hostname));
            return Flow::Close;
        }
        Flow::Continue
    }
}
