//! Sender authentication (`authcheck`, docs/authentication.md): SPF once MAIL is accepted,
//! before `mailproc`; DKIM, ARC and DMARC once the message is read, before the message
//! policy, the relay and `dataproc`, so that every callback can read the results
//! (`ns_smtpd authresults`). LOCAL and authenticated clients are checked only with
//! `authchecktrusted`.
use super::Session;
use crate::core::authres::{strip_our_results, AuthMethods};
use crate::core::reply::Reply;
use crate::core::rules::replies;
use crate::io::auth;

impl Session {
    /// The checks this client's transactions get.
    fn auth_methods(&self) -> AuthMethods {
        let methods = AuthMethods::parse(&self.config.authcheck).unwrap_or_default();
        if self.trusted_client() && !self.config.authchecktrusted {
            return AuthMethods::default();
        }
        methods
    }

    /// At MAIL: records the checks of the transaction and evaluates SPF (for the MAIL
    /// identity, or HELO for the null sender) when SPF or DMARC is asked for.
    pub(super) async fn check_sender(&mut self, sender: &str) {
        let methods = self.auth_methods();
        self.handle.envelope().auth.checked = methods;
        if !methods.needs_spf() {
            return;
        }
        let helo = self.helo.clone().unwrap_or_default();
        let dns = self.shared.dns();
        let ip = self.peer.ip().to_canonical();
        let check = auth::check_spf(
            &dns,
            ip,
            sender,
            &helo,
            &self.config.hostname,
            self.config.authtimeout,
        )
        .await;
        let mut env = self.handle.envelope();
        env.auth.spf = Some(check);
        env.auth.spf_scope = Some(auth::spf_scope(sender));
    }

    /// After DATA: DKIM, ARC and DMARC on the message as received, then forged
    /// `Authentication-Results:` of ours removed and (with `authresultsheader`) ours put
    /// on top. The refusal `dmarcaction reject` gives, if any.
    pub(super) async fn check_message(&mut self, message: &mut Vec<u8>) -> Option<Reply> {
        let (methods, spf) = {
            let env = self.handle.envelope();
            (env.auth.checked, env.auth.spf.clone())
        };
        if methods.dkim || methods.arc || methods.dmarc {
            let dns = self.shared.dns();
            let spf_domain = spf.as_ref().map(|s| s.domain.clone()).unwrap_or_default();
            let found = auth::check_message(
                &dns,
                message,
                &methods,
                spf.as_ref(),
                &spf_domain,
                self.config.authtimeout,
            )
            .await;
            let mut env = self.handle.envelope();
            env.auth.dkim = found.dkim;
            env.auth.arc = found.arc;
            env.auth.dmarc = found.dmarc;
        }
        // Claims made in our name are removed whenever we check (RFC 8601 §5), also for
        // clients we do not check and without our own header: nothing downstream may read
        // a forged result as ours.
        let hostname = self.config.hostname.clone();
        let checking = AuthMethods::parse(&self.config.authcheck).is_ok_and(|m| m.any());
        if self.config.authresultsheader || checking {
            let header = if self.config.authresultsheader {
                self.handle.envelope().auth.header(&hostname, &methods)
            } else {
                None
            };
            let mut rebuilt = header.map(String::into_bytes).unwrap_or_default();
            rebuilt.extend_from_slice(&strip_our_results(message, &hostname));
            *message = rebuilt;
        }
        let env = self.handle.envelope();
        let dmarc = env.auth.dmarc.as_ref()?;
        if self.config.dmarcaction == "reject" && dmarc.result == "fail" && dmarc.policy == "reject"
        {
            return Some(replies::dmarc_rejected(&dmarc.domain));
        }
        None
    }
}
