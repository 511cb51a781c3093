//! `ns_smtpd greylist check|list|count|flush|save|load`: the instance's greylist for
//! `smtpd::greylist` and for operators; and the state file kept across `start` and `stop`.
use crate::config::ServerConfig;
use crate::core::greylist::{Entry, Reason, Tuple};
use crate::io::greylist::{log_decision, settings, Backend};
use crate::tcl::api::EvalOutcome;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{bad_choice, CmdError, CmdResult, Value};
use std::path::PathBuf;

const USAGE: &str = "check ?-now seconds? peeraddr sender recipient | list | count | flush | save ?file? | load ?file?";

pub fn greylist(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() < 3 {
        return Err(CmdError::wrong_args("ns_smtpd greylist", USAGE));
    }
    let config = current_config(context);
    let backend = context
        .instance
        .greylist
        .backend(&config)
        .map_err(|e| CmdError::new(format!("nssmtpd: {e}")))?;
    match args.str(2).as_str() {
        "check" => check(context, args, &config, backend),
        "list" => plain(args, "list").and_then(|()| list(context, backend)),
        "count" => plain(args, "count").and_then(|()| {
            let n = match backend {
                Backend::Memory => context.instance.greylist.memory_entries().len(),
                Backend::Redis(redis) => context
                    .wait(async move { redis.entries().await })
                    .map_err(backend_error)?
                    .len(),
            };
            Ok(Value::Int(n as i64))
        }),
        "flush" => plain(args, "flush").and_then(|()| {
            let n = match backend {
                Backend::Memory => context.instance.greylist.flush_memory(),
                Backend::Redis(redis) => context
                    .wait(async move { redis.flush().await })
                    .map_err(backend_error)?,
            };
            Ok(Value::Int(n as i64))
        }),
        which @ ("save" | "load") => {
            if args.len() > 4 {
                return Err(CmdError::wrong_args(
                    &format!("ns_smtpd greylist {which}"),
                    "?file?",
                ));
            }
            if !matches!(backend, Backend::Memory) {
                return Err(CmdError::new(format!(
                    "nssmtpd: greylist {which}: the Redis backend keeps its entries in Redis"
                )));
            }
            let path = match args.len() {
                4 => PathBuf::from(args.str(3)),
                _ => state_file(context, &config),
            };
            let greylist = &context.instance.greylist;
            let n = if which == "save" {
                greylist.save(&path)
            } else {
                greylist.load(&path, now(), &settings(&config))
            }
            .map_err(|e| CmdError::new(format!("nssmtpd: greylist {which}: {e}")))?;
            Ok(Value::Int(n as i64))
        }
        other => Err(bad_choice(
            "greylist subcommand",
            other,
            &["check", "count", "flush", "list", "load", "save"],
        )),
    }
}

/// At `start`, once the configuration is checked: the state file is chosen (and loaded).
pub fn on_start(context: &InterpContext, config: &ServerConfig) {
    let path = state_file(context, config);
    context.instance.greylist.started(path, config, now());
}

/// At `stop`, once the sessions are drained: the table is saved.
pub fn on_stop(context: &InterpContext) {
    context.instance.greylist.stopped();
}

fn check(
    context: &InterpContext,
    args: &Args,
    config: &ServerConfig,
    backend: Backend,
) -> CmdResult {
    let (now, first) = match args.len() {
        6 => (now(), 3),
        8 if args.str(3) == "-now" => (args.int(4)?, 5),
        _ => {
            return Err(CmdError::wrong_args(
                "ns_smtpd greylist check",
                "?-now seconds? peeraddr sender recipient",
            ))
        }
    };
    let tuple = Tuple {
        peer: peer_address(&args.str(first)),
        sender: args.str(first + 1),
        recipient: args.str(first + 2),
    };
    if tuple.peer.is_empty() || tuple.recipient.is_empty() {
        return Err(CmdError::new(
            "nssmtpd: greylist check needs a peer address and a recipient",
        ));
    }
    let s = settings(config);
    let reason = match backend {
        Backend::Memory => context.instance.greylist.check_memory(&tuple, now, &s),
        Backend::Redis(redis) => {
            let t = tuple.clone();
            match context.wait(async move { redis.check(&t, now, &s).await }) {
                Ok(reason) => reason,
                Err(e) => {
                    crate::log::log(
                        crate::log::Severity::Warning,
                        &format!("nssmtpd: greylist backend unavailable, accepting: {e}"),
                    );
                    Reason::Unavailable
                }
            }
        }
    };
    log_decision(&tuple, reason);
    if let Some(server) = context.instance.server().as_ref() {
        server.shared.stats.greylist(reason);
    }
    Ok(pairs(vec![
        ("action", Value::from(reason.action().as_str())),
        ("reason", Value::from(reason.as_str())),
    ]))
}

fn list(context: &InterpContext, backend: Backend) -> CmdResult {
    let entries: Vec<(Tuple, Entry)> = match backend {
        Backend::Memory => context.instance.greylist.memory_entries(),
        Backend::Redis(redis) => context
            .wait(async move { redis.entries().await })
            .map_err(backend_error)?,
    };
    Ok(Value::List(
        entries
            .into_iter()
            .map(|(t, e)| {
                pairs(vec![
                    ("peeraddr", Value::Str(t.peer)),
                    ("sender", Value::Str(t.sender)),
                    ("recipient", Value::Str(t.recipient)),
                    ("first", Value::Int(e.first)),
                    ("expires", Value::Int(e.expires)),
                    ("passed", Value::from(e.passed)),
                ])
            })
            .collect(),
    ))
}

/// The subcommands without arguments.
fn plain(args: &Args, which: &str) -> Result<(), CmdError> {
    if args.len() != 3 {
        return Err(CmdError::wrong_args(
            &format!("ns_smtpd greylist {which}"),
            "",
        ));
    }
    Ok(())
}

fn backend_error(e: String) -> CmdError {
    CmdError::new(format!("nssmtpd: greylist backend: {e}"))
}

fn pairs(items: Vec<(&str, Value)>) -> Value {
    Value::List(
        items
            .into_iter()
            .flat_map(|(k, v)| [Value::Str(k.to_string()), v])
            .collect(),
    )
}

/// The configuration in force (the running server's, else the last configured, else the
/// defaults).
fn current_config(context: &InterpContext) -> ServerConfig {
    context.instance.config().clone().unwrap_or_default()
}

/// `greylistfile`, or `smtpgreylist-<server>.state`; a relative name is in the server's log
/// directory inside NaviServer, and relative to the current directory in tclsh.
fn state_file(context: &InterpContext, config: &ServerConfig) -> PathBuf {
    let name = match config.greylistfile.trim() {
        "" => format!("smtpgreylist-{}.state", context.server_name()),
        name => name.to_string(),
    };
    let path = PathBuf::from(&name);
    if path.is_absolute() {
        return path;
    }
    match context.eval_words(&["ns_info", "logdir"]) {
        EvalOutcome::Ok(dir) if !dir.is_empty() => PathBuf::from(dir).join(path),
        _ => path,
    }
}

/// The IP address alone, in its canonical form, whether given as `ip`, `ip:port` or
/// `[v6]:port` (as `ns_smtpd sessions` shows a peer); other text is kept as it is.
fn peer_address(text: &str) -> String {
    let text = text.trim();
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return ip.to_string();
    }
    match text.parse::<std::net::SocketAddr>() {
        Ok(addr) => addr.ip().to_string(),
        Err(_) => text.to_string(),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
