//! The relay path: one mail transaction with the next hop(s), kept in step with the client,
//! and a pool of idle relay connections reused across transactions.
use super::client::{ClientError, ClientErrorKind, ClientOptions, SmtpClient};
use crate::core::command::Param;
use crate::core::relay_target::RelayTarget;
use crate::core::server_reply::ServerReply;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an idle relay connection is kept, and how many per next hop.
const IDLE_LIMIT: Duration = Duration::from_secs(30);
const IDLE_PER_TARGET: usize = 8;

fn key(target: &RelayTarget) -> String {
    format!(
        "{target}|{}|{}",
        target.user.as_deref().unwrap_or(""),
        target.implicit_tls
    )
}

#[derive(Default)]
pub struct RelayPool {
    idle: Mutex<HashMap<String, Vec<(SmtpClient, Instant)>>>,
}

impl RelayPool {
    fn take(&self, target: &RelayTarget) -> Option<SmtpClient> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(&key(target))?;
        while let Some((client, since)) = list.pop() {
            if since.elapsed() < IDLE_LIMIT {
                return Some(client);
            }
            // Too old: the relay has probably closed it already.
            drop(client);
        }
        None
    }

    /// Keeps a clean connection for the next transaction.
    pub fn put(&self, client: SmtpClient) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.entry(key(&client.target)).or_default();
        list.retain(|(_, since)| since.elapsed() < IDLE_LIMIT);
        if list.len() < IDLE_PER_TARGET {
            list.push((client, Instant::now()));
        }
    }

    /// Drops every idle connection (server stop).
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// One next hop in the current transaction.
struct Leg {
    target: RelayTarget,
    client: Option<SmtpClient>,
    /// Recipients this hop accepted.
    accepted: Vec<String>,
    /// Set once the hop failed for the whole transaction (MAIL refused, connection lost).
    failed: Option<ClientError>,
}

/// The relay side of one mail transaction.
#[derive(Default)]
pub struct RelayTransaction {
    legs: Vec<Leg>,
}

/// The outcome of handing the message to one next hop.
pub struct Handoff {
    pub target: RelayTarget,
    pub recipients: Vec<String>,
    pub result: Result<ServerReply, ClientError>,
}

fn transient(e: &ClientError) -> bool {
    !matches!(e.kind, ClientErrorKind::Refused(_))
}

impl RelayTransaction {
    pub fn is_empty(&self) -> bool {
        self.legs.iter().all(|l| l.accepted.is_empty())
    }

    /// Opens (or reuses) the connection to `target` with MAIL FROM, then asks for `rcpt`.
    /// `Ok(reply)` is the relay's answer to RCPT (positive or not); `Err` means the hop
    /// could not be used at all.
    pub async fn add_recipient(
        &mut self,
        pool: &RelayPool,
        target: &RelayTarget,
        opts: &ClientOptions,
        from: &str,
        mail_params: &[Param],
        rcpt: &str,
    ) -> Result<ServerReply, ClientError> {
        let i = match self.legs.iter().position(|l| &l.target == target) {
            Some(i) => i,
            None => {
                self.legs.push(Leg {
                    target: target.clone(),
                    client: None,
                    accepted: Vec::new(),
                    failed: None,
                });
                self.legs.len() - 1
            }
        };
        let leg = &mut self.legs[i];
        if let Some(e) = &leg.failed {
            return Err(e.clone());
        }
        if leg.client.is_none() {
            match open(pool, target, opts, from, mail_params).await {
                Ok(c) => leg.client = Some(c),
                Err(e) => {
                    leg.failed = Some(e.clone());
                    return Err(e);
                }
            }
        }
        let client = leg.client.as_mut().expect("opened above");
        match client.rcpt(rcpt).await {
            Ok(reply) => {
                if reply.is_positive() {
                    leg.accepted.push(rcpt.to_string());
                }
                Ok(reply)
            }
            Err(e) => {
                leg.failed = Some(e.clone());
                leg.client = None;
                Err(e)
            }
        }
    }

    /// Hands the message to every hop that accepted recipients.
    pub async fn deliver(&mut self, message: &[u8]) -> Vec<Handoff> {
        let mut out = Vec::new();
        for leg in &mut self.legs {
            if leg.accepted.is_empty() {
                continue;
            }
            let result = match leg.client.as_mut() {
                Some(client) => match client.data(message).await {
                    Ok(reply) => Ok(reply),
                    Err(e) => {
                        leg.client = None;
                        Err(e)
                    }
                },
                None => Err(leg.failed.clone().unwrap_or(ClientError {
                    step: "DATA",
                    kind: ClientErrorKind::Closed,
                })),
            };
            out.push(Handoff {
                target: leg.target.clone(),
                recipients: std::mem::take(&mut leg.accepted),
                result,
            });
        }
        out
    }

    /// Ends the transaction: clean connections go back to the pool, others are closed.
    pub async fn finish(self, pool: &RelayPool) {
        for leg in self.legs {
            if let Some(mut client) = leg.client {
                if client.reset().await.is_ok() {
                    pool.put(client);
                } else {
                    client.quit().await;
                }
            }
        }
    }
}

/// A connection ready for RCPT: pooled if possible (retrying once on a fresh one if the
/// pooled connection turns out dead), with MAIL FROM accepted.
async fn open(
    pool: &RelayPool,
    target: &RelayTarget,
    opts: &ClientOptions,
    from: &str,
    params: &[Param],
) -> Result<SmtpClient, ClientError> {
    if let Some(mut client) = pool.take(target) {
        match client.mail(from, params).await {
            Ok(r) if r.is_positive() => return Ok(client),
            // The relay closed the idle connection (421 on its timeout): try a new one.
            Ok(r) if r.code == 421 => {}
            Ok(r) => {
                return Err(ClientError {
                    step: "MAIL FROM",
                    kind: ClientErrorKind::Refused(r),
                })
            }
            Err(e) if transient(&e) => {} // Stale pooled connection: try a new one.
            Err(e) => return Err(e),
        }
    }
    let mut client = SmtpClient::connect(target, opts).await?;
    let r = client.mail(from, params).await?;
    if !r.is_positive() {
        return Err(ClientError {
            step: "MAIL FROM",
            kind: ClientErrorKind::Refused(r),
        });
    }
    Ok(client)
}
