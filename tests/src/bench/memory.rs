//! The memory figure: RSS of our `plat` holding N (1 M) UDP sessions,
//! created by real packets from the client namespace.
//!
//! The client sends from [`SOURCE_PORTS`] source ports of 2001:db8:6::10,
//! each to N / [`SOURCE_PORTS`] destinations (10 addresses of
//! 198.51.100.200-209 times consecutive ports). NAT64 mapping is
//! endpoint-independent (RFC 6146 §3.5.1), so this makes 1,000 BIB
//! entries and N sessions. `b` blackholes the destinations after
//! translation. The per-client and total session limits are raised for
//! the run (`XLAT_MAX_SESSIONS`, `XLAT_MAX_SESSIONS_PER_CLIENT`: N
//! rounded up to a power of two, 1,048,576 for 1 M). The PLAT runs with
//! one worker by default (`--mem-workers`): the sessions of one client
//! live in one shard, which holds `max-sessions / workers`, so W workers
//! would need W times the tables for the same sessions. Datagrams the TUN drops under the burst are sent again:
//! passes repeat (at most [`MAX_PASSES`]) until the `plat_sessions` gauge
//! of `/metrics` reaches N. The sender is paced (bursts of 250, halved
//! from pass to pass) so that a pass loses little.

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use super::net::{self, Net, Role, Translators};
use crate::lab::metrics::{http_get, Metrics};
use crate::netns::wait_until;

/// Source ports the client sends from (= BIB entries).
pub const SOURCE_PORTS: u32 = 1000;
/// Destination addresses (198.51.100.200 and up).
const DST_ADDRS: u32 = 10;
/// First destination port.
const FIRST_DST_PORT: u32 = 10_000;
/// First source port.
const FIRST_SRC_PORT: u32 = 20_000;
/// The blackholed destinations in `b`.
const BLACKHOLE: &str = "198.51.100.192/27";
/// Most passes over every (source, destination) pair.
const MAX_PASSES: u32 = 8;
/// Datagrams sent back to back, then [`PACE`] of rest (at most about
/// 250,000 datagrams per second).
const BURST: u32 = 250;
/// The rest after each burst.
const PACE: Duration = Duration::from_millis(1);
/// How long the gauge may take to settle after a pass.
const SETTLE: Duration = Duration::from_secs(5);

/// What the memory test measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    /// Sessions asked for.
    pub target: u32,
    /// The `plat_sessions` gauge at the end.
    pub sessions: f64,
    /// `XLAT_MAX_SESSIONS` of the run.
    pub max_sessions: u32,
    /// `XLAT_WORKERS` of the run.
    pub workers: u16,
    /// VmRSS / VmHWM right after start (tables allocated, no session), kB.
    pub idle_rss_kb: u64,
    /// VmRSS with the sessions, kB.
    pub rss_kb: u64,
    /// VmHWM (peak RSS) with the sessions, kB.
    pub hwm_kb: u64,
    /// Passes sent.
    pub passes: u32,
    /// Time to create them.
    pub elapsed: Duration,
    /// The non-zero drop, limit, eviction and expiry series of `/metrics`
    /// at the end (why a session may be missing).
    pub refusals: Vec<String>,
}

/// `VmRSS` and `VmHWM` of `pid`, kB.
fn rss(pid: u32) -> Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc/PID/status")?;
    let field = |name: &str| -> Option<u64> {
        text.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()
    };
    Ok((field("VmRSS:").context("no VmRSS")?, field("VmHWM:").context("no VmHWM")?))
}

fn metrics(net: &Net) -> Result<Metrics> {
    let addr: SocketAddr = net::PLAT_METRICS.parse()?;
    let (status, body) = http_get(net.ns(Role::B), addr, "/metrics")?;
    if status != 200 {
        bail!("GET /metrics answered {status}");
    }
    Metrics::parse(&body)
}

fn sessions(net: &Net) -> Result<f64> {
    Ok(metrics(net)?.sum("plat_sessions"))
}

/// `series value` of the non-zero series that say why a packet made no
/// session.
fn refusals(net: &Net) -> Vec<String> {
    let Ok(m) = metrics(net) else { return Vec::new() };
    let why = ["drop", "limit", "evicted", "expired", "lost", "sessions_created"];
    m.nonzero()
        .filter(|s| why.iter().any(|w| s.name().contains(w)))
        .map(|s| format!("{} {}", s.series, s.value))
        .collect()
}

/// Sends one datagram from every source port to every destination; pass
/// `pass` (from 1) sends in bursts of `BURST >> (pass - 1)` (at least 8)
/// and starts each source's destinations at another offset, so that what
/// a pass lost is not lost at the same moment again.
fn send_pass(net: &Net, per_source: u32, pass: u32) -> Result<()> {
    let burst = (BURST >> (pass - 1).min(5)).max(8);
    let offset = pass.wrapping_mul(7919) % per_source.max(1);
    let src: Ipv6Addr = net::CLIENT_V6.parse()?;
    net.ns(Role::Client).enter(|| {
        let payload = [0u8; 8];
        for s in 0..SOURCE_PORTS {
            let port = u16::try_from(FIRST_SRC_PORT + s)?;
            let sock = UdpSocket::bind(SocketAddrV6::new(src, port, 0, 0)).context("binding a UDP socket")?;
            for i in 0..per_source {
                let d = (i + offset) % per_source;
                if i % burst == 0 {
                    // Pacing, not synchronisation: bursts longer than the
                    // TUN's queue (500 packets) would mostly be dropped.
                    std::thread::sleep(PACE);
                }
                let host = 200 + d % DST_ADDRS;
                let dport = u16::try_from(FIRST_DST_PORT + d / DST_ADDRS)?;
                let dst = Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, 0xc633, 0x6400 | host as u16);
                // A full queue (ENOBUFS) loses this one: the next pass
                // sends it again.
                let _ = sock.send_to(&payload, SocketAddrV6::new(dst, dport, 0, 0));
            }
        }
        Ok(())
    })
}

/// Starts our PLAT with raised limits, creates `target` sessions and reads
/// its RSS.
pub fn measure(net: &Net, t: &Translators, workers: u16, target: u32) -> Result<Memory> {
    let t = &Translators { workers, ..t.clone() };
    let per_source = target.div_ceil(SOURCE_PORTS);
    let target = per_source * SOURCE_PORTS;
    if per_source > DST_ADDRS * 5000 {
        bail!("at most {} sessions", SOURCE_PORTS * DST_ADDRS * 5000);
    }
    let max_sessions = target.next_power_of_two().saturating_mul(u32::from(workers));
    let extra = [
        ("XLAT_MAX_SESSIONS", max_sessions.to_string()),
        ("XLAT_MAX_SESSIONS_PER_CLIENT", max_sessions.to_string()),
        ("XLAT_CLIENT_GRANULARITY", "128".to_owned()),
    ];
    net.blackhole(BLACKHOLE, true)?;
    let r = (|| {
        let mut plat = net.spawn_plat(t, &extra)?;
        let pid = plat.daemon.pid();
        let r = (|| {
            wait_until(Duration::from_secs(10), "the PLAT's /metrics", || sessions(net).ok())?;
            let (idle_rss_kb, _) = rss(pid)?;
            let begin = Instant::now();
            let mut passes = 0;
            let mut have = 0.0;
            while passes < MAX_PASSES && have < f64::from(target) {
                passes += 1;
                send_pass(net, per_source, passes)?;
                // Settled: the same value twice in a row, 200 ms apart.
                let mut last = -1.0;
                let deadline = Instant::now() + SETTLE;
                while Instant::now() < deadline {
                    have = sessions(net)?;
                    if have >= f64::from(target) || have == last {
                        break;
                    }
                    last = have;
                    std::thread::sleep(Duration::from_millis(200));
                }
                eprintln!("   memory: pass {passes}: {have} sessions");
            }
            if let Some(status) = plat.daemon.exited() {
                bail!("plat exited ({status}): {}", plat.daemon.log());
            }
            let (rss_kb, hwm_kb) = rss(pid)?;
            let refusals = refusals(net);
            Ok(Memory {
                target,
                sessions: have,
                max_sessions,
                workers: t.workers,
                idle_rss_kb,
                rss_kb,
                hwm_kb,
                passes,
                elapsed: begin.elapsed(),
                refusals,
            })
        })();
        let _ = plat.daemon.terminate(Duration::from_secs(10));
        r
    })();
    let _ = net.blackhole(BLACKHOLE, false);
    r
}
