//! Capture files: reading pcap or pcapng frames (with their link type and
//! timestamp) and writing translated packets as a raw-IP pcap.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, TsResolution};

/// pcapng Section Header Block type, the first four bytes of the file.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
/// Snapshot length of the output: any packet the translator can emit.
const OUT_SNAPLEN: u32 = xlat_core::OUT_BUF_LEN as u32;
const NANOS_PER_SEC: u128 = 1_000_000_000;
/// pcapng `if_tsresol`: the high bit selects a power of two, else of ten.
const TSRESOL_POWER_OF_TWO: u8 = 0x80;
/// pcapng default `if_tsresol`: microseconds (10^-6).
const TSRESOL_DEFAULT: u8 = 6;

/// One captured frame, borrowed from the reader's frame buffer.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Capture time since the Unix epoch.
    pub timestamp: Duration,
    /// Link type of the frame's interface.
    pub link: DataLink,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// A pcapng interface: its link type and timestamp units.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: DataLink,
    units_per_sec: u128,
    offset_secs: u64,
}

impl Interface {
    /// Converts a raw pcapng timestamp (a count of this interface's units).
    fn timestamp(&self, units: u128) -> Duration {
        let secs = units / self.units_per_sec + u128::from(self.offset_secs);
        let nanos = units % self.units_per_sec * NANOS_PER_SEC / self.units_per_sec;
        Duration::new(u64::try_from(secs).unwrap_or(u64::MAX), nanos as u32)
    }
}

enum Reader {
    Pcap { reader: PcapReader<BufReader<File>>, link: DataLink },
    PcapNg { reader: PcapNgReader<BufReader<File>>, interfaces: Vec<Interface> },
}

/// A capture file being read, frame by frame.
pub struct Capture {
    reader: Reader,
    /// The current frame, copied once from the reader (one buffer, reused).
    frame: Vec<u8>,
}

impl Capture {
    /// Opens a pcap or pcapng file (told apart by the first bytes).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut file = BufReader::new(file);
        let head = file.fill_buf().with_context(|| format!("cannot read {}", path.display()))?;
        let reader = if head.starts_with(&PCAPNG_MAGIC) {
            let reader =
                PcapNgReader::new(file).with_context(|| format!("{} is not a valid pcapng file", path.display()))?;
            Reader::PcapNg { reader, interfaces: Vec::new() }
        } else {
            let reader = PcapReader::new(file)
                .with_context(|| format!("{} is neither a pcap nor a pcapng file", path.display()))?;
            let link = reader.header().datalink;
            Reader::Pcap { reader, link }
        };
        Ok(Self { reader, frame: Vec::new() })
    }

    /// Timestamp resolution to keep in the output file.
    pub fn ts_resolution(&self) -> TsResolution {
        match &self.reader {
            Reader::Pcap { reader, .. } => reader.header().ts_resolution,
            Reader::PcapNg { .. } => TsResolution::NanoSecond,
        }
    }

    /// The next frame, `None` at the end of the file.
    pub fn next_frame(&mut self) -> Option<anyhow::Result<Frame<'_>>> {
        let (timestamp, link) = match self.read_into_buffer()? {
            Ok(meta) => meta,
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(Frame { timestamp, link, data: &self.frame }))
    }

    /// Reads the next frame into `self.frame`, skipping pcapng blocks that
    /// carry no packet.
    fn read_into_buffer(&mut self) -> Option<anyhow::Result<(Duration, DataLink)>> {
        let frame = &mut self.frame;
        let mut keep = |data: &[u8]| {
            frame.clear();
            frame.extend_from_slice(data);
        };
        match &mut self.reader {
            Reader::Pcap { reader, link } => {
                let packet = match reader.next_packet()? {
                    Ok(p) => p,
                    Err(e) => return Some(Err(anyhow::Error::new(e).context("bad pcap record"))),
                };
                keep(&packet.data);
                Some(Ok((packet.timestamp, *link)))
            }
            Reader::PcapNg { reader, interfaces } => loop {
                let block = match reader.next_block()? {
                    Ok(b) => b,
                    Err(e) => return Some(Err(anyhow::Error::new(e).context("bad pcapng block"))),
                };
                let (interface_id, units) = match block {
                    Block::SectionHeader(_) => {
                        interfaces.clear();
                        continue;
                    }
                    Block::InterfaceDescription(idb) => {
                        interfaces.push(interface(idb.linktype, &idb.options));
                        continue;
                    }
                    Block::EnhancedPacket(epb) => {
                        keep(&epb.data);
                        // pcap-file stores the raw unit count as nanoseconds.
                        (epb.interface_id, epb.timestamp.as_nanos())
                    }
                    Block::SimplePacket(spb) => {
                        keep(&spb.data);
                        (0, 0)
                    }
                    Block::Packet(pb) => {
                        keep(&pb.data);
                        (u32::from(pb.interface_id), u128::from(pb.timestamp))
                    }
                    _ => continue,
                };
                return Some(match interfaces.get(interface_id as usize) {
                    Some(i) => Ok((i.timestamp(units), i.link)),
                    None => Err(anyhow::anyhow!("packet block names interface {interface_id}, which is not described")),
                });
            },
        }
    }
}

fn interface(link: DataLink, options: &[InterfaceDescriptionOption<'_>]) -> Interface {
    let mut resol = TSRESOL_DEFAULT;
    let mut offset_secs = 0;
    for option in options {
        match option {
            InterfaceDescriptionOption::IfTsResol(r) => resol = *r,
            InterfaceDescriptionOption::IfTsOffset(o) => offset_secs = *o,
            _ => {}
        }
    }
    let exp = u32::from(resol & !TSRESOL_POWER_OF_TWO);
    let base: u128 = if resol & TSRESOL_POWER_OF_TWO != 0 { 2 } else { 10 };
    // Exponents beyond u128 range are nonsense; clamp instead of failing.
    let units_per_sec = base.checked_pow(exp).unwrap_or(NANOS_PER_SEC).max(1);
    Interface { link, units_per_sec, offset_secs }
}

/// The output capture: raw IP packets (link type RAW).
pub struct Output {
    writer: PcapWriter<BufWriter<File>>,
    written: u64,
}

impl Output {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path, ts_resolution: TsResolution) -> anyhow::Result<Self> {
        let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let header =
            PcapHeader { datalink: DataLink::RAW, ts_resolution, snaplen: OUT_SNAPLEN, ..PcapHeader::default() };
        let writer = PcapWriter::with_header(BufWriter::new(file), header)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self { writer, written: 0 })
    }

    /// Appends one IP packet.
    pub fn write(&mut self, timestamp: Duration, packet: &[u8]) -> anyhow::Result<()> {
        let len = u32::try_from(packet.len()).context("packet longer than 4 GiB")?;
        self.writer.write_packet(&PcapPacket::new(timestamp, len, packet)).context("cannot write packet")?;
        self.written += 1;
        Ok(())
    }

    /// Number of packets written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes the file.
    pub fn finish(self) -> anyhow::Result<()> {
        let mut file = self.writer.into_writer();
        file.flush().context("cannot flush output")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_timestamps_follow_if_tsresol() {
        let micro = interface(DataLink::RAW, &[]);
        assert_eq!(micro.timestamp(1_500_000), Duration::new(1, 500_000_000));
        let nano = interface(DataLink::RAW, &[InterfaceDescriptionOption::IfTsResol(9)]);
        assert_eq!(nano.timestamp(1_000_000_001), Duration::new(1, 1));
        let binary = interface(DataLink::RAW, &[InterfaceDescriptionOption::IfTsResol(0x80 | 10)]);
        assert_eq!(binary.timestamp(1024 + 512), Duration::new(1, 500_000_000));
        let offset = interface(DataLink::RAW, &[InterfaceDescriptionOption::IfTsOffset(100)]);
        assert_eq!(offset.timestamp(0), Duration::from_secs(100));
    }
}
