//! `ns_smtpd send ?-tls mode? ?-cafile file? ?-user name? ?-password secret? ?-dkim domain?
//! sender rcptlist varName ?server? ?port?`.
use crate::core::address::{has_line_break_or_nul, parse_address};
use crate::core::relay_target::{parse_host_port, RelayTarget};
use crate::io::client::{ClientOptions, ClientTls};
use crate::io::dkim_sign::{Choice, DkimSigners};
use crate::io::send::send as send_message;
use crate::io::sendlog::{format_line, RollPolicy, SendLog};
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{CmdError, CmdResult, Value};
use std::sync::Arc;

/// Strips `<`, `>` and blanks around an address, as the original did.
fn bare(addr: &str) -> String {
    addr.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

const USAGE: &str =
    "?-tls none|opportunistic|require? ?-cafile file? ?-user name? ?-password secret? ?-cleartextauth bool? ?-partial bool? ?-dkim domain? sender rcptlist varName ?server? ?port?";

/// The switches before the positional arguments.
#[derive(Default)]
struct Switches {
    tls: Option<String>,
    cafile: String,
    user: Option<String>,
    password: Option<String>,
    cleartext_auth: Option<bool>,
    /// Send to the recipients accepted and return the refused ones.
    partial: bool,
    /// Sign with this `dkimsign` entry whatever the From: says.
    dkim: Option<String>,
}

pub fn send(context: &InterpContext, args: &Args) -> CmdResult {
    let mut sw = Switches::default();
    let mut i = 2;
    while i < args.len() && args.str(i).starts_with('-') {
        let word = args.str(i);
        if word == "--" {
            i += 1;
            break;
        }
        if i + 1 >= args.len() {
            return Err(CmdError::wrong_args("ns_smtpd send", USAGE));
        }
        let value = args.str(i + 1);
        match word.as_str() {
            "-tls" => sw.tls = Some(value),
            "-cafile" => sw.cafile = value,
            "-user" => sw.user = Some(value),
            "-password" => sw.password = Some(value),
            "-cleartextauth" => sw.cleartext_auth = Some(args.boolean(i + 1)?),
            "-partial" => sw.partial = args.boolean(i + 1)?,
            "-dkim" => sw.dkim = Some(value),
            _ => {
                return Err(CmdError::new(format!(
                "bad option \"{word}\": must be -tls, -cafile, -user, -password, -cleartextauth, -partial, or -dkim"
            )))
            }
        }
        i += 2;
    }
    let positional: Vec<usize> = (i..args.len()).collect();
    if positional.len() < 3 || positional.len() > 5 {
        return Err(CmdError::wrong_args("ns_smtpd send", USAGE));
    }
    let arg = |n: usize| positional.get(n).map(|&k| args.str(k)).unwrap_or_default();
    let from = bare(&arg(0));
    let rcpts: Vec<String> = args.list(positional[1])?.iter().map(|r| bare(r)).collect();
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
    // Aliases are resolved before any connection (never sent to the unresolved address).
    let given = rcpts;
    let rcpts = super::resolve::expand(context, &given)?;
    // Several addresses from an alias go through the server given or the relay, not all
    // through the first one's domain route.
    let route_by: &[String] = if rcpts != given && rcpts.len() > 1 {
        &[]
    } else {
        &rcpts
    };
    let message = match args.read_var(&arg(2))? {
        Value::Str(s) => s.into_bytes(),
        other => format!("{other:?}").into_bytes(),
    };
    let port = match positional.get(4) {
        Some(&k) => Some(args.int(k)?),
        None => None,
    };
    let mut target = choose_server(context, &arg(3), port, route_by)?;
    if sw.user.is_some() || sw.password.is_some() {
        target.user = Some(sw.user.unwrap_or_default());
        target.password = Some(sw.password.unwrap_or_default());
    }
    let config = match context.instance.config().clone() {
        Some(c) => c,
        None => super::server::configuration(context, args, args.len())?,
    };
    let dkim = dkim_signing(context, &config, sw.dkim)?;
    let tls_mode = sw.tls.unwrap_or_else(|| config.relaytls.clone());
    let cafile = if sw.cafile.is_empty() {
        config.relaycafile.clone()
    } else {
        sw.cafile
    };
    let tls = ClientTls::new(&tls_mode, &cafile)
        .map_err(|e| CmdError::new(format!("nssmtpd: send: {e}")))?;
    let host = match context.eval_words(&["info", "hostname"]) {
        crate::tcl::api::EvalOutcome::Ok(h) if !h.is_empty() => h,
        _ => config.hostname.clone(),
    };
    let opts = ClientOptions {
        helo_name: host,
        connect_timeout: config.writetimeout,
        read_timeout: config.readtimeout,
        write_timeout: config.writetimeout,
        tls,
        cleartext_auth: sw.cleartext_auth.unwrap_or(config.cleartextauth),
    };
    let started = std::time::Instant::now();
    let (host, port, size) = (target.host.clone(), target.port, message.len());
    let log_from = from.clone();
    let log_rcpts = rcpts.clone();
    let result = context.wait(send_message(
        target, opts, from, rcpts, message, sw.partial, dkim,
    ));
    if config.logging {
        let (status, kind, bytes) = match &result {
            Ok(done) => (done.code.clone(), "SUCCESS", size),
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
        let path = in_log_dir(
            context,
            if config.logfile.is_empty() {
                format!("smtpsend-{}.log", context.server_name())
            } else {
                config.logfile.clone()
            },
        );
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
        Ok(done) => {
            crate::log::log(
                crate::log::Severity::Notice,
                &format!(
                    "nssmtpd: send: from {log_from} to {} via {host}:{port} {size} bytes",
                    log_rcpts.join(" ")
                ),
            );
            // The refused recipients as {address reply} pairs (only `-partial` has any).
            Ok(Value::List(
                done.refused
                    .into_iter()
                    .map(|(addr, reply)| {
                        Value::List(vec![Value::Str(addr), Value::Str(reply.joined())])
                    })
                    .collect(),
            ))
        }
        Err(f) => {
            let code: Vec<&str> = f.errorcode.iter().map(String::as_str).collect();
            Err(CmdError::new(f.message).with_code(&code))
        }
    }
}

/// The DKIM keys and the entry choice for this send: the running server's keys (read at its
/// `start`/`configure`), else the configuration's `dkimsign` read now. `None`: no entries.
fn dkim_signing(
    context: &InterpContext,
    config: &crate::config::ServerConfig,
    named: Option<String>,
) -> Result<Option<(Arc<DkimSigners>, Choice)>, CmdError> {
    let running = context
        .instance
        .server()
        .as_ref()
        .map(|s| s.shared.dkim_signers());
    let signers = match running {
        Some(s) => s,
        None => Arc::new(
            DkimSigners::load(&config.dkimsign)
                .map_err(|e| CmdError::new(format!("nssmtpd: send: {e}")))?,
        ),
    };
    let choice = match named {
        Some(name) if !signers.has_named(&name) => {
            return Err(CmdError::new(format!(
                "nssmtpd: send: -dkim \"{name}\": no such -dkimsign entry"
            ))
            .with_code(&["NSSMTPD", "DKIM", "NOENTRY"]))
        }
        Some(name) => Choice::Named(name),
        None => Choice::ByFrom,
    };
    Ok((!signers.is_empty()).then_some((signers, choice)))
}

/// The server: the argument, else the first recipient's relay-domain hop, else the
/// configured relay, else localhost.
fn choose_server(
    context: &InterpContext,
    server: &str,
    port: Option<i64>,
    rcpts: &[String],
) -> Result<RelayTarget, CmdError> {
    if !server.is_empty() {
        let port = port.unwrap_or(25);
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| CmdError::new(format!("nssmtpd: send: invalid port {port}")))?;
        let (host, port) = parse_host_port(server, port, server).map_err(|e| CmdError::new(e.0))?;
        return Ok(RelayTarget {
            host,
            port,
            user: None,
            password: None,
            implicit_tls: false,
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
            implicit_tls: false,
        }),
    }
}

/// Inside NaviServer a relative send-log path is in the server's log directory, as in the
/// original; in tclsh (no `ns_info logdir`) it stays relative to the working directory.
pub(super) fn in_log_dir(context: &InterpContext, path: String) -> String {
    if std::path::Path::new(&path).is_absolute() {
        return path;
    }
    match context.eval_words(&["ns_info", "logdir"]) {
        crate::tcl::api::EvalOutcome::Ok(dir) if !dir.is_empty() => std::path::Path::new(&dir)
            .join(&path)
            .to_string_lossy()
            .into_owned(),
        _ => path,
    }
}
