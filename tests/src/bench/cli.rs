//! The `xlat-lab bench` command: its arguments (each also an environment
//! variable) and what it does with them.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{report, Options, Scenario, Test, Translators};
use crate::lab;
use crate::netns::find_tool;

/// Exit code when the machine cannot run the benchmark (no root, missing
/// tool or binary).
const EXIT_CANNOT_RUN: u8 = 2;
/// Exit code after Ctrl-C / SIGTERM.
const EXIT_INTERRUPTED: i32 = 130;

/// Arguments of `xlat-lab bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Rounds: each runs every scenario once, in a rotating order
    #[arg(long, default_value_t = 3, env = "XLAT_BENCH_ROUNDS", value_parser = clap::value_parser!(u32).range(1..=50))]
    pub rounds: u32,
    /// Seconds of each iperf3 test (TCP tests run one more second, omitted)
    #[arg(long, default_value_t = 5, env = "XLAT_BENCH_SECS", value_parser = clap::value_parser!(u32).range(1..=300))]
    pub secs: u32,
    /// Pings of the RTT test (one every 20 ms)
    #[arg(long, default_value_t = 50, env = "XLAT_BENCH_PINGS", value_parser = clap::value_parser!(u32).range(3..=2000))]
    pub pings: u32,
    /// Paths to measure, comma-separated: kernel4, kernel6, clat,
    /// tayga-clat, plat, tayga-plat, chain, tayga-chain
    #[arg(
        long,
        value_delimiter = ',',
        env = "XLAT_BENCH_SCENARIOS",
        default_value = "kernel4,kernel6,clat,tayga-clat,plat,tayga-plat,chain,tayga-chain"
    )]
    pub scenarios: Vec<Scenario>,
    /// Tests, comma-separated: tcp, tcp4, reverse, udp, ping
    #[arg(long, value_delimiter = ',', env = "XLAT_BENCH_TESTS", default_value = "tcp,tcp4,reverse,udp,ping")]
    pub tests: Vec<Test>,
    /// Workers (TUN queues) of our clat and plat [default: the number of cores]
    #[arg(long, env = "XLAT_WORKERS", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: Option<u16>,
    /// Sessions of the memory test (0: skip it)
    #[arg(long, default_value_t = 1_000_000, env = "XLAT_BENCH_SESSIONS", value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    pub sessions: u32,
    /// Workers of plat in the memory test
    #[arg(long, default_value_t = 1, env = "XLAT_BENCH_MEM_WORKERS", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub mem_workers: u16,
    /// A quick run: 1 round, 2 s per test, 10 pings, 100,000 sessions
    #[arg(long, env = "XLAT_BENCH_SMOKE")]
    pub smoke: bool,
    /// Our clat binary [default: clat next to this program]
    #[arg(long, value_name = "PATH", env = "XLAT_LAB_CLAT_BIN")]
    pub clat_bin: Option<PathBuf>,
    /// Our plat binary [default: plat next to this program]
    #[arg(long, value_name = "PATH", env = "XLAT_LAB_PLAT_BIN")]
    pub plat_bin: Option<PathBuf>,
    /// Where to save the Markdown report [default:
    /// $CARGO_TARGET_DIR/bench/e2e-DATE.md, else target/bench/e2e-DATE.md]
    #[arg(long, value_name = "FILE", env = "XLAT_BENCH_REPORT")]
    pub report: Option<PathBuf>,
}

impl BenchArgs {
    fn options(&self) -> Options {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = self.workers.unwrap_or_else(|| u16::try_from(cores).unwrap_or(1).clamp(1, 64));
        let mut o = Options {
            rounds: self.rounds,
            secs: self.secs,
            pings: self.pings,
            scenarios: dedup(&self.scenarios),
            tests: dedup(&self.tests),
            translators: Translators {
                clat_bin: self.clat_bin.clone().unwrap_or_else(lab::default_clat_binary),
                plat_bin: self.plat_bin.clone().unwrap_or_else(lab::default_plat_binary),
                workers,
                offload: std::env::var("XLAT_OFFLOAD").ok().filter(|v| !v.trim().is_empty()),
            },
            sessions: self.sessions,
            mem_workers: self.mem_workers,
        };
        if self.smoke {
            o.rounds = 1;
            o.secs = 2;
            o.pings = 10;
            o.sessions = o.sessions.min(100_000);
        }
        o
    }
}

fn dedup<T: PartialEq + Copy>(v: &[T]) -> Vec<T> {
    let mut out = Vec::new();
    for x in v {
        if !out.contains(x) {
            out.push(*x);
        }
    }
    out
}

/// What is missing to run `opts`, if anything.
fn missing(opts: &Options) -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("xlat-lab bench needs root (network namespaces, TUN devices): sudo tests/bench/e2e.sh".into());
    }
    let tayga =
        opts.scenarios.iter().any(|s| matches!(s, Scenario::TaygaClat | Scenario::TaygaPlat | Scenario::TaygaChain));
    let nat44 = opts.scenarios.iter().any(|s| matches!(s, Scenario::TaygaPlat | Scenario::TaygaChain));
    let mut tools = vec!["ip", "iperf3", "ping", "sysctl"];
    if tayga {
        tools.push("tayga");
    }
    if nat44 {
        tools.push("nft");
    }
    if let Some(t) = tools.into_iter().find(|t| find_tool(t).is_none()) {
        return Some(format!("{t} is not installed: tests/bench/e2e.sh installs the Debian packages"));
    }
    let t = &opts.translators;
    let ours = opts.scenarios.iter().any(|s| s.translated() && s.tayga().is_some()) || opts.sessions > 0;
    if ours {
        for bin in [&t.clat_bin, &t.plat_bin] {
            if !lab::clat_supports_run(bin) {
                return Some(format!("{} has no working `run` (cargo build --release -p clat -p plat)", bin.display()));
            }
        }
    }
    None
}

fn default_report() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let out = std::process::Command::new("date").args(["-u", "+%Y%m%d-%H%M%S"]).output();
    let date = out.ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default();
    dir.join("bench").join(format!("e2e-{date}.md"))
}

/// Runs the benchmark: progress on stderr, the report on stdout and in a
/// file.
#[must_use]
pub fn main(args: &BenchArgs) -> ExitCode {
    let opts = args.options();
    if let Some(why) = missing(&opts) {
        eprintln!("{why}");
        return ExitCode::from(EXIT_CANNOT_RUN);
    }
    let handler = ctrlc::set_handler(|| {
        eprintln!("\ninterrupted: removing the namespaces ...");
        super::teardown_all();
        std::process::exit(EXIT_INTERRUPTED);
    });
    if let Err(e) = handler {
        eprintln!("error: cannot catch Ctrl-C ({e}); not starting");
        return ExitCode::FAILURE;
    }
    let meta = report::Meta::collect(&opts);
    eprintln!(
        "== xlat end-to-end benchmark: {} round(s) of {} x {}; clat {}, plat {}, workers {}; {}",
        opts.rounds,
        opts.scenarios.iter().map(|s| s.name()).collect::<Vec<_>>().join(","),
        opts.tests.iter().map(|t| t.name()).collect::<Vec<_>>().join(","),
        opts.translators.clat_bin.display(),
        opts.translators.plat_bin.display(),
        opts.translators.workers,
        meta.offload
    );
    let results = match super::run(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let text = report::markdown(&opts, &meta, &results);
    println!("{text}");
    let path = args.report.clone().unwrap_or_else(default_report);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, &text) {
        Ok(()) => eprintln!("== report saved to {}", path.display()),
        Err(e) => eprintln!("warning: cannot write {}: {e}", path.display()),
    }
    if results.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
