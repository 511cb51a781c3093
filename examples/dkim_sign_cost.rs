//! The CPU cost of DKIM-signing one message (`bench/dkim.sh` runs it): median microseconds
//! per signature for each key file given, for a 2 KB and a 100 KB message.
//!
//! Usage: dkim_sign_cost ROUNDS KEYFILE...
use nssmtpd::io::dkim_sign::{Choice, DkimSigners};
use std::time::Instant;

fn message(body_bytes: usize) -> Vec<u8> {
    let mut m = b"From: Bench <bench@example.com>\r\nTo: sink@example.org\r\nSubject: cost\r\n\
Date: Mon, 30 Nov 2026 04:00:00 +0000\r\nMessage-ID: <bench@example.com>\r\n\r\n"
        .to_vec();
    let line = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n";
    while m.len() < body_bytes {
        m.extend_from_slice(line);
    }
    m
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(200);
    for keyfile in &args[2..] {
        let signers = DkimSigners::load(&format!("{{example.com bench {keyfile}}}"))
            .unwrap_or_else(|e| panic!("{e}"));
        for size in [2_048, 102_400] {
            let m = message(size);
            let mut micros: Vec<f64> = (0..rounds)
                .map(|_| {
                    let t = Instant::now();
                    let signed = signers.sign(&m, &Choice::ByFrom).unwrap();
                    assert!(signed.is_some());
                    t.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            micros.sort_by(|a, b| a.total_cmp(b));
            println!(
                "{:<14} {:>7} bytes  {:>9.1} µs per message (median of {rounds})",
                std::path::Path::new(keyfile)
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy(),
                size,
                micros[rounds / 2]
            );
        }
    }
}
