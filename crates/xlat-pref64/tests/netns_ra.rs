//! `RaListener` and `send_rs` on a real link: a veth pair with one end in
//! this test's namespace and the other in a fresh network namespace, where
//! a Python raw-socket script plays the router.
//!
//! Needs root (netns, veth, raw sockets), `ip` and `python3`. Without them
//! the tests print SKIP and pass, except under `CI=true`, where they fail.
//! Every wait is bounded; the namespace and the veth are removed by a
//! `Drop` guard, also when a test panics.
#![allow(missing_docs)]

use std::net::Ipv6Addr;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::{timeout, Instant};
use xlat_pref64::rfc4861::RaRepr;
use xlat_pref64::rfc8781::build_ra;
use xlat_pref64::{build_ra_with_pref64, Pref64Repr, Prefix, RaListener, ScaledLifetime};

/// Bound on each wait for a packet.
const WAIT: Duration = Duration::from_secs(5);
/// Bound on setting up the link.
const SETUP: Duration = Duration::from_secs(10);
/// How many times an unsolicited RA is sent before giving up.
const SEND_ATTEMPTS: u32 = 3;

static LAB_SEQ: AtomicU32 = AtomicU32::new(0);

/// Sends each hex-encoded ICMPv6 message given after the interface name to
/// ff02::1 on that interface; a `hop=N:` prefix overrides hop limit 255.
const SEND_RA_PY: &str = r#"
import socket, sys
ifname = sys.argv[1]
idx = socket.if_nametoindex(ifname)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
for arg in sys.argv[2:]:
    hop = 255
    if arg.startswith("hop="):
        h, arg = arg.split(":", 1)
        hop = int(h[4:])
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, hop)
    s.sendto(bytes.fromhex(arg), ("ff02::1", 0, 0, idx))
"#;

/// Joins ff02::2, prints "ready", waits (bounded) for a Router
/// Solicitation and answers its sender with the hex-encoded RA.
const ANSWER_RS_PY: &str = r#"
import socket, struct, sys
ifname, ra = sys.argv[1], bytes.fromhex(sys.argv[2])
idx = socket.if_nametoindex(ifname)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
             socket.inet_pton(socket.AF_INET6, "ff02::2") + struct.pack("@I", idx))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
s.settimeout(10)
print("ready", flush=True)
while True:
    msg, src = s.recvfrom(2048)
    if msg and msg[0] == 133:
        break
dst = src[0].split("%")[0]
if dst == "::":
    dst = "ff02::1"
s.sendto(ra, (dst, 0, 0, idx))
print("answered", dst, flush=True)
"#;

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_root() -> bool {
    // The effective UID is the second field of the "Uid:" line.
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
            .unwrap_or(false)
    })
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// `false` (after printing why) when this machine cannot run `test`;
/// panics instead under `CI=true`.
fn can_run(test: &str) -> bool {
    let missing = if !is_root() {
        Some("needs root")
    } else if !have("ip", "-V") {
        Some("needs iproute2 `ip`")
    } else if !have("python3", "--version") {
        Some("needs python3")
    } else {
        None
    };
    if let Some(why) = missing {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{test}: {why}, and CI=true");
        eprintln!("SKIP {test}: {why}");
        return false;
    }
    true
}

/// A fresh lab, or `None` when [`can_run`] says no.
fn lab_or_skip(test: &str) -> Option<Lab> {
    can_run(test).then(Lab::new)
}

/// A namespace with a veth pair: `host` here, `peer` in `ns`.
struct Lab {
    ns: String,
    host: String,
    peer: String,
}

impl Lab {
    fn new() -> Self {
        let pid = std::process::id();
        let seq = LAB_SEQ.fetch_add(1, Ordering::Relaxed);
        // Interface names are at most 15 bytes: "xp" + pid (≤ 7) + "h" + seq.
        let lab = Self {
            ns: format!("xlat-pref64-{pid}-{seq}"),
            host: format!("xp{pid}h{seq}"),
            peer: format!("xp{pid}p{seq}"),
        };
        run(Command::new("ip").args(["netns", "add", &lab.ns]));
        run(Command::new("ip")
            .args(["link", "add", &lab.host, "type", "veth", "peer", "name", &lab.peer, "netns", &lab.ns]));
        // This side must not act on the test RAs (no routes from them), and
        // neither side should hold its link-local address back for DAD.
        for (knob, value) in [("accept_ra", "0"), ("accept_dad", "0")] {
            let path = format!("/proc/sys/net/ipv6/conf/{}/{knob}", lab.host);
            std::fs::write(&path, value).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        lab.exec(&["sh", "-c", &format!("echo 0 > /proc/sys/net/ipv6/conf/{}/accept_dad", lab.peer)]);
        run(Command::new("ip").args(["link", "set", &lab.host, "up"]));
        lab.exec(&["ip", "link", "set", &lab.peer, "up"]);
        lab
    }

    /// Runs a command inside the namespace, which must succeed.
    fn exec(&self, args: &[&str]) -> Output {
        run(Command::new("ip").args(["netns", "exec", &self.ns]).args(args))
    }

    /// The link-local address of `dev` (in the namespace if `in_ns`), once
    /// it exists; bounded by `SETUP`.
    async fn link_local(&self, dev: &str, in_ns: bool) -> Ipv6Addr {
        let deadline = Instant::now() + SETUP;
        loop {
            let mut cmd = Command::new("ip");
            if in_ns {
                cmd.args(["netns", "exec", &self.ns, "ip"]);
            }
            let out = run(cmd.args(["-6", "-o", "addr", "show", "dev", dev, "scope", "link"]));
            let text = String::from_utf8_lossy(&out.stdout);
            let addr = text
                .split_whitespace()
                .skip_while(|w| *w != "inet6")
                .nth(1)
                .and_then(|a| a.split('/').next())
                .and_then(|a| a.parse().ok());
            if let (Some(addr), false) = (addr, text.contains("tentative")) {
                return addr;
            }
            assert!(Instant::now() < deadline, "no link-local address on {dev}: {text}");
            // Polling a condition with a deadline, not sleeping to synchronise.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn send_ra(&self, msgs: &[String]) {
        let mut args = vec!["python3", "-c", SEND_RA_PY, &self.peer];
        args.extend(msgs.iter().map(String::as_str));
        self.exec(&args);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting one end removes the pair; deleting the namespace would
        // too, but do both so nothing is left whichever step failed.
        let _ = Command::new("ip").args(["link", "del", &self.host]).stderr(Stdio::null()).status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).stderr(Stdio::null()).status();
    }
}

fn ifindex(dev: &str) -> u32 {
    std::fs::read_to_string(format!("/sys/class/net/{dev}/ifindex")).unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn rfc8781_ra_heard_on_veth() {
    let Some(lab) = lab_or_skip("rfc8781_ra_heard_on_veth") else { return };
    let router = lab.link_local(&lab.peer, true).await;
    let mut listener = RaListener::bind(Some(&lab.host)).unwrap();

    let bad_prefix: Prefix = "2001:db8:bad::/48".parse().unwrap();
    let good_prefix: Prefix = "2001:db8:64::/96".parse().unwrap();
    // RFC 4861 §6.1.2: an RA that crossed a router (hop limit < 255) is dropped.
    let forwarded = format!("hop=64:{}", hex(&build_ra_with_pref64(bad_prefix, Duration::from_secs(600))));
    // A valid RA with a valid PREF64 and one with PLC 7 (ignored, RFC 8781 §4).
    let mut with_bad_plc = Pref64Repr { prefix: bad_prefix, lifetime: ScaledLifetime::MAX }.to_bytes();
    with_bad_plc[3] |= 0b111;
    let mut ra = build_ra(
        &RaRepr { router_lifetime: 0, ..RaRepr::default() },
        &[Pref64Repr { prefix: good_prefix, lifetime: ScaledLifetime::new(75).unwrap() }],
    );
    ra.extend_from_slice(&with_bad_plc);
    let valid = hex(&ra);

    let mut heard = None;
    for _ in 0..SEND_ATTEMPTS {
        lab.send_ra(&[forwarded.clone(), valid.clone()]);
        if let Ok(res) = timeout(WAIT, listener.next()).await {
            heard = Some(res.unwrap());
            break;
        }
    }
    let heard = heard.expect("no RA heard");
    assert_eq!(heard.prefix, good_prefix, "the forwarded RA must not be accepted");
    assert_eq!(heard.lifetime, Duration::from_secs(600));
    assert_eq!(heard.router, router);
    assert_eq!(heard.ifindex, ifindex(&lab.host));
    assert_eq!(heard.router_lifetime, Duration::ZERO);
    let c = listener.counters();
    assert!(c.invalid >= 1, "hop limit 64 RA counted as invalid: {c:?}");
    assert!(c.pref64_ignored >= 1, "PLC 7 option counted: {c:?}");
}

#[tokio::test]
async fn rfc4861_rs_answered_by_router() {
    let Some(lab) = lab_or_skip("rfc4861_rs_answered_by_router") else { return };
    lab.link_local(&lab.host, false).await;
    lab.link_local(&lab.peer, true).await;
    let mut listener = RaListener::bind(Some(&lab.host)).unwrap();

    let prefix: Prefix = "64:ff9b::/96".parse().unwrap();
    let ra = hex(&build_ra_with_pref64(prefix, Duration::from_secs(1800)));
    let mut router = tokio::process::Command::new("ip")
        .args(["netns", "exec", &lab.ns, "python3", "-c", ANSWER_RS_PY, &lab.peer, &ra])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(router.stdout.take().unwrap()).lines();
    let ready = timeout(SETUP, lines.next_line()).await.expect("router not ready").unwrap();
    assert_eq!(ready.as_deref(), Some("ready"));

    listener.send_rs().await.unwrap();
    let heard = timeout(WAIT, listener.next()).await.expect("no RA in answer to the RS").unwrap();
    assert_eq!(heard.prefix, prefix);
    assert_eq!(heard.lifetime, Duration::from_secs(1800));
    let status = timeout(WAIT, router.wait()).await.expect("router did not exit").unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn send_rs_needs_an_interface() {
    if !can_run("send_rs_needs_an_interface") {
        return;
    }
    let listener = RaListener::bind(None).unwrap();
    let err = listener.send_rs().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(RaListener::bind(Some("no/such")).is_err());
}
