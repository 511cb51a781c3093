//! Defence in depth: a bug that panics inside one session task ends that session only.
//! The client gets `421 4.3.0`, the log one line naming the place in the code and nothing
//! of the panic's message (which may quote client bytes), `stats` counts it, and the
//! server goes on serving.
//!
//! The panic is provoked by a policy whose callback panics; the sessions run on the
//! extension's own runtime, as they do in production.
use nssmtpd::config::ServerConfig;
use nssmtpd::core::localnet::parse_list;
use nssmtpd::io::policy::{Hook, HookFuture, Policy};
use nssmtpd::io::runtime::runtime;
use nssmtpd::io::session;
use nssmtpd::io::shared::{Lists, Mode, ServerShared};
use nssmtpd::log::{set_sink, LogSink, Severity};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// A policy whose `rcptproc` is buggy.
struct PanicsAtRcpt;

impl Policy for PanicsAtRcpt {
    fn wants(&self, hook: Hook) -> bool {
        hook == Hook::Rcpt
    }
    fn call(&self, _: Hook, _: u64, _: Vec<String>) -> HookFuture {
        Box::pin(async { panic!("PANIC-MARKER secret-rcpt@example.com") })
    }
}

#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl LogSink for Lines {
    fn write(&self, _: Severity, message: &str) {
        self.0.lock().unwrap().push(message.to_string());
    }
}

/// A session of `shared` on the extension's runtime, and the client's end of its stream.
fn open_session(
    shared: &Arc<ServerShared>,
    peer: std::net::SocketAddr,
) -> (tokio::task::JoinHandle<()>, DuplexStream) {
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    let task = runtime().spawn(session::run(
        Box::new(server_end),
        peer,
        shared.clone(),
        Mode::Smtp,
    ));
    (task, client_end)
}

/// Reads until the text received so far contains `marker` (a reply may come in pieces).
async fn read_until(client: &mut DuplexStream, marker: &str) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains(marker) {
        let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf))
            .await
            .expect("the server answers")
            .unwrap();
        assert!(n > 0, "closed before {marker:?}");
        seen.extend_from_slice(&buf[..n]);
    }
}

/// Writes `input`, then reads until the server closes (or 10 s pass).
async fn converse(mut client: DuplexStream, input: &[u8]) -> String {
    client.write_all(input).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_panicking_session_is_answered_421_logged_once_and_the_server_goes_on() {
    let log = Arc::new(Lines::default());
    set_sink(log.clone());
    let lists = Arc::new(Lists::default());
    *lists.local_nets.write().unwrap() = parse_list("127.0.0.1").unwrap();
    let config = ServerConfig {
        hostname: "mx.test".into(),
        ..ServerConfig::default()
    };
    let (shared, _stop) = ServerShared::new(config, lists, Arc::new(PanicsAtRcpt)).unwrap();
    let peer = "127.0.0.1:40000".parse().unwrap();

    let (task, client) = open_session(&shared, peer);
    let out = runtime().block_on(async {
        let mut client = client;
        read_until(&mut client, "220 ").await;
        client.write_all(b"EHLO c.test\r\n").await.unwrap();
        read_until(&mut client, "250 HELP\r\n").await;
        converse(
            client,
            b"MAIL FROM:<a@b.example>\r\nRCPT TO:<secret-rcpt@example.com>\r\n",
        )
        .await
    });
    runtime().block_on(task).unwrap();
    assert_eq!(
        out,
        "250 2.1.0 <a@b.example>... Sender OK\r\n\
         421 4.3.0 mx.test Internal error, closing connection\r\n"
    );
    assert_eq!(shared.stats.get("errors_internal"), Some(1));

    // The server goes on: a new session on the same server is served.
    let (task, client_end) = open_session(&shared, peer);
    let out = runtime().block_on(converse(client_end, b"NOOP\r\nQUIT\r\n"));
    runtime().block_on(task).unwrap();
    assert!(
        out.ends_with("250 2.0.0 OK\r\n221 2.0.0 mx.test Bye\r\n"),
        "{out}"
    );

    let lines = log.0.lock().unwrap().clone();
    let internal: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("internal error"))
        .collect();
    assert_eq!(internal.len(), 1, "{lines:?}");
    assert!(
        internal[0].contains("session ended by an internal error at tests/panics.rs:"),
        "{}",
        internal[0]
    );
    for line in &lines {
        assert!(
            !line.contains("PANIC-MARKER"),
            "panic message logged: {line}"
        );
    }
}
