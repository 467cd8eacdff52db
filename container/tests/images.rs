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

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(str::to_owned))
        .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"))
}

/// Polls `cond` every 20 ms until it holds, for at most `timeout`.
fn wait_for(timeout: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A network namespace of its own (`ip netns`), deleted on drop with the
/// processes still in it.
struct Netns(String);

impl Netns {
    fn new(name: String) -> Self {
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let o = Command::new("ip").args(["netns", "add", &name]).output().expect("ip runs");
        assert!(o.status.success(), "ip netns add {name}: {}", text(&o.stderr));
        let o = Command::new("ip").args(["-n", &name, "link", "set", "lo", "up"]).output().expect("ip runs");
        assert!(o.status.success(), "lo up in {name}: {}", text(&o.stderr));
        Self(name)
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(o) = Command::new("ip").args(["netns", "pids", &self.0]).output() {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).output();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// A test CA and a certificate for 127.0.0.1 it signed (ECDSA P-256), by
/// openssl: (CA file, certificate, key).
fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    for step in [
        format!("req -x509 {ec} -days 2 -subj /CN=xlat-test-CA -keyout ca.key -out ca.pem"),
        format!("req {ec} -subj /CN=router.test -keyout key.pem -out cert.csr"),
        "x509 -req -days 2 -CAcreateserial -in cert.csr -CA ca.pem -CAkey ca.key -extfile ext.cnf -out cert.pem".into(),
    ] {
        let o = Command::new("openssl").args(step.split(' ')).current_dir(dir).output().expect("openssl runs");
        assert!(o.status.success(), "openssl {step}: {}", text(&o.stderr));
    }
    (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"))
}

/// The RouterOS API client's TLS on the oldest core of each family: rustls
/// on ring, whose ARM assembly is why the ARMv5 binaries carry the ARMv7
/// build attribute (see `Arch::elf`). Each foreign CLAT runs as the daemon
/// (`clat run`, under qemu-user, in a network namespace of its own: TUN,
/// routes) and self-provisions against `openssl s_server` with
/// `XLAT_ROUTEROS_CA_FILE`: the TLS 1.3 handshake (ECDHE, ECDSA P-256
/// verification, AEAD) must complete, and the server must read the API's
/// `/login` sentence. An ARMv6+ instruction on ARM926 would be SIGILL.
#[test]
fn foreign_clat_daemon_speaks_tls_to_the_router_under_qemu() {
    use std::process::Stdio;
    use std::time::Duration;
    let test = "foreign_clat_daemon_speaks_tls_to_the_router_under_qemu";
    let foreign: Vec<Arch> =
        images(test).into_iter().filter(|(r, a)| *r == Role::Clat && *a != Arch::Amd64).map(|(_, a)| a).collect();
    if foreign.is_empty() {
        return;
    }
    let why = if !is_root() {
        Some("needs root (clat run in a network namespace)".to_owned())
    } else {
        ["openssl", "ip", "qemu-arm-static", "qemu-aarch64-static"]
            .into_iter()
            .find(|t| Command::new(t).arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err())
            .map(|t| format!("{t} is not installed"))
    };
    if let Some(why) = why {
        assert!(!in_ci(), "{test}: {why}, and CI=true: container/test.sh installs it as root");
        return skipped(test, &why);
    }
    let pki = scratch("pki");
    let (ca, cert, key) = test_pki(&pki);
    for arch in foreign {
        let (emu, cpu) = qemu(arch).expect("foreign");
        let dir = extract(Role::Clat, arch);
        let ns = Netns::new(format!("xlat-img-{}-{arch}", std::process::id()));
        let server_out = dir.join("s_server.out");
        let mut server = ns.command("openssl");
        server.args(["s_server", "-quiet", "-accept", "8729", "-cert"]).arg(&cert).arg("-key").arg(&key);
        // stdin stays open (piped): s_server closes the connection at EOF.
        let mut server = server
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&server_out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let listening = wait_for(Duration::from_secs(10), || {
            let o = ns.command("ss").args(["-Hltn", "sport", "=", ":8729"]).output().unwrap();
            !o.stdout.is_empty()
        });
        assert!(listening, "{arch}: openssl s_server does not listen");

        let clat_out = dir.join("clat.out");
        let mut clat = ns.command(emu);
        clat.args(["-cpu", cpu]).arg(dir.join("clat"));
        clat.args(["run", "--plat-prefix", "2001:db8:64::/96", "--clat-ipv6", "2001:db8:aaaa::1"]);
        clat.args(["--metrics-listen", "127.0.0.1:9464"]);
        clat.envs([
            ("XLAT_ROUTEROS_URL", "apis://127.0.0.1:8729"),
            ("XLAT_ROUTEROS_USER", "xlat"),
            ("XLAT_ROUTEROS_PASSWORD", "secret"),
            ("XLAT_ROUTEROS_VETH", "veth-xlat"),
        ]);
        clat.env("XLAT_ROUTEROS_CA_FILE", &ca);
        let log = std::fs::File::create(&clat_out).unwrap();
        let mut clat = clat.stdout(log.try_clone().unwrap()).stderr(log).spawn().expect("qemu runs");
        let mut exited = None;
        let got_login = wait_for(Duration::from_secs(60), || {
            exited = exited.or_else(|| clat.try_wait().ok().flatten());
            let seen = std::fs::read(&server_out).unwrap_or_default();
            exited.is_some() || seen.windows(6).any(|w| w == b"/login")
        });
        let _ = clat.kill();
        let _ = clat.wait();
        let _ = server.kill();
        let _ = server.wait();
        let seen = std::fs::read(&server_out).unwrap_or_default();
        let log = std::fs::read_to_string(&clat_out).unwrap_or_default();
        assert!(
            got_login && seen.windows(6).any(|w| w == b"/login") && seen.windows(10).any(|w| w == b"=name=xlat"),
            "{arch} ({cpu}): the router did not read /login over TLS (clat exit {exited:?}); server read {:?}\n{log}",
            String::from_utf8_lossy(&seen)
        );
        drop(ns);
        let _ = std::fs::remove_dir_all(dir);
    }
    let _ = std::fs::remove_dir_all(pki);
}
