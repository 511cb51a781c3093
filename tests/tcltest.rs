//! Runs the tcltest suite (`tests/all.tcl`) in a real tclsh against the library this
//! `cargo test` built, and fails if any Tcl test fails.
//!
//! tcltest's `runAllTests` exits 0 even when tests fail, so the verdict comes from its
//! summary line `all.tcl:\tTotal\tN\tPassed\tN\tSkipped\tN\tFailed\tN`; a missing summary
//! line is a failure too.
//!
//! Environment:
//! * `TCLSH` — the Tcl shell (default `tclsh8.6`); for Tcl 9.0 build with
//!   `TCL_CONFIG=.tcl9/tclConfig.sh` and set `TCLSH=.tcl9/tclsh9` (scripts/tcl9-setup.sh);
//!   scripts/test-all.sh also sets `CARGO_TARGET_DIR=target/tcl9`, the Tcl 9 build's own
//!   target directory (as in the Makefile), so the Tcl 8.6 build in target/ stays as it is.
//! * `NSSMTPD_TCLTEST_ARGS` — extra tcltest options, split on whitespace
//!   (e.g. `-file config.test` or `-match server-1.*`).
//! * `NSSMTPD_TCLTEST_TIMEOUT` — seconds before the tclsh is killed (default 1800).
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The cdylib of this build: `cargo test` leaves it in `target/<profile>/deps/` (next to
/// this test executable), `cargo build` in `target/<profile>/`; the newest one wins.
fn built_library() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("directory of the test executable");
    let mut dirs = vec![deps.to_path_buf()];
    if let Some(profile) = deps.parent() {
        dirs.push(profile.to_path_buf());
    }
    dirs.iter()
        .map(|d| d.join("libnssmtpd.so"))
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| panic!("libnssmtpd.so not found in {}", dirs[0].display()))
}

/// Counts from tcltest's summary line.
#[derive(Debug, PartialEq)]
struct Summary {
    total: u64,
    passed: u64,
    skipped: u64,
    failed: u64,
}

/// Parses the last `all.tcl:\tTotal\tN\tPassed\tN\tSkipped\tN\tFailed\tN` line.
fn summary(output: &str) -> Option<Summary> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.starts_with("all.tcl:") && l.contains("Total"))?;
    let words: Vec<&str> = line.split('\t').map(str::trim).collect();
    let value = |key: &str| -> Option<u64> {
        let i = words.iter().position(|w| *w == key)?;
        words.get(i + 1)?.parse().ok()
    };
    Some(Summary {
        total: value("Total")?,
        passed: value("Passed")?,
        skipped: value("Skipped")?,
        failed: value("Failed")?,
    })
}

/// The Tcl patch level all.tcl prints first (`Tcl 8.6.13`).
fn patchlevel(output: &str) -> Option<String> {
    output.lines().find_map(|l| {
        let v = l.strip_prefix("Tcl ")?.trim();
        v.starts_with(|c: char| c.is_ascii_digit())
            .then(|| v.to_string())
    })
}

/// Echoes a child's stream line by line as it arrives and sends each line to `tx`.
fn pump(stream: impl Read + Send + 'static, tx: mpsc::Sender<String>, to_stderr: bool) {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        while matches!(reader.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
            let line = String::from_utf8_lossy(&buf)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            if to_stderr {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
            if tx.send(line).is_err() {
                break;
            }
            buf.clear();
        }
    });
}

/// Always visible, also when the test harness captures output.
fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[test]
fn summary_line_parsing() {
    let out = "Tcl 9.0.1\nfoo.test\nall.tcl:\tTotal\t5\tPassed\t3\tSkipped\t1\tFailed\t1\n\
               Sourced 1 Test Files.\n";
    assert_eq!(
        summary(out),
        Some(Summary {
            total: 5,
            passed: 3,
            skipped: 1,
            failed: 1
        })
    );
    assert_eq!(patchlevel(out).as_deref(), Some("9.0.1"));
    assert_eq!(
        summary("config.test:\tTotal\t5\tPassed\t5\tSkipped\t0\tFailed\t0\n"),
        None
    );
    assert_eq!(summary("no summary here\n"), None);
}

#[test]
fn tcltest_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tclsh = std::env::var("TCLSH").unwrap_or_else(|_| "tclsh8.6".into());
    let extra = std::env::var("NSSMTPD_TCLTEST_ARGS").unwrap_or_default();
    let timeout = std::env::var("NSSMTPD_TCLTEST_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let library = built_library();
    report(&format!(
        "tcltest: {tclsh} tests/all.tcl {extra} with {}",
        library.display()
    ));

    let mut child = Command::new(&tclsh)
        .arg(root.join("tests").join("all.tcl"))
        .args(extra.split_whitespace())
        .env("NSSMTPD_LIB", &library)
        .env("NSSMTPD_SRC", root)
        .env("TCLSH", &tclsh)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {tclsh}: {e}"));
    let (tx, rx) = mpsc::channel();
    pump(child.stdout.take().unwrap(), tx.clone(), false);
    pump(child.stderr.take().unwrap(), tx, true);

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for tclsh") {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{tclsh} tests/all.tcl did not finish within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(100));
    };
    // The pumps end at EOF, which closes the channel; a process the tests left behind may
    // hold the pipes open, so stop waiting once the output has been quiet for a while.
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        lines.push(line);
    }
    let text = lines.join("\n");

    let version = patchlevel(&text).unwrap_or_else(|| "?".into());
    let Some(s) = summary(&text) else {
        panic!("no tcltest summary line from {tclsh} ({status})");
    };
    report(&format!(
        "Tcl {version}: {} passed, {} failed, {} skipped",
        s.passed, s.failed, s.skipped
    ));
    report(&format!(
        "{} passed, {} failed, {} skipped",
        s.passed, s.failed, s.skipped
    ));
    assert!(s.total > 0, "no Tcl tests ran under Tcl {version}");
    assert_eq!(
        s.failed, 0,
        "{} Tcl test(s) failed under Tcl {version}",
        s.failed
    );
    assert!(status.success(), "{tclsh} exited with {status}");
}
