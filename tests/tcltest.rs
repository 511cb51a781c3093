//! Runs the tcltest suite (`tests/all.tcl`) in a real tclsh against the library this
//! `cargo test` built, and fails if any Tcl test fails.
//!
//! `TCLSH` names the Tcl shell (default `tclsh8.6`); `NSSMTPD_TCLTEST_ARGS` passes extra
//! tcltest options (e.g. `-file server.test`).
use std::path::{Path, PathBuf};
use std::process::Command;

fn built_library() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps directory");
    let candidates = [deps.to_path_buf(), deps.parent().unwrap().to_path_buf()];
    candidates
        .iter()
        .map(|d| d.join("libnssmtpd.so"))
        .filter(|p| p.exists())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("libnssmtpd.so not found next to the test executable")
}

/// `all.tcl:\tTotal\t5\tPassed\t4\tSkipped\t0\tFailed\t1` -> (total, passed, skipped, failed).
fn summary(output: &str) -> Option<(u64, u64, u64, u64)> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.contains("Total") && l.contains("Passed"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let value = |key: &str| -> Option<u64> {
        let i = words.iter().position(|w| *w == key)?;
        words.get(i + 1)?.parse().ok()
    };
    Some((
        value("Total")?,
        value("Passed")?,
        value("Skipped")?,
        value("Failed")?,
    ))
}

#[test]
fn tcltest_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tclsh = std::env::var("TCLSH").unwrap_or_else(|_| "tclsh8.6".into());
    let extra = std::env::var("NSSMTPD_TCLTEST_ARGS").unwrap_or_default();
    let output = Command::new(&tclsh)
        .arg(root.join("tests/all.tcl"))
        .args(extra.split_whitespace())
        .env("NSSMTPD_LIB", built_library())
        .env("NSSMTPD_SRC", root)
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tclsh}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("Tcl "))
        .unwrap_or("?")
        .to_string();
    let (total, passed, skipped, failed) =
        summary(&text).unwrap_or_else(|| panic!("no tcltest summary line from {tclsh}"));
    println!("Tcl {version}: {passed} passed, {failed} failed, {skipped} skipped");
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    assert!(total > 0, "no Tcl tests ran");
    assert_eq!(failed, 0, "Tcl tests failed under Tcl {version}");
}
