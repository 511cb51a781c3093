//! Panics on the I/O threads: a session task that panics is caught where it runs
//! (`session::run_with`), so the hook only has to keep the default message off standard
//! error — it may quote client bytes (a slice of a command line) — and remember where the
//! panic happened for the one log line the session writes.
use std::cell::RefCell;
use std::panic::{self, PanicHookInfo};
use std::sync::Once;

/// The name of the runtime's threads; only their panics are kept quiet.
pub const IO_THREAD_NAME: &str = "nssmtpd-io";

thread_local! {
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook once; panics on other threads go to the hook that was there before.
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo| {
            if std::thread::current().name() == Some(IO_THREAD_NAME) {
                remember(info);
            } else {
                previous(info);
            }
        }));
    });
}

fn remember(info: &PanicHookInfo) {
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_else(|| "an unknown place".to_string());
    LAST_LOCATION.with(|l| *l.borrow_mut() = Some(location));
}

/// Where the last panic on this thread happened (file and line, never its message).
pub fn last_location() -> String {
    LAST_LOCATION
        .with(|l| l.borrow_mut().take())
        .unwrap_or_else(|| "an unknown place".to_string())
}
