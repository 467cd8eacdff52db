//! A small network-namespace toolkit for the lab tests.
//!
//! - [`Netns`]: a uniquely named namespace (`xlt-<pid>-<n>`) that is deleted
//!   when the guard drops, panics included. Commands run inside it with
//!   `ip netns exec`; [`Netns::enter`] runs Rust code (e.g. opening sockets)
//!   on a thread that has joined it.
//! - [`Veth`]: a veth pair between two namespaces, deleted on drop.
//! - [`require_root`] / [`require_tool`]: skip a test with a printed message
//!   when the machine cannot run it, but fail under `CI=true`, where the
//!   tests must run.
//! - [`wait_until`]: every wait is a bounded poll of a condition.
//!
//! Namespaces left behind by a test process that was killed outright
//! (`SIGKILL`, no `Drop`) are removed by the next [`Netns::new`]: a name
//! whose pid is no longer alive is stale, and the processes still inside it
//! (which that test started) are killed first.

use std::io::Write as _;
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

/// Prefix of every namespace this module creates.
pub const PREFIX: &str = "xlt-";

/// Where `ip netns` keeps its namespace handles.
const NETNS_RUN_DIR: &str = "/run/netns";

/// Interval between two polls of a condition in [`wait_until`].
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// How long `ip netns add` / `ip netns exec` may take before it is an error.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Whether this run is CI (`CI=true`), where a missing prerequisite is a
/// failure rather than a skip.
#[must_use]
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Prints a skip message on the real stderr (visible without
/// `--nocapture`), or panics under CI.
fn skip(test: &str, why: &str) -> bool {
    if in_ci() {
        panic!("{test}: {why}, and CI=true: this test must run in CI");
    }
    // Written to the process's stderr directly, not through eprintln!, so
    // the test harness does not capture it.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
    false
}

/// The effective uid of this process, from `/proc/self/status`.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    // Uid: real effective saved filesystem
    line.split_whitespace().nth(2)?.parse().ok()
}

/// `true` when running as root. Otherwise prints
/// `SKIPPED <test>: needs root ...` and returns `false`, or panics when
/// `CI=true`.
#[must_use]
pub fn require_root(test: &str) -> bool {
    match effective_uid() {
        Some(0) => true,
        Some(uid) => skip(test, &format!("needs root for network namespaces (euid is {uid})")),
        None => skip(test, "cannot read the effective uid from /proc/self/status"),
    }
}

/// Finds `tool` in `PATH`, `/usr/sbin` or `/sbin`.
#[must_use]
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// `true` when `tool` is installed. Otherwise prints
/// `SKIPPED <test>: <tool> is not installed ...` and returns `false`, or
/// panics when `CI=true`.
#[must_use]
pub fn require_tool(test: &str, tool: &str) -> bool {
    if find_tool(tool).is_some() {
        true
    } else {
        skip(test, &format!("{tool} is not installed (apt-get install {tool})"))
    }
}

/// Polls `cond` every few milliseconds until it returns `Some`, or fails
/// after `timeout` naming `what` was awaited.
pub fn wait_until<T>(timeout: Duration, what: &str, mut cond: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = cond() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Runs `cmd` to completion within `timeout`, killing it otherwise.
/// Fails when it exits non-zero, with its stderr in the message.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawning {shown}"))?;
    // Drain both pipes on their own threads so a chatty command cannot
    // block on a full pipe while we poll for its exit.
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
        Ok(status) => status.with_context(|| format!("waiting for {shown}"))?,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    let out = Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() };
    if !status.success() {
        bail!("{shown} failed ({status}): {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(out)
}

/// Whether the process `pid` is alive (has a `/proc` entry).
#[must_use]
pub fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Deletes namespaces named `xlt-<pid>-<n>` whose process is gone.
fn sweep_stale() {
    let Ok(dir) = std::fs::read_dir(NETNS_RUN_DIR) else { return };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else { continue };
        let Some((pid, n)) = rest.split_once('-') else { continue };
        let (Ok(pid), true) = (pid.parse::<u32>(), n.bytes().all(|b| b.is_ascii_digit())) else { continue };
        if pid != std::process::id() && !pid_alive(pid) {
            // Processes the dead test started in it (e.g. tayga) outlive it:
            // stop them, by pid, then delete the namespace.
            if let Ok(out) = run(Command::new("ip").args(["netns", "pids", &name]), COMMAND_TIMEOUT) {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|p| p.parse().ok()) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
                }
            }
            let _ = run(Command::new("ip").args(["netns", "delete", &name]), COMMAND_TIMEOUT);
        }
    }
}

/// A network namespace that exists for the lifetime of this guard.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a namespace named `xlt-<pid>-<n>`, unique within this
    /// process and across concurrently running test processes, with its
    /// loopback up.
    pub fn new() -> Result<Self> {
        sweep_stale();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}-{n}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]), COMMAND_TIMEOUT)?;
        // From here on, Drop deletes it.
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name (as `ip netns` knows it).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Path of the namespace handle (`/run/netns/<name>`).
    #[must_use]
    pub fn path(&self) -> PathBuf {
        Path::new(NETNS_RUN_DIR).join(&self.name)
    }

    /// A [`Command`] that runs `program` inside the namespace
    /// (`ip netns exec <name> program`).
    #[must_use]
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// Runs `args[0] args[1..]` inside the namespace to completion (bounded
    /// in time); fails on a non-zero exit.
    pub fn exec(&self, args: &[&str]) -> Result<Output> {
        let (program, rest) = args.split_first().context("exec needs a program")?;
        run(self.command(program).args(rest), COMMAND_TIMEOUT)
    }

    /// Runs `ip -n <name> args...` (bounded in time).
    pub fn ip(&self, args: &[&str]) -> Result<()> {
        run(Command::new("ip").args(["-n", &self.name]).args(args), COMMAND_TIMEOUT).map(drop)
    }

    /// Sets a sysctl inside the namespace, e.g.
    /// `("net.ipv6.conf.all.forwarding", "1")`.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.exec(&["sysctl", "-q", "-w", &format!("{key}={value}")]).map(drop)
    }

    /// The interface index of `ifname` in the namespace, if it exists.
    #[must_use]
    pub fn ifindex(&self, ifname: &str) -> Option<u32> {
        // /sys shows the namespace of whoever mounted it, so ask `ip`.
        let mut cmd = Command::new("ip");
        cmd.args(["-n", &self.name, "-o", "link", "show", "dev", ifname]);
        let out = run(&mut cmd, COMMAND_TIMEOUT).ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.split(':').next()?.trim().parse().ok()
    }

    /// Waits (bounded) for `ifname` to appear in the namespace and returns
    /// its interface index.
    pub fn wait_link(&self, ifname: &str, timeout: Duration) -> Result<u32> {
        wait_until(timeout, &format!("interface {ifname} in {}", self.name), || self.ifindex(ifname))
    }

    /// Runs `f` on a fresh thread that has joined this namespace and returns
    /// its result. Sockets created by `f` belong to the namespace for the
    /// rest of their life, wherever they are used afterwards.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        let handle = std::fs::File::open(self.path()).with_context(|| format!("opening {}", self.path().display()))?;
        std::thread::scope(|s| {
            s.spawn(move || {
                nix::sched::setns(handle.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).context("setns")?;
                f()
            })
            .join()
            .map_err(|_| anyhow::anyhow!("thread inside {} panicked", self.name))?
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace also deletes every interface in it (and a
        // veth's peer elsewhere); processes still inside keep it alive
        // until they exit, so owners stop them first.
        if let Err(e) = run(Command::new("ip").args(["netns", "delete", &self.name]), COMMAND_TIMEOUT) {
            let _ = writeln!(std::io::stderr(), "warning: could not delete network namespace {}: {e:#}", self.name);
        }
    }
}

/// A veth pair `a_if` (in namespace `a`) <-> `b_if` (in namespace `b`),
/// both ends up, deleted when dropped (or with either namespace).
#[derive(Debug)]
pub struct Veth {
    ns: String,
    ifname: String,
}

impl Veth {
    /// Creates the pair and brings both ends up.
    pub fn new(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<Self> {
        let mut cmd = Command::new("ip");
        cmd.args(["link", "add", a_if, "netns", a.name(), "type", "veth", "peer", "name", b_if, "netns", b.name()]);
        run(&mut cmd, COMMAND_TIMEOUT)?;
        let veth = Self { ns: a.name().to_owned(), ifname: a_if.to_owned() };
        a.ip(&["link", "set", a_if, "up"])?;
        b.ip(&["link", "set", b_if, "up"])?;
        Ok(veth)
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        // Already gone if its namespace was deleted first: nothing to do.
        let _ = run(Command::new("ip").args(["-n", &self.ns, "link", "delete", &self.ifname]), COMMAND_TIMEOUT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_is_readable() {
        assert!(effective_uid().is_some());
    }

    #[test]
    fn missing_tool_skips_or_fails_in_ci() {
        let tool = "xlat-lab-no-such-tool";
        if in_ci() {
            assert!(std::panic::catch_unwind(|| require_tool("netns self-test (an expected skip)", tool)).is_err());
        } else {
            assert!(!require_tool("netns self-test (an expected skip)", tool));
        }
    }

    #[test]
    fn veth_joins_two_namespaces_and_everything_is_removed() {
        const TEST: &str = "veth_joins_two_namespaces_and_everything_is_removed";
        if !require_root(TEST) || !require_tool(TEST, "ip") {
            return;
        }
        let (a, b) = (Netns::new().unwrap(), Netns::new().unwrap());
        assert_ne!(a.name(), b.name());
        let veth = Veth::new(&a, "xa", &b, "xb").unwrap();
        assert!(a.ifindex("xa").is_some() && b.ifindex("xb").is_some());
        assert!(a.ifindex("xb").is_none(), "each end lives in its own namespace");
        // Code run by enter() sees the namespace's interfaces.
        let index = b.enter(|| Ok(nix::net::if_::if_nametoindex("xb")?)).unwrap();
        assert_eq!(Some(index), b.ifindex("xb"));
        drop(veth);
        wait_until(Duration::from_secs(5), "the veth to go", || b.ifindex("xb").is_none().then_some(())).unwrap();
        let paths = [a.path(), b.path()];
        drop((a, b));
        assert!(paths.iter().all(|p| !p.exists()));
    }

    #[test]
    fn wait_until_is_bounded() {
        let start = Instant::now();
        let r: Result<()> = wait_until(Duration::from_millis(50), "nothing", || None);
        assert!(r.is_err());
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
