//! `ns_smtpd send sender rcptlist varName ?server? ?port?`.
use crate::core::address::{has_line_break_or_nul, parse_address};
use crate::core::relay_target::{parse_host_port, RelayTarget};
use crate::io::client::ClientOptions;
use crate::io::send::send as send_message;
use crate::io::sendlog::{format_line, RollPolicy, SendLog};
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};

/// Strips `<`, `>` and blanks around an address, as the original did.
fn bare(addr: &str) -> String {
    addr.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

pub fn send(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() < 5 || args.len() > 7 {
        return Err(CmdError::wrong_args(
            "ns_smtpd send",
            "sender rcptlist varName ?server? ?port?",
        ));
    }
    let from = bare(&args.str(2));
    let rcpts: Vec<String> = args.list(3)?.iter().map(|r| bare(r)).collect();
    for a in std::iter::once(&from).chain(rcpts.iter()) {
        if has_line_break_or_nul(a) {
            return Err(CmdError::new(format!(
                "nssmtpd: send: address \"{}\" contains CR, LF or NUL",
                a.escape_default()
            )));
        }
    }
    if rcpts.is_empty() {
        return Err(CmdError::new("nssmtpd: send: no recipients"));
    }
    let message = match args.read_var(&args.str(4))? {
        Value::Str(s) => s.into_bytes(),
        other => format!("{other:?}").into_bytes(),
    };
    let target = choose_server(context, args, &rcpts)?;
    let config = match context.instance.config().clone() {
        Some(c) => c,
        None => super::server::configuration(context, args, args.len())?,
    };
    let host = match context.eval_words(&["info", "hostname"]) {
        crate::tcl::api::EvalOutcome::Ok(h) if !h.is_empty() => h,
        _ => config.hostname.clone(),
    };
    let opts = ClientOptions {
        helo_name: host,
        connect_timeout: config.writetimeout,
        read_timeout: config.readtimeout,
        write_timeout: config.writetimeout,
    };
    let started = std::time::Instant::now();
    let (host, port, size) = (target.host.clone(), target.port, message.len());
    let log_from = from.clone();
    let log_rcpts = rcpts.clone();
    let result = context.wait(send_message(target, opts, from, rcpts, message));
    if config.logging {
        let (status, kind, bytes) = match &result {
            Ok(code) => (code.clone(), "SUCCESS", size),
            Err(f) => (f.status.clone(), f.kind, 0),
        };
        let line = format_line(
            "-main-",
            &status,
            kind,
            &host,
            port,
            started.elapsed(),
            bytes,
            &log_from,
            &log_rcpts,
        );
        let path = if config.logfile.is_empty() {
            format!("smtpsend-{}.log", context.server_name())
        } else {
            config.logfile.clone()
        };
        let policy = RollPolicy {
            daily: config.logroll,
            hour: config.logrollhour,
            format: config.logrollfmt.clone(),
            max_backups: config.logmaxbackup,
        };
        if let Err(e) = SendLog::open(std::path::Path::new(&path), policy).write(&line) {
            crate::log::log(
                crate::log::Severity::Error,
                &format!("smtpd:sendlog: error '{e}' writing '{path}'"),
            );
        }
    }
    match result {
        Ok(_) => {
            crate::log::log(
                crate::log::Severity::Notice,
                &format!(
                    "nssmtpd: send: from {log_from} to {} via {host}:{port} {size} bytes",
                    log_rcpts.join(" ")
                ),
            );
            Ok(Value::Empty)
        }
        Err(f) => Err(CmdError::new(f.message)),
    }
}

/// The server: the argument, else the first recipient's relay-domain hop, else the
/// configured relay, else localhost.
fn choose_server(
    context: &InterpContext,
    args: &Args,
    rcpts: &[String],
) -> Result<RelayTarget, CmdError> {
    let server = args.str(5);
    if !server.is_empty() {
        let port = if args.len() > 6 { args.int(6)? } else { 25 };
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| CmdError::new(format!("nssmtpd: send: invalid port {port}")))?;
        let (host, port) =
            parse_host_port(&server, port, &server).map_err(|e| CmdError::new(e.0))?;
        return Ok(RelayTarget {
            host,
            port,
            user: None,
            password: None,
        });
    }
    if let Some(domain) = rcpts
        .first()
        .and_then(|r| parse_address(r))
        .map(|a| a.domain.to_lowercase())
    {
        let lists = context.instance.lists.relay_domains.read().unwrap();
        if let Some(hop) = lists.find(&domain).and_then(|e| e.target()) {
            return RelayTarget::parse(&hop).map_err(|e| CmdError::new(e.0));
        }
    }
    let relay = context
        .instance
        .relay_target()
        .or_else(|| context.config_value("relay"));
    match relay {
        Some(r) => RelayTarget::parse(&r).map_err(|e| CmdError::new(e.0)),
        None => Ok(RelayTarget {
            host: "localhost".into(),
            port: 25,
            user: None,
            password: None,
        }),
    }
}
