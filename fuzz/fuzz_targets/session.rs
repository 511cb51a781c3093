//! The whole session (src/io/session): a real `Session` over an in-memory stream, asked by
//! the Rust policy (`ScriptedPolicy`), on a current-thread runtime with tokio's paused clock
//! (timeouts cost nothing: the clock jumps when every task waits).
//!
//! Input: byte 0 picks raw or scripted input, SMTP or LMTP, `barelf`, `maxline`,
//! `maxdataline`, whether the client is `local`, and AUTH without TLS; bytes 1-3 the policy's
//! answers per hook (accept, a refusal, a `250` of its own, an invalid reply, an error, no
//! answer at all), each optionally only for lines or recipients containing `bad`,
//! `maxerrors` and `allownul`; byte 4 how writes are cut into pieces (`nssmtpd_fuzz::chunks`). Then:
//! - raw: the bytes the client sends, as they are;
//! - scripted: steps from a fixed vocabulary (greetings, MAIL and RCPT with chosen or fuzzed
//!   paths, DATA with a body the harness dot-stuffs itself, BDAT chunks, a pipelined
//!   transaction, AUTH exchanges, RSET, NOOP, QUIT, lines with fuzzed arguments, a client
//!   that stalls), each read up to the server's silence before the next.
//!
//! Checks:
//! - no panic: libFuzzer aborts on any, and the session's own catch counts in
//!   `errors_internal`, which must stay 0;
//! - the session ends once the client has hung up, within a bound of (virtual) time;
//! - every reply line is `ddd`, then `-`, a blank or nothing, and CRLF; the lines of a
//!   multi-line reply share their code; nothing is left unterminated at the close;
//! - raw: every `250 ... queued as ID` belongs to a message the policy was handed under that
//!   id and accepted, and every message it accepted was answered so; `messages_accepted`
//!   counts the messages the policy accepted;
//! - scripted: each pipelined command gets exactly one reply; after the end of each message
//!   the reply (one per recipient under LMTP) is what the message and the policy call for —
//!   `550 5.6.0` for a bare line ending under `barelf reject`, `552 5.3.4` for a line over
//!   `maxdataline`, `550 5.6.0` for a NUL without `allownul`, else the policy's answer — and the policy was handed exactly the body the
//!   harness meant (after the `Received:` header), with the sender and the recipients the
//!   server had accepted; no message is handed on anywhere else.
#![no_main]
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use nssmtpd::config::ServerConfig;
use nssmtpd::core::localnet::Network;
use nssmtpd::core::relaydomains::parse_entry;
use nssmtpd::io::policy::{Action, Hook, Rule, ScriptedPolicy};
use nssmtpd::io::session;
use nssmtpd::io::shared::{Lists, Mode, ServerShared, Shutdown};
use nssmtpd::log::{LogSink, Severity};
use nssmtpd_fuzz::chunks;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

/// The callback timeout (the shortest the option allows).
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(1);
/// The server's read timeout: a client silent this long is closed with `421`.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Silence that means the server has answered everything and waits for the client: longer
/// than the waits of one step together (a pipelined group has up to four callbacks, and the
/// server holds its replies while lines are waiting; a failed AUTH waits up to 2 s), shorter
/// than the read timeout.
const IDLE: Duration = Duration::from_secs(5);

const BARE: &str = "550 5.6.0 Message contains bare CR or LF; lines must end with CRLF";
const LINE_TOO_LONG: &str = "552 5.3.4 Message line too long";
const NUL: &str = "550 5.6.0 Message contains NUL characters";
const CALLBACK_FAILED: &str = "451 4.3.0 Internal error, try again later";
const ABANDONED: &str = "503 5.5.1 Bad sequence: BDAT transfer abandoned";
const QUEUED: &str = "250 2.0.0 Ok: queued as ";

/// `SESSION_TRACE=1` prints what the client sends and reads (to replay a crash).
static TRACE: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("SESSION_TRACE").is_some());

thread_local! {
    static STARTED: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

fn trace(what: &str, bytes: &[u8]) {
    if *TRACE {
        let at = STARTED
            .with(|s| s.get())
            .map(|s| s.elapsed())
            .unwrap_or_default();
        eprintln!("{at:>8.3?} {what} {:?}", String::from_utf8_lossy(bytes));
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    static QUIET: Once = Once::new();
    QUIET.call_once(|| nssmtpd::log::set_sink(Arc::new(Quiet)));
    let setup = Setup::decode(&data[..5]);
    let input = &data[5..];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        STARTED.with(|s| s.set(Some(Instant::now())));
        if setup.scripted {
            scripted(&setup, input).await
        } else {
            raw(&setup, input).await
        }
    });
});

struct Quiet;

impl LogSink for Quiet {
    fn write(&self, _: Severity, _: &str) {}
}

/// The server and the policy an input asks for.
struct Setup {
    scripted: bool,
    mode: Mode,
    normalize: bool,
    maxdataline: usize,
    allownul: bool,
    local: bool,
    seed: u8,
    rules: Vec<Rule>,
    config: ServerConfig,
}

/// What a policy answers, by three bits.
fn action(bits: u8) -> Action {
    match bits & 7 {
        0 | 1 => Action::Accept,
        2 => Action::Reply("550 5.7.1 scripted refusal".into()),
        3 => Action::Reply("451 4.7.1 scripted later".into()),
        4 => Action::Fail,
        5 => Action::Hang,
        6 => Action::Reply("250 2.0.0 scripted ok".into()),
        _ => Action::Reply("not a reply".into()),
    }
}

/// The rules for one hook: the action for everything, or only where `bad` appears.
fn rules_for(hook: Hook, bits: u8, keyed: bool, by_rcpt: bool, rules: &mut Vec<Rule>) {
    let rule = Rule::new(hook, action(bits));
    match (keyed, by_rcpt) {
        (false, _) => rules.push(rule),
        (true, true) => rules.push(rule.when_rcpt("bad")),
        (true, false) => rules.push(rule.when_line("bad")),
    }
    rules.push(Rule::new(hook, Action::Accept));
}

impl Setup {
    fn decode(head: &[u8]) -> Setup {
        let (b0, b1, b2, b3) = (head[0], head[1], head[2], head[3]);
        let mut rules = Vec::new();
        // dataproc is always there: every message handed on is recorded.
        rules_for(Hook::Data, b1, b1 & 8 != 0, true, &mut rules);
        rules_for(Hook::Rcpt, b1 >> 4, b1 & 0x80 != 0, true, &mut rules);
        rules_for(Hook::Mail, b2, b2 & 8 != 0, false, &mut rules);
        if b2 & 0x80 != 0 {
            rules_for(Hook::Helo, b2 >> 4, true, false, &mut rules);
        }
        if b3 & 4 != 0 {
            let result = match b3 & 3 {
                0 => Action::Return("1".into()),
                1 => Action::Return("0".into()),
                2 => Action::Fail,
                _ => Action::Hang,
            };
            rules.push(Rule::new(Hook::Auth, result).when_line("auth"));
        }
        let maxdataline = [0, 16, 78, 998][usize::from(b0 >> 5) & 3];
        let mut config = ServerConfig {
            hostname: "mx.test".into(),
            debug: 0,
            ..Default::default()
        };
        let set = |config: &mut ServerConfig, name: &str, value: &str| {
            config.set(name, value).unwrap();
        };
        set(
            &mut config,
            "readtimeout",
            &READ_TIMEOUT.as_secs().to_string(),
        );
        set(&mut config, "writetimeout", "10");
        set(&mut config, "callbacktimeout", "1");
        set(&mut config, "sessiontimeout", "86400");
        // A failed AUTH is answered later each time: kept below IDLE.
        set(&mut config, "authfaildelay", "500");
        set(&mut config, "authfaildelaymax", "2000");
        let normalize = b0 & 4 != 0;
        set(
            &mut config,
            "barelf",
            if normalize { "normalize" } else { "reject" },
        );
        if b0 & 8 != 0 {
            set(&mut config, "maxline", "512");
        }
        set(&mut config, "maxdataline", &maxdataline.to_string());
        set(&mut config, "maxdata", "65536");
        let maxerrors = ["20", "1", "3", "1000000"][usize::from(b3 >> 3) & 3];
        set(&mut config, "maxerrors", maxerrors);
        if b0 & 0x80 != 0 {
            set(&mut config, "authwithouttls", "1");
        }
        let allownul = b3 & 0x20 != 0;
        set(&mut config, "allownul", if allownul { "1" } else { "0" });
        Setup {
            scripted: b0 & 1 != 0,
            mode: if b0 & 2 != 0 { Mode::Lmtp } else { Mode::Smtp },
            normalize,
            maxdataline,
            allownul,
            local: b0 & 0x10 != 0,
            seed: head[4],
            rules,
            config,
        }
    }
}

/// One reply: its code and its lines joined by CRLF (without the last).
#[derive(Debug, Clone)]
struct Reply {
    code: u16,
    text: String,
}

/// Takes the complete replies off the front of `buf`, checking every line.
fn parse_replies(buf: &mut Vec<u8>) -> Vec<Reply> {
    let mut replies = Vec::new();
    let mut start = 0;
    let mut reply_start = 0;
    let mut code: Option<&[u8]> = None;
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
        if let Some(c) = code {
            assert_eq!(
                c,
                &line[..3],
                "a multi-line reply changes its code: {:?}",
                String::from_utf8_lossy(&buf[reply_start..start + i])
            );
        }
        code = Some(&line[..3]);
        start += i + 2;
        if line.get(3) != Some(&b'-') {
            let text = String::from_utf8_lossy(&buf[reply_start..start - 2]).into_owned();
            let n: u16 = std::str::from_utf8(&line[..3]).unwrap().parse().unwrap();
            replies.push(Reply { code: n, text });
            reply_start = start;
            code = None;
        }
    }
    buf.drain(..reply_start);
    replies
}

/// A session under test: the client's halves of the stream, the server's state.
struct Harness {
    rd: ReadHalf<DuplexStream>,
    wr: WriteHalf<DuplexStream>,
    shared: Arc<ServerShared>,
    policy: Arc<ScriptedPolicy>,
    session: Option<JoinHandle<()>>,
    _stop: watch::Sender<Shutdown>,
    /// Reply bytes not yet parsed.
    buf: Vec<u8>,
    /// The server closed the connection.
    eof: bool,
    /// When the server last said something: it has waited for the next line since.
    last_heard: Instant,
}

impl Harness {
    fn start(setup: &Setup) -> Harness {
        let lists = Arc::new(Lists::default());
        lists
            .relay_domains
            .write()
            .unwrap()
            .add(parse_entry("x.test").unwrap());
        if setup.local {
            lists
                .local_nets
                .write()
                .unwrap()
                .add(Network::host("127.0.0.1".parse().unwrap()));
        }
        let policy = Arc::new(ScriptedPolicy::new(setup.rules.clone()));
        let (shared, stop) =
            ServerShared::new(setup.config.clone(), lists, policy.clone()).unwrap();
        let (client, server) = tokio::io::duplex(1 << 20);
        let session = tokio::spawn(session::run(
            Box::new(server),
            "127.0.0.1:40000".parse().unwrap(),
            shared.clone(),
            setup.mode,
        ));
        let (rd, wr) = tokio::io::split(client);
        Harness {
            rd,
            wr,
            shared,
            policy,
            session: Some(session),
            _stop: stop,
            buf: Vec::new(),
            eof: false,
            last_heard: Instant::now(),
        }
    }

    /// Writes `bytes` in pieces, letting the server run between them.
    async fn send(&mut self, bytes: &[u8], seed: u8) {
        trace(">>>", bytes);
        for piece in chunks(bytes, seed) {
            if self.wr.write_all(piece).await.is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    /// Reads until the server falls silent (or closes); the complete replies.
    async fn replies(&mut self) -> Vec<Reply> {
        let mut tmp = vec![0u8; 16 * 1024];
        while !self.eof {
            match timeout(IDLE, self.rd.read(&mut tmp)).await {
                Ok(Ok(0)) | Ok(Err(_)) => self.eof = true,
                Ok(Ok(n)) => {
                    self.buf.extend_from_slice(&tmp[..n]);
                    self.last_heard = Instant::now();
                }
                Err(_) => break,
            }
        }
        let replies = parse_replies(&mut self.buf);
        for r in &replies {
            trace("<<<", r.text.as_bytes());
        }
        if self.eof {
            trace("<<< (closed)", b"");
            assert!(
                self.buf.is_empty(),
                "unterminated reply at the close: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
        replies
    }

    /// The client hangs up; the session must close and end within `bound`, without an
    /// internal error. Returns what the server still said.
    async fn hang_up(&mut self, bound: Duration) -> Vec<u8> {
        let _ = self.wr.shutdown().await;
        let mut rest = Vec::new();
        let drained = timeout(bound, self.rd.read_to_end(&mut rest)).await;
        assert!(
            drained.is_ok(),
            "the session did not close within {bound:?} after the client left"
        );
        self.end(bound).await;
        rest
    }

    async fn end(&mut self, bound: Duration) {
        let session = self.session.take().unwrap();
        let ended = timeout(bound, session).await;
        assert!(
            ended.is_ok(),
            "the session task did not end within {bound:?}"
        );
        ended.unwrap().expect("the session task failed");
        assert_eq!(
            self.shared.stats.get("errors_internal"),
            Some(0),
            "the session caught a panic"
        );
    }
}

// Raw input.

async fn raw(setup: &Setup, input: &[u8]) {
    let mut h = Harness::start(setup);
    // Each line may wait for a callback that never answers.
    let lines = input.iter().filter(|&&b| b == b'\n').count() as u64;
    let bound = (CALLBACK_TIMEOUT + Duration::from_secs(1)) * (lines as u32 + 2) + READ_TIMEOUT;
    let (rd, wr) = (&mut h.rd, &mut h.wr);
    let writer = async {
        for piece in chunks(input, setup.seed) {
            if wr.write_all(piece).await.is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
        let _ = wr.shutdown().await;
    };
    let reader = async {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    let both = timeout(bound, async { tokio::join!(writer, reader) }).await;
    let Ok(((), mut out)) = both else {
        panic!("the session did not close within {bound:?} after the client left");
    };
    h.end(bound).await;
    trace(">>>", input);
    trace("<<<", &out);

    let replies = parse_replies(&mut out);
    assert!(
        out.is_empty(),
        "unterminated reply at the close: {:?}",
        String::from_utf8_lossy(&out)
    );
    // Messages answered as queued, and messages the policy accepted: the same ids.
    let mut answered: Vec<String> = replies
        .iter()
        .flat_map(|r| r.text.split("\r\n"))
        .filter_map(|line| line.strip_prefix(QUEUED))
        .map(|rest| rest.split(' ').next().unwrap_or("").to_string())
        .collect();
    answered.dedup();
    let data = h.policy.calls_of(Hook::Data);
    let accepted: Vec<String> = data
        .iter()
        .filter(|c| c.action == Action::Accept)
        .map(|c| split_received(c.message.as_deref().unwrap()).0)
        .collect();
    assert_eq!(answered, accepted, "queued replies and accepted messages");
    let positive = data
        .iter()
        .filter(|c| match &c.action {
            Action::Accept => true,
            Action::Reply(t) => t.starts_with('2'),
            _ => false,
        })
        .count() as u64;
    assert_eq!(
        h.shared.stats.get("messages_accepted"),
        Some(positive),
        "messages_accepted"
    );
}

/// A handed-on message: the id in our `Received:` header, and what follows the header. The
/// header ends with its date, the only `+0000` at a line end.
fn split_received(message: &[u8]) -> (String, &[u8]) {
    assert!(
        message.starts_with(b"Received: from "),
        "no trace header: {:?}",
        String::from_utf8_lossy(message)
    );
    let end = message
        .windows(7)
        .position(|w| w == b"+0000\r\n")
        .expect("the trace header ends with its date")
        + 7;
    let header = String::from_utf8_lossy(&message[..end]);
    let id = header
        .split(" id ")
        .nth(1)
        .and_then(|rest| rest.split([';', '\r']).next())
        .expect("the trace header has an id")
        .to_string();
    (id, &message[end..])
}

// Scripted input.

/// Reads the steps off the input.
struct Script<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Script<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = self.data.get(self.pos).copied();
        self.pos += 1;
        b
    }

    fn pick<T: Copy>(&mut self, list: &[T]) -> T {
        list[usize::from(self.byte().unwrap_or(0)) % list.len()]
    }

    /// Up to `n` bytes (fewer at the end of the input).
    fn take(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.pos = end.max(self.pos);
        &self.data[start..end]
    }

    /// A length: one byte, or two more after 255.
    fn len(&mut self) -> usize {
        match self.byte().unwrap_or(0) {
            255 => {
                let lo = usize::from(self.byte().unwrap_or(0));
                let hi = usize::from(self.byte().unwrap_or(0));
                (hi << 8 | lo) % 8192
            }
            n => usize::from(n),
        }
    }

    /// Bytes for a command argument: no line ending in them.
    fn argument(&mut self) -> String {
        let n = self.len();
        let bytes: Vec<u8> = self
            .take(n)
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn address(&mut self) -> String {
        match self.byte().unwrap_or(0) % 12 {
            11 => self.argument(),
            i => ADDRESSES[usize::from(i)].to_string(),
        }
    }
}

const HELO_NAMES: &[&str] = &[
    "client.test",
    "[127.0.0.1]",
    "bad.test",
    "",
    "two words",
    "ü.test",
];
const ADDRESSES: &[&str] = &[
    "a@x.test",
    "bad@x.test",
    "B@X.Test",
    "c@y.test",
    "postmaster",
    "",
    "\"q u\"@x.test",
    "jörg@x.test",
    "noat",
    "a@b@x.test",
    "bad@y.test",
];
const MAIL_PARAMS: &[&str] = &[
    "",
    "",
    " SIZE=100",
    " BODY=8BITMIME",
    " SMTPUTF8",
    " SIZE=99999999999",
    " FOO=bar",
    " AUTH=<>",
];
const USERS: &[&str] = &["ann", "bad", "", "a\u{0}b"];
const FUZZED_VERBS: &[(&str, Kind)] = &[
    ("MAIL FROM:", Kind::Mail),
    ("RCPT TO:", Kind::Rcpt),
    ("EHLO ", Kind::Helo),
    ("HELO ", Kind::Helo),
    ("LHLO ", Kind::Helo),
    ("VRFY ", Kind::Other),
    ("EXPN ", Kind::Other),
    ("AUTH ", Kind::Other),
    ("NOOP ", Kind::Other),
    ("HELP ", Kind::Other),
    ("STARTTLS ", Kind::Other),
    ("RSET ", Kind::Rset),
    ("QUIT ", Kind::Other),
    ("X", Kind::Other),
];

/// What a command can change in the transaction (judged by its reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Helo,
    Mail,
    Rcpt,
    Rset,
    Other,
}

/// What the client knows of the transaction from the replies it got.
#[derive(Default)]
struct Transaction {
    /// Recipients accepted since the last accepted MAIL, in order, by the address the
    /// default reply names (`None` when the policy gave its own reply).
    recipients: Vec<Option<String>>,
    /// BDAT chunks accepted so far.
    chunks: Vec<u8>,
}

impl Transaction {
    fn reset(&mut self) {
        self.recipients.clear();
        self.chunks.clear();
    }

    /// Follows a command's reply.
    fn follow(&mut self, kind: Kind, reply: &Reply) {
        if reply.text == ABANDONED {
            self.reset();
            return;
        }
        let positive = reply.code < 400;
        match kind {
            // Refused before it ran (order, syntax, a bad line): nothing changes. Otherwise a
            // greeting starts over, whatever the policy said.
            Kind::Helo if !matches!(reply.code, 500 | 501 | 503) => self.reset(),
            Kind::Mail if positive => self.reset(),
            Kind::Rcpt if positive => {
                let named = reply
                    .text
                    .strip_prefix("250 2.1.5 <")
                    .and_then(|r| r.strip_suffix(">... Recipient OK"))
                    .map(str::to_string);
                self.recipients.push(named);
            }
            Kind::Rset if reply.text == "250 2.0.0 Reset OK" => self.reset(),
            _ => {}
        }
    }
}

/// The message as the server must store it, and why it must refuse it.
struct Expected {
    stored: Vec<u8>,
    bare: bool,
    line_too_long: bool,
}

/// Stores `content` the way `barelf normalize` does: a CR or LF that is not part of a CRLF
/// becomes one. Also says whether there was such a bare one.
fn normalize(content: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(content.len() + 8);
    let mut bare = false;
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'\r' if content.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => {
                bare = true;
                out.extend_from_slice(b"\r\n");
            }
            b => out.push(b),
        }
        i += 1;
    }
    (out, bare)
}

/// Ends a last line that has no CRLF.
fn terminate(mut content: Vec<u8>) -> Vec<u8> {
    if !content.is_empty() && !content.ends_with(b"\r\n") {
        content.extend_from_slice(b"\r\n");
    }
    content
}

impl Expected {
    fn new(stored: Vec<u8>, bare: bool, maxdataline: usize) -> Expected {
        let line_too_long = maxdataline > 0
            && stored
                .split(|&b| b == b'\n')
                .any(|line| line.strip_suffix(b"\r").unwrap_or(line).len() > maxdataline);
        Expected {
            stored,
            bare,
            line_too_long,
        }
    }

    /// A DATA body: the harness ends its last line, so the content is what is stored.
    fn data(content: &[u8], maxdataline: usize) -> Expected {
        let (stored, bare) = normalize(&terminate(content.to_vec()));
        Expected::new(stored, bare, maxdataline)
    }

    /// BDAT chunks: stored as they are; the server ends a last line without CRLF.
    fn bdat(content: &[u8], maxdataline: usize) -> Expected {
        let (normalized, bare) = normalize(content);
        Expected::new(terminate(normalized), bare, maxdataline)
    }
}

/// The wire form of a DATA body: a dot starting a line (after a CRLF) is doubled, the last
/// line ended, and the end marker added.
fn dot_stuff(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 16);
    let mut line_start = true;
    for (i, &b) in content.iter().enumerate() {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n' && i > 0 && content[i - 1] == b'\r';
    }
    let mut out = terminate(out);
    out.extend_from_slice(b".\r\n");
    out
}

struct Dialogue<'s> {
    h: Harness,
    setup: &'s Setup,
    tx: Transaction,
    /// Messages handed to the policy so far.
    handed_on: usize,
    /// Messages the server accepted so far.
    accepted: u64,
    step: u8,
}

impl Dialogue<'_> {
    fn seed(&self) -> u8 {
        self.setup.seed.wrapping_add(self.step.wrapping_mul(31))
    }

    /// Sends a command line (CRLF or, now and then, a bare LF) and reads the replies.
    async fn command(&mut self, line: &str, lf_only: bool) -> Vec<Reply> {
        let mut bytes = line.as_bytes().to_vec();
        bytes.extend_from_slice(if lf_only { b"\n" } else { b"\r\n" });
        let seed = self.seed();
        self.h.send(&bytes, seed).await;
        self.h.replies().await
    }

    /// One command with one reply, followed into the transaction.
    async fn simple(&mut self, line: &str, kind: Kind, lf_only: bool) -> Vec<Reply> {
        let replies = self.command(line, lf_only).await;
        self.expect_one(&replies);
        for r in &replies {
            self.tx.follow(kind, r);
        }
        self.no_message_handed_on();
        replies
    }

    /// A command gets one reply, and a last `421` if it closed the session.
    fn expect_one(&self, replies: &[Reply]) {
        let closing = usize::from(self.h.eof && replies.last().is_some_and(|r| r.code == 421));
        if !self.h.eof || replies.len() > closing {
            assert_eq!(
                replies.len() - closing,
                1,
                "one reply per command: {replies:?}"
            );
        }
    }

    fn no_message_handed_on(&self) {
        assert_eq!(
            self.h.policy.calls_of(Hook::Data).len(),
            self.handed_on,
            "a message was handed on outside the end of a message"
        );
    }

    /// The replies at the end of a message (DATA's end or BDAT LAST): what `expected` and
    /// the policy call for, and the policy was handed exactly that message.
    fn message_end(&mut self, mut replies: Vec<Reply>, expected: Expected) {
        if self.h.eof
            && replies
                .last()
                .is_some_and(|r| r.text.starts_with("421 4.7.0 mx.test Too many errors"))
        {
            replies.pop();
        }
        let calls = self.h.policy.calls_of(Hook::Data);
        let new = &calls[self.handed_on..];
        self.handed_on = calls.len();
        let single = if expected.bare && !self.setup.normalize {
            assert!(
                new.is_empty(),
                "a message with a bare line ending was handed on"
            );
            BARE.to_string()
        } else if expected.line_too_long {
            assert!(new.is_empty(), "a message with a long line was handed on");
            LINE_TOO_LONG.to_string()
        } else if expected.stored.contains(&0) && !self.setup.allownul {
            assert!(new.is_empty(), "a message with a NUL was handed on");
            NUL.to_string()
        } else {
            assert_eq!(new.len(), 1, "one message handed on: {replies:?}");
            let call = &new[0];
            let (id, body) = split_received(call.message.as_deref().unwrap());
            assert!(
                body == expected.stored.as_slice(),
                "message handed on differs from the one sent:\n got  {:?}\n sent {:?}",
                String::from_utf8_lossy(body),
                String::from_utf8_lossy(&expected.stored)
            );
            assert!(call.from.is_some(), "a message without a sender");
            assert_eq!(
                call.recipients.len(),
                self.tx.recipients.len(),
                "recipients handed on: {:?}, accepted: {:?}",
                call.recipients,
                self.tx.recipients
            );
            for (got, accepted) in call.recipients.iter().zip(&self.tx.recipients) {
                // The reply showed the address with its control characters as blanks.
                let shown: String = got
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                if let Some(a) = accepted {
                    assert_eq!(&shown, a, "recipient handed on");
                }
            }
            match &call.action {
                Action::Accept => format!("{QUEUED}{id}"),
                Action::Reply(t) if t.as_bytes()[0].is_ascii_digit() => t.clone(),
                _ => CALLBACK_FAILED.to_string(),
            }
        };
        if !(self.h.eof && replies.is_empty()) {
            if self.setup.mode == Mode::Lmtp {
                assert_eq!(
                    replies.len(),
                    self.tx.recipients.len(),
                    "one reply per recipient: {replies:?}"
                );
                for (r, addr) in replies.iter().zip(&self.tx.recipients) {
                    let want = format!("{single} <");
                    assert!(r.text.starts_with(&want), "{r:?}, want {want}");
                    if let Some(a) = addr {
                        assert_eq!(r.text, format!("{single} <{a}>"));
                    }
                }
            } else {
                assert_eq!(replies.len(), 1, "one reply to a message: {replies:?}");
                assert_eq!(replies[0].text, single, "reply to a message");
            }
            if single.starts_with('2') {
                self.accepted += 1;
            }
        }
        self.tx.reset();
    }

    /// DATA (alone, or the end of a pipelined group): the body if the server is ready.
    async fn data_body(&mut self, reply: &Reply, content: &[u8]) {
        if reply.code != 354 {
            return;
        }
        let wire = dot_stuff(content);
        let seed = self.seed();
        self.h.send(&wire, seed).await;
        let replies = self.h.replies().await;
        let expected = Expected::data(content, self.setup.maxdataline);
        self.message_end(replies, expected);
    }

    async fn bdat(&mut self, chunk: &[u8], last: bool) {
        let mut bytes = format!(
            "BDAT {}{}\r\n",
            chunk.len(),
            if last { " LAST" } else { "" }
        )
        .into_bytes();
        bytes.extend_from_slice(chunk);
        let seed = self.seed();
        self.h.send(&bytes, seed).await;
        let replies = self.h.replies().await;
        let refused = replies.first().is_some_and(|r| r.code == 503);
        if !last || refused {
            self.expect_one(&replies);
            if let Some(r) = replies.first() {
                if r.code == 250 {
                    self.tx.chunks.extend_from_slice(chunk);
                }
            }
            self.no_message_handed_on();
            return;
        }
        let mut content = std::mem::take(&mut self.tx.chunks);
        content.extend_from_slice(chunk);
        let expected = Expected::bdat(&content, self.setup.maxdataline);
        self.message_end(replies, expected);
    }

    /// AUTH, answering challenges from `answers` (then cancelling).
    async fn auth(&mut self, first: &str, answers: &[String]) {
        let mut replies = self.simple(first, Kind::Other, false).await;
        let mut answers = answers.iter();
        while replies.last().is_some_and(|r| r.code == 334) && !self.h.eof {
            let answer = answers.next().map_or("*", |a| a.as_str()).to_string();
            replies = self.simple(&answer, Kind::Other, false).await;
        }
    }

    /// One step of the script; false at its end.
    async fn step(&mut self, s: &mut Script<'_>) -> bool {
        let Some(op) = s.byte() else {
            return false;
        };
        self.step = self.step.wrapping_add(1);
        let lf = op & 0x80 != 0;
        match op & 15 {
            0 => {
                let verb = s.pick(&["EHLO", "HELO", "LHLO"]);
                let name = s.pick(HELO_NAMES);
                self.simple(&format!("{verb} {name}"), Kind::Helo, lf).await;
            }
            1 => {
                let addr = s.address();
                let param = s.pick(MAIL_PARAMS);
                self.simple(&format!("MAIL FROM:<{addr}>{param}"), Kind::Mail, lf)
                    .await;
            }
            2 => {
                let addr = s.address();
                self.simple(&format!("RCPT TO:<{addr}>"), Kind::Rcpt, lf)
                    .await;
            }
            3 => {
                let n = s.len();
                let content = s.take(n);
                let replies = self.simple("DATA", Kind::Other, lf).await;
                if let Some(r) = replies.last() {
                    self.data_body(r, content).await;
                }
            }
            4 | 5 => {
                let n = s.len();
                let chunk = s.take(n);
                self.bdat(chunk, op & 15 == 5).await;
            }
            6 => {
                self.simple("RSET", Kind::Rset, lf).await;
            }
            7 => {
                self.simple("NOOP", Kind::Other, lf).await;
            }
            8 => {
                self.simple("QUIT", Kind::Other, lf).await;
            }
            9 => {
                let line = match s.byte().unwrap_or(0) % 4 {
                    0 => "HELP".to_string(),
                    1 => format!("VRFY {}", s.address()),
                    2 => format!("EXPN {}", s.address()),
                    _ => "STARTTLS".to_string(),
                };
                self.simple(&line, Kind::Other, lf).await;
            }
            10 => {
                let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
                let user = s.pick(USERS);
                let password = s.pick(USERS);
                let plain = b64(&format!("\0{user}\0{password}"));
                match s.byte().unwrap_or(0) % 6 {
                    0 => self.auth(&format!("AUTH PLAIN {plain}"), &[]).await,
                    1 => self.auth("AUTH LOGIN", &[b64(user), b64(password)]).await,
                    2 => self.auth("AUTH PLAIN", &[plain]).await,
                    3 => {
                        self.auth(&format!("AUTH LOGIN {}", b64(user)), &[b64(password)])
                            .await
                    }
                    4 => self.auth("AUTH PLAIN", &["*".to_string()]).await,
                    _ => {
                        let answer = s.argument();
                        self.auth("AUTH LOGIN", &[answer]).await
                    }
                }
            }
            11 => self.pipelined(s).await,
            12 | 13 => {
                let (verb, kind) = s.pick(FUZZED_VERBS);
                let arg = s.argument();
                let replies = self.simple(&format!("{verb}{arg}"), kind, lf).await;
                // A fuzzed AUTH may have started an exchange: cancel it.
                if replies.last().is_some_and(|r| r.code == 334) && !self.h.eof {
                    self.auth_cancel().await;
                }
            }
            _ => {
                // A client that stalls, in the middle of a line or between commands: for
                // a moment, or past the read timeout. (Never close to it: who is first
                // then is the clock's choice.)
                let pause = Duration::from_secs(s.pick(&[0, 1, 2, 5, 60]));
                let mid_line = op & 15 == 14;
                let seed = self.seed();
                let waited = Instant::now() - self.h.last_heard;
                let long = pause > READ_TIMEOUT;
                let after = if mid_line { Duration::ZERO } else { IDLE };
                if !long && waited + pause + after + Duration::from_secs(1) >= READ_TIMEOUT {
                    return true;
                }
                if mid_line {
                    self.h.send(b"NO", seed).await;
                }
                tokio::time::sleep(pause).await;
                if mid_line {
                    self.h.send(b"OP\r\n", seed).await;
                }
                let replies = self.h.replies().await;
                if long {
                    assert!(self.h.eof, "no close after {pause:?} of silence");
                    assert_eq!(
                        replies.last().map(|r| r.text.as_str()),
                        Some("421 4.4.2 mx.test Error: timeout exceeded"),
                        "{replies:?}"
                    );
                } else if mid_line {
                    self.expect_one(&replies);
                } else {
                    assert!(replies.is_empty(), "a reply to nothing: {replies:?}");
                }
            }
        }
        !self.h.eof
    }

    async fn auth_cancel(&mut self) {
        self.simple("*", Kind::Other, false).await;
    }

    /// MAIL, RCPTs and DATA in one write; one reply each, in order; then the body.
    async fn pipelined(&mut self, s: &mut Script<'_>) {
        let from = s.address();
        let count = usize::from(s.byte().unwrap_or(0) % 4);
        let mut lines = vec![(format!("MAIL FROM:<{from}>"), Kind::Mail)];
        for _ in 0..count {
            lines.push((format!("RCPT TO:<{}>", s.address()), Kind::Rcpt));
        }
        lines.push(("DATA".to_string(), Kind::Other));
        let n = s.len();
        let content = s.take(n);
        let mut bytes = Vec::new();
        for (line, _) in &lines {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        let seed = self.seed();
        self.h.send(&bytes, seed).await;
        let replies = self.h.replies().await;
        self.no_message_handed_on();
        if self.h.eof {
            return;
        }
        assert_eq!(
            replies.len(),
            lines.len(),
            "one reply per pipelined command: {lines:?} {replies:?}"
        );
        for ((_, kind), reply) in lines.iter().zip(&replies) {
            self.tx.follow(*kind, reply);
        }
        self.data_body(replies.last().unwrap(), content).await;
    }
}

async fn scripted(setup: &Setup, input: &[u8]) {
    let mut d = Dialogue {
        h: Harness::start(setup),
        setup,
        tx: Transaction::default(),
        handed_on: 0,
        accepted: 0,
        step: 0,
    };
    let greeting = d.h.replies().await;
    assert_eq!(greeting.len(), 1, "{greeting:?}");
    assert!(greeting[0].text.starts_with("220 mx.test ESMTP nssmtpd "));
    let mut script = Script {
        data: input,
        pos: 0,
    };
    while d.step(&mut script).await {}
    // After the client leaves, at most one callback and the close remain.
    let rest = d.h.hang_up(READ_TIMEOUT + CALLBACK_TIMEOUT * 2).await;
    d.h.buf.extend_from_slice(&rest);
    parse_replies(&mut d.h.buf);
    assert!(
        d.h.buf.is_empty(),
        "unterminated reply at the close: {:?}",
        String::from_utf8_lossy(&d.h.buf)
    );
    assert_eq!(
        d.h.shared.stats.get("messages_accepted"),
        Some(d.accepted),
        "messages_accepted"
    );
}
