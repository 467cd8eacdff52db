//! `clat run --routeros-clat-pool`: the CLAT prefix is carved from the
//! router's DHCPv6-PD pool; when the ISP delegates another prefix, the
//! re-check moves the router's route and the daemon moves its CLAT address
//! (EAM entry) into the new prefix, counted in
//! `xlat_clat_prefix_changes_total` (issue 5).
//!
//! Needs root (TUN, `--no-configure`) and the workspace's `clat` binary;
//! skips with a message otherwise, fails when CI=true.

mod common;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use routeros_api::RouterOs;
use tokio::process::Command;

const TAG: &str = "xlat:clat:default";

fn skip(why: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and this test cannot run: {why}");
    eprintln!("SKIPPED clat_follow: {why}");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

fn clat_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_xlat-routeros")).with_file_name("clat")
}

/// `/metrics` over plain HTTP/1.0; empty on any failure.
fn metrics(port: u16) -> String {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clat_run_follows_a_new_delegated_prefix() {
    if !is_root() {
        return skip("needs root to open a TUN");
    }
    let clat = clat_binary();
    let help = std::process::Command::new(&clat).args(["run", "--help"]).output();
    match help {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("--routeros-clat-pool") => {}
        _ => return skip(&format!("{} missing or without --routeros-clat-pool: cargo build -p clat", clat.display())),
    }
    let r = router().await;
    let c = r.credentials();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let tun = format!("xrf{}", std::process::id() % 100_000);
    let mut child = Command::new(&clat)
        .env_clear()
        .args(["run", "--tun-name", &tun, "--no-configure", "--metrics-listen", &format!("127.0.0.1:{port}")])
        .args(["--plat-prefix", "64:ff9b::/96", "--clat-ipv6", "2001:db8:1200:ff::1"])
        .args(["--routeros-clat-pool", "isp-pd"])
        .env("XLAT_ROUTEROS_URL", r.api_url())
        .env("XLAT_ROUTEROS_USER", c.user())
        .env("XLAT_ROUTEROS_PASSWORD", c.password())
        .env("XLAT_ROUTEROS_VETH", VETH)
        .env("XLAT_ROUTEROS_RECHECK", "1s")
        .env("XLAT_ROUTEROS_REMOVE_ON_EXIT", "true")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start clat");
    let route = || tagged(&r, "/ipv6/route", TAG).first().map(|x| x["dst-address"].clone()).unwrap_or_default();
    let until = |want: &'static str, metric: &'static str| {
        let route = &route;
        async move {
            while route() != want || !metrics(port).contains(metric) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // First look: the configured address is already inside the carved /64.
    if tokio::time::timeout(LIMIT, until("2001:db8:1200:ff::/64", "xlat_clat_prefix_changes_total 0\n")).await.is_err()
    {
        let _ = child.start_kill();
        let out = child.wait_with_output().await.unwrap();
        panic!(
            "clat did not provision:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The ISP delegates another prefix.
    let client = clients(&r).await.remove(0).1;
    let pool = r.rows("/ipv6/pool")[0][".id"].clone();
    client.set("/ipv6/pool", &pool, &[("prefix", "2001:db8:3400::/56")]).await.unwrap();
    let followed =
        tokio::time::timeout(LIMIT, until("2001:db8:3400:ff::/64", "xlat_clat_prefix_changes_total 1\n")).await;

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let out = bounded(child.wait_with_output()).await.unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(followed.is_ok(), "the CLAT did not follow the new prefix:\n{log}");
    assert!(log.contains("CLAT address moved") && log.contains("2001:db8:3400:ff::1"), "{log}");
    assert!(out.status.success(), "{log}");
    for menu in MENUS {
        assert!(tagged(&r, menu, TAG).is_empty(), "{menu} removed on exit:\n{log}");
    }
}
