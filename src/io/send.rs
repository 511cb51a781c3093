//! `ns_smtpd send`: one message to one server through the client engine.
use super::client::{ClientError, ClientErrorKind, ClientOptions, SmtpClient};
use crate::core::relay_target::RelayTarget;

/// Why a send failed, with what the send log records.
#[derive(Debug)]
pub struct SendFailure {
    pub message: String,
    /// The last reply code (`000` if the server never answered).
    pub status: String,
    /// `CONNECT_FAILURE`, `GREET_FAILURE`, `IO_ERROR` or `STATUS_ERROR`.
    pub kind: &'static str,
}

fn failure(target: &RelayTarget, e: ClientError) -> SendFailure {
    let status = e
        .reply()
        .map(|r| r.code.to_string())
        .unwrap_or_else(|| "000".into());
    let kind = match (&e.kind, e.step) {
        (ClientErrorKind::Refused(_), "greeting") => "GREET_FAILURE",
        (ClientErrorKind::Refused(_), _) => "STATUS_ERROR",
        (_, "connect") => "CONNECT_FAILURE",
        (_, "greeting") => "GREET_FAILURE",
        _ => "IO_ERROR",
    };
    SendFailure {
        message: format!("nssmtpd: send: {e} (server {target})"),
        status,
        kind,
    }
}

/// Sends `message` from `from` to every recipient; all recipients must be accepted.
/// Returns the final reply code.
pub async fn send(
    target: RelayTarget,
    opts: ClientOptions,
    from: String,
    rcpts: Vec<String>,
    message: Vec<u8>,
) -> Result<String, SendFailure> {
    let fail = |e: ClientError| failure(&target, e);
    let refused = |step, r| ClientError {
        step,
        kind: ClientErrorKind::Refused(r),
    };
    let mut client = SmtpClient::connect(&target, &opts).await.map_err(fail)?;
    let r = client.mail(&from, &[]).await.map_err(fail)?;
    if !r.is_positive() {
        return Err(fail(refused("MAIL FROM", r)));
    }
    for rcpt in &rcpts {
        let r = client.rcpt(rcpt).await.map_err(fail)?;
        if !r.is_positive() {
            return Err(fail(refused("RCPT TO", r)));
        }
    }
    let r = client.data(&message).await.map_err(fail)?;
    if !r.is_positive() {
        return Err(fail(refused("DATA", r)));
    }
    client.quit().await;
    Ok(r.code.to_string())
}
