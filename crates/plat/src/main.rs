//! `plat`: the provider-side translator (PLAT) of 464XLAT (RFC 6877), a
//! stateful NAT64 (RFC 6146).
//!
//! Subcommands:
//! - `run`: the NAT64 daemon on a TUN device (see `run`).
//! - `translate`: the same state machine offline over a capture file, the
//!   capture's timestamps as the clock.
//!
//! Both share the packet pipeline of `engine`: RFC 6146 §3.4 incoming tuple
//! (`xlat_core::tuple`), §3.5/§3.6 state (`xlat_nat64`), §3.7 translation
//! (`xlat_core::Translator::translate_stateful`).
//!
//! Settings follow the convention of `xlat-config` (flag > `XLAT_*` env >
//! `[plat]` table or top-level keys of `--config` > default). Exit codes: 0
//! success, 1 environment error, 2 usage or configuration error, each
//! reported as one line on stderr.
#![forbid(unsafe_code)]

mod cli;
mod engine;
mod run;
mod settings;
mod translate;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Run(args) => match args.resolve() {
            Ok(settings) => cli::report(run::run(*args, settings)),
            Err(e) => cli::config_error(&e),
        },
        cli::Command::Translate(args) => match args.plat.resolve() {
            Ok(settings) => cli::report(translate::run(&args, settings)),
            Err(e) => cli::config_error(&e),
        },
    }
}
