//! `ns_smtpd send`: one message to one server through the client engine.
use super::client::{ClientError, ClientErrorKind, ClientOptions, SmtpClient};
use super::dkim_sign::{sign_in_background, Choice, DkimSigners};
use crate::core::relay_target::RelayTarget;
use crate::core::server_reply::ServerReply;
use std::sync::Arc;

/// Why a send failed, with what the send log records.
#[derive(Debug)]
pub struct SendFailure {
    pub message: String,
    /// The last reply code (`000` if the server never answered).
    pub status: String,
    /// `CONNECT_FAILURE`, `GREET_FAILURE`, `IO_ERROR` or `STATUS_ERROR`.
    pub kind: &'static str,
    /// The Tcl `-errorcode`: `NSSMTPD REPLY code enhanced step` for a refusal, so code can
    /// tell 4xx from 5xx; `NSSMTPD READ TIMEOUT|EOF|ERROR` when a reply could not be read
    /// (as upstream; the step is in the message); `NSSMTPD CONNECT|TIMEOUT|IO|PROTOCOL step`
    /// otherwise.
    pub errorcode: Vec<String>,
}

/// A send that went through: the final reply code, and the recipients refused on the way
/// (only with `partial`).
#[derive(Debug)]
pub struct SendDone {
    pub code: String,
    pub refused: Vec<(String, ServerReply)>,
}

fn errorcode(e: &ClientError) -> Vec<String> {
    let step = e.step.to_string();
    let word = |w: &str| vec!["NSSMTPD".to_string(), w.to_string(), step.clone()];
    let read = |w: &str| vec!["NSSMTPD".to_string(), "READ".to_string(), w.to_string()];
    match &e.kind {
        ClientErrorKind::Refused(r) => vec![
            "NSSMTPD".into(),
            "REPLY".into(),
            r.code.to_string(),
            r.enhanced().unwrap_or_default().to_string(),
            step,
        ],
        ClientErrorKind::Connect(_) => word("CONNECT"),
        // Failed reads of a reply: upstream's codes, the step is in the message.
        ClientErrorKind::ReadTimeout(_) => read("TIMEOUT"),
        ClientErrorKind::ReadEof => read("EOF"),
        ClientErrorKind::ReadError(_) => read("ERROR"),
        ClientErrorKind::Timeout(_) => word("TIMEOUT"),
        ClientErrorKind::Closed => word("CLOSED"),
        ClientErrorKind::Io(_) => word("IO"),
        ClientErrorKind::Protocol(_) => word("PROTOCOL"),
    }
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
        message: format!("nssmtpd: send: {}", e.describe(target)),
        status,
        kind,
        errorcode: errorcode(&e),
    }
}

/// Refused recipients: the first refusal's reply and code, every refused address named.
fn refused_failure(target: &RelayTarget, refused: &[(String, ServerReply)]) -> SendFailure {
    let (_, first) = &refused[0];
    let names: Vec<&str> = refused.iter().map(|(a, _)| a.as_str()).collect();
    let mut f = failure(
        target,
        ClientError {
            step: "RCPT TO",
            kind: ClientErrorKind::Refused(first.clone()),
        },
    );
    f.message = format!(
        "nssmtpd: send: RCPT TO refused: {} (refused: {}; server {target})",
        first.joined(),
        names.join(", ")
    );
    f
}

/// Sends `message` from `from` to the recipients. Every recipient must be accepted, unless
/// `partial`: then the message goes to those accepted and the refused ones are returned
/// (still an error when none is accepted). With `dkim`, the message is signed first (by
/// the chosen entry; unsigned when no entry is chosen).
pub async fn send(
    target: RelayTarget,
    opts: ClientOptions,
    from: String,
    rcpts: Vec<String>,
    message: Vec<u8>,
    partial: bool,
    dkim: Option<(Arc<DkimSigners>, Choice)>,
) -> Result<SendDone, SendFailure> {
    let message = match dkim {
        None => message,
        Some((signers, choice)) => {
            match sign_in_background(signers, message.clone(), choice).await {
                Ok(Some(signed)) => signed,
                Ok(None) => message,
                Err(e) => {
                    return Err(SendFailure {
                        message: format!("nssmtpd: send: {e}"),
                        status: "000".into(),
                        kind: "IO_ERROR",
                        errorcode: vec!["NSSMTPD".into(), "DKIM".into(), "SIGN".into()],
                    })
                }
            }
        }
    };
    let fail = |e: ClientError| failure(&target, e);
    let refused = |step, r| ClientError {
        step,
        kind: ClientErrorKind::Refused(r),
    };
    let mut client = SmtpClient::connect(&target, &opts).await.map_err(fail)?;
    let r = client.mail(&from, &[]).await.map_err(fail)?;
    if !r.is_positive() {
        client.quit().await;
        return Err(fail(refused("MAIL FROM", r)));
    }
    // Every recipient is tried, so the error (or the result) names all that were refused.
    let mut not_taken = Vec::new();
    for rcpt in &rcpts {
        let r = client.rcpt(rcpt).await.map_err(fail)?;
        if !r.is_positive() {
            not_taken.push((rcpt.clone(), r));
        }
    }
    if !not_taken.is_empty() && (!partial || not_taken.len() == rcpts.len()) {
        client.quit().await;
        return Err(refused_failure(&target, &not_taken));
    }
    let r = client.data(&message).await.map_err(fail)?;
    if !r.is_positive() {
        client.quit().await;
        return Err(fail(refused("DATA", r)));
    }
    client.quit().await;
    Ok(SendDone {
        code: r.code.to_string(),
        refused: not_taken,
    })
}
