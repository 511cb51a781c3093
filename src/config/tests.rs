use super::*;

#[test]
fn names_are_sorted_and_all_gettable() {
    let mut sorted = OPTION_NAMES.to_vec();
    sorted.sort();
    assert_eq!(sorted, OPTION_NAMES);
    let c = ServerConfig::default();
    for n in OPTION_NAMES {
        let v = c.get(n).unwrap();
        let mut c2 = c.clone();
        c2.set(n, &v).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(c2.get(n).unwrap(), v);
    }
}

#[test]
fn limits_are_enforced() {
    let mut c = ServerConfig::default();
    assert!(c.set("maxline", "100").is_err());
    assert!(c.set("maxrcpt", "0").is_err());
    assert!(c.set("port", "x").is_err());
    assert!(c.set("barelf", "maybe").is_err());
    assert!(c.set("nosuch", "1").is_err());
    c.set("maxline", "1000").unwrap();
    assert_eq!(c.maxline, 1000);
}

#[test]
fn start_only_are_the_listener_options() {
    assert_eq!(
        START_ONLY,
        [
            "address",
            "lmtpport",
            "port",
            "tlsport",
            "workerinit",
            "workers"
        ]
    );
    assert_eq!(OPTION_NAMES.len(), OPTIONS.len());
}

#[test]
fn every_option_has_a_one_line_doc() {
    for o in OPTIONS {
        assert!(!o.doc.is_empty(), "{}: no doc", o.name);
        assert_eq!(o.doc, o.doc.trim(), "{}", o.name);
        assert!(!o.doc.contains('\n'), "{}", o.name);
    }
}

/// tcltests compare these texts byte for byte.
#[test]
fn error_texts() {
    let err = |name: &str, value: &str| ServerConfig::default().set(name, value).unwrap_err().0;
    let cases = [
        (
            "maxrcpt",
            "x",
            "invalid value \"x\" for -maxrcpt: expected an integer",
        ),
        (
            "maxrcpt",
            "0",
            "invalid value \"0\" for -maxrcpt: must be between 1 and 1000000",
        ),
        (
            "vrfy",
            "maybe",
            "invalid value \"maybe\" for -vrfy: expected a boolean",
        ),
        (
            "spamaction",
            "drop",
            "invalid value \"drop\" for -spamaction: must be reject, tag, or none",
        ),
        (
            "scanfail",
            "x",
            "invalid value \"x\" for -scanfail: must be tempfail or accept",
        ),
        (
            "barelf",
            "Reject",
            "invalid value \"Reject\" for -barelf: must be reject or normalize",
        ),
        (
            "relaytls",
            "x",
            "invalid value \"x\" for -relaytls: must be opportunistic, require, or none",
        ),
        (
            "maxloadavg",
            "-1",
            "invalid value \"-1\" for -maxloadavg: expected a number from 0 to 10000",
        ),
        (
            "flags",
            "nosuch",
            "invalid value \"nosuch\" for -flags: unknown flag nosuch",
        ),
        ("banner", "a\nb", "-banner must be one line"),
        (
            "helptext",
            "a\r\nb",
            "-helptext lines are separated by newlines",
        ),
        (
            "readtimeout",
            "0",
            "invalid value \"0\" for -readtimeout: must be between 1ms and 1d",
        ),
    ];
    for (name, value, text) in cases {
        assert_eq!(err(name, value), text);
    }
    assert!(err("proxytrusted", "example.com")
        .starts_with("invalid value \"example.com\" for -proxytrusted: "));
    let last = OPTION_NAMES.len() - 1;
    let unknown = format!(
        "unknown option \"-x\": must be one of -{}, or -{}",
        OPTION_NAMES[..last].join(", -"),
        OPTION_NAMES[last]
    );
    assert!(unknown.starts_with(
        "unknown option \"-x\": must be one of -address, -aliasdomains, -aliasfile, -aliasformat, "
    ));
    assert_eq!(err("x", "1"), unknown);
    assert_eq!(ServerConfig::default().get("x").unwrap_err().0, unknown);
}

#[test]
fn fields_and_text_forms() {
    let mut c = ServerConfig::default();
    assert_eq!(c.procs.init, "smtpd::init");
    assert_eq!(Procs::default().init, "");
    c.set("rcptproc", " my::rcpt ").unwrap();
    assert_eq!(c.procs.rcpt, " my::rcpt ");
    c.set("relay", " mx.example.com:25 ").unwrap();
    assert_eq!(c.get("relay").unwrap(), "mx.example.com:25");
    c.set("scantimeout", "5").unwrap();
    assert_eq!(c.scantimeout, std::time::Duration::from_secs(5));
    // NaviServer's time units, as upstream's configurations use them.
    for (text, ms, shown) in [
        ("1500ms", 1500, "1500ms"),
        ("2s", 2000, "2"),
        ("1.5", 1500, "1500ms"),
        ("5m", 300_000, "300"),
        ("1h", 3_600_000, "3600"),
        ("1d", 86_400_000, "86400"),
        ("250us", 0, ""),
    ] {
        let set = c.set("readtimeout", text);
        if shown.is_empty() {
            assert!(set.is_err(), "{text} is below 1ms");
            continue;
        }
        set.unwrap();
        assert_eq!(
            c.readtimeout,
            std::time::Duration::from_millis(ms),
            "{text}"
        );
        assert_eq!(c.get("readtimeout").unwrap(), shown, "{text}");
        c.set("readtimeout", shown).unwrap();
        assert_eq!(
            c.readtimeout,
            std::time::Duration::from_millis(ms),
            "{shown} parses back"
        );
    }
    assert!(c.set("readtimeout", "5 fortnights").is_err());
    assert!(c.set("readtimeout", "2d").is_err());
    c.set("msamode", "yes").unwrap();
    assert_eq!(c.get("msamode").unwrap(), "1");
    c.set("spamaction", "TAG").unwrap();
    assert_eq!(c.spamaction, ScanAction::Tag);
    c.set("maxloadavg", "2.5").unwrap();
    assert_eq!(c.get("maxloadavg").unwrap(), "2.5");
    assert_eq!(c.get("maxdata").unwrap(), "10485760");
}

/// Every option is in the README's configuration table, whose first column names options in
/// backticks (some rows name several: "| `address` / `port` |"), and the table names no
/// other.
#[test]
fn readme_table_lists_every_option() {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
    let table = readme
        .split("\n| option |")
        .nth(1)
        .expect("README.md has the configuration table");
    let mut listed = Vec::new();
    // Past the rest of the header line; the table ends at the first line not a row.
    for row in table.lines().skip(1).take_while(|l| l.starts_with('|')) {
        let first = row.split('|').nth(1).unwrap_or_default();
        listed.extend(first.split('`').skip(1).step_by(2));
    }
    for name in OPTION_NAMES {
        assert!(
            listed.contains(name),
            "README.md's configuration table lacks `{name}`"
        );
    }
    for name in &listed {
        assert!(
            OPTION_NAMES.contains(name),
            "README.md's configuration table names `{name}`, which is no option"
        );
    }
}
