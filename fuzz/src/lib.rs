//! Shared parts of the fuzz targets.
//!
//! The protocol core is compiled here from the project's own sources rather than through a
//! dependency on the `nssmtpd` crate: `src/core` is pure (no I/O, Tcl or tokio), and building
//! the whole crate would put tokio, rustls, hickory and the Tcl bindings under coverage
//! instrumentation, which makes the fuzz build several times slower. The code is the same
//! files, so `nssmtpd_fuzz::core::...` is `nssmtpd::core::...`.
#[path = "../../src/core/mod.rs"]
pub mod core;

/// Splits `data` into consecutive pieces whose lengths come from `seed` (1..=16 bytes, or a
/// longer run now and then), to feed streaming parsers the way reads arrive from a socket.
pub fn chunks(data: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut state = u32::from(seed) | 0x100;
    let mut rest = data;
    while !rest.is_empty() {
        // xorshift: cheap, deterministic for a given seed.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let len = if state % 8 == 0 {
            (state as usize >> 8) % 512 + 1
        } else {
            (state as usize >> 8) % 16 + 1
        };
        let (head, tail) = rest.split_at(len.min(rest.len()));
        out.push(head);
        rest = tail;
    }
    out
}
