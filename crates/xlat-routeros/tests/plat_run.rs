//! `plat run` provisioning its router: the daemon, started with
//! `XLAT_ROUTEROS_*` pointing at the fake router, creates its routes,
//! firewall rules, PREF64 and option 108 (pool6, pool4 and the clients
//! from its own settings), and removes everything on SIGTERM
//! (`XLAT_ROUTEROS_REMOVE_ON_EXIT`), foreign lists restored.
//!
//! Needs root (the daemon opens a TUN, with `--no-configure`: no routes,
//! no sysctls) and the `plat` binary of this workspace (built by `cargo
//! test --workspace`). Skips with a message otherwise, and fails when
//! CI=true.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use tokio::process::Command;

const TAG: &str = "xlat:plat:default";

fn skip(why: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and this test cannot run: {why}");
    eprintln!("SKIPPED plat_run: {why}");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// The workspace's `plat`, next to this package's binary.
fn plat_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_xlat-routeros")).with_file_name("plat")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plat_run_provisions_its_router_and_removes_on_exit() {
    if !is_root() {
        return skip("needs root to open a TUN");
    }
    let plat = plat_binary();
    let help = std::process::Command::new(&plat).args(["run", "--help"]).output();
    match help {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("--routeros-url") => {}
        _ => return skip(&format!("{} missing or without --routeros-url: cargo build -p plat", plat.display())),
    }
    let r = router().await;
    let before = dump(&r);
    let c = r.credentials();
    let tun = format!("xrp{}", std::process::id() % 100_000);
    let mut child = Command::new(&plat)
        .env_clear()
        .args(["run", "--tun-name", &tun, "--no-configure", "--metrics-listen", "off"])
        .args(["--pool6", "64:ff9b::/96", "--pool4", "198.51.100.0/28", "--clients", "2001:db8:100::/40"])
        .env("XLAT_ROUTEROS_URL", r.api_url())
        .env("XLAT_ROUTEROS_USER", c.user())
        .env("XLAT_ROUTEROS_PASSWORD", c.password())
        .env("XLAT_ROUTEROS_VETH", VETH)
        .env("XLAT_ROUTEROS_RECHECK", "1s")
        .env("XLAT_ROUTEROS_REMOVE_ON_EXIT", "true")
        .env("XLAT_ROUTEROS_PREF64_INTERFACE", "bridge")
        .env("XLAT_ROUTEROS_V6ONLY_WAIT", "default")
        .env("XLAT_ROUTEROS_DHCP_NETWORKS", "192.168.88.0/24")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start plat");
    let provisioned = async {
        while tagged(&r, "/ipv6/firewall/filter", TAG).is_empty()
            || !r.rows("/ip/dhcp-server/network")[0]["dhcp-option"].contains("xlat-plat-default-v6only")
            || !r.rows("/ipv6/nd").iter().any(|x| x["interface"] == "bridge" && x["pref64"].contains("64:ff9b::/96"))
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    if tokio::time::timeout(LIMIT, provisioned).await.is_err() {
        let _ = child.start_kill();
        let out = child.wait_with_output().await.unwrap();
        panic!(
            "plat did not provision the router:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // pool6 and pool4 (one prefix, as configured) to the container.
    let routes6 = tagged(&r, "/ipv6/route", TAG);
    assert_eq!(routes6[0]["dst-address"], "64:ff9b::/96");
    assert_eq!(routes6[0]["gateway"], CT_V6);
    let routes = tagged(&r, "/ip/route", TAG);
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert_eq!(routes[0]["dst-address"], "198.51.100.0/28");
    assert_eq!(routes[0]["gateway"], CT_V4);
    let clients = tagged(&r, "/ipv6/firewall/filter", &format!("{TAG} clients-to-plat"));
    assert_eq!(clients[0]["src-address"], "2001:db8:100::/40", "{clients:?}");
    let nd = r.rows("/ipv6/nd").into_iter().find(|x| x["interface"] == "bridge").expect("ND entry of bridge");
    assert_eq!(nd["pref64"], "2001:db8:64::/96,64:ff9b::/96", "PREF64 added to the operator's: {nd:?}");

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let out = bounded(child.wait_with_output()).await.unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{log}");
    assert_eq!(dump(&r), before, "removed on exit, foreign lists restored:\n{log}");
    assert!(!log.contains(c.password()), "the password never reaches the log");
}
