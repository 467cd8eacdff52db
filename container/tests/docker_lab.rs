//! The 464XLAT lab in Docker: the amd64 images `container/build.sh` wrote,
//! `docker load`ed and run the way RouterOS runs them, between a client, a
//! router and a server built `FROM scratch` with Debian's `busybox-static`.
//!
//! ```text
//!  client ──── router ──────── clat (xlat image: CLAT, TUN "clat")
//!  IPv4 only   srcnat to         192.0.0.1 <-> 2001:db8:aaaa::1
//!              192.0.0.1
//!                 │ IPv6 only
//!                 └──────────── plat (xlat-plat image: stateful NAT64, TUN "nat64")
//!                                 2001:db8:64::/96, pool4 203.0.113.128/30
//!                                   │ IPv4
//!                                 server 198.51.100.7 (busybox httpd; DNS)
//! ```
//!
//! | container | interface | addresses |
//! |---|---|---|
//! | client | eth0 | 203.0.113.10/28, default via the router |
//! | router | lan0, ctr0, wan0 | 203.0.113.1/28; 192.0.0.6/30 2001:db8:c::1/64; 2001:db8:1::1/64 |
//! | clat | eth0 | 192.0.0.5/30 2001:db8:c::2/64 |
//! | plat | eth0, eth1 | 2001:db8:1::2/64; 198.51.100.1/24 |
//! | server | eth0 | 198.51.100.7/24, default via the PLAT |
//!
//! Every container runs with `--network none`; the links are veth pairs
//! created directly inside the containers' network namespaces (found by
//! their PIDs), as RouterOS gives a container a veth: nothing is added to
//! the root namespace. The router is configured from the host with `ip`,
//! `iptables` and `nsenter` in its namespace (it stands in for RouterOS).
//!
//! The translators run as RouterOS runs them: the image's default command
//! (`run`), configuration from `XLAT_*` environment variables only, logs on
//! stdout, forwarding set for the container (`--sysctl`: Docker mounts
//! `/proc/sys` read-only), and no capability but `NET_ADMIN`. The CLAT also
//! gets `MKNOD` and no `/dev/net/tun` (Docker gives none): it must create
//! the device itself; the PLAT gets the host's device (`--device`) instead.
//!
//! Checks, as in the namespace lab: ping from the client through the CLAT
//! and the PLAT, an HTTP download compared by SHA-256, DNS (busybox
//! `nslookup` against a responder in the server's namespace: Debian's
//! busybox has no DNS server applet), traceroute's hops, both `/metrics`
//! endpoints, the capabilities and `/dev/net/tun`, and a clean stop on
//! SIGTERM.
//!
//! Without a Docker engine the test prints `SKIPPED` and passes. When the
//! engine answers, a missing prerequisite (root, the amd64 images,
//! busybox-static, iptables) is a skip on a workstation and a failure with
//! `CI=true`. A guard removes the containers, veths and images it created
//! on every exit, failure included; a run killed outright is cleaned up by
//! the next one (its containers carry the dead process's id as a label).
//! Every wait polls a condition against a deadline.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TEST: &str = "docker_lab_464xlat";
/// The label on every container of a run: the test process's id.
const LABEL: &str = "xlat.docker-lab";
/// Debian's busybox-static.
const BUSYBOX: &str = "/bin/busybox";

/// Deadlines.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
const START_TIMEOUT: Duration = Duration::from_secs(20);
const END_TO_END_TIMEOUT: Duration = Duration::from_secs(20);
const METRICS_TIMEOUT: Duration = Duration::from_secs(5);
const STOP_TIMEOUT_SECS: u32 = 10;
const POLL: Duration = Duration::from_millis(50);

// The addresses (see the table above).
const CLIENT: &str = "203.0.113.10";
const ROUTER_LAN: &str = "203.0.113.1";
const LAN_NET: &str = "203.0.113.0/28";
const ROUTER_CTR_V4: &str = "192.0.0.6";
const CLAT_LINK_V4: &str = "192.0.0.5";
const ROUTER_CTR_V6: &str = "2001:db8:c::1";
const CLAT_LINK_V6: &str = "2001:db8:c::2";
const CLAT_IPV4: &str = "192.0.0.1";
const CLAT_IPV6: &str = "2001:db8:aaaa::1";
const CLAT_NET_V6: &str = "2001:db8:aaaa::/64";
const ROUTER_WAN: &str = "2001:db8:1::1";
const PLAT_WAN: &str = "2001:db8:1::2";
const PLAT_PREFIX: &str = "2001:db8:64::/96";
const POOL4: &str = "203.0.113.128/30";
const PLAT_UP: &str = "198.51.100.1";
const INTERNET_NET: &str = "198.51.100.0/24";
const SERVER: &str = "198.51.100.7";
/// The name the DNS responder knows, and its address (not the server's,
/// so that finding it in nslookup's output means the answer came back).
const DNS_NAME: &str = "www.example.test";
const DNS_ANSWER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 80);
const CLAT_METRICS: &str = "http://192.0.0.5:9464";
const PLAT_METRICS: &str = "http://[2001:db8:1::2]:9465";
/// The file the server serves.
const FILE: &str = "1M.bin";
const FILE_LEN: usize = 1 << 20;

/// `CapEff` bits: CAP_NET_ADMIN (12), CAP_MKNOD (27).
const CAP_NET_ADMIN: u64 = 1 << 12;
const CAP_MKNOD: u64 = 1 << 27;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Prints `SKIPPED` on the process's stderr (not captured by the harness).
fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {TEST}: {why}");
}

/// A missing prerequisite once the engine answers: a skip, or a failure
/// under CI.
fn skip_or_fail(why: &str) {
    if in_ci() {
        panic!("{TEST}: {why}, and CI=true: the Docker lab must run where the engine answers");
    }
    skipped(why);
}

fn note(line: &str) {
    let _ = writeln!(std::io::stderr(), "   {line}");
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("container/ has a parent").to_path_buf()
}

fn images_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XLAT_IMAGES_DIR") {
        return d.into();
    }
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target")).join("images")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        .unwrap_or(false)
}

fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Polls `cond` until it returns `Some`, or fails naming `what` after
/// `timeout`.
fn wait_until<T>(timeout: Duration, what: &str, mut cond: impl FnMut() -> Option<T>) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = cond() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(POLL);
    }
}

/// Runs `cmd` within `timeout` (killed after it), whatever its exit status.
fn run_any(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawning {shown}: {e}"))?;
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = match wait_until(timeout, &shown, || child.try_wait().transpose()) {
        Ok(s) => s.map_err(|e| format!("waiting for {shown}: {e}"))?,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    Ok(Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() })
}

/// Runs `cmd` within `timeout`; fails on a non-zero exit with its stderr.
fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let shown = format!("{cmd:?}");
    let out = run_any(cmd, timeout)?;
    if !out.status.success() {
        return Err(format!("{shown} failed ({}): {}", out.status, text(&out.stderr)));
    }
    Ok(out)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_owned()
}

fn docker(args: &[&str]) -> Result<String, String> {
    run(Command::new("docker").args(args), COMMAND_TIMEOUT).map(|o| text(&o.stdout))
}

/// The last `n` lines of `s`.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A container of the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Client,
    Router,
    Clat,
    Plat,
    Server,
}

impl Node {
    fn name(self) -> &'static str {
        match self {
            Node::Client => "client",
            Node::Router => "router",
            Node::Clat => "clat",
            Node::Plat => "plat",
            Node::Server => "server",
        }
    }
}

/// A UDP DNS responder bound in the server's network namespace (on a
/// thread that joined it): `A` of [`DNS_NAME`] is [`DNS_ANSWER`], other
/// types of it have no data, other names do not exist. It records who
/// asked what.
struct Dns {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(SocketAddr, String, u16)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Dns {
    fn start(pid: u32) -> Result<Self, String> {
        let ns = std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|e| format!("server netns: {e}"))?;
        let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop2, seen2) = (Arc::clone(&stop), Arc::clone(&seen));
        let thread = std::thread::spawn(move || {
            let sock = nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("setns: {e}"))
                .and_then(|()| UdpSocket::bind((SERVER, 53)).map_err(|e| format!("bind {SERVER}:53: {e}")))
                .and_then(|s| s.set_read_timeout(Some(POLL)).map(|()| s).map_err(|e| e.to_string()));
            let sock = match sock {
                Ok(s) => {
                    let _ = tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let mut buf = [0u8; 512];
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
                if let Some((reply, name, qtype)) = dns_reply(&buf[..n]) {
                    seen2.lock().unwrap_or_else(|e| e.into_inner()).push((from, name, qtype));
                    let _ = sock.send_to(&reply, from);
                }
            }
        });
        match rx.recv_timeout(COMMAND_TIMEOUT) {
            Ok(Ok(())) => Ok(Self { stop, seen, thread: Some(thread) }),
            Ok(Err(e)) => Err(format!("DNS responder: {e}")),
            Err(e) => Err(format!("DNS responder did not start: {e}")),
        }
    }

    fn seen(&self) -> Vec<(SocketAddr, String, u16)> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The answer to one DNS query (RFC 1035 §4.1): `(reply, qname, qtype)`,
/// `None` for what is not a single-question query.
fn dns_reply(q: &[u8]) -> Option<(Vec<u8>, String, u16)> {
    const HEADER: usize = 12;
    if q.len() < HEADER || q[2] & 0x80 != 0 || u16::from_be_bytes([q[4], q[5]]) != 1 {
        return None;
    }
    let mut labels = Vec::new();
    let mut i = HEADER;
    loop {
        let len = usize::from(*q.get(i)?);
        i += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let question_end = i + 4;
    q.get(question_end - 1)?;
    let name = labels.join(".");
    let known = name == DNS_NAME;
    let answer = known && qtype == 1;
    // QR, opcode 0, AA, RD copied; RA; RCODE 0 or 3 (NXDOMAIN).
    let flags: u16 = 0x8400 | (u16::from(q[2] & 0x01) << 8) | 0x0080 | if known { 0 } else { 3 };
    let mut r = Vec::with_capacity(question_end + 16);
    r.extend_from_slice(&q[..2]);
    r.extend_from_slice(&flags.to_be_bytes());
    r.extend_from_slice(&[0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
    r.extend_from_slice(&q[HEADER..question_end]);
    if answer {
        // Name (pointer to the question), A, IN, TTL 60, 4 bytes.
        r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        r.extend_from_slice(&DNS_ANSWER.octets());
    }
    Some((r, name, qtype))
}

/// The lab; dropping it removes the veths, containers and images it made.
struct Lab {
    tag: String,
    dir: PathBuf,
    /// The busybox image, once imported.
    busybox: Option<String>,
    /// Images `docker load` brought in.
    loaded: Vec<String>,
    /// Started containers, and their PIDs.
    containers: BTreeMap<&'static str, u32>,
    /// Veths: (node, interface) of one end.
    veths: Vec<(Node, &'static str)>,
    dns: Option<Dns>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let begin = Instant::now();
        self.dns = None;
        for (node, ifname) in std::mem::take(&mut self.veths) {
            if let Some(pid) = self.containers.get(node.name()) {
                let _ = self.nsenter_any(*pid, &["ip", "link", "del", ifname]);
            }
        }
        let names: Vec<String> = self.containers.keys().map(|n| self.container(n)).collect();
        if !names.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(names.iter().map(String::as_str));
            if let Err(e) = docker(&args) {
                note(&format!("cleanup: {e}"));
            }
        }
        let mut images: Vec<String> = self.busybox.take().into_iter().collect();
        images.append(&mut self.loaded);
        for image in images {
            if let Err(e) = docker(&["rmi", "-f", &image]) {
                note(&format!("cleanup: {e}"));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        note(&format!("docker lab torn down in {:.1} s", begin.elapsed().as_secs_f64()));
    }
}

impl Lab {
    fn new() -> Self {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("xlat-docker-lab-{pid}"));
        Self {
            tag: format!("xlat-lab-{pid}"),
            dir,
            busybox: None,
            loaded: Vec::new(),
            containers: BTreeMap::new(),
            veths: Vec::new(),
            dns: None,
        }
    }

    fn container(&self, node: &str) -> String {
        format!("{}-{node}", self.tag)
    }

    fn pid(&self, node: Node) -> u32 {
        self.containers[node.name()]
    }

    /// `nsenter --net` into the namespace of `pid`, running a host tool.
    fn nsenter_any(&self, pid: u32, args: &[&str]) -> Result<Output, String> {
        let ns = format!("--net=/proc/{pid}/ns/net");
        run_any(Command::new("nsenter").arg(ns).args(args), COMMAND_TIMEOUT)
    }

    fn ns(&self, node: Node, args: &[&str]) -> Result<String, String> {
        let ns = format!("--net=/proc/{}/ns/net", self.pid(node));
        run(Command::new("nsenter").arg(ns).args(args), COMMAND_TIMEOUT)
            .map(|o| text(&o.stdout))
            .map_err(|e| format!("in {}: {e}", node.name()))
    }

    fn ip(&self, node: Node, args: &str) -> Result<(), String> {
        let mut all = vec!["ip"];
        all.extend(args.split_whitespace());
        self.ns(node, &all).map(drop)
    }

    fn addr(&self, node: Node, dev: &str, addr: &str) -> Result<(), String> {
        if addr.contains(':') {
            self.ip(node, &format!("-6 addr add {addr} dev {dev} nodad"))
        } else {
            self.ip(node, &format!("addr add {addr} dev {dev}"))
        }
    }

    /// A veth pair created inside the two containers' namespaces, both up.
    fn link(&mut self, a: Node, a_if: &'static str, b: Node, b_if: &'static str) -> Result<(), String> {
        let (pa, pb) = (self.pid(a).to_string(), self.pid(b).to_string());
        let args = ["link", "add", a_if, "netns", &pa, "type", "veth", "peer", "name", b_if, "netns", &pb];
        run(Command::new("ip").args(args), COMMAND_TIMEOUT)
            .map_err(|e| format!("veth {}:{a_if} <-> {}:{b_if}: {e}", a.name(), b.name()))?;
        self.veths.push((a, a_if));
        self.ip(a, &format!("link set {a_if} up"))?;
        self.ip(b, &format!("link set {b_if} up"))
    }

    /// `docker run -d` of `node` (`--network none`, labelled), its PID.
    fn start(&mut self, node: Node, opts: &[&str], image: &str, args: &[&str]) -> Result<(), String> {
        let name = self.container(node.name());
        let label = format!("{LABEL}={}", std::process::id());
        let mut all = vec!["run", "-d", "--name", &name, "--hostname", node.name(), "--network", "none"];
        all.extend(["--label", &label]);
        // IPv6 on (Docker turns it off in a container on no IPv6 network,
        // and a TUN without it refuses IPv6 routes: EACCES). Traceroute
        // needs every hop to answer; translated replies come back through
        // other interfaces than their requests left by.
        for s in [
            "net.ipv6.conf.all.disable_ipv6=0",
            "net.ipv6.conf.default.disable_ipv6=0",
            "net.ipv4.icmp_ratelimit=0",
            "net.ipv6.icmp.ratelimit=0",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
        ] {
            all.extend(["--sysctl", s]);
        }
        all.extend(opts);
        all.push(image);
        all.extend(args);
        // Recorded before it runs: a failed start may leave a container.
        self.containers.insert(node.name(), 0);
        docker(&all)?;
        let pid = docker(&["inspect", "-f", "{{.State.Pid}}", &name])?;
        let pid: u32 = pid.parse().map_err(|_| format!("{name}: no PID ({pid})"))?;
        if pid == 0 {
            return Err(format!("{name} is not running:\n{}", self.logs(node)));
        }
        self.containers.insert(node.name(), pid);
        Ok(())
    }

    /// The container's stdout and stderr so far.
    fn logs(&self, node: Node) -> String {
        match run_any(Command::new("docker").args(["logs", &self.container(node.name())]), COMMAND_TIMEOUT) {
            Ok(o) => format!("{}\n{}", text(&o.stdout), text(&o.stderr)).trim().to_owned(),
            Err(e) => e,
        }
    }

    /// `docker exec <node> busybox args...` within `timeout`, any status.
    fn exec(&self, node: Node, args: &[&str], timeout: Duration) -> Result<Output, String> {
        let name = self.container(node.name());
        run_any(Command::new("docker").args(["exec", &name, BUSYBOX]).args(args), timeout)
    }

    /// The translators' logs, for failure messages.
    fn translator_logs(&self) -> String {
        let mut s = String::new();
        for node in [Node::Clat, Node::Plat] {
            if self.containers.get(node.name()).is_some_and(|p| *p != 0) {
                s.push_str(&format!("\n--- {} (docker logs, tail):\n{}", node.name(), tail(&self.logs(node), 30)));
            }
        }
        s
    }

    /// GET `url` with the router's busybox wget (status 200 only). No
    /// `-T`: Debian's busybox-static 1.35 wget crashes with it (SIGSEGV);
    /// the exec's own deadline bounds the wait.
    fn http_get(&self, url: &str) -> Option<String> {
        let o = self.exec(Node::Router, &["wget", "-q", "-O", "-", url], Duration::from_secs(5)).ok()?;
        o.status.success().then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    }

    fn metrics(&self, base: &str) -> Result<BTreeMap<String, f64>, String> {
        let body = self.http_get(&format!("{base}/metrics")).ok_or_else(|| format!("GET {base}/metrics failed"))?;
        Ok(body
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' '))
            .filter_map(|(k, v)| v.parse().ok().map(|v| (k.to_owned(), v)))
            .collect())
    }
}

/// Removes what runs killed outright left behind (their PID is gone).
fn remove_stale() {
    let Ok(list) = docker(&["ps", "-a", "--filter", &format!("label={LABEL}"), "--format", "{{.Names}}"]) else {
        return;
    };
    for name in list.lines() {
        let Ok(pid) = docker(&["inspect", "-f", &format!("{{{{index .Config.Labels \"{LABEL}\"}}}}"), name]) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            note(&format!("removing {name}, left by a killed run (pid {pid})"));
            let _ = docker(&["rm", "-f", "-v", name]);
            let _ = docker(&["rmi", "-f", &format!("xlat-lab-busybox:{pid}")]);
        }
    }
}

/// `CapEff` of a process.
fn cap_eff(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:")).ok_or("no CapEff")?;
    u64::from_str_radix(hex.trim(), 16).map_err(|e| e.to_string())
}

/// Major and minor of a character device, if `path` is one.
fn char_device(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    let m = std::fs::metadata(path).ok()?;
    let rdev = m.rdev();
    m.file_type().is_char_device().then_some(((rdev >> 8) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & 0xfff00)))
}

/// `xlat_container::elf` says whether busybox is static (a scratch image has
/// no dynamic loader).
fn busybox_is_static() -> Result<(), String> {
    let data = std::fs::read(BUSYBOX).map_err(|e| format!("{BUSYBOX}: {e} (apt-get install busybox-static)"))?;
    let info = xlat_container::elf::inspect(&data).map_err(|e| format!("{BUSYBOX}: {e}"))?;
    if info.interpreter {
        return Err(format!("{BUSYBOX} is dynamically linked: install busybox-static, not busybox"));
    }
    Ok(())
}

/// The busybox root filesystem as a tar (`docker import`): `/bin/busybox`
/// and the directories the applets use.
fn busybox_rootfs(path: &Path) -> Result<(), String> {
    let data = std::fs::read(BUSYBOX).map_err(|e| e.to_string())?;
    let mut b = tar::Builder::new(std::fs::File::create(path).map_err(|e| e.to_string())?);
    for (dir, mode) in [("bin/", 0o755), ("tmp/", 0o1777), ("www/", 0o755)] {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_size(0);
        b.append_data(&mut h, dir, std::io::empty()).map_err(|e| e.to_string())?;
    }
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_size(data.len() as u64);
    b.append_data(&mut h, "bin/busybox", data.as_slice()).map_err(|e| e.to_string())?;
    b.into_inner().and_then(|mut f| f.flush()).map_err(|e| e.to_string())
}

/// Deterministic pseudo-random bytes (xorshift64*): incompressible
/// enough for a transfer test, no extra dependency.
fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn in_pool4(a: Ipv4Addr) -> bool {
    u32::from(a) & 0xffff_fffc == u32::from(Ipv4Addr::new(203, 0, 113, 128))
}

#[test]
fn docker_lab_464xlat() {
    match run_any(Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]), COMMAND_TIMEOUT) {
        Ok(o) if o.status.success() => {}
        _ => return skipped("no Docker engine answers `docker info`"),
    }
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return skip_or_fail("the lab runs the amd64 images: needs an x86_64 Docker host");
    }
    if !is_root() {
        return skip_or_fail("needs root (veths into the containers' namespaces, nsenter)");
    }
    let clat_tar = images_dir().join(format!("xlat-{VERSION}-amd64.tar"));
    let plat_tar = images_dir().join(format!("xlat-plat-{VERSION}-amd64.tar"));
    for t in [&clat_tar, &plat_tar] {
        if !t.is_file() {
            return skip_or_fail(&format!("{} is missing (container/build.sh --arch amd64)", t.display()));
        }
    }
    if let Err(e) = busybox_is_static() {
        return skip_or_fail(&e);
    }
    for tool in ["ip", "nsenter", "iptables"] {
        if find_tool(tool).is_none() {
            return skip_or_fail(&format!("{tool} is not installed"));
        }
    }
    let begin = Instant::now();
    remove_stale();
    let mut lab = Lab::new();
    let result = run_lab(&mut lab, &clat_tar, &plat_tar);
    if let Err(e) = result {
        let logs = lab.translator_logs();
        drop(lab);
        panic!("{TEST}: {e}{logs}");
    }
    drop(lab);
    note(&format!("docker lab passed in {:.1} s", begin.elapsed().as_secs_f64()));
}

fn run_lab(lab: &mut Lab, clat_tar: &Path, plat_tar: &Path) -> Result<(), String> {
    let _ = writeln!(std::io::stderr(), "== docker lab: client -> router -> clat -> plat -> server (amd64 images)");
    std::fs::create_dir_all(lab.dir.join("www")).map_err(|e| e.to_string())?;

    // Images: the two tars, as RouterOS imports them, and busybox.
    let mut tags = Vec::new();
    for (repo, tar) in [("xlat", clat_tar), ("xlat-plat", plat_tar)] {
        let tag = format!("{repo}:{VERSION}-amd64");
        lab.loaded.push(tag.clone());
        let out = docker(&["load", "-i", &tar.to_string_lossy()])?;
        if !out.contains(&format!("Loaded image: {tag}")) {
            return Err(format!("docker load {}: {out}", tar.display()));
        }
        tags.push(tag);
    }
    let rootfs = lab.dir.join("busybox.tar");
    busybox_rootfs(&rootfs)?;
    let bb = format!("xlat-lab-busybox:{}", std::process::id());
    lab.busybox = Some(bb.clone());
    docker(&["import", "--change", &format!("ENTRYPOINT [\"{BUSYBOX}\"]"), &rootfs.to_string_lossy(), &bb])?;

    // The served file and its digest.
    let file = random_bytes(FILE_LEN, u64::from(std::process::id()) | 1);
    let want_sha = hex(&Sha256::digest(&file));
    std::fs::write(lab.dir.join("www").join(FILE), &file).map_err(|e| e.to_string())?;
    let www = format!("{}:/www:ro", lab.dir.join("www").display());

    let forwarding = ["--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "net.ipv6.conf.all.forwarding=1"];
    let idle = ["sleep", "3600"];
    lab.start(Node::Client, &[], &bb, &idle)?;
    lab.start(Node::Router, &forwarding, &bb, &idle)?;
    lab.start(Node::Server, &["-v", &www], &bb, &["httpd", "-f", "-vv", "-p", "80", "-h", "/www"])?;

    // The translators: env only, default command, NET_ADMIN (+ MKNOD for
    // the CLAT, which creates /dev/net/tun; the PLAT gets the device).
    let mut clat_opts: Vec<&str> = vec!["--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--cap-add", "MKNOD"];
    clat_opts.extend(forwarding);
    let clat_env = [
        format!("XLAT_PLAT_PREFIX={PLAT_PREFIX}"),
        format!("XLAT_CLAT_IPV4={CLAT_IPV4}"),
        format!("XLAT_CLAT_IPV6={CLAT_IPV6}"),
    ];
    for e in &clat_env {
        clat_opts.extend(["-e", e]);
    }
    lab.start(Node::Clat, &clat_opts, &tags[0], &[])?;

    let mut plat_opts: Vec<&str> = vec!["--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--device", "/dev/net/tun"];
    plat_opts.extend(forwarding);
    let plat_env = [
        format!("XLAT_POOL6={PLAT_PREFIX}"),
        format!("XLAT_POOL4={POOL4}"),
        format!("XLAT_CLIENTS={CLAT_NET_V6}"),
        format!("XLAT_ALLOW_V4={INTERNET_NET}"),
        "XLAT_MAPPING_LOG=true".to_owned(),
    ];
    for e in &plat_env {
        plat_opts.extend(["-e", e]);
    }
    lab.start(Node::Plat, &plat_opts, &tags[1], &[])?;

    // Links and addresses.
    use Node::*;
    lab.link(Client, "eth0", Router, "lan0")?;
    lab.link(Router, "ctr0", Clat, "eth0")?;
    lab.link(Router, "wan0", Plat, "eth0")?;
    lab.link(Plat, "eth1", Server, "eth0")?;

    lab.addr(Client, "eth0", &format!("{CLIENT}/28"))?;
    lab.ip(Client, &format!("route add default via {ROUTER_LAN}"))?;

    lab.addr(Router, "lan0", &format!("{ROUTER_LAN}/28"))?;
    lab.addr(Router, "ctr0", &format!("{ROUTER_CTR_V4}/30"))?;
    lab.addr(Router, "ctr0", &format!("{ROUTER_CTR_V6}/64"))?;
    lab.addr(Router, "wan0", &format!("{ROUTER_WAN}/64"))?;
    lab.ip(Router, &format!("route add default via {CLAT_LINK_V4}"))?;
    lab.ip(Router, &format!("-6 route add {CLAT_NET_V6} via {CLAT_LINK_V6}"))?;
    lab.ip(Router, &format!("-6 route add default via {PLAT_WAN}"))?;
    // RouterOS srcnat: the LAN leaves toward the container as 192.0.0.1.
    let snat = format!("-t nat -A POSTROUTING -s {LAN_NET} -o ctr0 -j SNAT --to-source {CLAT_IPV4}");
    let mut args = vec!["iptables"];
    args.extend(snat.split(' '));
    lab.ns(Router, &args)?;

    lab.addr(Clat, "eth0", &format!("{CLAT_LINK_V4}/30"))?;
    lab.addr(Clat, "eth0", &format!("{CLAT_LINK_V6}/64"))?;
    lab.ip(Clat, &format!("-6 route add default via {ROUTER_CTR_V6}"))?;
    lab.ip(Clat, &format!("route add {CLAT_IPV4}/32 via {ROUTER_CTR_V4}"))?;

    lab.addr(Plat, "eth0", &format!("{PLAT_WAN}/64"))?;
    lab.ip(Plat, &format!("-6 route add default via {ROUTER_WAN}"))?;
    lab.addr(Plat, "eth1", &format!("{PLAT_UP}/24"))?;

    lab.addr(Server, "eth0", &format!("{SERVER}/24"))?;
    lab.ip(Server, &format!("route add default via {PLAT_UP}"))?;
    lab.dns = Some(Dns::start(lab.pid(Server))?);

    // Both translators up: /healthz answers from the router.
    let t0 = Instant::now();
    for base in [CLAT_METRICS, PLAT_METRICS] {
        let url = format!("{base}/healthz");
        wait_until(START_TIMEOUT, &url, || lab.http_get(&url))?;
    }
    let ping = || lab.exec(Client, &["ping", "-c", "1", "-W", "1", SERVER], Duration::from_secs(3)).ok();
    wait_until(END_TO_END_TIMEOUT, "a first ping client -> server", || ping().filter(|o| o.status.success()))?;
    note(&format!("lab up: healthz and a first ping after {:.1} s", t0.elapsed().as_secs_f64()));

    check_runtime(lab)?;
    check_ping(lab)?;
    check_http(lab, &want_sha)?;
    check_dns(lab)?;
    check_traceroute(lab)?;
    check_metrics(lab)?;
    check_stop(lab)
}

/// As RouterOS runs them: default command, capabilities, /dev/net/tun,
/// logs on stdout.
fn check_runtime(lab: &Lab) -> Result<(), String> {
    for (node, want_caps, bin) in
        [(Node::Clat, CAP_NET_ADMIN | CAP_MKNOD, "/clat"), (Node::Plat, CAP_NET_ADMIN, "/plat")]
    {
        let pid = lab.pid(node);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).map_err(|e| e.to_string())?;
        let want_cmd = format!("{bin}\0run\0");
        if cmdline != want_cmd.as_bytes() {
            return Err(format!("{}: runs {:?}, not the image's default {want_cmd:?}", node.name(), text(&cmdline)));
        }
        let caps = cap_eff(pid)?;
        if caps != want_caps {
            return Err(format!("{}: CapEff {caps:#x}, expected {want_caps:#x}", node.name()));
        }
        let tun = char_device(&Path::new(&format!("/proc/{pid}/root")).join("dev/net/tun"));
        if tun != Some((10, 200)) {
            return Err(format!("{}: /dev/net/tun is {tun:?}, not the TUN device 10:200", node.name()));
        }
    }
    // Docker gives a container no /dev/net/tun: the CLAT's is its own.
    let client_tun = Path::new(&format!("/proc/{}/root", lab.pid(Node::Client))).join("dev/net/tun");
    if client_tun.exists() {
        return Err("the client container has a /dev/net/tun: the CLAT's proves nothing".into());
    }
    for (node, line) in [(Node::Clat, "clat running"), (Node::Plat, "plat running")] {
        let o = run(Command::new("docker").args(["logs", &lab.container(node.name())]), COMMAND_TIMEOUT)?;
        if !String::from_utf8_lossy(&o.stdout).contains(line) {
            return Err(format!("{}: {line:?} is not on its stdout (stderr: {})", node.name(), text(&o.stderr)));
        }
    }
    note("✓ runtime    default command `run`, env only; CapEff NET_ADMIN (+MKNOD: the CLAT made /dev/net/tun); logs on stdout");
    Ok(())
}

fn check_ping(lab: &Lab) -> Result<(), String> {
    let o = lab.exec(Node::Client, &["ping", "-c", "5", "-i", "0.2", "-W", "2", SERVER], Duration::from_secs(15))?;
    let out = String::from_utf8_lossy(&o.stdout);
    if !o.status.success() || !out.contains("5 packets transmitted, 5 packets received") {
        return Err(format!("ping client -> {SERVER}: {out} {}", text(&o.stderr)));
    }
    let rtt = out.lines().find(|l| l.contains("round-trip")).unwrap_or("").trim().to_owned();
    note(&format!("✓ ping       client -> {SERVER}: 5/5 replies, {rtt}"));
    Ok(())
}

fn check_http(lab: &Lab, want_sha: &str) -> Result<(), String> {
    let url = format!("http://{SERVER}/{FILE}");
    let script = format!("{BUSYBOX} wget -q -O - {url} | {BUSYBOX} sha256sum");
    let t = Instant::now();
    let o = lab.exec(Node::Client, &["sh", "-c", &script], Duration::from_secs(30))?;
    let secs = t.elapsed().as_secs_f64();
    let got = text(&o.stdout);
    let got = got.split_whitespace().next().unwrap_or("");
    if !o.status.success() || got != want_sha {
        return Err(format!("GET {url}: sha256 {got:?}, expected {want_sha} ({})", text(&o.stderr)));
    }
    // busybox httpd -vv logs each request as `[::ffff:A.B.C.D]:PORT:
    // url:/...`: the client must be a pool4 address.
    let log = lab.logs(Node::Server);
    let seen: Vec<Ipv4Addr> = log
        .lines()
        .filter(|l| l.contains(&format!("url:/{FILE}")))
        .filter_map(|l| l.split_once("[::ffff:").and_then(|(_, r)| r.split_once(']')))
        .filter_map(|(a, _)| a.parse().ok())
        .collect();
    if !seen.iter().any(|a| in_pool4(*a)) {
        return Err(format!("the HTTP server saw no client in pool4 {POOL4}: {}", tail(&log, 10)));
    }
    note(&format!("✓ http       GET {url}: 1 MiB in {secs:.2} s, sha256 ok, server saw {:?}", seen.last().unwrap()));
    Ok(())
}

fn check_dns(lab: &Lab) -> Result<(), String> {
    let o = lab.exec(Node::Client, &["nslookup", "-type=a", DNS_NAME, SERVER], Duration::from_secs(15))?;
    let out = String::from_utf8_lossy(&o.stdout);
    if !o.status.success() || !out.contains(&DNS_ANSWER.to_string()) {
        return Err(format!("nslookup {DNS_NAME} {SERVER}: {out} {}", text(&o.stderr)));
    }
    let seen = lab.dns.as_ref().map(Dns::seen).unwrap_or_default();
    let from = seen.iter().find(|(_, n, t)| n == DNS_NAME && *t == 1).map(|(f, _, _)| *f);
    match from {
        Some(SocketAddr::V4(a)) if in_pool4(*a.ip()) => {
            note(&format!("✓ dns        nslookup {DNS_NAME} @{SERVER}: {DNS_ANSWER} (query from {a})"));
            Ok(())
        }
        other => Err(format!("the DNS responder saw the query from {other:?}, not pool4 {POOL4}: {seen:?}")),
    }
}

fn check_traceroute(lab: &Lab) -> Result<(), String> {
    let args = ["traceroute", "-n", "-q", "1", "-w", "1", "-m", "12", SERVER];
    let o = lab.exec(Node::Client, &args, Duration::from_secs(40))?;
    let out = String::from_utf8_lossy(&o.stdout);
    // Hop lines: " 1  203.0.113.1  0.1 ms".
    let hops: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    if hops.first() != Some(&ROUTER_LAN) || hops.last() != Some(&SERVER) || hops.len() < 4 {
        return Err(format!(
            "traceroute {SERVER}: hops {hops:?}, expected {ROUTER_LAN} first, {SERVER} last, >= 4\n{out}"
        ));
    }
    note(&format!("✓ traceroute {} hops: {}", hops.len(), hops.join(" ")));
    Ok(())
}

fn check_metrics(lab: &Lab) -> Result<(), String> {
    let wanted: [(&str, &[&str]); 2] = [
        (
            CLAT_METRICS,
            &[
                "xlat_packets_total{direction=\"ipv4_to_ipv6\"}",
                "xlat_packets_total{direction=\"ipv6_to_ipv4\"}",
                "xlat_tun_packets_total{direction=\"rx\"}",
            ],
        ),
        (PLAT_METRICS, &["plat_bib_created_total", "plat_sessions_created_total"]),
    ];
    for (base, series) in wanted {
        // Counters are published every 250 ms of idle: poll.
        let m = wait_until(METRICS_TIMEOUT, &format!("non-zero counters at {base}/metrics"), || {
            lab.metrics(base).ok().filter(|m| series.iter().all(|s| m.get(*s).is_some_and(|v| *v > 0.0)))
        })
        .map_err(|e| format!("{e}: {:?}", lab.metrics(base)))?;
        let shown: Vec<String> = series.iter().map(|s| format!("{s} {}", m[*s])).collect();
        note(&format!("✓ metrics    {base}: {}", shown.join(", ")));
    }
    Ok(())
}

/// SIGTERM (docker stop): each translator removes its routes and exits 0.
fn check_stop(lab: &Lab) -> Result<(), String> {
    for node in [Node::Clat, Node::Plat] {
        let name = lab.container(node.name());
        docker(&["stop", "-t", &STOP_TIMEOUT_SECS.to_string(), &name])?;
        let code = docker(&["inspect", "-f", "{{.State.ExitCode}}", &name])?;
        let log = lab.logs(node);
        if code != "0" || !log.contains("routes removed") {
            return Err(format!("{name}: exit code {code} after SIGTERM:\n{}", tail(&log, 10)));
        }
    }
    note("✓ stop       SIGTERM: both translators removed their routes and exited 0");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_answers_a_and_refuses_the_rest() {
        // ID 0x1234, RD, one question: www.example.test A IN.
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in DNS_NAME.split('.') {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        let (r, name, qtype) = dns_reply(&q).unwrap();
        assert_eq!((name.as_str(), qtype), (DNS_NAME, 1));
        assert_eq!(&r[..2], &[0x12, 0x34]);
        assert_eq!(r[3] & 0x0f, 0, "rcode");
        assert_eq!(&r[6..8], &[0, 1], "one answer");
        assert_eq!(&r[r.len() - 4..], &DNS_ANSWER.octets());

        let mut aaaa = q.clone();
        let n = aaaa.len();
        aaaa[n - 3] = 28;
        let (r, _, t) = dns_reply(&aaaa).unwrap();
        assert_eq!((t, &r[6..8], r[3] & 0x0f), (28, &[0u8, 0][..], 0), "AAAA: no data");

        let mut other = q.clone();
        other[13] = b'x';
        assert_eq!(dns_reply(&other).unwrap().0[3] & 0x0f, 3, "NXDOMAIN");
        assert!(dns_reply(&q[..20]).is_none(), "truncated");
    }

    #[test]
    fn random_bytes_are_deterministic_and_varied() {
        let a = random_bytes(4096, 7);
        assert_eq!(a, random_bytes(4096, 7));
        assert_ne!(a, random_bytes(4096, 8));
        assert!(a.iter().filter(|b| **b == 0).count() < 100);
    }
}
