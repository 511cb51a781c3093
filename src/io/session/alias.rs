//! Envelope aliases (`aliasproc`): after the relay rules a recipient is resolved to its final
//! addresses; they replace it only once `rcptproc` accepted it, inheriting its flags and
//! data, each with the next hop of its own domain.
use super::Session;
use crate::core::envelope::{Recipient, Selector};
use crate::core::flags;
use crate::core::reply::Reply;
use crate::core::rules::aliases;
use crate::io::policy::Hook;

impl Session {
    /// The final addresses of `addr` (`None`: no aliases configured, or it maps to itself),
    /// or the reply refusing it. `room` is how many recipients the transaction still takes.
    pub(super) async fn resolve_alias(
        &mut self,
        addr: &str,
        room: usize,
    ) -> Result<Option<Vec<String>>, Reply> {
        if !self.shared.policy.wants(Hook::Alias) {
            return Ok(None);
        }
        // LOCAL clients may send to addresses the resolver does not know (as upstream).
        let passthrough = self.handle.envelope().flags & flags::LOCAL != 0;
        let extra = vec![
            addr.to_string(),
            u8::from(passthrough).to_string(),
            room.to_string(),
        ];
        let (_, answer) = self
            .callback_with(Hook::Alias, extra)
            .await
            .map_err(|_| crate::core::rules::replies::recipient_lookup_failed(addr))?;
        let targets = aliases::resolution(addr, &answer)?;
        Ok((!aliases::is_identity(addr, &targets)).then_some(targets))
    }

    /// Replaces the accepted recipient `addr` by `targets`; false if a callback removed it.
    pub(super) fn expand_recipient(&mut self, addr: &str, targets: &[String]) -> bool {
        let lists = self.shared.lists.relay_domains.read().unwrap();
        let mut env = self.handle.envelope();
        // Only the RCPT just accepted is expanded: it is the newest recipient unless the
        // callback changed the list itself, which then stands.
        let newest = env.find(&Selector::Index(0)).cloned();
        let Some(original) = newest.filter(|r| r.addr == addr) else {
            return false;
        };
        env.remove_newest_if(addr);
        for target in targets {
            let mut r = Recipient::new(target.clone(), original.flags);
            r.data = original.data.clone();
            r.spam_score = original.spam_score;
            r.next_hop = target
                .rsplit_once('@')
                .and_then(|(_, domain)| lists.find(&domain.to_ascii_lowercase()))
                .and_then(|entry| entry.target());
            env.add_recipient(r);
        }
        true
    }
}
