//! AUTH PLAIN and AUTH LOGIN (RFC 4954, 4616), checked by `authproc`. The exchange is
//! decoded by the core (`rules::sasl`); here are its challenges and the policy's answer.
use super::{Flow, Session};
use crate::core::reply::Reply;
use crate::core::rules::replies;
use crate::core::rules::sasl::{self, Mechanism};
use crate::io::conn::Line;
use crate::io::policy::{Hook, HookOutcome};
use crate::log::{log, Severity};
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
        let (user, password) = match self.credentials(&arg).await {
            Ok(c) => c,
            Err(r) if r.code() == 421 => {
                self.conn.queue(&r);
                return Flow::Close;
            }
            Err(r) => return self.error_reply(r),
        };
        let policy = self.shared.policy.clone();
        self.handle.set_state("callback");
        let outcome = timeout(
            self.config.callbacktimeout,
            policy.call(Hook::Auth, self.id(), vec![user.clone(), password]),
        )
        .await;
        let accepted = match outcome {
            Ok(HookOutcome::Done(result)) => sasl::accepted(&result),
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
            return self.error_reply(replies::auth_invalid());
        }
        self.handle.envelope().auth_user = Some(user);
        self.reply(replies::auth_ok())
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
