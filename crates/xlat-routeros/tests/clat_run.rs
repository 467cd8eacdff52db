//! `clat run` provisioning its router: the daemon, started with
//! `XLAT_ROUTEROS_*` pointing at the fake router, creates its routes and
//! rules, and removes them on SIGTERM (`XLAT_ROUTEROS_REMOVE_ON_EXIT`).
//!
//! Needs root (the daemon opens a TUN, with `--no-configure`: no routes,
//! no sysctls) and the `clat` binary of this workspace (built by `cargo
//! test --workspace`). Skips with a message otherwise, and fails when
//! CI=true.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use tokio::process::Command;

fn skip(why: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and this test cannot run: {why}");
    eprintln!("SKIPPED clat_run: {why}");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// The workspace's `clat`, next to this package's binary.
fn clat_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_xlat-routeros")).with_file_name("clat")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clat_run_provisions_its_router_and_removes_on_exit() {
    if !is_root() {
        return skip("needs root to open a TUN");
    }
    let clat = clat_binary();
    let help = std::process::Command::new(&clat).args(["run", "--help"]).output();
    match help {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("--routeros-url") => {}
        _ => return skip(&format!("{} missing or without --routeros-url: cargo build -p clat", clat.display())),
    }
    let r = router().await;
    let before = dump(&r);
    let c = r.credentials();
    let tun = format!("xrt{}", std::process::id() % 100_000);
    let mut child = Command::new(&clat)
        .env_clear()
        .args(["run", "--tun-name", &tun, "--no-configure", "--metrics-listen", "off"])
        .args(["--plat-prefix", "64:ff9b::/96", "--clat-ipv6", "2001:db8:aaaa::1"])
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
    let provisioned = async {
        while tagged(&r, "/ipv6/firewall/filter", "xlat:clat:default").is_empty()
            || tagged(&r, "/ip/firewall/nat", "xlat:clat:default").is_empty()
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    if tokio::time::timeout(LIMIT, provisioned).await.is_err() {
        let _ = child.start_kill();
        let out = child.wait_with_output().await.unwrap();
        panic!(
            "clat did not provision the router:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let routes = tagged(&r, "/ip/route", "xlat:clat:default");
    assert_eq!(routes[0]["dst-address"], "0.0.0.0/0");
    let routes6 = tagged(&r, "/ipv6/route", "xlat:clat:default");
    assert_eq!(routes6[0]["dst-address"], "2001:db8:aaaa::1/128");
    assert_eq!(tagged(&r, "/ip/firewall/nat", "xlat:clat:default")[0]["to-addresses"], "192.0.0.1");

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let out = bounded(child.wait_with_output()).await.unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{log}");
    assert_eq!(dump(&r), before, "removed on exit:\n{log}");
    assert!(!log.contains(c.password()), "the password never reaches the log");
}
