//! `clat run` in a network namespace of its own (no lab): malformed packets
//! written into its TUN are dropped under named counters while good ones
//! keep flowing; the PLAT prefix is learned from a Router Advertisement
//! (RFC 8781) and follows a change; RFC 7050 discovery against a DNS64
//! stand-in; until a prefix is known IPv4 gets ICMP unreachable; SIGHUP
//! reloads the EAM table; SIGTERM exits 0 and leaves no route behind.
//!
//! Packets are written into the TUN and read back from it with AF_PACKET
//! sockets (Python's standard library), so the daemon sees exactly the
//! bytes the test built. Needs root; skips with a message otherwise, and
//! fails when CI=true.

use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use xlat_lab::lab::default_clat_binary;
use xlat_lab::netns::{require_root, require_tool, run, wait_until, Netns};

const METRICS: &str = "127.0.0.1:9464";
const STARTUP: Duration = Duration::from_secs(15);
const SETTLE: Duration = Duration::from_secs(10);
const CLAT4: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 1);
const SERVER4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

/// Writes packets into a TUN (AF_PACKET, as if routed there) and prints the
/// first packet the TUN emits that contains a marker, or MISSING.
const PROBE: &str = r#"
import select, socket, sys, time
ifname, marker, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
marker = None if marker == "-" else bytes.fromhex(marker)
cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
cap.bind((ifname, 0))
for h in sys.argv[4:]:
    p = bytes.fromhex(h)
    proto = 0x86DD if p and p[0] >> 4 == 6 else 0x0800
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(proto))
    s.sendto(p, (ifname, proto))
    s.close()
if marker is None:
    sys.exit(0)
deadline = time.time() + timeout
while time.time() < deadline:
    r, _, _ = select.select([cap], [], [], max(0.0, deadline - time.time()))
    if not r:
        break
    data, addr = cap.recvfrom(65535)
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    if marker in data:
        print(data.hex())
        sys.exit(0)
print("MISSING")
"#;

/// Sends an RA built by xlat-pref64 from a link-local address on `ifname`.
const SEND_RA: &str = r#"
import socket, sys
ifname, src, ra = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
idx = socket.if_nametoindex(ifname)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
s.bind((src, 0, 0, idx))
s.sendto(ra, ("ff02::1", 0, 0, idx))
"#;

/// A DNS64 stand-in: answers AAAA ipv4only.arpa with two addresses.
const DNS64: &str = r#"
import socket, struct, sys
port, a1, a2 = int(sys.argv[1]), socket.inet_pton(socket.AF_INET6, sys.argv[2]), socket.inet_pton(socket.AF_INET6, sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    qid, qd_end = q[:2], 12
    while q[qd_end] != 0:
        qd_end += 1 + q[qd_end]
    qtype = struct.unpack("!H", q[qd_end + 1:qd_end + 3])[0]
    question = q[12:qd_end + 5]
    answers = b""
    if qtype == 28:
        for a in (a1, a2):
            answers += b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 60, 16) + a
    n = 2 if qtype == 28 else 0
    s.sendto(qid + b"\x81\x80" + struct.pack("!HHHH", 1, n, 0, 0) + question + answers, peer)
"#;

fn inet(data: &[u8], mut acc: u64) -> u16 {
    for c in data.chunks(2) {
        acc += u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0];
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(l4);
    let total = p.len() as u16;
    p[2..4].copy_from_slice(&total.to_be_bytes());
    let c = inet(&p[..20], 0);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

fn udp4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let mut u = vec![0x9c, 0x40, 0x13, 0x89];
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let words = |b: &[u8]| b.chunks(2).map(|c| u64::from(u16::from_be_bytes([c[0], c[1]]))).sum::<u64>();
    let pseudo = words(&src.octets()) + words(&dst.octets()) + 17 + u.len() as u64;
    let c = inet(&u, pseudo);
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

fn icmp4(ty: u8, code: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(body);
    let c = inet(&m, 0);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

/// A running `clat run`, stopped (SIGKILL) if the test fails first.
struct Daemon {
    child: Option<Child>,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(ns: &Netns, args: &[&str]) -> Result<Self> {
        let log = std::env::temp_dir().join(format!("{}-clat.log", ns.name()));
        let out = std::fs::File::create(&log)?;
        let child = ns
            .command(default_clat_binary())
            .arg("run")
            .args(["--metrics-listen", METRICS])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting clat run")?;
        let d = Self { child: Some(child), log };
        wait_until(STARTUP, "clat's /metrics endpoint", || metrics(ns).ok()).map_err(|e| d.explain(e))?;
        Ok(d)
    }

    fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        e.context(format!("clat log: {}", std::fs::read_to_string(&self.log).unwrap_or_default()))
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    fn signal(&self, sig: &str) -> Result<()> {
        run(Command::new("kill").args([&format!("-{sig}"), &self.pid().to_string()]), SETTLE).map(|_| ())
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> Result<std::process::ExitStatus> {
        self.signal("TERM")?;
        let mut child = self.child.take().context("already stopped")?;
        wait_until(SETTLE, "clat to exit after SIGTERM", || child.try_wait().ok().flatten())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

fn metrics(ns: &Netns) -> Result<String> {
    let out = run(ns.command("curl").args(["-sf", "-m", "2", &format!("http://{METRICS}/metrics")]), SETTLE)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn metric(text: &str, series: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

/// Waits until `series` reaches at least `min`.
fn wait_metric(ns: &Netns, series: &str, min: u64) -> Result<u64> {
    wait_until(SETTLE, series, || metrics(ns).ok().and_then(|m| metric(&m, series)).filter(|v| *v >= min))
}

/// Writes `packets` into the TUN and returns the first packet out of it
/// containing `marker`.
fn probe(ns: &Netns, marker: &[u8], packets: &[Vec<u8>]) -> Result<Vec<u8>> {
    let mut cmd = ns.command("python3");
    cmd.args(["-c", PROBE, "clat", &hex(marker), "5"]).args(packets.iter().map(|p| hex(p)));
    let out = run(&mut cmd, SETTLE)?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if text == "MISSING" || text.is_empty() {
        bail!("no packet with marker {} came out of the TUN", hex(marker));
    }
    Ok(unhex(&text))
}

fn ready(test: &str) -> bool {
    require_root(test) && require_tool(test, "python3") && require_tool(test, "curl")
}

fn namespace() -> Result<Netns> {
    let ns = Netns::new()?;
    ns.ip(&["link", "set", "lo", "up"])?;
    Ok(ns)
}

fn v6_at(p: &[u8], at: usize) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&p[at..at + 16]).expect("16 bytes"))
}

/// RFC 4443 §2.4 (f): the ICMP errors the daemon originates are paced
/// (`--icmp-error-rate`, a burst of at most the rate, then the rate).
#[test]
fn originated_icmp_errors_are_rate_limited() -> Result<()> {
    if !ready("originated_icmp_errors_are_rate_limited") {
        return Ok(());
    }
    let ns = namespace()?;
    let args = ["--plat-prefix", "2001:db8:64::/96", "--clat-ipv6", "2001:db8:aaaa::1", "--icmp-error-rate", "2"];
    let clat = Daemon::start(&ns, &args)?;
    // 20 packets whose TTL runs out here: each one would get a Time
    // Exceeded. (From a LAN host without a mapping: its errors leave the
    // namespace's routes instead of looping back through the CLAT.)
    let lan_host = Ipv4Addr::new(198, 51, 100, 9);
    let mut expiring = ipv4(lan_host, SERVER4, 17, &udp4(lan_host, SERVER4, b"ttl-1"));
    expiring[8] = 1;
    expiring[10..12].fill(0);
    let c = inet(&expiring[..20], 0);
    expiring[10..12].copy_from_slice(&c.to_be_bytes());
    let mut all = vec![expiring; 20];
    all.push(ipv4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, b"after-the-burst")));
    probe(&ns, b"after-the-burst", &all).map_err(|e| clat.explain(e.context(metrics(&ns).unwrap_or_default())))?;
    wait_metric(&ns, "xlat_drops_total{reason=\"ttl_exceeded\"}", 20).map_err(|e| clat.explain(e))?;
    let m = metrics(&ns)?;
    let sent = metric(&m, "xlat_icmp_errors_sent_total{family=\"ipv4\"}").unwrap_or(0);
    let limited = metric(&m, "xlat_icmp_errors_rate_limited_total").unwrap_or(0);
    // The burst (2), plus what the clock earned while the probe wrote (2
    // per second; the exact arithmetic is a unit test of the core).
    assert!((2..=5).contains(&sent), "errors sent: {sent}\n{m}");
    assert_eq!(sent + limited, 20, "every expiring packet either answered or limited\n{m}");
    assert!(clat.stop()?.success());
    Ok(())
}

#[test]
fn malformed_packets_are_counted_and_good_traffic_keeps_flowing() -> Result<()> {
    if !ready("malformed_packets_are_counted_and_good_traffic_keeps_flowing") {
        return Ok(());
    }
    let ns = namespace()?;
    let clat = Daemon::start(&ns, &["--plat-prefix", "2001:db8:64::/96", "--clat-ipv6", "2001:db8:aaaa::1"])?;

    let good = ipv4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, b"good-after-bad"));
    let mut bad_total = good.clone();
    bad_total[2..4].copy_from_slice(&4000u16.to_be_bytes());
    let c = {
        bad_total[10..12].fill(0);
        inet(&bad_total[..20], 0)
    };
    bad_total[10..12].copy_from_slice(&c.to_be_bytes());
    let mut bad_checksum = good.clone();
    bad_checksum[10] ^= 0xff;
    let quoted_error = ipv4(SERVER4, CLAT4, 1, &icmp4(3, 3, &ipv4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, b"q"))));
    let error_in_error = ipv4(SERVER4, CLAT4, 1, &icmp4(3, 1, &quoted_error));
    let mut bogus_chain = vec![0x60, 0, 0, 0, 0, 8, 0, 64];
    bogus_chain.extend_from_slice(&"2001:db8:aaaa::1".parse::<Ipv6Addr>()?.octets());
    bogus_chain.extend_from_slice(&"2001:db8:64::c633:6407".parse::<Ipv6Addr>()?.octets());
    bogus_chain.extend_from_slice(&[60, 200, 0, 0, 0, 0, 0, 0]);
    let malformed = vec![
        good[..12].to_vec(), // truncated IPv4 header
        bad_total,           // Total Length beyond the packet
        bad_checksum,        // header checksum
        bogus_chain,         // extension header longer than the packet
        error_in_error,      // ICMP error quoting an ICMP error (the quote is an ICMPv4 error)
        vec![0x70; 40],      // IP version 7
    ];
    let mut all = malformed;
    all.push(good);
    let out = probe(&ns, b"good-after-bad", &all)?;
    assert_eq!(out[0] >> 4, 6, "the good packet came out as IPv6");
    assert_eq!(v6_at(&out, 8), "2001:db8:aaaa::1".parse::<Ipv6Addr>()?);
    assert_eq!(v6_at(&out, 24), "2001:db8:64::c633:6407".parse::<Ipv6Addr>()?);

    for reason in [
        "ipv4_header_truncated",
        "ipv4_bad_total_length",
        "ipv4_bad_checksum",
        "ipv6_bad_extension_chain",
        "icmp_error_in_error",
        "unknown_version",
    ] {
        wait_metric(&ns, &format!("xlat_drops_total{{reason=\"{reason}\"}}"), 1).map_err(|e| clat.explain(e))?;
    }
    wait_metric(&ns, "xlat_packets_total{direction=\"ipv4_to_ipv6\"}", 1)?;

    // SIGTERM: exit 0, and no route into the TUN is left (the TUN is gone).
    let status = clat.stop()?;
    assert!(status.success(), "clat exited with {status}");
    let routes = run(ns.command("ip").args(["route", "show"]), SETTLE)?;
    let routes6 = run(ns.command("ip").args(["-6", "route", "show"]), SETTLE)?;
    let all = format!("{}{}", String::from_utf8_lossy(&routes.stdout), String::from_utf8_lossy(&routes6.stdout));
    assert!(!all.contains("dev clat"), "routes left behind: {all}");
    Ok(())
}

#[test]
fn plat_prefix_from_router_advertisement_and_change_followed() -> Result<()> {
    if !ready("plat_prefix_from_router_advertisement_and_change_followed") {
        return Ok(());
    }
    let ns = namespace()?;
    ns.ip(&["link", "add", "ra0", "type", "veth", "peer", "name", "ra1"])?;
    ns.sysctl("net.ipv6.conf.all.accept_dad", "0")?;
    ns.ip(&["link", "set", "ra0", "up"])?;
    ns.ip(&["link", "set", "ra1", "up"])?;
    ns.ip(&["addr", "add", "fe80::1/64", "dev", "ra0", "nodad"])?;
    let clat = Daemon::start(
        &ns,
        &[
            "--plat-prefix",
            "auto",
            "--ra-interface",
            "ra1",
            "--dns-server",
            "127.0.0.1:9",
            "--clat-ipv6",
            "2001:db8:aaaa::1",
        ],
    )?;

    // No prefix yet: /healthz says so, and IPv4 gets ICMP unreachable.
    let health = run(
        ns.command("curl").args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://{METRICS}/healthz")]),
        SETTLE,
    )?;
    assert_eq!(String::from_utf8_lossy(&health.stdout), "503");
    let waiting = ipv4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, b"before-prefix"));
    let reply = probe(&ns, b"before-prefix", &[waiting])?;
    assert_eq!((reply[0] >> 4, reply[9], reply[20]), (4, 1, 3), "ICMPv4 Destination Unreachable back to the sender");

    let send_ra = |prefix: &str, lifetime: u64| -> Result<()> {
        let ra = xlat_pref64::build_ra_with_pref64(prefix.parse()?, Duration::from_secs(lifetime));
        run(ns.command("python3").args(["-c", SEND_RA, "ra0", "fe80::1", &hex(&ra)]), SETTLE).map(|_| ())
    };
    send_ra("2001:db8:64::/96", 600)?;
    wait_metric(&ns, "xlat_plat_prefix_info{prefix=\"2001:db8:64::/96\",source=\"ra\"}", 1)
        .map_err(|e| clat.explain(e))?;
    let health = run(
        ns.command("curl").args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://{METRICS}/healthz")]),
        SETTLE,
    )?;
    assert_eq!(String::from_utf8_lossy(&health.stdout), "200");
    let out =
        probe(&ns, b"with-first-prefix", &[ipv4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, b"with-first-prefix"))])?;
    assert_eq!(v6_at(&out, 24), "2001:db8:64::c633:6407".parse::<Ipv6Addr>()?);

    // Renumbering: the new prefix appears, the old one is withdrawn.
    send_ra("2001:db8:65::/96", 600)?;
    send_ra("2001:db8:64::/96", 0)?;
    wait_metric(&ns, "xlat_plat_prefix_info{prefix=\"2001:db8:65::/96\",source=\"ra\"}", 1)
        .map_err(|e| clat.explain(e))?;
    wait_metric(&ns, "xlat_plat_prefix_changes_total", 2)?;
    let out = probe(&ns, b"with-new-prefix", &[ipv4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, b"with-new-prefix"))])?;
    assert_eq!(v6_at(&out, 24), "2001:db8:65::c633:6407".parse::<Ipv6Addr>()?, "translated with the new prefix");
    assert!(clat.stop()?.success());
    Ok(())
}

#[test]
fn plat_prefix_from_rfc7050_dns_discovery() -> Result<()> {
    if !ready("plat_prefix_from_rfc7050_dns_discovery") {
        return Ok(());
    }
    let ns = namespace()?;
    let mut dns = ns
        .command("python3")
        .args(["-c", DNS64, "5353", "2001:db8:66::c000:aa", "2001:db8:66::c000:ab"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(dns.stdout.take().context("stdout")?), &mut line)?;
    let result = (|| -> Result<()> {
        assert_eq!(line.trim(), "ready");
        let clat = Daemon::start(
            &ns,
            &["--plat-prefix", "auto", "--dns-server", "127.0.0.1:5353", "--clat-ipv6", "2001:db8:aaaa::1"],
        )?;
        wait_metric(&ns, "xlat_plat_prefix_info{prefix=\"2001:db8:66::/96\",source=\"dns\"}", 1)
            .map_err(|e| clat.explain(e))?;
        assert!(clat.stop()?.success());
        Ok(())
    })();
    let _ = dns.kill();
    let _ = dns.wait();
    result
}

#[test]
fn sighup_reloads_the_eam_table() -> Result<()> {
    if !ready("sighup_reloads_the_eam_table") {
        return Ok(());
    }
    let ns = namespace()?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("clat.toml");
    let write = |eam: &[&str]| -> Result<()> {
        let mut f = std::fs::File::create(&file)?;
        let list: Vec<String> = eam.iter().map(|e| format!("\"{e}\"")).collect();
        writeln!(f, "pool6 = \"2001:db8:64::/96\"\neam = [{}]\n\n[clat]\nrouting-note = 1", list.join(", "))?;
        Ok(())
    };
    // First an unknown key in [clat]: one line, exit 2.
    write(&["192.0.0.1/32=2001:db8:aaaa::1/128"])?;
    let bad = ns.command(default_clat_binary()).args(["run", "--config"]).arg(&file).output()?;
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("routing-note"), "{stderr}");

    let config = |eam: &[&str]| -> Result<()> {
        let list: Vec<String> = eam.iter().map(|e| format!("\"{e}\"")).collect();
        std::fs::write(&file, format!("pool6 = \"2001:db8:64::/96\"\neam = [{}]\n", list.join(", ")))?;
        Ok(())
    };
    config(&["192.0.0.1/32=2001:db8:aaaa::1/128"])?;
    let file_arg = file.to_string_lossy().into_owned();
    let clat = Daemon::start(&ns, &["--config", &file_arg])?;
    let from2 = Ipv4Addr::new(192, 0, 0, 2);
    let pkt = |m: &[u8]| ipv4(from2, SERVER4, 17, &udp4(from2, SERVER4, m));
    let before = probe(&ns, b"before-reload", &[pkt(b"before-reload")])?;
    assert_eq!(v6_at(&before, 8), "2001:db8:64::c000:2".parse::<Ipv6Addr>()?, "192.0.0.2 through pool6 before");

    config(&["192.0.0.1/32=2001:db8:aaaa::1/128", "192.0.0.2/32=2001:db8:aaaa::2/128"])?;
    clat.signal("HUP")?;
    wait_metric(&ns, "xlat_config_reloads_total", 1).map_err(|e| clat.explain(e))?;
    let after = probe(&ns, b"after-reload", &[pkt(b"after-reload")])?;
    assert_eq!(v6_at(&after, 8), "2001:db8:aaaa::2".parse::<Ipv6Addr>()?, "through the new EAM entry after");

    // A broken file on SIGHUP keeps the running configuration.
    std::fs::write(&file, "pool6 = \"2001:db8:64::/33\"\n")?;
    clat.signal("HUP")?;
    let still = probe(&ns, b"after-bad-reload", &[pkt(b"after-bad-reload")])?;
    assert_eq!(v6_at(&still, 8), "2001:db8:aaaa::2".parse::<Ipv6Addr>()?);
    assert!(clat.stop()?.success());
    Ok(())
}

#[test]
fn idle_tun_counts_no_drops_and_routes_come_back_after_a_link_bounce() -> Result<()> {
    if !ready("idle_tun_counts_no_drops_and_routes_come_back_after_a_link_bounce") {
        return Ok(());
    }
    let ns = namespace()?;
    let clat = Daemon::start(&ns, &["--plat-prefix", "2001:db8:64::/96", "--clat-ipv6", "2001:db8:aaaa::1"])?;
    let routes = || -> Result<String> {
        let v4 = run(ns.command("ip").args(["route", "show", "dev", "clat"]), SETTLE)?;
        let v6 = run(ns.command("ip").args(["-6", "route", "show", "dev", "clat"]), SETTLE)?;
        Ok(format!("{}{}", String::from_utf8_lossy(&v4.stdout), String::from_utf8_lossy(&v6.stdout)))
    };
    let complete = |r: &str| r.contains("0.0.0.0/1") && r.contains("128.0.0.0/1") && r.contains("2001:db8:aaaa::1");
    assert!(complete(&routes()?), "routes installed at start: {}", routes()?);

    // While idle the only packets the kernel writes into the TUN are its
    // own MLD reports (joining ff02::2 once forwarding is on; the TUN has
    // no link-local address, so no router solicitations or DAD): at most a
    // few, counted as ipv6_reserved_address; nothing else is dropped.
    let m = metrics(&ns)?;
    let drops: Vec<(&str, u64)> = m
        .lines()
        .filter(|l| l.starts_with("xlat_drops_total"))
        .filter_map(|l| {
            let (name, v) = l.rsplit_once(' ')?;
            Some((name, v.parse().ok()?))
        })
        .filter(|(_, v)| *v > 0)
        .collect();
    for (name, v) in &drops {
        assert!(name.contains("ipv6_reserved_address") && *v <= 4, "drops with no traffic: {drops:?}");
    }
    let linklocal = run(ns.command("ip").args(["-6", "addr", "show", "dev", "clat"]), SETTLE)?;
    assert!(!String::from_utf8_lossy(&linklocal.stdout).contains("fe80"), "the TUN has no link-local address");

    ns.ip(&["link", "set", "clat", "down"])?;
    ns.ip(&["link", "set", "clat", "up"])?;
    wait_until(Duration::from_secs(15), "routes into the TUN back after the bounce", || {
        routes().ok().filter(|r| complete(r))
    })
    .map_err(|e| clat.explain(e))?;
    assert!(clat.stop()?.success());
    Ok(())
}
