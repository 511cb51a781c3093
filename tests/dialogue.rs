//! SMTP and LMTP dialogues with a real session over an in-memory stream: the session as
//! the listener runs it, asked by the Rust policy (`ScriptedPolicy`), without Tcl or
//! sockets. Each test scripts the client's side and checks the exact replies, what the
//! policy was handed, and the server's counters.
use nssmtpd::config::ServerConfig;
use nssmtpd::core::localnet::Network;
use nssmtpd::core::relaydomains::parse_entry;
use nssmtpd::io::policy::{Action, Call, Hook, NoPolicy, Policy, Rule, ScriptedPolicy};
use nssmtpd::io::session;
use nssmtpd::io::shared::{Lists, Mode, ServerShared, Shutdown};
use nssmtpd::log::{LogSink, Severity};
use nssmtpd::registry;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// How long a test waits for any reply before it fails (it never hangs).
const PATIENCE: Duration = Duration::from_secs(10);

/// Runs a test's dialogue on a current-thread runtime, as the listener's tasks run.
fn run<F: Future>(test: F) -> F::Output {
    nssmtpd::log::set_sink(Arc::new(Quiet));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test)
}

/// The session's log lines are not what these tests look at.
struct Quiet;

impl LogSink for Quiet {
    fn write(&self, _: Severity, _: &str) {}
}

/// What the server of one test looks like.
struct Setup {
    config: ServerConfig,
    /// `None`: no callbacks at all (`NoPolicy`).
    rules: Option<Vec<Rule>>,
    mode: Mode,
    /// 127.0.0.1 (the client) is in the `local` list: it may relay anywhere.
    local: bool,
}

impl Setup {
    /// `mx.test`, relaying for `x.test`; the policy accepts everything and records messages.
    fn new() -> Setup {
        let config = ServerConfig {
            hostname: "mx.test".into(),
            debug: 0,
            ..Default::default()
        };
        Setup {
            config,
            rules: Some(vec![Rule::new(Hook::Data, Action::Accept)]),
            mode: Mode::Smtp,
            local: false,
        }
    }

    fn rules(mut self, rules: Vec<Rule>) -> Setup {
        self.rules = Some(rules);
        self
    }

    fn no_policy(mut self) -> Setup {
        self.rules = None;
        self
    }

    fn set(mut self, option: &str, value: &str) -> Setup {
        self.config.set(option, value).unwrap();
        self
    }

    fn mode(mut self, mode: Mode) -> Setup {
        self.mode = mode;
        self
    }

    fn local(mut self) -> Setup {
        self.local = true;
        self
    }

    /// Starts the session (inside the test's runtime) and reads nothing yet.
    fn start(self) -> Dialogue {
        let lists = Arc::new(Lists::default());
        lists
            .relay_domains
            .write()
            .unwrap()
            .add(parse_entry("x.test").unwrap());
        if self.local {
            lists
                .local_nets
                .write()
                .unwrap()
                .add(Network::host("127.0.0.1".parse().unwrap()));
        }
        let scripted = Arc::new(ScriptedPolicy::new(self.rules.clone().unwrap_or_default()));
        let policy: Arc<dyn Policy> = match self.rules {
            Some(_) => scripted.clone(),
            None => Arc::new(NoPolicy),
        };
        let (shared, stop) = ServerShared::new(self.config, lists, policy).unwrap();
        let (client, server_end) = tokio::io::duplex(1 << 16);
        let session = tokio::spawn(session::run(
            Box::new(server_end),
            "127.0.0.1:40000".parse().unwrap(),
            shared.clone(),
            self.mode,
        ));
        Dialogue {
            client,
            buf: Vec::new(),
            shared,
            policy: scripted,
            session: Some(session),
            mode: self.mode,
            _stop: stop,
        }
    }
}

/// The client's side of one session.
struct Dialogue {
    client: DuplexStream,
    /// Bytes read but not yet taken as a reply.
    buf: Vec<u8>,
    shared: Arc<ServerShared>,
    policy: Arc<ScriptedPolicy>,
    session: Option<JoinHandle<()>>,
    mode: Mode,
    /// Dropping the sender would stop the session; the test keeps it.
    _stop: watch::Sender<Shutdown>,
}

/// The length of the first complete reply in `buf` (multi-line aware), if there is one.
/// Every line must be `ddd`, then `-`, a blank or nothing, then CRLF.
fn complete_reply(buf: &[u8]) -> Option<usize> {
    let mut start = 0;
    while let Some(i) = buf[start..].windows(2).position(|w| w == b"\r\n") {
        let line = &buf[start..start + i];
        assert!(
            line.len() >= 3
                && line[..3].iter().all(u8::is_ascii_digit)
                && matches!(line.get(3), None | Some(b' ') | Some(b'-'))
                && !line.contains(&b'\r')
                && !line.contains(&b'\n'),
            "malformed reply line {:?}",
            String::from_utf8_lossy(line)
        );
        start += i + 2;
        if line.get(3) != Some(&b'-') {
            return Some(start);
        }
    }
    None
}

impl Dialogue {
    async fn send(&mut self, bytes: &[u8]) {
        self.client.write_all(bytes).await.unwrap();
    }

    /// The next complete reply, without its last CRLF (lines of a multi-line reply are
    /// separated by CRLF).
    async fn reply(&mut self) -> String {
        let read = async {
            loop {
                if let Some(n) = complete_reply(&self.buf) {
                    let reply: Vec<u8> = self.buf.drain(..n).collect();
                    let text = String::from_utf8(reply).expect("replies are UTF-8");
                    return Some(text.strip_suffix("\r\n").unwrap().to_string());
                }
                let mut chunk = [0u8; 4096];
                match self.client.read(&mut chunk).await {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                }
            }
        };
        match timeout(PATIENCE, read).await {
            Ok(Some(reply)) => reply,
            Ok(None) => panic!(
                "connection closed before a reply; unread: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
            Err(_) => panic!(
                "no reply within {PATIENCE:?}; unread: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Sends one command line and returns its reply.
    async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Reads the greeting and greets with EHLO (or LHLO).
    async fn greet(&mut self) {
        assert!(self.reply().await.starts_with("220 mx.test "));
        let verb = if self.mode == Mode::Lmtp {
            "LHLO"
        } else {
            "EHLO"
        };
        assert!(self
            .cmd(&format!("{verb} client.test"))
            .await
            .starts_with("250-mx.test\r\n"));
    }

    /// The server closed the connection (after everything it said was read).
    async fn assert_closed(&mut self) {
        let mut rest = Vec::new();
        let read = timeout(PATIENCE, self.client.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "the server did not close the connection");
        assert!(
            self.buf.is_empty() && rest.is_empty(),
            "unread after the end: {:?} {:?}",
            String::from_utf8_lossy(&self.buf),
            String::from_utf8_lossy(&rest)
        );
    }

    /// The id of the (still running) session.
    /// The `Received:` and `queued as` id's session part (the event log's session).
    fn trace_base(&self) -> String {
        nssmtpd::io::eventlog::session_id(self.shared.id, self.session_id())
    }

    fn session_id(&self) -> u64 {
        let sessions = registry::of_server(self.shared.id);
        assert_eq!(sessions.len(), 1);
        sessions[0].id
    }

    fn stat(&self, name: &str) -> u64 {
        self.shared.stats.get(name).unwrap()
    }

    fn data_calls(&self) -> Vec<Call> {
        self.policy.calls_of(Hook::Data)
    }

    /// The client hangs up; the session must end at once and without an internal error.
    async fn finish(mut self) {
        let _ = self.client.shutdown().await;
        let session = self.session.take().unwrap();
        let ended = timeout(PATIENCE, session).await;
        assert!(
            ended.is_ok(),
            "the session did not end after the client left"
        );
        ended.unwrap().expect("the session task failed");
        assert_eq!(self.stat("errors_internal"), 0, "a session panicked");
    }
}

/// A recorded message without the `Received:` header the session put in front. The header
/// ends with its date, the only `+0000` at a line end (the rest is names and an id).
fn body_of(message: &[u8]) -> &[u8] {
    assert!(
        message.starts_with(b"Received: from "),
        "no trace header: {:?}",
        String::from_utf8_lossy(message)
    );
    let end = message
        .windows(7)
        .position(|w| w == b"+0000\r\n")
        .expect("the trace header ends with its date");
    &message[end + 7..]
}

fn rcpt_refusal(addr: &str, reply: &str) -> Rule {
    Rule::new(Hook::Rcpt, Action::Reply(reply.into())).when_rcpt(addr)
}

#[test]
fn greeting() {
    run(async {
        let mut d = Setup::new().no_policy().start();
        assert_eq!(
            d.reply().await,
            format!("220 mx.test ESMTP nssmtpd {}", nssmtpd::VERSION)
        );
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        d.finish().await;
    })
}

#[test]
fn greeting_from_the_banner_template() {
    run(async {
        let mut d = Setup::new().set("banner", "%H ready (100%%)").start();
        assert_eq!(d.reply().await, "220 mx.test ready (100%)");
        d.finish().await;
    })
}

#[test]
fn ehlo_capabilities_and_helo() {
    run(async {
        let mut d = Setup::new().no_policy().start();
        d.reply().await;
        assert_eq!(
            d.cmd("EHLO client.test").await,
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n\
             250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250 HELP"
        );
        assert_eq!(d.cmd("HELO client.test").await, "250 mx.test");
        assert_eq!(d.cmd("HELO").await, "501 5.5.4 Syntax: HELO hostname");
        assert_eq!(
            d.cmd("EHLO bad name").await,
            "501 5.5.4 Syntax: EHLO hostname"
        );
        d.finish().await;
    })
}

#[test]
fn ehlo_offers_auth_with_an_authproc_and_smaller_size() {
    run(async {
        let mut d = Setup::new()
            .rules(vec![Rule::new(Hook::Auth, Action::Return("1".into()))])
            .set("authwithouttls", "1")
            .set("maxdata", "65536")
            .start();
        d.reply().await;
        assert_eq!(
            d.cmd("EHLO client.test").await,
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 65536\r\n250-8BITMIME\r\n\
             250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n\
             250-AUTH PLAIN LOGIN\r\n250 HELP"
        );
        d.finish().await;
    })
}

#[test]
fn full_transaction_hands_on_the_unstuffed_message() {
    run(async {
        let mut d = Setup::new()
            .rules(vec![
                Rule::new(Hook::Mail, Action::Accept),
                Rule::new(Hook::Rcpt, Action::Accept),
                Rule::new(Hook::Data, Action::Accept),
            ])
            .start();
        d.greet().await;
        let id = d.session_id();
        let tag = d.trace_base();
        assert_eq!(
            d.cmd("MAIL FROM:<Joe@Example.ORG>").await,
            "250 2.1.0 <joe@example.org>... Sender OK"
        );
        assert_eq!(
            d.cmd("RCPT TO:<Ann@X.test>").await,
            "250 2.1.5 <ann@x.test>... Recipient OK"
        );
        assert_eq!(d.cmd("DATA").await, "354 End data with <CR><LF>.<CR><LF>");
        d.send(
            b"Subject: dots\r\n\r\n..leading dot\r\n...\r\n..\r\n\r\nend .\r\n\
              . \r\n.\r\n",
        )
        .await;
        assert_eq!(d.reply().await, format!("250 2.0.0 Ok: queued as {tag}.1"));

        let calls = d.policy.calls();
        let hooks: Vec<Hook> = calls.iter().map(|c| c.hook).collect();
        assert_eq!(hooks, [Hook::Mail, Hook::Rcpt, Hook::Data]);
        assert!(calls.iter().all(|c| c.session == id));
        assert_eq!(calls[0].line, "mail from:<joe@example.org>");
        assert_eq!(calls[1].recipients, ["ann@x.test"]);
        let data = &calls[2];
        assert_eq!(data.from.as_deref(), Some("joe@example.org"));
        assert_eq!(data.recipients, ["ann@x.test"]);
        let message = data.message.as_deref().unwrap();
        let header = format!(
            "Received: from client.test (unknown [127.0.0.1])\r\n\tby mx.test (nssmtpd {}) \
             with ESMTP id {tag}.1\r\n\tfor <ann@x.test>; ",
            nssmtpd::VERSION
        );
        assert!(
            message.starts_with(header.as_bytes()),
            "{}",
            String::from_utf8_lossy(message)
        );
        assert_eq!(
            String::from_utf8_lossy(body_of(message)),
            "Subject: dots\r\n\r\n.leading dot\r\n..\r\n.\r\n\r\nend .\r\n \r\n"
        );
        assert_eq!(d.stat("messages_accepted"), 1);
        assert_eq!(d.stat("recipients_accepted"), 1);
        assert_eq!(d.stat("errors_protocol"), 0);

        // The next transaction starts clean and gets the next id.
        assert_eq!(d.cmd("MAIL FROM:<>").await, "250 2.1.0 <<>>... Sender OK");
        d.cmd("RCPT TO:<postmaster>").await;
        d.cmd("DATA").await;
        d.send(b".\r\n").await;
        assert_eq!(d.reply().await, format!("250 2.0.0 Ok: queued as {tag}.2"));
        let second = &d.data_calls()[1];
        assert_eq!(second.from.as_deref(), Some("<>"));
        assert_eq!(second.recipients, ["postmaster"]);
        assert_eq!(body_of(second.message.as_deref().unwrap()), b"");
        d.finish().await;
    })
}

#[test]
fn pipelined_transaction_in_one_write() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        let tag = d.trace_base();
        d.send(b"MAIL FROM:<a@b.test>\r\nRCPT TO:<c@x.test>\r\nRCPT TO:<d@x.test>\r\nDATA\r\n")
            .await;
        assert_eq!(d.reply().await, "250 2.1.0 <a@b.test>... Sender OK");
        assert_eq!(d.reply().await, "250 2.1.5 <c@x.test>... Recipient OK");
        assert_eq!(d.reply().await, "250 2.1.5 <d@x.test>... Recipient OK");
        assert_eq!(d.reply().await, "354 End data with <CR><LF>.<CR><LF>");
        // The end of the message and the next commands in one write as well.
        d.send(b"hello\r\n.\r\nRSET\r\nNOOP\r\n").await;
        assert_eq!(d.reply().await, format!("250 2.0.0 Ok: queued as {tag}.1"));
        assert_eq!(d.reply().await, "250 2.0.0 Reset OK");
        assert_eq!(d.reply().await, "250 2.0.0 OK");
        let data = d.data_calls();
        assert_eq!(data.len(), 1);
        assert_eq!(data[0].recipients, ["c@x.test", "d@x.test"]);
        assert_eq!(body_of(data[0].message.as_deref().unwrap()), b"hello\r\n");
        d.finish().await;
    })
}

#[test]
fn rcpt_refused_by_the_policy_is_dropped() {
    run(async {
        let mut d = Setup::new()
            .rules(vec![
                rcpt_refusal("nobody", "550 5.1.1 <nobody@x.test>... User unknown"),
                Rule::new(Hook::Data, Action::Accept),
            ])
            .start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        assert_eq!(
            d.cmd("RCPT TO:<ann@x.test>").await,
            "250 2.1.5 <ann@x.test>... Recipient OK"
        );
        assert_eq!(
            d.cmd("RCPT TO:<nobody@x.test>").await,
            "550 5.1.1 <nobody@x.test>... User unknown"
        );
        assert_eq!(
            d.cmd("RCPT TO:<bob@x.test>").await,
            "250 2.1.5 <bob@x.test>... Recipient OK"
        );
        assert_eq!(d.cmd("DATA").await, "354 End data with <CR><LF>.<CR><LF>");
        d.send(b"x\r\n.\r\n").await;
        assert!(d.reply().await.starts_with("250 2.0.0 Ok: queued as "));
        assert_eq!(d.data_calls()[0].recipients, ["ann@x.test", "bob@x.test"]);
        assert_eq!(d.stat("recipients_accepted"), 2);
        assert_eq!(d.stat("recipients_rejected"), 1);
        d.finish().await;
    })
}

#[test]
fn relaying_needs_a_relay_domain_or_a_local_client() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        assert_eq!(
            d.cmd("RCPT TO:<u@elsewhere.test>").await,
            "550 5.7.1 <u@elsewhere.test>... Relaying denied"
        );
        assert_eq!(d.cmd("DATA").await, "503 5.5.1 Need RCPT (recipient)");
        d.finish().await;

        let mut d = Setup::new().local().start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        assert_eq!(
            d.cmd("RCPT TO:<u@elsewhere.test>").await,
            "250 2.1.5 <u@elsewhere.test>... Recipient OK"
        );
        d.finish().await;
    })
}

#[test]
fn policy_replies_pass_through_for_every_hook() {
    run(async {
        let mut d = Setup::new()
            .rules(vec![
                Rule::new(Hook::Helo, Action::Reply("250 welcome, friend".into()))
                    .when_line("friend"),
                Rule::new(Hook::Helo, Action::Accept),
                Rule::new(Hook::Mail, Action::Reply("553 5.7.1 not you".into()))
                    .when_line("spammer"),
                Rule::new(Hook::Mail, Action::Accept),
                Rule::new(Hook::Data, Action::Reply("554 5.7.1 no thanks".into())),
            ])
            .start();
        d.reply().await;
        assert_eq!(d.cmd("EHLO friend.test").await, "250 welcome, friend");
        assert_eq!(
            d.cmd("MAIL FROM:<Spammer@b.test>").await,
            "553 5.7.1 not you"
        );
        // A refused MAIL opens no transaction.
        assert_eq!(
            d.cmd("RCPT TO:<a@x.test>").await,
            "503 5.5.1 Need MAIL before RCPT"
        );
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<a@x.test>").await;
        d.cmd("DATA").await;
        d.send(b"spam\r\n.\r\n").await;
        assert_eq!(d.reply().await, "554 5.7.1 no thanks");
        assert_eq!(d.stat("messages_rejected"), 1);
        assert_eq!(d.stat("messages_accepted"), 0);
        d.finish().await;
    })
}

#[test]
fn callback_failure_is_451() {
    run(async {
        let mut d = Setup::new()
            .rules(vec![
                Rule::new(Hook::Rcpt, Action::Fail).when_rcpt("broken"),
                Rule::new(Hook::Rcpt, Action::Reply("not a reply".into())).when_rcpt("invalid"),
                Rule::new(Hook::Rcpt, Action::Accept),
                Rule::new(Hook::Data, Action::Fail),
            ])
            .start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        assert_eq!(
            d.cmd("RCPT TO:<broken@x.test>").await,
            "451 4.3.0 Internal error, try again later"
        );
        // A reply text without a code is the callback's mistake, answered the same way.
        assert_eq!(
            d.cmd("RCPT TO:<invalid@x.test>").await,
            "451 4.3.0 Internal error, try again later"
        );
        assert_eq!(
            d.cmd("RCPT TO:<fine@x.test>").await,
            "250 2.1.5 <fine@x.test>... Recipient OK"
        );
        d.cmd("DATA").await;
        d.send(b"x\r\n.\r\n").await;
        assert_eq!(d.reply().await, "451 4.3.0 Internal error, try again later");
        assert_eq!(d.stat("errors_callback"), 2);
        assert_eq!(d.data_calls()[0].recipients, ["fine@x.test"]);
        // The session goes on.
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        d.finish().await;
    })
}

#[test]
fn callback_without_an_answer_times_out_with_451() {
    run(async {
        let mut d = Setup::new()
            .rules(vec![Rule::new(Hook::Mail, Action::Hang)])
            .set("callbacktimeout", "1")
            .start();
        d.greet().await;
        assert_eq!(
            d.cmd("MAIL FROM:<a@b.test>").await,
            "451 4.3.0 Internal error, try again later"
        );
        assert_eq!(d.stat("errors_callback"), 1);
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        d.finish().await;
    })
}

#[test]
fn rset_forgets_the_transaction() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<c@x.test>").await;
        assert_eq!(d.cmd("RSET").await, "250 2.0.0 Reset OK");
        assert_eq!(d.cmd("DATA").await, "503 5.5.1 Need MAIL command");
        assert_eq!(
            d.cmd("RCPT TO:<c@x.test>").await,
            "503 5.5.1 Need MAIL before RCPT"
        );
        // RSET outside a transaction is fine too.
        assert_eq!(d.cmd("RSET").await, "250 2.0.0 Reset OK");
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<e@x.test>").await;
        d.cmd("DATA").await;
        d.send(b"x\r\n.\r\n").await;
        d.reply().await;
        assert_eq!(d.data_calls()[0].recipients, ["e@x.test"]);
        d.finish().await;
    })
}

#[test]
fn commands_out_of_order() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        assert_eq!(
            d.cmd("RCPT TO:<c@x.test>").await,
            "503 5.5.1 Need MAIL before RCPT"
        );
        assert_eq!(d.cmd("DATA").await, "503 5.5.1 Need MAIL command");
        d.cmd("MAIL FROM:<a@b.test>").await;
        assert_eq!(d.cmd("DATA").await, "503 5.5.1 Need RCPT (recipient)");
        assert_eq!(
            d.cmd("MAIL FROM:<a@b.test>").await,
            "503 5.5.1 Error: nested MAIL command"
        );
        assert_eq!(d.cmd("STARTTLS").await, "502 5.5.1 STARTTLS not available");
        assert_eq!(d.cmd("AUTH PLAIN").await, "502 5.5.1 AUTH not available");
        assert_eq!(d.cmd("XYZZY").await, "500 5.5.2 Command unrecognized");
        assert_eq!(
            d.cmd("LHLO client.test").await,
            "500 5.5.2 Command unrecognized"
        );
        assert_eq!(d.stat("errors_protocol"), 8);
        assert!(d.data_calls().is_empty());
        d.finish().await;
    })
}

#[test]
fn bdat_chunks() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        let tag = d.trace_base();
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<c@x.test>").await;
        // A chunk's bytes are data, commands and dots included.
        let first = b"Subject: chunks\r\n\r\n.RSET\r\n";
        d.send(format!("BDAT {}\r\n", first.len()).as_bytes()).await;
        d.send(first).await;
        assert_eq!(
            d.reply().await,
            format!("250 2.0.0 {} octets received", first.len())
        );
        // Command and chunk in one write, a chunk split across writes.
        d.send(b"BDAT 10\r\nQUIT\r\n").await;
        d.send(b"tail").await;
        assert_eq!(d.reply().await, "250 2.0.0 10 octets received");
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        assert_eq!(
            d.cmd("BDAT 0 LAST").await,
            format!("250 2.0.0 Ok: queued as {tag}.1")
        );
        let data = d.data_calls();
        assert_eq!(data.len(), 1);
        // The last line gets its CRLF.
        assert_eq!(
            String::from_utf8_lossy(body_of(data[0].message.as_deref().unwrap())),
            "Subject: chunks\r\n\r\n.RSET\r\nQUIT\r\ntail\r\n"
        );
        let received = String::from_utf8_lossy(data[0].message.as_deref().unwrap()).into_owned();
        assert!(received.contains(&format!("with ESMTP id {tag}.1\r\n")));

        // One chunk with LAST is a whole message.
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<c@x.test>").await;
        d.send(b"BDAT 5 LAST\r\nshort").await;
        assert_eq!(d.reply().await, format!("250 2.0.0 Ok: queued as {tag}.2"));
        assert_eq!(
            body_of(d.data_calls()[1].message.as_deref().unwrap()),
            b"short\r\n"
        );
        d.finish().await;
    })
}

#[test]
fn bdat_transfer_abandoned_by_another_command() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<c@x.test>").await;
        d.send(b"BDAT 3\r\nabc").await;
        assert_eq!(d.reply().await, "250 2.0.0 3 octets received");
        assert_eq!(
            d.cmd("DATA").await,
            "503 5.5.1 Bad sequence: BDAT transfer abandoned"
        );
        // The transaction is gone with it.
        assert_eq!(d.cmd("BDAT 0 LAST").await, "503 5.5.1 Need MAIL command");
        assert!(d.data_calls().is_empty());
        d.finish().await;
    })
}

#[test]
fn bdat_out_of_order_swallows_its_chunk() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        // The chunk holds what would be commands; none of them may run.
        d.send(b"BDAT 10\r\nQUIT\r\nRSET").await;
        assert_eq!(d.reply().await, "503 5.5.1 Need MAIL command");
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.send(b"BDAT 6 LAST\r\nQUIT\r\n").await;
        assert_eq!(d.reply().await, "503 5.5.1 Need RCPT (recipient)");
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        // A chunk split over several writes is swallowed whole as well.
        d.send(b"RSET\r\nBDAT 8\r\nQUI").await;
        assert_eq!(d.reply().await, "250 2.0.0 Reset OK");
        d.send(b"T\r\n").await;
        d.send(b"xx").await;
        assert_eq!(d.reply().await, "503 5.5.1 Need MAIL command");
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        assert!(d.data_calls().is_empty());
        d.finish().await;
    })
}

#[test]
fn bdat_syntax_errors() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        assert_eq!(d.cmd("BDAT x").await, "501 5.5.4 Syntax: BDAT size [LAST]");
        assert_eq!(
            d.cmd("BDAT 1 LAST more").await,
            "501 5.5.4 Syntax: BDAT size [LAST]"
        );
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        d.finish().await;
    })
}

#[test]
fn non_ascii_verb_is_unrecognized_and_the_session_goes_on() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        d.send(b"ABC\xc3\xbc\r\n").await;
        assert_eq!(d.reply().await, "500 5.5.2 Command unrecognized");
        d.send(b"\xff\xfe\r\n").await;
        assert_eq!(d.reply().await, "500 5.5.2 Command unrecognized");
        // Non-ASCII in an argument is fine (SMTPUTF8).
        d.send("MAIL FROM:<jörg@b.test> SMTPUTF8\r\n".as_bytes())
            .await;
        assert_eq!(d.reply().await, "250 2.1.0 <jörg@b.test>... Sender OK");
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        d.finish().await;
    })
}

#[test]
fn nul_in_a_command() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        d.send(b"NO\0OP\r\n").await;
        assert_eq!(
            d.reply().await,
            "500 5.5.2 Syntax error: NUL character in command"
        );
        d.send(b"MAIL FROM:<a\0@b.test>\r\n").await;
        assert_eq!(
            d.reply().await,
            "500 5.5.2 Syntax error: NUL character in command"
        );
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        d.finish().await;
    })
}

#[test]
fn overlong_line_is_refused_whole() {
    run(async {
        let mut d = Setup::new().set("maxline", "512").start();
        d.greet().await;
        // 512 bytes with the CR (RFC 5321 counts the CRLF) is still a line; one more is
        // not, and none of it runs as a command.
        let fits = format!("NOOP {}", "x".repeat(506));
        assert_eq!(d.cmd(&fits).await, "250 2.0.0 OK");
        let long = format!("NOOP {}", "x".repeat(507));
        assert_eq!(d.cmd(&long).await, "500 5.5.2 Line too long");
        // Longer than the read buffer, in pieces.
        d.send("y".repeat(10_000).as_bytes()).await;
        d.send("y".repeat(10_000).as_bytes()).await;
        d.send(b"\r\n").await;
        assert_eq!(d.reply().await, "500 5.5.2 Line too long");
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");
        d.finish().await;
    })
}

#[test]
fn too_many_errors_close_with_421() {
    run(async {
        let mut d = Setup::new().set("maxerrors", "3").start();
        d.greet().await;
        assert_eq!(d.cmd("XYZZY").await, "500 5.5.2 Command unrecognized");
        assert_eq!(d.cmd("DATA").await, "503 5.5.1 Need MAIL command");
        assert_eq!(d.cmd("XYZZY").await, "500 5.5.2 Command unrecognized");
        assert_eq!(
            d.reply().await,
            "421 4.7.0 mx.test Too many errors, closing connection"
        );
        d.assert_closed().await;
        assert_eq!(d.stat("errors_protocol"), 3);
        d.finish().await;
    })
}

#[test]
fn bare_line_endings_rejected_or_normalized() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<c@x.test>").await;
        d.cmd("DATA").await;
        // The bare LF before the dot ends nothing (no smuggling); it refuses the message.
        d.send(b"one\n.\nMAIL FROM:<evil@b.test>\r\n.\r\n").await;
        assert_eq!(
            d.reply().await,
            "550 5.6.0 Message contains bare CR or LF; lines must end with CRLF"
        );
        assert!(d.data_calls().is_empty());
        d.finish().await;

        let mut d = Setup::new().set("barelf", "normalize").start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<c@x.test>").await;
        d.cmd("DATA").await;
        d.send(b"one\n.\nthree\rfour\r\n.\r\n").await;
        assert!(d.reply().await.starts_with("250 2.0.0 Ok: queued as "));
        assert_eq!(
            body_of(d.data_calls()[0].message.as_deref().unwrap()),
            b"one\r\n.\r\nthree\r\nfour\r\n"
        );
        d.finish().await;
    })
}

#[test]
fn message_line_too_long() {
    run(async {
        let mut d = Setup::new().set("maxdataline", "10").start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<c@x.test>").await;
        d.cmd("DATA").await;
        d.send(b"0123456789\r\n..23456789\r\n.\r\n").await;
        assert!(d.reply().await.starts_with("250 2.0.0 Ok: queued as "));
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<c@x.test>").await;
        d.cmd("DATA").await;
        d.send(b"0123456789A\r\n.\r\n").await;
        assert_eq!(d.reply().await, "552 5.3.4 Message line too long");
        assert_eq!(d.data_calls().len(), 1);
        d.finish().await;
    })
}

#[test]
fn auth_plain_and_login() {
    run(async {
        let mut d = Setup::new()
            .rules(vec![
                Rule::new(Hook::Auth, Action::Return("1".into())).when_line("auth login"),
                Rule::new(Hook::Auth, Action::Return("0".into())),
            ])
            .set("authwithouttls", "1")
            .start();
        d.greet().await;
        // \0joe\0secret
        assert_eq!(
            d.cmd("AUTH PLAIN AGpvZQBzZWNyZXQ=").await,
            "535 5.7.8 Authentication credentials invalid"
        );
        assert_eq!(d.cmd("AUTH LOGIN").await, "334 VXNlcm5hbWU6");
        assert_eq!(d.cmd("YW5u").await, "334 UGFzc3dvcmQ6");
        assert_eq!(d.cmd("cHc=").await, "235 2.7.0 Authentication successful");
        assert_eq!(d.cmd("AUTH LOGIN").await, "503 5.5.1 Already authenticated");
        let calls = d.policy.calls_of(Hook::Auth);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].extra, ["joe", "secret"]);
        // The callback sees the command without its credentials.
        assert_eq!(calls[0].line, "auth plain");
        assert_eq!(calls[1].extra, ["ann", "pw"]);
        // Authenticated, the client may relay anywhere.
        d.cmd("MAIL FROM:<ann@b.test>").await;
        assert_eq!(
            d.cmd("RCPT TO:<u@elsewhere.test>").await,
            "250 2.1.5 <u@elsewhere.test>... Recipient OK"
        );
        d.finish().await;
    })
}

#[test]
fn auth_cancelled_and_malformed() {
    run(async {
        let mut d = Setup::new()
            .rules(vec![Rule::new(Hook::Auth, Action::Return("1".into()))])
            .set("authwithouttls", "1")
            .start();
        d.greet().await;
        assert_eq!(d.cmd("AUTH PLAIN").await, "334 ");
        assert_eq!(d.cmd("*").await, "501 5.0.0 Authentication cancelled");
        assert_eq!(
            d.cmd("AUTH PLAIN !!!").await,
            "501 5.5.2 Invalid base64 data"
        );
        assert_eq!(
            d.cmd("AUTH CRAM-MD5").await,
            "504 5.5.4 Unrecognized authentication type"
        );
        assert!(d.policy.calls_of(Hook::Auth).is_empty());
        d.finish().await;
    })
}

#[test]
fn lmtp_dialogue() {
    run(async {
        let mut d = Setup::new()
            .mode(Mode::Lmtp)
            .rules(vec![
                rcpt_refusal("nobody", "550 5.1.1 User unknown"),
                Rule::new(Hook::Rcpt, Action::Accept),
                Rule::new(Hook::Data, Action::Reply("452 4.2.2 Mailbox full".into()))
                    .when_rcpt("full"),
                Rule::new(Hook::Data, Action::Accept),
            ])
            .start();
        assert!(d.reply().await.starts_with("220 mx.test "));
        let tag = d.trace_base();
        assert_eq!(
            d.cmd("HELO client.test").await,
            "500 5.5.1 This is LMTP: use LHLO"
        );
        assert_eq!(
            d.cmd("EHLO client.test").await,
            "500 5.5.1 This is LMTP: use LHLO"
        );
        assert!(d
            .cmd("LHLO client.test")
            .await
            .starts_with("250-mx.test\r\n250-PIPELINING\r\n"));
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<one@x.test>").await;
        assert_eq!(
            d.cmd("RCPT TO:<nobody@x.test>").await,
            "550 5.1.1 User unknown"
        );
        d.cmd("RCPT TO:<two@x.test>").await;
        assert_eq!(d.cmd("DATA").await, "354 End data with <CR><LF>.<CR><LF>");
        d.send(b"hi\r\n.\r\n").await;
        // One reply per accepted recipient, in RCPT order.
        assert_eq!(
            d.reply().await,
            format!("250 2.0.0 Ok: queued as {tag}.1 <one@x.test>")
        );
        assert_eq!(
            d.reply().await,
            format!("250 2.0.0 Ok: queued as {tag}.1 <two@x.test>")
        );
        assert_eq!(d.cmd("NOOP").await, "250 2.0.0 OK");

        // A refusal is given for each recipient as well.
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<three@x.test>").await;
        d.cmd("RCPT TO:<full@x.test>").await;
        d.send(b"DATA\r\n").await;
        d.reply().await;
        d.send(b"hi\r\n.\r\n").await;
        assert_eq!(d.reply().await, "452 4.2.2 Mailbox full <three@x.test>");
        assert_eq!(d.reply().await, "452 4.2.2 Mailbox full <full@x.test>");
        let data = d.data_calls();
        assert_eq!(data.len(), 2);
        assert_eq!(data[0].recipients, ["one@x.test", "two@x.test"]);
        let first = String::from_utf8_lossy(data[0].message.as_deref().unwrap()).into_owned();
        assert!(
            first.contains(&format!("with ESMTP id {tag}.1;")),
            "{first}"
        );
        assert_eq!(body_of(data[0].message.as_deref().unwrap()), b"hi\r\n");
        d.finish().await;
    })
}

#[test]
fn lmtp_bdat_replies_per_recipient() {
    run(async {
        let mut d = Setup::new().mode(Mode::Lmtp).start();
        d.reply().await;
        let tag = d.trace_base();
        d.cmd("LHLO client.test").await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<one@x.test>").await;
        d.cmd("RCPT TO:<two@x.test>").await;
        d.send(b"BDAT 4 LAST\r\nhi\r\n").await;
        assert_eq!(
            d.reply().await,
            format!("250 2.0.0 Ok: queued as {tag}.1 <one@x.test>")
        );
        assert_eq!(
            d.reply().await,
            format!("250 2.0.0 Ok: queued as {tag}.1 <two@x.test>")
        );
        d.finish().await;
    })
}

#[test]
fn quit_says_bye_and_closes() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<c@x.test>").await;
        assert_eq!(d.cmd("QUIT").await, "221 2.0.0 mx.test Bye");
        d.assert_closed().await;
        assert!(d.data_calls().is_empty());
        d.finish().await;

        // Commands after QUIT in the same write are never run (a local client may send
        // them ahead).
        let mut d = Setup::new().local().start();
        d.greet().await;
        d.send(b"QUIT\r\nNOOP\r\n").await;
        assert_eq!(d.reply().await, "221 2.0.0 mx.test Bye");
        d.assert_closed().await;
        assert!(d.data_calls().is_empty());
        d.finish().await;
    })
}

#[test]
fn client_gone_mid_message_keeps_nothing() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        d.cmd("MAIL FROM:<a@b.test>").await;
        d.cmd("RCPT TO:<c@x.test>").await;
        d.cmd("DATA").await;
        d.send(b"half a message\r\n").await;
        let policy = d.policy.clone();
        d.finish().await;
        assert!(policy.calls_of(Hook::Data).is_empty());
    })
}

#[test]
fn read_timeout_closes_with_421() {
    run(async {
        let mut d = Setup::new().set("readtimeout", "1").start();
        d.greet().await;
        d.send(b"NOO").await;
        assert_eq!(d.reply().await, "421 4.4.2 mx.test Error: timeout exceeded");
        d.assert_closed().await;
        assert_eq!(d.stat("errors_timeout"), 1);
        d.finish().await;
    })
}

#[test]
fn help_vrfy_expn() {
    run(async {
        let mut d = Setup::new().start();
        d.greet().await;
        assert_eq!(
            d.cmd("HELP").await,
            format!(
                "214-2.0.0 This is nssmtpd version {}\r\n214-2.0.0 Supported commands:\r\n\
                 214-2.0.0  HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY\r\n\
                 214 2.0.0 End of HELP info",
                nssmtpd::VERSION
            )
        );
        assert_eq!(
            d.cmd("VRFY someone").await,
            "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery"
        );
        assert_eq!(d.cmd("EXPN list").await, "502 5.5.1 EXPN not available");
        d.finish().await;
    })
}
