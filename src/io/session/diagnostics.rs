//! The session's I/O diagnostics: the last command verb, the refused input, and the server
//! log line for a read or write that failed (timeout, EOF, error) or for a session that
//! ended after refused input. The wording lives in [`crate::core::diagnostic`].
use super::Session;
use crate::core::command::Command;
use crate::core::diagnostic::{
    io_failure_line, rejected_summary_line, Cause, Progress, RejectedInput,
};
use crate::core::rules::input_kind::{command_token, Refusal};
use crate::io::conn::{ConnError, Op};
use crate::io::shared::Mode;
use crate::log::{log, Severity};

/// The phase of a failure between commands (reading a command, writing replies).
pub(super) const BETWEEN_COMMANDS: &str = "command/reply";

/// What the diagnostics remember of a session.
pub(super) struct Diagnostics {
    rejected: RejectedInput,
    /// The last recognised SMTP verb, or the stage before any (`GREETING`).
    last: String,
    /// An I/O failure line was written (it carries the refused input too).
    reported: bool,
}

impl Default for Diagnostics {
    fn default() -> Self {
        Diagnostics {
            rejected: RejectedInput::default(),
            last: "GREETING".into(),
            reported: false,
        }
    }
}

impl Session {
    /// A parsed command line: a recognised verb becomes `last` (accepted or not); a line
    /// the parser refused is counted by kind.
    pub(super) fn note_command(&mut self, line: &[u8], command: &Command) {
        match command {
            Command::Unknown => {
                self.diag.rejected.record(line, Refusal::Unrecognised);
            }
            Command::Syntax(_) => {
                if let Some(verb) = command_token(line) {
                    self.diag.last = verb;
                }
                self.diag.rejected.record(line, Refusal::Syntax);
            }
            // LMTP's greeting on an SMTP port is answered as unknown: counted as such.
            Command::Lhlo(_) if self.mode != Mode::Lmtp => {
                self.diag.last = "LHLO".into();
                self.diag.rejected.record(line, Refusal::Unrecognised);
            }
            known => self.diag.last = known.name().to_ascii_uppercase(),
        }
    }

    /// A line refused before parsing (NUL, a verb that is not ASCII).
    pub(super) fn note_undecodable(&mut self, line: &[u8]) {
        self.diag.rejected.record(line, Refusal::Undecodable);
    }

    /// A line longer than `maxline`.
    pub(super) fn note_too_long(&mut self) {
        self.diag.rejected.record_too_long();
    }

    /// The command or stage the session is in (for the phase of a failure).
    pub(super) fn last_verb(&self) -> &str {
        &self.diag.last
    }

    /// Logs a failed read or write: a Notice between commands, an Error in the middle of a
    /// message (the client loses it).
    pub(super) fn log_io_failure(&mut self, phase: &str, error: &ConnError) {
        // A replayed batch without QUIT simply ends: that is no failure.
        let between_commands = phase == BETWEEN_COMMANDS;
        if self.mode == Mode::Replay && between_commands && matches!(error, ConnError::Closed) {
            return;
        }
        let write = self.conn.failed_op() == Op::Write;
        let cause = match error {
            ConnError::Timeout if write => Cause::Timeout(self.config.writetimeout),
            ConnError::Timeout => Cause::Timeout(self.config.readtimeout),
            // A TLS peer gone without close_notify: for the operator, simply gone.
            ConnError::Closed => Cause::Eof,
            ConnError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Cause::Eof,
            ConnError::Io(e) => Cause::Error(crate::io::os_text(e)),
        };
        let severity = if between_commands {
            Severity::Notice
        } else {
            Severity::Error
        };
        let tls = self.handle.tls().is_some();
        let line = self.with_progress(|p| io_failure_line(write, tls, phase, &cause, p));
        log(severity, &format!("nssmtpd: {}: {line}", self.id()));
        self.diag.reported = true;
    }

    /// At the end of a session with refused input that no failure line reported yet.
    pub(super) fn log_rejected_summary(&self) {
        if self.diag.rejected.count == 0 || self.diag.reported {
            return;
        }
        let line = self.with_progress(rejected_summary_line);
        log(Severity::Notice, &format!("nssmtpd: {}: {line}", self.id()));
    }

    fn with_progress<T>(&self, f: impl FnOnce(&Progress) -> T) -> T {
        let (rx, tx) = self.conn.traffic();
        let peer = self.peer.to_string();
        f(&Progress {
            peer: &peer,
            last: &self.diag.last,
            rx,
            tx,
            rejected: &self.diag.rejected,
        })
    }
}
