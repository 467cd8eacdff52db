//! A single-architecture image in the `docker save` format (Docker image
//! specification v1.2 plus the `manifest.json` of `docker save`), the
//! format RouterOS `/container/add file=...` and `docker load` accept:
//!
//! ```text
//! <layer>/VERSION        "1.0"
//! <layer>/json           legacy v1 layer metadata (id, architecture, config)
//! <layer>/layer.tar      the one layer, uncompressed (RouterOS wants that)
//! <config>.json          image config: architecture, variant, os, Entrypoint,
//!                        Cmd, Env, Labels, rootfs.diff_ids = [sha256:<layer>]
//! manifest.json          [{"Config": "<config>.json", "RepoTags": [...],
//!                          "Layers": ["<layer>/layer.tar"]}]
//! repositories           {"<repository>": {"<tag>": "<layer>"}}
//! ```
//!
//! `<layer>` is the SHA-256 of the layer tar (its diff ID) and `<config>`
//! the SHA-256 of the config file, both in hex. Every timestamp is the
//! given creation time, so the archive is reproducible.

use std::collections::BTreeMap;
use std::io;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::arch::Arch;
use crate::tar::TarWriter;

/// One file of the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFile {
    /// Path inside the image, without the leading `/`.
    pub path: String,
    /// Permission bits.
    pub mode: u32,
    /// Contents.
    pub data: Vec<u8>,
}

/// Everything the image is made of.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// Target architecture (config `architecture` and `variant`).
    pub arch: Arch,
    /// Repository name of the tag (`xlat`).
    pub repository: String,
    /// Tag (`0.1.0-arm64`).
    pub tag: String,
    /// Creation time, seconds since the epoch (`SOURCE_DATE_EPOCH`).
    pub created: u64,
    /// Config `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// Config `Cmd`: the default arguments.
    pub cmd: Vec<String>,
    /// Config `Env`, `KEY=value` each.
    pub env: Vec<String>,
    /// Config `Labels`.
    pub labels: BTreeMap<String, String>,
    /// The history entry's `created_by`.
    pub created_by: String,
    /// Files of the single layer, in this order.
    pub files: Vec<LayerFile>,
}

/// A built image.
#[derive(Debug, Clone)]
pub struct Image {
    /// The `docker save` tar.
    pub archive: Vec<u8>,
    /// SHA-256 of the layer tar, hex (the diff ID and the layer's ID).
    pub layer_id: String,
    /// SHA-256 of the config file, hex (the image ID).
    pub config_id: String,
    /// Size of the layer tar in bytes.
    pub layer_size: usize,
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// `seconds` since the epoch as RFC 3339 UTC (`1970-01-01T00:00:00Z`).
pub fn rfc3339(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rem = seconds % 86_400;
    // Days to civil date (H. Hinnant, "chrono-compatible low-level date
    // algorithms"), for the proleptic Gregorian calendar.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The layer tar: parent directories first, then each file.
fn layer(spec: &ImageSpec) -> io::Result<Vec<u8>> {
    let mut t = TarWriter::new(Vec::new(), spec.created);
    let mut dirs: Vec<String> = Vec::new();
    for f in &spec.files {
        let parts: Vec<&str> = f.path.split('/').collect();
        let mut parent = String::new();
        for part in &parts[..parts.len() - 1] {
            parent.push_str(part);
            parent.push('/');
            if !dirs.contains(&parent) {
                t.dir(&parent, 0o755)?;
                dirs.push(parent.clone());
            }
        }
        t.file(&f.path, f.mode, &f.data)?;
    }
    t.finish()
}

/// The container configuration part of the config (`config`).
fn container_config(spec: &ImageSpec) -> Value {
    json!({
        "Entrypoint": spec.entrypoint,
        "Cmd": spec.cmd,
        "Env": spec.env,
        "Labels": spec.labels,
        "WorkingDir": "/",
    })
}

/// Adds `architecture`, `os` and, when there is one, `variant`.
fn platform(obj: &mut Value, arch: Arch) {
    obj["architecture"] = json!(arch.docker_arch());
    obj["os"] = json!("linux");
    if let Some(v) = arch.variant() {
        obj["variant"] = json!(v);
    }
}

/// Builds the image archive.
pub fn build(spec: &ImageSpec) -> io::Result<Image> {
    let layer = layer(spec)?;
    let layer_id = sha256_hex(&layer);
    let created = rfc3339(spec.created);

    let mut config = json!({
        "created": created,
        "config": container_config(spec),
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{layer_id}")] },
        "history": [{ "created": created, "created_by": spec.created_by }],
    });
    platform(&mut config, spec.arch);
    let config = serde_json::to_vec(&config).map_err(io::Error::other)?;
    let config_id = sha256_hex(&config);

    let mut v1 = json!({
        "id": layer_id,
        "created": created,
        "container_config": { "Cmd": null },
        "config": container_config(spec),
    });
    platform(&mut v1, spec.arch);
    let v1 = serde_json::to_vec(&v1).map_err(io::Error::other)?;

    let manifest = json!([{
        "Config": format!("{config_id}.json"),
        "RepoTags": [format!("{}:{}", spec.repository, spec.tag)],
        "Layers": [format!("{layer_id}/layer.tar")],
    }]);
    let repositories = json!({ spec.repository.as_str(): { spec.tag.as_str(): layer_id } });

    let mut t = TarWriter::new(Vec::new(), spec.created);
    t.dir(&format!("{layer_id}/"), 0o755)?;
    t.file(&format!("{layer_id}/VERSION"), 0o644, b"1.0")?;
    t.file(&format!("{layer_id}/json"), 0o644, &v1)?;
    t.file(&format!("{layer_id}/layer.tar"), 0o644, &layer)?;
    t.file(&format!("{config_id}.json"), 0o644, &config)?;
    t.file("manifest.json", 0o644, &serde_json::to_vec(&manifest).map_err(io::Error::other)?)?;
    t.file("repositories", 0o644, &serde_json::to_vec(&repositories).map_err(io::Error::other)?)?;
    let archive = t.finish()?;
    Ok(Image { archive, layer_id, config_id, layer_size: layer.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ImageSpec {
        ImageSpec {
            arch: Arch::Arm,
            repository: "xlat".into(),
            tag: "0.1.0-arm".into(),
            created: 1_700_000_000,
            entrypoint: vec!["/clat".into()],
            cmd: vec!["run".into()],
            env: vec!["XLAT_LOG_FORMAT=json".into()],
            labels: BTreeMap::from([("org.opencontainers.image.version".into(), "0.1.0".into())]),
            created_by: "test".into(),
            files: vec![
                LayerFile { path: "clat".into(), mode: 0o755, data: vec![1; 1000] },
                LayerFile { path: "etc/xlat/x.toml".into(), mode: 0o644, data: b"a = 1\n".to_vec() },
            ],
        }
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn sha256_known_answer() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn archive_is_reproducible() {
        let (a, b) = (build(&spec()).unwrap(), build(&spec()).unwrap());
        assert_eq!(a.archive, b.archive);
        let mut other = spec();
        other.created += 1;
        assert_ne!(build(&other).unwrap().config_id, a.config_id);
    }

    /// Reads the archive back with the `tar` crate, an independent reader.
    #[test]
    fn archive_layout() {
        use std::io::Read;
        let img = build(&spec()).unwrap();
        let mut entries = BTreeMap::new();
        for e in ::tar::Archive::new(&img.archive[..]).entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            entries.insert(name, data);
        }
        let l = &img.layer_id;
        let c = &img.config_id;
        let names: Vec<&str> = entries.keys().map(String::as_str).collect();
        let mut want = vec![format!("{l}/"), format!("{l}/VERSION"), format!("{l}/json"), format!("{l}/layer.tar")];
        want.extend([format!("{c}.json"), "manifest.json".into(), "repositories".into()]);
        want.sort();
        assert_eq!(names, want);

        let layer = &entries[&format!("{l}/layer.tar")];
        assert_eq!(sha256_hex(layer), *l);
        assert_eq!(layer.len(), img.layer_size);
        let config = &entries[&format!("{c}.json")];
        assert_eq!(sha256_hex(config), *c);

        let config: Value = serde_json::from_slice(config).unwrap();
        assert_eq!(config["architecture"], "arm");
        assert_eq!(config["variant"], "v7");
        assert_eq!(config["os"], "linux");
        assert_eq!(config["created"], "2023-11-14T22:13:20Z");
        assert_eq!(config["config"]["Entrypoint"], json!(["/clat"]));
        assert_eq!(config["config"]["Cmd"], json!(["run"]));
        assert_eq!(config["config"]["Env"], json!(["XLAT_LOG_FORMAT=json"]));
        assert_eq!(config["rootfs"]["diff_ids"], json!([format!("sha256:{l}")]));

        let manifest: Value = serde_json::from_slice(&entries["manifest.json"]).unwrap();
        assert_eq!(manifest[0]["Config"], format!("{c}.json"));
        assert_eq!(manifest[0]["RepoTags"], json!(["xlat:0.1.0-arm"]));
        assert_eq!(manifest[0]["Layers"], json!([format!("{l}/layer.tar")]));
        let repos: Value = serde_json::from_slice(&entries["repositories"]).unwrap();
        assert_eq!(repos["xlat"]["0.1.0-arm"], *l);

        let mut inner = Vec::new();
        for e in ::tar::Archive::new(&layer[..]).entries().unwrap() {
            let e = e.unwrap();
            let h = e.header();
            inner.push((e.path().unwrap().to_string_lossy().into_owned(), h.mode().unwrap(), h.uid().unwrap()));
        }
        assert_eq!(
            inner,
            [
                ("clat".to_string(), 0o755, 0),
                ("etc/".into(), 0o755, 0),
                ("etc/xlat/".into(), 0o755, 0),
                ("etc/xlat/x.toml".into(), 0o644, 0)
            ]
        );
    }
}
