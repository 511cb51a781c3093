//! The dialogue with the next hop: each recipient a callback marked `VERIFIED` goes to its
//! domain's hop or the relay at RCPT time, the message at its end; a failure there becomes
//! the client's reply (by the core's `outcome` rules) and is shown to `errorproc`.
use super::callbacks::Verdict;
use super::Session;
use crate::core::envelope::Selector;
use crate::core::flags;
use crate::core::relay_target::RelayTarget;
use crate::core::reply::Reply;
use crate::core::rules::outcome;
use crate::io::client::{ClientError, ClientErrorKind};
use crate::io::dkim_sign::{sign_in_background, Choice};
use crate::io::policy::Hook;
use crate::log::{log, Severity};

impl Session {
    /// Where a just-accepted recipient goes next: its domain's own hop or the relay, if
    /// a callback marked it `VERIFIED`; `None` keeps it for dataproc.
    fn next_hop_for(&self, addr: &str) -> Option<RelayTarget> {
        let env = self.handle.envelope();
        let r = env.find(&Selector::Address(addr.to_string()))?;
        if r.flags & flags::VERIFIED == 0 {
            return None;
        }
        match &r.next_hop {
            Some(hop) => RelayTarget::parse(hop).ok().or_else(|| self.relay.clone()),
            None => self.relay.clone(),
        }
    }

    /// Passes a recipient to its next hop; `Some(reply)` if it must be refused.
    pub(super) async fn relay_recipient(&mut self, addr: &str) -> Option<Reply> {
        let target = self.next_hop_for(addr)?;
        let from = match self.handle.envelope().from.clone().unwrap_or_default() {
            f if f == "<>" => String::new(),
            f => f,
        };
        let params = self.mail_params.clone();
        let result = self
            .relay_tx
            .add_recipient(
                &self.shared.pool,
                &target,
                &self.client_opts,
                &from,
                &params,
                addr,
            )
            .await;
        let problem = match result {
            Ok(r) if r.is_positive() => return None,
            Ok(r) => ClientError {
                step: "RCPT TO",
                kind: ClientErrorKind::Refused(r),
            },
            Err(e) => e,
        };
        let command = if problem.step == "RCPT TO" {
            format!("RCPT TO:<{addr}>")
        } else {
            problem.step.to_string()
        };
        Some(self.relay_problem(&command, &target, &problem).await)
    }

    /// Hands the message to every hop with recipients; marks them `DELIVERED`. Returns the
    /// reply for the client if a hop failed.
    pub(super) async fn relay_message(&mut self, message: &[u8]) -> Option<Reply> {
        if self.relay_tx.is_empty() {
            return None;
        }
        let signed = match self.dkim_sign(message).await {
            Ok(signed) => signed,
            Err(reply) => return Some(reply),
        };
        let message = signed.as_deref().unwrap_or(message);
        let mut failure: Option<Reply> = None;
        for handoff in self.relay_tx.deliver(message).await {
            let problem = match handoff.result {
                Ok(r) if r.is_positive() => {
                    self.events.relay_reply = Some(r.joined());
                    self.events.relay_accepted = true;
                    self.shared.stats.message_relayed();
                    let mut env = self.handle.envelope();
                    for addr in &handoff.recipients {
                        if let Some(r) = env.find_mut(&Selector::Address(addr.clone())) {
                            r.flags |= flags::DELIVERED;
                        }
                    }
                    continue;
                }
                Ok(r) => {
                    self.events.relay_reply = Some(r.joined());
                    ClientError {
                        step: "end of data",
                        kind: ClientErrorKind::Refused(r),
                    }
                }
                Err(e) => {
                    self.events.transfer_failed = true;
                    if let Some(r) = e.reply() {
                        self.events.relay_reply = Some(r.joined());
                    }
                    e
                }
            };
            let reply = self
                .relay_problem(&problem.step.to_uppercase(), &handoff.target, &problem)
                .await;
            failure = Some(outcome::worse(failure, reply));
        }
        failure
    }

    /// The relayed copy with our DKIM-Signature first, if the client is trusted (`local` or
    /// authenticated) and the From: domain has a `dkimsign` entry (`None`: relayed as it
    /// is). Mail from anyone else is never signed: a stranger's forged From: would pass
    /// DMARC with our key. A signature that cannot be made fails the relay with a temporary
    /// error rather than sending the mail unsigned.
    async fn dkim_sign(&mut self, message: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
        let signers = self.shared.dkim_signers();
        if signers.is_empty() || !self.trusted_client() {
            return Ok(None);
        }
        let result = sign_in_background(signers, message.to_vec(), Choice::ByFrom).await;
        result.map_err(|e| {
            log(Severity::Error, &format!("nssmtpd: {}: {e}", self.id()));
            Reply::new(451, "4.3.0", "Message could not be signed, try again later")
        })
    }

    /// A failure at the next hop: logged, shown to errorproc (`getline` is
    /// `<command>: <relay reply>`), and turned into the client's reply.
    async fn relay_problem(
        &mut self,
        command: &str,
        target: &RelayTarget,
        e: &ClientError,
    ) -> Reply {
        self.shared.stats.relay_failure();
        let detail = match e.reply() {
            Some(r) => r.joined(),
            None => e.to_string(),
        };
        log(
            Severity::Error,
            &format!(
                "nssmtpd: {}: relay {target}: {command}: {detail}",
                self.id()
            ),
        );
        self.handle.envelope().line = format!("{command}: {detail}");
        if let Ok(Verdict::Reply(r)) = self.callback(Hook::Error).await {
            return r;
        }
        outcome::relay_failure(e.step, e.reply(), &target.to_string())
    }

    /// Ends the relay transaction (if any), giving its connections back to the pool.
    pub(super) async fn end_relay(&mut self) {
        let tx = std::mem::take(&mut self.relay_tx);
        tx.finish(&self.shared.pool).await;
    }
}
