//! `plat run` in a network namespace of its own (no lab): IPv6 packets from
//! an allowed client come out of the TUN as IPv4 from pool4 with one
//! consistent port mapping, and the replies go back; a client outside
//! `--clients` and a non-global IPv4 destination are refused with ICMPv6
//! "administratively prohibited"; the per-client limit answers "address
//! unreachable" and is counted; an unsolicited IPv4 SYN is answered with
//! ICMPv4 port unreachable after TCP_INCOMING_SYN; SIGHUP reloads the
//! client list; SIGTERM exits 0 and leaves no route behind.
//!
//! Packets are written into the TUN and read back from it with AF_PACKET
//! sockets (Python's standard library), so the daemon sees exactly the
//! bytes the test built. Needs root; skips with a message otherwise, and
//! fails when CI=true.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use xlat_lab::netns::{require_root, require_tool, run, wait_until, Netns};

const METRICS: &str = "127.0.0.1:9465";
const STARTUP: Duration = Duration::from_secs(15);
const SETTLE: Duration = Duration::from_secs(10);
const POOL4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const SERVER4: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);
const CLIENT: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 5);
const OUTSIDER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb9, 0, 0, 0, 0, 0, 1);

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

/// The `plat` binary: `XLAT_LAB_PLAT_BIN`, else next to this test
/// executable (`target/debug/`, one level up from `deps/`).
fn plat_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("XLAT_LAB_PLAT_BIN").filter(|b| !b.is_empty()) {
        return bin.into();
    }
    let exe = std::env::current_exe().ok();
    exe.iter()
        .flat_map(|e| e.ancestors().skip(1).take(2))
        .map(|dir| dir.join("plat"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("target/debug/plat"))
}

fn inet(data: &[u8], mut acc: u64) -> u16 {
    for c in data.chunks(2) {
        acc += u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn words(b: &[u8]) -> u64 {
    b.chunks(2).map(|c| u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum()
}

/// A UDP (17) or TCP (6) segment with a correct checksum for `pseudo`.
fn l4(proto: u8, sport: u16, dport: u16, payload: &[u8], pseudo: impl Fn(usize) -> u64) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    if proto == 17 {
        s.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        s.extend_from_slice(&[0, 0]);
    } else {
        // seq 1, ack 0, data offset 5, SYN, window 65535, checksum, urgent.
        s.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    }
    s.extend_from_slice(payload);
    let at = if proto == 17 { 6 } else { 16 };
    let c = inet(&s, pseudo(s.len()) + u64::from(proto));
    s[at..at + 2].copy_from_slice(&c.to_be_bytes());
    s
}

fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let seg = l4(proto, sport, dport, payload, |len| words(&src.octets()) + words(&dst.octets()) + len as u64);
    let mut p = vec![0x60, 0, 0, 0, 0, 0, proto, 64];
    p[4..6].copy_from_slice(&(seg.len() as u16).to_be_bytes());
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&seg);
    p
}

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let seg = l4(proto, sport, dport, payload, |len| words(&src.octets()) + words(&dst.octets()) + len as u64);
    let mut p = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0];
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&seg);
    let total = p.len() as u16;
    p[2..4].copy_from_slice(&total.to_be_bytes());
    let c = inet(&p[..20], 0);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

/// The PLAT prefix address of an IPv4 address (64:ff9b::/96).
fn nat64(v4: Ipv4Addr) -> Ipv6Addr {
    let o = v4.octets();
    Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, u16::from_be_bytes([o[0], o[1]]), u16::from_be_bytes([o[2], o[3]]))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

fn v6_at(p: &[u8], at: usize) -> Ipv6Addr {
    Ipv6Addr::from(<[u8; 16]>::try_from(&p[at..at + 16]).expect("16 bytes"))
}

fn v4_at(p: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(p[at], p[at + 1], p[at + 2], p[at + 3])
}

fn be16(p: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([p[at], p[at + 1]])
}

/// A running `plat run`, stopped (SIGKILL) if the test fails first.
struct Daemon {
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    fn start(ns: &Netns, args: &[&str]) -> Result<Self> {
        let log = std::env::temp_dir().join(format!("{}-plat.log", ns.name()));
        let out = std::fs::File::create(&log)?;
        let child = ns
            .command(plat_binary())
            .arg("run")
            .args(["--metrics-listen", METRICS])
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting plat run")?;
        let d = Self { child: Some(child), log };
        wait_until(STARTUP, "plat's /metrics endpoint", || metrics(ns).ok()).map_err(|e| d.explain(e))?;
        Ok(d)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn explain(&self, e: anyhow::Error) -> anyhow::Error {
        e.context(format!("plat log: {}", self.log()))
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
        wait_until(SETTLE, "plat to exit after SIGTERM", || child.try_wait().ok().flatten())
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

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

/// Waits until `series` reaches at least `min`.
fn wait_metric(ns: &Netns, series: &str, min: f64) -> Result<f64> {
    wait_until(SETTLE, series, || metrics(ns).ok().and_then(|m| metric(&m, series)).filter(|v| *v >= min))
}

/// Writes `packets` into the TUN and returns the first packet out of it
/// containing `marker`, waiting at most `within`.
fn probe_within(ns: &Netns, marker: &[u8], packets: &[Vec<u8>], within: Duration) -> Result<Vec<u8>> {
    let mut cmd = ns.command("python3");
    cmd.args(["-c", PROBE, "plat", &hex(marker), &within.as_secs_f64().to_string()])
        .args(packets.iter().map(|p| hex(p)));
    let out = run(&mut cmd, within + SETTLE)?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if text == "MISSING" || text.is_empty() {
        bail!("no packet with marker {} came out of the TUN", hex(marker));
    }
    Ok(unhex(&text))
}

fn probe(ns: &Netns, marker: &[u8], packets: &[Vec<u8>]) -> Result<Vec<u8>> {
    probe_within(ns, marker, packets, Duration::from_secs(5))
}

fn ready(test: &str) -> bool {
    require_root(test) && require_tool(test, "python3") && require_tool(test, "curl") && require_tool(test, "ip")
}

const BASE: [&str; 8] = [
    "--pool6",
    "64:ff9b::/96",
    "--pool4",
    "198.51.100.1",
    "--clients",
    "2001:db8:1::/48",
    "--client-granularity",
    "128",
];

fn routes(ns: &Netns) -> Result<String> {
    let v4 = run(ns.command("ip").args(["route", "show"]), SETTLE)?;
    let v6 = run(ns.command("ip").args(["-6", "route", "show"]), SETTLE)?;
    Ok(format!("{}{}", String::from_utf8_lossy(&v4.stdout), String::from_utf8_lossy(&v6.stdout)))
}

#[test]
fn client_traffic_maps_through_pool4_and_refusals_follow_rfc6146() -> Result<()> {
    if !ready("client_traffic_maps_through_pool4_and_refusals_follow_rfc6146") {
        return Ok(());
    }
    let ns = Netns::new()?;
    let mut args = BASE.to_vec();
    args.extend(["--max-sessions-per-client", "3", "--mapping-log", "true"]);
    let plat = Daemon::start(&ns, &args)?;
    let installed = routes(&ns)?;
    assert!(installed.contains("64:ff9b::/96 dev plat"), "pool6 routed into the TUN: {installed}");
    assert!(installed.contains("198.51.100.1 dev plat"), "pool4 routed into the TUN: {installed}");

    // An allowed client: out as IPv4 from pool4.
    let server6 = nat64(SERVER4);
    let out = probe(&ns, b"first-flow", &[ipv6_udp(CLIENT, server6, 5000, 53, b"first-flow")])
        .map_err(|e| plat.explain(e))?;
    assert_eq!(out[0] >> 4, 4, "IPv4");
    assert_eq!((v4_at(&out, 12), v4_at(&out, 16)), (POOL4, SERVER4));
    let port = be16(&out, 20);
    assert_eq!(be16(&out, 22), 53);
    assert!(port >= 1024);
    assert_eq!(inet(&out[..20], 0), 0, "IPv4 header checksum");
    // The same flow keeps its port.
    let again = probe(&ns, b"same-flow", &[ipv6_udp(CLIENT, server6, 5000, 53, b"same-flow")])?;
    assert_eq!(be16(&again, 20), port, "consistent mapping");
    // The reply comes back to the client.
    let back = probe(&ns, b"the-reply", &[ipv4(SERVER4, POOL4, 17, 53, port, b"the-reply")])?;
    assert_eq!(back[0] >> 4, 6, "IPv6");
    assert_eq!((v6_at(&back, 8), v6_at(&back, 24)), (server6, CLIENT));
    assert_eq!((be16(&back, 40), be16(&back, 42)), (53, 5000));

    // Default deny: a client outside --clients.
    let refused = probe(&ns, b"outsider", &[ipv6_udp(OUTSIDER, server6, 5000, 53, b"outsider")])?;
    assert_eq!((refused[6], refused[40], refused[41]), (58, 1, 1), "ICMPv6 administratively prohibited");
    assert_eq!(v6_at(&refused, 24), OUTSIDER);
    // A non-global IPv4 destination.
    let private = nat64(Ipv4Addr::new(10, 0, 0, 1));
    let refused = probe(&ns, b"to-private", &[ipv6_udp(CLIENT, private, 5001, 53, b"to-private")])?;
    assert_eq!((refused[40], refused[41]), (1, 1));
    wait_metric(&ns, "plat_nat64_drops_total{reason=\"client_not_allowed\"}", 1.0)?;
    wait_metric(&ns, "plat_nat64_drops_total{reason=\"destination_not_global\"}", 1.0)?;

    // The per-client limit (3): two more flows fit, the next one does not.
    for (p, m) in [(6001u16, &b"limit-1"[..]), (6002, b"limit-2")] {
        let out = probe(&ns, m, &[ipv6_udp(CLIENT, server6, p, 53, m)])?;
        assert_eq!(out[0] >> 4, 4, "{}", String::from_utf8_lossy(m));
    }
    let over = probe(&ns, b"limit-3", &[ipv6_udp(CLIENT, server6, 6003, 53, b"limit-3")])?;
    assert_eq!((over[40], over[41]), (1, 3), "ICMPv6 address unreachable");
    wait_metric(&ns, "plat_limit_hits_total{limit=\"sessions_per_client\"}", 1.0).map_err(|e| plat.explain(e))?;
    let m = metrics(&ns)?;
    assert_eq!(metric(&m, "plat_sessions{proto=\"udp\"}"), Some(3.0), "{m}");
    let util = metric(&m, "plat_pool4_utilization_percent{address=\"198.51.100.1\",proto=\"udp\"}").unwrap_or(0.0);
    assert!(util > 0.0, "pool4 utilisation reported: {m}");
    assert!(metric(&m, "xlat_packets_total{direction=\"ipv6_to_ipv4\"}").unwrap_or(0.0) >= 4.0, "{m}");
    let health = run(
        ns.command("curl").args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://{METRICS}/healthz")]),
        SETTLE,
    )?;
    assert_eq!(String::from_utf8_lossy(&health.stdout), "200");
    wait_until(SETTLE, "the mapping log line", || plat.log().contains("bib created").then_some(()))
        .map_err(|e| plat.explain(e))?;
    assert!(plat.log().contains("plat starting"), "one startup line of the effective configuration");

    // SIGTERM: exit 0, and no route into the TUN is left.
    let status = plat.stop()?;
    assert!(status.success(), "plat exited with {status}");
    let left = routes(&ns)?;
    assert!(!left.contains("dev plat"), "routes left behind: {left}");
    Ok(())
}

fn ipv6_udp(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    ipv6(src, dst, 17, sport, dport, payload)
}

#[test]
fn unsolicited_ipv4_syn_gets_port_unreachable_after_the_incoming_syn_timeout() -> Result<()> {
    if !ready("unsolicited_ipv4_syn_gets_port_unreachable_after_the_incoming_syn_timeout") {
        return Ok(());
    }
    let ns = Netns::new()?;
    let plat = Daemon::start(&ns, &BASE)?;
    // RFC 6146 §3.5.2.2: held TCP_INCOMING_SYN (6 s), then ICMPv4 3/3
    // quoting it (the marker rides in the SYN's payload).
    let syn = ipv4(SERVER4, POOL4, 6, 443, 4000, b"held-syn");
    let err = probe_within(&ns, b"held-syn", &[syn], Duration::from_secs(12)).map_err(|e| plat.explain(e))?;
    assert_eq!((err[9], err[20], err[21]), (1, 3, 3), "ICMPv4 port unreachable");
    assert_eq!((v4_at(&err, 12), v4_at(&err, 16)), (POOL4, SERVER4));
    wait_metric(&ns, "plat_icmp_errors_sent_total{cause=\"held_syn_timeout\"}", 1.0)?;
    assert!(plat.stop()?.success());
    Ok(())
}

#[test]
fn sighup_reloads_the_client_list() -> Result<()> {
    if !ready("sighup_reloads_the_client_list") {
        return Ok(());
    }
    let ns = Netns::new()?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("plat.toml");
    let config = |clients: &str| {
        std::fs::write(
            &file,
            format!("pool6 = \"64:ff9b::/96\"\n\n[plat]\npool4 = [\"198.51.100.1\"]\nclients = [{clients}]\n"),
        )
    };
    config("\"2001:db8:1::/48\"")?;
    let file_arg = file.to_string_lossy().into_owned();
    let plat = Daemon::start(&ns, &["--config", &file_arg, "--no-configure"])?;
    let server6 = nat64(SERVER4);
    let before = probe(&ns, b"before-reload", &[ipv6_udp(OUTSIDER, server6, 1, 53, b"before-reload")])?;
    assert_eq!((before[40], before[41]), (1, 1), "refused before");
    config("\"2001:db8:1::/48\", \"2001:db9::/32\"")?;
    plat.signal("HUP")?;
    wait_metric(&ns, "xlat_config_reloads_total", 1.0).map_err(|e| plat.explain(e))?;
    let after = probe(&ns, b"after-reload", &[ipv6_udp(OUTSIDER, server6, 1, 53, b"after-reload")])?;
    assert_eq!((after[0] >> 4, v4_at(&after, 12)), (4, POOL4), "allowed after");
    // A broken file on SIGHUP keeps the running configuration.
    std::fs::write(&file, "pool6 = \"64:ff9b::/33\"\n")?;
    plat.signal("HUP")?;
    let still = probe(&ns, b"after-bad", &[ipv6_udp(OUTSIDER, server6, 2, 53, b"after-bad")])?;
    assert_eq!(still[0] >> 4, 4);
    // --no-configure: no route was installed.
    assert!(!routes(&ns)?.contains("dev plat"));
    assert!(plat.stop()?.success());
    Ok(())
}

#[test]
fn bad_settings_exit_2_with_one_line() -> Result<()> {
    let out = Command::new(plat_binary())
        .args(["run", "--pool6", "64:ff9b::/96", "--pool4", "198.51.100.1", "--clients", "2001:db8::/32"])
        .args(["--tun-name", "a-name-that-is-far-too-long"])
        .output();
    let Ok(out) = out else {
        // The binary is built with the workspace; nothing to check without it.
        return Ok(());
    };
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    assert!(e.contains("--tun-name (XLAT_TUN_NAME)"), "{e}");
    Ok(())
}

#[test]
fn routes_come_back_after_a_link_bounce() -> Result<()> {
    if !ready("routes_come_back_after_a_link_bounce") {
        return Ok(());
    }
    let ns = Netns::new()?;
    let plat = Daemon::start(&ns, &BASE)?;
    let complete = |r: &str| r.contains("64:ff9b::/96 dev plat") && r.contains("198.51.100.1 dev plat");
    let at_start = routes(&ns)?;
    assert!(complete(&at_start), "pool6 and pool4 routed into the TUN at start:\n{at_start}");
    // The kernel removes a link's routes when it goes down; the daemon
    // puts them back within its re-check period.
    ns.ip(&["link", "set", "plat", "down"])?;
    ns.ip(&["link", "set", "plat", "up"])?;
    wait_until(Duration::from_secs(15), "pool6 and pool4 routes back after the bounce", || {
        routes(&ns).ok().filter(|r| complete(r))
    })
    .map_err(|e| plat.explain(e))?;
    assert!(plat.stop()?.success());
    assert!(!routes(&ns)?.contains("dev plat"), "routes removed on exit");
    Ok(())
}
