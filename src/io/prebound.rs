//! Listening sockets bound before their server starts (NaviServer module mode binds at
//! module load, as the C module did), taken over by `Server::start` for the same address.
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Mutex;

static BOUND: Mutex<Vec<TcpListener>> = Mutex::new(Vec::new());

fn bound() -> std::sync::MutexGuard<'static, Vec<TcpListener>> {
    BOUND.lock().unwrap_or_else(|e| e.into_inner())
}

/// Binds `address:port` now and keeps the socket for the server that starts there.
pub fn bind(address: &str, port: u16) -> Result<(), String> {
    let host = address.trim_start_matches('[').trim_end_matches(']');
    let listener = TcpListener::bind((host, port)).map_err(|e| super::os_text(&e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| super::os_text(&e))?;
    bound().push(listener);
    Ok(())
}

/// The socket bound earlier for `address:port`, if any (it is handed over only once).
pub fn take(address: &str, port: u16) -> Option<TcpListener> {
    let host = address.trim_start_matches('[').trim_end_matches(']');
    let wanted: Vec<SocketAddr> = (host, port).to_socket_addrs().ok()?.collect();
    let mut bound = bound();
    let at = bound
        .iter()
        .position(|l| l.local_addr().is_ok_and(|a| wanted.contains(&a)))?;
    Some(bound.remove(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_socket_is_taken_once_for_its_address() {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        bind("127.0.0.1", port).unwrap();
        // Bound: a client connects (and waits in the backlog) before any server runs.
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        assert!(take("127.0.0.1", port.wrapping_add(1)).is_none());
        let listener = take("127.0.0.1", port).expect("taken");
        assert_eq!(listener.local_addr().unwrap().port(), port);
        assert!(take("127.0.0.1", port).is_none());
    }
}
