//! A third-party RouterOS script checker on our scripts and on what the
//! provisioner writes: `routeros-lsp` (PyPI, MIT), whose `check` command
//! resolves every menu, command and parameter against the command database
//! of RouterOS 7.21.4 it ships. The container package is not in that
//! database; its menus are added from the manual's Container page (the
//! same model as the `scripts` test).
//!
//! The checker is installed on first use into Cargo's test scratch
//! directory (`python3 -m venv` + `pip install routeros-lsp==0.2.3`, or
//! `pip install --target` where venv is missing), or taken from
//! `XLAT_ROUTEROS_LSP` (the `routeros-lsp` program of an existing
//! install; its `python3` next to it runs the module).
//! Without python3 or PyPI the tests skip with a message, and fail when
//! CI=true.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use xlat_routeros::{desired, plan, resolve_offline, MssClamp, Provisioner, RoleSpec, Snapshot};

const LSP_VERSION: &str = "0.2.3";

/// Container-package menus (manual: Container), as the checker's schema.
const CONTAINER_MENUS: &str = r#"{
 "/container": {"verbs": ["add","remove","find","get","print","set","start","stop"], "props": ["name","file","remote-image","interface","envlists","mountlists","root-dir","logging","start-on-boot","memory-high","cmd","entrypoint","workdir","dns","hostname","comment"]},
 "/container/envs": {"verbs": ["add","remove","find","get","print","set"], "props": ["list","key","value","comment"]},
 "/container/mounts": {"verbs": ["add","remove","find","get","print","set"], "props": ["list","src","dst","comment"]},
 "/interface/veth": {"verbs": ["add","remove","find","get","print","set"], "props": ["name","address","gateway","gateway6","comment","disabled"]}
}"#;

/// Adds `CONTAINER_MENUS` to the bundled database (argv: menus, output).
const EXTEND: &str = r#"
import json, sys
from routeros_lsp.schema.schema import Schema
data = Schema.bundled().data
root = data["root"]
template = root["c"]["interface"]["c"]["bridge"]["c"]["port"]["c"]
for path, spec in json.load(open(sys.argv[1])).items():
    node = root
    for part in path.strip("/").split("/"):
        node = node.setdefault("c", {}).setdefault(part, {"d": "container package", "c": {}})
    for verb in spec["verbs"]:
        if verb in ("add", "set"):
            cmd = {"k": 1, "a": {p: {} for p in spec["props"]}}
            if verb == "set":
                cmd["a"]["numbers"] = {}
                cmd["r"] = ["numbers"]
                cmd["u"] = 1
            else:
                cmd["a"]["place-before"] = {}
                cmd["a"]["copy-from"] = {}
        elif verb in template:
            cmd = template[verb]
        else:
            cmd = {"k": 1, "a": {"numbers": {}}, "r": ["numbers"], "u": 1}
        node["c"][verb] = cmd
json.dump(data, open(sys.argv[2], "w"))
"#;

struct Checker {
    /// Python interpreter running the checker.
    python: PathBuf,
    /// `PYTHONPATH` when the package sits in a plain directory.
    pythonpath: Option<PathBuf>,
    schema: PathBuf,
}

fn skip(why: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and routeros-lsp is unavailable: {why}");
    eprintln!("SKIPPED third_party_lint: {why}");
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

/// The interpreter and `PYTHONPATH` that run `routeros_lsp`: from
/// `XLAT_ROUTEROS_LSP`, a venv in the scratch directory, or (where venv
/// is missing) a `pip install --target` directory.
fn install_package(scratch: &Path) -> Result<(PathBuf, Option<PathBuf>), String> {
    if let Some(p) = std::env::var_os("XLAT_ROUTEROS_LSP") {
        return Ok((PathBuf::from(p).with_file_name("python3"), None));
    }
    let spec = format!("routeros-lsp=={LSP_VERSION}");
    let venv = scratch.join("venv");
    let python = venv.join("bin/python3");
    if venv.join("bin/routeros-lsp").exists() {
        return Ok((python, None));
    }
    let in_venv = run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv)).and_then(|()| {
        run_ok(Command::new(&python).args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", &spec]))
    });
    match in_venv {
        Ok(()) => Ok((python, None)),
        Err(venv_error) => {
            let target = scratch.join("lib");
            run_ok(
                Command::new("python3")
                    .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
                    .arg(&target)
                    .arg(&spec),
            )
            .map_err(|e| format!("{venv_error}; then {e}"))?;
            Ok((PathBuf::from("python3"), Some(target)))
        }
    }
}

fn install() -> Result<Checker, String> {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("routeros-lsp-{LSP_VERSION}"));
    let (python, pythonpath) = install_package(&scratch)?;
    let dir = scratch.join(format!("schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (menus, schema, script) = (dir.join("container.json"), dir.join("schema.json"), dir.join("extend.py"));
    std::fs::write(&menus, CONTAINER_MENUS).map_err(|e| e.to_string())?;
    std::fs::write(&script, EXTEND).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(&python);
    if let Some(p) = &pythonpath {
        cmd.env("PYTHONPATH", p);
    }
    run_ok(cmd.arg(&script).arg(&menus).arg(&schema))?;
    Ok(Checker { python, pythonpath, schema })
}

fn checker() -> Option<&'static Checker> {
    static CHECKER: OnceLock<Result<Checker, String>> = OnceLock::new();
    match CHECKER.get_or_init(install) {
        Ok(c) => Some(c),
        Err(e) => {
            skip(e);
            None
        }
    }
}

/// `routeros-lsp check --strict` on `paths`: the findings, empty when clean.
fn check(c: &Checker, paths: &[PathBuf]) -> String {
    let mut cmd = Command::new(&c.python);
    if let Some(p) = &c.pythonpath {
        cmd.env("PYTHONPATH", p);
    }
    let out = cmd
        .args(["-m", "routeros_lsp", "check", "--strict", "--schema"])
        .arg(&c.schema)
        .args(paths)
        .output()
        .expect("run routeros-lsp");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        String::new()
    } else {
        text
    }
}

#[test]
fn the_checker_knows_a_mistake() {
    let Some(c) = checker() else { return };
    let f = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bad-{}.rsc", std::process::id()));
    std::fs::write(&f, "/ipv6 nd set [find interface=bridge] pref64-prefixes=64:ff9b::/96\n").unwrap();
    let findings = check(c, &[f]);
    assert!(findings.contains("pref64-prefixes"), "{findings}");
}

#[test]
fn routeros_scripts_pass_the_checker() {
    let Some(c) = checker() else { return };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../routeros-scripts");
    let findings = check(c, &[dir]);
    assert!(findings.is_empty(), "{findings}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioner_output_passes_the_checker() {
    let Some(c) = checker() else { return };
    let mut lines: Vec<String> = Vec::new();
    // Offline plans of both roles with every option.
    let mut clat = clat_cfg();
    clat.common.mss_clamp = MssClamp::Mss(1440);
    clat.common.router_interface = Some(BRIDGE.into());
    clat.common.container_v4 = Some(CT_V4.parse().unwrap());
    clat.common.container_v6 = Some(CT_V6.parse().unwrap());
    clat.common.distance = Some(5);
    let mut plat = plat_cfg();
    plat.common = clat.common.clone();
    plat.common.mss_clamp = MssClamp::Pmtu;
    if let RoleSpec::Plat(p) = &mut plat.spec {
        p.allow_v4 = vec!["10.1.2.0/24".parse().unwrap()];
    }
    for cfg in [&clat, &plat] {
        let site = resolve_offline(cfg).unwrap();
        lines.extend(plan(&cfg.tag().unwrap(), &desired(cfg, &site).unwrap(), &Snapshot::new()).cli_lines());
    }
    // Online plans: moves before the default firewall's drops, ND and DHCP
    // edits, sets after drift, removals.
    let r = router().await;
    let client = clients(&r).await.remove(0).1;
    for cfg in [clat_cfg(), plat_cfg()] {
        let prov = Provisioner::new(client.clone(), cfg.tag().unwrap());
        lines.extend(bounded(prov.prepare(&cfg)).await.unwrap().plan.cli_lines());
        bounded(prov.apply(&cfg)).await.unwrap();
        let route = tagged(&r, "/ip/route", &cfg.tag().unwrap().comment())[0][".id"].clone();
        routeros_api::RouterOs::set(&client, "/ip/route", &route, &[("gateway", "172.17.0.99")]).await.unwrap();
        lines.extend(bounded(prov.prepare(&cfg)).await.unwrap().plan.cli_lines());
        lines.extend(bounded(prov.prepare_remove()).await.unwrap().plan.cli_lines());
    }
    let kinds = ["add", "set", "remove", "move"];
    for k in kinds {
        assert!(lines.iter().any(|l| l.contains(&format!(" {k} "))), "no {k} line to check");
    }
    assert!(lines.iter().any(|l| l.starts_with("/ipv6 nd set ")), "the ND edit is checked");
    let f = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("provisioner-{}.rsc", std::process::id()));
    std::fs::write(&f, lines.join("\n") + "\n").unwrap();
    let findings = check(c, &[f]);
    assert!(findings.is_empty(), "{findings}");
}
