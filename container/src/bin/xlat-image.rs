//! `xlat-image`: writes the RouterOS image of one role and architecture, a
//! `docker save` tar (`xlat-<version>-<arch>.tar` for the CLAT,
//! `xlat-plat-<version>-<arch>.tar` for the PLAT), from the role's static
//! binary (`<rootfs>/clat` or `<rootfs>/plat`), which becomes the image's
//! entrypoint with `run` as the default command. No Docker daemon is
//! involved. The binary is checked first: static ELF for the right machine
//! (and ARM float ABI and CPU architecture).
//!
//! Exit codes: 0 written, 1 failure (one line on stderr), 2 usage.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use xlat_container::arch::Arch;
use xlat_container::image::{build, ImageSpec, LayerFile};
use xlat_container::role::Role;

/// The image budget: what a small router's flash and RAM can take.
const DEFAULT_MAX_SIZE: u64 = 5_000_000;
const EXECUTABLE: u32 = 0o755;

/// Write the RouterOS (docker save) image of one role and architecture.
#[derive(Debug, Parser)]
#[command(name = "xlat-image")]
struct Args {
    /// Architecture: amd64, arm64, arm (ARMv7), armv5
    #[arg(long, value_parser = parse_arch)]
    arch: Arch,

    /// Directory holding the role's static binary (clat or plat)
    #[arg(long, value_name = "DIR")]
    rootfs: PathBuf,

    /// Directory the tar is written to
    #[arg(long, value_name = "DIR")]
    out: PathBuf,

    /// Image version: file name, tag and labels [default: the workspace's]
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    version: String,

    /// The role the image carries
    #[arg(long, default_value = "clat", value_parser = parse_role)]
    role: Role,

    /// Repository part of the tag and file name [default: xlat for clat,
    /// xlat-plat for plat]
    #[arg(long)]
    repository: Option<String>,

    /// Creation time, seconds since the epoch (reproducible builds)
    #[arg(long, env = "SOURCE_DATE_EPOCH", default_value_t = 0)]
    created: u64,

    /// Fail when the tar is larger than this many bytes
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE)]
    max_size: u64,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}: use clat or plat"))
}

fn parse_arch(s: &str) -> Result<Arch, String> {
    Arch::parse(s).ok_or_else(|| format!("unknown architecture {s:?}: use amd64, arm64, arm or armv5"))
}

/// Reads `dir/name` and checks it is a static binary for `arch`.
fn binary(dir: &Path, name: &str, arch: Arch) -> Result<LayerFile, String> {
    let path = dir.join(name);
    let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let info = xlat_container::elf::inspect(&data).map_err(|e| format!("{}: {e}", path.display()))?;
    info.check(&arch.elf()).map_err(|e| format!("{}: not for {arch}: {e}", path.display()))?;
    Ok(LayerFile { path: name.into(), mode: EXECUTABLE, data })
}

fn megabytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn run(args: &Args) -> Result<(), String> {
    let role = args.role.name();
    let files = vec![binary(&args.rootfs, role, args.arch)?];
    let repository = args.repository.as_deref().unwrap_or(args.role.repository());
    let tag = format!("{}-{}", args.version, args.arch);
    let labels = BTreeMap::from([
        ("org.opencontainers.image.title".to_string(), repository.to_string()),
        (
            "org.opencontainers.image.description".into(),
            "464XLAT (CLAT/PLAT) translator for RouterOS containers".into(),
        ),
        ("org.opencontainers.image.version".into(), args.version.clone()),
        ("org.opencontainers.image.licenses".into(), env!("CARGO_PKG_LICENSE").into()),
        ("org.opencontainers.image.source".into(), env!("CARGO_PKG_REPOSITORY").into()),
    ]);
    let spec = ImageSpec {
        arch: args.arch,
        repository: repository.to_string(),
        tag: tag.clone(),
        created: args.created,
        entrypoint: args.role.entrypoint(),
        cmd: args.role.cmd(),
        env: Vec::new(),
        labels,
        created_by: format!("xlat-image {} (container/build.sh)", env!("CARGO_PKG_VERSION")),
        files,
    };
    let image = build(&spec).map_err(|e| format!("building the image: {e}"))?;
    let size = image.archive.len() as u64;
    let name = args.arch.image_file(repository, &args.version);
    let contents: Vec<String> =
        spec.files.iter().map(|f| format!("/{} {}", f.path, megabytes(f.data.len() as u64))).collect();
    println!(
        "{name}: {} ({}; image {}:{tag}, id sha256:{:.12})",
        megabytes(size),
        contents.join(", "),
        repository,
        image.config_id
    );
    if size > args.max_size {
        return Err(format!("{name} is {} bytes, over the {} byte budget", size, args.max_size));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let path = args.out.join(&name);
    let tmp = args.out.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, &image.archive).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        super::Args::command().debug_assert();
    }
}
