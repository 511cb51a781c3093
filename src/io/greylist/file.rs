//! The greylist's state file: JSON, written by atomic replacement (a temporary file in the
//! same directory, then `rename`), readable by its owner only, since it holds envelope
//! addresses and peer addresses.
use crate::core::greylist::{Entry, Tuple};
use serde_json::{json, Value};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

const FORMAT: &str = "nssmtpd-greylist";
const VERSION: i64 = 1;

/// Writes every entry to `path`, replacing it whole or not at all.
pub fn save(path: &Path, entries: &[(Tuple, Entry)]) -> Result<(), String> {
    let rows: Vec<Value> = entries
        .iter()
        .map(|(t, e)| {
            json!({
                "peeraddr": t.peer, "sender": t.sender, "recipient": t.recipient,
                "first": e.first, "expires": e.expires, "passed": e.passed,
            })
        })
        .collect();
    let text = json!({"format": FORMAT, "version": VERSION, "entries": rows}).to_string();
    let name = path
        .file_name()
        .ok_or_else(|| format!("\"{}\" names no file", path.display()))?;
    let mut temp_name = name.to_os_string();
    temp_name.push(format!(".tmp{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!(
            "cannot write \"{}\": {}",
            path.display(),
            super::super::os_text(&e)
        )
    })
}

/// Reads the entries saved in `path`; `None` when there is no such file.
pub fn load(path: &Path) -> Result<Option<Vec<(Tuple, Entry)>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot read \"{}\": {}",
                path.display(),
                super::super::os_text(&e)
            ))
        }
    };
    let bad = |why: &str| format!("\"{}\" is no greylist state file: {why}", path.display());
    let doc: Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    if doc["format"] != FORMAT || doc["version"] != VERSION {
        return Err(bad("unknown format or version"));
    }
    let rows = doc["entries"].as_array().ok_or_else(|| bad("no entries"))?;
    rows.iter()
        .map(|row| entry(row).ok_or_else(|| bad(&format!("malformed entry {row}"))))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn entry(row: &Value) -> Option<(Tuple, Entry)> {
    let text = |k: &str| row[k].as_str().map(str::to_string);
    Some((
        Tuple {
            peer: text("peeraddr")?,
            sender: text("sender")?,
            recipient: text("recipient")?,
        },
        Entry {
            first: row["first"].as_i64()?,
            expires: row["expires"].as_i64()?,
            passed: row["passed"].as_bool()?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn saved_entries_load_back_and_the_file_is_private() {
        let dir = std::env::temp_dir().join(format!("nssmtpd-grey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("grey.state");
        let entries = vec![(
            Tuple {
                peer: "192.0.2.1".into(),
                sender: String::new(),
                recipient: "\"a b\"@example.org".into(),
            },
            Entry {
                first: 10,
                expires: 20,
                passed: true,
            },
        )];
        save(&path, &entries).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load(&path).unwrap(), Some(entries));
        assert_eq!(load(&dir.join("none")).unwrap(), None);
        std::fs::write(&path, "{\"format\":\"x\"}").unwrap();
        assert!(load(&path).unwrap_err().contains("no greylist state file"));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
