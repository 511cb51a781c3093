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
/// The `debug` option in force: Notice lines need 1, `Debug(smtpd)` lines 2.
static LEVEL: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);

/// Replaces the log destination (NaviServer module mode, tests).
pub fn set_sink(sink: Arc<dyn LogSink>) {
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = Some(sink);
}

/// Sets the `debug` level: below 1 only warnings and errors are logged; from 2 on
/// `Debug(smtpd)` lines too.
pub fn set_level(debug: i64) {
    LEVEL.store(debug, std::sync::atomic::Ordering::Relaxed);
}

/// Whether a line of this severity is logged at the current level.
pub fn enabled(severity: Severity) -> bool {
    let level = LEVEL.load(std::sync::atomic::Ordering::Relaxed);
    match severity {
        Severity::Debug => level >= 2,
        Severity::Notice => level >= 1,
        Severity::Warning | Severity::Error => true,
    }
}

pub fn log(severity: Severity, message: &str) {
    if !enabled(severity) {
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
    fn levels() {
        set_level(0);
        assert!(!enabled(Severity::Notice) && !enabled(Severity::Debug));
        assert!(enabled(Severity::Warning) && enabled(Severity::Error));
        set_level(2);
        assert!(enabled(Severity::Notice) && enabled(Severity::Debug));
        set_level(1);
        assert!(enabled(Severity::Notice) && !enabled(Severity::Debug));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\r\nb"), "a\\r\\nb");
        assert_eq!(printable("plain"), "plain");
    }
}
