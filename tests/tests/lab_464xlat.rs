//! 464XLAT end to end with both translators ours, and our PLAT on its own.
//!
//! - **The full chain**: an IPv4-only LAN host behind a RouterOS-like
//!   router reaches IPv4 servers through our CLAT (`clat run` in the
//!   customer's container namespace), the IPv6-only provider and our PLAT
//!   (`plat run`, a stateful NAT64, in the provider's container namespace):
//!   ICMP echo, a 10 MB HTTP download checked by SHA-256, DNS over UDP and
//!   TCP, iperf3 TCP and UDP, traceroute.
//! - **An IPv6-only host** (`host6a`) reaches the same IPv4 servers through
//!   the PLAT alone, with the same tools.
//! - **What only a stateful PLAT shows**: 2,000 concurrent TCP connections
//!   from one client; a client at its session limit cannot starve another;
//!   sessions expire on a shortened timer; a static BIB entry publishes an
//!   IPv6-only web server to IPv4; two IPv6 clients meet through pool4
//!   (hairpinning); RFC 1918 destinations are refused, and the lab's
//!   documentation-range servers are reachable only thanks to the
//!   allow-list entry.
//!
//! Settings a test changes (limits, timers, the allow-list) are applied
//! with a SIGHUP reload of the PLAT's settings file and restored by a guard
//! when the test ends, passed or not. `lab_e2e.rs` has the CLAT's side and
//! the TAYGA interoperability test.
//!
//! The tests share one lab and take turns on it. Without root, a tool of
//! the lab, or `clat` / `plat` binaries with `run`, they print `SKIPPED
//! ...` and pass; with `CI=true` they fail instead.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use xlat_lab::lab::servers::{FILE_10M, FILE_1M, HTTP6_SERVER};
use xlat_lab::lab::topology::{self as t, from_pool6, in_xlat_pool4, pool6};
use xlat_lab::lab::{self, ClatKind, Lab, LabOptions, PlatConfig, PlatKind, Role};
use xlat_lab::netns::{in_ci, require_root, require_tool, wait_until};

static LAB: Mutex<Option<Result<Lab, String>>> = Mutex::new(None);

/// The rate of the iperf3 UDP tests: modest, fixed.
const UDP_RATE: u64 = 10_000_000;
/// How long each iperf3 test runs.
const IPERF_SECS: u32 = 2;

fn skip(test: &str, why: &str) -> bool {
    if in_ci() {
        panic!("{test}: {why}, and CI=true: this test must run in CI");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
    false
}

fn can_run(test: &str) -> bool {
    if !require_root(test) {
        return false;
    }
    if let Some(tool) = lab::missing_tool() {
        return require_tool(test, tool);
    }
    let opts = options();
    if let ClatKind::Xlat(bin) = &opts.clat {
        if !lab::clat_supports_run(bin) {
            return skip(test, &format!("{} has no `run` subcommand (cargo build -p clat)", bin.display()));
        }
    }
    if !lab::clat_supports_run(&opts.plat_bin) {
        return skip(test, &format!("{} has no `run` subcommand (cargo build -p plat)", opts.plat_bin.display()));
    }
    true
}

/// The lab with our PLAT whatever `XLAT_LAB_PLAT` says (and whatever CLAT
/// the environment selects).
fn options() -> LabOptions {
    LabOptions { plat: PlatKind::Xlat, ..LabOptions::from_env() }
}

struct LabGuard(MutexGuard<'static, Option<Result<Lab, String>>>);

impl std::ops::Deref for LabGuard {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        match self.0.as_ref() {
            Some(Ok(lab)) => lab,
            _ => unreachable!("checked in shared()"),
        }
    }
}

fn shared(test: &str) -> Option<LabGuard> {
    if !can_run(test) {
        return None;
    }
    let mut guard = LAB.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some(Lab::start(options()).map_err(|e| format!("{e:#}")));
    }
    if let Some(Err(e)) = guard.as_ref() {
        panic!("{test}: the lab could not be built: {e}");
    }
    Some(LabGuard(guard))
}

fn logs(lab: &Lab) -> String {
    let tail = |text: String| {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    format!("\n--- CLAT output:\n{}\n--- PLAT output (tail):\n{}", lab.clat_log(), tail(lab.plat_log()))
}

/// One series of our PLAT's `/metrics` (0 when absent).
fn metric(lab: &Lab, series: &str) -> f64 {
    lab.plat_metric(series).unwrap_or_else(|e| panic!("scraping the PLAT's /metrics: {e:#}{}", logs(lab)))
}

/// Applies a PLAT configuration (SIGHUP reload) for one test and restores
/// the lab's when dropped, even if the test panics.
struct Reconfigured<'a>(&'a Lab);

impl<'a> Reconfigured<'a> {
    fn apply(lab: &'a Lab, config: &PlatConfig) -> Self {
        lab.reload_plat(config).unwrap_or_else(|e| panic!("reloading the PLAT: {e:#}{}", logs(lab)));
        Self(lab)
    }
}

impl Drop for Reconfigured<'_> {
    fn drop(&mut self) {
        // No panic here: this may run while the test unwinds.
        if let Err(e) = self.0.reload_plat(&PlatConfig::lab()) {
            eprintln!("warning: could not restore the PLAT's configuration: {e:#}");
        }
    }
}

/// The addresses a traceroute saw.
fn seen(hops: &[lab::probe::Hop], a: IpAddr) -> bool {
    hops.iter().any(|h| h.addrs.contains(&a))
}

/// A 10 MB download from `from` (`host`: how it addresses the server),
/// checked by SHA-256; returns the addresses the server saw the request
/// from.
fn download_10mb(lab: &Lab, from: Role, host: &str) -> Vec<Ipv4Addr> {
    let file = lab.file(FILE_10M).unwrap().clone();
    let to = lab.workdir().join(format!("{from}-10M.bin"));
    let h = lab.http_get(from, &file.url_at(host), &to).unwrap_or_else(|e| panic!("{e:#}{}", logs(lab)));
    let _ = std::fs::remove_file(&to);
    assert_eq!((h.status, h.bytes), (200, file.size), "{h:?}");
    assert_eq!(h.sha256, file.sha256, "the 10 MB file arrived corrupted");
    lab.http_log()
        .lines()
        .filter(|l| l.contains(&format!("GET /{FILE_10M}")))
        .filter_map(|l| l.split_whitespace().next().and_then(|a| a.parse().ok()))
        .collect()
}

/// DNS over UDP and over TCP from `from` to the server at `server`.
fn dns_udp_and_tcp(lab: &Lab, from: Role, server: &str) {
    let d = lab.dig(from, server, t::SERVER_NAME, "A").unwrap();
    assert_eq!((d.status.as_str(), d.transport.as_deref()), ("NOERROR", Some("UDP")), "{d:?}{}", logs(lab));
    assert_eq!(d.answers, vec![t::SERVER.to_owned()]);
    let d = lab.dig_tcp(from, server, t::SERVER_NAME, "A").unwrap();
    assert_eq!((d.status.as_str(), d.transport.as_deref()), ("NOERROR", Some("TCP")), "{d:?}{}", logs(lab));
    assert_eq!(d.answers, vec![t::SERVER.to_owned()]);
}

/// iperf3 TCP and UDP (at [`UDP_RATE`]) from `from` to `server`.
fn iperf3_tcp_and_udp(lab: &Lab, from: Role, server: &str) {
    let tcp = lab.iperf3(from, server, IPERF_SECS, false).unwrap_or_else(|e| panic!("{e:#}{}", logs(lab)));
    assert!(tcp.bits_per_second > 1e6, "iperf3 TCP from {from}: {tcp:?}");
    let udp = lab.iperf3_udp(from, server, IPERF_SECS, UDP_RATE).unwrap_or_else(|e| panic!("{e:#}{}", logs(lab)));
    assert!(udp.packets > 1000, "iperf3 UDP from {from}: {udp:?}");
    assert!(udp.lost_percent < 10.0, "iperf3 UDP from {from} lost too much at {UDP_RATE} bit/s: {udp:?}");
    let _ = writeln!(
        std::io::stderr(),
        "iperf3 from {from}: TCP {:.1} Mbit/s ({} retransmits); UDP {:.1} Mbit/s, {} of {} lost, jitter {:.3} ms",
        tcp.bits_per_second / 1e6,
        tcp.retransmits,
        udp.bits_per_second / 1e6,
        udp.lost_packets,
        udp.packets,
        udp.jitter_ms
    );
}

/// Runs `curl` from `from` toward `url` with a short connect timeout and
/// returns its exit code (7: could not connect, i.e. refused with an ICMP
/// error; 28: timed out; 0: it worked).
fn curl_code(lab: &Lab, from: Role, url: &str) -> i32 {
    let out = lab
        .exec_any(
            from,
            &["curl", "-sS", "-o", "/dev/null", "--connect-timeout", "3", "-m", "10", url],
            Duration::from_secs(15),
        )
        .unwrap();
    out.status.code().unwrap_or(-1)
}

// ---------------------------------------------------------------------------
// The full chain: lan -> CLAT -> IPv6-only provider -> PLAT -> server.

#[test]
fn xlat464_icmp_echo_lan_to_server() {
    let Some(lab) = shared("xlat464_icmp_echo_lan_to_server") else { return };
    let p = lab.ping(Role::Lan, t::SERVER, 5).unwrap();
    assert!(p.all_answered(), "{p:?}{}", logs(&lab));
    assert!(metric(&lab, "plat_bib_entries{proto=\"icmp\"}") >= 1.0, "an ICMP mapping");
}

#[test]
fn xlat464_http_download_10mb_sha256_from_pool4() {
    let Some(lab) = shared("xlat464_http_download_10mb_sha256_from_pool4") else { return };
    // The server saw the request from pool4: stateful NAT64, not SIIT.
    let clients = download_10mb(&lab, Role::Lan, t::SERVER);
    assert!(clients.iter().copied().any(in_xlat_pool4), "the server did not see a pool4 client: {clients:?}");
    assert!(metric(&lab, "plat_sessions_created_total") >= 1.0);
    let usage = metric(&lab, "plat_pool4_utilization_percent{address=\"203.0.113.128\",proto=\"tcp\"}");
    assert!(usage > 0.0, "pool4 utilisation per address: 203.0.113.128 holds at least the static entry");
}

#[test]
fn xlat464_dns_over_udp_and_tcp() {
    let Some(lab) = shared("xlat464_dns_over_udp_and_tcp") else { return };
    dns_udp_and_tcp(&lab, Role::Lan, t::SERVER);
    // The mapping log (RFC 6888 §4) names the UDP mapping.
    wait_until(Duration::from_secs(5), "a UDP mapping in the log", || {
        lab.plat_log().lines().any(|l| l.contains("bib created") && l.contains("proto=udp")).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
}

#[test]
fn xlat464_iperf3_tcp_and_udp() {
    let Some(lab) = shared("xlat464_iperf3_tcp_and_udp") else { return };
    iperf3_tcp_and_udp(&lab, Role::Lan, t::SERVER);
    // With TUN offloads (XLAT_LAB_OFFLOAD, CI runs on and off) the TCP
    // upload crossed both translators as GSO super-packets, translated once
    // and written back whole; without, not one.
    let tuning = lab::DaemonTuning::from_env();
    for (who, m) in [("clat", lab.metrics().unwrap()), ("plat", lab.plat_metrics().unwrap())] {
        let on = m.get("xlat_tun_offload") == Some(1.0);
        let (rx, tx) = (m.get("xlat_tun_gso_total{event=\"rx\"}"), m.get("xlat_tun_gso_total{event=\"tx\"}"));
        match tuning.offload.as_str() {
            "on" => assert!(on, "{who}: offload=on but the TUN runs without"),
            "off" => assert!(!on, "{who}: offload=off but the TUN runs with offloads"),
            _ => {}
        }
        if on {
            assert!(
                rx.unwrap_or(0.0) > 0.0 && tx.unwrap_or(0.0) > 0.0,
                "{who}: no GSO super-packet: rx {rx:?} tx {tx:?}"
            );
        } else {
            assert_eq!((rx, tx), (Some(0.0), Some(0.0)), "{who}: GSO counters without offloads");
        }
        let _ = writeln!(std::io::stderr(), "{who}: offload {on}, GSO super-packets rx {rx:?} tx {tx:?}");
    }
}

#[test]
fn xlat464_traceroute_shows_the_hops() {
    let Some(lab) = shared("xlat464_traceroute_shows_the_hops") else { return };
    let (hops, text) = lab.traceroute(Role::Lan, t::SERVER).unwrap();
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    assert_eq!(hops.first().map(|h| h.addrs.clone()), Some(vec![ip(t::ROUTER_LAN)]), "{text}");
    assert!(seen(&hops, ip(t::CLAT_LINK_V4)), "the container's hop {} is missing:\n{text}", t::CLAT_LINK_V4);
    // Behind the PLAT: the Time Exceeded of the PLAT's container and of the
    // provider router crossed our PLAT (4 -> 6, from the router's pool6
    // address) and the CLAT (6 -> 4).
    for hop in [t::PLAT_LINK_V4, t::ISP_PLAT_V4] {
        assert!(seen(&hops, ip(hop)), "the IPv4 hop {hop} behind the PLAT is missing:\n{text}{}", logs(&lab));
    }
    assert_eq!(hops.last().map(|h| h.addrs.clone()), Some(vec![ip(t::SERVER)]), "{text}");
}

// ---------------------------------------------------------------------------
// An IPv6-only host -> PLAT -> IPv4 server.

#[test]
fn v6only_icmp_echo_to_ipv4_server() {
    let Some(lab) = shared("v6only_icmp_echo_to_ipv4_server") else { return };
    let p = lab.ping(Role::Host6a, t::SERVER_V6, 5).unwrap();
    assert!(p.all_answered(), "{p:?}{}", logs(&lab));
}

#[test]
fn v6only_http_download_10mb_sha256() {
    let Some(lab) = shared("v6only_http_download_10mb_sha256") else { return };
    let clients = download_10mb(&lab, Role::Host6a, t::SERVER_V6);
    assert!(clients.iter().copied().any(in_xlat_pool4), "the server did not see a pool4 client: {clients:?}");
}

#[test]
fn v6only_dns_over_udp_and_tcp() {
    let Some(lab) = shared("v6only_dns_over_udp_and_tcp") else { return };
    dns_udp_and_tcp(&lab, Role::Host6a, t::SERVER_V6);
}

#[test]
fn v6only_iperf3_tcp_and_udp() {
    let Some(lab) = shared("v6only_iperf3_tcp_and_udp") else { return };
    iperf3_tcp_and_udp(&lab, Role::Host6a, t::SERVER_V6);
}

#[test]
fn v6only_traceroute_shows_the_ipv4_hops() {
    let Some(lab) = shared("v6only_traceroute_shows_the_ipv4_hops") else { return };
    let (hops, text) = lab.traceroute(Role::Host6a, t::SERVER_V6).unwrap();
    let v6 = |s: &str| -> IpAddr { s.parse().unwrap() };
    let via_pool6 = |s: &str| -> IpAddr { IpAddr::V6(pool6(s.parse().unwrap())) };
    assert_eq!(hops.first().map(|h| h.addrs.clone()), Some(vec![v6(t::ISP_HOST6A)]), "{text}");
    assert!(seen(&hops, v6(t::PLAT_LINK_V6)), "the PLAT container's IPv6 hop is missing:\n{text}");
    // The IPv4 routers behind the PLAT, in the PLAT prefix (RFC 6052).
    for hop in [t::PLAT_LINK_V4, t::ISP_PLAT_V4] {
        assert!(seen(&hops, via_pool6(hop)), "the IPv4 hop {hop} is missing:\n{text}{}", logs(&lab));
    }
    assert_eq!(hops.last().map(|h| h.addrs.clone()), Some(vec![v6(t::SERVER_V6)]), "{text}");
}

// ---------------------------------------------------------------------------
// The PLAT's state, limits and policy.

#[test]
fn plat_2000_concurrent_tcp_connections_from_one_client() {
    const N: u32 = 2000;
    let Some(lab) = shared("plat_2000_concurrent_tcp_connections_from_one_client") else { return };
    let begin = Instant::now();
    let conns = lab
        .tcp_connections(Role::Host6a, t::HOST6A_MANY, t::SERVER_V6, N, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
    // While they are all open: one session each.
    let live = metric(&lab, "plat_sessions{proto=\"tcp\"}");
    let (ok, failed, errors, elapsed) = (conns.ok, conns.failed, conns.errors.clone(), conns.elapsed);
    conns.close().unwrap();
    assert_eq!((ok, failed), (N, 0), "failures: {errors:?}{}", logs(&lab));
    assert!(live >= f64::from(N), "the PLAT's TCP session gauge shows {live} with {N} connections open");
    let _ = writeln!(
        std::io::stderr(),
        "{N} connections opened and echoed in {:.2} s ({:.2} s in all); {live} TCP sessions live",
        elapsed.as_secs_f64(),
        begin.elapsed().as_secs_f64()
    );
}

#[test]
fn plat_client_at_its_session_limit_cannot_starve_another() {
    const LIMIT: u32 = 20;
    const EXTRA: u32 = 10;
    let Some(lab) = shared("plat_client_at_its_session_limit_cannot_starve_another") else { return };
    let hits = "plat_limit_hits_total{limit=\"sessions_per_client\"}";
    let _limit = Reconfigured::apply(&lab, &PlatConfig { max_sessions_per_client: LIMIT, ..PlatConfig::lab() });
    let before = metric(&lab, hits);
    // Client A (a /128 of its own) wants more than its share ...
    let a = lab
        .tcp_connections(Role::Host6a, t::HOST6A_LIMITED, t::SERVER_V6, LIMIT + EXTRA, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
    assert_eq!((a.ok, a.failed), (LIMIT, EXTRA), "client A got {} of {LIMIT} + {EXTRA}: {:?}", a.ok, a.errors);
    // ... and is told at once (ICMPv6 address unreachable), not left to time out.
    assert!(a.elapsed < Duration::from_secs(8), "refusals took {:?}: {:?}", a.elapsed, a.errors);
    // Client B still connects while A holds its sessions.
    let b = lab
        .tcp_connections(Role::Host6b, t::HOST6B, t::SERVER_V6, 5, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
    assert_eq!((b.ok, b.failed), (5, 0), "client B was starved: {:?}{}", b.errors, logs(&lab));
    let file = lab.file(FILE_1M).unwrap().clone();
    let to = lab.workdir().join("limit-1M.bin");
    let h = lab.http_get(Role::Host6b, &file.url_at(t::SERVER_V6), &to).unwrap_or_else(|e| panic!("{e:#}"));
    let _ = std::fs::remove_file(&to);
    assert_eq!(h.sha256, file.sha256);
    let after = metric(&lab, hits);
    a.close().unwrap();
    b.close().unwrap();
    assert!(after - before >= f64::from(EXTRA), "{hits} went from {before} to {after}");
}

#[test]
fn plat_sessions_expire_on_a_shortened_icmp_timer() {
    let Some(lab) = shared("plat_sessions_expire_on_a_shortened_icmp_timer") else { return };
    // UDP may not go below 2 minutes and TCP below 4 (RFC 6146 §4): the
    // ICMP query timer is the one a test can shorten to seconds.
    let timeout = Duration::from_secs(2);
    let _short = Reconfigured::apply(&lab, &PlatConfig { icmp_timeout: timeout, ..PlatConfig::lab() });
    let gauge = "plat_sessions{proto=\"icmp\"}";
    let expired_before = metric(&lab, "plat_sessions_expired_total");
    let p = lab.ping(Role::Host6a, t::SERVER_V6, 3).unwrap();
    assert!(p.all_answered(), "{p:?}{}", logs(&lab));
    let live = metric(&lab, gauge);
    assert!(live >= 1.0, "no live ICMP session right after the pings");
    let pinged = Instant::now();
    wait_until(Duration::from_secs(10), "the ICMP sessions to expire", || (metric(&lab, gauge) == 0.0).then_some(()))
        .unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
    let took = pinged.elapsed();
    assert!(metric(&lab, "plat_sessions_expired_total") > expired_before);
    // The mapping log says the ICMP mapping went away.
    let removed = lab
        .plat_log()
        .lines()
        .any(|l| l.contains("bib removed") && l.contains("proto=icmp") && l.contains(&format!("v6={}", t::HOST6A)));
    assert!(removed, "no 'bib removed' line for host6a's ICMP mapping{}", logs(&lab));
    let _ = writeln!(std::io::stderr(), "{live} ICMP sessions expired {:.1} s after the last ping", took.as_secs_f64());
}

#[test]
fn plat_static_bib_lets_an_ipv4_client_reach_an_ipv6_only_server() {
    let Some(lab) = shared("plat_static_bib_lets_an_ipv4_client_reach_an_ipv6_only_server") else { return };
    let file = lab.file(FILE_1M).unwrap().clone();
    let published = format!("{}:{}", t::STATIC_HTTP_V4, t::STATIC_HTTP_PORT);
    let to = lab.workdir().join("static-1M.bin");
    let h =
        lab.http_get(Role::Internet, &file.url_at(&published), &to).unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
    let _ = std::fs::remove_file(&to);
    assert_eq!((h.status, h.bytes), (200, file.size), "{h:?}");
    assert_eq!(h.sha256, file.sha256);
    // host6b's server saw the IPv4 client in the PLAT prefix.
    let log = lab.server_log(HTTP6_SERVER);
    let server_v6: Ipv6Addr = t::SERVER_V6.parse().unwrap();
    let seen_from = log
        .lines()
        .filter(|l| l.contains(&format!("GET /{FILE_1M}")))
        .filter_map(|l| l.split_whitespace().next().and_then(|a| a.parse::<Ipv6Addr>().ok()))
        .any(|a| a == server_v6);
    assert!(seen_from, "host6b's server did not see {server_v6}:\n{log}");
    // Only the published port leads in: another pool4 port has no mapping.
    let other = format!("http://{}:{}/", t::STATIC_HTTP_V4, t::STATIC_HTTP_PORT + 1);
    assert_ne!(curl_code(&lab, Role::Internet, &other), 0, "{other} answered");
}

#[test]
fn plat_hairpinning_between_two_ipv6_clients() {
    let Some(lab) = shared("plat_hairpinning_between_two_ipv6_clients") else { return };
    let before = metric(&lab, "plat_hairpinned_total");
    // UDP: B's dynamic mapping, learnt from a reflector, reached by A.
    let h = lab
        .udp_hairpin(Role::Host6a, t::HOST6A, Role::Host6b, t::HOST6B, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
    assert!(in_xlat_pool4(h.b_mapped.0), "{h:?}");
    let a_pool4 = from_pool6(h.b_got_from.0);
    assert!(a_pool4.is_some_and(in_xlat_pool4), "B got A's datagram from {:?}, not pool6 + pool4", h.b_got_from);
    assert_eq!(h.b_got, "hello from a");
    assert_eq!(h.a_reply_from, (pool6(h.b_mapped.0), h.b_mapped.1), "{h:?}");
    assert_eq!(h.a_reply, "pong hello from a");
    // TCP: A downloads from B's web server through its pool4 address (the
    // static entry).
    let file = lab.file(FILE_1M).unwrap().clone();
    let published = format!("[{}]:{}", pool6(t::STATIC_HTTP_V4.parse().unwrap()), t::STATIC_HTTP_PORT);
    let to = lab.workdir().join("hairpin-1M.bin");
    let got =
        lab.http_get(Role::Host6a, &file.url_at(&published), &to).unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
    let _ = std::fs::remove_file(&to);
    assert_eq!(got.sha256, file.sha256);
    let after = metric(&lab, "plat_hairpinned_total");
    assert!(after - before >= 4.0, "plat_hairpinned_total went from {before} to {after}");
}

#[test]
fn plat_rfc1918_refused_and_documentation_ranges_need_the_allow_list() {
    let Some(lab) = shared("plat_rfc1918_refused_and_documentation_ranges_need_the_allow_list") else { return };
    let refused = "plat_nat64_drops_total{reason=\"destination_not_global\"}";
    // RFC 1918, from the IPv6-only host and from the LAN through the CLAT:
    // refused at once with ICMP "administratively prohibited" (curl: could
    // not connect, 7), not dropped silently (it would time out, 28).
    let private = Ipv4Addr::new(10, 1, 2, 3);
    let before = metric(&lab, refused);
    let v6_url = format!("http://[{}]/", pool6(private));
    assert_eq!(curl_code(&lab, Role::Host6a, &v6_url), 7, "{v6_url} from host6a");
    let v4_url = format!("http://{private}/");
    assert_eq!(curl_code(&lab, Role::Lan, &v4_url), 7, "{v4_url} from lan{}", logs(&lab));
    let after_private = metric(&lab, refused);
    assert!(after_private - before >= 2.0, "{refused}: {before} -> {after_private}");

    // The lab's servers (198.51.100.0/24, documentation) are not global
    // either: without the allow-list entry, refused the same way.
    let server_url = format!("http://[{}]/", t::SERVER_V6);
    {
        let _none = Reconfigured::apply(&lab, &PlatConfig { allow_v4: Vec::new(), ..PlatConfig::lab() });
        assert_eq!(curl_code(&lab, Role::Host6a, &server_url), 7, "{server_url} without the allow-list entry");
        assert_eq!(curl_code(&lab, Role::Lan, &format!("http://{}/", t::SERVER)), 7, "through the CLAT");
        assert!(metric(&lab, refused) - after_private >= 2.0);
    }
    // The entry back: reachable again.
    assert_eq!(curl_code(&lab, Role::Host6a, &server_url), 0, "{server_url} with the entry{}", logs(&lab));
}
