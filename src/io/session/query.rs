//! HELP, VRFY and EXPN: questions about the server that never open a transaction.
use super::{Flow, Session};
use crate::core::rules::{greeting, paths, replies};

impl Session {
    pub(super) fn help(&mut self) -> Flow {
        let reply = greeting::help_reply(&self.config.helptext, crate::VERSION);
        self.reply(reply)
    }

    /// VRFY: off (default), a `252` that reveals nothing; on, the address is checked as a
    /// recipient would be (syntax and relay rules), still without saying whether it exists.
    pub(super) fn vrfy(&mut self, arg: String) -> Flow {
        if !self.vrfy_checks() {
            return self.reply(replies::vrfy_generic());
        }
        let (addr, domain) = match paths::vrfy_address(&arg) {
            Ok(a) => a,
            Err(reply) => return self.error_reply(reply),
        };
        let relayed = self
            .shared
            .lists
            .relay_domains
            .read()
            .unwrap()
            .find(&domain)
            .is_some();
        if !relayed && !self.trusted_client() {
            return self.error_reply(replies::relaying_denied(&addr));
        }
        self.reply(replies::vrfy_accepted(&addr))
    }

    /// EXPN: there are no lists here to expand, enabled or not.
    pub(super) fn expn(&mut self, arg: String) -> Flow {
        if self.expn_answers() {
            self.error_reply(replies::expn_no_list(arg.trim()))
        } else {
            self.error_reply(replies::expn_unavailable())
        }
    }
}
