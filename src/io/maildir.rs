//! Maildir delivery (`tmp/` then rename into `new/`, so readers never see partial files).
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes `message` into the Maildir at `dir` (created if missing); returns the new file.
pub fn deliver(dir: &Path, hostname: &str, message: &[u8]) -> std::io::Result<PathBuf> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    for sub in ["tmp", "new", "cur"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let host: String = hostname
        .chars()
        .map(|c| if c == '/' || c == ':' { '_' } else { c })
        .collect();
    let name = format!(
        "{}.M{}P{}Q{}.{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        host
    );
    let tmp = dir.join("tmp").join(&name);
    let new = dir.join("new").join(&name);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    f.write_all(message)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, &new)?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_into_new() {
        let dir = std::env::temp_dir().join(format!("nssmtpd-maildir-{}", std::process::id()));
        let path = deliver(&dir, "host", b"Subject: x\r\n\r\nbody\r\n").unwrap();
        assert!(path.starts_with(dir.join("new")));
        assert_eq!(fs::read(&path).unwrap(), b"Subject: x\r\n\r\nbody\r\n");
        assert_eq!(fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        fs::remove_dir_all(dir).unwrap();
    }
}
