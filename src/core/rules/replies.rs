//! Every fixed reply a session gives, by name: the one place their codes, enhanced codes
//! and texts live. Replies that carry a host name take it as an argument.
use crate::core::reply::Reply;

// Connection level: said once, then the connection is closed.

pub fn cannot_resolve_client(host: &str) -> Reply {
    Reply::new(
        421,
        "4.7.25",
        &format!("{host} Cannot find your host name, try again later"),
    )
}

pub fn session_time_limit(host: &str) -> Reply {
    Reply::new(421, "4.4.2", &format!("{host} Session time limit exceeded"))
}

pub fn untrusted_proxy(host: &str) -> Reply {
    Reply::new(
        554,
        "5.7.0",
        &format!("{host} Connections are accepted from trusted proxies only"),
    )
}

pub fn invalid_proxy_header(host: &str) -> Reply {
    Reply::new(421, "4.7.0", &format!("{host} Invalid PROXY header"))
}

pub fn early_talker(host: &str) -> Reply {
    Reply::new(
        554,
        "5.5.1",
        &format!("{host} Protocol error: input before the greeting"),
    )
}

/// A stop of the server; `host` is empty when the server is already gone.
pub fn shutting_down(host: &str) -> Reply {
    if host.is_empty() {
        return Reply::new(421, "4.3.2", "Service shutting down");
    }
    Reply::new(421, "4.3.2", &format!("{host} Service shutting down"))
}

pub fn timeout(host: &str) -> Reply {
    Reply::new(421, "4.4.2", &format!("{host} Error: timeout exceeded"))
}

pub fn too_many_errors(host: &str) -> Reply {
    Reply::new(
        421,
        "4.7.0",
        &format!("{host} Too many errors, closing connection"),
    )
}

/// A session that failed inside the server (a bug): the client should try again.
pub fn internal_failure(host: &str) -> Reply {
    Reply::new(
        421,
        "4.3.0",
        &format!("{host} Internal error, closing connection"),
    )
}

pub fn too_many_connections() -> Reply {
    Reply::new(421, "4.7.0", "Too many connections, try again later")
}

pub fn too_many_from_address(host: &str) -> Reply {
    Reply::new(
        421,
        "4.7.0",
        &format!("{host} Too many connections from your address"),
    )
}

pub fn connection_rate_exceeded(host: &str) -> Reply {
    Reply::new(
        421,
        "4.7.0",
        &format!("{host} Connection rate limit exceeded, try again later"),
    )
}

pub fn system_busy(host: &str) -> Reply {
    Reply::new(
        421,
        "4.3.2",
        &format!("{host} System busy, try again later"),
    )
}

pub fn bye(host: &str) -> Reply {
    Reply::new(221, "2.0.0", &format!("{host} Bye"))
}

// Command syntax and order.

pub fn line_too_long() -> Reply {
    Reply::new(500, "5.5.2", "Line too long")
}

pub fn nul_in_command() -> Reply {
    Reply::new(500, "5.5.2", "Syntax error: NUL character in command")
}

pub fn unrecognized() -> Reply {
    Reply::new(500, "5.5.2", "Command unrecognized")
}

pub fn syntax(why: &str) -> Reply {
    Reply::new(501, "5.5.4", why)
}

pub fn use_lhlo() -> Reply {
    Reply::new(500, "5.5.1", "This is LMTP: use LHLO")
}

pub fn bdat_abandoned() -> Reply {
    Reply::new(503, "5.5.1", "Bad sequence: BDAT transfer abandoned")
}

pub fn helo_syntax(verb: &str) -> Reply {
    Reply::new(501, "5.5.4", &format!("Syntax: {verb} hostname"))
}

/// A HELO style rule's `!text`.
pub fn helo_refused(text: &str) -> Reply {
    Reply::new(550, "5.7.1", text)
}

pub fn mail_after_refused_helo() -> Reply {
    Reply::new(503, "5.5.1", "Bad sequence: your HELO/EHLO was refused")
}

pub fn insufficient_storage() -> Reply {
    Reply::new(452, "4.3.1", "Insufficient system storage")
}

/// RFC 3207 §4.2: after STARTTLS the session is back at its start, so EHLO comes first.
pub fn hello_after_starttls() -> Reply {
    Reply::new(
        503,
        "5.5.1",
        "Send EHLO first: the session restarted with TLS",
    )
}

/// RFC 2920: a client sent ahead where it must wait for our reply.
pub fn improper_pipelining(host: &str) -> Reply {
    Reply::new(
        554,
        "5.5.0",
        &format!("{host} Error: improper use of SMTP command pipelining"),
    )
}

pub fn auth_locked_out() -> Reply {
    Reply::new(
        454,
        "4.7.0",
        "Too many authentication failures from your address, try again later",
    )
}

/// RFC 6531 §3.4: a non-ASCII address in a transaction without SMTPUTF8.
pub fn needs_smtputf8(path: &str) -> Reply {
    Reply::new(
        553,
        "5.6.7",
        &format!("<{path}>... Non-ASCII address needs SMTPUTF8"),
    )
}

pub fn invalid_utf8_address() -> Reply {
    Reply::new(553, "5.6.7", "Address is not valid UTF-8")
}

pub fn nul_in_message() -> Reply {
    Reply::new(550, "5.6.0", "Message contains NUL characters")
}

pub fn nested_mail() -> Reply {
    Reply::new(503, "5.5.1", "Error: nested MAIL command")
}

pub fn need_helo() -> Reply {
    Reply::new(503, "5.5.1", "Need HELO or EHLO")
}

pub fn need_mail_before_rcpt() -> Reply {
    Reply::new(503, "5.5.1", "Need MAIL before RCPT")
}

pub fn need_mail() -> Reply {
    Reply::new(503, "5.5.1", "Need MAIL command")
}

pub fn need_rcpt() -> Reply {
    Reply::new(503, "5.5.1", "Need RCPT (recipient)")
}

// Simple positive replies.

pub fn reset_ok() -> Reply {
    Reply::new(250, "2.0.0", "Reset OK")
}

pub fn ok() -> Reply {
    Reply::new(250, "2.0.0", "OK")
}

pub fn helo_ok(host: &str) -> Reply {
    Reply::new(250, "", host)
}

pub fn sender_ok(sender: &str) -> Reply {
    Reply::new(250, "2.1.0", &format!("<{sender}>... Sender OK"))
}

pub fn recipient_ok(addr: &str) -> Reply {
    Reply::new(250, "2.1.5", &format!("<{addr}>... Recipient OK"))
}

pub fn start_data() -> Reply {
    Reply::new(354, "", "End data with <CR><LF>.<CR><LF>")
}

pub fn chunk_received(size: u64) -> Reply {
    Reply::new(250, "2.0.0", &format!("{size} octets received"))
}

pub fn queued(trace_id: &str) -> Reply {
    Reply::new(250, "2.0.0", &format!("Ok: queued as {trace_id}"))
}

// VRFY and EXPN.

pub fn vrfy_generic() -> Reply {
    Reply::new(
        252,
        "2.5.2",
        "Cannot VRFY user, but will accept message and attempt delivery",
    )
}

pub fn vrfy_accepted(addr: &str) -> Reply {
    Reply::new(
        252,
        "2.1.5",
        &format!("<{addr}>... Cannot verify, but will accept mail for it"),
    )
}

pub fn vrfy_unrecognized(path: &str) -> Reply {
    Reply::new(501, "5.1.3", &format!("<{path}>... Address unrecognized"))
}

pub fn expn_no_list(arg: &str) -> Reply {
    Reply::new(550, "5.1.1", &format!("{arg}... No such mailing list"))
}

pub fn expn_unavailable() -> Reply {
    Reply::new(502, "5.5.1", "EXPN not available")
}

// STARTTLS.

pub fn tls_already_active() -> Reply {
    Reply::new(503, "5.5.1", "TLS already active")
}

pub fn starttls_syntax() -> Reply {
    Reply::new(501, "5.5.4", "Syntax: STARTTLS")
}

pub fn starttls_unavailable() -> Reply {
    Reply::new(502, "5.5.1", "STARTTLS not available")
}

pub fn starttls_ready() -> Reply {
    Reply::new(220, "2.0.0", "Ready to start TLS")
}

// AUTH.

pub fn auth_unavailable() -> Reply {
    Reply::new(502, "5.5.1", "AUTH not available")
}

pub fn auth_needs_tls() -> Reply {
    Reply::new(
        538,
        "5.7.11",
        "Encryption required for requested authentication mechanism",
    )
}

pub fn auth_needs_ehlo() -> Reply {
    Reply::new(503, "5.5.1", "Send EHLO first")
}

pub fn already_authenticated() -> Reply {
    Reply::new(503, "5.5.1", "Already authenticated")
}

pub fn auth_in_transaction() -> Reply {
    Reply::new(503, "5.5.1", "AUTH not permitted during a mail transaction")
}

pub fn auth_syntax() -> Reply {
    Reply::new(501, "5.5.4", "Syntax: AUTH mechanism")
}

pub fn auth_mechanism_unknown() -> Reply {
    Reply::new(504, "5.5.4", "Unrecognized authentication type")
}

pub fn auth_malformed_plain() -> Reply {
    Reply::new(501, "5.5.2", "Malformed PLAIN response")
}

pub fn auth_bad_base64() -> Reply {
    Reply::new(501, "5.5.2", "Invalid base64 data")
}

pub fn auth_cancelled() -> Reply {
    Reply::new(501, "5.0.0", "Authentication cancelled")
}

pub fn auth_line_too_long() -> Reply {
    Reply::new(500, "5.5.6", "Authentication exchange line is too long")
}

pub fn auth_connection_problem() -> Reply {
    Reply::new(421, "4.4.2", "Connection problem during AUTH")
}

pub fn auth_temporary_failure() -> Reply {
    Reply::new(454, "4.7.0", "Temporary authentication failure")
}

pub fn auth_invalid() -> Reply {
    Reply::new(535, "5.7.8", "Authentication credentials invalid")
}

pub fn auth_ok() -> Reply {
    Reply::new(235, "2.7.0", "Authentication successful")
}

pub fn auth_required() -> Reply {
    Reply::new(530, "5.7.0", "Authentication required")
}

/// A SASL challenge (`334` and base64 text, possibly empty).
pub fn challenge(text: &str) -> Reply {
    Reply::new(334, "", text)
}

// MAIL and RCPT.

pub fn message_too_big() -> Reply {
    Reply::new(
        552,
        "5.3.4",
        "Message size exceeds fixed maximum message size",
    )
}

pub fn size_syntax() -> Reply {
    Reply::new(501, "5.5.4", "Syntax: SIZE=number")
}

pub fn body_syntax() -> Reply {
    Reply::new(501, "5.5.4", "Syntax: BODY=7BIT|8BITMIME")
}

pub fn unsupported_option(keyword: &str) -> Reply {
    Reply::new(555, "5.5.4", &format!("Unsupported option: {keyword}"))
}

/// `strict` refused the path; `enhanced` is `5.1.7` for a sender, `5.1.3` for a recipient.
pub fn strict_syntax(enhanced: &str, path: &str) -> Reply {
    Reply::new(
        553,
        enhanced,
        &format!("<{path}>... Address syntax: must be <local@domain>"),
    )
}

/// The path is no address; `enhanced` as for [`strict_syntax`].
pub fn address_unrecognized(enhanced: &str, path: &str) -> Reply {
    Reply::new(553, enhanced, &format!("<{path}>... Address unrecognized"))
}

pub fn domain_unrecognized(sender: &str) -> Reply {
    Reply::new(553, "5.1.8", &format!("<{sender}>... Domain unrecognized"))
}

pub fn too_many_recipients() -> Reply {
    Reply::new(452, "4.5.3", "Too many recipients")
}

pub fn unknown_recipient(addr: &str) -> Reply {
    Reply::new(550, "5.1.1", &format!("<{addr}>... Unknown recipient"))
}

pub fn recipient_lookup_failed(addr: &str) -> Reply {
    Reply::new(
        451,
        "4.3.0",
        &format!("<{addr}>... Recipient lookup failed, try again later"),
    )
}

pub fn relaying_denied(addr: &str) -> Reply {
    Reply::new(550, "5.7.1", &format!("<{addr}>... Relaying denied"))
}

// The end of a message.

pub fn bare_line_ending() -> Reply {
    Reply::new(
        550,
        "5.6.0",
        "Message contains bare CR or LF; lines must end with CRLF",
    )
}

pub fn data_line_too_long() -> Reply {
    Reply::new(552, "5.3.4", "Message line too long")
}

pub fn contains_virus(name: &str) -> Reply {
    Reply::new(554, "5.7.1", &format!("Message contains a virus ({name})"))
}

pub fn classified_spam() -> Reply {
    Reply::new(554, "5.7.1", "Message classified as spam")
}

pub fn check_unavailable() -> Reply {
    Reply::new(451, "4.7.1", "Content check unavailable, try again later")
}

/// A callback that failed, timed out or set an invalid reply.
pub fn callback_failed() -> Reply {
    Reply::new(451, "4.3.0", "Internal error, try again later")
}

pub fn next_hop_unavailable(target: &str) -> Reply {
    Reply::new(
        451,
        "4.4.1",
        &format!("Next hop {target} unavailable, try again later"),
    )
}

/// `dmarcaction reject`: the From: domain's DMARC policy asks to reject what fails it.
pub fn dmarc_rejected(domain: &str) -> Reply {
    Reply::new(
        550,
        "5.7.1",
        &format!("Message rejected by the DMARC policy of {domain}"),
    )
}
