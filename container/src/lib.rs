//! Container images of xlat for MikroTik RouterOS v7.
//!
//! RouterOS imports a container from a `docker save` tar
//! (`/container/add file=...`), with its layers uncompressed. This crate
//! makes those tars without a Docker daemon, one per role and
//! architecture:
//!
//! - [`image`]: one single-architecture `docker save` archive
//!   (`manifest.json`, `repositories`, the image config, one uncompressed
//!   layer) from static binaries; the `xlat-image` binary is its command
//!   line, `container/build.sh` its driver.
//! - [`role`]: what each image carries (`/clat` or `/plat` as the
//!   entrypoint, `run` as the default command) and its name.
//! - [`arch`]: the four image architectures and what each maps to (Rust
//!   target, Docker platform, ELF machine).
//! - [`elf`]: the header checks that keep a dynamically linked or
//!   wrong-architecture binary out of an image.
//! - [`tar`]: a deterministic ustar writer (owner root, fixed mtime).
//!
//! Everything here is deterministic: the same binaries and the same
//! creation time give byte-identical tars. See `container/README.md` for
//! how the images are built, tested and imported.
#![forbid(unsafe_code)]

pub mod arch;
pub mod elf;
pub mod image;
pub mod role;
pub mod tar;
