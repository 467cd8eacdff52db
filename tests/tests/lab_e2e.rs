//! End-to-end tests over the namespace lab ([`xlat_lab::lab`]), the CLAT's
//! side: an IPv4-only LAN host behind a RouterOS-like router reaches IPv4
//! servers through our CLAT (`clat run` in the container namespace) and
//! the PLAT in the provider's container (our `plat run` by default; TAYGA
//! with `XLAT_LAB_PLAT=tayga`), over an IPv6-only provider.
//! `lab_interop_with_tayga_as_plat` always runs TAYGA as the PLAT, in a lab
//! of its own when the shared one runs ours. `lab_464xlat.rs` has the
//! PLAT's side.
//!
//! The tests share one lab (built by the first test that needs it, ~3 s)
//! and take turns on it; each leaves it as it found it (the MTU test
//! restores the MTU, the SIGTERM test restarts the CLAT). The lab is never
//! dropped: its watchdog tears it down when the test process exits.
//!
//! Without root, without a tool the lab uses, or without `clat` / `plat`
//! binaries that have `run`, the tests print `SKIPPED ...` and pass; with
//! `CI=true` they fail instead. `XLAT_LAB_CLAT=tayga` runs them against TAYGA as a
//! stand-in CLAT (the topology check), `XLAT_LAB_CLAT_CMD='...'` against
//! any command that behaves like `clat run`.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use xlat_lab::lab::servers::{FILE_10M, FILE_1M};
use xlat_lab::lab::topology as t;
use xlat_lab::lab::{self, ClatKind, Lab, LabOptions, PlatKind, Pref64Mode, Role};
use xlat_lab::netns::{in_ci, require_root, require_tool, wait_until};

/// The shared lab, or why it could not be built.
static LAB: Mutex<Option<Result<Lab, String>>> = Mutex::new(None);

/// Whether this machine can run the lab tests; prints why not (or panics
/// under CI).
fn can_run(test: &str) -> bool {
    if !require_root(test) {
        return false;
    }
    if let Some(tool) = lab::missing_tool() {
        return require_tool(test, tool);
    }
    let opts = LabOptions::from_env();
    let mut bins = Vec::new();
    if let ClatKind::Xlat(bin) = &opts.clat {
        bins.push((bin.clone(), "clat"));
    }
    if opts.plat == PlatKind::Xlat {
        bins.push((opts.plat_bin.clone(), "plat"));
    }
    for (bin, krate) in bins {
        if !lab::clat_supports_run(&bin) {
            let why = format!("{} has no `run` subcommand yet (cargo build -p {krate})", bin.display());
            if in_ci() {
                panic!("{test}: {why}, and CI=true: this test must run in CI");
            }
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
            return false;
        }
    }
    true
}

/// The shared lab, built on first use; `None` when the test must skip.
fn shared(test: &str) -> Option<LabGuard> {
    if !can_run(test) {
        return None;
    }
    let mut guard = LAB.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some(Lab::start(LabOptions::from_env()).map_err(|e| format!("{e:#}")));
    }
    if let Some(Err(e)) = guard.as_ref() {
        panic!("{test}: the lab could not be built: {e}");
    }
    Some(LabGuard(guard))
}

/// Exclusive use of the shared lab for one test.
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

impl std::ops::DerefMut for LabGuard {
    fn deref_mut(&mut self) -> &mut Lab {
        match self.0.as_mut() {
            Some(Ok(lab)) => lab,
            _ => unreachable!("checked in shared()"),
        }
    }
}

/// The CLAT's and the PLAT's output, for failure messages.
fn logs(lab: &Lab) -> String {
    format!("\n--- CLAT output:\n{}\n--- PLAT output:\n{}", lab.clat_log(), lab.plat_log())
}

#[test]
fn lab_icmp_echo_lan_to_server() {
    let Some(lab) = shared("lab_icmp_echo_lan_to_server") else { return };
    let p = lab.ping(Role::Lan, t::SERVER, 5).unwrap();
    assert!(p.all_answered(), "{p:?}{}", logs(&lab));
    assert!(p.rtt_avg.is_some());
}

#[test]
fn lab_http_download_10mb_sha256() {
    let Some(lab) = shared("lab_http_download_10mb_sha256") else { return };
    let file = lab.file(FILE_10M).unwrap().clone();
    let to = lab.workdir().join("e2e-10M.bin");
    let h = lab.http_get(Role::Lan, &file.url(), &to).unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
    let _ = std::fs::remove_file(&to);
    assert_eq!(h.status, 200);
    assert_eq!(h.bytes, file.size, "{h:?}");
    assert_eq!(h.sha256, file.sha256, "the 10 MB file arrived corrupted");
}

#[test]
fn lab_dns_a_query() {
    let Some(lab) = shared("lab_dns_a_query") else { return };
    let d = lab.dig(Role::Lan, t::SERVER, t::SERVER_NAME, "A").unwrap();
    assert_eq!(d.status, "NOERROR", "{d:?}");
    assert_eq!(d.answers, vec![t::SERVER.to_owned()]);
    // No recursion: the lab has no Internet, and unbound must say so at once.
    let refused = lab.dig(Role::Lan, t::SERVER, "example.com", "A").unwrap();
    assert_eq!(refused.status, "REFUSED", "{refused:?}");
}

#[test]
fn lab_traceroute_shows_the_hops() {
    let Some(lab) = shared("lab_traceroute_shows_the_hops") else { return };
    let (hops, text) = lab.traceroute(Role::Lan, t::SERVER).unwrap();
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    let seen = |a: IpAddr| hops.iter().any(|h| h.addrs.contains(&a));
    // Hop 1: the router, by its LAN address.
    assert_eq!(hops.first().map(|h| h.addrs.clone()), Some(vec![ip(t::ROUTER_LAN)]), "{text}");
    // The container: its kernel (192.0.0.5), then the CLAT itself, from
    // the RFC 7335 range 192.0.0.0/29 or RFC 7600's 192.0.0.8 (ours).
    let from_container = |a: &IpAddr| match a {
        IpAddr::V4(v4) => {
            u32::from(*v4) & 0xffff_fff8 == u32::from(Ipv4Addr::new(192, 0, 0, 0))
                || v4.to_string() == t::CLAT_ICMP_SOURCE
        }
        IpAddr::V6(_) => false,
    };
    assert!(seen(ip(t::CLAT_LINK_V4)), "the container's hop {} is missing:\n{text}", t::CLAT_LINK_V4);
    assert!(
        hops.iter().skip(2).any(|h| h.addrs.iter().any(from_container)),
        "no CLAT hop after the container in:\n{text}"
    );
    // Behind the PLAT: the ICMPv4 Time Exceeded of the PLAT's container
    // and of the provider router crossed the PLAT (4 -> 6) and the CLAT
    // (6 -> 4) back to the LAN host.
    for hop in [t::PLAT_LINK_V4, t::ISP_PLAT_V4] {
        assert!(seen(ip(hop)), "the IPv4 hop {hop} behind the PLAT is missing:\n{text}{}", logs(&lab));
    }
    // And the destination is reached, last.
    assert_eq!(hops.last().map(|h| h.addrs.clone()), Some(vec![ip(t::SERVER)]), "{text}");
}

/// Restores the server-side MTU to 1500 when dropped (the test may panic)
/// and forgets the path MTU the LAN host learned.
struct RestoreMtu<'a>(&'a Lab);

impl Drop for RestoreMtu<'_> {
    fn drop(&mut self) {
        // No panic here: this may run while the test unwinds.
        if let Err(e) = self.0.set_server_mtu(1500) {
            eprintln!("warning: could not restore the server-side MTU: {e:#}");
        }
        let _ = self.0.exec(Role::Lan, &["ip", "route", "flush", "cache"]);
    }
}

/// The path MTU toward `dst` that `role`'s kernel has learned, if any
/// (`ip route get`: `cache expires ...s mtu N`).
fn learned_pmtu(lab: &Lab, role: Role, dst: &str) -> Option<u32> {
    let text = lab.stdout(role, &["ip", "route", "get", dst]).ok()?;
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(2).find(|w| w[0] == "mtu").and_then(|w| w[1].parse().ok())
}

#[test]
fn lab_mtu_1280_on_the_server_link_http_1mb() {
    let Some(lab) = shared("lab_mtu_1280_on_the_server_link_http_1mb") else { return };
    lab.exec(Role::Lan, &["ip", "route", "flush", "cache"]).unwrap();
    lab.set_server_mtu(1280).unwrap();
    let _restore = RestoreMtu(&lab);

    // TCP: the MSS and path MTU discovery keep the 1 MB transfer going.
    let file = lab.file(FILE_1M).unwrap().clone();
    let to = lab.workdir().join("e2e-1M.bin");
    let h = lab.http_get(Role::Lan, &file.url(), &to).unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
    let _ = std::fs::remove_file(&to);
    assert_eq!((h.status, h.bytes), (200, file.size), "{h:?}");
    assert_eq!(h.sha256, file.sha256);

    // Path MTU discovery across both translators: a 1428-byte IPv4 packet
    // with DF crosses the CLAT (1448 bytes of IPv6) and the PLAT, meets the
    // 1280 link, and the ICMPv4 Fragmentation Needed comes back through the
    // PLAT (as ICMPv6 Packet Too Big) and the CLAT (as Fragmentation Needed
    // again, RFC 7915 §5.2 MTU - 20): the LAN host learns the path MTU.
    let _ = lab.exec_any(
        Role::Lan,
        &["ping", "-n", "-q", "-c", "2", "-i", "0.3", "-W", "1", "-s", "1400", "-M", "do", t::SERVER],
        Duration::from_secs(15),
    );
    let pmtu = learned_pmtu(&lab, Role::Lan, t::SERVER);
    assert!(
        pmtu.is_some_and(|m| (1240..=1280).contains(&m)),
        "the LAN host learned path MTU {pmtu:?} toward {}, expected 1280 (or a little less){}",
        t::SERVER,
        logs(&lab)
    );
}

#[test]
fn lab_clat_sigterm_removes_its_routes_and_exits_0() {
    let Some(mut lab) = shared("lab_clat_sigterm_removes_its_routes_and_exits_0") else { return };
    let dev = format!("dev {}", t::CLAT_TUN);
    let routes = |lab: &Lab| {
        let v4 = lab.stdout(Role::Clat, &["ip", "route", "show"]).unwrap();
        let v6 = lab.stdout(Role::Clat, &["ip", "-6", "route", "show"]).unwrap();
        format!("{v4}{v6}")
    };
    let before = routes(&lab);
    assert!(before.contains(&dev), "the CLAT installed no route into its TUN:\n{before}");
    let log = lab.clat_log();
    let status = lab.stop_clat().unwrap();
    let after = routes(&lab);
    // Start it again for the other tests before asserting.
    let restarted = lab.start_clat();
    assert!(status.success(), "the CLAT exited with {status} on SIGTERM; its output:\n{log}");
    assert!(!after.lines().any(|l| l.contains(&dev)), "routes left behind after SIGTERM:\n{after}");
    restarted.unwrap();
}

#[test]
fn lab_metrics_count_the_traffic() {
    let Some(lab) = shared("lab_metrics_count_the_traffic") else { return };
    if !lab.has_metrics() {
        let _ =
            writeln!(std::io::stderr(), "SKIPPED lab_metrics_count_the_traffic: the TAYGA stand-in has no /metrics");
        return;
    }
    let series = |dir: &str| format!("xlat_packets_total{{direction=\"{dir}\"}}");
    let count = |m: &lab::metrics::Metrics, dir: &str| {
        m.get(&series(dir)).unwrap_or_else(|| panic!("no {} in {m:?}", series(dir)))
    };
    let before = lab.metrics().unwrap();
    let p = lab.ping(Role::Lan, t::SERVER, 5).unwrap();
    assert!(p.all_answered());
    // 5 requests out (4 -> 6) and 5 replies back (6 -> 4), at least: the
    // counters of a shared lab also see the other tests' traffic. The
    // workers publish their counters every tick (250 ms): poll.
    let grew = |m: &lab::metrics::Metrics| {
        ["ipv4_to_ipv6", "ipv6_to_ipv4"].map(|dir| count(m, dir) - count(&before, dir)).into_iter().all(|g| g >= 5.0)
    };
    let mut after = before.clone();
    let counted = wait_until(Duration::from_secs(3), "the packet counters to count 5 pings", || {
        after = lab.metrics().ok()?;
        grew(&after).then_some(())
    });
    assert!(
        counted.is_ok(),
        "xlat_packets_total did not count 5 pings each way:\nbefore: {before:?}\nafter: {after:?}"
    );
    assert!(
        after.get("xlat_plat_prefix_info{prefix=\"2001:db8:64::/96\",source=\"static\"}").is_some()
            || lab.options().pref64 != Pref64Mode::Static,
        "{after:?}"
    );
}

/// Interoperability: our CLAT with TAYGA as the PLAT (in a lab of its own
/// unless the shared lab already runs TAYGA: `XLAT_LAB_PLAT=tayga`).
#[test]
fn lab_interop_with_tayga_as_plat() {
    const TEST: &str = "lab_interop_with_tayga_as_plat";
    let Some(shared) = shared(TEST) else { return };
    let own;
    let lab: &Lab = if shared.options().plat == PlatKind::Tayga {
        &shared
    } else {
        drop(shared);
        own = Lab::start(LabOptions { plat: PlatKind::Tayga, ..LabOptions::from_env() }).unwrap();
        &own
    };
    let file = lab.file(FILE_1M).unwrap().clone();
    let to = lab.workdir().join("interop-1M.bin");
    let begin = Instant::now();
    let h = lab.http_get(Role::Lan, &file.url(), &to).unwrap_or_else(|e| panic!("{e:#}{}", logs(lab)));
    let _ = std::fs::remove_file(&to);
    assert_eq!(h.sha256, file.sha256);
    // The server saw the request from TAYGA's dynamic pool (203.0.113.128/25):
    // the CLAT's IPv6 source was NAT64-translated, not leaked.
    let log = lab.http_log();
    let from_pool = log.lines().filter(|l| l.contains(&format!("GET /{FILE_1M}"))).any(|l| {
        l.split_whitespace()
            .next()
            .and_then(|a| a.parse::<Ipv4Addr>().ok())
            .is_some_and(|a| a.octets()[..3] == [203, 0, 113] && a.octets()[3] >= 128)
    });
    assert!(from_pool, "the server did not see a 203.0.113.128/25 client ({:?}):\n{log}", begin.elapsed());
    // UDP too: DNS through both translators.
    let d = lab.dig(Role::Lan, t::SERVER, t::SERVER_NAME, "A").unwrap();
    assert_eq!(d.answers, vec![t::SERVER.to_owned()]);
}

/// `--plat-prefix auto`: the CLAT learns the PLAT prefix from the
/// provider's DNS64 (RFC 7050 `ipv4only.arpa`) before it translates. A lab
/// of its own (the shared one has a static prefix).
#[test]
fn lab_plat_prefix_discovered_with_rfc7050() {
    const TEST: &str = "lab_plat_prefix_discovered_with_rfc7050";
    if !can_run(TEST) {
        return;
    }
    let opts = LabOptions { pref64: Pref64Mode::Auto, ..LabOptions::from_env() };
    if opts.clat == ClatKind::Tayga {
        let _ = writeln!(std::io::stderr(), "SKIPPED {TEST}: the TAYGA stand-in cannot discover the prefix");
        return;
    }
    let lab = Lab::start(opts).unwrap_or_else(|e| panic!("{e:#}"));
    let p = lab.ping(Role::Lan, t::SERVER, 3).unwrap();
    assert!(p.all_answered(), "{p:?}{}", logs(&lab));
    let m = lab.metrics().unwrap();
    let info = format!("xlat_plat_prefix_info{{prefix=\"{}\",source=\"dns\"}}", t::PLAT_PREFIX);
    assert_eq!(m.get(&info), Some(1.0), "{m:?}");
}
