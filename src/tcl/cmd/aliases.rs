//! `ns_smtpd aliasfile resolve|check`: text alias files (see `core::aliasfile`). The file is
//! read fresh on every call, so each original recipient sees one snapshot of it.
//!
//! Error codes: `NSSMTPD ALIAS CONFIG` for a call that cannot be made as configured,
//! `NSSMTPD ALIAS ERROR` for a failed lookup (unreadable or malformed file, cycle, bounds,
//! failing bounce validator). Neither means "unknown recipient": that is an empty result.
use crate::core::aliasfile::{self, AliasError, AliasMap, Domains, Format, Lookup};
use crate::tcl::api::EvalOutcome;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{bad_choice, CmdError, CmdResult, Value};

const OPS: &[&str] = &["check", "resolve"];
const RESOLVE_USAGE: &str = "?-format virtual|aliases? -file path -domains list -recipient address ?-rejectunknown bool? ?-bouncevalidproc command? ?-bouncetarget address?";
const CHECK_USAGE: &str = "?-format virtual|aliases? -file path";

/// Calls the validator prefix at global level with the recipient appended; a boolean result
/// comes back as 0 or 1, anything else is an error.
const VALIDATOR: &str = r#"{prefix recipient} {
    set result [uplevel #0 [linsert $prefix end $recipient]]
    if {![string is boolean -strict $result]} {
        return -code error "returned \"$result\", not a boolean"
    }
    expr {$result ? 1 : 0}
}"#;

pub fn aliasfile(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() < 3 {
        return Err(CmdError::wrong_args(
            "ns_smtpd aliasfile",
            "check|resolve ?-option value ...?",
        ));
    }
    let op = args.str(2);
    match op.as_str() {
        "check" => check(args),
        "resolve" => resolve(context, args),
        _ => Err(bad_choice("option", &op, OPS)),
    }
}

/// `check`: parses the file and returns its number of entries (an error names the line).
fn check(args: &Args) -> CmdResult {
    let options = Options::parse(args, &["-format", "-file"], "check", CHECK_USAGE)?;
    let file = options.required("-file", "check", CHECK_USAGE)?;
    let map = load(options.format()?, &file).map_err(|e| lookup_error(&file, e))?;
    Ok(Value::Int(map.len() as i64))
}

/// `resolve`: the final addresses of one recipient; empty for an unknown recipient when
/// `-rejectunknown` is true.
fn resolve(context: &InterpContext, args: &Args) -> CmdResult {
    let names = [
        "-format",
        "-file",
        "-domains",
        "-recipient",
        "-rejectunknown",
        "-bouncevalidproc",
        "-bouncetarget",
    ];
    let options = Options::parse(args, &names, "resolve", RESOLVE_USAGE)?;
    let format = options.format()?;
    let file = options.required("-file", "resolve", RESOLVE_USAGE)?;
    let recipient = options.required("-recipient", "resolve", RESOLVE_USAGE)?;
    let domains = match options.index("-domains") {
        Some(i) => Domains::new(&args.list(i)?),
        None => {
            return Err(CmdError::wrong_args(
                "ns_smtpd aliasfile resolve",
                RESOLVE_USAGE,
            ))
        }
    };
    let reject_unknown = match options.index("-rejectunknown") {
        Some(i) => args.boolean(i).map_err(|_| {
            config_error(&format!(
                "expected boolean value for -rejectunknown but got \"{}\"",
                args.str(i)
            ))
        })?,
        None => false,
    };
    if file.is_empty() {
        return Err(config_error("no alias file given"));
    }
    if recipient.is_empty() {
        return Err(config_error("empty recipient"));
    }
    let validator = options.get("-bouncevalidproc").unwrap_or_default();
    let target = options.get("-bouncetarget").unwrap_or_default();
    let bounce_target = if validator.trim().is_empty() {
        None
    } else if aliasfile::is_bare_address(&target) {
        Some(target.as_str())
    } else if target.is_empty() {
        return Err(config_error("bouncevalidproc requires a bouncetarget"));
    } else {
        return Err(config_error(&format!(
            "bouncetarget \"{target}\" is not one bare address (local@domain)"
        )));
    };
    let lookup = Lookup {
        recipient: &recipient,
        domains: &domains,
        reject_unknown,
        bounce_target,
    };
    let resolution = aliasfile::resolve(
        &lookup,
        || load(format, &file),
        |address| ask_validator(context, &validator, address),
    )
    .map_err(|e| lookup_error(&file, e))?;
    let addresses = resolution.into_addresses(&recipient);
    Ok(Value::List(addresses.into_iter().map(Value::Str).collect()))
}

fn load(format: Format, file: &str) -> Result<AliasMap, AliasError> {
    let bytes = std::fs::read(file).map_err(|e| AliasError::Unreadable {
        path: file.to_string(),
        reason: os_reason(&e),
    })?;
    // Anything not ASCII is refused by the syntax rules anyway; this only keeps the line
    // numbers of such an error right.
    AliasMap::parse(format, &String::from_utf8_lossy(&bytes))
}

/// The system's text without Rust's ` (os error N)` suffix.
fn os_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn ask_validator(
    context: &InterpContext,
    prefix: &str,
    recipient: &str,
) -> Result<bool, AliasError> {
    match context.eval_words(&["apply", VALIDATOR, prefix, recipient]) {
        EvalOutcome::Ok(answer) => Ok(answer == "1"),
        EvalOutcome::Error { message, .. } => Err(AliasError::Validator { reason: message }),
    }
}

fn lookup_error(file: &str, error: AliasError) -> CmdError {
    let message = match &error {
        AliasError::Malformed { .. } => format!("alias file \"{file}\": {error}"),
        _ => error.to_string(),
    };
    CmdError::new(message).with_code(&["NSSMTPD", "ALIAS", "ERROR"])
}

fn config_error(message: &str) -> CmdError {
    CmdError::new(message).with_code(&["NSSMTPD", "ALIAS", "CONFIG"])
}

/// `-name value` pairs in any order: the index of each value among the words.
struct Options<'a, 'b> {
    args: &'a Args<'b>,
    found: Vec<(&'static str, usize)>,
}

impl<'a, 'b> Options<'a, 'b> {
    fn parse(
        args: &'a Args<'b>,
        names: &[&'static str],
        op: &str,
        usage: &str,
    ) -> Result<Self, CmdError> {
        let mut found = Vec::new();
        let mut i = 3;
        while i < args.len() {
            let word = args.str(i);
            let Some(name) = names.iter().find(|n| **n == word) else {
                return Err(bad_choice("option", &word, names));
            };
            if i + 1 >= args.len() {
                return Err(CmdError::wrong_args(
                    &format!("ns_smtpd aliasfile {op}"),
                    usage,
                ));
            }
            found.retain(|(n, _)| n != name);
            found.push((*name, i + 1));
            i += 2;
        }
        Ok(Options { args, found })
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.found.iter().find(|(n, _)| *n == name).map(|(_, i)| *i)
    }

    fn get(&self, name: &str) -> Option<String> {
        self.index(name).map(|i| self.args.str(i))
    }

    fn required(&self, name: &str, op: &str, usage: &str) -> Result<String, CmdError> {
        self.get(name)
            .ok_or_else(|| CmdError::wrong_args(&format!("ns_smtpd aliasfile {op}"), usage))
    }

    fn format(&self) -> Result<Format, CmdError> {
        match self.get("-format") {
            None => Ok(Format::Virtual),
            Some(word) => Format::parse(&word).ok_or_else(|| {
                config_error(&format!(
                    "bad alias file format \"{word}\": must be virtual or aliases"
                ))
            }),
        }
    }
}
