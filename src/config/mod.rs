//! Server options: names, defaults and validation, shared by the config section, `start`,
//! `configure` and `cget`. Names and meanings follow the original module's config section.
//!
//! Each option is described once, as a row in `options.rs`; the `server_options!` macro
//! below turns the rows into the [`ServerConfig`] struct (and its [`Procs`] part), its
//! `Default`, and the [`OPTIONS`] table that `set`, `get`, [`OPTION_NAMES`] and
//! [`START_ONLY`] are built from. Adding an option is adding a row there (and to the
//! README's configuration table, which a test below checks).
use std::fmt;

pub use options::{Procs, ServerConfig, OPTIONS};
pub use values::{ScanAction, ScanFailure};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One server option: what `start`, `configure` and `cget` need to know about it.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    /// The name, without the leading `-`.
    pub name: &'static str,
    /// One line: what the option means.
    pub doc: &'static str,
    /// Only `start` uses it (the listeners are bound with it).
    pub start_only: bool,
    /// Parses and checks the text form into the field.
    pub set: fn(&mut ServerConfig, &str) -> Result<(), ConfigError>,
    /// The field's text form, which `set` accepts back.
    pub get: fn(&ServerConfig) -> String,
}

/// Expands the rows of `options.rs` (see there for the row syntax). The struct fields,
/// their defaults and the descriptors all come from the same row, so they cannot drift.
macro_rules! server_options {
    // `start_only` at the end of a row, or nothing; any other word fails to build.
    (@start_only) => { false };
    (@start_only start_only) => { true };

    (
        ServerConfig { $(
            #[doc = $doc:literal]
            $name:ident : $ty:ty = $default:expr, $parse:expr $(, $start_only:ident)? ;
        )* }
        #[doc = $procs_doc:literal]
        procs: Procs { $(
            #[doc = $proc_doc:literal]
            $proc_name:ident => $proc_field:ident : $proc_ty:ty = $proc_default:expr,
                $proc_parse:expr ;
        )* }
    ) => {
        /// Every server option, as `start`, `configure` and `cget` see them.
        #[derive(Debug, Clone, PartialEq)]
        pub struct ServerConfig {
            $( #[doc = $doc] pub $name: $ty, )*
            #[doc = $procs_doc]
            pub procs: Procs,
        }

        #[doc = $procs_doc]
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct Procs {
            $( #[doc = $proc_doc] pub $proc_field: $proc_ty, )*
        }

        impl Default for ServerConfig {
            fn default() -> Self {
                ServerConfig {
                    $( $name: $default, )*
                    procs: Procs { $( $proc_field: $proc_default, )* },
                }
            }
        }

        /// Every option, in the order of the rows.
        pub const OPTIONS: &[$crate::config::OptionSpec] = &[
            $( $crate::config::OptionSpec {
                name: stringify!($name),
                doc: $doc.trim_ascii(),
                start_only: server_options!(@start_only $($start_only)?),
                set: |config, text| {
                    config.$name = ($parse)(stringify!($name), text)?;
                    Ok(())
                },
                get: |config| $crate::config::values::Render::render(&config.$name),
            }, )*
            $( $crate::config::OptionSpec {
                name: stringify!($proc_name),
                doc: $proc_doc.trim_ascii(),
                start_only: false,
                set: |config, text| {
                    config.procs.$proc_field = ($proc_parse)(stringify!($proc_name), text)?;
                    Ok(())
                },
                get: |config| $crate::config::values::Render::render(&config.procs.$proc_field),
            }, )*
        ];
    };
}

// After the macro: a `macro_rules!` is only visible to the modules declared below it.
mod options;
mod values;
mod warnings;

/// Every option name, sorted (for error messages and `cget`).
pub const OPTION_NAMES: &[&str] = &ALL_NAMES;
const ALL_NAMES: [&str; count_names(false)] = sorted_names(false);

/// Options that only take effect at `start` (the listener is bound with them).
pub const START_ONLY: &[&str] = &START_NAMES;
const START_NAMES: [&str; count_names(true)] = sorted_names(true);

/// How many options there are (`start_only`: only those).
const fn count_names(start_only: bool) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < OPTIONS.len() {
        if !start_only || OPTIONS[i].start_only {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The names of the options (`start_only`: only those), sorted by insertion at compile
/// time, so the rows can follow the README's grouping. A name given twice fails the build.
const fn sorted_names<const N: usize>(start_only: bool) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut n) = (0, 0);
    while i < OPTIONS.len() {
        if !start_only || OPTIONS[i].start_only {
            let name = OPTIONS[i].name;
            let mut j = n;
            while j > 0 && less(name, out[j - 1]) {
                out[j] = out[j - 1];
                j -= 1;
            }
            assert!(
                j == 0 || less(out[j - 1], name),
                "an option is listed twice"
            );
            out[j] = name;
            n += 1;
        }
        i += 1;
    }
    out
}

/// `a < b` by bytes (`str`'s `Ord` is not usable in a const fn).
const fn less(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// The descriptor of the option `name`.
pub fn option(name: &str) -> Result<&'static OptionSpec, ConfigError> {
    OPTIONS.iter().find(|o| o.name == name).ok_or_else(|| {
        let last = OPTION_NAMES.len() - 1;
        ConfigError(format!(
            "unknown option \"-{name}\": must be one of -{}, or -{}",
            OPTION_NAMES[..last].join(", -"),
            OPTION_NAMES[last]
        ))
    })
}

impl ServerConfig {
    /// Sets one option from its text form.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        (option(name)?.set)(self, value)
    }

    /// The text form of one option (`cget`).
    pub fn get(&self, name: &str) -> Result<String, ConfigError> {
        Ok((option(name)?.get)(self))
    }
}

#[cfg(test)]
mod tests;
