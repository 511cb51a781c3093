//! AUTH PLAIN and AUTH LOGIN (RFC 4954, 4616), checked by `authproc`. The exchange is
//! decoded by the core (`rules::sasl`); here are its challenges and the policy's answer.
use super::transport::forced_stop;
use super::{Flow, Session};
use crate::core::flags;
use crate::core::reply::Reply;
use crate::core::rules::replies;
use crate::core::rules::sasl::{self, Mechanism};
use crate::io::auth_guard::failure_delay;
use crate::io::conn::Line;
use crate::io::policy::{Hook, HookOutcome};
use crate::io::shared::Mode;
use crate::log::{log, Severity};
use std::time::Duration;
use tokio::time::timeout;

impl Session {
    /// An `authproc` is configured.
    pub(super) fn auth_configured(&self) -> bool {
        self.shared.policy.wants(Hook::Auth)
    }

    /// AUTH is offered when an `authproc` is configured, after STARTTLS (or always with
    /// `authwithouttls`).
    pub(super) fn auth_offered(&self) -> bool {
        self.auth_configured() && (self.handle.tls().is_some() || self.config.authwithouttls)
    }

    /// AUTH, once its order was checked.
    pub(super) async fn auth(&mut self, arg: String) -> Flow {
        let exempt = self.handle.envelope().flags & flags::LOCAL != 0;
        let max = self.config.maxauthfailures;
        if !exempt && self.shared.auth_failures.locked_out(self.peer.ip(), max) {
            self.shared.stats.auth_lockout();
            return self.error_reply(replies::auth_locked_out());
        }
        let (user, password) = match self.credentials(&arg).await {
            Ok(c) => c,
            Err(r) if r.code() == 421 => {
                self.conn.queue(&r);
                return Flow::Close;
            }
            Err(r) => return self.error_reply(r),
        };
        let policy = self.shared.policy.clone();
        self.handle.envelope().reply = None;
        self.handle.set_state("callback");
        let outcome = timeout(
            self.config.callbacktimeout,
            policy.call(Hook::Auth, self.id(), vec![user.clone(), password]),
        )
        .await;
        // `setreply` in authproc chooses the reply; a refusing reply refuses.
        let own_reply = self
            .handle
            .envelope()
            .reply
            .take()
            .and_then(|t| Reply::from_callback(&t));
        let accepted = match outcome {
            Ok(HookOutcome::Done(result)) => {
                sasl::accepted(&result) && own_reply.as_ref().is_none_or(Reply::is_positive)
            }
            Ok(HookOutcome::Failed(info)) => {
                self.shared.stats.callback_error();
                log(
                    Severity::Error,
                    &format!("nssmtpd: {}: authproc failed: {info}", self.id()),
                );
                return self.error_reply(replies::auth_temporary_failure());
            }
            _ => {
                self.shared.stats.callback_error();
                return self.error_reply(replies::auth_temporary_failure());
            }
        };
        if !accepted {
            log(
                Severity::Notice,
                &format!(
                    "nssmtpd: {}: HOST: {}, AUTH failed for user {user}",
                    self.id(),
                    self.peer.ip()
                ),
            );
            self.shared.stats.auth_failure();
            if !exempt {
                self.shared.auth_failures.failed(self.peer.ip());
                self.slow_down_after_failure().await;
            }
            let reply = own_reply
                .filter(|r| !r.is_positive())
                .unwrap_or_else(replies::auth_invalid);
            return self.error_reply(reply);
        }
        self.handle.envelope().auth_user = Some(user);
        let reply = own_reply
            .filter(|r| r.code() == 235)
            .unwrap_or_else(replies::auth_ok);
        self.reply(reply)
    }

    /// Guessing passwords gets slower: each failed AUTH of the session is answered later than
    /// the last (`authfaildelay`, doubled, up to `authfaildelaymax`), whatever `errordelay`.
    async fn slow_down_after_failure(&mut self) {
        self.auth_failures += 1;
        let wait = failure_delay(
            self.auth_failures,
            Duration::from_millis(self.config.authfaildelay),
            Duration::from_millis(self.config.authfaildelaymax),
        );
        if wait.is_zero() || self.mode == Mode::Replay {
            return;
        }
        let _ = self.conn.flush().await;
        self.handle.set_state("tarpit");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = forced_stop(self.shutdown.clone()) => {}
        }
    }

    /// The user and password of the exchange, asking for what the client did not give.
    async fn credentials(&mut self, arg: &str) -> Result<(String, String), Reply> {
        let (mechanism, initial) = sasl::parse_auth(arg)?;
        match mechanism {
            Mechanism::Plain => {
                let response = match initial {
                    Some(r) => r,
                    None => self.challenge("").await?,
                };
                sasl::plain_credentials(&response)
            }
            Mechanism::Login => {
                let user = match initial {
                    Some(r) => r,
                    None => self.challenge(sasl::LOGIN_USER_PROMPT).await?,
                };
                let user = sasl::login_field(&user)?;
                let password = self.challenge(sasl::LOGIN_PASSWORD_PROMPT).await?;
                Ok((user, sasl::login_field(&password)?))
            }
        }
    }

    /// Sends a `334` challenge and reads the client's answer; `*` cancels (RFC 4954).
    async fn challenge(&mut self, text: &str) -> Result<String, Reply> {
        self.conn.queue(&replies::challenge(text));
        match self.conn.read_line(self.config.maxline).await {
            Ok(Line::Text(bytes)) => sasl::challenge_answer(&bytes),
            Ok(Line::TooLong) => Err(replies::auth_line_too_long()),
            Err(_) => Err(replies::auth_connection_problem()),
        }
    }
}
