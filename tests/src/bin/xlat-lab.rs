//! `xlat-lab demo`: builds the namespace lab that mirrors a RouterOS 464XLAT
//! deployment, sends real traffic from the IPv4-only LAN host through the
//! CLAT and the PLAT to IPv4 servers, prints one line per check with a
//! figure, then the CLAT's and the PLAT's non-zero counters, and tears
//! everything down, also on Ctrl-C, SIGTERM or failure.
//!
//! ```text
//! sudo tests/demo.sh                               # builds clat and plat, runs this
//! cargo run -p xlat-lab -- demo                    # our clat and plat (target/debug/)
//! cargo run -p xlat-lab -- demo --clat tayga       # TAYGA as a stand-in CLAT
//! cargo run -p xlat-lab -- demo --plat tayga       # TAYGA as the PLAT
//! cargo run -p xlat-lab -- demo --clat-cmd 'target/debug/clat run'
//! cargo run -p xlat-lab -- demo --server-mtu 1280
//! cargo run -p xlat-lab -- demo --plat-prefix auto  # RFC 7050 discovery
//! cargo run -p xlat-lab -- up --hold 600           # keep the lab to explore
//! sudo tests/bench/e2e.sh                          # the benchmark (`bench`)
//! ```
//!
//! Exit status: 0 when every check passed, 1 when one failed or the lab
//! could not be built, 2 without root or a required tool, 130 when
//! interrupted.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use xlat_lab::lab::probe::{human_bits, human_rate, ms};
use xlat_lab::lab::servers::{FILE_10M, FILE_1M};
use xlat_lab::lab::topology as t;
use xlat_lab::lab::{self, ClatKind, Lab, LabOptions, PlatKind, Pref64Mode, Role};

/// Exit code when the machine cannot run the lab (no root, missing tool).
const EXIT_CANNOT_RUN: u8 = 2;
/// Exit code after Ctrl-C / SIGTERM (128 + SIGINT).
const EXIT_INTERRUPTED: i32 = 130;

/// The 464XLAT namespace lab.
#[derive(Debug, Parser)]
#[command(name = "xlat-lab", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the lab, send traffic from the LAN host through the CLAT and
    /// the PLAT, print what worked and the CLAT's counters, tear down
    Demo(DemoArgs),
    /// Build the lab and keep it until Ctrl-C (or --hold seconds), to
    /// explore it with `ip netns exec NAMESPACE ...`
    Up {
        #[command(flatten)]
        lab: DemoArgs,
        /// Seconds to keep the lab before tearing it down
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86400))]
        hold: u64,
    },
    /// The end-to-end benchmark: our CLAT, PLAT and chain, TAYGA and
    /// kernel forwarding through the same namespaces (tests/bench/e2e.sh)
    Bench(xlat_lab::bench::cli::BenchArgs),
}

/// Which CLAT to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClatChoice {
    /// Our `clat run`
    Xlat,
    /// Debian's TAYGA configured as a CLAT (stand-in)
    Tayga,
}

/// Which PLAT to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlatChoice {
    /// Our `plat run` (stateful NAT64)
    Xlat,
    /// Debian's TAYGA (NAT64 with a dynamic pool)
    Tayga,
}

/// How the CLAT learns the PLAT prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PrefixChoice {
    /// `--plat-prefix 2001:db8:64::/96`
    Static,
    /// discovered with RFC 7050 from the provider's DNS64
    Auto,
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// The CLAT in the container namespace
    #[arg(long, value_enum, default_value = "xlat", env = "XLAT_LAB_CLAT")]
    clat: ClatChoice,
    /// Our clat binary (default: clat next to this program, i.e. target/debug/clat)
    #[arg(long, value_name = "PATH", env = "XLAT_LAB_CLAT_BIN")]
    clat_bin: Option<PathBuf>,
    /// A shell command run in the container namespace instead of a CLAT
    /// above; it must behave like `clat run` (settings in XLAT_* env vars)
    #[arg(long, value_name = "CMD", env = "XLAT_LAB_CLAT_CMD")]
    clat_cmd: Option<String>,
    /// The PLAT in the provider's container namespace
    #[arg(long, value_enum, default_value = "xlat", env = "XLAT_LAB_PLAT")]
    plat: PlatChoice,
    /// Our plat binary (default: plat next to this program, i.e. target/debug/plat)
    #[arg(long, value_name = "PATH", env = "XLAT_LAB_PLAT_BIN")]
    plat_bin: Option<PathBuf>,
    /// MTU of the provider <-> Internet link
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u16).range(1280..=9000))]
    server_mtu: u16,
    /// How the CLAT learns the PLAT prefix
    #[arg(long, value_enum, default_value = "static")]
    plat_prefix: PrefixChoice,
    /// Seconds of each iperf3 run (0: skip iperf3)
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=30))]
    iperf_secs: u32,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => demo(&args, None),
        Command::Up { lab, hold } => demo(&lab, Some(Duration::from_secs(hold))),
        Command::Bench(args) => xlat_lab::bench::cli::main(&args),
    }
}

/// Runs the demo (or, with `hold`, builds the lab and keeps it that long);
/// the exit code says how it went.
fn demo(args: &DemoArgs, hold: Option<Duration>) -> ExitCode {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!(
            "xlat-lab demo needs root: it creates network namespaces, veth pairs and TUN devices.\n\
             Run it as root, e.g.  sudo tests/demo.sh"
        );
        return ExitCode::from(EXIT_CANNOT_RUN);
    }
    if let Some(tool) = lab::missing_tool() {
        eprintln!("xlat-lab demo needs {tool}: sudo tests/run.sh installs the Debian packages the lab uses");
        return ExitCode::from(EXIT_CANNOT_RUN);
    }
    let clat = match (&args.clat_cmd, args.clat) {
        (Some(cmd), _) if !cmd.trim().is_empty() => ClatKind::Command(cmd.clone()),
        (_, ClatChoice::Tayga) => ClatKind::Tayga,
        (_, ClatChoice::Xlat) => {
            let bin = args.clat_bin.clone().unwrap_or_else(lab::default_clat_binary);
            if !lab::clat_supports_run(&bin) {
                eprintln!(
                    "{} has no working `run` subcommand (build it with `cargo build -p clat`), \
                     or use the stand-in: --clat tayga",
                    bin.display()
                );
                return ExitCode::from(EXIT_CANNOT_RUN);
            }
            ClatKind::Xlat(bin)
        }
    };
    let pref64 = match args.plat_prefix {
        PrefixChoice::Static => Pref64Mode::Static,
        PrefixChoice::Auto => Pref64Mode::Auto,
    };
    let plat_bin = args.plat_bin.clone().unwrap_or_else(lab::default_plat_binary);
    let plat = match args.plat {
        PlatChoice::Tayga => PlatKind::Tayga,
        PlatChoice::Xlat => {
            if !lab::clat_supports_run(&plat_bin) {
                eprintln!(
                    "{} has no working `run` subcommand (build it with `cargo build -p plat`), \
                     or use TAYGA as the PLAT: --plat tayga",
                    plat_bin.display()
                );
                return ExitCode::from(EXIT_CANNOT_RUN);
            }
            PlatKind::Xlat
        }
    };
    let opts = LabOptions { clat, server_mtu: args.server_mtu, pref64, plat, plat_bin };

    // Ctrl-C, SIGTERM, SIGHUP: tear the lab down (the CLAT gets SIGTERM
    // and removes its routes), then exit.
    let handler = ctrlc::set_handler(|| {
        eprintln!("\ninterrupted: tearing the lab down ...");
        lab::teardown_all();
        eprintln!("lab removed");
        std::process::exit(EXIT_INTERRUPTED);
    });
    if let Err(e) = handler {
        eprintln!("error: cannot catch Ctrl-C ({e}); not starting");
        return ExitCode::FAILURE;
    }

    println!("== 464XLAT lab (RFC 6877) as deployed on RouterOS");
    println!(
        "   lan {}  ->  router (srcnat to {})  ->  container: CLAT {} <-> {}",
        t::LAN_HOST,
        t::CLAT_IPV4,
        t::CLAT_IPV4,
        t::CLAT_IPV6
    );
    println!(
        "   ->  IPv6-only provider: router + container: PLAT ({}, {})  ->  IPv4 Internet: {} ({})",
        match opts.plat {
            PlatKind::Xlat => "stateful NAT64",
            PlatKind::Tayga => "TAYGA NAT64",
        },
        t::PLAT_PREFIX,
        t::SERVER,
        t::SERVER_NAME
    );
    let plat_bin = match opts.plat {
        PlatKind::Xlat => format!(" ({})", opts.plat_bin.display()),
        PlatKind::Tayga => String::new(),
    };
    println!("   CLAT: {}; PLAT: {}{plat_bin}", opts.clat.describe(), opts.plat.describe());
    println!("   server-side MTU {}; PLAT prefix {:?}", opts.server_mtu, opts.pref64);
    let lab = match Lab::start(opts) {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("error: building the lab failed: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    println!("   built in {:.1} s; namespaces: {}", lab.start_time().as_secs_f64(), lab.describe());
    println!();
    if let Some(hold) = hold {
        println!("the lab is up for {} s; Ctrl-C tears it down. Try:", hold.as_secs());
        println!("   ip netns exec {} ping {}", lab.ns(Role::Lan).name(), t::SERVER);
        println!("   ip netns exec {} curl -s http://{}/metrics", lab.ns(Role::Router).name(), t::METRICS_LISTEN);
        println!("   ip netns exec {} ping {}", lab.ns(Role::Host6a).name(), t::SERVER_V6);
        if lab.has_plat_metrics() {
            println!("   ip netns exec {} curl -s http://{}/metrics", lab.ns(Role::Isp).name(), t::XLAT_PLAT_METRICS);
        }
        let deadline = Instant::now() + hold;
        while Instant::now() < deadline && !lab::interrupted() {
            std::thread::sleep(Duration::from_millis(200).min(deadline.saturating_duration_since(Instant::now())));
        }
        drop(lab);
        return ExitCode::SUCCESS;
    }

    let report = run_checks(&lab, args);
    if lab::interrupted() {
        // The signal handler is tearing down; dropping the lab waits for it
        // (and the handler exits the process).
        drop(lab);
        return ExitCode::from(130);
    }
    println!();
    print_metrics(&lab);
    println!();
    print_plat_metrics(&lab);

    println!();
    let failed = report.iter().filter(|c| !c.ok).count();
    println!("== {} passed, {} failed", report.len() - failed, failed);
    if failed > 0 {
        for (who, log) in [("CLAT", lab.clat_log()), ("PLAT", lab.plat_log())] {
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            println!("-- last lines of the {who}'s output:");
            for l in tail.iter().rev() {
                println!("   {l}");
            }
        }
    }
    let begin = Instant::now();
    drop(lab);
    println!("lab torn down in {:.1} s", begin.elapsed().as_secs_f64());
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One line of the report.
struct Check {
    ok: bool,
}

/// Prints `✓ what  figure` or `✗ what  error`.
fn line(what: &str, result: Result<String>) -> Check {
    if lab::interrupted() {
        // The lab is being torn down under this check: say nothing.
        return Check { ok: false };
    }
    match result {
        Ok(figure) => {
            println!("  \u{2713} {what:<52} {figure}");
            Check { ok: true }
        }
        Err(e) => {
            println!("  \u{2717} {what:<52} {e:#}");
            Check { ok: false }
        }
    }
}

fn run_checks(lab: &Lab, args: &DemoArgs) -> Vec<Check> {
    let mut report = Vec::new();

    // Ping through the CLAT, and the same server from the router over
    // IPv6 straight to the PLAT: the difference is what the CLAT (and one
    // veth hop) adds.
    let via_clat = lab.ping(Role::Lan, t::SERVER, 10);
    let direct = lab.ping(Role::Router, "2001:db8:64::198.51.100.7", 10);
    let via_avg = via_clat.as_ref().ok().and_then(|p| p.rtt_avg);
    report.push(line(
        &format!("ping lan -> {}", t::SERVER),
        via_clat.and_then(|p| {
            anyhow::ensure!(p.received > 0, "{}/{} replies", p.received, p.sent);
            Ok(format!("{}/{} replies, rtt {}", p.received, p.sent, rtt(&p)))
        }),
    ));
    report.push(line(
        "ping router -> 2001:db8:64::198.51.100.7 (no CLAT)",
        direct.and_then(|p| {
            anyhow::ensure!(p.received > 0, "{}/{} replies", p.received, p.sent);
            let added = via_avg
                .zip(p.rtt_avg)
                .map(|(v, d)| format!("; the CLAT path adds {:+.3} ms", (v.as_secs_f64() - d.as_secs_f64()) * 1000.0));
            Ok(format!("{}/{} replies, rtt {}{}", p.received, p.sent, rtt(&p), added.unwrap_or_default()))
        }),
    ));

    report.push(line(
        &format!("dns  dig @{} {} A", t::SERVER, t::SERVER_NAME),
        (|| {
            let d = lab.dig(Role::Lan, t::SERVER, t::SERVER_NAME, "A")?;
            anyhow::ensure!(
                d.status == "NOERROR" && d.answers == [t::SERVER],
                "status {}, answers {:?}",
                d.status,
                d.answers
            );
            Ok(format!(
                "{} in {}",
                d.answers.join(" "),
                d.time.map(|t| format!("{} ms", t.as_millis())).unwrap_or_default()
            ))
        })(),
    ));

    for name in [FILE_1M, FILE_10M] {
        report.push(line(
            &format!("http GET http://{}/{name} (sha256)", t::SERVER),
            (|| {
                let file = lab.file(name)?;
                let to = lab.workdir().join(format!("lan-{name}"));
                let h = lab.http_get(Role::Lan, &file.url(), &to)?;
                let _ = std::fs::remove_file(&to);
                anyhow::ensure!(h.status == 200, "HTTP {}", h.status);
                anyhow::ensure!(h.bytes == file.size, "{} of {} bytes", h.bytes, file.size);
                anyhow::ensure!(h.sha256 == file.sha256, "sha256 {} != {}", h.sha256, file.sha256);
                Ok(format!(
                    "{:.1} MiB in {:.2} s at {}, sha256 ok",
                    h.bytes as f64 / 1048576.0,
                    h.time.as_secs_f64(),
                    human_rate(h.rate)
                ))
            })(),
        ));
    }

    report.push(line(
        &format!("traceroute -n {}", t::SERVER),
        (|| {
            let (hops, text) = lab.traceroute(Role::Lan, t::SERVER)?;
            let last = hops.last().context("no hops")?;
            let shown: Vec<String> = hops
                .iter()
                .map(|h| {
                    if h.addrs.is_empty() {
                        "*".to_owned()
                    } else {
                        h.addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join("/")
                    }
                })
                .collect();
            let reached = last.addrs.iter().any(|a| a.to_string() == t::SERVER);
            anyhow::ensure!(reached, "destination not reached:\n{text}");
            Ok(format!("{} hops: {}", hops.len(), shown.join(" ")))
        })(),
    ));

    if args.iperf_secs > 0 {
        for (reverse, what) in [(false, "lan -> server"), (true, "server -> lan")] {
            report.push(line(
                &format!("iperf3 TCP {what} ({} s)", args.iperf_secs),
                (|| {
                    let r = lab.iperf3(Role::Lan, t::SERVER, args.iperf_secs, reverse)?;
                    Ok(format!("{}, {} retransmits", human_bits(r.bits_per_second), r.retransmits))
                })(),
            ));
        }
    }
    report
}

/// `avg A ms (min B ms)`.
fn rtt(p: &lab::probe::Ping) -> String {
    match (p.rtt_avg, p.rtt_min) {
        (Some(avg), Some(min)) => format!("avg {} (min {})", ms(avg), ms(min)),
        _ => "unknown".to_owned(),
    }
}

/// The CLAT's workers publish their counters every 250 ms: scrapes until
/// the packet counters have stayed put for longer than that (at most 2 s).
fn settled_metrics(lab: &Lab) -> Result<lab::metrics::Metrics> {
    const QUIET: Duration = Duration::from_millis(400);
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut last = lab.metrics()?;
    let mut since = Instant::now();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let m = lab.metrics()?;
        if m.sum("xlat_packets_total") != last.sum("xlat_packets_total") {
            since = Instant::now();
        } else if since.elapsed() >= QUIET {
            return Ok(m);
        }
        last = m;
    }
    Ok(last)
}

/// The PLAT's non-zero NAT64 series (`plat_*`): sessions, BIB entries,
/// pool4 utilisation, drops, limits.
fn print_plat_metrics(lab: &Lab) {
    if !lab.has_plat_metrics() {
        println!("== PLAT /metrics: none (TAYGA has no metrics endpoint)");
        return;
    }
    println!("== PLAT /metrics (http://{}/metrics), non-zero NAT64 series", t::XLAT_PLAT_METRICS);
    match lab.plat_metrics() {
        Ok(m) => {
            for s in m.nonzero().filter(|s| s.name().starts_with("plat_")) {
                println!("   {:<64} {}", s.series, s.value);
            }
        }
        Err(e) => println!("   cannot scrape: {e:#}"),
    }
}

fn print_metrics(lab: &Lab) {
    if !lab.has_metrics() {
        println!("== CLAT /metrics: none (the TAYGA stand-in has no metrics endpoint)");
        return;
    }
    println!("== CLAT /metrics (http://{}/metrics), non-zero series", t::METRICS_LISTEN);
    match settled_metrics(lab) {
        Ok(m) => {
            let mut n = 0;
            for s in m.nonzero() {
                println!("   {:<64} {}", s.series, s.value);
                n += 1;
            }
            if n == 0 {
                println!("   (every series is zero)");
            }
        }
        Err(e) => println!("   cannot scrape: {e:#}"),
    }
}
