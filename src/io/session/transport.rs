//! Moving bytes for the session: the next command line (within the read timeout, however
//! slowly it trickles in, and not past a stop), more message input, the tarpit after
//! errors, and the TLS handshake.
use super::diagnostics::BETWEEN_COMMANDS;
use super::Session;
use crate::core::flags;
use crate::core::rules::replies;
use crate::io::conn::{ConnError, Line};
use crate::io::shared::{Mode, Shutdown};
use crate::log::{log, Severity};
use std::time::Duration;
use tokio::time::timeout;

impl Session {
    /// The next command line; `None` when the session must end (after writing why).
    pub(super) async fn next_line(&mut self) -> Option<Line> {
        let maxline = self.config.maxline;
        let result = loop {
            let state = *self.shutdown.borrow();
            if state == Shutdown::Forced || (state == Shutdown::Draining && !self.in_transaction())
            {
                self.conn
                    .close_with(&replies::shutting_down(&self.config.hostname))
                    .await;
                return None;
            }
            // A whole command line within the read timeout (a client sending a byte now
            // and then must not hold its slot for ever).
            let line_limit = self.config.readtimeout;
            tokio::select! {
                r = timeout(line_limit, self.conn.read_line(maxline)) => {
                    break r.unwrap_or(Err(ConnError::Timeout));
                }
                changed = self.shutdown.changed() => {
                    if changed.is_err() {
                        // The server is gone: treat it as a forced stop.
                        self.conn.close_with(&replies::shutting_down("")).await;
                        return None;
                    }
                }
            }
        };
        let error = match result {
            Ok(line) => return Some(line),
            Err(e) => e,
        };
        self.log_io_failure(BETWEEN_COMMANDS, &error);
        match error {
            ConnError::Timeout => {
                self.shared.stats.timeout();
                self.conn
                    .close_with(&replies::timeout(&self.config.hostname))
                    .await;
            }
            ConnError::Closed => {}
            ConnError::Io(_) => self.shared.stats.io_error(),
        }
        None
    }

    /// Reads more of a message (DATA or a BDAT chunk); false when the session must end:
    /// a forced stop or a timeout (after saying so), or the client gone mid-message
    /// (nothing was accepted, nothing is kept).
    pub(super) async fn fill_message_input(&mut self) -> bool {
        let stopping = replies::shutting_down("");
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
        let error = match filled {
            Ok(_) => return true,
            Err(e) => e,
        };
        let phase = self.last_verb().to_string();
        self.log_io_failure(&phase, &error);
        if let ConnError::Timeout = error {
            self.shared.stats.timeout();
            self.conn
                .close_with(&replies::timeout(&self.config.hostname))
                .await;
        }
        false
    }

    /// The tarpit: after an error, wait `errordelay` ms, doubled with each further error up
    /// to `errordelaymax`, before reading on (replies are sent first).
    pub(super) async fn tarpit(&mut self) {
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
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// The TLS handshake, bounded by the read timeout; false if it failed (then the
    /// connection is done for).
    pub(super) async fn handshake(&mut self) -> Result<(), String> {
        let Some(config) = self.shared.tls() else {
            return Err("no TLS certificate configured".into());
        };
        let plain = self.conn.take_stream();
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        match timeout(self.config.readtimeout, acceptor.accept(plain)).await {
            Ok(Ok(stream)) => {
                self.handle
                    .set_tls(crate::io::tls::describe(stream.get_ref().1));
                self.handle.envelope().flags |= flags::GOTSTARTTLS;
                self.conn.set_stream(Box::new(stream));
                Ok(())
            }
            Ok(Err(e)) => {
                log(
                    Severity::Notice,
                    &format!("nssmtpd: {}: TLS handshake failed: {e}", self.id()),
                );
                Err(format!("TLS handshake failed: {e}"))
            }
            Err(_) => {
                self.shared.stats.timeout();
                Err(format!(
                    "TLS handshake timed out after {} seconds",
                    self.config.readtimeout.as_secs()
                ))
            }
        }
    }
}

/// Resolves once the server is stopped by force or is gone.
pub(super) async fn forced_stop(mut shutdown: tokio::sync::watch::Receiver<Shutdown>) {
    let _ = shutdown.wait_for(|s| *s == Shutdown::Forced).await;
}
