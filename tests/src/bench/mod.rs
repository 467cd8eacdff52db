//! `xlat-lab bench`: the end-to-end benchmark of issue 7. Our CLAT, our
//! PLAT, the CLAT+PLAT chain and Debian's TAYGA in the same places, and
//! plain kernel IPv4 and IPv6 forwarding as the ceiling, measured with
//! iperf3 and ping through the same four namespaces ([`net`]), all in one
//! run, interleaved: each round starts every path in turn (rotating the
//! order from round to round), runs every test through it and stops it.
//! Then the memory figure ([`memory`]): RSS of `plat` holding 1 M
//! sessions. [`report`] turns it into Markdown; `tests/bench/README.md`
//! says what every number means.
//!
//! Namespaces are removed on exit, failure, Ctrl-C, and by a watchdog
//! process if this one dies (the lab's `watchdog.rs`, compiled into this
//! module with its own registry).

pub mod cli;
pub mod measure;
pub mod memory;
pub mod net;
pub mod report;
// The lab's watchdog, compiled a second time here because `lab::watchdog`
// is private to the lab; this copy has its own registry of namespaces.
// (Making it `pub(crate)` in lab/mod.rs would turn this into a `use`.)
#[allow(dead_code, unreachable_pub, clippy::duplicate_mod)]
#[path = "../lab/watchdog.rs"]
mod watchdog;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

pub use measure::{Cpu, Sample};
pub use memory::Memory;
pub use net::Translators;
pub use watchdog::{interrupted, teardown_all};

/// A path through the namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// Kernel IPv4 forwarding in `a` and `b` (the ceiling of the CLAT and
    /// the chain).
    Kernel4,
    /// Kernel IPv6 forwarding in `a` and `b` (the ceiling of the PLAT).
    Kernel6,
    /// Our CLAT in `a`, IPv4 client to IPv6 server.
    Clat,
    /// TAYGA as the CLAT in `a`.
    TaygaClat,
    /// Our PLAT in `b`, IPv6 client to IPv4 server.
    Plat,
    /// TAYGA + the kernel's NAT44 as the PLAT in `b`.
    TaygaPlat,
    /// Our CLAT in `a` and our PLAT in `b`: IPv4 client to IPv4 server.
    Chain,
    /// TAYGA in both places.
    TaygaChain,
}

impl Scenario {
    /// Every scenario, in report order.
    pub const ALL: [Scenario; 8] = [
        Scenario::Kernel4,
        Scenario::Kernel6,
        Scenario::Clat,
        Scenario::TaygaClat,
        Scenario::Plat,
        Scenario::TaygaPlat,
        Scenario::Chain,
        Scenario::TaygaChain,
    ];

    /// The name on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Kernel4 => "kernel4",
            Scenario::Kernel6 => "kernel6",
            Scenario::Clat => "clat",
            Scenario::TaygaClat => "tayga-clat",
            Scenario::Plat => "plat",
            Scenario::TaygaPlat => "tayga-plat",
            Scenario::Chain => "chain",
            Scenario::TaygaChain => "tayga-chain",
        }
    }

    /// The name in the report.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Kernel4 => "kernel IPv4 forwarding",
            Scenario::Kernel6 => "kernel IPv6 forwarding",
            Scenario::Clat => "CLAT: ours",
            Scenario::TaygaClat => "CLAT: TAYGA",
            Scenario::Plat => "PLAT: ours",
            Scenario::TaygaPlat => "PLAT: TAYGA + NAT44",
            Scenario::Chain => "CLAT+PLAT: ours",
            Scenario::TaygaChain => "CLAT+PLAT: TAYGA",
        }
    }

    /// Where the client sends.
    #[must_use]
    pub fn target(self) -> &'static str {
        match self {
            Scenario::Kernel6 => net::SERVER_V6,
            Scenario::Plat | Scenario::TaygaPlat => net::SERVER_VIA_PLAT,
            _ => net::SERVER_V4,
        }
    }

    /// Kernel forwarding of the client's address family.
    #[must_use]
    pub fn ceiling(self) -> Scenario {
        match self {
            Scenario::Kernel6 | Scenario::Plat | Scenario::TaygaPlat => Scenario::Kernel6,
            _ => Scenario::Kernel4,
        }
    }

    /// For ours: TAYGA in the same place.
    #[must_use]
    pub fn tayga(self) -> Option<Scenario> {
        match self {
            Scenario::Clat => Some(Scenario::TaygaClat),
            Scenario::Plat => Some(Scenario::TaygaPlat),
            Scenario::Chain => Some(Scenario::TaygaChain),
            _ => None,
        }
    }

    /// Whether a translator runs (CPU figures apply).
    #[must_use]
    pub fn translated(self) -> bool {
        !matches!(self, Scenario::Kernel4 | Scenario::Kernel6)
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| format!("unknown scenario {s:?}: one of {}", Scenario::ALL.map(Scenario::name).join(", ")))
    }
}

/// A measurement run through every path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Test {
    /// iperf3 TCP, one stream, client to server.
    Tcp,
    /// iperf3 TCP, four streams (`-P 4`).
    Tcp4,
    /// iperf3 TCP, one stream, server to client (`-R`).
    Reverse,
    /// iperf3 UDP, 64-byte IPv4 packets at the highest rate (`-u -b 0 -l 36`).
    Udp,
    /// ping: median RTT.
    Ping,
}

impl Test {
    /// Every test, in run order.
    pub const ALL: [Test; 5] = [Test::Tcp, Test::Tcp4, Test::Reverse, Test::Udp, Test::Ping];

    /// The name on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Test::Tcp => "tcp",
            Test::Tcp4 => "tcp4",
            Test::Reverse => "reverse",
            Test::Udp => "udp",
            Test::Ping => "ping",
        }
    }
}

impl FromStr for Test {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Test::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| format!("unknown test {s:?}: one of {}", Test::ALL.map(Test::name).join(", ")))
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rounds (each runs every scenario once).
    pub rounds: u32,
    /// Seconds of each iperf3 test (TCP tests add one omitted second).
    pub secs: u32,
    /// Pings per RTT test.
    pub pings: u32,
    /// The paths.
    pub scenarios: Vec<Scenario>,
    /// The tests.
    pub tests: Vec<Test>,
    /// The translators.
    pub translators: Translators,
    /// Sessions of the memory test (0: skip it).
    pub sessions: u32,
    /// Workers of `plat` in the memory test.
    pub mem_workers: u16,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Per scenario and test, one sample per round that succeeded.
    pub samples: BTreeMap<(Scenario, Test), Vec<Sample>>,
    /// What failed (the run goes on).
    pub errors: Vec<String>,
    /// The memory test.
    pub memory: Option<Memory>,
    /// How long the run took.
    pub elapsed: Duration,
    /// The `xlat_tun_offload` gauge of our clat and plat (1: TUN offloads
    /// on), as first scraped.
    pub offload: BTreeMap<&'static str, f64>,
}

/// Runs the benchmark, printing progress on stderr.
pub fn run(opts: &Options) -> Result<Results> {
    let begin = Instant::now();
    let mut net = net::Net::build()?;
    eprintln!("== namespaces: {}", net.describe());
    let mut res = Results::default();
    let n = opts.scenarios.len();
    for round in 0..opts.rounds {
        for i in 0..n {
            // Rotate the order from round to round, so that no path always
            // runs first or right after the same other one.
            let scenario = opts.scenarios[(i + round as usize) % n];
            if interrupted() {
                bail!("interrupted");
            }
            let started = match net.start(scenario, &opts.translators) {
                Ok(s) => s,
                Err(e) => {
                    let msg = format!("round {}: {}: cannot start: {e:#}", round + 1, scenario.name());
                    eprintln!("   {msg}");
                    res.errors.push(msg);
                    continue;
                }
            };
            let tuns: Vec<_> = started.translators.iter().map(|r| (r.role, r.tun, r.what.clone())).collect();
            let tun_before: Vec<u64> = tuns.iter().map(|(role, tun, _)| net.tun_packets(*role, tun)).collect();
            let pids = started.pids();
            for (role, name) in [(net::Role::A, "clat"), (net::Role::B, "plat")] {
                let ours = started.translators.iter().any(|r| r.role == role && r.what.contains("ours"));
                if ours && !res.offload.contains_key(name) {
                    if let Some(v) = net.offload_gauge(role) {
                        res.offload.insert(name, v);
                    }
                }
            }
            for &test in &opts.tests {
                if interrupted() {
                    break;
                }
                let mut r = measure::measure(&net, scenario, test, opts.secs, opts.pings, &pids);
                if r.is_err() && test != Test::Ping {
                    // iperf3's server may be stuck in the failed test.
                    let _ = net.restart_iperf();
                    r = measure::measure(&net, scenario, test, opts.secs, opts.pings, &pids);
                }
                match r {
                    Ok(s) => {
                        eprintln!(
                            "   round {}/{}  {:<24} {:<8} {}",
                            round + 1,
                            opts.rounds,
                            scenario.label(),
                            test.name(),
                            report::brief(test, &s)
                        );
                        res.samples.entry((scenario, test)).or_default().push(s);
                    }
                    Err(e) => {
                        let msg = format!("round {}: {} {}: {e:#}", round + 1, scenario.name(), test.name());
                        eprintln!("   {msg}");
                        res.errors.push(msg);
                    }
                }
            }
            // A routing mistake would measure kernel forwarding under a
            // translator's name: the traffic must have crossed each TUN.
            for ((role, tun, what), before) in tuns.iter().zip(tun_before) {
                let crossed = net.tun_packets(*role, tun).saturating_sub(before);
                // Each ping crosses twice; every iperf3 test far more.
                let least = if opts.tests == [Test::Ping] { u64::from(opts.pings) } else { 100 };
                if crossed < least {
                    let msg = format!(
                        "round {}: {}: only {crossed} packets crossed {what}'s TUN",
                        round + 1,
                        scenario.name()
                    );
                    eprintln!("   {msg}");
                    res.errors.push(msg);
                }
            }
            net.stop(started);
        }
    }
    if opts.sessions > 0 && !interrupted() {
        eprintln!("== memory: plat with {} sessions", opts.sessions);
        match memory::measure(&net, &opts.translators, opts.mem_workers, opts.sessions) {
            Ok(m) => res.memory = Some(m),
            Err(e) => res.errors.push(format!("memory: {e:#}")),
        }
    }
    drop(net);
    res.elapsed = begin.elapsed();
    Ok(res)
}
