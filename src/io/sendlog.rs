//! The send log of `ns_smtpd send` (option `logging`): one line per message in the original
//! module's format, with daily rolling and a bounded number of backups. The rolling file
//! ([`SendLog`]) also carries the SMTP event log (`eventlog`), so both roll alike.
use crate::core::clock::Utc;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollPolicy {
    /// Roll once a day, at `hour` (UTC).
    pub daily: bool,
    pub hour: u32,
    /// Suffix of rolled files; `%Y %m %d %H %M %S` are replaced (default `%Y-%m-%d`).
    pub format: String,
    pub max_backups: usize,
}

struct State {
    file: Option<File>,
    next_roll: u64,
}

pub struct SendLog {
    path: PathBuf,
    /// A send log (not an event log): what `roll_all` rolls.
    send: bool,
    policy: RollPolicy,
    state: Mutex<State>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn next_roll_after(now: u64, hour: u32) -> u64 {
    let day = now - now % 86_400;
    let at = day + u64::from(hour.min(23)) * 3600;
    if at > now {
        at
    } else {
        at + 86_400
    }
}

/// Expands the `%Y %m %d %H %M %S` conversions of a roll suffix.
pub fn expand_suffix(format: &str, t: &Utc) -> String {
    format
        .replace("%Y", &format!("{:04}", t.year))
        .replace("%m", &format!("{:02}", t.month))
        .replace("%d", &format!("{:02}", t.day))
        .replace("%H", &format!("{:02}", t.hour))
        .replace("%M", &format!("{:02}", t.minute))
        .replace("%S", &format!("{:02}", t.second))
}

/// Every rolling file opened in the process, by path.
static LOGS: LazyLock<Mutex<HashMap<PathBuf, Arc<SendLog>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Rolls every send log opened so far, not the event logs (`ns_smtpd roll`, SIGHUP with
/// `logrollonsignal`).
pub fn roll_all() -> std::io::Result<()> {
    let logs: Vec<Arc<SendLog>> = LOGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .filter(|log| log.send)
        .cloned()
        .collect();
    let mut result = Ok(());
    for log in logs {
        if let Err(e) = log.roll_now() {
            result = Err(e);
        }
    }
    result
}

impl SendLog {
    /// The send log at `path`, shared by every writer in the process.
    pub fn open(path: &Path, policy: RollPolicy) -> Arc<SendLog> {
        let mut logs = LOGS.lock().unwrap_or_else(|e| e.into_inner());

        logs.entry(path.to_path_buf())
            .or_insert_with(|| {
                Arc::new(SendLog {
                    path: path.to_path_buf(),
                    send: true,
                    state: Mutex::new(State {
                        file: None,
                        next_roll: next_roll_after(now_secs(), policy.hour),
                    }),
                    policy,
                })
            })
            .clone()
    }

    /// Another rolling file at `path` (the event log of a starting server): opened anew
    /// with `policy`, replacing an earlier one (whose file may have been moved meanwhile).
    pub fn open_other(path: &Path, policy: RollPolicy) -> Arc<SendLog> {
        let log = Arc::new(SendLog {
            path: path.to_path_buf(),
            send: false,
            state: Mutex::new(State {
                file: None,
                next_roll: next_roll_after(now_secs(), policy.hour),
            }),
            policy,
        });
        LOGS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_path_buf(), log.clone());
        log
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rolls the file now; the next line opens a new one.
    pub fn roll_now(&self) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.file = None;
        self.roll(now_secs())
    }

    /// Appends one line (a newline is added) in one write; rolls first when a roll is due.
    pub fn write(&self, line: &str) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = now_secs();
        if self.policy.daily && now >= state.next_roll {
            // The next roll is due tomorrow even if this one fails: a file that cannot be
            // renamed (permissions, another file system) keeps taking lines, and the
            // failure is reported once, not for every line of the day.
            state.next_roll = next_roll_after(now, self.policy.hour);
            state.file = None;
            if let Err(e) = self.roll(now) {
                crate::log::log(
                    crate::log::Severity::Warning,
                    &format!(
                        "nssmtpd: cannot roll {}: {}",
                        self.path.display(),
                        super::os_text(&e)
                    ),
                );
            }
        }
        if state.file.is_none() {
            state.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let file = state.file.as_mut().expect("opened above");
        let result = file.write_all(format!("{line}\n").as_bytes());
        if result.is_err() {
            // Reopened on the next line (the file may have been moved or the disk freed).
            state.file = None;
        }
        result
    }

    /// Renames the current file with a date suffix and removes the oldest backups.
    pub fn roll(&self, now: u64) -> std::io::Result<()> {
        if !self.path.exists() {
            return Ok(());
        }
        let fmt = if self.policy.format.is_empty() {
            "%Y-%m-%d"
        } else {
            &self.policy.format
        };
        let suffix = expand_suffix(fmt, &Utc::from_unix(now as i64));
        let mut target = PathBuf::from(format!("{}.{suffix}", self.path.display()));
        let mut n = 1;
        while target.exists() {
            target = PathBuf::from(format!("{}.{suffix}.{n}", self.path.display()));
            n += 1;
        }
        fs::rename(&self.path, &target)?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut backups: Vec<(SystemTime, PathBuf)> = fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{name}."))
            })
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        backups.sort();
        while backups.len() > self.policy.max_backups.max(1) {
            let (_, oldest) = backups.remove(0);
            let _ = fs::remove_file(oldest);
        }
        Ok(())
    }
}

/// One send-log line: `[time] thread status code [host]:port secs bytes sender RCPT: rcpts`.
#[allow(clippy::too_many_arguments)]
pub fn format_line(
    thread: &str,
    status: &str,
    code: &str,
    host: &str,
    port: u16,
    elapsed: Duration,
    bytes: usize,
    sender: &str,
    rcpts: &[String],
) -> String {
    let stamp = Utc::now().log_stamp();
    format!(
        "{} {thread} {status} {code} [{host}]:{port} {}.{:06} {bytes} {sender} RCPT: {}",
        stamp.replace(']', " +0000]"),
        elapsed.as_secs(),
        elapsed.subsec_micros(),
        rcpts.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_rolls() {
        let dir = std::env::temp_dir().join(format!("nssmtpd-sendlog-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("send.log");
        let policy = RollPolicy {
            daily: false,
            hour: 0,
            format: "%Y".into(),
            max_backups: 2,
        };
        let log = SendLog::open(&path, policy);
        log.write("one").unwrap();
        for i in 0..3 {
            log.state.lock().unwrap().file = None;
            log.roll(1_700_000_000 + i).unwrap();
            log.write("two").unwrap();
        }
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "two\n");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_due_daily_roll_happens_at_the_next_line() {
        let dir = std::env::temp_dir().join(format!("nssmtpd-eventroll-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.log");
        let policy = RollPolicy {
            daily: true,
            hour: 0,
            format: "%Y-%m-%d".into(),
            max_backups: 5,
        };
        let log = SendLog::open_other(&path, policy);
        log.write("before").unwrap();
        log.state.lock().unwrap().next_roll = 0;
        log.write("after").unwrap();
        let next = log.state.lock().unwrap().next_roll;
        assert_eq!(next, next_roll_after(now_secs(), 0));
        assert_eq!(fs::read_to_string(&path).unwrap(), "after\n");
        let backups: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("events.log."))
            .collect();
        assert_eq!(backups.len(), 1, "{backups:?}");
        assert_eq!(
            fs::read_to_string(dir.join(&backups[0])).unwrap(),
            "before\n"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn line_format() {
        let line = format_line(
            "-main-",
            "250",
            "SUCCESS",
            "localhost",
            25,
            Duration::from_micros(12_345),
            123,
            "a@b.c",
            &["x@y.z".into(), "u@v.w".into()],
        );
        assert!(
            line.ends_with(
                "] -main- 250 SUCCESS [localhost]:25 0.012345 123 a@b.c RCPT: x@y.z u@v.w"
            ),
            "{line}"
        );
        assert!(line.starts_with('[') && line.contains(" +0000] "));
        assert_eq!(next_roll_after(86_400 * 10 + 5, 0), 86_400 * 11);
        assert_eq!(expand_suffix("%Y-%m-%d", &Utc::from_unix(0)), "1970-01-01");
    }
}
