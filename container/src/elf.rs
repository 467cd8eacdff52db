//! Just enough ELF to tell whether a binary belongs in an image: its class,
//! machine, ARM float ABI and CPU architecture attribute, and whether it is
//! static (no `PT_INTERP`: a scratch image has no dynamic loader).
//!
//! Only little-endian files are read (every xlat target is). All reads are
//! bounds-checked: a truncated or hostile file gives an [`ElfError`], never
//! a panic.

use std::fmt;

/// `e_machine` of x86-64.
pub const EM_X86_64: u16 = 62;
/// `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 183;
/// `e_machine` of 32-bit ARM.
pub const EM_ARM: u16 = 40;

const MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const PT_INTERP: u32 = 3;
const SHT_ARM_ATTRIBUTES: u32 = 0x7000_0003;
const EF_ARM_EABIMASK: u32 = 0xff00_0000;
const EF_ARM_ABI_FLOAT_SOFT: u32 = 0x200;
const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;

/// Byte offsets of the header fields that differ between the classes.
mod field {
    pub(super) const CLASS: usize = 4;
    pub(super) const DATA: usize = 5;
    pub(super) const TYPE: usize = 16;
    pub(super) const MACHINE: usize = 18;

    /// Offsets for one ELF class.
    pub(super) struct Layout {
        pub(super) phoff: usize,
        pub(super) shoff: usize,
        pub(super) flags: usize,
        pub(super) phentsize: usize,
        pub(super) phnum: usize,
        pub(super) shentsize: usize,
        pub(super) shnum: usize,
        pub(super) sh_offset: usize,
        pub(super) sh_size: usize,
        pub(super) wide: bool,
    }

    pub(super) const ELF32: Layout = Layout {
        phoff: 28,
        shoff: 32,
        flags: 36,
        phentsize: 42,
        phnum: 44,
        shentsize: 46,
        shnum: 48,
        sh_offset: 16,
        sh_size: 20,
        wide: false,
    };
    pub(super) const ELF64: Layout = Layout {
        phoff: 32,
        shoff: 40,
        flags: 48,
        phentsize: 54,
        phnum: 56,
        shentsize: 58,
        shnum: 60,
        sh_offset: 24,
        sh_size: 32,
        wide: true,
    };
    /// `sh_type`, same offset in both classes.
    pub(super) const SH_TYPE: usize = 4;
}

/// ELF class: word size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// 32-bit.
    Elf32,
    /// 64-bit.
    Elf64,
}

/// The ARM EABI floating-point calling convention (`e_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatAbi {
    /// Floats in core registers (`EF_ARM_ABI_FLOAT_SOFT`): armel, ARMv5.
    Soft,
    /// Floats in VFP registers (`EF_ARM_ABI_FLOAT_HARD`): armhf, ARMv7.
    Hard,
    /// Neither flag set.
    Unspecified,
}

/// What [`inspect`] read from a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// Word size.
    pub class: Class,
    /// `e_type`: 2 executable, 3 shared object (also static-pie).
    pub kind: u16,
    /// `e_machine`.
    pub machine: u16,
    /// `e_flags`.
    pub flags: u32,
    /// A `PT_INTERP` program header: the binary needs a dynamic loader.
    pub interpreter: bool,
    /// ARM `Tag_CPU_arch` from `.ARM.attributes` (4 = v5TE, 10 = v7), when
    /// the section is there.
    pub arm_cpu_arch: Option<u64>,
}

impl ElfInfo {
    /// The ARM EABI version (`e_flags` bits 24..32); 0 off ARM.
    pub fn arm_eabi_version(&self) -> u32 {
        if self.machine == EM_ARM {
            (self.flags & EF_ARM_EABIMASK) >> 24
        } else {
            0
        }
    }

    /// The ARM float ABI, `None` off ARM.
    pub fn float_abi(&self) -> Option<FloatAbi> {
        if self.machine != EM_ARM {
            None
        } else if self.flags & EF_ARM_ABI_FLOAT_HARD != 0 {
            Some(FloatAbi::Hard)
        } else if self.flags & EF_ARM_ABI_FLOAT_SOFT != 0 {
            Some(FloatAbi::Soft)
        } else {
            Some(FloatAbi::Unspecified)
        }
    }

    /// Checks the binary against what an image architecture needs: the
    /// class, machine, EABI 5 and float ABI on ARM, the CPU architecture
    /// attribute when present, and static linking.
    pub fn check(&self, want: &crate::arch::ElfExpectation) -> Result<(), String> {
        if self.class != want.class || self.machine != want.machine {
            return Err(format!(
                "ELF {:?} machine {} where {:?} machine {} is needed",
                self.class, self.machine, want.class, want.machine
            ));
        }
        if self.interpreter {
            return Err("dynamically linked (has PT_INTERP); a scratch image needs a static binary".into());
        }
        if let Some(abi) = want.float_abi {
            if self.arm_eabi_version() != 5 {
                return Err(format!("ARM EABI version {} where 5 is needed", self.arm_eabi_version()));
            }
            if self.float_abi() != Some(abi) {
                return Err(format!("ARM float ABI {:?} where {abi:?} is needed", self.float_abi()));
            }
        }
        if let (Some(max), Some(got)) = (want.max_arm_cpu_arch, self.arm_cpu_arch) {
            if got > max {
                return Err(format!("ARM Tag_CPU_arch {got} is newer than the {max} this image is for"));
            }
        }
        Ok(())
    }
}

/// Why [`inspect`] could not read a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElfError {
    /// No ELF magic.
    NotElf,
    /// An ELF class other than 32 or 64 bits.
    BadClass(u8),
    /// Big-endian (or unknown) data encoding.
    NotLittleEndian(u8),
    /// A header or table runs past the end of the file.
    Truncated,
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::NotElf => f.write_str("not an ELF file"),
            ElfError::BadClass(c) => write!(f, "unknown ELF class {c}"),
            ElfError::NotLittleEndian(d) => write!(f, "ELF data encoding {d} is not little-endian"),
            ElfError::Truncated => f.write_str("truncated ELF file"),
        }
    }
}

impl std::error::Error for ElfError {}

fn bytes<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N], ElfError> {
    b.get(at..at.checked_add(N).ok_or(ElfError::Truncated)?).and_then(|s| s.try_into().ok()).ok_or(ElfError::Truncated)
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, ElfError> {
    bytes(b, at).map(u16::from_le_bytes)
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, ElfError> {
    bytes(b, at).map(u32::from_le_bytes)
}

/// An address-sized field, widened.
fn word_at(b: &[u8], at: usize, wide: bool) -> Result<usize, ElfError> {
    let v = if wide { u64::from_le_bytes(bytes(b, at)?) } else { u64::from(u32_at(b, at)?) };
    usize::try_from(v).map_err(|_| ElfError::Truncated)
}

/// The `i`-th entry of a table at `off` with entries of `size` bytes.
fn entry(b: &[u8], off: usize, size: usize, i: usize) -> Result<&[u8], ElfError> {
    let start = i.checked_mul(size).and_then(|x| x.checked_add(off)).ok_or(ElfError::Truncated)?;
    b.get(start..start.checked_add(size).ok_or(ElfError::Truncated)?).ok_or(ElfError::Truncated)
}

/// Reads the ELF header, the program headers and, on ARM, the CPU
/// architecture build attribute.
pub fn inspect(b: &[u8]) -> Result<ElfInfo, ElfError> {
    if bytes::<4>(b, 0).map_err(|_| ElfError::NotElf)? != MAGIC {
        return Err(ElfError::NotElf);
    }
    let (class, layout) = match *b.get(field::CLASS).ok_or(ElfError::Truncated)? {
        ELFCLASS32 => (Class::Elf32, &field::ELF32),
        ELFCLASS64 => (Class::Elf64, &field::ELF64),
        c => return Err(ElfError::BadClass(c)),
    };
    match *b.get(field::DATA).ok_or(ElfError::Truncated)? {
        ELFDATA2LSB => {}
        d => return Err(ElfError::NotLittleEndian(d)),
    }
    let kind = u16_at(b, field::TYPE)?;
    let machine = u16_at(b, field::MACHINE)?;
    let flags = u32_at(b, layout.flags)?;

    let phoff = word_at(b, layout.phoff, layout.wide)?;
    let phentsize = usize::from(u16_at(b, layout.phentsize)?);
    let mut interpreter = false;
    for i in 0..usize::from(u16_at(b, layout.phnum)?) {
        let ph = entry(b, phoff, phentsize, i)?;
        interpreter |= u32_at(ph, 0)? == PT_INTERP;
    }

    let mut arm_cpu_arch = None;
    if machine == EM_ARM {
        let shoff = word_at(b, layout.shoff, layout.wide)?;
        let shentsize = usize::from(u16_at(b, layout.shentsize)?);
        for i in 0..usize::from(u16_at(b, layout.shnum)?) {
            let sh = entry(b, shoff, shentsize, i)?;
            if u32_at(sh, field::SH_TYPE)? != SHT_ARM_ATTRIBUTES {
                continue;
            }
            let off = word_at(sh, layout.sh_offset, layout.wide)?;
            let size = word_at(sh, layout.sh_size, layout.wide)?;
            let section = b.get(off..off.checked_add(size).ok_or(ElfError::Truncated)?).ok_or(ElfError::Truncated)?;
            arm_cpu_arch = arm_attributes::cpu_arch(section);
        }
    }
    Ok(ElfInfo { class, kind, machine, flags, interpreter, arm_cpu_arch })
}

/// The `.ARM.attributes` section ("ELF for the ARM Architecture", build
/// attributes): `'A'`, then vendor subsections; in the `aeabi` one, the
/// file-scope attributes are (tag, value) pairs, ULEB128 or NUL-terminated.
mod arm_attributes {
    const FORMAT_VERSION: u8 = b'A';
    const TAG_FILE: u8 = 1;
    const TAG_CPU_RAW_NAME: u64 = 4;
    const TAG_CPU_NAME: u64 = 5;
    const TAG_CPU_ARCH: u64 = 6;
    const TAG_COMPATIBILITY: u64 = 32;
    const TAG_ALSO_COMPATIBLE_WITH: u64 = 65;
    const TAG_CONFORMANCE: u64 = 67;

    fn uleb(b: &[u8], at: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*at)?;
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn skip_string(b: &[u8], at: &mut usize) -> Option<()> {
        let len = b.get(*at..)?.iter().position(|&c| c == 0)?;
        *at += len + 1;
        Some(())
    }

    fn len32(b: &[u8], at: usize) -> Option<usize> {
        let v = u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?);
        usize::try_from(v).ok()
    }

    /// `Tag_CPU_arch` of the file-scope `aeabi` attributes, if present.
    pub(super) fn cpu_arch(section: &[u8]) -> Option<u64> {
        if section.first() != Some(&FORMAT_VERSION) {
            return None;
        }
        let mut at = 1;
        while at < section.len() {
            let len = len32(section, at)?;
            let sub = section.get(at..at.checked_add(len)?)?;
            at += len.max(1);
            let mut p = 4;
            let vendor_len = sub.get(p..)?.iter().position(|&c| c == 0)?;
            if &sub[p..p + vendor_len] != b"aeabi" {
                continue;
            }
            p += vendor_len + 1;
            while p < sub.len() {
                let tag = *sub.get(p)?;
                let size = len32(sub, p + 1)?;
                let attrs = sub.get(p + 5..p.checked_add(size)?)?;
                p += size.max(1);
                if tag != TAG_FILE {
                    continue;
                }
                let mut q = 0;
                while q < attrs.len() {
                    let t = uleb(attrs, &mut q)?;
                    match t {
                        TAG_CPU_ARCH => return uleb(attrs, &mut q),
                        TAG_CPU_RAW_NAME | TAG_CPU_NAME | TAG_CONFORMANCE | TAG_ALSO_COMPATIBLE_WITH => {
                            skip_string(attrs, &mut q)?
                        }
                        TAG_COMPATIBILITY => {
                            uleb(attrs, &mut q)?;
                            skip_string(attrs, &mut q)?
                        }
                        // Above 32, odd tags are strings, even ones ULEB128.
                        t if t > TAG_COMPATIBILITY && t % 2 == 1 => skip_string(attrs, &mut q)?,
                        _ => {
                            uleb(attrs, &mut q)?;
                        }
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;

    /// A minimal ELF: header, `phnum` program headers of type `ptype`, and
    /// for ARM an `.ARM.attributes` section holding `attrs`.
    fn elf(class: Class, machine: u16, flags: u32, ptype: u32, attrs: Option<&[u8]>) -> Vec<u8> {
        let (l, ehsize, phsize, shsize) = match class {
            Class::Elf32 => (&field::ELF32, 52, 32, 40),
            Class::Elf64 => (&field::ELF64, 64, 56, 64),
        };
        let mut b = vec![0u8; ehsize + phsize];
        b[..4].copy_from_slice(&MAGIC);
        b[4] = if class == Class::Elf32 { ELFCLASS32 } else { ELFCLASS64 };
        b[5] = ELFDATA2LSB;
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[l.flags..l.flags + 4].copy_from_slice(&flags.to_le_bytes());
        put_word(&mut b, l.phoff, ehsize as u64, l.wide);
        b[l.phentsize..l.phentsize + 2].copy_from_slice(&(phsize as u16).to_le_bytes());
        b[l.phnum..l.phnum + 2].copy_from_slice(&1u16.to_le_bytes());
        b[ehsize..ehsize + 4].copy_from_slice(&ptype.to_le_bytes());
        if let Some(a) = attrs {
            let data_off = b.len();
            b.extend_from_slice(a);
            let shoff = b.len();
            b.resize(shoff + 2 * shsize, 0);
            let sh = shoff + shsize; // section 0 is the null section
            b[sh + 4..sh + 8].copy_from_slice(&SHT_ARM_ATTRIBUTES.to_le_bytes());
            put_word(&mut b, sh + l.sh_offset, data_off as u64, l.wide);
            put_word(&mut b, sh + l.sh_size, a.len() as u64, l.wide);
            put_word(&mut b, l.shoff, shoff as u64, l.wide);
            b[l.shentsize..l.shentsize + 2].copy_from_slice(&(shsize as u16).to_le_bytes());
            b[l.shnum..l.shnum + 2].copy_from_slice(&2u16.to_le_bytes());
        }
        b
    }

    fn put_word(b: &mut [u8], at: usize, v: u64, wide: bool) {
        if wide {
            b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        } else {
            b[at..at + 4].copy_from_slice(&(v as u32).to_le_bytes());
        }
    }

    /// `.ARM.attributes` as GNU as writes it: CPU name "7-A", then
    /// Tag_CPU_arch = `arch`, Tag_CPU_arch_profile = 'A'.
    fn attributes(arch: u8) -> Vec<u8> {
        let file: Vec<u8> = [&[5u8][..], b"7-A\0", &[6, arch, 7, b'A']].concat();
        let mut sub = vec![TAG_FILE_FOR_TEST];
        sub.extend_from_slice(&(5 + file.len() as u32).to_le_bytes());
        sub.extend_from_slice(&file);
        let mut vendor = b"aeabi\0".to_vec();
        vendor.extend_from_slice(&sub);
        let mut out = vec![b'A'];
        out.extend_from_slice(&(4 + vendor.len() as u32).to_le_bytes());
        out.extend_from_slice(&vendor);
        out
    }
    const TAG_FILE_FOR_TEST: u8 = 1;
    const PT_LOAD: u32 = 1;

    #[test]
    fn static_aarch64_passes_arm64_only() {
        let info = inspect(&elf(Class::Elf64, EM_AARCH64, 0, PT_LOAD, None)).unwrap();
        assert!(!info.interpreter);
        assert_eq!(info.check(&Arch::Arm64.elf()), Ok(()));
        assert!(info.check(&Arch::Amd64.elf()).is_err());
    }

    #[test]
    fn interpreter_is_refused() {
        let info = inspect(&elf(Class::Elf64, EM_X86_64, 0, PT_INTERP, None)).unwrap();
        assert!(info.interpreter);
        assert!(info.check(&Arch::Amd64.elf()).unwrap_err().contains("PT_INTERP"));
    }

    #[test]
    fn arm_float_abi_and_cpu_arch() {
        let hard = 0x0500_0000 | EF_ARM_ABI_FLOAT_HARD;
        let soft = 0x0500_0000 | EF_ARM_ABI_FLOAT_SOFT;
        let v7 = inspect(&elf(Class::Elf32, EM_ARM, hard, PT_LOAD, Some(&attributes(10)))).unwrap();
        assert_eq!(v7.arm_cpu_arch, Some(10));
        assert_eq!(v7.float_abi(), Some(FloatAbi::Hard));
        assert_eq!(v7.check(&Arch::Arm.elf()), Ok(()));
        assert!(v7.check(&Arch::Armv5.elf()).is_err());

        let v5 = inspect(&elf(Class::Elf32, EM_ARM, soft, PT_LOAD, Some(&attributes(4)))).unwrap();
        assert_eq!(v5.arm_cpu_arch, Some(4));
        assert_eq!(v5.check(&Arch::Armv5.elf()), Ok(()));
        // A hard-float binary (the ARMv7 image's) is refused by ARMv5.
        assert!(v7.check(&Arch::Armv5.elf()).unwrap_err().contains("float ABI"));
        // Soft-float with the v7 attribute is what ring's assembly makes of
        // an ARMv5 build (see Arch::elf): accepted, the qemu arm926 run is
        // the proof. Anything newer than v7 is refused.
        let v7soft = inspect(&elf(Class::Elf32, EM_ARM, soft, PT_LOAD, Some(&attributes(10)))).unwrap();
        assert_eq!(v7soft.check(&Arch::Armv5.elf()), Ok(()));
        let v8soft = inspect(&elf(Class::Elf32, EM_ARM, soft, PT_LOAD, Some(&attributes(14)))).unwrap();
        assert!(v8soft.check(&Arch::Armv5.elf()).unwrap_err().contains("Tag_CPU_arch"));
    }

    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        assert_eq!(inspect(b""), Err(ElfError::NotElf));
        assert_eq!(inspect(b"#!/bin/sh\n"), Err(ElfError::NotElf));
        let full = elf(Class::Elf32, EM_ARM, 0x0500_0400, PT_LOAD, Some(&attributes(10)));
        for cut in 0..full.len() {
            let _ = inspect(&full[..cut]);
        }
        let mut big_endian = full.clone();
        big_endian[5] = 2;
        assert_eq!(inspect(&big_endian), Err(ElfError::NotLittleEndian(2)));
    }

    #[test]
    fn reads_the_test_binary_itself() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let info = inspect(&me).unwrap();
        if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
            assert_eq!(info.machine, EM_X86_64);
        }
    }
}
