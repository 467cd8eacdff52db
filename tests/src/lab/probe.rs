//! Real traffic through the lab with the usual tools (ping, curl, dig,
//! traceroute, iperf3) and small python3 clients (thousands of concurrent
//! TCP connections, UDP peers meeting through the PLAT), and what their
//! output says: each probe returns the figures the demo prints and the
//! tests assert on.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};

use super::process::{run_any, Interactive};
use super::servers::{python3, sha256_file};
use super::topology as t;
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
    /// The transport dig says it used (`UDP`, `TCP`), from its `SERVER`
    /// line.
    pub transport: Option<String>,
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
        // ;; SERVER: 198.51.100.7#53(198.51.100.7) (TCP)
        let transport = text
            .lines()
            .find(|l| l.starts_with(";; SERVER: "))
            .and_then(|l| l.rsplit_once('(').map(|(_, t)| t.trim_end_matches(')').to_owned()))
            .filter(|t| t.chars().all(|c| c.is_ascii_uppercase()));
        Ok(Self { status, answers, time, transport })
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

/// The outcome of an iperf3 UDP test (the receiver's view).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IperfUdp {
    /// Throughput measured by the receiver, bits per second.
    pub bits_per_second: f64,
    /// Datagrams sent.
    pub packets: u64,
    /// Datagrams lost.
    pub lost_packets: u64,
    /// Lost datagrams in percent.
    pub lost_percent: f64,
    /// Jitter, milliseconds.
    pub jitter_ms: f64,
}

/// Concurrent TCP connections held open by a python3 client (see
/// [`Lab::tcp_connections`]); closed when [`TcpConnections::close`] is
/// called or this is dropped.
#[derive(Debug)]
pub struct TcpConnections {
    /// Connections that connected and echoed their line back.
    pub ok: u32,
    /// Connections that failed.
    pub failed: u32,
    /// How long opening them all took.
    pub elapsed: Duration,
    /// The failures by message, with their counts.
    pub errors: BTreeMap<String, u32>,
    client: Interactive,
}

impl TcpConnections {
    /// Closes every connection and waits (bounded) for the client to exit.
    pub fn close(mut self) -> Result<()> {
        let (status, _) = self.client.finish(Duration::from_secs(20))?;
        anyhow::ensure!(status.success(), "the TCP client exited with {status}: {}", self.client.stderr());
        Ok(())
    }
}

/// The python3 client of [`Lab::tcp_connections`]: `HOST PORT N BIND
/// TIMEOUT`. Opens N connections at once from BIND, sends a line on each
/// and reads it back, prints `OPEN ok failed seconds {errors}`, keeps them
/// open until its stdin closes, then closes them and prints `CLOSED`.
const TCP_CLIENT: &str = r#"
import asyncio, json, resource, sys, time
host, port, n, bind, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = n + 256 if hard == resource.RLIM_INFINITY else min(hard, n + 256)
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

async def one(i):
    line = b"xlat-lab connection %d\n" % i
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port, local_addr=(bind, 0)), timeout)
    except Exception as e:
        return None, "connect: %s %s" % (type(e).__name__, getattr(e, "strerror", None) or e)
    try:
        w.write(line)
        await asyncio.wait_for(w.drain(), timeout)
        echoed = await asyncio.wait_for(r.readexactly(len(line)), timeout)
    except Exception as e:
        w.close()
        return None, "echo: %s %s" % (type(e).__name__, e)
    if echoed != line:
        w.close()
        return None, "echo: other bytes came back"
    return w, None

async def main():
    begin = time.monotonic()
    results = await asyncio.gather(*(one(i) for i in range(n)))
    writers = [w for w, _ in results if w is not None]
    errors = {}
    for _, e in results:
        if e:
            errors[e] = errors.get(e, 0) + 1
    print("OPEN %d %d %.3f %s" % (len(writers), n - len(writers), time.monotonic() - begin, json.dumps(errors)), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for w in writers:
        w.close()
    print("CLOSED", flush=True)

asyncio.run(main())
"#;

/// The python3 UDP peer of [`Lab::udp_hairpin`]. `b BIND REFLECTOR PORT
/// TIMEOUT`: asks the reflector for its mapping (prints `MAPPED ADDR
/// PORT`), then waits for one datagram from someone else (prints `GOT ADDR
/// PORT TEXT`) and answers it with `pong TEXT`. `a BIND DST PORT TIMEOUT`:
/// sends `hello from a` to DST until an answer comes (prints `REPLY ADDR
/// PORT TEXT`).
const UDP_PEER: &str = r#"
import socket, sys, time
mode, bind, dst, port, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
deadline = time.monotonic() + timeout
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((bind, 0))
s.settimeout(0.3)
def same(a, b):
    return socket.inet_pton(socket.AF_INET6, a) == socket.inet_pton(socket.AF_INET6, b)
def first(send, accept):
    while time.monotonic() < deadline:
        if send:
            s.sendto(send, (dst, port))
        try:
            data, peer = s.recvfrom(2048)
        except socket.timeout:
            continue
        if accept(peer):
            return data, peer
    print("TIMEOUT", flush=True)
    sys.exit(1)
if mode == "b":
    data, _ = first(b"whoami", lambda p: same(p[0], dst) and p[1] == port)
    print("MAPPED " + data.decode(), flush=True)
    data, peer = first(None, lambda p: not (same(p[0], dst) and p[1] == port))
    print("GOT %s %d %s" % (peer[0], peer[1], data.decode(errors="replace")), flush=True)
    s.sendto(b"pong " + data, peer)
else:
    data, peer = first(b"hello from a", lambda p: True)
    print("REPLY %s %d %s" % (peer[0], peer[1], data.decode(errors="replace")), flush=True)
"#;

/// What [`Lab::udp_hairpin`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpHairpin {
    /// B's mapping on pool4, as the reflector saw it.
    pub b_mapped: (Ipv4Addr, u16),
    /// Where B's datagram from A came from (pool6 + A's pool4 address).
    pub b_got_from: (Ipv6Addr, u16),
    /// What B received.
    pub b_got: String,
    /// Where A's answer came from (pool6 + B's mapping).
    pub a_reply_from: (Ipv6Addr, u16),
    /// What A received.
    pub a_reply: String,
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
        self.dig_over(from, server, name, qtype, false)
    }

    /// `dig +tcp @server name qtype` from `from` (DNS over TCP).
    pub fn dig_tcp(&self, from: Role, server: &str, name: &str, qtype: &str) -> Result<Dns> {
        self.dig_over(from, server, name, qtype, true)
    }

    fn dig_over(&self, from: Role, server: &str, name: &str, qtype: &str, tcp: bool) -> Result<Dns> {
        let mut cmd = self.command(from, "dig")?;
        if tcp {
            cmd.arg("+tcp");
        }
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

    /// `traceroute -n` (UDP probes, 2 per hop, 1 s wait, at most 16 hops)
    /// from `from` to `dst` (IPv4 or IPv6).
    pub fn traceroute(&self, from: Role, dst: &str) -> Result<(Vec<Hop>, String)> {
        let mut cmd = self.command(from, "traceroute")?;
        cmd.args(["-n", "-q", "2", "-w", "1", "-m", "16", dst]);
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

impl Lab {
    /// An iperf3 UDP test of `secs` seconds from `from` to the server at
    /// `dst` at a fixed `bitrate` (bits per second), 1200-byte datagrams
    /// (they fit every path of the lab, translated).
    pub fn iperf3_udp(&self, from: Role, dst: &str, secs: u32, bitrate: u64) -> Result<IperfUdp> {
        let secs = secs.clamp(1, 30);
        let mut cmd = self.command(from, "iperf3")?;
        cmd.args(["-c", dst, "-J", "--connect-timeout", "3000", "-u", "-l", "1200", "-t", &secs.to_string()]);
        cmd.args(["-b", &bitrate.to_string()]);
        let out = run_any(&mut cmd, Duration::from_secs(u64::from(secs) + 20))?;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("iperf3 output: {}", String::from_utf8_lossy(&out.stdout)))?;
        if let Some(e) = json.get("error").and_then(|e| e.as_str()) {
            bail!("iperf3 -u to {dst} from {from}: {e}");
        }
        let end = &json["end"];
        let r = if end["sum_received"].is_object() { &end["sum_received"] } else { &end["sum"] };
        let num = |k: &str| r[k].as_f64().with_context(|| format!("no {k} in iperf3's UDP summary: {r}"));
        Ok(IperfUdp {
            bits_per_second: num("bits_per_second")?,
            packets: num("packets")? as u64,
            lost_packets: num("lost_packets")? as u64,
            lost_percent: num("lost_percent")?,
            jitter_ms: num("jitter_ms")?,
        })
    }

    /// Opens `n` TCP connections at once from `bind` (an address of
    /// `from`) to the echo server at `dst` (IPv4 or IPv6; port
    /// [`t::ECHO_PORT`]), each checked by echoing a line, and keeps them
    /// open until [`TcpConnections::close`]. Waits at most `timeout` for
    /// each connection and for the whole.
    pub fn tcp_connections(
        &self,
        from: Role,
        bind: &str,
        dst: &str,
        n: u32,
        timeout: Duration,
    ) -> Result<TcpConnections> {
        let mut cmd = self.command(from, python3())?;
        cmd.args(["-c", TCP_CLIENT, dst, &t::ECHO_PORT.to_string(), &n.to_string(), bind]);
        cmd.arg(format!("{:.1}", timeout.as_secs_f64()));
        let mut client = Interactive::spawn(&format!("{n} TCP connections from {from} ({bind})"), cmd)?;
        // Connecting and echoing are each bounded by `timeout`.
        let line = client.read_line(timeout * 2 + Duration::from_secs(10))?;
        let mut f = line.splitn(5, ' ');
        let (Some("OPEN"), Some(ok), Some(failed), Some(secs), Some(errors)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            bail!(
                "the TCP client said {line:?}; its stderr:
{}",
                client.stderr()
            );
        };
        let errors: BTreeMap<String, u32> =
            serde_json::from_str(errors).with_context(|| format!("the TCP client said {line:?}"))?;
        Ok(TcpConnections {
            ok: ok.parse()?,
            failed: failed.parse()?,
            elapsed: Duration::from_secs_f64(secs.parse()?),
            errors,
            client,
        })
    }

    /// Two IPv6 clients meet through pool4 (RFC 6146 §3.8 hairpinning): B
    /// (`b` at `b_bind`) learns its pool4 mapping from the UDP reflector in
    /// `internet`; A (`a` at `a_bind`) sends a datagram to that mapping in
    /// the PLAT prefix; B answers to where it came from. Bounded by
    /// `timeout` per step.
    pub fn udp_hairpin(&self, a: Role, a_bind: &str, b: Role, b_bind: &str, timeout: Duration) -> Result<UdpHairpin> {
        let secs = format!("{:.1}", timeout.as_secs_f64());
        let mut cmd = self.command(b, python3())?;
        cmd.args(["-c", UDP_PEER, "b", b_bind, t::SERVER_V6, &t::REFLECTOR_PORT.to_string(), &secs]);
        let mut peer_b = Interactive::spawn(&format!("UDP peer B in {b}"), cmd)?;
        let mapped = peer_b.read_line(timeout + Duration::from_secs(5))?;
        let parse_addr_port = |line: &str, tag: &str| -> Result<(String, u16, String)> {
            let mut f = line.splitn(4, ' ');
            match (f.next(), f.next(), f.next()) {
                (Some(x), Some(addr), Some(port)) if x == tag => {
                    Ok((addr.to_owned(), port.parse()?, f.next().unwrap_or("").to_owned()))
                }
                _ => bail!("expected {tag} ADDR PORT, got {line:?}"),
            }
        };
        let (addr, port, _) = parse_addr_port(&mapped, "MAPPED")?;
        let b_mapped: (Ipv4Addr, u16) = (addr.parse().with_context(|| format!("B's mapping {mapped:?}"))?, port);
        let dst = t::pool6(b_mapped.0).to_string();
        let mut cmd = self.command(a, python3())?;
        cmd.args(["-c", UDP_PEER, "a", a_bind, &dst, &port.to_string(), &secs]);
        let out = run_any(&mut cmd, timeout + Duration::from_secs(5))?;
        let a_out = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let got = peer_b.read_line(Duration::from_secs(2)).with_context(|| format!("A printed {a_out:?}"))?;
        let (from, from_port, b_got) = parse_addr_port(&got, "GOT")?;
        let (reply_from, reply_port, a_reply) = parse_addr_port(&a_out, "REPLY")
            .with_context(|| format!("A's stderr: {}", String::from_utf8_lossy(&out.stderr)))?;
        let _ = peer_b.finish(Duration::from_secs(5));
        Ok(UdpHairpin {
            b_mapped,
            b_got_from: (from.parse()?, from_port),
            b_got,
            a_reply_from: (reply_from.parse()?, reply_port),
            a_reply,
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
        assert_eq!(d.transport.as_deref(), Some("UDP"));
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
