//! The extension's log: `ns_log` of the interpreter that started the server (NaviServer's, or the
//! tclsh stand-in), or standard error in NaviServer's format before a server started.
//!
//! Sessions never wait for a log line: the line is queued for the interpreter's thread.
//! Client-supplied text is made printable before it is logged.
use crate::core::clock::Utc;
use std::io::Write;
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Notice,
    Warning,
    Error,
    Debug,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Notice => "Notice",
            Severity::Warning => "Warning",
            Severity::Error => "Error",
            Severity::Debug => "Debug(smtpd)",
        }
    }
}

/// Where log lines go.
pub trait LogSink: Send + Sync {
    fn write(&self, severity: Severity, message: &str);
}

/// Writes a line to standard error in NaviServer's format (the fallback destination).
pub fn stderr(severity: Severity, message: &str) {
    let line = format!(
        "{} {}: {}\n",
        Utc::now().log_stamp(),
        severity.name(),
        message
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
}

static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
static DEBUG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Replaces the log destination (NaviServer module mode, tests).
pub fn set_sink(sink: Arc<dyn LogSink>) {
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = Some(sink);
}

/// Turns `Debug(smtpd)` lines on or off.
pub fn set_debug(on: bool) {
    DEBUG.store(on, std::sync::atomic::Ordering::Relaxed);
}

pub fn log(severity: Severity, message: &str) {
    if severity == Severity::Debug && !DEBUG.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let message = printable(message);
    match SINK.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(sink) => sink.write(severity, &message),
        None => stderr(severity, &message),
    }
}

/// Control characters (CR, LF, ESC, ...) are shown escaped so a client cannot forge lines.
pub fn printable(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\r\nb"), "a\\r\\nb");
        assert_eq!(printable("plain"), "plain");
    }
}
