//! The fake router against an independent client of the classic API: the
//! Python `librouteros` package from PyPI, installed in a virtualenv under
//! the target's test scratch directory (kept between runs).
//!
//! The Python side (`tests/py/librouteros_client.py`) logs in, lists,
//! adds, queries, sets and removes `/ip/route` items, provokes traps and a
//! `!fatal`, and prints what it saw as JSON; this test asserts on that and
//! on the fake router's tables.
//!
//! Without python3, its `venv` module or PyPI the test prints why and
//! passes, except under `CI=true`, where it fails. Every subprocess runs
//! under a time limit and is killed past it.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use routeros_api::testing::{TestRouter, BAD_LOGIN_MESSAGE, QUIT_REASON, UNKNOWN_PARAMETER};
use serde_json::Value;
use tokio::process::Command;

/// The librouteros release the test installs (pinned: the assertions follow
/// its exception types and value conversions).
const LIBROUTEROS: &str = "librouteros==4.2.2";
/// Python interpreter used to create the virtualenv.
const PYTHON: &str = "python3";
/// Time limit of `python3 -m venv`.
const VENV_LIMIT: Duration = Duration::from_secs(120);
/// Time limit of `pip install` (network).
const PIP_LIMIT: Duration = Duration::from_secs(300);
/// Time limit of the client script (its sockets time out after 10 s).
const SCRIPT_LIMIT: Duration = Duration::from_secs(60);
/// Time limit of a quick probe (`python3 --version`, `import librouteros`).
const PROBE_LIMIT: Duration = Duration::from_secs(30);
/// Routes seeded before the client runs: its first `add` then gets id
/// 0x1A, `*1A`.
const SEEDED: usize = 0x19;

/// Runs `cmd` with a time limit; the child is killed if it runs over.
async fn run(cmd: &mut Command, limit: Duration) -> Result<Output, String> {
    let what = format!("{:?}", cmd.as_std());
    let child = cmd.kill_on_drop(true).stdin(std::process::Stdio::null()).output();
    match tokio::time::timeout(limit, child).await {
        Err(_) => Err(format!("{what}: still running after {limit:?}, killed")),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Ok(Ok(out)) if out.status.success() => Ok(out),
        Ok(Ok(out)) => Err(format!(
            "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// The virtualenv's interpreter, with librouteros installed: reused when a
/// previous run completed it, else built in a fresh directory and moved in
/// place.
async fn venv_python() -> Result<PathBuf, String> {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let version = LIBROUTEROS.replace("==", "-");
    let venv = base.join(format!("{version}-venv"));
    let python = venv.join("bin").join("python");
    let ready = venv.join(".xlat-ready");
    if ready.exists() && run(Command::new(&python).args(["-c", "import librouteros"]), PROBE_LIMIT).await.is_ok() {
        return Ok(python);
    }
    run(Command::new(PYTHON).arg("--version"), PROBE_LIMIT).await?;
    let building = base.join(format!("{version}-venv.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    if let Err(e) = build_venv(&building).await {
        let _ = std::fs::remove_dir_all(&building);
        return Err(e);
    }
    // `python -m` finds its packages from the venv's own location, so the
    // directory can move. Another run may have finished first: keep its.
    let _ = std::fs::remove_dir_all(&venv);
    if std::fs::rename(&building, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    run(Command::new(&python).args(["-c", "import librouteros"]), PROBE_LIMIT).await?;
    Ok(python)
}

/// `python3 -m venv DIR`, then librouteros from PyPI into it.
async fn build_venv(dir: &Path) -> Result<(), String> {
    run(Command::new(PYTHON).args(["-m", "venv"]).arg(dir), VENV_LIMIT).await?;
    run(
        Command::new(dir.join("bin").join("python"))
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--timeout", "60", "-q"])
            .arg(LIBROUTEROS),
        PIP_LIMIT,
    )
    .await?;
    std::fs::write(dir.join(".xlat-ready"), LIBROUTEROS).map_err(|e| e.to_string())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("py").join("librouteros_client.py")
}

/// `{"message": ..., "category": ...}` of a trap the script caught.
fn trap_message(v: &Value) -> &str {
    v["message"].as_str().unwrap_or_else(|| panic!("expected a trap, got {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librouteros_logs_in_lists_adds_and_removes() {
    let python = match venv_python().await {
        Ok(p) => p,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and no librouteros virtualenv could be made: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED librouteros_logs_in_lists_adds_and_removes: no librouteros virtualenv: {e}");
            return;
        }
    };

    let router = TestRouter::start().await.expect("fake router");
    let route = "/ip/route";
    for i in 0..SEEDED {
        router.seed(route, &[("dst-address", &format!("10.{i}.0.0/16")), ("gateway", "192.168.88.1")]);
    }
    let creds = router.credentials();
    let addr = router.api_addr();
    let out = run(
        Command::new(&python)
            .arg(script())
            .arg(addr.ip().to_string())
            .arg(addr.port().to_string())
            .arg(creds.user())
            .arg(creds.password()),
        SCRIPT_LIMIT,
    )
    .await
    .unwrap_or_else(|e| panic!("librouteros client failed: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let seen: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    println!("librouteros {} saw: {seen:#}", seen["version"]);

    assert_eq!(seen["version"], LIBROUTEROS.rsplit("==").next().unwrap());

    // Login, then print: every seeded route, ids *1 .. *19.
    let listed = seen["listed"].as_array().expect("listed");
    assert_eq!(listed.len(), SEEDED);
    assert_eq!(listed[0][".id"], "*1");
    assert_eq!(listed[9][".id"], "*A");
    assert_eq!(listed[SEEDED - 1][".id"], "*19");
    assert_eq!(listed[0]["dst-address"], "10.0.0.0/16");
    assert_eq!(listed[0]["disabled"], false, "librouteros turns \"false\" into False");

    // add: =ret= is the new id, and print finds the item.
    assert_eq!(seen["added"], "*1A");
    let found = &seen["found"][0];
    assert_eq!(found["dst-address"], "192.0.0.0/29");
    assert_eq!(found["gateway"], "veth-xlat");
    assert_eq!(found["comment"], "librouteros");
    // Query and property list; a query matching nothing (!empty) is [].
    assert_eq!(seen["selected"], serde_json::json!([{ ".id": "*1A", "dst-address": "192.0.0.0/29" }]));
    assert_eq!(seen["nothing"], serde_json::json!([]));
    // set.
    assert_eq!(seen["updated"][0]["distance"], 5);
    // remove: gone from print.
    let after: Vec<&str> = seen["after_remove"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(after.len(), SEEDED);
    assert!(!after.contains(&"*1A"));

    // Traps, each raised as librouteros's TrapError.
    assert_eq!(trap_message(&seen["unknown_attribute"]), format!("{UNKNOWN_PARAMETER} bogus-property"));
    assert_eq!(trap_message(&seen["underscore_attribute"]), format!("{UNKNOWN_PARAMETER} dst_address"));
    assert_eq!(trap_message(&seen["remove_missing"]), "no such item (4)");
    assert_eq!(seen["remove_missing"]["category"], 0);
    assert_eq!(trap_message(&seen["unknown_command"]), "no such command or directory (frobnicate)");

    // The session went on after the traps: the last add is in the table.
    assert_eq!(seen["kept"], "*1B", "ids are never reused");
    assert_eq!(seen["identity"][0]["name"], "MikroTik");
    let rows = router.rows(route);
    assert_eq!(rows.len(), SEEDED + 1);
    let kept = rows.last().unwrap();
    assert_eq!(kept[".id"], "*1B");
    assert_eq!(kept["dst-address"], "192.0.0.8/29");
    assert_eq!(kept["comment"], "kept");
    assert!(rows.iter().all(|r| !r.contains_key("bogus-property") && !r.contains_key("dst_address")));

    // /quit: !fatal with its reason (FatalError).
    assert_eq!(seen["quit"]["fatal"], QUIT_REASON);
    // A wrong password: TrapError with RouterOS's message; two good logins.
    assert_eq!(seen["bad_login"]["error"], "TrapError");
    assert_eq!(seen["bad_login"]["message"], BAD_LOGIN_MESSAGE);
    assert_eq!(router.api_logins(), 2);
}
