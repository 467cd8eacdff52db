//! Configuration errors: the operator's fault, one line each.

use std::fmt;
use std::path::PathBuf;

use xlat_core::ConfigError;

use crate::setting::Setting;

/// Where a rejected value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag or its environment variable (`clap` has already
    /// applied "flag over env", so the message names both).
    CommandLine,
    /// The TOML file at this path.
    File(PathBuf),
}

/// A configuration error. `Display` is a single line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value that does not parse as what the setting accepts.
    #[error("invalid value '{value}' for {}: {reason}", Named(setting, origin))]
    InvalidValue {
        /// The setting.
        setting: Setting,
        /// Where the value came from.
        origin: Origin,
        /// The rejected value.
        value: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// The configuration file cannot be read.
    #[error("cannot read config file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML, has an unknown key or a
    /// value of the wrong type.
    #[error("config file {}: {}{message}", path.display(), if *line > 0 { format!("line {line}: ") } else { String::new() })]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error (0: unknown).
        line: usize,
        /// The parser's message (newlines folded into spaces).
        message: String,
    },
    /// The merged configuration is inconsistent ([`xlat_core::Config::validate`]).
    #[error("{0}")]
    Invalid(#[from] ConfigError),
}

/// Displays how the operator spells `setting` in `origin`.
struct Named<'a>(&'a Setting, &'a Origin);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Named(setting, origin) = self;
        match origin {
            Origin::CommandLine => write!(f, "--{} ({})", setting.key, setting.env),
            Origin::File(path) => write!(f, "{} in {}", setting.key, path.display()),
        }
    }
}
