//! A deterministic POSIX ustar writer: regular files and directories only,
//! owner root (uid/gid 0, no user names), one fixed modification time. Both
//! the image layer and the `docker save` archive around it are written
//! with it, so equal inputs give byte-equal tars and equal digests.

use std::io::{self, Write};

/// Tar block size.
pub const BLOCK: usize = 512;
/// Longest name that fits the ustar `name` field (no `prefix` split).
pub const MAX_NAME: usize = 100;

/// Byte ranges of the ustar header fields.
mod field {
    use std::ops::Range;
    pub(super) const NAME: Range<usize> = 0..100;
    pub(super) const MODE: Range<usize> = 100..108;
    pub(super) const UID: Range<usize> = 108..116;
    pub(super) const GID: Range<usize> = 116..124;
    pub(super) const SIZE: Range<usize> = 124..136;
    pub(super) const MTIME: Range<usize> = 136..148;
    pub(super) const CHKSUM: Range<usize> = 148..156;
    pub(super) const TYPEFLAG: usize = 156;
    pub(super) const MAGIC: Range<usize> = 257..263;
    pub(super) const VERSION: Range<usize> = 263..265;
}

const REGTYPE: u8 = b'0';
const DIRTYPE: u8 = b'5';

/// Writes a tar archive entry by entry; [`finish`](TarWriter::finish)
/// writes the two zero blocks that end it.
#[derive(Debug)]
pub struct TarWriter<W: Write> {
    out: W,
    mtime: u64,
}

/// Writes `value` as zero-padded octal filling `dst` but its last byte
/// (NUL).
fn octal(dst: &mut [u8], value: u64) -> io::Result<()> {
    let digits = dst.len() - 1;
    let s = format!("{value:0digits$o}");
    if s.len() > digits {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{value} does not fit a tar header field")));
    }
    dst[..digits].copy_from_slice(s.as_bytes());
    dst[digits] = 0;
    Ok(())
}

impl<W: Write> TarWriter<W> {
    /// A writer whose entries all carry `mtime` (seconds since the epoch).
    pub fn new(out: W, mtime: u64) -> Self {
        TarWriter { out, mtime }
    }

    fn header(&mut self, name: &str, mode: u32, size: u64, kind: u8) -> io::Result<()> {
        if name.is_empty() || name.len() > MAX_NAME || name.starts_with('/') || name.split('/').any(|c| c == "..") {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad tar entry name {name:?}")));
        }
        let mut h = [0u8; BLOCK];
        h[field::NAME][..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut h[field::MODE], u64::from(mode))?;
        octal(&mut h[field::UID], 0)?;
        octal(&mut h[field::GID], 0)?;
        octal(&mut h[field::SIZE], size)?;
        octal(&mut h[field::MTIME], self.mtime)?;
        h[field::TYPEFLAG] = kind;
        h[field::MAGIC].copy_from_slice(b"ustar\0");
        h[field::VERSION].copy_from_slice(b"00");
        // The checksum is summed with its own field read as spaces, then
        // written as six octal digits, NUL, space.
        h[field::CHKSUM].fill(b' ');
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        octal(&mut h[field::CHKSUM.start..field::CHKSUM.end - 1], u64::from(sum))?;
        self.out.write_all(&h)
    }

    /// Adds a directory; `name` should end in `/`, as Docker writes them.
    pub fn dir(&mut self, name: &str, mode: u32) -> io::Result<()> {
        self.header(name, mode, 0, DIRTYPE)
    }

    /// Adds a regular file.
    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        self.header(name, mode, data.len() as u64, REGTYPE)?;
        self.out.write_all(data)?;
        let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
        self.out.write_all(&[0u8; BLOCK][..pad])
    }

    /// Ends the archive and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_and_checksum() {
        let mut t = TarWriter::new(Vec::new(), 0o1234);
        t.file("clat", 0o755, b"hello").unwrap();
        let out = t.finish().unwrap();
        assert_eq!(out.len(), 4 * BLOCK);
        assert_eq!(&out[..5], b"clat\0");
        assert_eq!(&out[field::MODE], b"0000755\0");
        assert_eq!(&out[field::SIZE], b"00000000005\0");
        assert_eq!(&out[field::MTIME], b"00000001234\0");
        let mut h = out[..BLOCK].to_vec();
        h[field::CHKSUM].fill(b' ');
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(&out[field::CHKSUM], format!("{sum:06o}\0 ").as_bytes());
        assert_eq!(&out[BLOCK..BLOCK + 5], b"hello");
        assert!(out[BLOCK + 5..].iter().all(|&b| b == 0));
    }

    #[test]
    fn refuses_names_that_escape_or_do_not_fit() {
        let mut t = TarWriter::new(Vec::new(), 0);
        for bad in ["", "/clat", "../x", "a/../b", &"x".repeat(MAX_NAME + 1)] {
            assert!(t.file(bad, 0o644, b"").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deterministic() {
        let make = || {
            let mut t = TarWriter::new(Vec::new(), 7);
            t.dir("d/", 0o755).unwrap();
            t.file("d/f", 0o644, &[1; 700]).unwrap();
            t.finish().unwrap()
        };
        assert_eq!(make(), make());
    }
}
