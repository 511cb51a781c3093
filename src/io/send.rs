//! `ns_smtpd send`: one message to one server through the client engine.
use super::client::{ClientError, ClientErrorKind, ClientOptions, SmtpClient};
use crate::core::relay_target::RelayTarget;

/// Sends `message` from `from` to every recipient; all recipients must be accepted.
pub async fn send(
    target: RelayTarget,
    opts: ClientOptions,
    from: String,
    rcpts: Vec<String>,
    message: Vec<u8>,
) -> Result<(), String> {
    let fail = |e: ClientError| format!("nssmtpd: send: {e} (server {target})");
    let mut client = SmtpClient::connect(&target, &opts).await.map_err(&fail)?;
    let refused = |step, r| ClientError {
        step,
        kind: ClientErrorKind::Refused(r),
    };
    let r = client.mail(&from, "").await.map_err(&fail)?;
    if !r.is_positive() {
        return Err(fail(refused("MAIL FROM", r)));
    }
    for rcpt in &rcpts {
        let r = client.rcpt(rcpt).await.map_err(&fail)?;
        if !r.is_positive() {
            return Err(fail(refused("RCPT TO", r)));
        }
    }
    let r = client.data(&message).await.map_err(&fail)?;
    if !r.is_positive() {
        return Err(fail(refused("DATA", r)));
    }
    client.quit().await;
    Ok(())
}
