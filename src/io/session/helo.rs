//! HELO, EHLO and LHLO, and STARTTLS (RFC 3207): after the handshake the session starts
//! over, and nothing sent before it is read.
use super::{Flow, Session};
use crate::core::flags;
use crate::core::reply::Reply;
use crate::core::rules::greeting::{self, Capabilities};
use crate::core::rules::{paths, replies};
use crate::io::policy::Hook;
use crate::io::shared::Mode;

impl Session {
    pub(super) async fn helo(&mut self, arg: String, esmtp: bool) -> Flow {
        let verb = match (self.mode, esmtp) {
            (Mode::Lmtp, _) => "LHLO",
            (_, true) => "EHLO",
            _ => "HELO",
        };
        if let Some(flow) = self.apply_helo_style(&arg).await {
            // A refusing style rule forgets the earlier name.
            self.handle.envelope().helo = self.helo.clone();
            return flow;
        }
        if let Err(reply) = paths::check_helo(verb, &arg, self.helocheck()) {
            return self.error_reply(reply);
        }
        // A new EHLO/HELO starts over (RFC 5321 §4.1.4).
        self.end_relay().await;
        self.handle.envelope().reset_transaction();
        let default = if esmtp {
            self.ehlo_reply()
        } else {
            replies::helo_ok(&self.config.hostname)
        };
        let reply = self.callback_reply(Hook::Helo, default).await;
        if reply.is_positive() {
            self.handle.envelope().helo = Some(arg.clone());
            self.helo = Some(arg);
            self.esmtp = esmtp;
            self.handle.envelope().flags |= flags::GOTHELO;
        }
        self.conclude(reply)
    }

    fn ehlo_reply(&self) -> Reply {
        greeting::ehlo_reply(&Capabilities {
            host: &self.config.hostname,
            max_size: self.config.maxdata,
            starttls: self.shared.tls().is_some() && self.handle.tls().is_none(),
            auth: self.auth_offered(),
        })
    }

    /// STARTTLS, once its order and syntax were checked.
    pub(super) async fn starttls(&mut self) -> Flow {
        self.conn.queue(&replies::starttls_ready());
        if self.conn.flush().await.is_err() {
            return Flow::Close;
        }
        if let Err(why) = self.handshake().await {
            self.event_starttls_failed("handshake", &why);
            self.event_transaction_end(super::events::TransactionEnd::Aborted);
            return Flow::Close;
        }
        self.event_transaction_end(super::events::TransactionEnd::Aborted);
        self.end_relay().await;
        self.helo = None;
        self.esmtp = false;
        self.starttls_done = true;
        let mut env = self.handle.envelope();
        env.reset_transaction();
        env.flags &= !flags::GOTHELO;
        env.helo = None;
        Flow::Continue
    }
}
