//! What a session knows and Tcl may read or change: session flags, the envelope (sender and
//! recipients, newest first as the original module listed them) and the received message.
use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// Normalised `mailbox@domain`, lower-cased (or what `addrcpt` gave, verbatim).
    pub addr: String,
    pub flags: u32,
    /// Free-form data attached by Tcl.
    pub data: String,
    pub spam_score: f64,
    /// A per-domain next hop from a `relaydomains` entry (`host:port`).
    pub next_hop: Option<String>,
}

impl Recipient {
    pub fn new(addr: impl Into<String>, flags: u32) -> Self {
        Recipient {
            addr: addr.into(),
            flags,
            data: String::new(),
            spam_score: 0.0,
            next_hop: None,
        }
    }
}

/// How a Tcl selector word picks recipients: an index (0 = newest), `-1` for the session,
/// or an exact address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Session,
    Index(usize),
    Address(String),
    /// An index that matches nothing (e.g. -2).
    Nothing,
}

impl Selector {
    /// Interprets a selector word: integer-looking words are indices (as in the original:
    /// optional leading blanks, optional `-`, digits), anything else is an address.
    pub fn parse(word: &str) -> Selector {
        let t = word.trim_start();
        let digits = t.strip_prefix('-').unwrap_or(t);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return match t.parse::<i64>() {
                Ok(-1) => Selector::Session,
                Ok(i) if i >= 0 => Selector::Index(i as usize),
                _ => Selector::Nothing,
            };
        }
        Selector::Address(word.to_string())
    }
}

#[derive(Debug, Default)]
pub struct Envelope {
    /// Session flags (the original's "connection flags", selector -1).
    pub flags: u32,
    /// The current command line as the callbacks see it (`getline`).
    pub line: String,
    /// A reply set by a callback, used instead of the default one.
    pub reply: Option<String>,
    /// Reverse-path: `<>`, `postmaster` or a lower-cased address; `None` outside a transaction.
    pub from: Option<String>,
    pub from_data: String,
    recipients: VecDeque<Recipient>,
    /// The received message (unstuffed, with our `Received:` header first).
    pub message: Vec<u8>,
    /// Parsed headers, newest first, including `X-Smtpd-*` pseudo headers.
    pub headers: Vec<(String, Option<String>)>,
    pub body_offset: usize,
    /// The user an AUTH command authenticated (kept across transactions).
    pub auth_user: Option<String>,
    /// The name of the accepted HELO/EHLO/LHLO (kept across transactions, not STARTTLS).
    pub helo: Option<String>,
    /// Sender authentication results of the transaction (`authcheck`).
    pub auth: crate::core::authres::AuthRecord,
}

impl Envelope {
    pub fn recipients(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients.iter()
    }

    pub fn recipient_count(&self) -> usize {
        self.recipients.len()
    }

    /// Adds a recipient as the newest (index 0).
    pub fn add_recipient(&mut self, r: Recipient) {
        self.recipients.push_front(r);
    }

    /// The first recipient matching a selector.
    pub fn find(&self, sel: &Selector) -> Option<&Recipient> {
        self.position(sel).map(|i| &self.recipients[i])
    }

    pub fn find_mut(&mut self, sel: &Selector) -> Option<&mut Recipient> {
        self.position(sel).map(move |i| &mut self.recipients[i])
    }

    fn position(&self, sel: &Selector) -> Option<usize> {
        match sel {
            Selector::Index(i) if *i < self.recipients.len() => Some(*i),
            Selector::Address(a) => self.recipients.iter().position(|r| &r.addr == a),
            _ => None,
        }
    }

    /// Removes every recipient matching the selector; returns how many went.
    pub fn remove(&mut self, sel: &Selector) -> usize {
        let before = self.recipients.len();
        match sel {
            Selector::Index(i) if *i < before => {
                self.recipients.remove(*i);
            }
            Selector::Address(a) => self.recipients.retain(|r| &r.addr != a),
            _ => {}
        }
        before - self.recipients.len()
    }

    /// Removes one recipient by address if it is still the newest (used to undo an RCPT
    /// that a callback refused without removing it itself).
    pub fn remove_newest_if(&mut self, addr: &str) {
        if self.recipients.front().map(|r| r.addr.as_str()) == Some(addr) {
            self.recipients.pop_front();
        }
    }

    /// Forgets the transaction (RSET, new MAIL, after DATA); session flags other than
    /// `GOTMAIL` stay.
    pub fn reset_transaction(&mut self) {
        self.flags &= !crate::core::flags::GOTMAIL;
        self.from = None;
        self.from_data.clear();
        self.recipients.clear();
        self.message = Vec::new();
        self.headers.clear();
        self.body_offset = 0;
        self.reply = None;
        self.auth = Default::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        assert_eq!(Selector::parse("0"), Selector::Index(0));
        assert_eq!(Selector::parse(" 5"), Selector::Index(5));
        assert_eq!(Selector::parse("007"), Selector::Index(7));
        assert_eq!(Selector::parse("-1"), Selector::Session);
        assert_eq!(Selector::parse("-2"), Selector::Nothing);
        assert_eq!(Selector::parse("5 "), Selector::Address("5 ".into()));
        assert_eq!(Selector::parse("+5"), Selector::Address("+5".into()));
        assert_eq!(Selector::parse("a@b"), Selector::Address("a@b".into()));
    }

    #[test]
    fn newest_first_and_removal() {
        let mut e = Envelope::default();
        e.add_recipient(Recipient::new("a@x", 0));
        e.add_recipient(Recipient::new("b@x", 0));
        e.add_recipient(Recipient::new("a@x", 1));
        assert_eq!(e.find(&Selector::Index(0)).unwrap().addr, "a@x");
        assert_eq!(e.find(&Selector::Index(1)).unwrap().addr, "b@x");
        assert_eq!(e.find(&Selector::Address("a@x".into())).unwrap().flags, 1);
        assert_eq!(e.remove(&Selector::Address("a@x".into())), 2);
        assert_eq!(e.recipient_count(), 1);
        assert_eq!(e.remove(&Selector::Index(3)), 0);
        e.remove_newest_if("b@x");
        assert_eq!(e.recipient_count(), 0);
    }
}
