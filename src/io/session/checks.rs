//! Spam and virus checks (spamd, rspamd, clamd) of a message a recipient or the session
//! asked for (`SPAMCHECK`, `VIRUSCHECK`), and what `spamaction`/`virusaction`/`scanfail`
//! make of their verdicts.
use super::Session;
use crate::config::{ScanAction, ScanFailure};
use crate::core::envelope::Selector;
use crate::core::flags;
use crate::core::reply::Reply;
use crate::core::rules::replies;

impl Session {
    /// Spam and virus checks for the message, when a recipient or the session asked for
    /// them (`SPAMCHECK`, `VIRUSCHECK`). Sets scores and flags, may add headers (`tag`), and
    /// returns the pseudo headers for Tcl — or the reply that refuses the message.
    pub(super) async fn content_checks(
        &mut self,
        message: &mut Vec<u8>,
    ) -> Result<Vec<(String, Option<String>)>, Reply> {
        let config = self.config.clone();
        let (want_spam, want_virus, user) = {
            let env = self.handle.envelope();
            let session_spam = env.flags & flags::SPAMCHECK != 0;
            let spam_rcpt = env
                .recipients()
                .find(|r| r.flags & flags::SPAMCHECK != 0)
                .map(|r| r.addr.clone());
            let virus = env.flags & flags::VIRUSCHECK != 0
                || env.recipients().any(|r| r.flags & flags::VIRUSCHECK != 0);
            (session_spam || spam_rcpt.is_some(), virus, spam_rcpt)
        };
        let mut pseudo = Vec::new();
        let mut added = String::new();
        if want_virus && !config.clamd.is_empty() {
            self.handle.set_state("virus check");
            match crate::io::scan::virus_check(&config.clamd, message, config.scantimeout).await {
                Ok(None) => {}
                Ok(Some(name)) => {
                    self.handle.envelope().flags |= flags::GOTVIRUS;
                    pseudo.push(("X-Smtpd-Virus-Status".to_string(), Some(name.clone())));
                    match config.virusaction {
                        ScanAction::Reject => return Err(replies::contains_virus(&name)),
                        ScanAction::Tag => {
                            added.push_str(&format!("X-Virus-Status: Infected ({name})\r\n"))
                        }
                        ScanAction::None => {}
                    }
                }
                Err(_) if config.scanfail == ScanFailure::Accept => {}
                Err(_) => return Err(replies::check_unavailable()),
            }
        }
        if want_spam && (!config.spamd.is_empty() || !config.rspamd.is_empty()) {
            self.handle.set_state("spam check");
            match crate::io::scan::spam_check(
                &config.spamd,
                &config.rspamd,
                message,
                user.as_deref(),
                config.scantimeout,
            )
            .await
            {
                Ok(v) => {
                    {
                        let mut env = self.handle.envelope();
                        let all = env.flags & flags::SPAMCHECK != 0;
                        for i in 0..env.recipient_count() {
                            if let Some(r) = env.find_mut(&Selector::Index(i)) {
                                if all || r.flags & flags::SPAMCHECK != 0 {
                                    r.spam_score = v.score;
                                    if v.spam {
                                        r.flags |= flags::GOTSPAM;
                                    }
                                }
                            }
                        }
                    }
                    pseudo.push(("X-Smtpd-Signature".to_string(), Some(v.symbols.clone())));
                    if v.spam && config.spamaction == ScanAction::Reject {
                        return Err(replies::classified_spam());
                    }
                    if config.spamaction == ScanAction::Tag {
                        if v.spam {
                            added.push_str("X-Spam-Flag: YES\r\n");
                        }
                        added.push_str(&format!(
                            "X-Spam-Status: {}, score={:.1} required={:.1} tests={}\r\n",
                            if v.spam { "Yes" } else { "No" },
                            v.score,
                            v.threshold,
                            v.symbols
                                .chars()
                                .filter(|c| !c.is_control())
                                .collect::<String>()
                        ));
                    }
                }
                Err(_) if config.scanfail == ScanFailure::Accept => {}
                Err(_) => return Err(replies::check_unavailable()),
            }
        }
        if !added.is_empty() {
            let mut tagged = Vec::with_capacity(added.len() + message.len());
            tagged.extend_from_slice(added.as_bytes());
            tagged.extend_from_slice(message);
            *message = tagged;
        }
        Ok(pseudo)
    }
}
