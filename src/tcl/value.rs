//! Plain Rust values that subcommands return and the errors they raise; converted to Tcl
//! objects only at the edge (see `api`), so subcommand code stays safe and testable.
use std::fmt;

/// A result value for Tcl.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Empty,
    Str(String),
    Bytes(Vec<u8>),
    Int(i64),
    Double(f64),
    List(Vec<Value>),
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Int(i64::from(b))
    }
}

/// A Tcl error raised by a subcommand, with its `-errorcode` list (empty: keep Tcl's own).
#[derive(Debug, Clone, PartialEq)]
pub struct CmdError {
    pub message: String,
    pub code: Vec<String>,
}

impl CmdError {
    pub fn new(message: impl Into<String>) -> Self {
        CmdError {
            message: message.into(),
            code: vec!["NSSMTPD".into()],
        }
    }

    /// The standard `wrong # args: should be "..."` error.
    pub fn wrong_args(words: &str, usage: &str) -> Self {
        let should = if usage.is_empty() {
            words.to_string()
        } else {
            format!("{words} {usage}")
        };
        CmdError {
            message: format!("wrong # args: should be \"{should}\""),
            code: vec!["TCL".into(), "WRONGARGS".into()],
        }
    }

    /// An error whose `-errorcode` Tcl already set (e.g. `TCL LOOKUP VARNAME` from reading
    /// a variable): it is passed through unchanged.
    pub fn from_tcl(message: impl Into<String>) -> Self {
        CmdError {
            message: message.into(),
            code: Vec::new(),
        }
    }

    pub fn with_code(mut self, code: &[&str]) -> Self {
        self.code = code.iter().map(|s| s.to_string()).collect();
        self
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type CmdResult = Result<Value, CmdError>;

/// Formats `a, b, or c` the way Tcl's `Tcl_GetIndexFromObj` lists choices.
pub fn choice_list(names: &[&str]) -> String {
    match names.len() {
        0 => String::new(),
        1 => names[0].to_string(),
        2 => format!("{} or {}", names[0], names[1]),
        n => format!("{}, or {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

/// The error for a word that is not one of `names`, in Tcl's own wording.
pub fn bad_choice(kind: &str, word: &str, names: &[&str]) -> CmdError {
    CmdError::new(format!(
        "bad {kind} \"{word}\": must be {}",
        choice_list(names)
    ))
    .with_code(&["TCL", "LOOKUP", "INDEX", kind, word])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_list_matches_tcl() {
        assert_eq!(choice_list(&["a"]), "a");
        assert_eq!(choice_list(&["a", "b"]), "a or b");
        assert_eq!(choice_list(&["a", "b", "c"]), "a, b, or c");
    }

    #[test]
    fn wrong_args_text() {
        assert_eq!(
            CmdError::wrong_args("ns_smtpd encode", "base64|hex|qprint data").message,
            "wrong # args: should be \"ns_smtpd encode base64|hex|qprint data\""
        );
    }
}
