//! The architectures xlat ships images for, and what each one is called by
//! Rust, Docker, the ELF header and the file names.

use std::fmt;

use crate::elf::{Class, FloatAbi, EM_AARCH64, EM_ARM, EM_X86_64};

/// One image architecture. The [`name`](Arch::name) is the suffix of the
/// image file (`xlat-<version>-<name>.tar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// x86-64: Cloud Hosted Router (CHR) and x86 RouterOS installs.
    Amd64,
    /// AArch64 (ARMv8-A): RB5009, hAP ax2/ax3, CCR2004, CCR2116, ...
    Arm64,
    /// 32-bit ARMv7-A, hard float: hAP ac2/ac3, RB4011, cAP ac, ...
    Arm,
    /// 32-bit ARMv5TE, soft float: hEX refresh (EN7562CT).
    Armv5,
}

/// What the ELF header of a binary built for an [`Arch`] must say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfExpectation {
    /// 32- or 64-bit.
    pub class: Class,
    /// `e_machine`.
    pub machine: u16,
    /// The ARM EABI float calling convention (`None` off ARM).
    pub float_abi: Option<FloatAbi>,
    /// Highest ARM `Tag_CPU_arch` build attribute allowed (`None` off ARM).
    pub max_arm_cpu_arch: Option<u64>,
}

impl Arch {
    /// Every architecture, in the order the build reports them.
    pub const ALL: [Arch; 4] = [Arch::Amd64, Arch::Arm64, Arch::Arm, Arch::Armv5];

    /// Name used on the command line and as the image file suffix.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::Arm => "arm",
            Arch::Armv5 => "armv5",
        }
    }

    /// Parses a [`name`](Arch::name) or a common alias (`x86_64`,
    /// `aarch64`, `armv7`, `armv5te`).
    pub fn parse(s: &str) -> Option<Arch> {
        match s {
            "amd64" | "x86_64" => Some(Arch::Amd64),
            "arm64" | "aarch64" => Some(Arch::Arm64),
            "arm" | "armv7" | "arm/v7" => Some(Arch::Arm),
            "armv5" | "armv5te" | "arm/v5" => Some(Arch::Armv5),
            _ => None,
        }
    }

    /// The image config's `architecture` (Go's `GOARCH`).
    pub fn docker_arch(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::Arm | Arch::Armv5 => "arm",
        }
    }

    /// The image config's `variant`, as Docker writes it.
    pub fn variant(self) -> Option<&'static str> {
        match self {
            Arch::Amd64 => None,
            Arch::Arm64 => Some("v8"),
            Arch::Arm => Some("v7"),
            Arch::Armv5 => Some("v5"),
        }
    }

    /// The platform string of `docker buildx --platform`.
    pub fn platform(self) -> String {
        match self.variant() {
            Some(v) if self != Arch::Arm64 => format!("linux/{}/{v}", self.docker_arch()),
            _ => format!("linux/{}", self.docker_arch()),
        }
    }

    /// Directory of the binaries under `target/images/rootfs/`: buildx's
    /// `${TARGETARCH}${TARGETVARIANT}`, which the Dockerfile copies.
    pub fn rootfs_dir(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::Arm => "armv7",
            Arch::Armv5 => "armv5",
        }
    }

    /// The Rust target triple of the static binaries.
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::Amd64 => "x86_64-unknown-linux-musl",
            Arch::Arm64 => "aarch64-unknown-linux-musl",
            Arch::Arm => "armv7-unknown-linux-musleabihf",
            Arch::Armv5 => "armv5te-unknown-linux-musleabi",
        }
    }

    /// What the ELF header of every binary in the image must say.
    pub fn elf(self) -> ElfExpectation {
        // ARM build attribute Tag_CPU_arch: 4 = v5TE, 5 = v5TEJ, 10 = v7.
        const ARM_V7: u64 = 10;
        match self {
            Arch::Amd64 => {
                ElfExpectation { class: Class::Elf64, machine: EM_X86_64, float_abi: None, max_arm_cpu_arch: None }
            }
            Arch::Arm64 => {
                ElfExpectation { class: Class::Elf64, machine: EM_AARCH64, float_abi: None, max_arm_cpu_arch: None }
            }
            Arch::Arm => ElfExpectation {
                class: Class::Elf32,
                machine: EM_ARM,
                float_abi: Some(FloatAbi::Hard),
                max_arm_cpu_arch: Some(ARM_V7),
            },
            // Not v5TE: ring's ARM assembly (rustls, in the RouterOS
            // API client) says `.arch armv7-a` for its NEON paths, which it
            // selects at run time from AT_HWCAP, and the linker gives the
            // whole binary the newest attribute of its objects (ring issue
            // #857). The soft-float ABI still tells an ARMv5 build from an
            // ARMv7 (hard-float) one, and container/tests/images.rs runs
            // the binaries under `qemu-arm -cpu arm926`, which traps any
            // ARMv6+ instruction actually executed.
            Arch::Armv5 => ElfExpectation {
                class: Class::Elf32,
                machine: EM_ARM,
                float_abi: Some(FloatAbi::Soft),
                max_arm_cpu_arch: Some(ARM_V7),
            },
        }
    }

    /// The image file name: `<repository>-<version>-<arch>.tar`.
    pub fn image_file(self, repository: &str, version: &str) -> String {
        format!("{repository}-{version}-{}.tar", self.name())
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Arch::ALL {
            assert_eq!(Arch::parse(a.name()), Some(a));
        }
        assert_eq!(Arch::parse("armv7"), Some(Arch::Arm));
        assert_eq!(Arch::parse("mips"), None);
    }

    #[test]
    fn platforms_match_buildx() {
        let p: Vec<String> = Arch::ALL.iter().map(|a| a.platform()).collect();
        assert_eq!(p, ["linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v5"]);
    }

    #[test]
    fn file_names() {
        assert_eq!(Arch::Arm.image_file("xlat", "0.1.0"), "xlat-0.1.0-arm.tar");
        assert_eq!(Arch::Armv5.image_file("xlat-plat", "0.1.0"), "xlat-plat-0.1.0-armv5.tar");
    }
}
