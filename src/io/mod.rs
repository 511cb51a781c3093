//! The I/O layer: the tokio runtime, the listener and sessions, DNS checks.
#![forbid(unsafe_code)]
pub mod admission;
pub mod auth;
pub mod auth_guard;
pub mod client;
pub mod conn;
pub mod dkim_sign;
pub mod dns;
pub mod eventlog;
pub mod greylist;
pub mod maildir;
pub mod metrics;
pub mod panics;
pub mod policy;
pub mod prebound;
pub mod relay;
pub mod replay;
pub mod runtime;
pub mod scan;
pub mod send;
pub mod sendlog;
pub mod server;
pub mod session;
pub mod shared;
pub mod stats;
pub mod storage;
pub mod tls;

/// An operating-system error in Tcl's wording: `address already in use`, without Rust's
/// `(os error 98)` suffix and capital letter.
pub fn os_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text,
    };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        // `Connection refused` becomes `connection refused`; `TLS ...` stays.
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(text.chars().skip(1)).collect()
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn os_text_is_plain() {
        let e = std::io::Error::from_raw_os_error(98);
        assert_eq!(super::os_text(&e), "address already in use");
        let e = std::io::Error::other("TLS alert");
        assert_eq!(super::os_text(&e), "TLS alert");
    }
}
