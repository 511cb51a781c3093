//! The free-space guard (`minavailspace`): mail is refused while the spool's filesystem has
//! less room than configured, so accepted mail is never lost to a full disk. The answer is
//! cached for a second: one `statvfs` per second however busy the server is.
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CACHE_FOR: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct StorageGuard {
    last: Mutex<Option<Checked>>,
}

struct Checked {
    at: Instant,
    path: PathBuf,
    available_kib: Option<u64>,
}

impl StorageGuard {
    /// Whether `path`'s filesystem has less than `min_kib` KiB free for us. A path that
    /// cannot be checked (missing) counts as short of room: mail waits rather than gets lost.
    pub fn short_of_room(&self, path: &Path, min_kib: u64) -> bool {
        if min_kib == 0 {
            return false;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = last
            .as_ref()
            .is_some_and(|c| c.path == path && c.at.elapsed() < CACHE_FOR);
        if !fresh {
            *last = Some(Checked {
                at: Instant::now(),
                path: path.to_path_buf(),
                available_kib: available_kib(path),
            });
        }
        last.as_ref()
            .and_then(|c| c.available_kib)
            .is_none_or(|kib| kib < min_kib)
    }
}

/// KiB an unprivileged writer may still use on `path`'s filesystem.
pub fn available_kib(path: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(path).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize) / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_against_the_limit() {
        let dir = std::env::temp_dir();
        let free = available_kib(&dir).expect("statvfs of the temp dir");
        let guard = StorageGuard::default();
        assert!(!guard.short_of_room(&dir, 0));
        assert!(!guard.short_of_room(&dir, 1));
        // A fresh guard, since the answer is cached for a second.
        assert!(StorageGuard::default().short_of_room(&dir, free + 1024 * 1024));
        assert!(StorageGuard::default().short_of_room(Path::new("/no/such/spool"), 1));
    }
}
