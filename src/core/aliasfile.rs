//! Text alias files: an uncompiled Postfix `virtual` map or a classical `aliases` file,
//! parsed into a map and used to expand one envelope recipient into its final addresses.
//!
//! This is an address-forwarding subset on purpose: destinations are plain addresses, never
//! commands, files or includes, so nothing in the file is ever executed. The caller reads the
//! file (fresh for every lookup: each original recipient sees one snapshot) and supplies the
//! optional bounce validator; everything else is here.
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Nested alias expansions allowed below one original recipient.
pub const MAX_DEPTH: usize = 32;
/// Addresses visited while expanding one original recipient (bounds wide recursive maps).
pub const MAX_WORK: usize = 10_000;

/// The two text formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Postfix `virtual(5)`: `user@domain dest, dest` or `@domain dest` (catch-all).
    Virtual,
    /// `aliases(5)`: `name: dest, dest`, keys are local parts.
    Aliases,
}

impl Format {
    pub fn parse(word: &str) -> Option<Format> {
        match word {
            "virtual" => Some(Format::Virtual),
            "aliases" => Some(Format::Aliases),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Virtual => "virtual",
            Format::Aliases => "aliases",
        }
    }
}

/// Why a lookup failed. Every variant is a lookup failure (the SMTP side answers `451`),
/// never a statement that the recipient is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasError {
    /// The file could not be read.
    Unreadable { path: String, reason: String },
    /// A logical line (starting at physical line `line`) is not a supported entry.
    Malformed { line: usize, reason: String },
    /// An address expands, directly or through others, into itself.
    Cycle { address: String },
    /// More than [`MAX_DEPTH`] nested expansions.
    TooDeep,
    /// More than [`MAX_WORK`] addresses visited.
    TooMuchWork,
    /// The bounce validator failed or did not answer with a boolean.
    Validator { reason: String },
}

impl fmt::Display for AliasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AliasError::Unreadable { path, reason } => {
                write!(f, "cannot read alias file \"{path}\": {reason}")
            }
            AliasError::Malformed { line, reason } => write!(f, "line {line}: {reason}"),
            AliasError::Cycle { address } => write!(f, "alias cycle at {address}"),
            AliasError::TooDeep => write!(
                f,
                "alias expansion exceeds file resolver limit: more than {MAX_DEPTH} nested aliases"
            ),
            AliasError::TooMuchWork => write!(
                f,
                "alias expansion exceeds file resolver limit: more than {MAX_WORK} addresses"
            ),
            AliasError::Validator { reason } => write!(f, "bouncevalidproc failed: {reason}"),
        }
    }
}

impl std::error::Error for AliasError {}

/// A parsed file: lower-case keys (a local part, `user@domain` or `@domain`) and their
/// destinations as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasMap {
    format: Format,
    entries: HashMap<String, Vec<String>>,
}

impl AliasMap {
    /// Parses the whole text of a file.
    pub fn parse(format: Format, text: &str) -> Result<AliasMap, AliasError> {
        let mut entries = HashMap::new();
        let mut first_line: HashMap<String, usize> = HashMap::new();
        for (line, logical) in logical_lines(text)? {
            let malformed = |reason: String| AliasError::Malformed { line, reason };
            let (key, targets) = parse_entry(format, &logical).map_err(malformed)?;
            if let Some(first) = first_line.get(&key) {
                return Err(malformed(format!(
                    "duplicate alias key \"{key}\" (first on line {first})"
                )));
            }
            first_line.insert(key.clone(), line);
            entries.insert(key, targets);
        }
        Ok(AliasMap { format, entries })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The destinations an address maps to: its exact entry or, in a virtual map, the
    /// catch-all of its domain. The domain is not checked against any list here.
    pub fn destinations(&self, address: &str) -> Option<&[String]> {
        let address = address.to_ascii_lowercase();
        let (local, domain) = split_address(&address)?;
        let exact = match self.format {
            Format::Aliases => self.entries.get(local),
            Format::Virtual => self.entries.get(&address),
        };
        let found = match (exact, self.format) {
            (Some(t), _) => Some(t),
            (None, Format::Virtual) => self.entries.get(&format!("@{domain}")),
            (None, Format::Aliases) => None,
        };
        found.map(Vec::as_slice)
    }
}

/// The domains a map speaks for (compared case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Domains(Vec<String>);

impl Domains {
    pub fn new<S: AsRef<str>>(domains: &[S]) -> Domains {
        Domains(
            domains
                .iter()
                .map(|d| d.as_ref().trim().to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        )
    }

    /// Whether the address's domain is one of ours.
    pub fn covers(&self, address: &str) -> bool {
        match split_address(address) {
            Some((_, domain)) => self.0.iter().any(|d| d.eq_ignore_ascii_case(domain)),
            None => false,
        }
    }
}

/// One lookup: the original recipient and what to do when it matches no alias.
pub struct Lookup<'a> {
    pub recipient: &'a str,
    pub domains: &'a Domains,
    /// Unknown in-domain recipients resolve to nothing (the caller rejects them).
    pub reject_unknown: bool,
    /// With a bounce validator: where a validated unknown recipient goes.
    pub bounce_target: Option<&'a str>,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Outside the domains: passed through without reading the file.
    Outside,
    /// The final addresses (the recipient itself when it is not an alias).
    Targets(Vec<String>),
    /// In our domains, matching no alias, with rejection asked for.
    Unknown,
}

impl Resolution {
    /// The final address list; empty for an unknown recipient.
    pub fn into_addresses(self, recipient: &str) -> Vec<String> {
        match self {
            Resolution::Outside => vec![recipient.to_string()],
            Resolution::Targets(t) => t,
            Resolution::Unknown => Vec::new(),
        }
    }
}

/// Resolves one original recipient. `load` gives the map (called at most once, and only for
/// an in-domain recipient); `validate` is the bounce validator, called only when a bounce
/// target is configured and the recipient matches no alias.
pub fn resolve(
    lookup: &Lookup<'_>,
    load: impl FnOnce() -> Result<AliasMap, AliasError>,
    validate: impl FnOnce(&str) -> Result<bool, AliasError>,
) -> Result<Resolution, AliasError> {
    if !lookup.domains.covers(lookup.recipient) {
        return Ok(Resolution::Outside);
    }
    let map = load()?;
    let mut expander = Expander::new(&map, lookup.domains);
    if map.destinations(lookup.recipient).is_some() {
        return expander.run(lookup.recipient).map(Resolution::Targets);
    }
    if let Some(target) = lookup.bounce_target {
        if validate(lookup.recipient)? {
            return expander.run(target).map(Resolution::Targets);
        }
    }
    if lookup.reject_unknown {
        Ok(Resolution::Unknown)
    } else {
        Ok(Resolution::Targets(vec![lookup.recipient.to_string()]))
    }
}

/// Depth-first expansion with a path for cycle detection and a shared work budget.
struct Expander<'a> {
    map: &'a AliasMap,
    domains: &'a Domains,
    path: Vec<String>,
    work: usize,
    seen: HashSet<String>,
    out: Vec<String>,
}

impl<'a> Expander<'a> {
    fn new(map: &'a AliasMap, domains: &'a Domains) -> Self {
        Expander {
            map,
            domains,
            path: Vec::new(),
            work: 0,
            seen: HashSet::new(),
            out: Vec::new(),
        }
    }

    fn run(&mut self, address: &str) -> Result<Vec<String>, AliasError> {
        self.expand(address)?;
        Ok(std::mem::take(&mut self.out))
    }

    fn emit(&mut self, address: &str) {
        if self.seen.insert(address.to_string()) {
            self.out.push(address.to_string());
        }
    }

    fn expand(&mut self, address: &str) -> Result<(), AliasError> {
        self.work += 1;
        if self.work > MAX_WORK {
            return Err(AliasError::TooMuchWork);
        }
        let destinations = match self.domains.covers(address) {
            true => self.map.destinations(address),
            false => None,
        };
        let Some(destinations) = destinations else {
            self.emit(address);
            return Ok(());
        };
        let lower = address.to_ascii_lowercase();
        if self.path.contains(&lower) {
            return Err(AliasError::Cycle {
                address: address.to_string(),
            });
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(AliasError::TooDeep);
        }
        let domain = split_address(&lower).map(|(_, d)| d.to_string());
        self.path.push(lower);
        for target in destinations {
            // A bare name takes the domain of the address it belongs to.
            let target = match (target.contains('@'), &domain) {
                (false, Some(domain)) => format!("{target}@{domain}"),
                _ => target.clone(),
            };
            // Mapping an address to itself ends the chain (a virtual identity entry).
            if target.eq_ignore_ascii_case(address) {
                self.emit(&target);
            } else {
                self.expand(&target)?;
            }
        }
        self.path.pop();
        Ok(())
    }
}

/// `(local, domain)` split at the last `@`; `None` without one.
fn split_address(address: &str) -> Option<(&str, &str)> {
    address.rsplit_once('@')
}

/// Joins continuation lines; skips blank lines and full-line comments. Each logical line
/// comes with the number of the physical line it starts on.
fn logical_lines(text: &str) -> Result<Vec<(usize, String)>, AliasError> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match out.last_mut() {
                Some((_, logical)) => {
                    logical.push(' ');
                    logical.push_str(trimmed);
                }
                None => {
                    return Err(AliasError::Malformed {
                        line: number,
                        reason: "continuation line without an entry before it".into(),
                    })
                }
            }
        } else {
            out.push((number, line.trim_end().to_string()));
        }
    }
    Ok(out)
}

/// One logical line into its lower-case key and destinations.
fn parse_entry(format: Format, line: &str) -> Result<(String, Vec<String>), String> {
    let (key, value) = match format {
        Format::Aliases => {
            let Some((key, value)) = line.split_once(':') else {
                return Err(format!("expected \"name: destination, ...\": {line}"));
            };
            (key.trim_end(), value.trim())
        }
        Format::Virtual => match line.split_once([' ', '\t']) {
            Some((key, value)) => (key, value.trim()),
            None => (line, ""),
        },
    };
    let key = key.to_ascii_lowercase();
    check_key(format, &key)?;
    if value.is_empty() {
        return Err(format!("no destination for \"{key}\""));
    }
    let mut targets = Vec::new();
    for group in value.split(',') {
        let group = group.trim();
        if group.is_empty() {
            return Err(format!("empty destination in the list of \"{key}\""));
        }
        let words: Vec<&str> = group.split_whitespace().collect();
        if format == Format::Aliases && words.len() > 1 {
            return Err(format!(
                "destinations of \"{key}\" must be separated by commas: {group}"
            ));
        }
        for word in words {
            check_destination(word).map_err(|why| format!("\"{key}\": {why}"))?;
            targets.push(word.to_string());
        }
    }
    Ok((key, targets))
}

fn check_key(format: Format, key: &str) -> Result<(), String> {
    let ok = match format {
        Format::Aliases => is_local_part(key),
        Format::Virtual => match key.split_once('@') {
            Some((local, domain)) => {
                (local.is_empty() || is_local_part(local)) && is_domain(domain)
            }
            None => false,
        },
    };
    if ok {
        return Ok(());
    }
    Err(match format {
        Format::Aliases => format!("unsupported aliases key \"{key}\": expected a simple name"),
        Format::Virtual => {
            format!("unsupported virtual key \"{key}\": expected user@domain or @domain")
        }
    })
}

/// A destination: `name` or `name@domain`; anything else names the feature we refuse.
fn check_destination(word: &str) -> Result<(), String> {
    let valid = match word.split_once('@') {
        Some((local, domain)) => is_local_part(local) && is_domain(domain),
        None => is_local_part(word),
    };
    if valid {
        return Ok(());
    }
    let why = if word.starts_with('|') {
        "command destinations are not supported"
    } else if word.starts_with('/') {
        "file destinations are not supported"
    } else if word.to_ascii_lowercase().starts_with(":include:") {
        ":include: is not supported"
    } else if word.contains(['"', '<', '>']) {
        "quoted or display-name addresses are not supported"
    } else if word.starts_with('#') {
        "inline comments are not supported"
    } else if word.starts_with('@') {
        "@domain destinations are not supported"
    } else {
        "not a simple address"
    };
    Err(format!("{why}: {word}"))
}

/// A simple unquoted local part: letters, digits and `_ . + % -`.
fn is_local_part(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.+%-".contains(&b))
}

/// Letters, digits, dots and hyphens.
fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// Whether a configured bounce target is one bare envelope address (`local@domain`).
pub fn is_bare_address(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => is_local_part(local) && is_domain(domain),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(format: Format, text: &str) -> AliasMap {
        AliasMap::parse(format, text).unwrap()
    }

    fn err(format: Format, text: &str) -> String {
        AliasMap::parse(format, text).unwrap_err().to_string()
    }

    fn resolve_with(
        map: &AliasMap,
        domains: &[&str],
        recipient: &str,
        reject_unknown: bool,
    ) -> Result<Resolution, AliasError> {
        let domains = Domains::new(domains);
        let lookup = Lookup {
            recipient,
            domains: &domains,
            reject_unknown,
            bounce_target: None,
        };
        resolve(&lookup, || Ok(map.clone()), |_| unreachable!())
    }

    fn targets(map: &AliasMap, recipient: &str) -> Result<Vec<String>, AliasError> {
        resolve_with(map, &["example.test"], recipient, false).map(|r| r.into_addresses(recipient))
    }

    #[test]
    fn aliases_format_comments_continuations_and_bare_names() {
        let m = map(
            Format::Aliases,
            "# Forwarding\n\nwebmaster: team,\n    two@remote.test\n  # a comment inside\nteam : one@remote.test\n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(
            targets(&m, "webmaster@example.test").unwrap(),
            ["one@remote.test", "two@remote.test"]
        );
        assert_eq!(
            targets(&m, "WebMaster@EXAMPLE.test").unwrap(),
            ["one@remote.test", "two@remote.test"]
        );
    }

    #[test]
    fn aliases_format_needs_commas() {
        assert!(err(Format::Aliases, "a: b@x.test c@x.test").contains("separated by commas"));
        assert!(err(Format::Aliases, "no separator here").contains("line 1"));
        assert!(err(Format::Aliases, "a:").contains("no destination"));
    }

    #[test]
    fn virtual_format_whitespace_and_commas() {
        let m = map(
            Format::Virtual,
            "webmaster@example.test one@remote.test\ttwo@remote.test,\n    three@remote.test one@remote.test\n",
        );
        assert_eq!(
            targets(&m, "webmaster@example.test").unwrap(),
            ["one@remote.test", "two@remote.test", "three@remote.test"]
        );
    }

    #[test]
    fn empty_comma_entries_are_errors() {
        for value in [
            ",a@r.test",
            "a@r.test, ,b@r.test",
            "a@r.test, ",
            "a@r.test,",
        ] {
            for format in [Format::Aliases, Format::Virtual] {
                let key = match format {
                    Format::Aliases => "k:",
                    Format::Virtual => "k@example.test",
                };
                let text = format!("{key} {value}");
                assert!(
                    err(format, &text).contains("empty destination"),
                    "{format:?} {text}"
                );
            }
        }
    }

    #[test]
    fn unsupported_destinations() {
        let cases = [
            ("|/bin/cmd", "command"),
            ("/var/mail/x", "file"),
            (":include:/etc/list", ":include:"),
            ("\"User\"", "quoted"),
            ("<a@remote.test>", "quoted"),
            ("a@remote.test#x", "not a simple address"),
            ("$env(HOME)", "not a simple address"),
            ("@other.test", "@domain"),
        ];
        for (dest, why) in cases {
            let e = err(Format::Aliases, &format!("k: {dest}"));
            assert!(e.contains(why), "{dest}: {e}");
        }
        assert!(err(Format::Virtual, "k@example.test a@r.test # note").contains("inline comments"));
    }

    #[test]
    fn keys() {
        assert!(err(Format::Virtual, "webmaster a@r.test").contains("user@domain"));
        assert!(err(Format::Aliases, "\"a b\": a@r.test").contains("simple name"));
        assert!(err(Format::Aliases, "a@b: a@r.test").contains("simple name"));
        assert!(err(Format::Virtual, "a@ex_ample a@r.test").contains("unsupported virtual key"));
        let e = err(Format::Aliases, "a: x\n\nA: y");
        assert!(
            e.contains("line 3") && e.contains("duplicate") && e.contains("line 1"),
            "{e}"
        );
    }

    #[test]
    fn orphan_continuation() {
        assert_eq!(
            err(Format::Virtual, "  webmaster@example.test a@r.test"),
            "line 1: continuation line without an entry before it"
        );
    }

    #[test]
    fn crlf_lines() {
        let m = map(
            Format::Virtual,
            "a@example.test b@r.test\r\n@example.test c@r.test\r\n",
        );
        assert_eq!(targets(&m, "a@example.test").unwrap(), ["b@r.test"]);
    }

    #[test]
    fn exact_beats_catch_all_and_identity_is_terminal() {
        let m = map(
            Format::Virtual,
            "webmaster@example.test one@remote.test\n@example.test fallback@remote.test\nidentity@example.test identity@example.test",
        );
        assert_eq!(
            targets(&m, "webmaster@example.test").unwrap(),
            ["one@remote.test"]
        );
        assert_eq!(
            targets(&m, "nobody@example.test").unwrap(),
            ["fallback@remote.test"]
        );
        assert_eq!(
            targets(&m, "identity@example.test").unwrap(),
            ["identity@example.test"]
        );
    }

    #[test]
    fn identity_inside_a_list_keeps_the_others() {
        let m = map(Format::Aliases, "me: me, copy@remote.test");
        assert_eq!(
            targets(&m, "me@example.test").unwrap(),
            ["me@example.test", "copy@remote.test"]
        );
    }

    #[test]
    fn outside_domains_and_unmapped_pass_through() {
        let m = map(Format::Aliases, "webmaster: a@r.test");
        let outside = resolve_with(&m, &["example.test"], "webmaster@remote.test", true).unwrap();
        assert_eq!(outside, Resolution::Outside);
        assert_eq!(
            targets(&m, "unknown@example.test").unwrap(),
            ["unknown@example.test"]
        );
        let none: [&str; 0] = [];
        assert_eq!(
            resolve_with(&m, &none, "webmaster@example.test", true).unwrap(),
            Resolution::Outside
        );
    }

    #[test]
    fn outside_domains_never_load_the_file() {
        let domains = Domains::new(&["example.test"]);
        let lookup = Lookup {
            recipient: "x@other.test",
            domains: &domains,
            reject_unknown: true,
            bounce_target: None,
        };
        let r = resolve(&lookup, || panic!("loaded"), |_| panic!("validated")).unwrap();
        assert_eq!(r, Resolution::Outside);
    }

    #[test]
    fn unknown_with_rejection() {
        let m = map(Format::Virtual, "known@example.test a@r.test");
        assert_eq!(
            resolve_with(&m, &["EXAMPLE.TEST"], "unknown@example.test", true).unwrap(),
            Resolution::Unknown
        );
        assert_eq!(
            resolve_with(&m, &["example.test"], "Known@Example.Test", true).unwrap(),
            Resolution::Targets(vec!["a@r.test".into()])
        );
    }

    #[test]
    fn chains_stay_within_domains() {
        let m = map(
            Format::Aliases,
            "a: b\nb: c@example.test, d@other.test\nc: final@remote.test",
        );
        let r = resolve_with(&m, &["example.test"], "a@example.test", false).unwrap();
        assert_eq!(
            r,
            Resolution::Targets(vec!["final@remote.test".into(), "d@other.test".into()])
        );
        // `d` is a key, but other.test is not ours: it passes through.
        let m = map(Format::Aliases, "a: d@other.test\nd: x@remote.test");
        assert_eq!(targets(&m, "a@example.test").unwrap(), ["d@other.test"]);
    }

    #[test]
    fn duplicates_removed_in_order() {
        let m = map(
            Format::Aliases,
            "all: x@r.test, team, y@r.test\nteam: y@r.test, x@r.test, z@r.test",
        );
        assert_eq!(
            targets(&m, "all@example.test").unwrap(),
            ["x@r.test", "y@r.test", "z@r.test"]
        );
    }

    #[test]
    fn cycles_fail() {
        let m = map(Format::Aliases, "webmaster: team\nteam: webmaster");
        assert_eq!(
            targets(&m, "webmaster@example.test")
                .unwrap_err()
                .to_string(),
            "alias cycle at webmaster@example.test"
        );
        let m = map(
            Format::Virtual,
            "a@example.test b@example.test\nb@example.test A@EXAMPLE.TEST",
        );
        assert!(matches!(
            targets(&m, "a@example.test"),
            Err(AliasError::Cycle { .. })
        ));
    }

    fn chain(n: usize) -> AliasMap {
        let text: String = (0..n)
            .map(|i| format!("user{i}: user{}\n", i + 1))
            .collect();
        map(Format::Aliases, &text)
    }

    #[test]
    fn depth_bound() {
        assert_eq!(
            targets(&chain(MAX_DEPTH), "user0@example.test").unwrap(),
            ["user32@example.test"]
        );
        assert_eq!(
            targets(&chain(MAX_DEPTH + 1), "user0@example.test"),
            Err(AliasError::TooDeep)
        );
        assert!(AliasError::TooDeep
            .to_string()
            .starts_with("alias expansion exceeds file resolver limit"));
    }

    #[test]
    fn work_bound() {
        // Each level names the next twice: 2^16 paths, far more than the budget.
        let text: String = (0..15)
            .map(|i| format!("user{i}: user{n}, user{n}\n", n = i + 1))
            .collect();
        let m = map(Format::Aliases, &text);
        assert_eq!(
            targets(&m, "user0@example.test"),
            Err(AliasError::TooMuchWork)
        );
        // 12 levels: 2^13 - 1 = 8191 visits stay within it.
        let text: String = (0..12)
            .map(|i| format!("user{i}: user{n}, user{n}\n", n = i + 1))
            .collect();
        let m = map(Format::Aliases, &text);
        assert_eq!(
            targets(&m, "user0@example.test").unwrap(),
            ["user12@example.test"]
        );
    }

    fn bounce(
        m: &AliasMap,
        recipient: &str,
        reject_unknown: bool,
        answer: Result<bool, AliasError>,
    ) -> (Result<Resolution, AliasError>, Vec<String>) {
        let domains = Domains::new(&["example.test"]);
        let lookup = Lookup {
            recipient,
            domains: &domains,
            reject_unknown,
            bounce_target: Some("webmaster@example.test"),
        };
        let mut asked = Vec::new();
        let r = resolve(
            &lookup,
            || Ok(m.clone()),
            |a| {
                asked.push(a.to_string());
                answer
            },
        );
        (r, asked)
    }

    #[test]
    fn bounce_fallback() {
        let m = map(Format::Virtual, "webmaster@example.test one@remote.test");
        let (r, asked) = bounce(&m, "bounce-1@example.test", true, Ok(true));
        assert_eq!(
            r.unwrap(),
            Resolution::Targets(vec!["one@remote.test".into()])
        );
        assert_eq!(asked, ["bounce-1@example.test"]);
        let (r, _) = bounce(&m, "bounce-1@example.test", true, Ok(false));
        assert_eq!(r.unwrap(), Resolution::Unknown);
        let (r, _) = bounce(&m, "bounce-1@example.test", false, Ok(false));
        assert_eq!(
            r.unwrap(),
            Resolution::Targets(vec!["bounce-1@example.test".into()])
        );
        let failure = AliasError::Validator { reason: "x".into() };
        let (r, _) = bounce(&m, "bounce-1@example.test", true, Err(failure.clone()));
        assert_eq!(r, Err(failure));
        // Known aliases and other domains never ask the validator.
        let (_, asked) = bounce(&m, "webmaster@example.test", true, Ok(true));
        assert!(asked.is_empty());
        let (r, asked) = bounce(&m, "x@remote.test", true, Ok(true));
        assert_eq!((r.unwrap(), asked.len()), (Resolution::Outside, 0));
    }

    #[test]
    fn catch_all_makes_everyone_known_to_the_validator() {
        let m = map(Format::Virtual, "@example.test all@remote.test");
        let (r, asked) = bounce(&m, "anyone@example.test", true, Ok(true));
        assert_eq!(
            r.unwrap(),
            Resolution::Targets(vec!["all@remote.test".into()])
        );
        assert!(asked.is_empty());
    }

    #[test]
    fn bare_address() {
        assert!(is_bare_address("webmaster@openacs.org"));
        for bad in [
            "",
            "webmaster",
            "@openacs.org",
            "a@",
            "<a@b.test>",
            "a b@c.test",
            "a@b.test,c@d.test",
        ] {
            assert!(!is_bare_address(bad), "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(Format::parse("virtual"), Some(Format::Virtual));
        assert_eq!(
            Format::parse("aliases").map(Format::as_str),
            Some("aliases")
        );
        assert_eq!(Format::parse("Virtual"), None);
    }
}
