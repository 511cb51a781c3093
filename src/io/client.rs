//! The SMTP client engine, used by the relay path and by `ns_smtpd send`: connect, greeting,
//! EHLO (HELO if refused), AUTH PLAIN when credentials are configured, MAIL, RCPT, DATA with
//! dot-stuffing, RSET and QUIT. Every step is bounded by a timeout; every reply is read
//! whole, multi-line or not.
use super::conn::Stream;
use super::tls;
use crate::core::codec::base64_encode;
use crate::core::command::Param;
use crate::core::data::dot_stuff;
use crate::core::diagnostic::Cause;
use crate::core::relay_target::RelayTarget;
use crate::core::server_reply::{parse_reply, ReplyParse, ServerReply, MAX_LINE};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// STARTTLS towards the server: when it is used, and how its certificate is checked.
#[derive(Clone)]
pub struct ClientTls {
    /// `none`: never; `opportunistic`: when offered, without certificate checks;
    /// `require`: always, with the certificate verified.
    pub mode: TlsMode,
    config: Option<Arc<rustls::ClientConfig>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    None,
    Opportunistic,
    Require,
}

impl ClientTls {
    /// `mode` is `none`, `opportunistic` or `require`; `cafile` the CA certificates to verify
    /// against (the system's when empty).
    pub fn new(mode: &str, cafile: &str) -> Result<ClientTls, String> {
        let mode = match mode {
            "none" => TlsMode::None,
            "opportunistic" | "" => TlsMode::Opportunistic,
            "require" => TlsMode::Require,
            other => {
                return Err(format!(
                    "bad TLS mode \"{other}\": must be none, opportunistic, or require"
                ))
            }
        };
        let config = match mode {
            TlsMode::None => None,
            TlsMode::Opportunistic => Some(tls::client_config(false, "")?),
            TlsMode::Require => Some(tls::client_config(true, cafile)?),
        };
        Ok(ClientTls { mode, config })
    }
}

#[derive(Clone)]
pub struct ClientOptions {
    /// The name we give in EHLO/HELO.
    pub helo_name: String,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub tls: ClientTls,
    /// Credentials may go over a connection without TLS (`cleartextauth`); never by default.
    pub cleartext_auth: bool,
}

/// What the server advertised in its EHLO reply.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    pub esmtp: bool,
    pub pipelining: bool,
    pub size: Option<u64>,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    pub starttls: bool,
    pub auth_plain: bool,
    pub dsn: bool,
}

impl Capabilities {
    fn from_ehlo(reply: &ServerReply) -> Capabilities {
        let mut c = Capabilities {
            esmtp: true,
            ..Default::default()
        };
        for (key, args) in reply.keywords() {
            match key.as_str() {
                "PIPELINING" => c.pipelining = true,
                "SIZE" => c.size = args.parse().ok(),
                "8BITMIME" => c.eight_bit_mime = true,
                "SMTPUTF8" => c.smtputf8 = true,
                "STARTTLS" => c.starttls = true,
                "DSN" => c.dsn = true,
                "AUTH" => {
                    c.auth_plain |= args
                        .split_whitespace()
                        .any(|m| m.eq_ignore_ascii_case("PLAIN"))
                }
                _ => {}
            }
        }
        c
    }
}

#[derive(Debug, Clone)]
pub enum ClientErrorKind {
    Connect(String),
    /// Connecting, writing or the TLS handshake took longer than this.
    Timeout(Duration),
    /// The connection ended (the relay's pooled connection, not a read of ours).
    Closed,
    /// No reply within the read timeout.
    ReadTimeout(Duration),
    /// The server closed the connection before its reply was complete.
    ReadEof,
    /// Reading the reply failed (a reset, a TLS error, a reply line over the limit).
    ReadError(String),
    Io(String),
    /// The peer does not speak SMTP (or sent something unbounded).
    Protocol(String),
    /// The server answered with a failure.
    Refused(ServerReply),
}

/// A failed client step: which step, and what happened. Never contains credentials.
#[derive(Debug, Clone)]
pub struct ClientError {
    pub step: &'static str,
    pub kind: ClientErrorKind,
}

impl ClientError {
    /// A 5xx answer: retrying the same thing will not help.
    pub fn is_permanent(&self) -> bool {
        matches!(&self.kind, ClientErrorKind::Refused(r) if r.code >= 500)
    }

    /// What was being read: `greeting`, `EHLO reply`, `end of data reply`, ...
    pub fn read_phase(&self) -> String {
        if self.step == "greeting" {
            self.step.to_string()
        } else {
            format!("{} reply", self.step)
        }
    }

    fn read_cause(&self) -> String {
        let cause = match &self.kind {
            ClientErrorKind::ReadTimeout(d) => Cause::Timeout(*d),
            ClientErrorKind::ReadEof => Cause::Eof,
            ClientErrorKind::ReadError(e) => Cause::Error(e.clone()),
            _ => return String::new(),
        };
        cause.text()
    }

    /// The error with the server named: reads as `read greeting from host:port: timeout
    /// after 3 seconds`, others as before with `(server host:port)` after them.
    pub fn describe(&self, target: &RelayTarget) -> String {
        match &self.kind {
            ClientErrorKind::ReadTimeout(_)
            | ClientErrorKind::ReadEof
            | ClientErrorKind::ReadError(_) => {
                format!(
                    "read {} from {target}: {}",
                    self.read_phase(),
                    self.read_cause()
                )
            }
            _ => format!("{self} (server {target})"),
        }
    }

    pub fn reply(&self) -> Option<&ServerReply> {
        match &self.kind {
            ClientErrorKind::Refused(r) => Some(r),
            _ => None,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ClientErrorKind::Connect(e) => f.write_str(e),
            ClientErrorKind::Timeout(d) => write!(
                f,
                "I/O error during {}: {}",
                self.step,
                Cause::Timeout(*d).text()
            ),
            ClientErrorKind::Closed => write!(f, "connection closed during {}", self.step),
            ClientErrorKind::ReadTimeout(_)
            | ClientErrorKind::ReadEof
            | ClientErrorKind::ReadError(_) => {
                write!(f, "read {}: {}", self.read_phase(), self.read_cause())
            }
            ClientErrorKind::Io(e) => write!(f, "error during {}: {e}", self.step),
            ClientErrorKind::Protocol(e) => write!(f, "protocol error during {}: {e}", self.step),
            ClientErrorKind::Refused(r) => write!(f, "{} refused: {}", self.step, r.joined()),
        }
    }
}

pub struct SmtpClient {
    stream: Box<dyn Stream>,
    rbuf: Vec<u8>,
    pub caps: Capabilities,
    pub target: RelayTarget,
    opts: ClientOptions,
    /// A transaction was started and not finished (RSET needed before reuse).
    dirty: bool,
    /// `TLSv1.3 TLS13_...` once STARTTLS succeeded.
    pub tls: Option<String>,
}

fn err(step: &'static str, kind: ClientErrorKind) -> ClientError {
    ClientError { step, kind }
}

impl SmtpClient {
    /// Connects and runs greeting, EHLO/HELO and AUTH.
    pub async fn connect(
        target: &RelayTarget,
        opts: &ClientOptions,
    ) -> Result<SmtpClient, ClientError> {
        let addr = (target.host.as_str(), target.port);
        let stream = match timeout(opts.connect_timeout, TcpStream::connect(addr)).await {
            Err(_) => {
                return Err(err(
                    "connect",
                    ClientErrorKind::Timeout(opts.connect_timeout),
                ))
            }
            Ok(Err(e)) => {
                return Err(err(
                    "connect",
                    ClientErrorKind::Connect(format!(
                        "cannot connect to {target}: {}",
                        super::os_text(&e)
                    )),
                ))
            }
            Ok(Ok(s)) => s,
        };
        let _ = stream.set_nodelay(true);
        let mut client = SmtpClient {
            stream: Box::new(stream),
            rbuf: Vec::new(),
            caps: Capabilities::default(),
            target: target.clone(),
            opts: opts.clone(),
            dirty: false,
            tls: None,
        };
        if target.implicit_tls {
            client.implicit_tls().await?;
        }
        let greeting = client.read_reply("greeting").await?;
        if greeting.code != 220 {
            return Err(err("greeting", ClientErrorKind::Refused(greeting)));
        }
        client.hello().await?;
        if !target.implicit_tls {
            client.starttls().await?;
        }
        if let (Some(user), Some(password)) = (&target.user, &target.password) {
            // As Postfix's `noplaintext`: a password never crosses the wire in clear.
            if client.tls.is_none() && !opts.cleartext_auth {
                return Err(err(
                    "AUTH",
                    ClientErrorKind::Protocol(format!(
                        "{target}: no TLS, so the credentials were not sent \
                         (the server offers no STARTTLS, or TLS is off; cleartextauth allows it)"
                    )),
                ));
            }
            client.auth_plain(user, password).await?;
        }
        Ok(client)
    }

    async fn hello(&mut self) -> Result<(), ClientError> {
        let name = self.opts.helo_name.clone();
        let ehlo = self.command("EHLO", &format!("EHLO {name}")).await?;
        if ehlo.code == 250 {
            self.caps = Capabilities::from_ehlo(&ehlo);
            return Ok(());
        }
        if ehlo.code < 500 {
            return Err(err("EHLO", ClientErrorKind::Refused(ehlo)));
        }
        // An old server that does not know EHLO.
        let helo = self.command("HELO", &format!("HELO {name}")).await?;
        if helo.code != 250 {
            return Err(err("HELO", ClientErrorKind::Refused(helo)));
        }
        self.caps = Capabilities::default();
        Ok(())
    }

    /// `smtps://` (RFC 8314): the handshake before the greeting. The URL asks for TLS, so
    /// even `relaytls none` gets it (unverified, as `opportunistic`).
    async fn implicit_tls(&mut self) -> Result<(), ClientError> {
        let config = match (&self.opts.tls.config, self.opts.tls.mode) {
            (Some(c), mode) if mode != TlsMode::None => c.clone(),
            _ => tls::client_config(false, "")
                .map_err(|e| err("TLS handshake", ClientErrorKind::Protocol(e)))?,
        };
        self.handshake(config).await
    }

    /// Wraps the connection in TLS towards `target.host`.
    async fn handshake(&mut self, config: Arc<rustls::ClientConfig>) -> Result<(), ClientError> {
        let name = tls::server_name(&self.target.host)
            .map_err(|e| err("TLS handshake", ClientErrorKind::Protocol(e)))?;
        let (placeholder, _) = tokio::io::duplex(1);
        let plain = std::mem::replace(&mut self.stream, Box::new(placeholder));
        let connector = tokio_rustls::TlsConnector::from(config);
        let stream = match timeout(self.opts.read_timeout, connector.connect(name, plain)).await {
            Err(_) => {
                return Err(err(
                    "TLS handshake",
                    ClientErrorKind::Timeout(self.opts.read_timeout),
                ))
            }
            Ok(Err(e)) => {
                return Err(err(
                    "TLS handshake",
                    ClientErrorKind::Io(super::os_text(&e)),
                ))
            }
            Ok(Ok(s)) => s,
        };
        self.tls = Some(tls::describe(stream.get_ref().1));
        self.stream = Box::new(stream);
        Ok(())
    }

    /// STARTTLS when the server offers it and our mode allows (required if `require`).
    async fn starttls(&mut self) -> Result<(), ClientError> {
        let config = match (&self.opts.tls.config, self.opts.tls.mode) {
            (Some(c), mode) if mode != TlsMode::None => c.clone(),
            _ => return Ok(()),
        };
        let required = self.opts.tls.mode == TlsMode::Require;
        if !self.caps.starttls {
            if required {
                return Err(err(
                    "STARTTLS",
                    ClientErrorKind::Protocol("the server does not offer STARTTLS".into()),
                ));
            }
            return Ok(());
        }
        let reply = self.command("STARTTLS", "STARTTLS").await?;
        if reply.code != 220 {
            if required {
                return Err(err("STARTTLS", ClientErrorKind::Refused(reply)));
            }
            return Ok(()); // Opportunistic: go on in clear text.
        }
        if !self.rbuf.is_empty() {
            // Data after the 220 that did not come through TLS (response injection).
            return Err(err(
                "STARTTLS",
                ClientErrorKind::Protocol("data after the STARTTLS reply".into()),
            ));
        }
        self.handshake(config).await?;
        // RFC 3207: everything learnt before TLS is forgotten; ask again.
        self.hello().await
    }

    async fn auth_plain(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        if !self.caps.auth_plain {
            return Err(err(
                "AUTH",
                ClientErrorKind::Protocol("the server does not offer AUTH PLAIN".into()),
            ));
        }
        let token = base64_encode(format!("\0{user}\0{password}").as_bytes());
        // The token is written but never logged or put into an error.
        self.write("AUTH", format!("AUTH PLAIN {token}\r\n").as_bytes())
            .await?;
        let reply = self.read_reply("AUTH").await?;
        if reply.code != 235 {
            return Err(err("AUTH", ClientErrorKind::Refused(reply)));
        }
        Ok(())
    }

    /// Sends one command line and reads its reply (any code).
    pub async fn command(
        &mut self,
        step: &'static str,
        line: &str,
    ) -> Result<ServerReply, ClientError> {
        if line.contains(['\r', '\n', '\0']) {
            return Err(err(
                step,
                ClientErrorKind::Protocol("CR, LF or NUL in a command".into()),
            ));
        }
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.write(step, &bytes).await?;
        self.read_reply(step).await
    }

    /// `MAIL FROM:<from> params`, passing on only the parameters the server advertised
    /// (SIZE: RFC 1870, BODY: RFC 6152). A message that needs SMTPUTF8 (RFC 6531) cannot go
    /// to a server without it: that is a permanent refusal.
    pub async fn mail(&mut self, from: &str, params: &[Param]) -> Result<ServerReply, ClientError> {
        let mut line = format!("MAIL FROM:<{from}>");
        for p in params {
            let supported = match p.keyword.as_str() {
                "SIZE" => self.caps.size.is_some(),
                "BODY" => self.caps.eight_bit_mime,
                "SMTPUTF8" if !self.caps.smtputf8 => {
                    return Err(err(
                        "MAIL FROM",
                        ClientErrorKind::Refused(ServerReply {
                            code: 553,
                            lines: vec!["5.6.7 The next hop does not support SMTPUTF8".into()],
                        }),
                    ))
                }
                "SMTPUTF8" => true,
                _ => false,
            };
            if supported {
                line.push(' ');
                line.push_str(&p.keyword);
                if let Some(v) = &p.value {
                    line.push('=');
                    line.push_str(v);
                }
            }
        }
        self.dirty = true;
        self.command("MAIL FROM", &line).await
    }

    pub async fn rcpt(&mut self, to: &str) -> Result<ServerReply, ClientError> {
        self.command("RCPT TO", &format!("RCPT TO:<{to}>")).await
    }

    /// DATA, the dot-stuffed message, and the final reply (returned whatever its code).
    pub async fn data(&mut self, message: &[u8]) -> Result<ServerReply, ClientError> {
        let go = self.command("DATA", "DATA").await?;
        if go.code != 354 {
            return Ok(go);
        }
        let wire = dot_stuff(message);
        self.write("message data", &wire).await?;
        let reply = self.read_reply("end of data").await?;
        self.dirty = false;
        Ok(reply)
    }

    /// Makes a used connection ready for the next transaction.
    pub async fn reset(&mut self) -> Result<(), ClientError> {
        if self.dirty {
            let r = self.command("RSET", "RSET").await?;
            if r.code != 250 {
                return Err(err("RSET", ClientErrorKind::Refused(r)));
            }
            self.dirty = false;
        }
        Ok(())
    }

    /// QUIT and close; errors do not matter any more.
    pub async fn quit(mut self) {
        let _ = timeout(Duration::from_secs(2), async {
            let _ = self.command("QUIT", "QUIT").await;
            let _ = self.stream.shutdown().await;
        })
        .await;
    }

    async fn write(&mut self, step: &'static str, bytes: &[u8]) -> Result<(), ClientError> {
        let w = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match timeout(self.opts.write_timeout, w).await {
            Err(_) => Err(err(step, ClientErrorKind::Timeout(self.opts.write_timeout))),
            Ok(Err(e)) => Err(err(step, ClientErrorKind::Io(super::os_text(&e)))),
            Ok(Ok(())) => Ok(()),
        }
    }

    async fn read_reply(&mut self, step: &'static str) -> Result<ServerReply, ClientError> {
        loop {
            match parse_reply(&self.rbuf) {
                ReplyParse::Done(reply, used) => {
                    self.rbuf.drain(..used);
                    return Ok(reply);
                }
                // A reply line over the limit is a failed read, as upstream reports it.
                ReplyParse::Invalid(_)
                    if self
                        .rbuf
                        .split(|&b| b == b'\n')
                        .any(|l| l.len() > MAX_LINE + 1) =>
                {
                    return Err(err(
                        step,
                        ClientErrorKind::ReadError(format!(
                            "line exceeds maxline ({MAX_LINE} bytes)"
                        )),
                    ))
                }
                ReplyParse::Invalid(why) => return Err(err(step, ClientErrorKind::Protocol(why))),
                ReplyParse::Incomplete => {}
            }
            self.rbuf.reserve(4096);
            let read_timeout = self.opts.read_timeout;
            match timeout(read_timeout, self.stream.read_buf(&mut self.rbuf)).await {
                Err(_) => return Err(err(step, ClientErrorKind::ReadTimeout(read_timeout))),
                Ok(Ok(0)) => return Err(err(step, ClientErrorKind::ReadEof)),
                // TLS without close_notify: the server is gone all the same.
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(err(step, ClientErrorKind::ReadEof))
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    return Err(err(step, ClientErrorKind::ReadError(super::os_text(&e))))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> RelayTarget {
        RelayTarget {
            host: "mx.example".into(),
            port: 2525,
            user: None,
            password: None,
            implicit_tls: false,
        }
    }

    #[test]
    fn read_failures_name_the_phase_and_the_server() {
        let cases = [
            (
                err(
                    "greeting",
                    ClientErrorKind::ReadTimeout(Duration::from_secs(3)),
                ),
                "read greeting from mx.example:2525: timeout after 3 seconds",
            ),
            (
                err("EHLO", ClientErrorKind::ReadEof),
                "read EHLO reply from mx.example:2525: peer closed connection (EOF)",
            ),
            (
                err(
                    "RCPT TO",
                    ClientErrorKind::ReadError("connection reset by peer".into()),
                ),
                "read RCPT TO reply from mx.example:2525: connection reset by peer",
            ),
            (
                err(
                    "message data",
                    ClientErrorKind::Timeout(Duration::from_secs(3)),
                ),
                "I/O error during message data: timeout after 3 seconds (server mx.example:2525)",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.describe(&target()), want);
        }
    }
}
