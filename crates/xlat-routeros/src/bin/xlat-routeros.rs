//! `xlat-routeros`: provision a CLAT or PLAT container's routes and
//! firewall on its RouterOS router (see the `xlat_routeros` crate docs).
//! Exit codes: 0 done or in sync, 1 router failure, 2 bad setting, 3
//! `check` found differences.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use xlat_routeros::cli::{self, Cli};

fn main() -> ExitCode {
    let args = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the runtime");
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(cli::EXIT_FAILURE);
        }
    };
    match runtime.block_on(cli::run(&args)) {
        Ok(outcome) => outcome.print(),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code())
        }
    }
}
