//! `ns_smtpd` subcommands: a sorted table of names, each resolved to the function of the
//! module that owns its group.
mod aliases;
mod codec;
mod email;
mod events;
mod flag;
mod greylist;
mod info;
mod lists;
mod mime;
mod replay;
mod resolve;
mod scan;
mod send;
mod server;
mod session;
mod spf;

use super::args::Args;
use super::context::InterpContext;
use super::value::{bad_choice, CmdError, CmdResult};

type Handler = fn(&InterpContext, &Args) -> CmdResult;

/// Every subcommand, sorted by name (checked by a unit test).
const SUBCOMMANDS: &[(&str, Handler)] = &[
    ("addrcpt", session::addrcpt),
    ("aliasfile", aliases::aliasfile),
    ("authresults", session::authresults),
    ("cget", server::cget),
    ("checkdomain", email::checkdomain),
    ("checkemail", email::checkemail),
    ("checkspam", scan::checkspam),
    ("checkvirus", scan::checkvirus),
    ("configure", server::configure),
    ("decode", codec::decode),
    ("delrcpt", session::delrcpt),
    ("dump", session::dump),
    ("encode", codec::encode),
    ("flag", flag::flag),
    ("getauth", session::getauth),
    ("getbody", session::getbody),
    ("getflag", session::getflag),
    ("getfrom", session::getfrom),
    ("getfromdata", session::getfromdata),
    ("gethdr", session::gethdr),
    ("gethdrs", session::gethdrs),
    ("gethelo", session::gethelo),
    ("getline", session::getline),
    ("getrcpt", session::getrcpt),
    ("getrcptdata", session::getrcptdata),
    ("greylist", greylist::greylist),
    ("headers", session::headers),
    ("info", info::info),
    ("local", lists::local),
    ("logevent", events::logevent),
    ("maildir", session::maildir),
    ("parseemail", email::parseemail),
    ("parsemessage", mime::parsemessage),
    ("relay", lists::relay),
    ("replay", replay::replay),
    ("resolve", resolve::resolve),
    ("roll", events::roll),
    ("send", send::send),
    ("sessions", server::sessions),
    ("setflag", session::setflag),
    ("setfrom", session::setfrom),
    ("setfromdata", session::setfromdata),
    ("setrcptdata", session::setrcptdata),
    ("setreply", session::setreply),
    ("spamversion", scan::spamversion),
    ("spf", spf::spf),
    ("start", server::start),
    ("stats", server::stats),
    ("stop", server::stop),
    ("trainspam", scan::trainspam),
    ("unsetflag", session::unsetflag),
    ("virusversion", scan::virusversion),
];

/// Runs `ns_smtpd <subcommand> ...`.
pub fn dispatch(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() < 2 {
        return Err(CmdError::wrong_args("ns_smtpd", "subcommand ?arg ...?"));
    }
    let name = args.str(1);
    match SUBCOMMANDS.binary_search_by(|(n, _)| n.cmp(&name.as_str())) {
        Ok(i) => (SUBCOMMANDS[i].1)(context, args),
        Err(_) => Err(bad_choice("subcommand", &name, &names())),
    }
}

fn names() -> Vec<&'static str> {
    SUBCOMMANDS.iter().map(|(n, _)| *n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        let n = names();
        let mut sorted = n.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(n, sorted);
    }
}
