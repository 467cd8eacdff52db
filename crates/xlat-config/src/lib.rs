//! # xlat-config: the configuration convention of the xlat binaries
//!
//! Every setting of [`xlat_core::Config`] can be given three ways, with this
//! precedence (highest first):
//!
//! 1. a command-line flag, e.g. `--pool6 64:ff9b::/96`;
//! 2. an environment variable `XLAT_<NAME>`, e.g. `XLAT_POOL6=64:ff9b::/96`
//!    (RouterOS configures containers through the environment);
//! 3. a key of the TOML file named by `--config FILE` (or `XLAT_CONFIG`),
//!    spelled like the long flag: `pool6 = "64:ff9b::/96"`;
//!
//! and otherwise the RFC default of [`xlat_core::Config::default`]. An
//! empty flag or variable value (`XLAT_POOL6=`) counts as not given.
//!
//! [`TranslatorArgs`] is the `clap` argument group every binary flattens
//! into its command line; [`TranslatorArgs::resolve`] merges the three
//! sources and validates the result.
//!
//! ## Errors
//! Every [`Error`] displays as one line naming the setting, the rejected
//! value and what is accepted, e.g.
//! `invalid value '64:ff9b::/33' for --pool6 (XLAT_POOL6): RFC 6052 allows
//! prefix lengths 32, 40, 48, 56, 64 or 96`. Binaries print it as
//! `error: <msg>` and exit with [`EXIT_CONFIG_ERROR`], the code `clap` uses
//! for usage errors.
//!
//! Only the value that wins is parsed: a flag hides a bad value of the same
//! setting in the environment or the file. Unknown keys and ill-typed values
//! in the file are always errors.
#![forbid(unsafe_code)]

mod args;
mod error;
mod file;
pub mod setting;

pub use args::TranslatorArgs;
pub use error::{Error, Origin};
pub use file::load_section;
pub use setting::Setting;

/// Process exit code for a configuration error (the code `clap` uses for
/// usage errors).
pub const EXIT_CONFIG_ERROR: u8 = 2;

/// The daemons' default for `icmp-error-rate` (RFC 4443 §2.4 (f)): ICMP
/// errors originated per second and worker, as Linux's
/// `icmp_msgs_per_sec`. The offline translators do not limit.
pub const DAEMON_ICMP_ERROR_RATE: u32 = 1000;
