//! TUN offloads: translating GSO super-packets and partial checksums
//! (`IFF_VNET_HDR`, `struct virtio_net_hdr`), sans-IO.
//!
//! With TCP segmentation offload a TUN hands over whole 64 KiB TCP
//! "super-packets" with a [`VnetHdr`] in front instead of 1500-byte
//! segments: one `read()` and one `write()` per 40-odd segments. The
//! translator rewrites the IP header **once** and keeps the segmentation
//! instructions consistent, so the kernel on the other side cuts exactly the
//! segments that per-packet translation would have produced:
//!
//! 1. [`plan`] looks at the header and the packet and says how to handle it:
//!    [`Plan::Plain`] (an ordinary packet), [`Plan::CompleteChecksum`] (a
//!    partial checksum the translator cannot carry: finish it with
//!    [`complete_checksum`], then translate as a plain packet),
//!    [`Plan::Direct`] (translate the super-packet as one, with
//!    [`Translator::set_gso_segment`](crate::Translator::set_gso_segment)
//!    so that MTU and DF decisions are taken for one segment) or
//!    [`Plan::Split`] (cut it into segments with [`Segmenter`] and translate
//!    each: IPv4 options that are fine per packet but, for example, a DF=0
//!    segment that would need IPv6 fragments, UDP GSO, extension headers).
//! 2. After a [`Plan::Direct`] translation, [`finish`] fixes the partial
//!    checksum for the new pseudo-header and builds the output header:
//!    `gso_type` TCPV4 <-> TCPV6 (ECN bit kept), `csum_start` moved to the
//!    new transport offset, `hdr_len` recomputed, `gso_size` unchanged (the
//!    TCP payload per segment is the same on both sides; the per-segment MTU
//!    check was done by the translator).
//!
//! ## Partial checksums (`VIRTIO_NET_HDR_F_NEEDS_CSUM`)
//! The checksum field then holds the folded, *uncomplemented* sum of the
//! pseudo-header (with the full transport length); the kernel sums the
//! transport bytes from `csum_start` onward when it finishes the checksum
//! (or each segment's, after segmentation). Rewriting ports or the MSS
//! option needs no adjustment; only the pseudo-header changes, so the new
//! field is `P - sum(old addresses) + sum(new addresses)` (the length and
//! protocol words are the same in both families' pseudo-headers).
//!
//! ## Byte order
//! The TUN driver uses the host's byte order for the header (legacy virtio)
//! unless told otherwise; all RouterOS architectures are little-endian.

use crate::checksum;
use crate::config::Resolved;
use crate::verdict::Family;
use crate::wire::{be16, proto, put16, IPV4_HDR, IPV6_HDR, TCP_HDR, UDP_HDR};

/// Size of `struct virtio_net_hdr` (the TUN's default `TUNSETVNETHDRSZ`).
pub const VNET_HDR_LEN: usize = 10;

/// `virtio_net_hdr.flags`: the checksum is partial (CHECKSUM_PARTIAL).
pub const F_NEEDS_CSUM: u8 = 1;
/// `virtio_net_hdr.flags`: the checksum was verified.
pub const F_DATA_VALID: u8 = 2;

/// `virtio_net_hdr.gso_type` values.
pub mod gso {
    /// Not a GSO packet.
    pub const NONE: u8 = 0;
    /// TCP over IPv4 (TSO).
    pub const TCPV4: u8 = 1;
    /// UDP fragmentation offload (obsolete; never produced by a TUN).
    pub const UDP: u8 = 3;
    /// TCP over IPv6 (TSO).
    pub const TCPV6: u8 = 4;
    /// UDP segmentation offload (Linux 6.2+ on a TUN).
    pub const UDP_L4: u8 = 5;
    /// Flag: TCP with ECN (CWR set on the first segment only).
    pub const ECN: u8 = 0x80;
}

/// Offset of the checksum in a TCP header (`csum_offset`).
const TCP_CSUM_AT: u16 = 16;
/// Offset of the checksum in a UDP header.
const UDP_CSUM_AT: u16 = 6;
/// RFC 7915 §5.1: IPv4 packets up to this size leave with DF clear.
const DF_THRESHOLD: usize = crate::rfc7915::v6_to_v4::DF_THRESHOLD;
/// Largest IPv4 Total Length.
const MAX_IPV4_TOTAL: usize = u16::MAX as usize;

/// TCP flags the kernel keeps only on the last segment / first segment.
const TCP_FIN: u8 = 0x01;
const TCP_PSH: u8 = 0x08;
const TCP_CWR: u8 = 0x80;

/// `struct virtio_net_hdr`, the header a TUN with `IFF_VNET_HDR` puts in
/// front of every packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// [`F_NEEDS_CSUM`], [`F_DATA_VALID`].
    pub flags: u8,
    /// One of [`gso`], possibly with [`gso::ECN`].
    pub gso_type: u8,
    /// Length of the headers (IP + transport) of a GSO packet.
    pub hdr_len: u16,
    /// Transport payload bytes per segment (GSO).
    pub gso_size: u16,
    /// Where checksumming starts (the transport header).
    pub csum_start: u16,
    /// Where the checksum goes, from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// Reads a header (host byte order); `None` if `b` is shorter than
    /// [`VNET_HDR_LEN`].
    #[must_use]
    pub fn parse(b: &[u8]) -> Option<Self> {
        let b = b.get(..VNET_HDR_LEN)?;
        let u = |at: usize| u16::from_ne_bytes([b[at], b[at + 1]]);
        Some(Self { flags: b[0], gso_type: b[1], hdr_len: u(2), gso_size: u(4), csum_start: u(6), csum_offset: u(8) })
    }

    /// Writes the header into `b[..VNET_HDR_LEN]` (host byte order); does
    /// nothing if `b` is shorter.
    pub fn emit(&self, b: &mut [u8]) {
        let Some(b) = b.get_mut(..VNET_HDR_LEN) else { return };
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
    }

    /// The GSO type without the ECN flag.
    #[must_use]
    pub fn gso_kind(&self) -> u8 {
        self.gso_type & !gso::ECN
    }

    /// Whether the checksum is partial.
    #[must_use]
    pub fn needs_csum(&self) -> bool {
        self.flags & F_NEEDS_CSUM != 0
    }
}

/// How to handle one packet read with a [`VnetHdr`] (see the module
/// documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// An ordinary packet with a complete checksum: translate it as is.
    Plain,
    /// A single packet with a partial checksum the translator does not
    /// carry (not TCP): [`complete_checksum`] first, then as [`Plan::Plain`].
    CompleteChecksum,
    /// Translate the packet as one, with `segment` as the per-segment
    /// transport length for MTU/DF decisions (`None`: not GSO, a single TCP
    /// packet with a partial checksum), then [`finish`].
    Direct {
        /// Transport bytes per segment (TCP header + `gso_size`).
        segment: Option<usize>,
    },
    /// Cut it into segments ([`Segmenter`]) and translate each as
    /// [`Plan::Plain`].
    Split,
}

/// Why a header cannot be honoured (the packet is dropped; the I/O loop
/// counts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffloadError {
    /// Unknown `gso_type`, `gso_size` 0, or `csum_start`/`csum_offset`
    /// outside the packet.
    BadHeader,
    /// The packet is not what the header says (too short, wrong version,
    /// transport header beyond the packet).
    Mismatch,
}

/// Where the transport header of a plain IPv4/IPv6 packet starts and its
/// protocol, without extension headers for IPv6 (`None` if it has some).
fn l4_of(p: &[u8]) -> Option<(Family, usize, u8)> {
    match p.first()? >> 4 {
        4 if p.len() >= IPV4_HDR => {
            let ihl = usize::from(p[0] & 0x0f) * 4;
            let frag = be16(p, 6)? & 0x3fff;
            (ihl >= IPV4_HDR && frag == 0).then_some((Family::V4, ihl, p[9]))
        }
        6 if p.len() >= IPV6_HDR => Some((Family::V6, IPV6_HDR, p[6])),
        _ => None,
    }
}

/// Decides how to translate `pkt`, read with `hdr`, under `cfg`.
pub fn plan(hdr: &VnetHdr, pkt: &[u8], cfg: &Resolved) -> Result<Plan, OffloadError> {
    let kind = hdr.gso_kind();
    let start = usize::from(hdr.csum_start);
    if hdr.needs_csum() && start + usize::from(hdr.csum_offset) + 2 > pkt.len() {
        return Err(OffloadError::BadHeader);
    }
    if kind == gso::NONE {
        if !hdr.needs_csum() {
            return Ok(Plan::Plain);
        }
        return Ok(match l4_of(pkt) {
            Some((_, at, proto::TCP)) if at == start && hdr.csum_offset == TCP_CSUM_AT && pkt.len() >= at + TCP_HDR => {
                Plan::Direct { segment: None }
            }
            _ => Plan::CompleteChecksum,
        });
    }
    if !matches!(kind, gso::TCPV4 | gso::TCPV6 | gso::UDP_L4) || hdr.gso_size == 0 || !hdr.needs_csum() {
        return Err(OffloadError::BadHeader);
    }
    let (family, at, l4proto) = match l4_of(pkt) {
        Some(x) => x,
        // IPv6 extension headers, IPv4 fragments: cut, then per packet.
        None if matches!(pkt.first().map(|b| b >> 4), Some(4 | 6)) => return Ok(Plan::Split),
        None => return Err(OffloadError::Mismatch),
    };
    if kind == gso::UDP_L4 || l4proto != proto::TCP || at != start || hdr.csum_offset != TCP_CSUM_AT {
        return Ok(Plan::Split);
    }
    let doff = usize::from(pkt.get(at + 12).ok_or(OffloadError::Mismatch)? >> 4) * 4;
    if doff < TCP_HDR || at + doff > pkt.len() {
        return Err(OffloadError::Mismatch);
    }
    let l4_len = pkt.len() - at;
    let segment = (doff + usize::from(hdr.gso_size)).min(l4_len);
    let c = &cfg.cfg;
    let fits = match family {
        Family::V4 => {
            // §4.1: a DF=0 segment larger than the IPv6 path would be
            // fragmented per segment: leave that to the per-packet path.
            let df = pkt[6] & 0x40 != 0;
            let frag_mtu = usize::from(c.lowest_ipv6_mtu.min(c.mtu_v6));
            df || IPV6_HDR + segment <= frag_mtu
        }
        Family::V6 => {
            // §5.1: DF=0 segments larger than the IPv4 MTU would be
            // fragmented; and the super-packet must fit an IPv4 Total Length.
            let seg4 = IPV4_HDR + segment;
            (seg4 > DF_THRESHOLD || seg4 <= usize::from(c.mtu_v4)) && IPV4_HDR + l4_len <= MAX_IPV4_TOTAL
        }
    };
    Ok(if fits { Plan::Direct { segment: Some(segment) } } else { Plan::Split })
}

/// Finishes a partial checksum in software: sums `pkt[csum_start..]` into
/// the field at `csum_start + csum_offset` (which holds the pseudo-header
/// sum), as the kernel's `skb_checksum_help` does. A UDP result of zero is
/// sent as `0xffff` (RFC 768). `false` if the offsets are outside `pkt`.
pub fn complete_checksum(pkt: &mut [u8], csum_start: u16, csum_offset: u16) -> bool {
    let start = usize::from(csum_start);
    let at = start + usize::from(csum_offset);
    if at + 2 > pkt.len() {
        return false;
    }
    let c = checksum::finish(checksum::sum(0, &pkt[start..]));
    let is_udp = csum_offset == UDP_CSUM_AT && l4_of(pkt).is_some_and(|(_, _, p)| p == proto::UDP);
    put16(pkt, at, if c == 0 && is_udp { 0xffff } else { c });
    true
}

/// Sum of the source and destination address words of an IP header.
fn addr_sum(p: &[u8]) -> Option<u32> {
    match p.first()? >> 4 {
        4 => Some(checksum::sum(0, p.get(12..20)?)),
        6 => Some(checksum::sum(0, p.get(8..40)?)),
        _ => None,
    }
}

/// After a [`Plan::Direct`] translation of `input` (read with `hdr`) into
/// `out` (one packet): rewrites the partial checksum for the new
/// pseudo-header and returns the header to write in front of `out`. `None`
/// when `out` is not the TCP packet the plan expected (e.g. the translator
/// answered with an ICMP error, which is a plain packet with a complete
/// checksum: write it with a zero header).
pub fn finish(hdr: &VnetHdr, input: &[u8], out: &mut [u8]) -> Option<VnetHdr> {
    let (family, at, l4proto) = l4_of(out)?;
    if l4proto != proto::TCP {
        return None;
    }
    let field = at + usize::from(TCP_CSUM_AT);
    let doff = usize::from(out.get(at + 12)? >> 4) * 4;
    let old = be16(input, usize::from(hdr.csum_start) + usize::from(hdr.csum_offset))?;
    let (s_in, s_out) = (addr_sum(input)?, addr_sum(out)?);
    be16(out, field)?;
    // P' = P + ~sum(old addresses) + sum(new addresses), one's complement.
    let acc = u32::from(old) + u32::from(!checksum::fold(s_in)) + u32::from(checksum::fold(s_out));
    put16(out, field, checksum::fold(acc));
    let gso_type = match (hdr.gso_kind(), family) {
        (gso::NONE, _) => gso::NONE,
        (_, Family::V4) => gso::TCPV4 | (hdr.gso_type & gso::ECN),
        (_, Family::V6) => gso::TCPV6 | (hdr.gso_type & gso::ECN),
    };
    Some(VnetHdr {
        flags: F_NEEDS_CSUM,
        gso_type,
        hdr_len: if gso_type == gso::NONE { 0 } else { (at + doff) as u16 },
        gso_size: if gso_type == gso::NONE { 0 } else { hdr.gso_size },
        csum_start: at as u16,
        csum_offset: TCP_CSUM_AT,
    })
}

/// Cuts a GSO super-packet into the segments the kernel would send
/// (`tcp_gso_segment` / `__udp_gso_segment`), one at a time into a caller's
/// buffer, with complete checksums. The fallback of [`Plan::Split`].
#[derive(Debug, Clone, Copy)]
pub struct Segmenter {
    kind: u8,
    family: Family,
    /// Transport header offset.
    l4: usize,
    /// Length of all headers (copied into every segment).
    headers: usize,
    /// Payload bytes per segment.
    mss: usize,
    /// Payload bytes in all.
    payload: usize,
}

impl Segmenter {
    /// Prepares to cut `pkt` as `hdr` describes. Accepts IPv6 extension
    /// headers (the transport header is at `csum_start`).
    pub fn new(hdr: &VnetHdr, pkt: &[u8]) -> Result<Self, OffloadError> {
        let kind = hdr.gso_kind();
        let family = match pkt.first().map(|b| b >> 4) {
            Some(4) if pkt.len() >= IPV4_HDR => Family::V4,
            Some(6) if pkt.len() >= IPV6_HDR => Family::V6,
            _ => return Err(OffloadError::Mismatch),
        };
        let l4 = usize::from(hdr.csum_start);
        let l4_hdr = match kind {
            gso::TCPV4 | gso::TCPV6 => usize::from(pkt.get(l4 + 12).ok_or(OffloadError::Mismatch)? >> 4) * 4,
            gso::UDP_L4 => UDP_HDR,
            _ => return Err(OffloadError::BadHeader),
        };
        // The transport header starts after the IP header and is whole.
        let min_l3 = if family == Family::V4 { usize::from(pkt[0] & 0x0f) * 4 } else { IPV6_HDR };
        let min_l4 = if kind == gso::UDP_L4 { UDP_HDR } else { TCP_HDR };
        let headers = l4 + l4_hdr;
        if hdr.gso_size == 0 || l4 < min_l3.max(IPV4_HDR) || l4_hdr < min_l4 || headers > pkt.len() {
            return Err(OffloadError::BadHeader);
        }
        if family == Family::V4 && be16(pkt, 6).is_some_and(|f| f & 0x3fff != 0) {
            return Err(OffloadError::Mismatch);
        }
        Ok(Self { kind, family, l4, headers, mss: usize::from(hdr.gso_size), payload: pkt.len() - headers })
    }

    /// Number of segments.
    #[must_use]
    pub fn count(&self) -> usize {
        self.payload.div_ceil(self.mss).max(1)
    }

    /// Writes segment `i` of `pkt` into `out`; returns its length, or
    /// `None` past the last segment or if `out` is too small.
    pub fn write(&self, pkt: &[u8], i: usize, out: &mut [u8]) -> Option<usize> {
        if i >= self.count() {
            return None;
        }
        let from = self.headers + i * self.mss;
        let chunk = self.mss.min(pkt.len().checked_sub(from)?);
        let len = self.headers + chunk;
        let o = out.get_mut(..len)?;
        o[..self.headers].copy_from_slice(&pkt[..self.headers]);
        o[self.headers..].copy_from_slice(&pkt[from..from + chunk]);
        let l4_len = len - self.l4;
        match self.family {
            Family::V4 => {
                put16(o, 2, len as u16);
                // The kernel numbers the segments from the super-packet's ID.
                let id = be16(o, 4)?.wrapping_add(i as u16);
                put16(o, 4, id);
                put16(o, 10, 0);
                let ihl = usize::from(o[0] & 0x0f) * 4;
                let c = checksum::finish(checksum::sum(0, o.get(..ihl)?));
                put16(o, 10, c);
            }
            Family::V6 => put16(o, 4, (len - IPV6_HDR) as u16),
        }
        let last = i + 1 == self.count();
        let csum_at = if self.kind == gso::UDP_L4 {
            put16(o, self.l4 + 4, l4_len as u16);
            self.l4 + usize::from(UDP_CSUM_AT)
        } else {
            let seq = crate::wire::be32(o, self.l4 + 4)?.wrapping_add((i * self.mss) as u32);
            o[self.l4 + 4..self.l4 + 8].copy_from_slice(&seq.to_be_bytes());
            let flags = &mut o[self.l4 + 13];
            if !last {
                *flags &= !(TCP_FIN | TCP_PSH);
            }
            if i > 0 {
                *flags &= !TCP_CWR;
            }
            self.l4 + usize::from(TCP_CSUM_AT)
        };
        // Full checksum over the pseudo-header and the segment.
        put16(o, csum_at, 0);
        let l4proto = if self.kind == gso::UDP_L4 { proto::UDP } else { proto::TCP };
        let pseudo = addr_sum(o)?.wrapping_add(l4_len as u32).wrapping_add(u32::from(l4proto));
        let c = checksum::finish(checksum::sum(pseudo, &o[self.l4..]));
        put16(o, csum_at, if c == 0 && l4proto == proto::UDP { 0xffff } else { c });
        Some(len)
    }
}

#[cfg(test)]
mod tests;
