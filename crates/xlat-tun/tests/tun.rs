//! Tests against a real TUN device. They need root (CAP_NET_ADMIN): without
//! it they print why and pass, except under `CI=true`, where they fail.
//!
//! The devices are created in the current network namespace under unique
//! names (`xt<pid><tag>`) and vanish when their last queue is dropped. The
//! only traffic is between the kernel and the test's own TUN queue, on
//! IPv6 link-local addresses scoped to that TUN alone.

use std::io::{self, Write as _};
use std::net::Ipv6Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use xlat_core::Translator;
use xlat_tun::{open, run_worker, IoCounters, PacketIo, TunConfig, TunError, TunQueue};

/// Bound on every wait.
const WITHIN: Duration = Duration::from_secs(10);

/// Whether the test may run; prints the reason when it may not.
fn have_root(test: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: needs root (CAP_NET_ADMIN) to create a TUN, and CI=true: run CI as root"
    );
    // Straight to stderr, past the harness's output capture, so the skip
    // shows in a normal `cargo test` run.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: needs root (CAP_NET_ADMIN) to create a TUN");
    false
}

fn unique_name(tag: &str) -> String {
    format!("xt{}{tag}", std::process::id())
}

/// `ip -j link show dev NAME`, parsed; `None` when the interface is gone.
fn link(name: &str) -> Option<serde_json::Value> {
    let out = Command::new("ip").args(["-j", "link", "show", "dev", name]).output().expect("run ip");
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j prints JSON");
    v.as_array().and_then(|a| a.first()).cloned()
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Waits (bounded) for the interface to disappear.
fn assert_gone(name: &str) {
    let deadline = Instant::now() + WITHIN;
    while link(name).is_some() {
        assert!(Instant::now() < deadline, "{name} still exists after its queues were dropped");
        std::thread::yield_now();
    }
}

#[tokio::test]
async fn tun_is_up_with_its_mtu_and_removed_on_drop() {
    if !have_root("tun_is_up_with_its_mtu_and_removed_on_drop") {
        return;
    }
    let name = unique_name("a");
    let dev = open(&TunConfig { name: name.clone(), mtu: 1400, queues: 2, offload: false }).unwrap();
    assert_eq!(dev.name(), name);
    assert_eq!(dev.mtu(), 1400);
    assert!(dev.if_index() > 0);
    assert_eq!(dev.queues().len(), 2);
    assert_eq!(dev.queues()[1].index(), 1);
    assert_eq!(dev.queues()[1].mtu().unwrap(), 1400);

    let l = link(&name).expect("the interface exists");
    assert_eq!(l["mtu"], 1400, "{l}");
    assert_eq!(l["ifindex"], dev.if_index(), "{l}");
    let flags = l["flags"].as_array().expect("flags");
    assert!(flags.iter().any(|f| f == "UP"), "not up: {l}");
    assert!(!flags.iter().any(|f| f == "NO-CARRIER"), "no queue attached: {l}");

    // A second daemon on the same name is refused rather than given a
    // share of the traffic.
    let again = open(&TunConfig { name: name.clone(), ..TunConfig::default() }).unwrap_err();
    assert!(matches!(again, TunError::Exists { .. }), "{again}");

    // One queue keeps the interface alive; the last one removes it.
    let mut queues = dev.into_queues();
    queues.pop();
    assert!(link(&name).is_some(), "removed while a queue was still open");
    drop(queues);
    assert_gone(&name);
}

#[tokio::test]
async fn kernel_answers_a_ping_written_to_a_queue() {
    if !have_root("kernel_answers_a_ping_written_to_a_queue") {
        return;
    }
    let name = unique_name("b");
    let dev = open(&TunConfig { name: name.clone(), mtu: 1500, queues: 2, offload: false }).unwrap();
    // Link-local addresses are scoped to this TUN, so they cannot clash
    // with any address or route of the host: the kernel is fe80::1 on the
    // TUN, the test is fe80::2 behind it. No DAD, so the address is usable
    // at once; it goes away with the interface.
    let (local, peer) = (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1), Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2));
    ip(&["-6", "addr", "add", &format!("{local}/64"), "dev", &name, "nodad"]);

    let id = std::process::id() as u16;
    let request = {
        let b = PacketBuilder::ipv6(peer.octets(), local.octets(), 64).icmpv6_echo_request(id, 1);
        let mut p = Vec::with_capacity(b.size(8));
        b.write(&mut p, b"xlat-tun").unwrap();
        p
    };
    let mut queues = dev.into_queues();

    // The kernel may also send router solicitations and MLD reports; skip
    // them. The reply comes back on whichever queue the kernel picks. The
    // request is sent again every half second until then (a busy machine
    // may drop one, as any network may), within the deadline.
    let reply = tokio::time::timeout(WITHIN, async {
        let (mut buf0, mut buf1) = (vec![0u8; 65536], vec![0u8; 65536]);
        let mut resend = tokio::time::interval(Duration::from_millis(500));
        loop {
            let (q0, q1) = queues.split_at_mut(1);
            let pkt = tokio::select! {
                n = q0[0].recv(&mut buf0) => &buf0[..n.unwrap()],
                n = q1[0].recv(&mut buf1) => &buf1[..n.unwrap()],
                _ = resend.tick() => {
                    q0[0].send(&request).await.unwrap();
                    continue;
                }
            };
            if is_echo_reply(pkt, local, peer, id) {
                return pkt.to_vec();
            }
        }
    })
    .await
    .expect("the kernel answered the ping within the deadline");
    assert_eq!(reply.len(), request.len());

    drop(queues);
    assert_gone(&name);
}

fn is_echo_reply(pkt: &[u8], from: Ipv6Addr, to: Ipv6Addr, id: u16) -> bool {
    let Ok(sliced) = SlicedPacket::from_ip(pkt) else { return false };
    let (Some(NetSlice::Ipv6(ip)), Some(TransportSlice::Icmpv6(icmp))) = (sliced.net, sliced.transport) else {
        return false;
    };
    ip.header().source_addr() == from
        && ip.header().destination_addr() == to
        && matches!(icmp.icmp_type(), etherparse::Icmpv6Type::EchoReply(h) if h.id == id)
}

#[tokio::test]
async fn taking_a_non_tun_name_fails_clearly() {
    if !have_root("taking_a_non_tun_name_fails_clearly") {
        return;
    }
    // "lo" exists: refused before the kernel is asked.
    let err = open(&TunConfig::new("lo")).unwrap_err();
    assert!(matches!(err, TunError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("ip link del lo"), "{err}");
}

#[tokio::test]
async fn unprivileged_open_explains_the_missing_capability() {
    if rustix::process::geteuid().is_root() {
        return; // The other tests cover root; this one is the non-root path.
    }
    let err = open(&TunConfig::new(unique_name("c"))).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("CAP_NET_ADMIN") || msg.contains("CAP_MKNOD"), "{msg}");
    let _ = writeln!(std::io::stderr(), "non-root open fails with: {msg}");
}

/// A worker over a TUN queue with a translator can be spawned on a
/// multi-threaded runtime (checked by compiling it).
#[allow(dead_code)]
fn spawn_translating_worker(
    queue: TunQueue,
    translator: Translator,
    shutdown: watch::Receiver<bool>,
    counters: Arc<IoCounters>,
) -> JoinHandle<io::Result<()>> {
    tokio::spawn(run_worker(queue, translator, shutdown, counters))
}

/// Worker threads (one single-threaded runtime each) attach their detached
/// queues, translate what the kernel routes into the TUN, stop on shutdown,
/// and the interface goes away with the last of them.
#[test]
fn worker_threads_translate_and_stop_on_shutdown() {
    if !have_root("worker_threads_translate_and_stop_on_shutdown") {
        return;
    }
    let name = unique_name("w");
    let tun = xlat_tun::open_detached(&TunConfig { name: name.clone(), mtu: 1500, queues: 2, offload: true }).unwrap();
    assert!(tun.offload());
    let (stop, shutdown) = watch::channel(false);
    let counters = IoCounters::new();
    let mut workers = xlat_tun::Workers::new();
    for queue in tun.into_queues() {
        let translator = Translator::new(xlat_core::Config {
            pool6: Some("2001:db8:64::/96".parse().unwrap()),
            ..xlat_core::Config::default()
        })
        .unwrap();
        workers.spawn("test-worker", queue, translator, shutdown.clone(), Arc::clone(&counters)).unwrap();
    }
    // The kernel sends its own MLD/ND traffic into the TUN once it is up
    // with an address: wait until a worker has read something.
    ip(&["-6", "addr", "add", "fe80::1/64", "dev", &name, "nodad"]);
    ip(&["link", "set", &name, "up"]);
    let deadline = Instant::now() + WITHIN;
    let mut seen = false;
    while Instant::now() < deadline && !seen {
        // Nudge the kernel: a ping to a link-local peer behind the TUN.
        let _ = Command::new("ping").args(["-6", "-c", "1", "-W", "1", &format!("fe80::2%{name}")]).output();
        seen = counters.snapshot().rx_packets > 0;
    }
    assert!(seen, "the worker threads read what the kernel sent into the TUN");
    stop.send(true).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for _ in 0..2 {
        let (_, result) = rt.block_on(async { tokio::time::timeout(WITHIN, workers.next_exit()).await }).unwrap();
        result.unwrap();
    }
    workers.join();
    assert_gone(&name);
}
