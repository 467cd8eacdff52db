//! `clat`: the customer-side translator (CLAT) of 464XLAT (RFC 6877).
//!
//! Subcommands:
//! - `run`: the CLAT daemon on a TUN device (see `run`).
//! - `translate`: offline translation of a capture file (pcap or pcapng in,
//!   raw-IP pcap out), with a per-packet summary.
//!
//! Translator settings follow the shared convention of `xlat-config`
//! (flag > `XLAT_*` env > `--config` TOML file > default). Exit codes: 0
//! success, 1 environment error (unreadable file, bad capture), 2 usage or
//! configuration error, each reported as one line on stderr.
#![forbid(unsafe_code)]

mod cli;
mod run;
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
        cli::Command::Translate(args) => match args.translator.resolve() {
            Ok(cfg) => cli::report(translate::run(&args, cfg)),
            Err(e) => cli::config_error(&e),
        },
    }
}
