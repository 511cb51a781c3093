//! Command order: where a session stands (connected, greeted, in a transaction, receiving
//! BDAT chunks) and whether a command may run there, or which reply refuses it.
use super::replies;
use crate::core::command::Command;
use crate::core::reply::Reply;

/// Where a session stands in the dialogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Greeting sent, no HELO/EHLO yet (also right after STARTTLS).
    Connected,
    /// HELO/EHLO accepted, no transaction open.
    Greeted,
    /// MAIL accepted: recipients and data may follow.
    Transaction,
    /// A message is arriving in BDAT chunks: only BDAT, RSET, NOOP and QUIT are in order.
    Chunking,
}

/// What the order rules need to know about a session and its server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub lmtp: bool,
    pub greeted: bool,
    /// The greeting was EHLO (or LHLO).
    pub esmtp: bool,
    pub in_transaction: bool,
    pub recipients: usize,
    pub chunking: bool,
    pub tls_active: bool,
    /// A certificate is configured (STARTTLS can be offered).
    pub tls_available: bool,
    pub authenticated: bool,
    /// An `authproc` is configured.
    pub auth_configured: bool,
    /// AUTH is offered now (configured, and TLS is active or not required).
    pub auth_offered: bool,
    /// The client is in the `local` list.
    pub local: bool,
    /// The `needhelo` flag: MAIL needs HELO/EHLO first.
    pub need_helo: bool,
    /// `msamode`: clients outside `local` must authenticate before MAIL.
    pub msa_mode: bool,
    /// A HELO style rule refused the client's HELO/EHLO.
    pub helo_refused: bool,
    /// STARTTLS completed in this session (RFC 3207 §4.2: EHLO must come again).
    pub starttls_done: bool,
}

impl Facts {
    pub fn phase(&self) -> Phase {
        if self.chunking {
            Phase::Chunking
        } else if self.in_transaction {
            Phase::Transaction
        } else if self.greeted {
            Phase::Greeted
        } else {
            Phase::Connected
        }
    }
}

/// Why a command may not run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfOrder {
    pub reply: Reply,
    /// The BDAT transfer in progress is abandoned (RFC 3030 §3): the transaction ends.
    pub abandons_chunks: bool,
}

impl OutOfOrder {
    fn refuse(reply: Reply) -> Self {
        OutOfOrder {
            reply,
            abandons_chunks: false,
        }
    }
}

/// May `command` run now? A refused BDAT still has its chunk read by the caller, so the
/// dialogue stays in step.
pub fn gate(command: &Command, facts: &Facts) -> Result<(), OutOfOrder> {
    let refuse = |r: Reply| Err(OutOfOrder::refuse(r));
    if facts.lmtp && matches!(command, Command::Helo(_) | Command::Ehlo(_)) {
        // LMTP greets with LHLO only (RFC 2033 §4.1).
        return refuse(replies::use_lhlo());
    }
    if facts.phase() == Phase::Chunking
        && !matches!(
            command,
            Command::Bdat { .. } | Command::Rset | Command::Quit | Command::Noop
        )
    {
        return Err(OutOfOrder {
            reply: replies::bdat_abandoned(),
            abandons_chunks: true,
        });
    }
    match command {
        Command::Mail { .. } | Command::Rcpt { .. } | Command::Data | Command::Bdat { .. }
            if facts.starttls_done && !facts.greeted =>
        {
            return refuse(replies::hello_after_starttls());
        }
        Command::Mail { .. } => {
            if facts.helo_refused {
                return refuse(replies::mail_after_refused_helo());
            }
            if facts.in_transaction {
                return refuse(replies::nested_mail());
            }
            if facts.need_helo && !facts.greeted {
                return refuse(replies::need_helo());
            }
            if facts.msa_mode && !facts.local && !facts.authenticated {
                return refuse(replies::auth_required());
            }
        }
        Command::Rcpt { .. } if !facts.in_transaction => {
            return refuse(replies::need_mail_before_rcpt())
        }
        Command::Data | Command::Bdat { .. } => {
            if !facts.in_transaction {
                return refuse(replies::need_mail());
            }
            if facts.recipients == 0 {
                return refuse(replies::need_rcpt());
            }
        }
        Command::StartTls(arg) => {
            if facts.tls_active {
                return refuse(replies::tls_already_active());
            }
            if !arg.is_empty() {
                return refuse(replies::starttls_syntax());
            }
            if !facts.tls_available {
                return refuse(replies::starttls_unavailable());
            }
        }
        Command::Auth(_) => {
            if !facts.auth_configured {
                return refuse(replies::auth_unavailable());
            }
            if !facts.auth_offered {
                return refuse(replies::auth_needs_tls());
            }
            if !facts.esmtp {
                return refuse(replies::auth_needs_ehlo());
            }
            if facts.authenticated {
                return refuse(replies::already_authenticated());
            }
            if facts.in_transaction {
                return refuse(replies::auth_in_transaction());
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::command::parse_command;

    fn greeted() -> Facts {
        Facts {
            greeted: true,
            esmtp: true,
            ..Facts::default()
        }
    }

    fn in_transaction(recipients: usize) -> Facts {
        Facts {
            in_transaction: true,
            recipients,
            ..greeted()
        }
    }

    fn with(f: impl Fn(&mut Facts), base: Facts) -> Facts {
        let mut facts = base;
        f(&mut facts);
        facts
    }

    #[test]
    fn phases() {
        assert_eq!(Facts::default().phase(), Phase::Connected);
        assert_eq!(greeted().phase(), Phase::Greeted);
        assert_eq!(in_transaction(0).phase(), Phase::Transaction);
        let chunking = with(|f| f.chunking = true, in_transaction(1));
        assert_eq!(chunking.phase(), Phase::Chunking);
    }

    /// (facts, command line, expected reply text or "" when it may run, abandons chunks)
    #[test]
    fn command_order() {
        let auth = |f: &mut Facts| {
            f.auth_configured = true;
            f.auth_offered = true;
        };
        let chunking = with(|f| f.chunking = true, in_transaction(1));
        let cases: Vec<(Facts, &str, &str, bool)> = vec![
            (Facts::default(), "MAIL FROM:<a@b>", "", false),
            (greeted(), "MAIL FROM:<a@b>", "", false),
            (
                in_transaction(0),
                "MAIL FROM:<a@b>",
                "503 5.5.1 Error: nested MAIL command",
                false,
            ),
            (
                with(|f| f.need_helo = true, Facts::default()),
                "MAIL FROM:<a@b>",
                "503 5.5.1 Need HELO or EHLO",
                false,
            ),
            (
                with(|f| f.need_helo = true, greeted()),
                "MAIL FROM:<a@b>",
                "",
                false,
            ),
            (
                with(|f| f.msa_mode = true, greeted()),
                "MAIL FROM:<a@b>",
                "530 5.7.0 Authentication required",
                false,
            ),
            (
                with(
                    |f| {
                        f.msa_mode = true;
                        f.local = true
                    },
                    greeted(),
                ),
                "MAIL FROM:<a@b>",
                "",
                false,
            ),
            (
                with(
                    |f| {
                        f.msa_mode = true;
                        f.authenticated = true
                    },
                    greeted(),
                ),
                "MAIL FROM:<a@b>",
                "",
                false,
            ),
            (
                greeted(),
                "RCPT TO:<a@b>",
                "503 5.5.1 Need MAIL before RCPT",
                false,
            ),
            (in_transaction(0), "RCPT TO:<a@b>", "", false),
            (greeted(), "DATA", "503 5.5.1 Need MAIL command", false),
            (
                in_transaction(0),
                "DATA",
                "503 5.5.1 Need RCPT (recipient)",
                false,
            ),
            (in_transaction(1), "DATA", "", false),
            (greeted(), "BDAT 10", "503 5.5.1 Need MAIL command", false),
            (
                in_transaction(0),
                "BDAT 1 LAST",
                "503 5.5.1 Need RCPT (recipient)",
                false,
            ),
            (chunking.clone(), "BDAT 10", "", false),
            (chunking.clone(), "RSET", "", false),
            (chunking.clone(), "NOOP", "", false),
            (chunking.clone(), "QUIT", "", false),
            (
                chunking.clone(),
                "DATA",
                "503 5.5.1 Bad sequence: BDAT transfer abandoned",
                true,
            ),
            (
                chunking.clone(),
                "MAIL FROM:<a@b>",
                "503 5.5.1 Bad sequence: BDAT transfer abandoned",
                true,
            ),
            (
                chunking.clone(),
                "EHLO x",
                "503 5.5.1 Bad sequence: BDAT transfer abandoned",
                true,
            ),
            (
                chunking,
                "XYZZY",
                "503 5.5.1 Bad sequence: BDAT transfer abandoned",
                true,
            ),
            (
                with(|f| f.lmtp = true, Facts::default()),
                "HELO x",
                "500 5.5.1 This is LMTP: use LHLO",
                false,
            ),
            (
                with(|f| f.lmtp = true, Facts::default()),
                "EHLO x",
                "500 5.5.1 This is LMTP: use LHLO",
                false,
            ),
            (
                with(|f| f.lmtp = true, Facts::default()),
                "LHLO x",
                "",
                false,
            ),
            (Facts::default(), "LHLO x", "", false),
            (
                with(|f| f.tls_available = true, greeted()),
                "STARTTLS",
                "",
                false,
            ),
            (
                with(|f| f.tls_available = true, Facts::default()),
                "STARTTLS",
                "",
                false,
            ),
            (
                greeted(),
                "STARTTLS",
                "502 5.5.1 STARTTLS not available",
                false,
            ),
            (
                with(|f| f.tls_available = true, greeted()),
                "STARTTLS x",
                "501 5.5.4 Syntax: STARTTLS",
                false,
            ),
            (
                with(
                    |f| {
                        f.tls_available = true;
                        f.tls_active = true
                    },
                    greeted(),
                ),
                "STARTTLS",
                "503 5.5.1 TLS already active",
                false,
            ),
            (
                greeted(),
                "AUTH PLAIN",
                "502 5.5.1 AUTH not available",
                false,
            ),
            (
                with(|f| f.auth_configured = true, greeted()),
                "AUTH PLAIN",
                "538 5.7.11 Encryption required for requested authentication mechanism",
                false,
            ),
            (with(auth, greeted()), "AUTH PLAIN", "", false),
            (
                with(
                    |f| {
                        auth(f);
                        f.esmtp = false
                    },
                    greeted(),
                ),
                "AUTH PLAIN",
                "503 5.5.1 Send EHLO first",
                false,
            ),
            (
                with(
                    |f| {
                        auth(f);
                        f.authenticated = true
                    },
                    greeted(),
                ),
                "AUTH PLAIN",
                "503 5.5.1 Already authenticated",
                false,
            ),
            (
                with(auth, in_transaction(0)),
                "AUTH PLAIN",
                "503 5.5.1 AUTH not permitted during a mail transaction",
                false,
            ),
            (
                with(|f| f.helo_refused = true, Facts::default()),
                "MAIL FROM:<a@b>",
                "503 5.5.1 Bad sequence: your HELO/EHLO was refused",
                false,
            ),
            (
                with(|f| f.helo_refused = true, Facts::default()),
                "EHLO other",
                "",
                false,
            ),
            (
                with(|f| f.starttls_done = true, Facts::default()),
                "MAIL FROM:<a@b>",
                "503 5.5.1 Send EHLO first: the session restarted with TLS",
                false,
            ),
            (
                with(|f| f.starttls_done = true, Facts::default()),
                "RCPT TO:<a@b>",
                "503 5.5.1 Send EHLO first: the session restarted with TLS",
                false,
            ),
            (
                with(|f| f.starttls_done = true, Facts::default()),
                "DATA",
                "503 5.5.1 Send EHLO first: the session restarted with TLS",
                false,
            ),
            (
                with(|f| f.starttls_done = true, greeted()),
                "MAIL FROM:<a@b>",
                "",
                false,
            ),
            (
                with(|f| f.starttls_done = true, Facts::default()),
                "EHLO x",
                "",
                false,
            ),
            (
                with(|f| f.starttls_done = true, Facts::default()),
                "NOOP",
                "",
                false,
            ),
            (Facts::default(), "NOOP", "", false),
            (Facts::default(), "RSET", "", false),
            (Facts::default(), "HELP", "", false),
            (Facts::default(), "QUIT", "", false),
            (Facts::default(), "VRFY x", "", false),
        ];
        for (facts, line, want, abandons) in cases {
            let got = gate(&parse_command(line), &facts);
            match got {
                Ok(()) => assert_eq!(want, "", "{line} in {:?}", facts.phase()),
                Err(o) => {
                    assert_eq!(o.reply.text(), want, "{line} in {:?}", facts.phase());
                    assert_eq!(o.abandons_chunks, abandons, "{line}");
                }
            }
        }
    }
}
