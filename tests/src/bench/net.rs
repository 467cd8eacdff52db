//! The benchmark's namespaces and the translators it starts in them.
//!
//! ```text
//!  client                 a (customer side)          b (provider side)          server
//!  eth0 192.0.0.1/30 ---- cli0 192.0.0.2/30
//!       2001:db8:6::10         2001:db8:6::1
//!                         b0 203.0.113.65/30 ------- a0 203.0.113.66/30
//!                            2001:db8:1::1              2001:db8:1::2
//!                         [CLAT: TUN "clat"]          srv0 198.51.100.1/24 ---- eth0 198.51.100.7/24
//!                                                          2001:db8:46::1/64         2001:db8:46::c633:6407/64
//!                                                     [PLAT: TUN "nat64"]
//! ```
//!
//! The server has one address per family, so that iperf3's UDP replies
//! (from a socket bound to `::`) leave from the address the client sent to.
//!
//! Every path crosses `a` and `b`; a translator takes the place of plain
//! forwarding in one of them (or both, for the chain):
//!
//! - kernel IPv4: 192.0.0.1 -> 198.51.100.7, `a` and `b` forward.
//! - kernel IPv6: 2001:db8:6::10 -> 2001:db8:46::c633:6407 (the server's
//!   IPv6 address, the same leg the CLAT's output takes).
//! - CLAT: 192.0.0.1 -> 198.51.100.7; the CLAT in `a` maps 192.0.0.1 to
//!   2001:db8:aaaa::1 and 198.51.100.7 into 2001:db8:46::/96 (the server's
//!   NAT64 prefix: the documentation range is not global, so the
//!   Well-Known Prefix 64:ff9b::/96 would refuse it, RFC 6052 §3.1);
//!   `b` forwards IPv6 to the server.
//! - PLAT: 2001:db8:6::10 -> 2001:db8:64::c633:6407; `a` forwards, the
//!   stateful NAT64 in `b` maps the client to pool4 203.0.113.128/30.
//! - chain: 192.0.0.1 -> 198.51.100.7 through the CLAT in `a` (PLAT prefix
//!   2001:db8:64::/96) and the PLAT in `b`.
//!
//! TAYGA takes the same places: as the CLAT (`map 192.0.0.1
//! 2001:db8:aaaa::1`, its own address 192.0.0.5) and as the PLAT, where it
//! is stateless (each IPv6 client gets an address of its dynamic pool
//! 203.0.113.192/26) and the kernel's NAT44 (nftables, in `b`) shares
//! pool4 203.0.113.128/30 between them, as TAYGA is deployed for NAT64.
//! Nothing is configured in the root namespace.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use super::watchdog;
use super::Scenario;
use crate::lab::metrics::{http_get, Metrics};
use crate::lab::process::{run_any, Daemon};
use crate::netns::{find_tool, run, wait_until, Netns};

/// How long a translator may take to come up (TUN, routes, first ping).
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a translator may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of the short configuration commands (`ip`, `nft`, `sysctl`).
const CONFIG_TIMEOUT: Duration = Duration::from_secs(10);

/// A namespace of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The iperf3 and ping client (IPv4 and IPv6 addresses).
    Client,
    /// The customer side: forwards, or runs the CLAT.
    A,
    /// The provider side: forwards, or runs the PLAT.
    B,
    /// The iperf3 server (IPv4 and IPv6 addresses).
    Server,
}

impl Role {
    const ALL: [Role; 4] = [Role::Client, Role::A, Role::B, Role::Server];

    fn index(self) -> usize {
        self as usize
    }
}

/// The client's IPv4 address (also the CLAT's IPv4 address: RFC 6877
/// single-address mode without the router's NAT44 in front).
pub const CLIENT_V4: &str = "192.0.0.1";
/// The client's IPv6 address (a client of the PLAT).
pub const CLIENT_V6: &str = "2001:db8:6::10";
/// The server's IPv4 address.
pub const SERVER_V4: &str = "198.51.100.7";
/// The server's IPv6 address: 198.51.100.7 in the CLAT-alone prefix.
pub const SERVER_V6: &str = "2001:db8:46::c633:6407";
/// 198.51.100.7 in the PLAT prefix: the PLAT translates it.
pub const SERVER_VIA_PLAT: &str = "2001:db8:64::c633:6407";
/// The prefix the CLAT uses when it runs alone (the server owns an
/// address in it).
pub const CLAT_ALONE_PREFIX: &str = "2001:db8:46::/96";
/// The PLAT's prefix (pool6).
pub const PLAT_PREFIX: &str = "2001:db8:64::/96";
/// The CLAT's IPv6 address.
pub const CLAT_V6: &str = "2001:db8:aaaa::1";
/// Our PLAT's pool4, and the NAT44 pool in front of TAYGA.
pub const POOL4: &str = "203.0.113.128/30";
/// TAYGA's dynamic pool as the PLAT (NAT44 then maps it to [`POOL4`]).
const TAYGA_POOL: &str = "203.0.113.192/26";
/// TAYGA's own IPv4 address as the PLAT.
const TAYGA_PLAT_V4: &str = "203.0.113.1";
/// TAYGA's own IPv4 address as the CLAT.
const TAYGA_CLAT_V4: &str = "192.0.0.5";
/// Our CLAT's `/metrics` (in `a`).
const CLAT_METRICS: &str = "192.0.0.2:9464";
/// Our PLAT's `/metrics` (in `b`).
pub const PLAT_METRICS: &str = "[2001:db8:1::2]:9465";
/// TUN of the CLAT (in `a`).
pub const CLAT_TUN: &str = "clat";
/// TUN of the PLAT (in `b`).
pub const PLAT_TUN: &str = "nat64";
/// The nftables table holding the NAT44 in front of TAYGA.
const NFT_TABLE: &str = "xlatbench";

/// Which binaries and settings the translators get.
#[derive(Debug, Clone)]
pub struct Translators {
    /// Our `clat`.
    pub clat_bin: PathBuf,
    /// Our `plat`.
    pub plat_bin: PathBuf,
    /// `XLAT_WORKERS` of both.
    pub workers: u16,
    /// `XLAT_OFFLOAD` passed through from the environment, if set.
    pub offload: Option<String>,
}

/// One running translator: what it is, its process, its TUN.
#[derive(Debug)]
pub struct Running {
    /// E.g. `clat (ours)`.
    pub what: String,
    /// The process.
    pub daemon: Daemon,
    /// Its namespace.
    pub role: Role,
    /// Its TUN.
    pub tun: &'static str,
}

/// The translators of a started scenario, and what to undo when it stops.
#[derive(Debug, Default)]
pub struct Started {
    /// The translators (none for kernel forwarding).
    pub translators: Vec<Running>,
    nat44: bool,
}

impl Started {
    /// Process ids of the translators.
    #[must_use]
    pub fn pids(&self) -> Vec<u32> {
        self.translators.iter().map(|r| r.daemon.pid()).collect()
    }
}

/// The benchmark's four namespaces, their links and the iperf3 server;
/// torn down when dropped, and by the watchdog if this process dies.
#[derive(Debug)]
pub struct Net {
    watchdog: u64,
    ns: Vec<Netns>,
    dir: Option<tempfile::TempDir>,
    iperf: Option<Daemon>,
}

impl Net {
    /// Builds the namespaces, links, addresses and routes, and starts the
    /// iperf3 server.
    pub fn build() -> Result<Self> {
        let mut net = Self { watchdog: watchdog::arm()?, ns: Vec::new(), dir: None, iperf: None };
        let dir = tempfile::Builder::new().prefix("xl-lab-bench-").tempdir().context("creating a scratch directory")?;
        watchdog::watch_dir(net.watchdog, dir.path())?;
        net.dir = Some(dir);
        for _ in Role::ALL {
            let ns = Netns::new()?;
            let watched = watchdog::watch_ns(net.watchdog, ns.name());
            net.ns.push(ns);
            watched?;
        }
        net.configure()?;
        net.start_iperf()?;
        Ok(net)
    }

    /// The namespace of `role`.
    #[must_use]
    pub fn ns(&self, role: Role) -> &Netns {
        &self.ns[role.index()]
    }

    /// One line: role = namespace name.
    #[must_use]
    pub fn describe(&self) -> String {
        let names = ["client", "a", "b", "server"];
        names.iter().zip(&self.ns).map(|(r, ns)| format!("{r}={}", ns.name())).collect::<Vec<_>>().join(" ")
    }

    fn workdir(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new("/tmp"), |d| d.path())
    }

    fn ip(&self, role: Role, args: &[&str]) -> Result<()> {
        self.ns(role).ip(args).with_context(|| format!("ip {}", args.join(" ")))
    }

    fn addr(&self, role: Role, dev: &str, addr: &str) -> Result<()> {
        if addr.contains(':') {
            self.ip(role, &["-6", "addr", "add", addr, "dev", dev, "nodad"])
        } else {
            self.ip(role, &["addr", "add", addr, "dev", dev])
        }
    }

    /// A veth pair created inside the two namespaces, both ends up.
    fn link(&self, a: Role, a_if: &str, b: Role, b_if: &str) -> Result<()> {
        let mut cmd = Command::new("ip");
        cmd.args(["link", "add", a_if, "netns", self.ns(a).name(), "type", "veth", "peer", "name", b_if]);
        cmd.args(["netns", self.ns(b).name()]);
        run(&mut cmd, CONFIG_TIMEOUT).with_context(|| format!("veth {a_if} <-> {b_if}"))?;
        self.ip(a, &["link", "set", a_if, "up"])?;
        self.ip(b, &["link", "set", b_if, "up"])
    }

    fn sysctl(&self, role: Role, kv: &[(&str, &str)]) -> Result<()> {
        let mut cmd = self.ns(role).command("sysctl");
        cmd.args(["-q", "-w"]).args(kv.iter().map(|(k, v)| format!("{k}={v}")));
        run(&mut cmd, CONFIG_TIMEOUT).context("sysctl").map(drop)
    }

    fn configure(&self) -> Result<()> {
        use Role::*;
        for role in Role::ALL {
            let fwd = if matches!(role, A | B) { "1" } else { "0" };
            self.sysctl(
                role,
                &[
                    ("net.ipv4.ip_forward", fwd),
                    ("net.ipv6.conf.all.forwarding", fwd),
                    ("net.ipv4.conf.all.rp_filter", "0"),
                    ("net.ipv4.conf.default.rp_filter", "0"),
                    ("net.ipv4.icmp_ratelimit", "0"),
                    ("net.ipv6.icmp.ratelimit", "0"),
                ],
            )?;
        }
        self.link(Client, "eth0", A, "cli0")?;
        self.link(A, "b0", B, "a0")?;
        self.link(B, "srv0", Server, "eth0")?;

        self.addr(Client, "eth0", "192.0.0.1/30")?;
        self.addr(Client, "eth0", "2001:db8:6::10/64")?;
        self.ip(Client, &["route", "add", "default", "via", "192.0.0.2"])?;
        self.ip(Client, &["-6", "route", "add", "default", "via", "2001:db8:6::1"])?;

        self.addr(A, "cli0", "192.0.0.2/30")?;
        self.addr(A, "cli0", "2001:db8:6::1/64")?;
        self.addr(A, "b0", "203.0.113.65/30")?;
        self.addr(A, "b0", "2001:db8:1::1/64")?;
        self.ip(A, &["route", "add", "default", "via", "203.0.113.66"])?;
        self.ip(A, &["-6", "route", "add", "default", "via", "2001:db8:1::2"])?;

        self.addr(B, "a0", "203.0.113.66/30")?;
        self.addr(B, "a0", "2001:db8:1::2/64")?;
        self.addr(B, "srv0", "198.51.100.1/24")?;
        self.addr(B, "srv0", "2001:db8:46::1/64")?;
        self.ip(B, &["route", "add", "192.0.0.0/30", "via", "203.0.113.65"])?;
        self.ip(B, &["-6", "route", "add", "2001:db8:6::/64", "via", "2001:db8:1::1"])?;
        self.ip(B, &["-6", "route", "add", "2001:db8:aaaa::/64", "via", "2001:db8:1::1"])?;

        self.addr(Server, "eth0", "198.51.100.7/24")?;
        self.addr(Server, "eth0", &format!("{SERVER_V6}/64"))?;
        self.ip(Server, &["route", "add", "default", "via", "198.51.100.1"])?;
        self.ip(Server, &["-6", "route", "add", "default", "via", "2001:db8:46::1"])
    }

    fn start_iperf(&mut self) -> Result<()> {
        if let Some(mut old) = self.iperf.take() {
            let _ = old.terminate(STOP_TIMEOUT);
        }
        let mut cmd = self.ns(Role::Server).command("iperf3");
        // Both families (a dual-stack socket); one test at a time.
        cmd.args(["-s"]);
        let mut daemon = Daemon::spawn("iperf3 server", cmd)?;
        let addr: std::net::SocketAddr = format!("{SERVER_V4}:5201").parse()?;
        let ns = self.ns(Role::Server);
        wait_until(Duration::from_secs(10), "the iperf3 server to listen", || {
            if let Some(status) = daemon.exited() {
                return Some(Err(anyhow::anyhow!("iperf3 -s exited ({status}): {}", daemon.log())));
            }
            ns.enter(|| Ok(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))?))
                .ok()
                .map(|_| Ok(()))
        })??;
        self.iperf = Some(daemon);
        Ok(())
    }

    /// Restarts the iperf3 server (after a failed test: it may be stuck
    /// in the old one).
    pub fn restart_iperf(&mut self) -> Result<()> {
        self.start_iperf()
    }

    /// Starts the translators of `scenario` and waits (bounded) until a
    /// ping crosses the path.
    pub fn start(&self, scenario: Scenario, t: &Translators) -> Result<Started> {
        let mut started = Started::default();
        let r = self.start_into(scenario, t, &mut started);
        match r {
            Ok(()) => Ok(started),
            Err(e) => {
                let logs = started
                    .translators
                    .iter()
                    .map(|r| format!("--- {}:\n{}", r.what, tail(&r.daemon.log(), 30)))
                    .collect::<Vec<_>>()
                    .join("\n");
                self.stop(started);
                Err(e.context(logs))
            }
        }
    }

    fn start_into(&self, scenario: Scenario, t: &Translators, started: &mut Started) -> Result<()> {
        use Scenario::*;
        match scenario {
            Kernel4 | Kernel6 => {}
            Clat => started.translators.push(self.spawn_clat(t, CLAT_ALONE_PREFIX)?),
            Plat => started.translators.push(self.spawn_plat(t, &[])?),
            Chain => {
                started.translators.push(self.spawn_plat(t, &[])?);
                started.translators.push(self.spawn_clat(t, PLAT_PREFIX)?);
            }
            TaygaClat => started.translators.push(self.spawn_tayga_clat(CLAT_ALONE_PREFIX)?),
            TaygaPlat => {
                started.nat44 = true;
                started.translators.push(self.spawn_tayga_plat()?);
            }
            TaygaChain => {
                started.nat44 = true;
                started.translators.push(self.spawn_tayga_plat()?);
                started.translators.push(self.spawn_tayga_clat(PLAT_PREFIX)?);
            }
        }
        self.wait_path(scenario, started)
    }

    /// Our PLAT in `b`, with `extra` settings (`XLAT_*` pairs).
    pub fn spawn_plat(&self, t: &Translators, extra: &[(&str, String)]) -> Result<Running> {
        let workers = t.workers.to_string();
        let mut env = vec![
            ("XLAT_TUN_NAME", PLAT_TUN.to_owned()),
            ("XLAT_POOL6", PLAT_PREFIX.to_owned()),
            ("XLAT_POOL4", POOL4.to_owned()),
            ("XLAT_CLIENTS", "2001:db8:6::/64,2001:db8:aaaa::/64".to_owned()),
            ("XLAT_ALLOW_V4", "198.51.100.0/24".to_owned()),
            ("XLAT_METRICS_LISTEN", PLAT_METRICS.to_owned()),
            ("XLAT_WORKERS", workers),
        ];
        env.extend(extra.iter().cloned());
        let cmd = daemon_command(self.ns(Role::B), &t.plat_bin, &env, t.offload.as_deref());
        let daemon = Daemon::spawn("plat (ours)", cmd)?;
        let running = Running { what: "plat (ours)".into(), daemon, role: Role::B, tun: PLAT_TUN };
        self.wait_route(running, "-6", PLAT_PREFIX)
    }

    fn spawn_clat(&self, t: &Translators, prefix: &str) -> Result<Running> {
        let env = vec![
            ("XLAT_TUN_NAME", CLAT_TUN.to_owned()),
            ("XLAT_PLAT_PREFIX", prefix.to_owned()),
            ("XLAT_CLAT_IPV4", CLIENT_V4.to_owned()),
            ("XLAT_CLAT_IPV6", CLAT_V6.to_owned()),
            ("XLAT_ROUTES_V4", format!("{SERVER_V4}/32")),
            ("XLAT_METRICS_LISTEN", CLAT_METRICS.to_owned()),
            ("XLAT_WORKERS", t.workers.to_string()),
        ];
        let cmd = daemon_command(self.ns(Role::A), &t.clat_bin, &env, t.offload.as_deref());
        let daemon = Daemon::spawn("clat (ours)", cmd)?;
        let running = Running { what: "clat (ours)".into(), daemon, role: Role::A, tun: CLAT_TUN };
        self.wait_route(running, "-4", SERVER_V4)
    }

    /// Waits until the daemon has routed `dst` into its TUN.
    fn wait_route(&self, mut running: Running, family: &str, dst: &str) -> Result<Running> {
        let ns = self.ns(running.role);
        let tun = running.tun;
        let r = wait_until(START_TIMEOUT, &format!("{}'s route to {dst}", running.what), || {
            if let Some(status) = running.daemon.exited() {
                return Some(Err(anyhow::anyhow!("exited ({status})")));
            }
            let out = run(ns.command("ip").args([family, "route", "show", dst]), CONFIG_TIMEOUT).ok()?;
            String::from_utf8_lossy(&out.stdout).contains(tun).then_some(Ok(()))
        });
        match r.and_then(|r| r) {
            Ok(()) => Ok(running),
            Err(e) => {
                let log = running.daemon.log();
                let _ = running.daemon.terminate(STOP_TIMEOUT);
                Err(e.context(format!("{}: {}", running.what, tail(&log, 30))))
            }
        }
    }

    fn spawn_tayga(&self, role: Role, what: &str, conf: String) -> Result<Running> {
        let dir = tempfile::Builder::new().prefix("tayga-").tempdir_in(self.workdir())?.keep();
        let conf = conf.replace("DATA_DIR", &dir.display().to_string());
        let path = dir.join("tayga.conf");
        std::fs::write(&path, conf)?;
        let mut cmd = self.ns(role).command(find_tool("tayga").context("tayga is not installed")?);
        cmd.arg("--nodetach").arg("--config").arg(&path);
        let mut daemon = Daemon::spawn(what, cmd)?;
        let tun = if role == Role::A { CLAT_TUN } else { PLAT_TUN };
        let ns = self.ns(role);
        let r = wait_until(START_TIMEOUT, &format!("TUN {tun} of {what}"), || {
            if let Some(status) = daemon.exited() {
                return Some(Err(anyhow::anyhow!("{what} exited ({status}): {}", daemon.log())));
            }
            ns.ifindex(tun).map(|_| Ok(()))
        });
        if let Err(e) = r.and_then(|r| r) {
            let _ = daemon.terminate(STOP_TIMEOUT);
            return Err(e);
        }
        self.ip(role, &["link", "set", tun, "up"])?;
        Ok(Running { what: what.to_owned(), daemon, role, tun })
    }

    /// TAYGA as the CLAT in `a`; the routes `clat run` adds itself.
    fn spawn_tayga_clat(&self, prefix: &str) -> Result<Running> {
        let conf = format!(
            "tun-device {CLAT_TUN}\nipv4-addr {TAYGA_CLAT_V4}\nprefix {prefix}\nmap {CLIENT_V4} {CLAT_V6}\ndata-dir DATA_DIR\n"
        );
        let running = self.spawn_tayga(Role::A, "tayga (CLAT)", conf)?;
        self.ip(Role::A, &["route", "add", &format!("{SERVER_V4}/32"), "dev", CLAT_TUN])?;
        self.ip(Role::A, &["-6", "route", "add", &format!("{CLAT_V6}/128"), "dev", CLAT_TUN])?;
        Ok(running)
    }

    /// TAYGA as the PLAT in `b` (stateless, dynamic pool) behind the
    /// kernel's NAT44 to pool4.
    fn spawn_tayga_plat(&self) -> Result<Running> {
        let conf = format!(
            "tun-device {PLAT_TUN}\nipv4-addr {TAYGA_PLAT_V4}\nprefix {PLAT_PREFIX}\ndynamic-pool {TAYGA_POOL}\ndata-dir DATA_DIR\n"
        );
        let running = self.spawn_tayga(Role::B, "tayga (PLAT)", conf)?;
        self.ip(Role::B, &["route", "add", TAYGA_POOL, "dev", PLAT_TUN])?;
        self.ip(Role::B, &["route", "add", &format!("{TAYGA_PLAT_V4}/32"), "dev", PLAT_TUN])?;
        self.ip(Role::B, &["-6", "route", "add", PLAT_PREFIX, "dev", PLAT_TUN])?;
        let (first, last) = ("203.0.113.128", "203.0.113.131");
        let ns = self.ns(Role::B);
        ns.exec(&["nft", &format!("add table ip {NFT_TABLE}")])?;
        ns.exec(&["nft", &format!("add chain ip {NFT_TABLE} post {{ type nat hook postrouting priority srcnat ; }}")])?;
        let rule = format!("add rule ip {NFT_TABLE} post ip saddr {TAYGA_POOL} oifname srv0 snat to {first}-{last}");
        ns.exec(&["nft", &rule])?;
        Ok(running)
    }

    /// Polls a one-packet ping from the client to the scenario's target.
    fn wait_path(&self, scenario: Scenario, started: &mut Started) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            for r in &mut started.translators {
                if let Some(status) = r.daemon.exited() {
                    bail!("{} exited ({status})", r.what);
                }
            }
            let mut cmd = self.ns(Role::Client).command("ping");
            cmd.args(["-n", "-c", "1", "-W", "1", scenario.target()]);
            if run_any(&mut cmd, Duration::from_secs(5)).is_ok_and(|o| o.status.success()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("no ping from the client reached {} within {START_TIMEOUT:?}", scenario.target());
            }
        }
    }

    /// Stops the translators (SIGTERM, bounded) and removes what the
    /// scenario added; waits until their TUNs are gone.
    pub fn stop(&self, started: Started) {
        for mut r in started.translators {
            let _ = r.daemon.terminate(STOP_TIMEOUT);
            let ns = self.ns(r.role);
            let _ =
                wait_until(STOP_TIMEOUT, &format!("TUN {} to go", r.tun), || ns.ifindex(r.tun).is_none().then_some(()));
        }
        if started.nat44 {
            let _ = self.ns(Role::B).exec(&["nft", &format!("delete table ip {NFT_TABLE}")]);
        }
    }

    /// Packets the TUN `tun` in `role` has received and sent so far (0 if
    /// it does not exist).
    #[must_use]
    pub fn tun_packets(&self, role: Role, tun: &str) -> u64 {
        let out = match run(
            Command::new("ip").args(["-n", self.ns(role).name(), "-s", "-j", "link", "show", "dev", tun]),
            CONFIG_TIMEOUT,
        ) {
            Ok(o) => o,
            Err(_) => return 0,
        };
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let stats = &v[0]["stats64"];
        ["rx", "tx"].iter().filter_map(|d| stats[d]["packets"].as_u64()).sum()
    }

    /// The `xlat_tun_offload` gauge of our translator in `role` (`a`: the
    /// CLAT, `b`: the PLAT), if it runs and has one.
    #[must_use]
    pub fn offload_gauge(&self, role: Role) -> Option<f64> {
        let addr = if role == Role::A { CLAT_METRICS } else { PLAT_METRICS };
        let (status, body) = http_get(self.ns(role), addr.parse().ok()?, "/metrics").ok()?;
        if status != 200 {
            return None;
        }
        Metrics::parse(&body).ok()?.get("xlat_tun_offload")
    }

    /// Adds `blackhole PREFIX` in `b` (destinations of the session test).
    pub fn blackhole(&self, prefix: &str, add: bool) -> Result<()> {
        self.ip(Role::B, &["route", if add { "add" } else { "del" }, "blackhole", prefix])
    }

    /// A scratch file path.
    #[must_use]
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.workdir().join(name)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let id = self.watchdog;
        watchdog::disarm_after(id, || {
            if let Some(mut d) = self.iperf.take() {
                let _ = d.terminate(STOP_TIMEOUT);
            }
            self.ns.clear();
            drop(self.dir.take());
        });
    }
}

/// `ip netns exec NS BIN run` with exactly the `XLAT_*` settings in `env`
/// (every other `XLAT_*` variable of this process removed), plus
/// `XLAT_OFFLOAD` when given.
fn daemon_command(ns: &Netns, bin: &Path, env: &[(&str, String)], offload: Option<&str>) -> Command {
    let mut cmd = ns.command(bin);
    cmd.arg("run");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("XLAT_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(o) = offload {
        cmd.env("XLAT_OFFLOAD", o);
    }
    cmd
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut s = String::new();
    for l in &lines[lines.len().saturating_sub(n)..] {
        let _ = writeln!(s, "{l}");
    }
    s
}
