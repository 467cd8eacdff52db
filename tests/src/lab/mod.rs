//! The namespace lab: a 464XLAT deployment on RouterOS at both ends, in
//! network namespaces, with real servers and clients around it.
//!
//! ```text
//!  lan ──IPv4── router ──veth── clat (container: the CLAT, TUN "clat")
//!                  │
//!                  └──IPv6 only── isp ──veth── plat (container: the PLAT, TUN "nat64")
//!                                  │ │ │
//!            host6a, host6b ──IPv6─┘ │ └──IPv4── internet (HTTP, DNS, iperf3, echo)
//! ```
//!
//! - `lan`: an IPv4-only host, 192.0.2.10/24, default via the router.
//! - `router` (stands in for RouterOS): source-NATs the LAN to the CLAT's
//!   IPv4 address 192.0.0.1 (RFC 6877 single-address mode) and routes IPv4
//!   to the container (192.0.0.5), the CLAT's IPv6 prefix 2001:db8:aaaa::/64
//!   to the container too, and IPv6 to the provider.
//! - `clat`: the container, running the CLAT ([`ClatKind`]): our `clat run`
//!   by default, which creates its TUN and routes itself.
//! - `isp`: the provider's IPv6-only core router, RouterOS-like as well: it
//!   routes the PLAT prefix 2001:db8:64::/96 and the PLAT's IPv4 pool to
//!   its container `plat`, and serves two IPv6-only hosts.
//! - `plat`: the provider's container, running the PLAT ([`PlatKind`]):
//!   our stateful NAT64 `plat run` by default (its settings in a file the
//!   lab writes, reloaded with SIGHUP: [`plat`]), or Debian's TAYGA
//!   (`XLAT_LAB_PLAT=tayga`, the interoperability partner).
//! - `host6a`, `host6b`: IPv6-only hosts (clients of the PLAT); `host6b`
//!   also serves HTTP on IPv6 only, published on pool4 by a static BIB
//!   entry of our PLAT.
//! - `internet`: IPv4-only servers at 198.51.100.7: HTTP (python3, serving
//!   a 10 MB and a 1 MB file of random bytes), DNS (unbound, no recursion),
//!   iperf3, a TCP echo and a UDP reflector (python3).
//!
//! [`topology`] has every address. [`Lab::start`] builds it all and waits,
//! bounded, until a ping crosses it; dropping the [`Lab`] tears it down in
//! order (the CLAT and the PLAT get SIGTERM first). A watchdog process
//! tears it down too if this process dies without dropping it (see
//! `watchdog.rs`), so a lab may live in a `static`. Nothing is configured
//! in the root network namespace: links are created directly inside the
//! lab's namespaces.
//!
//! [`probe`] sends traffic with the usual tools and reads their figures;
//! [`metrics`] scrapes the CLAT's and the PLAT's `/metrics`.

pub mod metrics;
pub mod plat;
pub mod probe;
pub mod process;
pub mod servers;
pub mod topology;
mod watchdog;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

use crate::netns::{find_tool, run, wait_until, Netns};
use metrics::{http_get, Metrics};
use process::Daemon;
use servers::ServedFile;
use topology::{self as t};

pub use plat::PlatConfig;

pub use topology::Role;
pub use watchdog::{interrupted, teardown_all};

/// How long the CLAT may take to come up (TUN, routes, `/healthz`).
const CLAT_START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a daemon may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the first ping may take to cross the whole lab.
const END_TO_END_TIMEOUT: Duration = Duration::from_secs(20);
/// Timeout of the short configuration commands (`ip`, `iptables`).
const CONFIG_TIMEOUT: Duration = Duration::from_secs(10);

/// Which CLAT runs in the container namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClatKind {
    /// Our daemon: `BINARY run --tun-name clat --plat-prefix ... --clat-ipv4
    /// 192.0.0.1 --clat-ipv6 2001:db8:aaaa::1 --metrics-listen
    /// 192.0.0.5:9464`. It creates its TUN, enables forwarding and adds its
    /// routes itself, and serves `/metrics` and `/healthz`.
    Xlat(PathBuf),
    /// Debian's TAYGA configured as a CLAT (`map 192.0.0.1
    /// 2001:db8:aaaa::1`): the stand-in. The lab does what `clat run` does
    /// itself (forwarding, routes into the TUN). No `/metrics`.
    Tayga,
    /// A shell command (`sh -c`) run in the container namespace that
    /// behaves like `clat run`; it gets the settings as `XLAT_TUN_NAME`,
    /// `XLAT_PLAT_PREFIX`, `XLAT_CLAT_IPV4`, `XLAT_CLAT_IPV6`,
    /// `XLAT_METRICS_LISTEN` (and `XLAT_DNS_SERVER` in [`Pref64Mode::Auto`]),
    /// so `--clat-cmd 'target/debug/clat run'` works.
    Command(String),
}

impl ClatKind {
    /// Short description for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            ClatKind::Xlat(bin) => format!("ours: {} run", bin.display()),
            ClatKind::Tayga => "TAYGA stand-in".to_owned(),
            ClatKind::Command(cmd) => format!("custom: {cmd}"),
        }
    }
}

/// How the CLAT learns the PLAT prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pref64Mode {
    /// Given on the command line (`--plat-prefix 2001:db8:64::/96`).
    Static,
    /// Discovered (RFC 7050): the provider runs a DNS64 server at
    /// 2001:db8:1::53 answering `ipv4only.arpa`; the CLAT gets
    /// `--plat-prefix auto --dns-server 2001:db8:1::53`.
    Auto,
}

/// Which PLAT (NAT64 at the provider) runs in the `plat` container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlatKind {
    /// Our stateful NAT64: [`default_plat_binary`]` run --config FILE`, the
    /// file holding [`PlatConfig::lab`] (pool4 203.0.113.128/30, the
    /// customers' prefixes as clients, 198.51.100.0/24 allowed, a static
    /// BIB entry for host6b's HTTP server). It creates its TUN, enables
    /// forwarding and routes pool6 and pool4 into it itself.
    #[default]
    Xlat,
    /// Debian's TAYGA: NAT64 with a dynamic pool (203.0.113.128/25), its own
    /// address 203.0.113.1; the lab routes into its TUN. The
    /// interoperability partner of our CLAT. No `/metrics`.
    Tayga,
}

impl PlatKind {
    /// Short description for messages.
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            PlatKind::Xlat => "ours: plat run (stateful NAT64)".to_owned(),
            PlatKind::Tayga => "TAYGA NAT64".to_owned(),
        }
    }
}

/// Our `plat` binary: `XLAT_LAB_PLAT_BIN`, else `plat` next to the running
/// executable (`target/debug/`) or one level up (from
/// `target/debug/deps/`), else `target/debug/plat`.
#[must_use]
pub fn default_plat_binary() -> PathBuf {
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

/// The knobs of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabOptions {
    /// The CLAT.
    pub clat: ClatKind,
    /// MTU of the internet <-> isp link (both ends), e.g. 1280 to exercise
    /// path MTU discovery and MSS; 1500 by default.
    pub server_mtu: u16,
    /// How the CLAT learns the PLAT prefix.
    pub pref64: Pref64Mode,
    /// The PLAT.
    pub plat: PlatKind,
    /// Our `plat` binary, for [`PlatKind::Xlat`].
    pub plat_bin: PathBuf,
}

impl Default for LabOptions {
    fn default() -> Self {
        Self {
            clat: ClatKind::Xlat(default_clat_binary()),
            server_mtu: 1500,
            pref64: Pref64Mode::Static,
            plat: PlatKind::Xlat,
            plat_bin: default_plat_binary(),
        }
    }
}

impl LabOptions {
    /// The defaults, changed by the environment: `XLAT_LAB_CLAT=tayga`
    /// selects the TAYGA stand-in, `XLAT_LAB_CLAT_CMD='...'` a custom CLAT
    /// command, `XLAT_LAB_CLAT_BIN=PATH` another `clat` binary;
    /// `XLAT_LAB_PLAT=tayga` TAYGA as the PLAT instead of our `plat`
    /// (`XLAT_LAB_PLAT_BIN=PATH` another `plat` binary).
    #[must_use]
    pub fn from_env() -> Self {
        let mut o = Self::default();
        if std::env::var("XLAT_LAB_PLAT").is_ok_and(|v| v.eq_ignore_ascii_case("tayga")) {
            o.plat = PlatKind::Tayga;
        }
        if let Some(cmd) = std::env::var("XLAT_LAB_CLAT_CMD").ok().filter(|c| !c.trim().is_empty()) {
            o.clat = ClatKind::Command(cmd);
        } else if std::env::var("XLAT_LAB_CLAT").is_ok_and(|v| v.eq_ignore_ascii_case("tayga")) {
            o.clat = ClatKind::Tayga;
        }
        o
    }
}

/// How our daemons run in the lab: `XLAT_LAB_OFFLOAD` (auto, on, off;
/// default auto) and `XLAT_LAB_WORKERS` (TUN queues and threads; default
/// 1). CI runs the lab both with offloads and two workers, and without.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonTuning {
    /// `offload` of clat and plat.
    pub offload: String,
    /// `workers` of clat and plat.
    pub workers: u16,
}

impl DaemonTuning {
    /// From `XLAT_LAB_OFFLOAD` / `XLAT_LAB_WORKERS`.
    #[must_use]
    pub fn from_env() -> Self {
        let offload = std::env::var("XLAT_LAB_OFFLOAD").ok().filter(|v| !v.trim().is_empty());
        let workers = std::env::var("XLAT_LAB_WORKERS").ok().and_then(|v| v.trim().parse().ok());
        Self { offload: offload.unwrap_or_else(|| "auto".into()), workers: workers.unwrap_or(1) }
    }
}

/// Our `clat` binary: `XLAT_LAB_CLAT_BIN`, else `clat` next to the running
/// executable (`target/debug/`) or one level up (from
/// `target/debug/deps/`), else `target/debug/clat`.
#[must_use]
pub fn default_clat_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("XLAT_LAB_CLAT_BIN").filter(|b| !b.is_empty()) {
        return bin.into();
    }
    let exe = std::env::current_exe().ok();
    exe.iter()
        .flat_map(|e| e.ancestors().skip(1).take(2))
        .map(|dir| dir.join("clat"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("target/debug/clat"))
}

/// Whether `binary` has the `run` subcommand (the daemon).
#[must_use]
pub fn clat_supports_run(binary: &Path) -> bool {
    let mut cmd = std::process::Command::new(binary);
    cmd.args(["run", "--help"]);
    run(&mut cmd, Duration::from_secs(10)).is_ok()
}

/// The tools the lab needs in `PATH` (or `/usr/sbin`, `/sbin`); TAYGA
/// only as a stand-in or interoperability partner, but the tests use it.
pub const TOOLS: [&str; 10] =
    ["ip", "tayga", "unbound", "iperf3", "curl", "dig", "traceroute", "ping", "python3", "sh"];

/// The first tool of [`TOOLS`] (plus iptables or nft) that is missing.
#[must_use]
pub fn missing_tool() -> Option<&'static str> {
    if let Some(t) = TOOLS.into_iter().find(|t| find_tool(t).is_none()) {
        return Some(t);
    }
    if find_tool("iptables").is_none() && find_tool("nft").is_none() {
        return Some("iptables");
    }
    None
}

/// A running lab; torn down when dropped.
#[derive(Debug)]
pub struct Lab {
    watchdog: u64,
    opts: LabOptions,
    /// Indexed by [`Role::index`].
    ns: Vec<Netns>,
    dir: Option<tempfile::TempDir>,
    servers: Vec<Daemon>,
    plat: Option<Daemon>,
    clat: Option<Daemon>,
    files: Vec<ServedFile>,
    started: Duration,
    /// Our PLAT's settings file (it re-reads it on SIGHUP).
    plat_config: Option<PathBuf>,
}

impl Lab {
    /// Builds the whole lab and waits (bounded) until an IPv4 ping from
    /// `lan` reaches the server through the CLAT and the PLAT.
    pub fn start(opts: LabOptions) -> Result<Self> {
        let begin = Instant::now();
        let mut lab = Self {
            watchdog: watchdog::arm()?,
            opts,
            ns: Vec::new(),
            dir: None,
            servers: Vec::new(),
            plat: None,
            clat: None,
            files: Vec::new(),
            started: Duration::ZERO,
            plat_config: None,
        };
        // On failure `lab` drops here and tears down what was built.
        lab.build()?;
        lab.started = begin.elapsed();
        Ok(lab)
    }

    /// The options the lab was built with.
    #[must_use]
    pub fn options(&self) -> &LabOptions {
        &self.opts
    }

    /// How long [`Lab::start`] took.
    #[must_use]
    pub fn start_time(&self) -> Duration {
        self.started
    }

    /// The namespace of `role`.
    #[must_use]
    pub fn ns(&self, role: Role) -> &Netns {
        &self.ns[role.index()]
    }

    /// A [`std::process::Command`] running `program` in the namespace of
    /// `role`; fails once the lab is being torn down by a signal.
    pub fn command(&self, role: Role, program: impl AsRef<std::ffi::OsStr>) -> Result<std::process::Command> {
        if interrupted() {
            bail!("interrupted");
        }
        Ok(self.ns(role).command(program))
    }

    /// Runs `args` in the namespace of `role` (at most 10 s); fails on a
    /// non-zero exit, with its stderr.
    pub fn exec(&self, role: Role, args: &[&str]) -> Result<Output> {
        let (program, rest) = args.split_first().context("exec needs a program")?;
        run(self.command(role, program)?.args(rest), CONFIG_TIMEOUT)
    }

    /// Runs `args` in the namespace of `role` within `timeout` and returns
    /// its output whatever its exit status.
    pub fn exec_any(&self, role: Role, args: &[&str], timeout: Duration) -> Result<Output> {
        let (program, rest) = args.split_first().context("exec needs a program")?;
        process::run_any(self.command(role, program)?.args(rest), timeout)
    }

    /// Stdout of `args` run in `role` (fails on a non-zero exit).
    pub fn stdout(&self, role: Role, args: &[&str]) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.exec(role, args)?.stdout).into_owned())
    }

    /// One line per namespace: role and name.
    #[must_use]
    pub fn describe(&self) -> String {
        Role::ALL
            .iter()
            .filter(|r| r.index() < self.ns.len())
            .map(|r| format!("{r}={}", self.ns(*r).name()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A scratch directory that lives as long as the lab.
    #[must_use]
    pub fn workdir(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new("/tmp"), |d| d.path())
    }

    /// The file the HTTP server serves as `name` ([`servers::FILE_10M`],
    /// [`servers::FILE_1M`]).
    pub fn file(&self, name: &str) -> Result<&ServedFile> {
        self.files.iter().find(|f| f.name == name).with_context(|| format!("the lab serves no {name}"))
    }

    /// Sets the MTU of the internet <-> isp link (both ends).
    pub fn set_server_mtu(&self, mtu: u16) -> Result<()> {
        let mtu = mtu.to_string();
        self.ip(Role::Isp, &["link", "set", "up0", "mtu", &mtu])?;
        self.ip(Role::Internet, &["link", "set", "eth0", "mtu", &mtu])
    }

    /// The CLAT's output so far.
    #[must_use]
    pub fn clat_log(&self) -> String {
        self.clat.as_ref().map(Daemon::log).unwrap_or_default()
    }

    /// The PLAT's output so far (with our PLAT: its log, mapping log
    /// included).
    #[must_use]
    pub fn plat_log(&self) -> String {
        self.plat.as_ref().map(Daemon::log).unwrap_or_default()
    }

    /// The HTTP server's output so far (python's access log: one line per
    /// request, starting with the client address the server saw).
    #[must_use]
    pub fn http_log(&self) -> String {
        self.server_log(servers::HTTP_SERVER)
    }

    /// The output so far of the server called `what` (e.g.
    /// [`servers::HTTP6_SERVER`], host6b's IPv6-only HTTP server).
    #[must_use]
    pub fn server_log(&self, what: &str) -> String {
        self.servers.iter().find(|d| d.what() == what).map(Daemon::log).unwrap_or_default()
    }

    /// Whether the running CLAT serves `/metrics`.
    #[must_use]
    pub fn has_metrics(&self) -> bool {
        !matches!(self.opts.clat, ClatKind::Tayga)
    }

    /// Scrapes the CLAT's `/metrics` from the router.
    pub fn metrics(&self) -> Result<Metrics> {
        if !self.has_metrics() {
            bail!("the TAYGA stand-in CLAT has no /metrics");
        }
        let (status, body) = http_get(self.ns(Role::Router), metrics_addr(), "/metrics")?;
        if status != 200 {
            bail!("GET /metrics answered {status}: {body}");
        }
        Metrics::parse(&body)
    }

    /// Stops the CLAT with SIGTERM and returns its exit status (bounded
    /// wait; SIGKILL and an error if it does not exit).
    pub fn stop_clat(&mut self) -> Result<ExitStatus> {
        let mut clat = self.clat.take().context("the CLAT is not running")?;
        clat.terminate(STOP_TIMEOUT).with_context(|| format!("its output:\n{}", clat.log()))
    }

    /// The CLAT's process id, if it runs.
    #[must_use]
    pub fn clat_pid(&self) -> Option<u32> {
        self.clat.as_ref().map(Daemon::pid)
    }

    /// Fails (with the logs) if the CLAT or the PLAT has exited.
    pub fn check_daemons(&mut self) -> Result<()> {
        for d in [self.clat.as_mut(), self.plat.as_mut()].into_iter().flatten() {
            d.check_alive()?;
        }
        Ok(())
    }

    /// Starts the CLAT (again) and waits until traffic crosses the lab.
    pub fn start_clat(&mut self) -> Result<()> {
        if self.clat.is_some() {
            bail!("the CLAT is already running");
        }
        self.spawn_clat()?;
        self.wait_end_to_end()
    }

    // ------------------------------------------------------------------
    // Construction.

    /// `ip -n <ns of role> args...`.
    fn ip(&self, role: Role, args: &[&str]) -> Result<()> {
        self.ns(role).ip(args).with_context(|| format!("in {role}: ip {}", args.join(" ")))
    }

    fn sysctl(&self, role: Role, kv: &[(&str, &str)]) -> Result<()> {
        let mut cmd = self.ns(role).command("sysctl");
        cmd.args(["-q", "-w"]).args(kv.iter().map(|(k, v)| format!("{k}={v}")));
        run(&mut cmd, CONFIG_TIMEOUT).with_context(|| format!("sysctls in {role}")).map(drop)
    }

    /// A veth pair created directly inside the two namespaces, both ends up.
    fn link(&self, a: Role, a_if: &str, b: Role, b_if: &str, mtu: u16) -> Result<()> {
        let (na, nb) = (self.ns(a).name(), self.ns(b).name());
        let mtu = mtu.to_string();
        let mut cmd = std::process::Command::new("ip");
        cmd.args(["link", "add", a_if, "netns", na, "mtu", &mtu, "type", "veth", "peer", "name", b_if, "netns", nb]);
        cmd.args(["mtu", &mtu]);
        run(&mut cmd, CONFIG_TIMEOUT).with_context(|| format!("veth {a}:{a_if} <-> {b}:{b_if}"))?;
        self.ip(a, &["link", "set", a_if, "up"])?;
        self.ip(b, &["link", "set", b_if, "up"])
    }

    /// Adds `addr` to `dev`; IPv6 addresses without duplicate address
    /// detection (usable at once).
    fn addr(&self, role: Role, dev: &str, addr: &str) -> Result<()> {
        if addr.contains(':') {
            self.ip(role, &["-6", "addr", "add", addr, "dev", dev, "nodad"])
        } else {
            self.ip(role, &["addr", "add", addr, "dev", dev])
        }
    }

    fn build(&mut self) -> Result<()> {
        let dir = tempfile::Builder::new().prefix("xl-lab-").tempdir().context("creating the lab's directory")?;
        watchdog::watch_dir(self.watchdog, dir.path())?;
        self.dir = Some(dir);
        for _ in Role::ALL {
            let ns = Netns::new()?;
            let watched = watchdog::watch_ns(self.watchdog, ns.name());
            self.ns.push(ns);
            watched?;
        }
        self.configure_network()?;
        self.start_servers()?;
        self.start_plat()?;
        self.spawn_clat()?;
        self.wait_end_to_end()
    }

    fn configure_network(&mut self) -> Result<()> {
        use Role::*;
        for role in Role::ALL {
            // Every hop must answer traceroute's bursts: no ICMP rate limit.
            // No reverse-path filter: translated packets come back from
            // other interfaces than their requests left through.
            let forwarding = if matches!(role, Router | Isp) { "1" } else { "0" };
            let mut kv = vec![
                ("net.ipv4.icmp_ratelimit", "0"),
                ("net.ipv6.icmp.ratelimit", "0"),
                ("net.ipv4.conf.all.rp_filter", "0"),
                ("net.ipv4.conf.default.rp_filter", "0"),
            ];
            // `clat run` and `plat run` enable forwarding in their
            // containers themselves (the lab does it for TAYGA).
            if !matches!(role, Clat | Plat) {
                kv.push(("net.ipv4.ip_forward", forwarding));
                kv.push(("net.ipv6.conf.all.forwarding", forwarding));
            }
            self.sysctl(role, &kv)?;
        }

        let mtu = self.opts.server_mtu;
        self.link(Lan, "eth0", Router, "lan0", 1500)?;
        self.link(Router, "ctr0", Clat, "eth0", 1500)?;
        self.link(Router, "wan0", Isp, "down0", 1500)?;
        self.link(Isp, "ctr0", Plat, "eth0", 1500)?;
        self.link(Isp, "up0", Internet, "eth0", mtu)?;
        self.link(Isp, "h6a0", Host6a, "eth0", 1500)?;
        self.link(Isp, "h6b0", Host6b, "eth0", 1500)?;

        // lan: IPv4 only.
        self.addr(Lan, "eth0", &format!("{}/24", t::LAN_HOST))?;
        self.ip(Lan, &["route", "add", "default", "via", t::ROUTER_LAN])?;

        // router: the RouterOS stand-in.
        self.addr(Router, "lan0", &format!("{}/24", t::ROUTER_LAN))?;
        self.addr(Router, "ctr0", &format!("{}/30", t::ROUTER_CTR_V4))?;
        self.addr(Router, "ctr0", &format!("{}/64", t::ROUTER_CTR_V6))?;
        self.addr(Router, "wan0", &format!("{}/64", t::ROUTER_WAN))?;
        self.ip(Router, &["route", "add", "default", "via", t::CLAT_LINK_V4])?;
        self.ip(Router, &["-6", "route", "add", t::CLAT_NET_V6, "via", t::CLAT_LINK_V6])?;
        self.ip(Router, &["-6", "route", "add", "default", "via", t::ISP_DOWN])?;
        self.srcnat()?;

        // clat: the container's veth; `clat run` adds the rest.
        self.addr(Clat, "eth0", &format!("{}/30", t::CLAT_LINK_V4))?;
        self.addr(Clat, "eth0", &format!("{}/64", t::CLAT_LINK_V6))?;
        self.ip(Clat, &["-6", "route", "add", "default", "via", t::ROUTER_CTR_V6])?;
        self.ip(Clat, &["route", "add", &format!("{}/32", t::CLAT_IPV4), "via", t::ROUTER_CTR_V4])?;

        // isp: the provider's router. IPv6 toward the customers, IPv4
        // toward the Internet, pool6 and the PLAT's IPv4 addresses to the
        // PLAT's container (as RouterOS routes to a container's veth).
        self.addr(Isp, "down0", &format!("{}/64", t::ISP_DOWN))?;
        self.addr(Isp, "up0", &format!("{}/24", t::ISP_UP))?;
        self.addr(Isp, "ctr0", &format!("{}/30", t::ISP_PLAT_V4))?;
        self.addr(Isp, "ctr0", &format!("{}/64", t::ISP_PLAT_V6))?;
        self.addr(Isp, "h6a0", &format!("{}/64", t::ISP_HOST6A))?;
        self.addr(Isp, "h6b0", &format!("{}/64", t::ISP_HOST6B))?;
        self.ip(Isp, &["-6", "route", "add", t::CLAT_NET_V6, "via", t::ROUTER_WAN])?;
        self.ip(Isp, &["-6", "route", "add", t::CTR_NET_V6, "via", t::ROUTER_WAN])?;
        self.ip(Isp, &["-6", "route", "add", t::PLAT_PREFIX, "via", t::PLAT_LINK_V6])?;
        self.ip(Isp, &["route", "add", t::PLAT_POOL, "via", t::PLAT_LINK_V4])?;
        self.ip(Isp, &["route", "add", &format!("{}/32", t::PLAT_IPV4), "via", t::PLAT_LINK_V4])?;

        // plat: the container's veth; `plat run` adds its TUN routes.
        self.addr(Plat, "eth0", &format!("{}/30", t::PLAT_LINK_V4))?;
        self.addr(Plat, "eth0", &format!("{}/64", t::PLAT_LINK_V6))?;
        self.ip(Plat, &["route", "add", "default", "via", t::ISP_PLAT_V4])?;
        self.ip(Plat, &["-6", "route", "add", "default", "via", t::ISP_PLAT_V6])?;

        // internet: IPv4 only.
        self.addr(Internet, "eth0", &format!("{}/24", t::SERVER))?;
        self.ip(Internet, &["route", "add", "default", "via", t::ISP_UP])?;

        // The IPv6-only hosts. Host A has two more addresses, each a client
        // of its own for the PLAT's per-client limits, used only by the
        // tests that bind them: deprecated (preferred lifetime 0), so the
        // kernel never picks them as a source (RFC 6724 rule 3).
        self.addr(Host6a, "eth0", &format!("{}/64", t::HOST6A))?;
        for a in [t::HOST6A_MANY, t::HOST6A_LIMITED] {
            let a = format!("{a}/64");
            self.ip(Host6a, &["-6", "addr", "add", &a, "dev", "eth0", "nodad", "preferred_lft", "0"])?;
        }
        self.ip(Host6a, &["-6", "route", "add", "default", "via", t::ISP_HOST6A])?;
        self.addr(Host6b, "eth0", &format!("{}/64", t::HOST6B))?;
        self.ip(Host6b, &["-6", "route", "add", "default", "via", t::ISP_HOST6B])?;
        Ok(())
    }

    /// RouterOS `srcnat`: the LAN leaves toward the container as the CLAT's
    /// single IPv4 address (RFC 6877 without a dedicated translation
    /// prefix: NAT44 in front of the CLAT).
    fn srcnat(&self) -> Result<()> {
        let ns = self.ns(Role::Router);
        let (net, to) = (t::LAN_NET, t::CLAT_IPV4);
        if find_tool("iptables").is_some() {
            let rule = format!("-t nat -A POSTROUTING -s {net} -o ctr0 -j SNAT --to-source {to}");
            let mut args = vec!["iptables"];
            args.extend(rule.split(' '));
            ns.exec(&args)
        } else {
            // nft joins its arguments into one command.
            ns.exec(&["nft", "add table ip xlat"])?;
            ns.exec(&["nft", "add chain ip xlat srcnat { type nat hook postrouting priority srcnat ; }"])?;
            ns.exec(&["nft", &format!("add rule ip xlat srcnat ip saddr {net} oifname ctr0 snat to {to}")])
        }
        .context("the router's srcnat rule")
        .map(drop)
    }

    fn start_servers(&mut self) -> Result<()> {
        let dir = self.workdir().to_owned();
        let www = dir.join("www");
        std::fs::create_dir(&www)?;
        self.files.push(servers::random_file(&www, servers::FILE_10M, 10 * 1024 * 1024)?);
        self.files.push(servers::random_file(&www, servers::FILE_1M, 1024 * 1024)?);

        let inet = self.ns(Role::Internet);
        let mut started = Vec::new();
        let mut http = inet.command(servers::python3());
        http.args(["-m", "http.server", "80", "--bind", t::SERVER, "--directory"]).arg(&www);
        started.push(Daemon::spawn(servers::HTTP_SERVER, http)?);

        let mut echo = inet.command(servers::python3());
        echo.args(["-c", servers::ECHO_SERVER, t::SERVER, &t::ECHO_PORT.to_string(), &t::REFLECTOR_PORT.to_string()]);
        started.push(Daemon::spawn(servers::ECHO_SERVER_NAME, echo)?);

        // host6b: an IPv6-only web server (the static BIB entry's target).
        let host6b = self.ns(Role::Host6b);
        let mut http6 = host6b.command(servers::python3());
        http6.args(["-m", "http.server", "80", "--bind", t::HOST6B, "--directory"]).arg(&www);
        started.push(Daemon::spawn(servers::HTTP6_SERVER, http6)?);

        let dns_dir = dir.join("dns");
        std::fs::create_dir(&dns_dir)?;
        let conf = dns_dir.join("unbound.conf");
        let text = servers::unbound_conf(&dns_dir, t::SERVER, &servers::INTERNET_ZONES, &servers::internet_records());
        std::fs::write(&conf, text)?;
        let mut dns = inet.command(find_tool("unbound").context("unbound is not installed")?);
        dns.args(["-d", "-p", "-c"]).arg(&conf);
        started.push(Daemon::spawn("DNS server (unbound)", dns)?);

        let mut iperf = inet.command("iperf3");
        iperf.args(["-s", "-B", t::SERVER]);
        started.push(Daemon::spawn("iperf3 server", iperf)?);

        let server: std::net::IpAddr = t::SERVER.parse()?;
        let http6: std::net::IpAddr = t::HOST6B.parse()?;
        let listeners = [
            (inet, SocketAddr::new(server, 80)),
            (inet, SocketAddr::new(server, 5201)),
            (inet, SocketAddr::new(server, t::ECHO_PORT)),
            (host6b, SocketAddr::new(http6, 80)),
        ];
        for (ns, addr) in listeners {
            wait_ready(&mut started, &format!("{addr} to listen"), || {
                ns.enter(|| Ok(std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))?)).is_ok()
            })?;
        }
        wait_ready(&mut started, "unbound to answer", || {
            self.dig(Role::Internet, t::SERVER, t::SERVER_NAME, "A").is_ok_and(|d| d.status == "NOERROR")
        })?;
        self.servers.extend(started);
        if self.opts.pref64 == Pref64Mode::Auto {
            self.start_dns64()?;
        }
        Ok(())
    }

    /// The provider's DNS64 for RFC 7050 discovery, on IPv6 in `isp`.
    fn start_dns64(&mut self) -> Result<()> {
        self.addr(Role::Isp, "down0", &format!("{}/128", t::ISP_DNS64))?;
        self.ip(Role::Router, &["-6", "route", "add", &format!("{}/128", t::ISP_DNS64), "via", t::ISP_DOWN])?;
        let dir = self.workdir().join("dns64");
        std::fs::create_dir(&dir)?;
        let conf = dir.join("unbound.conf");
        let records: Vec<String> =
            servers::internet_records().into_iter().filter(|r| r.starts_with("ipv4only.arpa.")).collect();
        std::fs::write(&conf, servers::unbound_conf(&dir, t::ISP_DNS64, &["ipv4only.arpa."], &records))?;
        let mut dns = self.ns(Role::Isp).command(find_tool("unbound").context("unbound is not installed")?);
        dns.args(["-d", "-p", "-c"]).arg(&conf);
        let mut started = vec![Daemon::spawn("DNS64 (unbound)", dns)?];

        wait_ready(&mut started, "the DNS64 to answer", || {
            self.dig(Role::Isp, t::ISP_DNS64, "ipv4only.arpa", "AAAA").is_ok_and(|d| d.answers.len() == 2)
        })?;
        self.servers.extend(started);
        Ok(())
    }

    /// The PLAT in its container.
    fn start_plat(&mut self) -> Result<()> {
        match self.opts.plat {
            PlatKind::Tayga => self.start_tayga_plat(),
            PlatKind::Xlat => self.start_xlat_plat(),
        }
    }

    /// Our `plat run --config FILE` as the PLAT: it enables forwarding and
    /// routes pool6 and pool4 into its TUN itself.
    fn start_xlat_plat(&mut self) -> Result<()> {
        let dir = self.workdir().join("plat");
        std::fs::create_dir(&dir)?;
        let file = dir.join("plat.toml");
        std::fs::write(&file, PlatConfig::lab().to_toml())?;
        let mut cmd = self.ns(Role::Plat).command(&self.opts.plat_bin);
        cmd.arg("run").arg("--config").arg(&file);
        // The file is the whole configuration: no XLAT_* variable of this
        // process may override it.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("XLAT_") {
                cmd.env_remove(k);
            }
        }
        self.plat_config = Some(file);
        self.plat = Some(Daemon::spawn("plat (PLAT)", cmd)?);
        self.wait_tun(Role::Plat, t::PLAT_TUN, false)?;
        // Up and routed by the daemon itself: wait for its routes, then for
        // its /healthz.
        let daemon = self.plat.as_mut().context("no daemon")?;
        let ns = &self.ns[Role::Plat.index()];
        wait_until(CLAT_START_TIMEOUT, "plat's routes into its TUN", || {
            if let Some(status) = daemon.exited() {
                return Some(Err(anyhow::anyhow!("plat exited ({status}); its output:\n{}", daemon.log())));
            }
            let out = run(ns.command("ip").args(["-6", "route", "show", t::PLAT_PREFIX]), CONFIG_TIMEOUT).ok()?;
            String::from_utf8_lossy(&out.stdout).contains(t::PLAT_TUN).then_some(Ok(()))
        })??;
        let isp = &self.ns[Role::Isp.index()];
        let addr = plat::metrics_addr();
        let mut last = String::new();
        let r = wait_until(CLAT_START_TIMEOUT, "the PLAT's /healthz to answer 200", || {
            if let Some(status) = daemon.exited() {
                return Some(Err(anyhow::anyhow!("plat exited ({status}); its output:\n{}", daemon.log())));
            }
            match http_get(isp, addr, "/healthz") {
                Ok((200, _)) => Some(Ok(())),
                Ok((status, body)) => {
                    last = format!("{status} {body}");
                    None
                }
                Err(e) => {
                    last = format!("{e:#}");
                    None
                }
            }
        });
        r.with_context(|| format!("last answer: {last}; the PLAT's output:\n{}", daemon.log()))?
    }

    /// TAYGA as the PLAT, in the same container; the lab does what `plat
    /// run` does itself (forwarding, routes into the TUN).
    fn start_tayga_plat(&mut self) -> Result<()> {
        let dir = self.workdir().join("plat");
        std::fs::create_dir(&dir)?;
        let conf = dir.join("tayga.conf");
        std::fs::write(&conf, servers::tayga_plat_conf(&dir))?;
        let mut cmd = self.ns(Role::Plat).command(find_tool("tayga").context("tayga is not installed")?);
        cmd.arg("--nodetach").arg("--config").arg(&conf);
        self.plat = Some(Daemon::spawn("tayga (PLAT)", cmd)?);
        self.wait_tun(Role::Plat, t::PLAT_TUN, false)?;
        self.sysctl(Role::Plat, &[("net.ipv4.ip_forward", "1"), ("net.ipv6.conf.all.forwarding", "1")])?;
        self.ip(Role::Plat, &["link", "set", t::PLAT_TUN, "up"])?;
        self.ip(Role::Plat, &["route", "add", t::PLAT_POOL, "dev", t::PLAT_TUN])?;
        self.ip(Role::Plat, &["route", "add", &format!("{}/32", t::PLAT_IPV4), "dev", t::PLAT_TUN])?;
        self.ip(Role::Plat, &["-6", "route", "add", t::PLAT_PREFIX, "dev", t::PLAT_TUN])
    }

    /// Waits for TUN `name` in `role`'s namespace while its daemon runs.
    fn wait_tun(&mut self, role: Role, name: &str, clat: bool) -> Result<()> {
        let ns = &self.ns[role.index()];
        let daemon = if clat { self.clat.as_mut() } else { self.plat.as_mut() }.context("no daemon")?;
        wait_until(CLAT_START_TIMEOUT, &format!("TUN {name} in {role}"), || {
            if let Some(status) = daemon.exited() {
                return Some(Err(anyhow::anyhow!(
                    "{} exited ({status}); its output:\n{}",
                    daemon.what(),
                    daemon.log()
                )));
            }
            ns.ifindex(name).map(|_| Ok(()))
        })?
    }

    /// The CLAT's settings, as `clat run` flags without their dashes (the
    /// `XLAT_*` variable is the name upper-cased).
    fn clat_settings(&self) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> = vec![("tun-name", t::CLAT_TUN.into())];
        match self.opts.pref64 {
            Pref64Mode::Static => v.push(("plat-prefix", t::PLAT_PREFIX.into())),
            Pref64Mode::Auto => v.extend([("plat-prefix", "auto".into()), ("dns-server", t::ISP_DNS64.into())]),
        }
        v.extend([
            ("clat-ipv4", t::CLAT_IPV4.into()),
            ("clat-ipv6", t::CLAT_IPV6.into()),
            ("metrics-listen", t::METRICS_LISTEN.into()),
        ]);
        let tuning = DaemonTuning::from_env();
        v.push(("offload", tuning.offload));
        v.push(("workers", tuning.workers.to_string()));
        v
    }

    fn spawn_clat(&mut self) -> Result<()> {
        let ns = self.ns(Role::Clat);
        let mut cmd = match &self.opts.clat {
            ClatKind::Xlat(bin) => {
                let mut cmd = ns.command(bin);
                cmd.arg("run");
                for (k, v) in self.clat_settings() {
                    cmd.arg(format!("--{k}")).arg(v);
                }
                cmd
            }
            ClatKind::Tayga => {
                if self.opts.pref64 == Pref64Mode::Auto {
                    bail!("the TAYGA stand-in CLAT cannot discover the PLAT prefix (use the static mode)");
                }
                let dir = self.workdir().join("clat-tayga");
                let _ = std::fs::create_dir(&dir);
                let conf = dir.join("tayga.conf");
                std::fs::write(&conf, servers::tayga_clat_conf(&dir))?;
                let mut cmd = ns.command(find_tool("tayga").context("tayga is not installed")?);
                cmd.arg("--nodetach").arg("--config").arg(&conf);
                cmd
            }
            ClatKind::Command(line) => {
                let mut cmd = ns.command("sh");
                // A simple command replaces the shell, so SIGTERM reaches it.
                let simple = !line.contains([';', '&', '|', '(', '`', '$', '<', '>', '\n']);
                cmd.args(["-c", &if simple { format!("exec {line}") } else { line.clone() }]);
                for (k, v) in self.clat_settings() {
                    cmd.env(format!("XLAT_{}", k.to_uppercase().replace('-', "_")), v);
                }
                cmd
            }
        };
        // The lab's own XLAT_LAB_* settings are not the CLAT's business.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("XLAT_LAB_") {
                cmd.env_remove(k);
            }
        }
        let what = format!("CLAT ({})", self.opts.clat.describe());
        self.clat = Some(Daemon::spawn(&what, cmd)?);
        self.wait_tun(Role::Clat, t::CLAT_TUN, true)?;
        match self.opts.clat {
            ClatKind::Tayga => {
                // What `clat run` does itself.
                self.sysctl(Role::Clat, &[("net.ipv4.ip_forward", "1"), ("net.ipv6.conf.all.forwarding", "1")])?;
                self.ip(Role::Clat, &["link", "set", t::CLAT_TUN, "up"])?;
                self.ip(Role::Clat, &["route", "add", "default", "dev", t::CLAT_TUN])?;
                self.ip(Role::Clat, &["-6", "route", "add", &format!("{}/128", t::CLAT_IPV6), "dev", t::CLAT_TUN])
            }
            ClatKind::Xlat(_) | ClatKind::Command(_) => self.wait_healthz(),
        }
    }

    /// Waits until the CLAT answers `GET /healthz` with 200.
    fn wait_healthz(&mut self) -> Result<()> {
        let router = &self.ns[Role::Router.index()];
        let clat = self.clat.as_mut().context("the CLAT is not running")?;
        let mut last = String::new();
        let r = wait_until(CLAT_START_TIMEOUT, "the CLAT's /healthz to answer 200", || {
            if let Some(status) = clat.exited() {
                return Some(Err(anyhow::anyhow!("{} exited ({status}); its output:\n{}", clat.what(), clat.log())));
            }
            match http_get(router, metrics_addr(), "/healthz") {
                Ok((200, _)) => Some(Ok(())),
                Ok((status, body)) => {
                    last = format!("{status} {body}");
                    None
                }
                Err(e) => {
                    last = format!("{e:#}");
                    None
                }
            }
        });
        r.with_context(|| format!("last answer: {last}; the CLAT's output:\n{}", clat.log()))?
    }

    /// Waits until one ping from `lan` (through the CLAT and the PLAT) and
    /// one from `host6a` (through the PLAT) reach the server.
    fn wait_end_to_end(&mut self) -> Result<()> {
        let deadline = Instant::now() + END_TO_END_TIMEOUT;
        for (from, dst) in [(Role::Lan, t::SERVER), (Role::Host6a, t::SERVER_V6)] {
            loop {
                self.check_daemons()?;
                // One request, waiting 1 s for its reply: the poll interval.
                if self.ping(from, dst, 1).is_ok_and(|p| p.all_answered()) {
                    break;
                }
                if Instant::now() >= deadline {
                    bail!(
                        "no ping from {from} reached {dst} within {END_TO_END_TIMEOUT:?}\n--- CLAT output:\n{}\n--- PLAT output:\n{}",
                        self.clat_log(),
                        self.plat_log()
                    );
                }
            }
        }
        Ok(())
    }
}

/// Polls `ready` until it holds (bounded), failing early, with its log, if
/// one of the `daemons` exited.
fn wait_ready(daemons: &mut [Daemon], what: &str, mut ready: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + servers::SERVER_START_TIMEOUT;
    loop {
        if ready() {
            return Ok(());
        }
        for d in daemons.iter_mut() {
            d.check_alive()?;
        }
        if Instant::now() >= deadline {
            bail!("timed out after {:?} waiting for {what}", servers::SERVER_START_TIMEOUT);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`topology::METRICS_LISTEN`] as a socket address.
fn metrics_addr() -> SocketAddr {
    t::METRICS_LISTEN.parse().expect("METRICS_LISTEN is a socket address")
}

impl Drop for Lab {
    fn drop(&mut self) {
        let id = self.watchdog;
        watchdog::disarm_after(id, || {
            // The CLAT first: on SIGTERM it removes its routes.
            let daemons = self.clat.take().into_iter().chain(self.plat.take()).chain(self.servers.drain(..).rev());
            for mut d in daemons {
                let _ = d.terminate(STOP_TIMEOUT);
            }
            // Deleting a namespace deletes its interfaces (and veth peers).
            self.ns.clear();
            drop(self.dir.take());
        });
    }
}
