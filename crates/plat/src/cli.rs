//! The command line: subcommands, their arguments, and how failures map to
//! one stderr line and an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use xlat_config::EXIT_CONFIG_ERROR;

use crate::settings::{PlatArgs, RunArgs, SettingsError};

/// Exit code of an environment failure (file not found, bad capture, no TUN).
const EXIT_FAILURE: u8 = 1;

/// 464XLAT provider-side translator (PLAT): stateful NAT64, RFC 6146.
#[derive(Debug, clap::Parser)]
#[command(name = "plat", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Run the NAT64 daemon: translate between the TUN and the network until
    /// SIGTERM (SIGHUP reloads allow-lists, limits, timers and the mapping
    /// log switch from the configuration)
    Run(Box<RunArgs>),
    /// Translate a capture file offline through the same NAT64 state, the
    /// capture's timestamps as the clock; what it emits goes to OUT
    /// (raw-IP pcap)
    Translate(Box<TranslateArgs>),
}

/// Arguments of `plat translate`.
#[derive(Debug, clap::Args)]
pub(crate) struct TranslateArgs {
    /// Input capture: pcap or pcapng; link types raw IP, IPv4, IPv6,
    /// Ethernet (802.1Q/802.1ad tags), Linux cooked v1/v2, BSD loopback
    #[arg(long = "in", value_name = "IN.pcap")]
    pub(crate) input: PathBuf,

    /// Output capture (pcap, link type RAW), one record per emitted packet
    /// with the timestamp of the packet that caused it
    #[arg(long = "out", value_name = "OUT.pcap")]
    pub(crate) output: PathBuf,

    /// Print only the final summary, not one line per packet
    #[arg(long, short)]
    pub(crate) quiet: bool,

    /// NAT64 and translator settings.
    #[command(flatten)]
    pub(crate) plat: PlatArgs,
}

/// Reports a configuration error as one line; exit code 2.
pub(crate) fn config_error(e: &SettingsError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(EXIT_CONFIG_ERROR)
}

/// Reports an environment failure as one line (the context chain joined
/// by ": "); exit code 1.
pub(crate) fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
