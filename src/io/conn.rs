//! One client connection: a read-ahead buffer that never loses pipelined input, command
//! lines bounded by `maxline`, buffered replies flushed before every socket read, and every
//! read and write bounded by its timeout.
use crate::core::reply::Reply;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

/// Any byte stream a session can run over (plain TCP now, TLS later).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

#[derive(Debug)]
pub enum ConnError {
    /// No data within the read timeout, or a write that did not finish in time.
    Timeout,
    /// The peer closed the connection.
    Closed,
    Io(io::Error),
}

/// A command line, or the note that one was too long (and was discarded up to its end).
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Text(Vec<u8>),
    TooLong,
}

const READ_CHUNK: usize = 4096;

/// Which way bytes were moving when a connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
}

pub struct Conn {
    stream: Box<dyn Stream>,
    rbuf: Vec<u8>,
    rpos: usize,
    wbuf: Vec<u8>,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    /// SMTP bytes received (read-ahead included) and sent, before and after STARTTLS;
    /// TLS handshake and record bytes are not counted.
    rx: u64,
    tx: u64,
    /// The direction of the last failed read or write.
    failed: Op,
}

impl Conn {
    pub fn new(stream: Box<dyn Stream>, read_timeout: Duration, write_timeout: Duration) -> Self {
        Conn {
            stream,
            rbuf: Vec::new(),
            rpos: 0,
            wbuf: Vec::new(),
            read_timeout,
            write_timeout,
            rx: 0,
            tx: 0,
            failed: Op::Read,
        }
    }

    /// Bytes received and sent so far.
    pub fn traffic(&self) -> (u64, u64) {
        (self.rx, self.tx)
    }

    /// Whether the last error came from a read or a write.
    pub fn failed_op(&self) -> Op {
        self.failed
    }

    /// Input received but not processed yet.
    pub fn buffered(&self) -> &[u8] {
        &self.rbuf[self.rpos..]
    }

    /// Marks `n` buffered bytes as processed.
    pub fn consume(&mut self, n: usize) {
        self.rpos += n;
        if self.rpos >= self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
            // Give back memory after a large message so idle sessions stay small.
            if self.rbuf.capacity() > 64 * 1024 {
                self.rbuf = Vec::new();
            }
        } else if self.rpos > 32 * 1024 {
            self.rbuf.drain(..self.rpos);
            self.rpos = 0;
        }
    }

    /// Drops everything buffered (STARTTLS: nothing sent in clear may count after it).
    pub fn discard_buffered(&mut self) -> usize {
        let n = self.buffered().len();
        self.consume(n);
        n
    }

    /// Reads more input (flushing pending replies first, as RFC 2920 requires).
    pub async fn fill(&mut self) -> Result<usize, ConnError> {
        self.flush().await?;
        self.rbuf.reserve(READ_CHUNK);
        let read = timeout(self.read_timeout, self.stream.read_buf(&mut self.rbuf)).await;
        if !matches!(read, Ok(Ok(n)) if n > 0) {
            self.failed = Op::Read;
        }
        match read {
            Err(_) => Err(ConnError::Timeout),
            Ok(Ok(0)) => Err(ConnError::Closed),
            Ok(Ok(n)) => {
                self.rx += n as u64;
                Ok(n)
            }
            Ok(Err(e)) => Err(ConnError::Io(e)),
        }
    }

    /// The next command line without its line ending (CRLF, or a bare LF as old clients send).
    /// A line longer than `max` bytes is read to its end, thrown away and reported as
    /// `TooLong`: it is never split into several commands.
    pub async fn read_line(&mut self, max: usize) -> Result<Line, ConnError> {
        let mut scanned = 0;
        loop {
            let buf = self.buffered();
            if let Some(i) = buf[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + i;
                if end > max {
                    self.consume(end + 1);
                    return Ok(Line::TooLong);
                }
                let mut line = buf[..end].to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.consume(end + 1);
                return Ok(Line::Text(line));
            }
            scanned = buf.len();
            if scanned > max {
                // Throw the over-long line away as it arrives; memory stays bounded.
                self.discard_buffered();
                loop {
                    self.fill().await?;
                    if let Some(i) = self.buffered().iter().position(|&b| b == b'\n') {
                        self.consume(i + 1);
                        return Ok(Line::TooLong);
                    }
                    self.discard_buffered();
                }
            }
            self.fill().await?;
        }
    }

    /// Whether a complete line is already buffered (then replies may wait: pipelining).
    pub fn has_buffered_line(&self) -> bool {
        self.buffered().contains(&b'\n')
    }

    pub fn queue(&mut self, reply: &Reply) {
        self.wbuf.extend_from_slice(reply.as_bytes());
    }

    pub fn queue_bytes(&mut self, bytes: &[u8]) {
        self.wbuf.extend_from_slice(bytes);
    }

    /// Writes queued replies.
    pub async fn flush(&mut self) -> Result<(), ConnError> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        // Written piece by piece so that a partial write still counts its bytes.
        let (stream, wbuf, tx) = (&mut self.stream, &self.wbuf, &mut self.tx);
        let write = async {
            let mut done = 0;
            while done < wbuf.len() {
                let n = stream.write(&wbuf[done..]).await?;
                if n == 0 {
                    return Err(io::Error::from(io::ErrorKind::WriteZero));
                }
                done += n;
                *tx += n as u64;
            }
            stream.flush().await
        };
        let written = timeout(self.write_timeout, write).await;
        if !matches!(written, Ok(Ok(()))) {
            self.failed = Op::Write;
        }
        match written {
            Err(_) => Err(ConnError::Timeout),
            Ok(Err(e)) => Err(ConnError::Io(e)),
            Ok(Ok(())) => {
                self.wbuf.clear();
                if self.wbuf.capacity() > 16 * 1024 {
                    self.wbuf = Vec::new();
                }
                Ok(())
            }
        }
    }

    /// Sends a last reply and closes the write side; errors are irrelevant by then.
    pub async fn close_with(&mut self, reply: &Reply) {
        self.queue(reply);
        let _ = self.flush().await;
        let _ = timeout(Duration::from_secs(1), self.stream.shutdown()).await;
    }

    pub async fn shutdown(&mut self) {
        let _ = self.flush().await;
        let _ = timeout(Duration::from_secs(1), self.stream.shutdown()).await;
    }

    /// Takes the stream out for a TLS handshake; everything buffered from before is dropped
    /// so that nothing sent in clear text can count as sent under TLS.
    pub fn take_stream(&mut self) -> Box<dyn Stream> {
        self.discard_buffered();
        self.wbuf.clear();
        let (placeholder, _) = tokio::io::duplex(1);
        std::mem::replace(&mut self.stream, Box::new(placeholder))
    }

    pub fn set_stream(&mut self, stream: Box<dyn Stream>) {
        self.stream = stream;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn_over(input: &'static [u8]) -> Conn {
        let (client, server) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let mut client = client;
            client.write_all(input).await.unwrap();
            // Keep the client side open until the test has read everything.
            tokio::time::sleep(Duration::from_millis(200)).await;
        });
        Conn::new(
            Box::new(server),
            Duration::from_secs(2),
            Duration::from_secs(2),
        )
    }

    #[tokio::test]
    async fn pipelined_lines_in_order() {
        let mut c = conn_over(b"EHLO a\r\nMAIL FROM:<x@y>\nRCPT TO:<z@w>\r\n");
        assert_eq!(
            c.read_line(512).await.unwrap(),
            Line::Text(b"EHLO a".to_vec())
        );
        assert!(c.has_buffered_line());
        assert_eq!(
            c.read_line(512).await.unwrap(),
            Line::Text(b"MAIL FROM:<x@y>".to_vec())
        );
        assert_eq!(
            c.read_line(512).await.unwrap(),
            Line::Text(b"RCPT TO:<z@w>".to_vec())
        );
        assert!(!c.has_buffered_line());
        assert_eq!(c.traffic(), (39, 0));
    }

    #[tokio::test]
    async fn replies_are_counted_as_sent() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut c = Conn::new(
            Box::new(server),
            Duration::from_secs(2),
            Duration::from_secs(2),
        );
        c.queue_bytes(b"220 hi\r\n");
        c.flush().await.unwrap();
        let mut got = [0u8; 8];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(c.traffic(), (0, 8));
        drop(client);
        assert!(matches!(c.fill().await, Err(ConnError::Closed)));
        assert_eq!(c.failed_op(), Op::Read);
    }

    #[tokio::test]
    async fn overlong_line_is_dropped_whole() {
        static INPUT: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
            let mut v = vec![b'A'; 20_000];
            v.extend_from_slice(b"\r\nQUIT\r\n");
            v
        });
        let mut c = conn_over(&INPUT);
        assert_eq!(c.read_line(512).await.unwrap(), Line::TooLong);
        assert_eq!(
            c.read_line(512).await.unwrap(),
            Line::Text(b"QUIT".to_vec())
        );
    }
}
