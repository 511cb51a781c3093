//! `ns_smtpd replay`: a recorded or scripted SMTP dialogue (a BSMTP batch) runs through the
//! server's own session engine, policy and callbacks, over an in-memory pipe instead of a
//! socket; the replies come back as bytes.
use super::session;
use super::shared::Mode;
use super::shared::ServerShared;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Runs `input` as the client's side of one session from `client` and returns everything
/// the server answered. Input is sent at once (as a pipelining client would); the session
/// ends at QUIT or at the end of the input.
pub async fn replay(
    shared: Arc<ServerShared>,
    client: SocketAddr,
    helo: Option<String>,
    input: Vec<u8>,
) -> Vec<u8> {
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    let session = tokio::spawn(session::run_with(
        Box::new(server_end),
        client,
        shared,
        Mode::Replay,
        helo,
    ));
    let (mut from_server, mut to_server) = tokio::io::split(client_end);
    let writer = tokio::spawn(async move {
        let _ = to_server.write_all(&input).await;
        let _ = to_server.shutdown().await;
    });
    let mut output = Vec::new();
    let _ = from_server.read_to_end(&mut output).await;
    let _ = writer.await;
    let _ = session.await;
    output
}

/// Text files written by hand end lines with LF alone: when the input has no CR at all,
/// every LF becomes CRLF, so such a batch reads as SMTP does.
pub fn normalize_line_endings(input: Vec<u8>) -> Vec<u8> {
    if input.contains(&b'\r') {
        return input;
    }
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    for b in input {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize_line_endings;

    #[test]
    fn lf_only_files_become_crlf() {
        assert_eq!(normalize_line_endings(b"a\nb\n".to_vec()), b"a\r\nb\r\n");
        assert_eq!(normalize_line_endings(b"a\r\nb\n".to_vec()), b"a\r\nb\n");
    }
}
