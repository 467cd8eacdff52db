//! Real traffic through the lab with the usual tools (ping, curl, dig,
//! traceroute, iperf3), and what their output says: each probe returns the
//! figures the demo prints and the tests assert on.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};

use super::process::run_any;
use super::servers::sha256_file;
use super::Lab;
use super::Role;

/// The outcome of `ping`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ping {
    /// Echo requests sent.
    pub sent: u32,
    /// Echo replies received.
    pub received: u32,
    /// Average round-trip time, if any reply came.
    pub rtt_avg: Option<Duration>,
    /// Smallest round-trip time, if any reply came.
    pub rtt_min: Option<Duration>,
}

impl Ping {
    /// Whether every request was answered.
    #[must_use]
    pub fn all_answered(&self) -> bool {
        self.sent > 0 && self.received == self.sent
    }

    /// Parses iputils `ping -q` output.
    pub fn parse(text: &str) -> Result<Self> {
        let line = text.lines().find(|l| l.contains("packets transmitted")).context("no ping summary")?;
        let num = |word: &str| -> Option<u32> {
            let words: Vec<&str> = line.split([',', ' ']).filter(|w| !w.is_empty()).collect();
            let i = words.iter().position(|w| *w == word)?;
            words.get(i.checked_sub(1)?)?.parse().ok()
        };
        let sent = num("packets").context("no 'packets transmitted'")?;
        let received = num("received").context("no 'received'")?;
        // rtt min/avg/max/mdev = 0.045/0.060/0.079/0.011 ms
        let rtt: Option<Vec<f64>> = text
            .lines()
            .find(|l| l.starts_with("rtt ") || l.starts_with("round-trip"))
            .and_then(|l| l.split_once('=').map(|(_, v)| v.trim().trim_end_matches("ms").trim()))
            .map(|v| v.split('/').filter_map(|x| x.parse().ok()).collect());
        let ms = |x: f64| Duration::from_secs_f64(x / 1000.0);
        let (rtt_min, rtt_avg) = match rtt.as_deref() {
            Some([min, avg, ..]) => (Some(ms(*min)), Some(ms(*avg))),
            _ => (None, None),
        };
        Ok(Self { sent, received, rtt_avg, rtt_min })
    }
}

/// The outcome of an HTTP download with curl.
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    /// HTTP status code (0 if no response).
    pub status: u16,
    /// Bytes of body received.
    pub bytes: u64,
    /// Average download rate, bytes per second.
    pub rate: f64,
    /// Total time of the transfer.
    pub time: Duration,
    /// SHA-256 of what was received, lowercase hex.
    pub sha256: String,
}

/// The outcome of a DNS query with dig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dns {
    /// The response code (`NOERROR`, `REFUSED`, ...).
    pub status: String,
    /// The data of the answer records of the asked type.
    pub answers: Vec<String>,
    /// dig's `Query time`.
    pub time: Option<Duration>,
}

impl Dns {
    /// Parses `dig +nocmd +noquestion +noauthority +noadditional` output
    /// for records of `qtype`.
    pub fn parse(text: &str, qtype: &str) -> Result<Self> {
        let status = text
            .lines()
            .find_map(|l| l.split_once("status: ").map(|(_, s)| s.split(',').next().unwrap_or(s).trim().to_owned()))
            .context("no status in dig's output")?;
        let answers = text
            .lines()
            .filter(|l| !l.starts_with(';'))
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 5 && f[2] == "IN" && f[3] == qtype).then(|| f[4..].join(" "))
            })
            .collect();
        let time = text
            .lines()
            .find_map(|l| l.strip_prefix(";; Query time: "))
            .and_then(|v| v.trim_end_matches(" msec").parse().ok())
            .map(Duration::from_millis);
        Ok(Self { status, answers, time })
    }
}

/// One line of traceroute: the addresses that answered for that TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The TTL.
    pub ttl: u8,
    /// Who answered (empty when every probe timed out: `*`).
    pub addrs: Vec<IpAddr>,
}

/// Parses `traceroute -n` output.
pub fn parse_traceroute(text: &str) -> Vec<Hop> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let ttl = words.next()?.parse().ok()?;
            let mut addrs: Vec<IpAddr> = Vec::new();
            for a in words.filter_map(|w| w.parse().ok()) {
                if !addrs.contains(&a) {
                    addrs.push(a);
                }
            }
            Some(Hop { ttl, addrs })
        })
        .collect()
}

/// The outcome of an iperf3 TCP test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Iperf {
    /// Throughput measured by the receiver, bits per second.
    pub bits_per_second: f64,
    /// TCP retransmissions by the sender.
    pub retransmits: u64,
}

/// How long each probe may take at most.
const PING_TIMEOUT: Duration = Duration::from_secs(20);
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
const DIG_TIMEOUT: Duration = Duration::from_secs(15);
const TRACEROUTE_TIMEOUT: Duration = Duration::from_secs(30);

impl Lab {
    /// `ping -c count` from `from` to `dst` (IPv4 or IPv6), 0.2 s apart,
    /// each reply awaited for at most 2 s.
    pub fn ping(&self, from: Role, dst: &str, count: u32) -> Result<Ping> {
        let count = count.clamp(1, 50).to_string();
        let mut cmd = self.command(from, "ping")?;
        cmd.args(["-n", "-q", "-c", &count, "-i", "0.2", "-W", "2", dst]);
        let out = run_any(&mut cmd, PING_TIMEOUT)?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ping::parse(&text).with_context(|| format!("ping {dst} from {from}: {}", String::from_utf8_lossy(&out.stderr)))
    }

    /// Downloads `url` with curl from `from` into `to` and hashes it.
    pub fn http_get(&self, from: Role, url: &str, to: &Path) -> Result<Http> {
        let mut cmd = self.command(from, "curl")?;
        cmd.args(["-sS", "--max-time", "50", "-o"]).arg(to).args([
            "-w",
            "%{http_code} %{size_download} %{speed_download} %{time_total}",
            url,
        ]);
        let out = run_any(&mut cmd, HTTP_TIMEOUT)?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let f: Vec<&str> = text.split_whitespace().collect();
        if !out.status.success() || f.len() != 4 {
            bail!("curl {url} from {from} failed ({}): {} {}", out.status, text, String::from_utf8_lossy(&out.stderr));
        }
        let parse =
            |i: usize| -> Result<f64> { f[i].replace(',', ".").parse().with_context(|| format!("curl said {text}")) };
        Ok(Http {
            status: f[0].parse().with_context(|| format!("curl said {text}"))?,
            bytes: parse(1)? as u64,
            rate: parse(2)?,
            time: Duration::from_secs_f64(parse(3)?),
            sha256: sha256_file(to)?,
        })
    }

    /// `dig @server name qtype` from `from` (UDP; 2 tries of 2 s).
    pub fn dig(&self, from: Role, server: &str, name: &str, qtype: &str) -> Result<Dns> {
        let mut cmd = self.command(from, "dig")?;
        cmd.arg(format!("@{server}")).args([
            name,
            qtype,
            "+time=2",
            "+tries=2",
            "+nocmd",
            "+noquestion",
            "+noauthority",
            "+noadditional",
        ]);
        let out = run_any(&mut cmd, DIG_TIMEOUT)?;
        let text = String::from_utf8_lossy(&out.stdout);
        Dns::parse(&text, qtype).with_context(|| format!("dig @{server} {name} {qtype} from {from}: {text}"))
    }

    /// `traceroute -n` (UDP probes, 2 per hop, 1 s wait, at most 12 hops)
    /// from `from` to `dst`.
    pub fn traceroute(&self, from: Role, dst: &str) -> Result<(Vec<Hop>, String)> {
        let mut cmd = self.command(from, "traceroute")?;
        cmd.args(["-n", "-q", "2", "-w", "1", "-m", "12", dst]);
        let out = run_any(&mut cmd, TRACEROUTE_TIMEOUT)?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!("traceroute {dst} from {from} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
        }
        Ok((parse_traceroute(&text), text))
    }

    /// An iperf3 TCP test of `secs` seconds from `from` to the server at
    /// `dst` (`reverse`: the server sends).
    pub fn iperf3(&self, from: Role, dst: &str, secs: u32, reverse: bool) -> Result<Iperf> {
        let secs = secs.clamp(1, 30);
        let mut cmd = self.command(from, "iperf3")?;
        cmd.args(["-c", dst, "-J", "--connect-timeout", "3000", "-t", &secs.to_string()]);
        if reverse {
            cmd.arg("-R");
        }
        let out = run_any(&mut cmd, Duration::from_secs(u64::from(secs) + 20))?;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("iperf3 output: {}", String::from_utf8_lossy(&out.stdout)))?;
        if let Some(e) = json.get("error").and_then(|e| e.as_str()) {
            bail!("iperf3 to {dst} from {from}: {e}");
        }
        let end = &json["end"];
        Ok(Iperf {
            bits_per_second: end["sum_received"]["bits_per_second"]
                .as_f64()
                .context("no sum_received in iperf3's output")?,
            retransmits: end["sum_sent"]["retransmits"].as_u64().unwrap_or(0),
        })
    }
}

/// `1234567.0` bytes per second as `"1.2 MB/s"`.
#[must_use]
pub fn human_rate(bytes_per_second: f64) -> String {
    human(bytes_per_second, "B/s")
}

/// `1.2e9` bits per second as `"1.2 Gbit/s"`.
#[must_use]
pub fn human_bits(bits_per_second: f64) -> String {
    human(bits_per_second, "bit/s")
}

fn human(v: f64, unit: &str) -> String {
    let (v, prefix) = if v >= 1e9 {
        (v / 1e9, "G")
    } else if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    format!("{v:.1} {prefix}{unit}")
}

/// A duration in milliseconds with three decimals (`"0.061 ms"`).
#[must_use]
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ping_summary() {
        let text = "PING 198.51.100.7 (198.51.100.7) 56(84) bytes of data.\n\n--- 198.51.100.7 ping statistics ---\n\
                    5 packets transmitted, 4 received, 20% packet loss, time 801ms\n\
                    rtt min/avg/max/mdev = 0.045/0.060/0.079/0.011 ms\n";
        let p = Ping::parse(text).unwrap();
        assert_eq!((p.sent, p.received), (5, 4));
        assert_eq!(p.rtt_avg, Some(Duration::from_micros(60)));
        assert_eq!(p.rtt_min, Some(Duration::from_micros(45)));
        assert!(!p.all_answered());
        let none = Ping::parse("3 packets transmitted, 0 received, 100% packet loss, time 2040ms\n").unwrap();
        assert_eq!((none.received, none.rtt_avg), (0, None));
        let errs = Ping::parse("2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1s\n").unwrap();
        assert_eq!((errs.sent, errs.received), (2, 0));
    }

    #[test]
    fn parses_dig_answer() {
        let text = ";; Got answer:\n;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1\n\
                    ;; ANSWER SECTION:\nserver.example.test.\t60\tIN\tA\t198.51.100.7\n\n\
                    ;; Query time: 3 msec\n;; SERVER: 198.51.100.7#53(198.51.100.7) (UDP)\n";
        let d = Dns::parse(text, "A").unwrap();
        assert_eq!(d.status, "NOERROR");
        assert_eq!(d.answers, vec!["198.51.100.7"]);
        assert_eq!(d.time, Some(Duration::from_millis(3)));
    }

    #[test]
    fn parses_traceroute_hops() {
        let text = "traceroute to 198.51.100.7 (198.51.100.7), 12 hops max, 60 byte packets\n\
                    \x20 1  192.0.2.1  0.050 ms  0.020 ms\n\
                    \x20 2  * *\n\
                    \x20 3  192.0.0.5  0.1 ms 192.0.0.2  0.2 ms\n\
                    10  198.51.100.7  0.3 ms !H  0.2 ms\n";
        let hops = parse_traceroute(text);
        assert_eq!(hops.len(), 4);
        assert_eq!(hops[0].addrs, vec!["192.0.2.1".parse::<IpAddr>().unwrap()]);
        assert!(hops[1].addrs.is_empty());
        assert_eq!(hops[2].addrs.len(), 2);
        assert_eq!((hops[3].ttl, hops[3].addrs[0]), (10, "198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn human_units() {
        assert_eq!(human_rate(1_234_567.0), "1.2 MB/s");
        assert_eq!(human_bits(2.5e9), "2.5 Gbit/s");
        assert_eq!(ms(Duration::from_micros(61)), "0.061 ms");
    }
}
