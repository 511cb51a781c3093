//! `ns_smtpd stats -format prometheus`: the counters in Prometheus' text exposition format
//! (version 0.0.4), so any HTTP handler can serve them to a scraper.
use super::policy::PolicyStats;
use std::fmt::Write;

/// Renders the counters of one server. `refused_<reason>` become one family with a
/// `reason` label; `callback_micros` is exported in seconds, as Prometheus prefers.
pub fn prometheus(active: u64, counters: &[(&str, u64)]) -> String {
    let mut out = String::new();
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP nssmtpd_{name} {help}");
        let _ = writeln!(out, "# TYPE nssmtpd_{name} {kind}");
    };
    family(&mut out, "sessions_active", "gauge", "Sessions open now.");
    let _ = writeln!(out, "nssmtpd_sessions_active {active}");
    let reasons: Vec<(&str, u64)> = counters
        .iter()
        .filter_map(|(n, v)| n.strip_prefix("refused_").map(|r| (r, *v)))
        .collect();
    if !reasons.is_empty() {
        family(
            &mut out,
            "connections_refused_total",
            "counter",
            "Connections turned away, by reason.",
        );
        for (reason, v) in reasons {
            let _ = writeln!(
                out,
                "nssmtpd_connections_refused_total{{reason=\"{reason}\"}} {v}"
            );
        }
    }
    for (name, value) in counters {
        if name.starts_with("refused") {
            continue;
        }
        if *name == "callback_micros" {
            family(
                &mut out,
                "callback_seconds_total",
                "counter",
                "Time spent waiting for Tcl callbacks.",
            );
            let _ = writeln!(
                out,
                "nssmtpd_callback_seconds_total {}",
                *value as f64 / 1e6
            );
            continue;
        }
        family(&mut out, &format!("{name}_total"), "counter", &help(name));
        let _ = writeln!(out, "nssmtpd_{name}_total {value}");
    }
    out
}

/// Prometheus' label value escaping: backslash, double quote and newline.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The event log's counts: recipient decisions by action and reason, transactions by how
/// they ended (kept whether or not `eventlogging` is on).
pub fn prometheus_events(decisions: &[((String, String), u64)], ends: &[(String, u64)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP nssmtpd_recipient_decisions_total RCPT decisions, by action and reason."
    );
    let _ = writeln!(out, "# TYPE nssmtpd_recipient_decisions_total counter");
    for ((action, reason), v) in decisions {
        let _ = writeln!(
            out,
            "nssmtpd_recipient_decisions_total{{action=\"{}\",reason=\"{}\"}} {v}",
            label(action),
            label(reason)
        );
    }
    let _ = writeln!(
        out,
        "# HELP nssmtpd_transactions_total MAIL transactions, by how they ended."
    );
    let _ = writeln!(out, "# TYPE nssmtpd_transactions_total counter");
    for (outcome, v) in ends {
        let _ = writeln!(
            out,
            "nssmtpd_transactions_total{{outcome=\"{}\"}} {v}",
            label(outcome)
        );
    }
    out
}

/// The interpreters that run the callbacks: gauges for the pool, callbacks run per worker.
pub fn prometheus_workers(pool: &PolicyStats) -> String {
    let mut out = String::new();
    let gauges = [
        (
            "workers",
            "Worker interpreters (0: the interpreter that started the server).",
            pool.workers,
        ),
        (
            "workers_busy",
            "Interpreters running a callback now.",
            pool.busy,
        ),
        (
            "callbacks_queued",
            "Callbacks waiting for an interpreter.",
            pool.queued,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP nssmtpd_{name} {help}");
        let _ = writeln!(out, "# TYPE nssmtpd_{name} gauge");
        let _ = writeln!(out, "nssmtpd_{name} {value}");
    }
    let _ = writeln!(
        out,
        "# HELP nssmtpd_worker_callbacks_total Callbacks run, by worker."
    );
    let _ = writeln!(out, "# TYPE nssmtpd_worker_callbacks_total counter");
    for (i, runs) in pool.runs.iter().enumerate() {
        let _ = writeln!(
            out,
            "nssmtpd_worker_callbacks_total{{worker=\"{i}\"}} {runs}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP nssmtpd_worker_restarts_total Workers replaced after their interpreter ended."
    );
    let _ = writeln!(out, "# TYPE nssmtpd_worker_restarts_total counter");
    let _ = writeln!(out, "nssmtpd_worker_restarts_total {}", pool.restarts);
    out
}

fn help(name: &str) -> String {
    match name {
        "connections" => "Connections accepted by the listeners.".into(),
        "bytes_received" => "Message bytes received.".into(),
        "callbacks" => "Tcl callbacks run.".into(),
        "relay_failures" => "Failures talking to the next hop.".into(),
        other => format!("Count of {}.", other.replace('_', " ")),
    }
}

#[cfg(test)]
mod tests {
    use super::{prometheus, prometheus_workers};
    use crate::io::policy::PolicyStats;

    #[test]
    fn event_counters() {
        let text = super::prometheus_events(
            &[(("reject".into(), "say \"no\"\\".into()), 2)],
            &[("accepted".into(), 3)],
        );
        assert!(text.contains(
            "nssmtpd_recipient_decisions_total{action=\"reject\",reason=\"say \\\"no\\\"\\\\\"} 2\n"
        ), "{text}");
        assert!(text.contains("nssmtpd_transactions_total{outcome=\"accepted\"} 3\n"));
    }

    #[test]
    fn exposition_format() {
        let text = prometheus(
            3,
            &[
                ("connections", 10),
                ("refused_perip", 2),
                ("refused_rate", 0),
                ("callback_micros", 1_500_000),
            ],
        );
        assert!(text.contains("# TYPE nssmtpd_sessions_active gauge\nnssmtpd_sessions_active 3\n"));
        assert!(text.contains("nssmtpd_connections_refused_total{reason=\"perip\"} 2\n"));
        assert!(text
            .contains("# TYPE nssmtpd_connections_total counter\nnssmtpd_connections_total 10\n"));
        assert!(text.contains("nssmtpd_callback_seconds_total 1.5\n"));
        let pool = PolicyStats {
            workers: 2,
            busy: 1,
            queued: 3,
            runs: vec![5, 7],
            restarts: 1,
        };
        let workers = prometheus_workers(&pool);
        assert!(workers.contains("# TYPE nssmtpd_workers gauge\nnssmtpd_workers 2\n"));
        assert!(workers.contains("nssmtpd_workers_busy 1\n"));
        assert!(workers.contains("nssmtpd_callbacks_queued 3\n"));
        assert!(workers.contains("nssmtpd_worker_callbacks_total{worker=\"1\"} 7\n"));
        assert!(workers.contains("nssmtpd_worker_restarts_total 1\n"));
        // Every sample line is `name{labels} value`.
        for line in text
            .lines()
            .chain(workers.lines())
            .filter(|l| !l.starts_with('#'))
        {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(name.starts_with("nssmtpd_"), "{line}");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
