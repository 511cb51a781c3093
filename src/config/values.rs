//! The text forms of option values: parsers (text -> field, with the error texts that
//! `start`/`configure` report, which tcltests compare byte for byte) and [`Render`]
//! (field -> text, for `cget`).
use super::ConfigError;
use crate::core::data::BareLinePolicy;
use crate::core::flags;
use std::time::Duration;

/// What a positive spam or virus check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanAction {
    /// `554 5.7.1` at the end of data.
    Reject,
    /// Headers are added to the relayed copy.
    Tag,
    /// Only flags for dataproc.
    None,
}

impl ScanAction {
    pub(super) fn parse(name: &str, value: &str) -> Result<Self, ConfigError> {
        Ok(
            match choice(name, value, &["reject", "tag", "none"])?.as_str() {
                "reject" => ScanAction::Reject,
                "tag" => ScanAction::Tag,
                _ => ScanAction::None,
            },
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ScanAction::Reject => "reject",
            ScanAction::Tag => "tag",
            ScanAction::None => "none",
        }
    }
}

/// What a spam or virus check that cannot be made (daemon down or slow) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFailure {
    /// `451 4.7.1`: the client tries again later.
    Tempfail,
    /// The message goes on unchecked.
    Accept,
}

impl ScanFailure {
    pub(super) fn parse(name: &str, value: &str) -> Result<Self, ConfigError> {
        Ok(
            match choice(name, value, &["tempfail", "accept"])?.as_str() {
                "accept" => ScanFailure::Accept,
                _ => ScanFailure::Tempfail,
            },
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ScanFailure::Tempfail => "tempfail",
            ScanFailure::Accept => "accept",
        }
    }
}

// Parsers. Each takes the option name (for the error text) and the value as given.

/// `invalid value "VALUE" for -NAME: WHY`, the form most rejections share.
fn invalid(name: &str, value: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("invalid value \"{value}\" for -{name}: {why}"))
}

/// Words, host names, paths: surrounding white space is dropped.
pub(super) fn text(_name: &str, value: &str) -> Result<String, ConfigError> {
    Ok(value.trim().to_string())
}

/// Kept exactly as given (scripts, lists read by the Tcl procs, file names).
pub(super) fn verbatim(_name: &str, value: &str) -> Result<String, ConfigError> {
    Ok(value.to_string())
}

/// An integer from `min` to `max`, stored in whatever integer type the field has.
pub(super) fn int<T: TryFrom<i64>>(
    min: i64,
    max: i64,
) -> impl Fn(&str, &str) -> Result<T, ConfigError> {
    move |name, value| {
        let out_of_range = || invalid(name, value, format!("must be between {min} and {max}"));
        let v: i64 = value
            .trim()
            .parse()
            .map_err(|_| invalid(name, value, "expected an integer"))?;
        if v < min || v > max {
            return Err(out_of_range());
        }
        // The limits of every row fit its field; this only guards a wrong row.
        T::try_from(v).map_err(|_| out_of_range())
    }
}

/// A time as NaviServer writes it, in seconds: a number (`60`, `1.5`) or a number with a
/// unit (`1500ms`, `30s`, `5m`, `2h`, `1d`, `250us`).
fn time_seconds(name: &str, value: &str) -> Result<f64, ConfigError> {
    let text = value.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let not_a_time = || {
        invalid(
            name,
            value,
            "expected a time: seconds, or a number with ms, s, m, h or d",
        )
    };
    if number.is_empty() {
        return Err(not_a_time());
    }
    let scale = match unit.trim().to_lowercase().as_str() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(invalid(name, value, "the unit must be ms, s, m, h or d")),
    };
    let n: f64 = number.parse().map_err(|_| not_a_time())?;
    Ok(n * scale)
}

/// A time from 1 ms to a day (timeouts).
pub(super) fn seconds(name: &str, value: &str) -> Result<Duration, ConfigError> {
    let secs = time_seconds(name, value)?;
    if !(0.001..=86_400.0).contains(&secs) {
        return Err(invalid(name, value, "must be between 1ms and 1d"));
    }
    Ok(Duration::from_micros((secs * 1e6).round() as u64))
}

/// A greylist time in whole seconds, up to ten years (`300`, `90s`, `5m`, `4h`, `7d`).
pub(super) fn time_span(name: &str, value: &str) -> Result<i64, ConfigError> {
    const MAX: i64 = 10 * 365 * 86_400;
    let secs = time_seconds(name, value)?;
    if !(1.0..=MAX as f64).contains(&secs) || secs.fract() != 0.0 {
        return Err(invalid(
            name,
            value,
            format!("must be whole seconds between 1 second and {MAX} seconds"),
        ));
    }
    Ok(secs as i64)
}

/// Where the greylist lives: `memory` (this server) or a `redis://host:port/db` URL.
pub(super) fn greylist_backend(name: &str, value: &str) -> Result<String, ConfigError> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("memory") || v.is_empty() {
        Ok("memory".into())
    } else if v.starts_with("redis://") {
        Ok(v.to_string())
    } else {
        Err(invalid(name, value, "must be memory or a redis:// URL"))
    }
}

pub(super) fn boolean(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(name, value, "expected a boolean")),
    }
}

/// Empty (unset: another option's value applies) or a value `parse` accepts.
pub(super) fn unset_or<T>(
    parse: impl Fn(&str, &str) -> Result<T, ConfigError>,
) -> impl Fn(&str, &str) -> Result<Option<T>, ConfigError> {
    move |name, value| {
        if value.trim().is_empty() {
            Ok(None)
        } else {
            parse(name, value).map(Some)
        }
    }
}

/// The `dkimsign` entries: checked for form here, kept as given; the keys are read by
/// `start` and `configure` (`io::dkim_sign`).
pub(super) fn dkim_sign_entries(name: &str, value: &str) -> Result<String, ConfigError> {
    crate::core::dkim_keys::parse_entries(value)
        .map(|_| value.to_string())
        .map_err(|why| invalid(name, value, why))
}

/// One of `choices`, case-insensitively; returns it in lower case.
fn choice(name: &str, value: &str, choices: &[&str]) -> Result<String, ConfigError> {
    let v = value.trim().to_ascii_lowercase();
    if choices.contains(&v.as_str()) {
        Ok(v)
    } else {
        // `a, b, or c`, as Tcl's own lists of choices.
        let why = match choices.split_last() {
            Some((last, rest)) if rest.len() > 1 => {
                format!("must be {}, or {last}", rest.join(", "))
            }
            Some((last, [only])) => format!("must be {only} or {last}"),
            _ => format!("must be {}", choices.join("")),
        };
        Err(invalid(name, value, why))
    }
}

/// `reject` or `normalize` (case-sensitive, as it always was).
pub(super) fn bare_line_policy(name: &str, value: &str) -> Result<BareLinePolicy, ConfigError> {
    match value.trim() {
        "reject" => Ok(BareLinePolicy::Reject),
        "normalize" => Ok(BareLinePolicy::Normalize),
        _ => Err(invalid(name, value, "must be reject or normalize")),
    }
}

/// The format of a text alias file: `virtual` or `aliases`.
pub(super) fn alias_format(name: &str, value: &str) -> Result<String, ConfigError> {
    choice(name, value, &["virtual", "aliases"])
}

/// A number (as `cget` gives it) or comma-separated names (the config section's form).
pub(super) fn flag_list(name: &str, value: &str) -> Result<u32, ConfigError> {
    if let Ok(bits) = value.trim().parse::<u32>() {
        return Ok(bits);
    }
    let (bits, unknown) = flags::parse_flag_list(value);
    if !unknown.is_empty() {
        let why = format!("unknown flag {}", unknown.join(", "));
        return Err(invalid(name, value, why));
    }
    Ok(bits)
}

/// `opportunistic`, `require` or `none`, kept in lower case (the relay code matches on it).
pub(super) fn relay_tls(name: &str, value: &str) -> Result<String, ConfigError> {
    let v = value.trim().to_ascii_lowercase();
    if !matches!(v.as_str(), "opportunistic" | "require" | "none") {
        let why = "must be opportunistic, require, or none";
        return Err(invalid(name, value, why));
    }
    Ok(v)
}

/// `authcheck`: a list of `spf dkim dmarc arc`, kept in canonical order.
pub(super) fn auth_methods(name: &str, value: &str) -> Result<String, ConfigError> {
    crate::core::authres::AuthMethods::parse(value)
        .map(|m| m.as_text())
        .map_err(|why| invalid(name, value, &why))
}

/// `nameserver`: a list of `host`, `host:port`, `[v6]:port`.
pub(super) fn nameservers(name: &str, value: &str) -> Result<String, ConfigError> {
    crate::core::authres::parse_nameservers(value).map_err(|why| invalid(name, value, &why))?;
    Ok(value
        .split([' ', ',', '\t', '\n'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" "))
}

/// `dmarcaction`: `none` or `reject`.
pub(super) fn dmarc_action(name: &str, value: &str) -> Result<String, ConfigError> {
    let v = value.trim().to_ascii_lowercase();
    if !matches!(v.as_str(), "none" | "reject") {
        return Err(invalid(name, value, "must be none or reject"));
    }
    Ok(v)
}

/// A load average: a number from 0 to 10000.
pub(super) fn load_average(name: &str, value: &str) -> Result<f64, ConfigError> {
    match value.trim().parse::<f64>() {
        Ok(v) if (0.0..=10_000.0).contains(&v) => Ok(v),
        _ => Err(invalid(name, value, "expected a number from 0 to 10000")),
    }
}

/// One line of text (it goes into a reply line as is).
pub(super) fn one_line(name: &str, value: &str) -> Result<String, ConfigError> {
    if value.contains(['\r', '\n']) {
        return Err(ConfigError(format!("-{name} must be one line")));
    }
    Ok(value.trim().to_string())
}

/// Reply lines separated by newlines (a CR would end up inside a reply line).
pub(super) fn lines(name: &str, value: &str) -> Result<String, ConfigError> {
    if value.contains('\r') {
        return Err(ConfigError(format!(
            "-{name} lines are separated by newlines"
        )));
    }
    Ok(value.trim_matches('\n').to_string())
}

/// Addresses and networks (checked here, parsed again where they are used).
pub(super) fn networks(name: &str, value: &str) -> Result<String, ConfigError> {
    crate::core::localnet::parse_list(value).map_err(|e| invalid(name, value, e))?;
    Ok(value.trim().to_string())
}

/// HELO style rules (see `core::rules::helostyle`): one per line, or a Tcl list of rules.
pub(super) fn helo_styles(name: &str, value: &str) -> Result<String, ConfigError> {
    crate::core::rules::helostyle::HeloStyles::parse(value).map_err(|e| invalid(name, value, e))?;
    Ok(value.to_string())
}

/// The text form of a field, as `cget` reports it (and as its parser accepts it back).
pub(super) trait Render {
    fn render(&self) -> String;
}

impl Render for String {
    fn render(&self) -> String {
        self.clone()
    }
}

macro_rules! render_with_to_string {
    ($($t:ty),*) => {$(
        impl Render for $t {
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
render_with_to_string!(u16, u32, u64, usize, i64, f64);

/// Unset is the empty string.
impl<T: Render> Render for Option<T> {
    fn render(&self) -> String {
        self.as_ref().map(Render::render).unwrap_or_default()
    }
}

/// Tcl's canonical booleans.
impl Render for bool {
    fn render(&self) -> String {
        u8::from(*self).to_string()
    }
}

/// Whole seconds as a plain number (as before units were accepted), otherwise milliseconds
/// with their unit, so the text parses back to the same time.
impl Render for Duration {
    fn render(&self) -> String {
        if self.subsec_nanos() == 0 {
            self.as_secs().to_string()
        } else {
            let ms = self.as_secs_f64() * 1e3;
            format!("{}ms", (ms * 1000.0).round() / 1000.0)
        }
    }
}

impl Render for BareLinePolicy {
    fn render(&self) -> String {
        match self {
            BareLinePolicy::Reject => "reject".into(),
            BareLinePolicy::Normalize => "normalize".into(),
        }
    }
}

impl Render for ScanAction {
    fn render(&self) -> String {
        self.as_str().into()
    }
}

impl Render for ScanFailure {
    fn render(&self) -> String {
        self.as_str().into()
    }
}

#[cfg(test)]
mod greylist_value_tests {
    use super::*;

    #[test]
    fn greylist_times_take_units() {
        let secs = |v: &str| time_span("greylistdelay", v);
        assert_eq!(secs("300").unwrap(), 300);
        assert_eq!(secs(" 5m ").unwrap(), 300);
        assert_eq!(secs("4h").unwrap(), 14_400);
        assert_eq!(secs("7D").unwrap(), 604_800);
        assert_eq!(secs("90s").unwrap(), 90);
        assert_eq!(secs("1.5h").unwrap(), 5400);
        for bad in ["0", "-1", "5x", "m", "", "1.5s", "99999999999d"] {
            assert!(secs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn greylist_backend_is_memory_or_a_redis_url() {
        let backend = |v: &str| greylist_backend("greylistbackend", v);
        assert_eq!(backend("Memory").unwrap(), "memory");
        assert_eq!(backend("").unwrap(), "memory");
        assert_eq!(
            backend("redis://127.0.0.1:6379/0").unwrap(),
            "redis://127.0.0.1:6379/0"
        );
        assert!(backend("http://x").is_err());
    }
}
