//! Content checks against the daemons people run: SpamAssassin's spamd (SPAMC/1.5 protocol),
//! rspamd (HTTP `/checkv2`), and ClamAV's clamd (`INSTREAM`). Every exchange is bounded by a
//! timeout; a daemon that is down is an error for the caller to turn into its `scanfail`
//! outcome.
use std::fmt;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::timeout;

#[derive(Debug, Clone, PartialEq)]
pub struct ScanError(pub String);

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A spam verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct SpamVerdict {
    pub spam: bool,
    pub score: f64,
    pub threshold: f64,
    /// The rules that matched, comma-separated.
    pub symbols: String,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Connects to `host:port`, `[v6]:port`, `host` (with `default_port`) or a unix socket path.
async fn connect(addr: &str, default_port: u16) -> Result<Box<dyn Io>, ScanError> {
    let fail =
        |e: std::io::Error| ScanError(format!("cannot connect to {addr}: {}", super::os_text(&e)));
    if addr.starts_with('/') {
        return Ok(Box::new(UnixStream::connect(addr).await.map_err(fail)?));
    }
    let (host, port) = crate::core::relay_target::parse_host_port(addr, default_port, addr)
        .map_err(|e| ScanError(e.0))?;
    Ok(Box::new(
        TcpStream::connect((host.as_str(), port))
            .await
            .map_err(fail)?,
    ))
}

/// Sends `request` and reads the whole answer (the daemon closes when done). spamd wants the
/// write side closed after the request; rspamd (HTTP with `Connection: close`) does not.
async fn exchange(
    addr: &str,
    port: u16,
    request: &[u8],
    limit: Duration,
) -> Result<Vec<u8>, ScanError> {
    exchange_with(addr, port, request, limit, true).await
}

async fn exchange_with(
    addr: &str,
    port: u16,
    request: &[u8],
    limit: Duration,
    half_close: bool,
) -> Result<Vec<u8>, ScanError> {
    let work = async {
        let mut s = connect(addr, port).await?;
        s.write_all(request)
            .await
            .map_err(|e| ScanError(format!("{addr}: write failed: {}", super::os_text(&e))))?;
        if half_close {
            let _ = s.shutdown().await;
        }
        let mut answer = Vec::new();
        s.take(1 << 20)
            .read_to_end(&mut answer)
            .await
            .map_err(|e| ScanError(format!("{addr}: read failed: {}", super::os_text(&e))))?;
        Ok(answer)
    };
    timeout(limit, work)
        .await
        .map_err(|_| ScanError(format!("{addr}: no answer within {}s", limit.as_secs())))?
}

/// spamd: `SYMBOLS`, with the recipient as `User` when given.
pub async fn spamd_check(
    addr: &str,
    message: &[u8],
    user: Option<&str>,
    limit: Duration,
) -> Result<SpamVerdict, ScanError> {
    let req = format!("SYMBOLS SPAMC/1.5\r\nContent-length: {}\r\n", message.len());
    let bytes = request(req, "User", user, message);
    let answer = exchange(addr, 783, &bytes, limit).await?;
    parse_spamd(&String::from_utf8_lossy(&answer))
}

/// Parses `SPAMD/1.1 0 EX_OK`, `Spam: True ; 1000.0 / 5.0`, blank line, symbols.
pub fn parse_spamd(answer: &str) -> Result<SpamVerdict, ScanError> {
    let mut lines = answer.split("\r\n");
    let status = lines.next().unwrap_or("");
    if !status.starts_with("SPAMD/") || !status.contains("EX_OK") {
        return Err(ScanError(format!("spamd answered: {}", status.trim())));
    }
    let mut verdict = None;
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        if let Some(rest) = line.strip_prefix("Spam:") {
            let (flag, scores) = rest
                .split_once(';')
                .ok_or_else(|| ScanError(format!("bad spamd line: {line}")))?;
            let (score, threshold) = scores.split_once('/').unwrap_or((scores, "0"));
            verdict = Some(SpamVerdict {
                spam: flag.trim().eq_ignore_ascii_case("true")
                    || flag.trim().eq_ignore_ascii_case("yes"),
                score: score
                    .trim()
                    .parse()
                    .map_err(|_| ScanError(format!("bad spamd score: {line}")))?,
                threshold: threshold.trim().parse().unwrap_or(0.0),
                symbols: String::new(),
            });
        }
    }
    let mut v = verdict.ok_or_else(|| ScanError("spamd gave no Spam: line".into()))?;
    v.symbols = lines.collect::<Vec<_>>().join("").trim().to_string();
    Ok(v)
}

/// spamd: `TELL` (learn a message as spam or ham).
pub async fn spamd_tell(
    addr: &str,
    message: &[u8],
    spam: bool,
    user: Option<&str>,
    limit: Duration,
) -> Result<String, ScanError> {
    let req = format!(
        "TELL SPAMC/1.5\r\nMessage-class: {}\r\nSet: local\r\nContent-length: {}\r\n",
        if spam { "spam" } else { "ham" },
        message.len()
    );
    let bytes = request(req, "User", user, message);
    let answer = String::from_utf8_lossy(&exchange(addr, 783, &bytes, limit).await?).into_owned();
    let mut lines = answer.split("\r\n");
    let status = lines.next().unwrap_or("");
    if !status.contains("EX_OK") {
        return Err(ScanError(format!("spamd answered: {}", status.trim())));
    }
    let did: Vec<&str> = lines.filter(|l| l.starts_with("Did")).collect();
    Ok(if did.is_empty() {
        "DidSet: none".to_string()
    } else {
        did.join(", ")
    })
}

/// spamd: `PING`, giving the protocol version (`SPAMD/1.5`).
pub async fn spamd_version(addr: &str, limit: Duration) -> Result<String, ScanError> {
    let answer = exchange(addr, 783, b"PING SPAMC/1.5\r\n\r\n", limit).await?;
    let text = String::from_utf8_lossy(&answer);
    let first = text.lines().next().unwrap_or("");
    if !first.contains("PONG") {
        return Err(ScanError(format!("spamd answered: {first}")));
    }
    Ok(format!(
        "SpamAssassin {}",
        first.split_whitespace().next().unwrap_or("")
    ))
}

/// rspamd: `POST /checkv2`.
pub async fn rspamd_check(
    addr: &str,
    message: &[u8],
    user: Option<&str>,
    limit: Duration,
) -> Result<SpamVerdict, ScanError> {
    let req = format!(
        "POST /checkv2 HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\nContent-Length: {}\r\nPass: all\r\n",
        message.len()
    );
    let bytes = request(req, "Rcpt", user, message);
    let answer = exchange_with(addr, 11333, &bytes, limit, false).await?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| ScanError("rspamd: no HTTP body".into()))?;
    if !head.lines().next().unwrap_or("").contains(" 200") {
        return Err(ScanError(format!(
            "rspamd answered: {}",
            head.lines().next().unwrap_or("")
        )));
    }
    let json: serde_json::Value =
        serde_json::from_str(body).map_err(|e| ScanError(format!("rspamd: bad JSON: {e}")))?;
    let score = json["score"].as_f64().unwrap_or(0.0);
    let threshold = json["required_score"].as_f64().unwrap_or(0.0);
    let action = json["action"].as_str().unwrap_or("no action");
    let mut symbols: Vec<&str> = json["symbols"]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    symbols.sort();
    Ok(SpamVerdict {
        spam: matches!(action, "reject" | "add header" | "rewrite subject"),
        score,
        threshold,
        symbols: symbols.join(","),
    })
}

/// rspamd: the version from the `Server:` header of `GET /ping`.
pub async fn rspamd_version(addr: &str, limit: Duration) -> Result<String, ScanError> {
    let answer = exchange_with(
        addr,
        11333,
        b"GET /ping HTTP/1.1\r\nHost: rspamd\r\nConnection: close\r\n\r\n",
        limit,
        false,
    )
    .await?;
    let text = String::from_utf8_lossy(&answer);
    text.lines()
        .find_map(|l| l.strip_prefix("Server: "))
        .map(|v| v.trim().replace('/', " "))
        .ok_or_else(|| ScanError("rspamd: no Server header".into()))
}

/// clamd: `INSTREAM` in chunks; `Ok(None)` when clean, `Ok(Some(name))` when infected.
pub async fn clamd_scan(
    addr: &str,
    data: &[u8],
    limit: Duration,
) -> Result<Option<String>, ScanError> {
    let mut req = b"zINSTREAM\0".to_vec();
    for chunk in data.chunks(64 * 1024) {
        req.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        req.extend_from_slice(chunk);
    }
    req.extend_from_slice(&0u32.to_be_bytes());
    let answer = exchange(addr, 3310, &req, limit).await?;
    parse_clamd(&String::from_utf8_lossy(&answer))
}

/// `stream: OK`, `stream: Name FOUND`, or an error such as `INSTREAM size limit exceeded`.
pub fn parse_clamd(answer: &str) -> Result<Option<String>, ScanError> {
    let line = answer.trim_end_matches(['\0', '\n', '\r']).trim();
    let result = line.strip_prefix("stream:").map(str::trim).unwrap_or(line);
    if result == "OK" {
        Ok(None)
    } else if let Some(name) = result.strip_suffix(" FOUND") {
        Ok(Some(name.trim().to_string()))
    } else {
        Err(ScanError(format!("clamd answered: {line}")))
    }
}

/// clamd: `VERSION`.
pub async fn clamd_version(addr: &str, limit: Duration) -> Result<String, ScanError> {
    let answer = exchange(addr, 3310, b"zVERSION\0", limit).await?;
    let text = String::from_utf8_lossy(&answer)
        .trim_end_matches('\0')
        .trim()
        .to_string();
    if text.is_empty() {
        return Err(ScanError("clamd gave no version".into()));
    }
    Ok(text)
}

/// Which daemons are known to be down, so an outage is logged once, not once per message.
fn outage(daemon: &str, down: bool, why: &str) {
    use std::collections::HashSet;
    use std::sync::{LazyLock, Mutex};
    static DOWN: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));
    let mut set = DOWN.lock().unwrap_or_else(|e| e.into_inner());
    if down && set.insert(daemon.to_string()) {
        crate::log::log(
            crate::log::Severity::Error,
            &format!("nssmtpd: content check {daemon} unavailable: {why}"),
        );
    } else if !down && set.remove(daemon) {
        crate::log::log(
            crate::log::Severity::Notice,
            &format!("nssmtpd: content check {daemon} available again"),
        );
    }
}

/// A request: `head` (header lines), the user's header when given (never one that could
/// break the header block), a blank line, then the message.
fn request(mut head: String, user_header: &str, user: Option<&str>, message: &[u8]) -> Vec<u8> {
    if let Some(u) = user.filter(|u| !u.contains(['\r', '\n'])) {
        head.push_str(&format!("{user_header}: {u}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(message);
    bytes
}

/// The spam check configured (rspamd if set, else spamd), with outage logging.
pub async fn spam_check(
    spamd: &str,
    rspamd: &str,
    message: &[u8],
    user: Option<&str>,
    limit: Duration,
) -> Result<SpamVerdict, ScanError> {
    let (name, result) = if !rspamd.is_empty() {
        (rspamd, rspamd_check(rspamd, message, user, limit).await)
    } else {
        (spamd, spamd_check(spamd, message, user, limit).await)
    };
    outage(
        name,
        result.is_err(),
        &result
            .as_ref()
            .err()
            .map(|e| e.0.clone())
            .unwrap_or_default(),
    );
    result
}

/// The virus check with outage logging.
pub async fn virus_check(
    clamd: &str,
    data: &[u8],
    limit: Duration,
) -> Result<Option<String>, ScanError> {
    let result = clamd_scan(clamd, data, limit).await;
    outage(
        clamd,
        result.is_err(),
        &result
            .as_ref()
            .err()
            .map(|e| e.0.clone())
            .unwrap_or_default(),
    );
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spamd_answers() {
        let v = parse_spamd("SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED\r\n").unwrap();
        assert!(v.spam);
        assert_eq!((v.score, v.threshold), (1000.0, 5.0));
        assert_eq!(v.symbols, "GTUBE,NO_RECEIVED");
        let v = parse_spamd("SPAMD/1.1 0 EX_OK\r\nSpam: False ; 1.2 / 5.0\r\n\r\n").unwrap();
        assert!(!v.spam);
        assert!(parse_spamd("SPAMD/1.0 76 Bad header line").is_err());
        assert!(parse_spamd("").is_err());
    }

    #[test]
    fn clamd_answers() {
        assert_eq!(parse_clamd("stream: OK\0").unwrap(), None);
        assert_eq!(
            parse_clamd("stream: Eicar-Test-Signature FOUND\0").unwrap(),
            Some("Eicar-Test-Signature".into())
        );
        assert!(parse_clamd("INSTREAM size limit exceeded. ERROR\0").is_err());
    }
}
