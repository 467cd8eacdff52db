//! 464XLAT end to end with both translators ours: an IPv4-only LAN host
//! behind a RouterOS-like router reaches IPv4 servers through our CLAT
//! (`clat run` in the container namespace) and our PLAT (`plat run`, a
//! stateful NAT64, in the provider's namespace instead of TAYGA), over an
//! IPv6-only provider. The same traffic checks as `lab_e2e.rs` (ping, a
//! 10 MB HTTP download checked by SHA-256, DNS, traceroute), plus what only
//! a stateful PLAT shows: the servers see pool4, the sessions and the
//! mapping log. `lab_e2e.rs` keeps TAYGA as the PLAT: the interop test.
//!
//! The tests share one lab and take turns on it. Without root, a tool of
//! the lab, or `clat` / `plat` binaries with `run`, they print `SKIPPED
//! ...` and pass; with `CI=true` they fail instead.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use xlat_lab::lab::servers::FILE_10M;
use xlat_lab::lab::topology as t;
use xlat_lab::lab::{self, ClatKind, Lab, LabOptions, PlatKind, Role};
use xlat_lab::netns::{in_ci, require_root, require_tool, wait_until};

static LAB: Mutex<Option<Result<Lab, String>>> = Mutex::new(None);

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
    let plat = lab::default_plat_binary();
    if !lab::clat_supports_run(&plat) {
        return skip(test, &format!("{} has no `run` subcommand (cargo build -p plat)", plat.display()));
    }
    true
}

/// The lab with our PLAT (and whatever CLAT the environment selects).
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
    format!("\n--- CLAT output:\n{}\n--- PLAT output:\n{}", lab.clat_log(), lab.plat_log())
}

/// Our PLAT's `/metrics`, scraped inside `isp`.
fn plat_metrics(lab: &Lab) -> String {
    let url = format!("http://{}/metrics", t::XLAT_PLAT_METRICS);
    lab.stdout(Role::Isp, &["curl", "-sf", "-m", "2", &url]).unwrap_or_default()
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

/// Whether `a` is in our PLAT's pool4 (203.0.113.128/30).
fn in_pool4(a: Ipv4Addr) -> bool {
    u32::from(a) & 0xffff_fffc == u32::from(Ipv4Addr::new(203, 0, 113, 128))
}

#[test]
fn xlat464_icmp_echo_lan_to_server() {
    let Some(lab) = shared("xlat464_icmp_echo_lan_to_server") else { return };
    let p = lab.ping(Role::Lan, t::SERVER, 5).unwrap();
    assert!(p.all_answered(), "{p:?}{}", logs(&lab));
    let m = plat_metrics(&lab);
    assert!(metric(&m, "plat_bib_entries{proto=\"icmp\"}").unwrap_or(0.0) >= 1.0, "an ICMP mapping: {m}");
}

#[test]
fn xlat464_http_download_10mb_sha256_from_pool4() {
    let Some(lab) = shared("xlat464_http_download_10mb_sha256_from_pool4") else { return };
    let file = lab.file(FILE_10M).unwrap().clone();
    let to = lab.workdir().join("464xlat-10M.bin");
    let h = lab.http_get(Role::Lan, &file.url(), &to).unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
    let _ = std::fs::remove_file(&to);
    assert_eq!((h.status, h.bytes), (200, file.size), "{h:?}");
    assert_eq!(h.sha256, file.sha256, "the 10 MB file arrived corrupted");
    // The server saw the request from pool4: stateful NAT64, not SIIT.
    let log = lab.http_log();
    let from_pool4 = log
        .lines()
        .filter(|l| l.contains(&format!("GET /{FILE_10M}")))
        .any(|l| l.split_whitespace().next().and_then(|a| a.parse::<Ipv4Addr>().ok()).is_some_and(in_pool4));
    assert!(from_pool4, "the server did not see a 203.0.113.128/30 client:\n{log}");
    let m = plat_metrics(&lab);
    assert!(metric(&m, "plat_sessions_created_total").unwrap_or(0.0) >= 1.0, "{m}");
    assert!(
        metric(&m, "plat_pool4_utilization_percent{address=\"203.0.113.128\",proto=\"tcp\"}").is_some(),
        "pool4 utilisation per address: {m}"
    );
}

#[test]
fn xlat464_dns_a_query() {
    let Some(lab) = shared("xlat464_dns_a_query") else { return };
    let d = lab.dig(Role::Lan, t::SERVER, t::SERVER_NAME, "A").unwrap();
    assert_eq!(d.status, "NOERROR", "{d:?}{}", logs(&lab));
    assert_eq!(d.answers, vec![t::SERVER.to_owned()]);
    // The mapping log (RFC 6888 §4) names the UDP mapping.
    wait_until(Duration::from_secs(5), "a UDP mapping in the log", || {
        lab.plat_log().lines().any(|l| l.contains("bib created") && l.contains("udp")).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e:#}{}", logs(&lab)));
}

#[test]
fn xlat464_traceroute_shows_the_hops() {
    let Some(lab) = shared("xlat464_traceroute_shows_the_hops") else { return };
    let (hops, text) = lab.traceroute(Role::Lan, t::SERVER).unwrap();
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    let seen = |a: IpAddr| hops.iter().any(|h| h.addrs.contains(&a));
    assert_eq!(hops.first().map(|h| h.addrs.clone()), Some(vec![ip(t::ROUTER_LAN)]), "{text}");
    assert!(seen(ip(t::CLAT_LINK_V4)), "the container's hop {} is missing:\n{text}", t::CLAT_LINK_V4);
    // Behind the PLAT: the Internet router's Time Exceeded crossed our PLAT
    // (4 -> 6, from the router's pool6 address) and the CLAT (6 -> 4).
    assert!(seen(ip(t::ISP_UP)), "the IPv4 hop behind the PLAT ({}) is missing:\n{text}{}", t::ISP_UP, logs(&lab));
    assert_eq!(hops.last().map(|h| h.addrs.clone()), Some(vec![ip(t::SERVER)]), "{text}");
}
