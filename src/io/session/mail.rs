//! MAIL FROM: the parameters and the sender are checked (by the core's rules), the
//! sender's domain resolved under `needdomain`, and `mailproc` asked.
use super::{Flow, Session};
use crate::core::command::Param;
use crate::core::flags;
use crate::core::rules::{paths, replies};
use crate::io::policy::Hook;
use std::time::Duration;

impl Session {
    /// MAIL, once its order was checked.
    pub(super) async fn mail(&mut self, path: String, params: Vec<Param>) -> Flow {
        if let Some(reply) = self.storage_refusal() {
            return self.error_reply(reply);
        }
        if let Err(reply) =
            paths::check_mail_params(&params, self.config.maxdata, self.auth_offered())
        {
            return self.error_reply(reply);
        }
        let smtputf8 = params.iter().any(|p| p.keyword == "SMTPUTF8");
        if let Err(reply) = paths::check_charset(&path, self.line_utf8, smtputf8) {
            return self.error_reply(reply);
        }
        let line = self.handle.envelope().line.clone();
        let sender = match paths::sender(&line, &path, self.strict()) {
            Ok(s) => s,
            Err(reply) => return self.error_reply(reply),
        };
        let need_domain = self.config.flags & flags::NEEDDOMAIN != 0
            || self.handle.envelope().flags & flags::NEEDDOMAIN != 0
            || self.style_checks_sender_domain();
        if need_domain {
            if let Some((_, domain)) = sender.rsplit_once('@') {
                let dns = self.shared.dns();
                if !dns.domain_exists(domain, Duration::from_secs(5)).await {
                    return self.error_reply(replies::domain_unrecognized(&sender));
                }
            }
        }
        self.end_relay().await;
        {
            let mut env = self.handle.envelope();
            env.reset_transaction();
            env.from = Some(sender.clone());
            env.flags |= flags::GOTMAIL;
        }
        self.mail_params = params;
        self.check_sender(&sender).await;
        let reply = self
            .callback_reply(Hook::Mail, replies::sender_ok(&sender))
            .await;
        if reply.is_positive() {
            self.event_mail();
        } else {
            // A refused MAIL opens no transaction.
            self.handle.envelope().reset_transaction();
        }
        self.conclude(reply)
    }
}
