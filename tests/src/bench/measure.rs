//! One measurement: an iperf3 run or a burst of pings from the client, and
//! the CPU the translators (per thread, from `/proc/<pid>/task/*/stat`)
//! and the whole machine (`/proc/stat`) used meanwhile.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use super::net::{Net, Role};
use super::{Scenario, Test};
use crate::lab::process::run_any;

/// UDP payload of the 64-byte test: 20 (IPv4 header) + 8 (UDP) + 36 = a
/// 64-byte IPv4 packet; on the IPv6 side the same datagram is an 84-byte
/// IPv6 packet.
pub const UDP_PAYLOAD: u32 = 36;
/// Interval between two pings of the RTT test.
const PING_INTERVAL: &str = "0.02";

/// Clock ticks per second of `/proc/*/stat` (`USER_HZ`, 100 on Linux).
fn clock_ticks() -> f64 {
    static HZ: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *HZ.get_or_init(|| {
        let out = std::process::Command::new("getconf").arg("CLK_TCK").output();
        out.ok().and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100.0)
    })
}

/// CPU time of the translators' threads and of the machine at one instant.
#[derive(Debug, Clone)]
struct CpuSnap {
    at: Instant,
    /// (pid, tid) -> (utime, stime) in ticks.
    threads: BTreeMap<(u32, u32), (u64, u64)>,
    /// `/proc/stat` "cpu" line: (busy, total) ticks, all cores.
    host: (u64, u64),
}

/// utime and stime of one `/proc/.../stat` line (fields 14 and 15; the
/// command name in parentheses may contain spaces).
fn parse_stat(text: &str) -> Option<(u64, u64)> {
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14 -> index 11.
    Some((f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?))
}

fn host_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else { return (0, 0) };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn snap(pids: &[u32]) -> CpuSnap {
    let mut threads = BTreeMap::new();
    for &pid in pids {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else { continue };
        for e in dir.flatten() {
            let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            if let Some(t) = std::fs::read_to_string(e.path().join("stat")).ok().as_deref().and_then(parse_stat) {
                threads.insert((pid, tid), t);
            }
        }
    }
    CpuSnap { at: Instant::now(), threads, host: host_ticks() }
}

/// CPU used between two snapshots, in cores (1.0 = one core busy).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cpu {
    /// Translators' user time.
    pub user: f64,
    /// Translators' system time.
    pub system: f64,
    /// The busiest translator thread (user + system).
    pub busiest_thread: f64,
    /// Translator threads that were busy at least 10 % of the time.
    pub busy_threads: u32,
    /// The whole machine (every process, interrupts, softirq).
    pub host: f64,
}

impl Cpu {
    /// user + system.
    #[must_use]
    pub fn total(&self) -> f64 {
        self.user + self.system
    }
}

fn cpu_between(a: &CpuSnap, b: &CpuSnap) -> Cpu {
    let secs = b.at.duration_since(a.at).as_secs_f64().max(1e-3);
    let hz = clock_ticks();
    let mut cpu = Cpu::default();
    for (k, (u1, s1)) in &b.threads {
        let (u0, s0) = a.threads.get(k).copied().unwrap_or((0, 0));
        let (u, s) = (u1.saturating_sub(u0) as f64 / hz / secs, s1.saturating_sub(s0) as f64 / hz / secs);
        cpu.user += u;
        cpu.system += s;
        cpu.busiest_thread = cpu.busiest_thread.max(u + s);
        if u + s >= 0.1 {
            cpu.busy_threads += 1;
        }
    }
    let (busy, total) = (b.host.0.saturating_sub(a.host.0), b.host.1.saturating_sub(a.host.1));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    if total > 0 {
        cpu.host = busy as f64 / total as f64 * cores;
    }
    cpu
}

/// What one measurement gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// TCP: bits per second received; UDP: datagrams per second received;
    /// ping: median RTT in milliseconds.
    pub value: f64,
    /// UDP: datagrams per second sent.
    pub sent: f64,
    /// CPU meanwhile.
    pub cpu: Cpu,
}

/// Runs `test` of `scenario` from the client, measuring the CPU of the
/// processes `pids` meanwhile.
pub fn measure(net: &Net, scenario: Scenario, test: Test, secs: u32, pings: u32, pids: &[u32]) -> Result<Sample> {
    let target = scenario.target();
    let secs_s = secs.to_string();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
    let (args, timeout) = if test == Test::Ping {
        let count = pings.to_string();
        let args = s(&["ping", "-n", "-c", &count, "-i", PING_INTERVAL, "-W", "2", target]);
        (args, Duration::from_secs(10 + u64::from(pings) / 10))
    } else {
        let mut args = s(&["iperf3", "-c", target, "-J", "-t", &secs_s, "--connect-timeout", "3000"]);
        let payload = UDP_PAYLOAD.to_string();
        let udp = ["-u", "-b", "0", "-l", &payload];
        args.extend(s(match test {
            Test::Tcp => &["-O", "1"],
            Test::Tcp4 => &["-O", "1", "-P", "4"],
            Test::Reverse => &["-O", "1", "-R"],
            _ => &udp,
        }));
        (args, Duration::from_secs(u64::from(secs) + 20))
    };
    let mut cmd = net.ns(Role::Client).command(&args[0]);
    cmd.args(&args[1..]);
    let before = snap(pids);
    let out = run_any(&mut cmd, timeout)?;
    let after = snap(pids);
    let cpu = cpu_between(&before, &after);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if test == Test::Ping {
        let rtts = ping_times(&stdout);
        if rtts.is_empty() {
            bail!("no ping reply from {target}: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        return Ok(Sample { value: super::report::median(&rtts), sent: f64::from(pings), cpu });
    }
    let json: serde_json::Value = serde_json::from_str(&stdout)
        .with_context(|| format!("iperf3 printed no JSON: {}", String::from_utf8_lossy(&out.stderr).trim()))?;
    if let Some(e) = json["error"].as_str() {
        bail!("iperf3 {}: {e}", args[1..].join(" "));
    }
    let (value, sent) = if test == Test::Udp { udp_rates(&json)? } else { (tcp_rate(&json)?, 0.0) };
    Ok(Sample { value, sent, cpu })
}

/// Receiver-side bits per second of a TCP test.
fn tcp_rate(json: &serde_json::Value) -> Result<f64> {
    json["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .context("no end.sum_received.bits_per_second in iperf3's JSON")
}

/// (received, sent) datagrams per second of a UDP test: the sender's
/// count minus the losses the receiver reported, over the test time.
fn udp_rates(json: &serde_json::Value) -> Result<(f64, f64)> {
    let sum = &json["end"]["sum"];
    let packets = sum["packets"].as_f64().context("no end.sum.packets in iperf3's JSON")?;
    let lost = sum["lost_packets"].as_f64().context("no end.sum.lost_packets")?;
    let secs = sum["seconds"].as_f64().filter(|s| *s > 0.0).context("no end.sum.seconds")?;
    Ok(((packets - lost).max(0.0) / secs, packets / secs))
}

/// The `time=X ms` of each reply.
fn ping_times(text: &str) -> Vec<f64> {
    text.lines()
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.split_whitespace().next())
        .filter_map(|t| t.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_spaces_in_the_name() {
        let line = "4242 (tokio runtime w) S 1 2 3 4 5 6 7 8 9 10 1234 567 0 0 20 0 4 0 100";
        assert_eq!(parse_stat(line), Some((1234, 567)));
    }

    #[test]
    fn ping_replies() {
        let text = "64 bytes from 198.51.100.7: icmp_seq=1 ttl=62 time=0.081 ms\n\
                    64 bytes from 198.51.100.7: icmp_seq=2 ttl=62 time=0.120 ms\n\nrtt min/avg = 1/2 ms\n";
        assert_eq!(ping_times(text), vec![0.081, 0.120]);
    }

    #[test]
    fn iperf3_udp_json() {
        let json: serde_json::Value = serde_json::from_str(
            r#"{"end":{"sum":{"seconds":2.0,"packets":1000,"lost_packets":100,"bits_per_second":1}}}"#,
        )
        .unwrap();
        assert_eq!(udp_rates(&json).unwrap(), (450.0, 500.0));
    }
}
