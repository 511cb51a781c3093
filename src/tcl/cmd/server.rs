//! `ns_smtpd start|stop|configure|cget|stats|sessions`: the listener of this interpreter.
use crate::config::{ServerConfig, OPTION_NAMES, START_ONLY};
use crate::io::policy::Policy;
use crate::io::server::Server;
use crate::registry;
use crate::tcl::api::EvalOutcome;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::context::Role;
use crate::tcl::policy::{Runner, TclPolicy};
use crate::tcl::pool::Pool;
use crate::tcl::value::{bad_choice, CmdError, CmdResult, Value};
use crate::tcl::worker::{Host, Spec};
use std::sync::Arc;
use std::time::Duration;

/// Workers in NaviServer module mode unless configured: the C module ran each session on
/// one of NaviServer's connection threads (10 by default, shared with HTTP requests); 8
/// interpreters give SMTP the same parallelism without taking every connection thread's
/// memory twice.
const MODULE_WORKERS: usize = 8;

/// The configuration from the module section (`ns_config`), then the given `-option value`s.
pub(super) fn configuration(
    context: &InterpContext,
    args: &Args,
    first: usize,
) -> Result<ServerConfig, CmdError> {
    let mut config = ServerConfig::default();
    if context.role() == Role::Module {
        config.workers = MODULE_WORKERS;
    }
    if let EvalOutcome::Ok(host) = context.eval_words(&["info", "hostname"]) {
        if !host.is_empty() {
            config.hostname = host;
        }
    }
    let section = context.config_section();
    for name in OPTION_NAMES {
        if let Some(value) = context.config_value(name) {
            config
                .set(name, &value)
                .map_err(|e| CmdError::new(format!("nssmtpd: config section {section}: {e}")))?;
        }
    }
    let configured = context.instance.configured.lock().unwrap().clone();
    for (name, value) in &configured {
        config
            .set(name, value)
            .map_err(|e| CmdError::new(e.to_string()))?;
    }
    apply_options(&mut config, args, first)?;
    Ok(config)
}

/// The pairs of `-option value ...` words from `first` on, checked by name.
fn option_pairs(args: &Args, first: usize) -> Result<Vec<(&'static str, String)>, CmdError> {
    let mut pairs = Vec::new();
    let mut i = first;
    while i < args.len() {
        let word = args.str(i);
        let name = option_name(&word)?;
        if i + 1 >= args.len() {
            return Err(CmdError::new(format!("value for \"{word}\" missing")));
        }
        pairs.push((name, args.str(i + 1)));
        i += 2;
    }
    Ok(pairs)
}

fn apply_options(config: &mut ServerConfig, args: &Args, first: usize) -> Result<(), CmdError> {
    for (name, value) in option_pairs(args, first)? {
        config
            .set(name, &value)
            .map_err(|e| CmdError::new(e.to_string()))?;
    }
    Ok(())
}

fn option_name(word: &str) -> Result<&'static str, CmdError> {
    word.strip_prefix('-')
        .and_then(|n| OPTION_NAMES.iter().copied().find(|o| *o == n))
        .ok_or_else(|| {
            let names: Vec<String> = OPTION_NAMES.iter().map(|n| format!("-{n}")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            bad_choice("option", word, &names)
        })
}

pub fn start(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() % 2 != 0 {
        return Err(CmdError::wrong_args(
            "ns_smtpd start",
            "?-option value ...?",
        ));
    }
    if context.role() == Role::Worker {
        return Err(CmdError::new(
            "nssmtpd: a worker interpreter cannot start the server: the interpreter that started it does",
        ));
    }
    // A module's callbacks need an event loop: only the module's own thread has one.
    if !context.owns_instance() && !crate::tcl::loaded::on_event_loop_thread() {
        return Err(CmdError::new(
            "nssmtpd: in NaviServer module mode the module starts the server",
        ));
    }
    if let Some(server) = context.instance.server().as_ref() {
        return Err(CmdError::new(format!(
            "nssmtpd: server already running on {}",
            server.local_addr
        )));
    }
    let config = configuration(context, args, 2)?;
    // Everything is checked before initproc runs or anything changes, so a refused start
    // leaves the configuration and the lists as they were.
    crate::io::shared::check(&config).map_err(|e| CmdError::new(format!("nssmtpd: {e}")))?;
    log_warnings(&config);
    super::greylist::on_start(context, &config);
    let previous = (
        context.instance.config().clone(),
        context.instance.procs.read().unwrap().clone(),
    );
    let restore = || {
        crate::log::set_level(previous.0.as_ref().map_or(1, |c| c.debug));
        *context.instance.config() = previous.0.clone();
        *context.instance.procs.write().unwrap() = previous.1.clone();
    };
    *context.instance.procs.write().unwrap() = config.procs.clone();
    *context.instance.config() = Some(config.clone());
    crate::log::set_level(config.debug);
    // The server's log goes through this interpreter's ns_log (a NaviServer module logs
    // through Ns_Log directly, set up at module load).
    if !crate::tcl::loaded::is_active() {
        crate::log::set_sink(Arc::new(crate::tcl::bridge::TclLog(
            context.bridge().clone(),
        )));
    }
    // The workers come up first: a `workerinit` error fails start before initproc ran.
    let runner = match config.workers {
        0 => Runner::Interp(context.bridge().clone()),
        n => match Pool::start(worker_spec(context, &config), n) {
            Ok(pool) => {
                crate::log::log(
                    crate::log::Severity::Notice,
                    &format!("nssmtpd: {n} worker interpreters ready"),
                );
                Runner::Pool(pool)
            }
            Err(e) => {
                restore();
                return Err(CmdError::new(format!("nssmtpd: {e}")));
            }
        },
    };
    let policy = Arc::new(TclPolicy::new(runner, context.instance.procs.clone()));
    // initproc runs once, before the first connection is accepted.
    if !config.procs.init.trim().is_empty() {
        if let EvalOutcome::Error { message, .. } =
            context.eval_words(&["eval", &config.procs.init])
        {
            policy.stop();
            restore();
            return Err(CmdError::new(format!(
                "nssmtpd: initproc failed: {message}"
            )));
        }
    }
    let events = super::events::event_log(context, &config);
    let server =
        Server::start(config, context.instance.lists.clone(), policy.clone()).map_err(|e| {
            policy.stop();
            restore();
            CmdError::new(format!("nssmtpd: {e}"))
        })?;
    if let Some(log) = events {
        crate::io::eventlog::register(server.shared.id, log);
    }
    let addr = server.local_addr;
    // `cget -port` gives the port bound, also after `-port 0`.
    if let Some(config) = context.instance.config().as_mut() {
        config.port = addr.port();
    }
    *context.instance.server() = Some(server);
    Ok(Value::List(vec![
        Value::Str(addr.ip().to_string()),
        Value::Int(i64::from(addr.port())),
    ]))
}

/// How this interpreter's workers are made: a server interpreter in NaviServer, otherwise a
/// new interpreter set up as this one (its library paths, configuration and log file).
fn worker_spec(context: &InterpContext, config: &ServerConfig) -> Spec {
    let text = |script: &str| match context.eval_words(&["apply", script]) {
        EvalOutcome::Ok(v) if !v.is_empty() => Some(v),
        _ => None,
    };
    let host = if context.role() == Role::Module {
        Host::NaviServer {
            server: context.server_name(),
        }
    } else {
        Host::Tclsh {
            library: text(LIBRARY_FILE),
            preinit: text(PREINIT).unwrap_or_default(),
            setup: text(SETUP).unwrap_or_default(),
        }
    };
    Spec {
        host,
        init: config.workerinit.clone(),
        instance: context.instance.clone(),
    }
}

/// The file this extension was loaded from.
const LIBRARY_FILE: &str = "{} {lindex [lsearch -inline -index 1 -nocase [info loaded] nssmtpd] 0}";
/// A script giving a worker the same Tcl library before `Tcl_Init`.
const PREINIT: &str = "{} {
    if {[info exists ::tcl_library]} { list set ::tcl_library $::tcl_library }
}";
/// A script giving a worker this interpreter's package path, configuration sections (in
/// tclsh, `ns_config` reads them) and log file.
const SETUP: &str = "{} {
    set s [list set ::auto_path $::auto_path]
    if {[info exists ::nssmtpd::config::sections]} {
        append s \n [list set ::nssmtpd::config::sections $::nssmtpd::config::sections]
    }
    if {[info exists ::nssmtpd::logfile]} {
        append s \n [list set ::nssmtpd::logfile $::nssmtpd::logfile]
    }
    return $s
}";

pub fn stop(context: &InterpContext, args: &Args) -> CmdResult {
    let mut limit = Duration::from_secs(5);
    match args.len() {
        2 => {}
        4 if args.str(2) == "-timeout" => {
            let secs = args.int(3)?;
            if secs < 0 {
                return Err(CmdError::new("-timeout must not be negative"));
            }
            limit = Duration::from_secs(secs as u64);
        }
        _ => return Err(CmdError::wrong_args("ns_smtpd stop", "?-timeout seconds?")),
    }
    let Some(mut server) = context.instance.server().take() else {
        return Ok(Value::Empty);
    };
    server.begin_stop();
    crate::io::eventlog::unregister(server.shared.id);
    context.wait(server.listeners_closed());
    let (sem, max) = server.semaphore();
    let drained = context.wait(Server::wait_drained(sem.clone(), max, limit));
    if !drained {
        server.force_stop();
        context.wait(Server::wait_drained(sem, max, Duration::from_secs(5)));
    }
    super::greylist::on_stop(context);
    Ok(Value::Empty)
}

pub fn configure(context: &InterpContext, args: &Args) -> CmdResult {
    let mut guard = context.instance.config();
    let config = guard.get_or_insert_with(ServerConfig::default);
    match args.len() {
        2 => Ok(Value::List(
            OPTION_NAMES
                .iter()
                .flat_map(|n| {
                    [
                        Value::Str(format!("-{n}")),
                        Value::Str(config.get(n).unwrap_or_default()),
                    ]
                })
                .collect(),
        )),
        3 => {
            let word = args.str(2);
            let name = option_name(&word)?;
            Ok(Value::Str(config.get(name).unwrap_or_default()))
        }
        _ => {
            let pairs = option_pairs(args, 2)?;
            let mut changed = config.clone();
            apply_options(&mut changed, args, 2)?;
            match context.instance.server().as_ref() {
                Some(server) => {
                    refuse_start_only_changes(config, &changed)?;
                    server
                        .reconfigure(changed.clone())
                        .map_err(|e| CmdError::new(format!("nssmtpd: {e}")))?
                }
                None => {
                    // Checked as `start` checks, and kept for it.
                    crate::io::shared::check(&changed)
                        .map_err(|e| CmdError::new(format!("nssmtpd: {e}")))?;
                    let mut configured = context.instance.configured.lock().unwrap();
                    for (name, value) in pairs {
                        configured.retain(|(n, _)| n != name);
                        configured.push((name.to_string(), value));
                    }
                }
            }
            log_warnings(&changed);
            *config = changed.clone();
            drop(guard);
            *context.instance.procs.write().unwrap() = changed.procs.clone();
            crate::log::set_level(changed.debug);
            Ok(Value::Empty)
        }
    }
}

/// Values that work but undercut the RFC, named in the log.
fn log_warnings(config: &ServerConfig) {
    for warning in config.warnings() {
        crate::log::log(
            crate::log::Severity::Warning,
            &format!("nssmtpd: {warning}"),
        );
    }
}

/// A running server keeps its listeners and its workers: changing them is refused with what
/// to do instead, rather than accepted and silently not applied.
fn refuse_start_only_changes(now: &ServerConfig, changed: &ServerConfig) -> Result<(), CmdError> {
    for name in START_ONLY {
        if now.get(name) != changed.get(name) {
            return Err(CmdError::new(format!(
                "nssmtpd: -{name} applies from the next start: stop the server and start it again to change it"
            )));
        }
    }
    Ok(())
}

pub fn cget(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 3 {
        return Err(CmdError::wrong_args("ns_smtpd cget", "-option"));
    }
    let word = args.str(2);
    let name = option_name(&word)?;
    let guard = context.instance.config();
    let value = match guard.as_ref() {
        Some(c) => c.get(name),
        None => ServerConfig::default().get(name),
    };
    Ok(Value::Str(value.unwrap_or_default()))
}

/// The formats of `ns_smtpd stats`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StatsFormat {
    List,
    Prometheus,
    Json,
}

pub fn stats(context: &InterpContext, args: &Args) -> CmdResult {
    let format = match args.len() {
        2 => StatsFormat::List,
        4 if args.str(2) == "-format" => match args.str(3).as_str() {
            "prometheus" => StatsFormat::Prometheus,
            "json" => StatsFormat::Json,
            "list" => StatsFormat::List,
            other => {
                return Err(CmdError::new(format!(
                    "bad format \"{other}\": must be list, json or prometheus"
                )))
            }
        },
        _ => {
            return Err(CmdError::wrong_args(
                "ns_smtpd stats",
                "?-format list|json|prometheus?",
            ))
        }
    };
    let guard = context.instance.server();
    if format == StatsFormat::Prometheus {
        let text = match guard.as_ref() {
            Some(server) => {
                crate::io::metrics::prometheus(
                    server.active_sessions(),
                    &server.shared.stats.snapshot(),
                ) + &crate::io::metrics::prometheus_workers(&server.shared.policy.stats())
                    + &{
                        let (decisions, ends) = server.shared.stats.labelled();
                        crate::io::metrics::prometheus_events(&decisions, &ends)
                    }
            }
            None => crate::io::metrics::prometheus(0, &[]),
        };
        return Ok(Value::Str(text));
    }
    let mut pairs: Vec<(&str, Value)> = vec![("running", Value::from(guard.is_some()))];
    if let Some(server) = guard.as_ref() {
        pairs.extend([
            ("address", Value::Str(server.local_addr.ip().to_string())),
            ("port", Value::Int(i64::from(server.local_addr.port()))),
            ("active", Value::Int(server.active_sessions() as i64)),
        ]);
        let pool = server.shared.policy.stats();
        pairs.extend([
            ("workers", Value::Int(pool.workers as i64)),
            ("workers_busy", Value::Int(pool.busy as i64)),
            ("callbacks_queued", Value::Int(pool.queued as i64)),
            (
                "worker_callbacks",
                Value::List(pool.runs.iter().map(|&n| Value::Int(n as i64)).collect()),
            ),
            ("worker_restarts", Value::Int(pool.restarts as i64)),
        ]);
        pairs.extend(
            server
                .shared
                .stats
                .snapshot()
                .into_iter()
                .map(|(k, v)| (k, Value::Int(v as i64))),
        );
    }
    if format == StatsFormat::Json {
        return Ok(Value::Str(stats_json(&pairs)));
    }
    Ok(Value::List(
        pairs
            .into_iter()
            .flat_map(|(k, v)| [Value::Str(k.to_string()), v])
            .collect(),
    ))
}

/// The `stats` pairs as one JSON object: numbers stay numbers, `running` is a boolean and
/// lists become arrays, so scripts need no Tcl list parsing.
fn stats_json(pairs: &[(&str, Value)]) -> String {
    fn json(key: &str, value: &Value) -> serde_json::Value {
        match value {
            Value::Int(i) if key == "running" => serde_json::Value::Bool(*i != 0),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Double(d) => serde_json::Value::from(*d),
            Value::List(items) => items.iter().map(|v| json("", v)).collect(),
            Value::Str(s) => serde_json::Value::from(s.as_str()),
            Value::Bytes(b) => serde_json::Value::from(String::from_utf8_lossy(b).into_owned()),
            Value::Empty => serde_json::Value::Null,
        }
    }
    let object: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json(k, v)))
        .collect();
    serde_json::Value::Object(object).to_string()
}

pub fn sessions(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() != 2 {
        return Err(CmdError::wrong_args("ns_smtpd sessions", ""));
    }
    let Some((server_id, policy)) = context
        .instance
        .server()
        .as_ref()
        .map(|s| (s.shared.id, s.shared.policy.clone()))
    else {
        return Ok(Value::List(vec![]));
    };
    let list = registry::of_server(server_id)
        .into_iter()
        .map(|s| {
            let env = s.envelope();
            let rcpts = env
                .recipients()
                .map(|r| Value::List(vec![Value::Str(r.addr.clone()), Value::from(r.flags)]))
                .collect();
            Value::List(vec![
                Value::Str("id".into()),
                Value::Int(s.id as i64),
                Value::Str("peer".into()),
                Value::Str(s.peer.to_string()),
                Value::Str("state".into()),
                Value::Str(s.state().to_string()),
                Value::Str("age".into()),
                Value::Int(s.started.elapsed().as_secs() as i64),
                Value::Str("from".into()),
                Value::Str(env.from.clone().unwrap_or_default()),
                Value::Str("rcpts".into()),
                Value::List(rcpts),
                Value::Str("tls".into()),
                Value::Str(s.tls().unwrap_or_default()),
                Value::Str("worker".into()),
                policy
                    .worker_of(s.id)
                    .map_or(Value::Str(String::new()), |w| Value::Int(w as i64)),
            ])
        })
        .collect();
    Ok(Value::List(list))
}
