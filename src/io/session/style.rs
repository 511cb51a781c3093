//! Per-client behaviour chosen by the client's HELO name (`helostyles`, after ZMailer's
//! smtpserver.conf), and the free-space guard (`minavailspace`) checked at MAIL and before
//! a message is accepted.
use super::{Flow, Session};
use crate::core::data::BareLinePolicy;
use crate::core::reply::Reply;
use crate::core::rules::helostyle::StyleAction;
use crate::core::rules::replies;
use crate::io::admission::load_average;
use crate::io::stats::RefusedBecause;
use crate::log::{log, Severity};

impl Session {
    /// Applies the first style rule matching the HELO/EHLO name; `Some(flow)` when the rule
    /// refuses the client (after queueing the reply).
    pub(super) async fn apply_helo_style(&mut self, helo: &str) -> Option<Flow> {
        let styles = self.shared.helo_styles();
        let action = styles.find(helo).map(|r| r.action.clone());
        self.style = None;
        self.helo_refused = false;
        match action {
            None => None,
            Some(StyleAction::Refuse(text)) => {
                log(
                    Severity::Notice,
                    &format!(
                        "nssmtpd: {}: HOST: {}: HELO {helo} refused by a style rule",
                        self.id(),
                        self.peer.ip()
                    ),
                );
                self.end_relay().await;
                self.handle.envelope().reset_transaction();
                self.helo = None;
                self.helo_refused = true;
                Some(self.error_reply(replies::helo_refused(&text)))
            }
            Some(StyleAction::Style { flags, max_load }) => {
                if max_load.is_some_and(|max| load_average().is_some_and(|l| l > max)) {
                    self.shared.stats.refused(RefusedBecause::LoadAverage);
                    self.conn
                        .queue(&replies::system_busy(&self.config.hostname));
                    return Some(Flow::Close);
                }
                self.style = Some(flags);
                None
            }
        }
    }

    /// `strict`, unless the client's style says otherwise.
    pub(super) fn strict(&self) -> bool {
        match self.style {
            Some(s) if s.strict => true,
            Some(s) if s.sloppy => false,
            _ => self.config.strict,
        }
    }

    pub(super) fn helocheck(&self) -> bool {
        match self.style {
            Some(s) if s.helocheck => true,
            Some(s) if s.sloppy => false,
            _ => self.config.helocheck,
        }
    }

    pub(super) fn vrfy_checks(&self) -> bool {
        self.style.is_some_and(|s| s.vrfy) || self.config.vrfy
    }

    pub(super) fn expn_answers(&self) -> bool {
        self.style.is_some_and(|s| s.expn) || self.config.expn
    }

    /// A sloppy client's bare line endings are normalized rather than refused.
    pub(super) fn barelf(&self) -> BareLinePolicy {
        match self.style {
            Some(s) if s.sloppy => BareLinePolicy::Normalize,
            _ => self.config.barelf,
        }
    }

    /// The client's style asks for the sender's domain to resolve.
    pub(super) fn style_checks_sender_domain(&self) -> bool {
        self.style.is_some_and(|s| s.check_sender_domain)
    }

    /// `minavailspace`: the reply that refuses mail while the spool is short of room.
    pub(super) fn storage_refusal(&self) -> Option<Reply> {
        let min = self.config.minavailspace;
        if min == 0 {
            return None;
        }
        let spool = self.shared.spool()?;
        if !self.shared.storage.short_of_room(&spool, min) {
            return None;
        }
        self.shared.stats.storage_refusal();
        log(
            Severity::Warning,
            &format!(
                "nssmtpd: {}: less than {min} KiB free on {}: mail refused",
                self.id(),
                spool.display()
            ),
        );
        Some(replies::insufficient_storage())
    }
}
