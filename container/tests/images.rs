//! Tests of the images `container/build.sh` wrote to `target/images/`
//! (or `$XLAT_IMAGES_DIR`):
//!
//! - every tar: the `docker save` structure (manifest, repositories,
//!   config digest and contents, layer digest), the 5 MB budget, and each
//!   binary of the layer a static ELF for the image's machine;
//! - every non-native binary under qemu-user, on the oldest CPU of its
//!   family that MikroTik ships: `--version`, and `clat translate` of the
//!   sample capture byte-identical (pcap and per-packet report) to the
//!   native amd64 binary;
//! - where `docker info` answers: `docker load` of the amd64 tars, `docker
//!   run` (version, the default `run` command, an offline translation
//!   inside the container), and the Dockerfile built from the same
//!   binaries.
//!
//! Missing images or qemu print `SKIPPED ...` and pass; with `CI=true` the
//! amd64 and arm64 images and qemu are required (container/test.sh builds
//! and installs them). The 32-bit ARM images are optional everywhere (they
//! need a nightly toolchain), and Docker is used only where it answers.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{json, Value};
use xlat_container::arch::Arch;
use xlat_container::elf;
use xlat_container::image::sha256_hex;
use xlat_container::role::Role;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const MAX_SIZE: usize = 5_000_000;
/// Architectures CI must have built (stable toolchain).
const REQUIRED: [Arch; 2] = [Arch::Amd64, Arch::Arm64];

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Prints `SKIPPED` on the process's stderr (not captured by the harness).
fn skipped(test: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("container/ has a parent").to_path_buf()
}

fn images_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XLAT_IMAGES_DIR") {
        return d.into();
    }
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target")).join("images")
}

fn image_path(role: Role, arch: Arch) -> PathBuf {
    images_dir().join(arch.image_file(role.repository(), VERSION))
}

/// The roles the workspace builds: plat once crates/plat exists.
fn roles() -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| workspace().join("crates").join(r.name()).join("Cargo.toml").is_file()).collect()
}

/// The built images; reports the missing ones (a failure in CI for the
/// required architectures).
fn images(test: &str) -> Vec<(Role, Arch)> {
    let all = roles().into_iter().flat_map(|r| Arch::ALL.map(|a| (r, a)));
    let (found, missing): (Vec<_>, Vec<_>) = all.partition(|(r, a)| image_path(*r, *a).is_file());
    if in_ci() {
        if let Some((r, a)) = missing.iter().find(|(_, a)| REQUIRED.contains(a)) {
            panic!("{test}: {} is missing, and CI=true: container/test.sh builds it", image_path(*r, *a).display());
        }
    }
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|(r, a)| format!("{}-{a}", r.name())).collect();
        skipped(
            test,
            &format!("not built: {} in {} (container/build.sh --arch ...)", names.join(", "), images_dir().display()),
        );
    }
    found
}

/// A `docker save` tar read back: its entries, and the layer's files.
struct Loaded {
    entries: BTreeMap<String, Vec<u8>>,
    /// Layer entries: path -> (mode, uid, gid, contents).
    layer: BTreeMap<String, (u32, u64, u64, Vec<u8>)>,
    manifest: Value,
    config: Value,
    layer_id: String,
    config_file: String,
}

fn read_tar(bytes: &[u8]) -> Vec<(String, tar::Header, Vec<u8>)> {
    let mut out = Vec::new();
    for e in tar::Archive::new(bytes).entries().expect("a tar") {
        let mut e = e.expect("a tar entry");
        let name = e.path().expect("a path").to_string_lossy().into_owned();
        let header = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("entry data");
        out.push((name, header, data));
    }
    out
}

fn load(role: Role, arch: Arch) -> Loaded {
    let bytes = std::fs::read(image_path(role, arch)).expect("image readable");
    let entries: BTreeMap<String, Vec<u8>> = read_tar(&bytes).into_iter().map(|(n, _, d)| (n, d)).collect();
    let manifest: Value = serde_json::from_slice(&entries["manifest.json"]).expect("manifest.json is JSON");
    let config_file = manifest[0]["Config"].as_str().expect("manifest Config").to_string();
    let layer_path = manifest[0]["Layers"][0].as_str().expect("manifest Layers[0]").to_string();
    let layer_id = layer_path.strip_suffix("/layer.tar").expect("<id>/layer.tar").to_string();
    let config: Value = serde_json::from_slice(&entries[&config_file]).expect("config is JSON");
    let layer = read_tar(&entries[&layer_path])
        .into_iter()
        .map(|(n, h, d)| (n, (h.mode().unwrap(), h.uid().unwrap(), h.gid().unwrap(), d)))
        .collect();
    Loaded { entries, layer, manifest, config, layer_id, config_file }
}

static SCRATCH: AtomicUsize = AtomicUsize::new(0);

/// A fresh scratch directory under the target directory.
fn scratch(what: &str) -> PathBuf {
    let n = SCRATCH.fetch_add(1, Ordering::Relaxed);
    let dir = images_dir().join("test-scratch").join(format!("{what}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Writes the image's binaries (executable) into a scratch directory.
fn extract(role: Role, arch: Arch) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch(&format!("{}-{arch}", role.name()));
    for (name, (_, _, _, data)) in load(role, arch).layer {
        let p = dir.join(&name);
        std::fs::write(&p, data).expect("write binary");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    dir
}

#[test]
fn every_image_is_a_well_formed_docker_save_archive() {
    for (role, arch) in images("every_image_is_a_well_formed_docker_save_archive") {
        let what = format!("{}-{arch}", role.name());
        let size = std::fs::metadata(image_path(role, arch)).unwrap().len() as usize;
        assert!(size <= MAX_SIZE, "{what}: {size} bytes, over the {MAX_SIZE} byte budget");
        let img = load(role, arch);
        let (l, c) = (&img.layer_id, img.config_file.strip_suffix(".json").expect("<id>.json"));

        let mut names: Vec<&str> = img.entries.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut want = vec![
            format!("{l}/"),
            format!("{l}/VERSION"),
            format!("{l}/json"),
            format!("{l}/layer.tar"),
            img.config_file.clone(),
            "manifest.json".into(),
            "repositories".into(),
        ];
        want.sort_unstable();
        assert_eq!(names, want, "{what}: archive entries");

        // Digest naming: the layer ID is the layer's SHA-256, the config
        // file is named after its own SHA-256.
        assert_eq!(sha256_hex(&img.entries[&format!("{l}/layer.tar")]), *l, "{what}: layer digest");
        assert_eq!(sha256_hex(&img.entries[&img.config_file]), c, "{what}: config digest");

        let (repo, tag) = (role.repository(), format!("{VERSION}-{arch}"));
        assert_eq!(img.manifest.as_array().map(Vec::len), Some(1), "{what}: one image");
        assert_eq!(img.manifest[0]["RepoTags"], json!([format!("{repo}:{tag}")]));
        assert_eq!(img.manifest[0]["Layers"].as_array().map(Vec::len), Some(1), "{what}: one layer");
        let repos: Value = serde_json::from_slice(&img.entries["repositories"]).unwrap();
        assert_eq!(repos[repo][&tag], json!(l));
        assert_eq!(img.entries[&format!("{l}/VERSION")], b"1.0");

        let cfg = &img.config;
        assert_eq!(cfg["architecture"], arch.docker_arch(), "{what}: architecture");
        assert_eq!(cfg["variant"].as_str(), arch.variant(), "{what}: variant");
        assert_eq!(cfg["os"], "linux");
        assert_eq!(cfg["config"]["Entrypoint"], json!([format!("/{}", role.name())]), "{what}: entrypoint");
        assert_eq!(cfg["config"]["Cmd"], json!(["run"]), "{what}: cmd");
        assert_eq!(cfg["config"]["Labels"]["org.opencontainers.image.version"], VERSION);
        assert_eq!(cfg["rootfs"], json!({ "type": "layers", "diff_ids": [format!("sha256:{l}")] }));

        let files: Vec<&str> = img.layer.keys().map(String::as_str).collect();
        assert_eq!(files, [role.name()], "{what}: layer files");
        for (name, (mode, uid, gid, data)) in &img.layer {
            assert_eq!((*mode, *uid, *gid), (0o755, 0, 0), "{what}: /{name} mode and owner");
            let info = elf::inspect(data).unwrap_or_else(|e| panic!("{what}: /{name}: {e}"));
            info.check(&arch.elf()).unwrap_or_else(|e| panic!("{what}: /{name}: {e}"));
        }
    }
}

/// `file(1)`'s view of each binary, independent of our ELF reader.
#[test]
fn file_agrees_the_binaries_are_static_for_the_right_machine() {
    let test = "file_agrees_the_binaries_are_static_for_the_right_machine";
    if Command::new("file").arg("--version").output().is_err() {
        return skipped(test, "file is not installed (apt-get install file)");
    }
    for (role, arch) in images(test) {
        let dir = extract(role, arch);
        let name = role.name();
        let out = Command::new("file").arg("-b").arg(dir.join(name)).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let machine = match arch {
            Arch::Amd64 => "x86-64",
            Arch::Arm64 => "ARM aarch64",
            Arch::Arm | Arch::Armv5 => "ARM, EABI5",
        };
        assert!(text.contains(machine), "{arch}: /{name}: {text}");
        let is_static = text.contains("statically linked") || text.contains("static-pie linked");
        assert!(is_static, "{arch}: /{name}: {text}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// qemu-user emulator and CPU model for an architecture: the oldest core
/// of the family in MikroTik's line-up, so newer instructions would trap.
fn qemu(arch: Arch) -> Option<(&'static str, &'static str)> {
    match arch {
        Arch::Amd64 => None,
        // hAP ax2 (IPQ6010); RB5009 has Cortex-A72.
        Arch::Arm64 => Some(("qemu-aarch64-static", "cortex-a53")),
        // hAP ac2 (IPQ4018); RB4011 has Cortex-A15.
        Arch::Arm => Some(("qemu-arm-static", "cortex-a7")),
        // EN7562CT is ARMv5TE-class; ARM926EJ-S is the reference core.
        Arch::Armv5 => Some(("qemu-arm-static", "arm926")),
    }
}

/// Runs `bin args...` natively or under qemu, in `bin`'s directory.
fn run(arch: Arch, bin: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = match qemu(arch) {
        Some((emu, cpu)) => {
            let mut c = Command::new(emu);
            c.args(["-cpu", cpu]).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.args(args).envs(env.iter().copied());
    cmd.current_dir(bin.parent().expect("a directory"));
    cmd.output().unwrap_or_else(|e| panic!("{arch}: running {bin:?}: {e}"))
}

/// `clat translate` of the sample capture into `out.pcap` next to the
/// binary: (output pcap, stdout, which names only `out.pcap`).
fn translate(arch: Arch, clat: &Path) -> (Vec<u8>, String) {
    let data = workspace().join("tests/data");
    let (config, input) = (data.join("sample.toml"), data.join("sample-v4.pcap"));
    let args =
        ["translate", "--config", config.to_str().unwrap(), "--in", input.to_str().unwrap(), "--out", "out.pcap"];
    let o = run(arch, clat, &args, &[]);
    assert!(o.status.success(), "{arch}: clat translate failed: {}", String::from_utf8_lossy(&o.stderr));
    let out = clat.with_file_name("out.pcap");
    (std::fs::read(out).expect("translate output"), String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn foreign_binaries_run_under_qemu_and_translate_like_native() {
    let test = "foreign_binaries_run_under_qemu_and_translate_like_native";
    let built = images(test);
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return skipped(test, "the native reference is the amd64 image: needs an x86_64 host");
    }
    if !built.contains(&(Role::Clat, Arch::Amd64)) {
        return skipped(test, "no amd64 CLAT image to compare with");
    }
    let native_dir = extract(Role::Clat, Arch::Amd64);
    let (want_pcap, want_report) = translate(Arch::Amd64, &native_dir.join("clat"));
    assert!(want_pcap.len() > 24, "the sample translates to at least one packet");

    for (role, arch) in built.into_iter().filter(|(_, a)| *a != Arch::Amd64) {
        let (emu, _) = qemu(arch).expect("foreign");
        if Command::new(emu).arg("--version").output().is_err() {
            let why = format!("{emu} is not installed (apt-get install qemu-user-static)");
            if in_ci() {
                panic!("{test} [{arch}]: {why}, and CI=true: container/test.sh installs it");
            }
            skipped(&format!("{test} [{arch}]"), &why);
            continue;
        }
        let what = format!("{}-{arch}", role.name());
        let dir = extract(role, arch);
        let bin = dir.join(role.name());
        let v = run(arch, &bin, &["--version"], &[]);
        assert!(v.status.success(), "{what}: --version: {}", String::from_utf8_lossy(&v.stderr));
        assert_eq!(String::from_utf8_lossy(&v.stdout).trim(), format!("{} {VERSION}", role.name()), "{what}");

        if role == Role::Clat {
            let (pcap, report) = translate(arch, &bin);
            assert!(pcap == want_pcap, "{what}: translated capture differs from the native one");
            assert_eq!(report, want_report, "{what}: per-packet report differs from the native one");
        }

        // A configuration error is one line and exit code 2, as natively.
        let e = run(arch, &bin, &["run", "--tun-mtu", "1"], &[]);
        assert_eq!(e.status.code(), Some(2), "{what}: run --tun-mtu 1: {}", String::from_utf8_lossy(&e.stderr));
        let _ = std::fs::remove_dir_all(dir);
    }
    let _ = std::fs::remove_dir_all(native_dir);
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker runs")
}

fn docker_ok(args: &[&str]) -> String {
    let o = docker(args);
    assert!(o.status.success(), "docker {}: {}", args.join(" "), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `docker run --rm --network none <tag> args...` with `-e env`.
fn docker_run(tag: &str, env: &[&str], args: &[&str]) -> Output {
    let mut all = vec!["run", "--rm", "--network", "none"];
    for e in env {
        all.extend(["-e", e]);
    }
    all.push(tag);
    all.extend(args);
    docker(&all)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

/// `docker load` + `docker run` of the amd64 images, and the Dockerfile.
#[test]
fn docker_loads_and_runs_the_amd64_images() {
    let test = "docker_loads_and_runs_the_amd64_images";
    let built = images(test);
    match Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]).output() {
        Ok(o) if o.status.success() => {}
        _ => return skipped(test, "no Docker daemon answers `docker info` (the images are still tested above)"),
    }
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return skipped(test, "needs an x86_64 Docker host");
    }
    for role in roles() {
        if !built.contains(&(role, Arch::Amd64)) {
            continue;
        }
        let (name, tag) = (role.name(), format!("{}:{VERSION}-amd64", role.repository()));
        let loaded = docker_ok(&["load", "-i", image_path(role, Arch::Amd64).to_str().unwrap()]);
        assert!(loaded.contains(&format!("Loaded image: {tag}")), "docker load said: {loaded}");

        let inspect: Value = serde_json::from_str(&docker_ok(&["image", "inspect", &tag])).unwrap();
        assert_eq!(inspect[0]["Architecture"], "amd64");
        assert_eq!(inspect[0]["Os"], "linux");
        assert_eq!(inspect[0]["Config"]["Entrypoint"], json!([format!("/{name}")]));
        assert_eq!(inspect[0]["Config"]["Cmd"], json!(["run"]));

        // Arguments replace the default command (RouterOS `cmd=`).
        let v = docker_run(&tag, &[], &["--version"]);
        assert!(v.status.success(), "{tag} --version: {}", text(&v.stderr));
        assert_eq!(text(&v.stdout), format!("{name} {VERSION}"));
        // No arguments: the daemon (`run`), here stopped by a bad or
        // missing setting from the environment (RouterOS envlist) before
        // it needs a TUN: one line naming the variable, exit code 2.
        let daemon = docker_run(&tag, &["XLAT_TUN_MTU=1"], &[]);
        let err = text(&daemon.stderr);
        assert_eq!(daemon.status.code(), Some(2), "{tag} run with XLAT_TUN_MTU=1: {err}");
        assert!(err.starts_with("error:") && err.contains("XLAT_") && err.lines().count() == 1, "{tag}: {err}");

        if role == Role::Clat {
            // An offline translation inside the container equals the host's.
            let native_dir = extract(Role::Clat, Arch::Amd64);
            let (want, _) = translate(Arch::Amd64, &native_dir.join("clat"));
            let data = format!("{}:/data:ro", workspace().join("tests/data").display());
            let out = format!("{}:/out", native_dir.display());
            let args = [
                "run",
                "--rm",
                "--network",
                "none",
                "-v",
                &data,
                "-v",
                &out,
                &tag,
                "translate",
                "--quiet",
                "--config",
                "/data/sample.toml",
                "--in",
                "/data/sample-v4.pcap",
                "--out",
                "/out/container.pcap",
            ];
            docker_ok(&args);
            let got = std::fs::read(native_dir.join("container.pcap")).expect("container wrote its output");
            assert!(got == want, "translation inside the container differs from the host's");
            let _ = std::fs::remove_dir_all(native_dir);
        }
        let _ = docker(&["rmi", "-f", &tag]);
    }

    // The Dockerfile, on the binaries build.sh staged for buildx (the
    // classic builder: one architecture; FROM scratch needs no registry).
    let rootfs = images_dir().join("rootfs");
    for role in roles() {
        if !rootfs.join("amd64").join(role.name()).is_file() {
            continue;
        }
        let df_tag = format!("xlat-dockerfile-test-{}:{VERSION}", role.name());
        let o = Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "--build-arg", "TARGETARCH=amd64", "--target", role.name(), "-t", &df_tag, "-f"])
            .arg(workspace().join("Dockerfile"))
            .arg(&rootfs)
            .output()
            .unwrap();
        assert!(o.status.success(), "docker build: {}", text(&o.stderr));
        let v = docker_ok(&["run", "--rm", "--network", "none", &df_tag, "--version"]);
        assert_eq!(v.trim(), format!("{} {VERSION}", role.name()));
        let _ = docker(&["rmi", "-f", &df_tag]);
    }
}
