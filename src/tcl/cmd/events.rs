//! The SMTP event log from Tcl: its file chosen at `start`, `ns_smtpd logevent id event
//! details` (custom events, and policy details for the current RCPT's `recipient` event),
//! and `ns_smtpd roll` (the send and event logs, for a SIGHUP recipe in tclsh).
use crate::config::ServerConfig;
use crate::core::eventlog::{
    check_code, check_event_name, check_key, Event, FIXED_KEYS, MAX_DETAILS,
};
use crate::io::eventlog::{self, EventLog};
use crate::io::sendlog::RollPolicy;
use crate::registry;
use crate::tcl::args::Args;
use crate::tcl::bridge::current_session;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The event log a starting server writes, if `eventlogging` is on: its file (relative
/// names in the log directory) and roll settings, each unset one taken from the send log's.
pub(super) fn event_log(context: &InterpContext, config: &ServerConfig) -> Option<Arc<EventLog>> {
    eventlog::SEND_LOGS_ROLL_ON_SIGNAL.store(config.logrollonsignal, Ordering::Release);
    if !config.eventlogging {
        return None;
    }
    let server = context.server_name();
    let file = if config.eventlogfile.is_empty() {
        format!("smtpevents-{server}.log")
    } else {
        config.eventlogfile.clone()
    };
    let mut path = super::send::in_log_dir(context, file);
    // Outside NaviServer (no log directory) a relative name is taken in the current
    // directory at start, so a later `cd` does not move the log.
    if std::path::Path::new(&path).is_relative() {
        if let Ok(dir) = std::env::current_dir() {
            path = dir.join(&path).to_string_lossy().into_owned();
        }
    }
    let policy = RollPolicy {
        daily: config.eventlogroll.unwrap_or(config.logroll),
        hour: config.eventlogrollhour.unwrap_or(config.logrollhour),
        format: if config.eventlogrollfmt.is_empty() {
            config.logrollfmt.clone()
        } else {
            config.eventlogrollfmt.clone()
        },
        max_backups: config.eventlogmaxbackup.unwrap_or(config.logmaxbackup),
    };
    let on_signal = config
        .eventlogrollonsignal
        .unwrap_or(config.logrollonsignal);
    // nsstats finds the file through the configuration (as upstream publishes it).
    let _ = context.eval_words(&["nssmtpd::publish_eventlogfile", &path]);
    Some(Arc::new(EventLog::open(
        std::path::Path::new(&path),
        policy,
        server,
        on_signal,
    )))
}

/// `ns_smtpd logevent id event details`.
pub fn logevent(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 5 {
        return Err(CmdError::wrong_args(
            "ns_smtpd logevent",
            "id event details",
        ));
    }
    let word = args.str(2);
    let id = word.trim().parse::<u64>().ok();
    if id.is_none() || id != current_session() {
        return Err(CmdError::new(format!(
            "ns_smtpd logevent: \"{word}\" is not the session of the current callback"
        )));
    }
    let id = id.unwrap_or_default();
    let name = args.str(3);
    check_event_name(&name).map_err(CmdError::new)?;
    if args.str(4).len() > MAX_DETAILS {
        return Err(CmdError::new(format!(
            "ns_smtpd logevent: details larger than {MAX_DETAILS} bytes"
        )));
    }
    let words = args.list(4)?;
    if words.len() % 2 != 0 {
        return Err(CmdError::new("ns_smtpd logevent: details must be a dict"));
    }
    let mut details: Vec<(String, String)> = Vec::new();
    for pair in words.chunks(2) {
        check_key(&pair[0]).map_err(|e| CmdError::new(format!("ns_smtpd logevent: {e}")))?;
        match details.iter_mut().find(|(k, _)| *k == pair[0]) {
            Some(slot) => slot.1 = pair[1].clone(),
            None => details.push((pair[0].clone(), pair[1].clone())),
        }
    }
    let get = |k: &str| {
        details
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let code = get("code")
        .map(|c| check_code(&c).map_err(|e| CmdError::new(format!("ns_smtpd logevent: {e}"))))
        .transpose()?;
    let targets = match get("targets") {
        Some(t) => context
            .eval_list(&["lrange", &t, "0", "end"])
            .map_err(|_| CmdError::new("ns_smtpd logevent: targets must be a Tcl list"))?,
        None => Vec::new(),
    };
    let Some(handle) = registry::get(id) else {
        return Err(CmdError::new(format!("invalid session id \"{word}\"")));
    };
    let Some(log) = eventlog::for_server(handle.server) else {
        // Event logging is off: nothing to record.
        return Ok(Value::Empty);
    };
    if name == "policy" {
        // Folded into this RCPT's recipient event (the session writes it).
        eventlog::note_policy(id, details);
        return Ok(Value::Empty);
    }
    let event = Event {
        code,
        event: name,
        peer: handle.peer.ip().to_string(),
        session: eventlog::session_id(handle.server, id),
        transaction: eventlog::transaction(id),
        server: log.server.clone(),
        sender: get("sender").unwrap_or_else(|| handle.envelope().from.clone().unwrap_or_default()),
        recipient: get("recipient").unwrap_or_default(),
        action: get("action").unwrap_or_default(),
        reason: get("reason").unwrap_or_default(),
        targets,
        extra: details
            .into_iter()
            .filter(|(k, _)| !FIXED_KEYS.contains(&k.as_str()))
            .collect(),
    };
    log.write(&event, id);
    Ok(Value::Empty)
}

/// `ns_smtpd roll`: rolls the send logs and the event logs now.
pub fn roll(_: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 2 {
        return Err(CmdError::wrong_args("ns_smtpd roll", ""));
    }
    eventlog::roll_everything().map_err(|e| CmdError::new(format!("ns_smtpd roll: {e}")))?;
    Ok(Value::Empty)
}
