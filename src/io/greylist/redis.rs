//! The greylist in Redis (or Valkey), shared by several servers. The decision is
//! `core::greylist::step`, as for the memory table; Redis only stores entries, each with a
//! TTL, and a compare-and-set script makes two servers deciding the same tuple at once agree.
//! Every call has a short timeout, and after a failure the backend is not asked again for a
//! few seconds, so an unreachable Redis never stalls a session.
use crate::core::greylist::{step, Entry, Reason, Settings, Tuple};
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a connect or one command may take.
const TIMEOUT: Duration = Duration::from_millis(1000);
/// How long an unreachable backend is left alone.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// Keys are this prefix and the tuple as a JSON array.
const PREFIX: &str = "nssmtpd:greylist:";
/// Attempts of a compare-and-set that another server's write overtook.
const ATTEMPTS: usize = 3;

/// Stores the new value only if the old one is still there (`""`: absent).
const COMPARE_AND_SET: &str = r"
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
";

pub struct RedisBackend {
    pub url: String,
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    down_until: Mutex<Option<Instant>>,
    script: redis::Script,
}

impl RedisBackend {
    /// Checks the URL; connects on first use.
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("invalid value \"{url}\" for -greylistbackend: {e}"))?;
        Ok(RedisBackend {
            url: url.to_string(),
            client,
            connection: tokio::sync::Mutex::new(None),
            down_until: Mutex::new(None),
            script: redis::Script::new(COMPARE_AND_SET),
        })
    }

    /// Decides one attempt at `now`.
    pub async fn check(&self, tuple: &Tuple, now: i64, s: &Settings) -> Result<Reason, String> {
        let key = key(tuple);
        let mut conn = self.connection().await?;
        for _ in 0..ATTEMPTS {
            let old: Option<String> = self.run(redis::cmd("GET").arg(&key), &mut conn).await?;
            let before = old.as_deref().and_then(parse);
            let (reason, entry) = step(before, now, s);
            if Some(entry) == before {
                return Ok(reason);
            }
            let ttl = (entry.expires - now).max(1);
            let mut invocation = self.script.key(&key);
            invocation
                .arg(old.unwrap_or_default())
                .arg(render(&entry))
                .arg(ttl);
            let stored: i64 = self.timed(invocation.invoke_async(&mut conn)).await?;
            if stored == 1 {
                return Ok(reason);
            }
        }
        Err("greylist entry changed by others too often".into())
    }

    /// Every entry (`SCAN` over the prefix).
    pub async fn entries(&self) -> Result<Vec<(Tuple, Entry)>, String> {
        let mut conn = self.connection().await?;
        let keys = self.keys(&mut conn).await?;
        let mut out = Vec::new();
        for key in keys {
            let value: Option<String> = self.run(redis::cmd("GET").arg(&key), &mut conn).await?;
            if let (Some(tuple), Some(entry)) = (tuple_of(&key), value.as_deref().and_then(parse)) {
                out.push((tuple, entry));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Removes every entry; returns how many.
    pub async fn flush(&self) -> Result<usize, String> {
        let mut conn = self.connection().await?;
        let keys = self.keys(&mut conn).await?;
        let mut removed = 0;
        for chunk in keys.chunks(500) {
            let n: usize = self.run(redis::cmd("DEL").arg(chunk), &mut conn).await?;
            removed += n;
        }
        Ok(removed)
    }

    async fn keys(&self, conn: &mut MultiplexedConnection) -> Result<Vec<String>, String> {
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = self
                .run(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(format!("{PREFIX}*"))
                        .arg("COUNT")
                        .arg(1000),
                    conn,
                )
                .await?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    /// The shared connection, made on first use or after a failure.
    async fn connection(&self) -> Result<MultiplexedConnection, String> {
        if let Some(until) = *self.down_until.lock().unwrap_or_else(|e| e.into_inner()) {
            if Instant::now() < until {
                return Err(format!("{} is unavailable", self.url));
            }
        }
        let mut slot = self.connection.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT);
        let made = tokio::time::timeout(
            TIMEOUT,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await;
        match made {
            Ok(Ok(conn)) => {
                *slot = Some(conn.clone());
                Ok(conn)
            }
            Ok(Err(e)) => Err(self.failed(&e.to_string())),
            Err(_) => Err(self.failed("connect timed out")),
        }
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        conn: &mut MultiplexedConnection,
    ) -> Result<T, String> {
        self.timed(cmd.query_async(conn)).await
    }

    async fn timed<T>(
        &self,
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(TIMEOUT, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                // A broken connection is made anew next time.
                if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                    *self.connection.lock().await = None;
                }
                Err(self.failed(&e.to_string()))
            }
            Err(_) => {
                *self.connection.lock().await = None;
                Err(self.failed("command timed out"))
            }
        }
    }

    /// Marks the backend down for a while; returns the error text.
    fn failed(&self, why: &str) -> String {
        *self.down_until.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + RETRY_AFTER);
        format!("{}: {why}", self.url)
    }
}

fn key(t: &Tuple) -> String {
    format!(
        "{PREFIX}{}",
        serde_json::json!([t.peer, t.sender, t.recipient])
    )
}

fn tuple_of(key: &str) -> Option<Tuple> {
    let parts: Vec<String> = serde_json::from_str(key.strip_prefix(PREFIX)?).ok()?;
    match <[String; 3]>::try_from(parts) {
        Ok([peer, sender, recipient]) => Some(Tuple {
            peer,
            sender,
            recipient,
        }),
        Err(_) => None,
    }
}

/// An entry as stored: `first expires passed`.
fn render(e: &Entry) -> String {
    format!("{} {} {}", e.first, e.expires, u8::from(e.passed))
}

fn parse(text: &str) -> Option<Entry> {
    let mut words = text.split(' ');
    let first = words.next()?.parse().ok()?;
    let expires = words.next()?.parse().ok()?;
    let passed = match words.next()? {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    words.next().is_none().then_some(Entry {
        first,
        expires,
        passed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip() {
        let t = Tuple {
            peer: "2001:db8::1".into(),
            sender: String::new(),
            recipient: "\"a b\"@example.org".into(),
        };
        assert_eq!(tuple_of(&key(&t)), Some(t));
        let e = Entry {
            first: 5,
            expires: 9,
            passed: true,
        };
        assert_eq!(parse(&render(&e)), Some(e));
        assert_eq!(parse("5 9 2"), None);
        assert_eq!(parse("5 9 1 x"), None);
        assert!(RedisBackend::new("memory").is_err());
    }
}
