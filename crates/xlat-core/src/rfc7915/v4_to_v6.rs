//! RFC 7915 §4: translating IPv4 packets into IPv6.

use core::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{IpNumber, Ipv4HeaderSlice, Ipv6FlowLabel, Ipv6Header};

use super::{room, MapError, Translator};
use crate::checksum;
use crate::config::UdpZeroChecksum;
use crate::verdict::{Action, DropReason, Family};
use crate::wire::{self, csum_at, icmp4, ipv4_opt, proto, FRAG_HDR, IPV6_HDR, TCP_HDR, UDP_HDR};

/// The IPv4 header fields the translation reads (outer or quoted).
#[derive(Debug, Clone, Copy)]
pub(crate) struct V4 {
    pub(crate) tos: u8,
    pub(crate) total_len: u16,
    pub(crate) header_len: usize,
    pub(crate) id: u16,
    pub(crate) df: bool,
    pub(crate) mf: bool,
    /// Fragment offset in 8-byte units.
    pub(crate) frag_off: u16,
    pub(crate) ttl: u8,
    pub(crate) proto: u8,
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
}

impl V4 {
    pub(crate) fn is_fragment(&self) -> bool {
        self.mf || self.frag_off != 0
    }

    /// Parses the header at the start of `b`. `Err(())` when it is not a
    /// complete IPv4 header; total length is not checked (quoted packets
    /// are truncated).
    pub(crate) fn parse(b: &[u8]) -> Result<(Self, Ipv4HeaderSlice<'_>), ()> {
        let h = Ipv4HeaderSlice::from_slice(b).map_err(|_| ())?;
        let v = Self {
            tos: b[1],
            total_len: h.total_len(),
            header_len: usize::from(h.ihl()) * 4,
            id: h.identification(),
            df: h.dont_fragment(),
            mf: h.more_fragments(),
            frag_off: h.fragments_offset().value(),
            ttl: h.ttl(),
            proto: h.protocol().0,
            src: h.source_addr(),
            dst: h.destination_addr(),
        };
        Ok((v, h))
    }
}

/// IGMP's protocol number (RFC 1112).
const IGMP: u8 = 2;

/// Whether an IPv4 address may never appear as a source/destination of a
/// translated packet (0/8, 127/8, multicast, limited broadcast).
pub(crate) fn is_reserved_v4(a: Ipv4Addr) -> bool {
    let o = a.octets();
    o[0] == 0 || o[0] == 127 || a.is_multicast() || a.is_broadcast()
}

/// RFC 7915 §4.1: whether the options hold an unexpired source route.
pub(crate) fn has_unexpired_source_route(opts: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&kind) = opts.get(i) {
        match kind {
            ipv4_opt::END => return false,
            ipv4_opt::NOP => i += 1,
            _ => {
                let Some(&len) = opts.get(i + 1) else { return false };
                if (kind == ipv4_opt::LSRR || kind == ipv4_opt::SSRR) && len >= 3 {
                    // The pointer (1-based) still inside the route means
                    // hops remain (RFC 791 §3.1).
                    if let Some(&ptr) = opts.get(i + 2) {
                        return ptr <= len;
                    }
                }
                if len < 2 {
                    return false;
                }
                i += usize::from(len);
            }
        }
    }
    false
}

/// Writes the IPv6 header (and a Fragment header when `frag` is set) for an
/// IPv4 header, §4.1. Returns the header length.
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_v6_header(
    out: &mut [u8],
    traffic_class: u8,
    payload_len: usize,
    next: u8,
    hop_limit: u8,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    frag: Option<(u16, bool, u32)>,
) -> Result<usize, DropReason> {
    let hdr_len = IPV6_HDR + if frag.is_some() { FRAG_HDR } else { 0 };
    let payload_len = payload_len + hdr_len - IPV6_HDR;
    let payload_length = u16::try_from(payload_len).map_err(|_| DropReason::Ipv4BadTotalLength)?;
    let hdr = Ipv6Header {
        traffic_class,
        flow_label: Ipv6FlowLabel::ZERO, // §4.1: Flow Label set to zero
        payload_length,
        next_header: IpNumber(if frag.is_some() { proto::FRAGMENT } else { next }),
        hop_limit,
        source: src.octets(),
        destination: dst.octets(),
    };
    let o = room(out, hdr_len)?;
    o[..IPV6_HDR].copy_from_slice(&hdr.to_bytes());
    if let Some((offset, more, id)) = frag {
        emit_fragment_header(&mut o[IPV6_HDR..], next, offset, more, id);
    }
    Ok(hdr_len)
}

/// RFC 8200 §4.5 Fragment header; §4.1: Identification's low 16 bits from IPv4.
fn emit_fragment_header(o: &mut [u8], next: u8, offset: u16, more: bool, id: u32) {
    o[0] = next;
    o[1] = 0;
    wire::put16(o, 2, (offset << 3) | u16::from(more));
    o[4..8].copy_from_slice(&id.to_be_bytes());
}

impl Translator {
    /// RFC 7915 §4: translates an IPv4 packet.
    pub(crate) fn v4_to_v6(&mut self, input: &[u8], out: &mut [u8]) -> Result<Action, DropReason> {
        let (ip, hdr) = V4::parse(input).map_err(|()| DropReason::Ipv4HeaderTruncated)?;
        let total = usize::from(ip.total_len);
        // A fragment may not reach past 65535 bytes once reassembled.
        let end = usize::from(ip.frag_off) * 8 + total - ip.header_len.min(total);
        if total < ip.header_len || total > input.len() || end > usize::from(u16::MAX) {
            return Err(DropReason::Ipv4BadTotalLength);
        }
        if !cfg!(fuzzing) && checksum::fold(checksum::sum(0, hdr.slice())) != 0xffff {
            return Err(DropReason::Ipv4BadChecksum);
        }
        // Bytes after Total Length (e.g. Ethernet padding) are not part of the packet.
        let packet = &input[..total];
        let payload = &packet[ip.header_len..];
        let first = ip.frag_off == 0;
        let is_icmp_error = ip.proto == proto::ICMP && first && payload.first().is_some_and(|t| icmp::is_v4_error(*t));
        // §4.1: ICMPv4 errors from "illegal" sources are still translated,
        // for troubleshooting; other traffic from or to them is not.
        if (is_reserved_v4(ip.src) && !is_icmp_error) || is_reserved_v4(ip.dst) {
            return Err(DropReason::Ipv4ReservedAddress);
        }
        // §4.2: IGMP has no IPv6 counterpart to translate to.
        if ip.proto == IGMP {
            return Err(DropReason::Igmp);
        }
        // §4.1: options are ignored, but an unexpired source route is an error.
        if has_unexpired_source_route(hdr.options()) {
            let code = icmp4::unreach::SOURCE_ROUTE_FAILED;
            return self.icmp4_error(packet, icmp4::DEST_UNREACH, code, [0; 4], out, DropReason::Ipv4SourceRoute);
        }
        // §4.1 Hop Limit: the translator is a router and decrements the TTL
        // (but not twice for a hairpinned packet, RFC 7757 §4.2.2).
        let hop_limit = if self.hairpin_pass {
            ip.ttl
        } else if ip.ttl <= 1 {
            return self.icmp4_error(packet, icmp4::TIME_EXCEEDED, 0, [0; 4], out, DropReason::TtlExceeded);
        } else {
            ip.ttl - 1
        };

        let (src6, dst6) = match self.stateful {
            // RFC 6146 §3.7: the addresses of the outgoing tuple.
            Some(rw) => rw.outer_v6(is_icmp_error)?,
            None => {
                let src6 = match self.map_4to6_source(ip.src) {
                    Ok(a) => a,
                    // RFC 6791: an ICMPv4 error from an address with no mapping.
                    Err(MapError::NoMapping | MapError::WkpNonGlobal) if is_icmp_error => self.cfg.rfc6791_v6,
                    Err(e) => return self.unmappable_v4(packet, out, e.reason(true)),
                };
                let dst6 = match self.map_4to6(ip.dst) {
                    Ok(a) => a,
                    Err(e) => return self.unmappable_v4(packet, out, e.reason(false)),
                };
                (src6, dst6)
            }
        };

        let frag_hdr = ip.is_fragment();
        let hdr_len = IPV6_HDR + if frag_hdr { FRAG_HDR } else { 0 };
        let next;
        let plen;
        if ip.proto == proto::ICMP {
            if frag_hdr {
                return Err(DropReason::FragmentedIcmp);
            }
            let body = out.get_mut(hdr_len..).ok_or(DropReason::OutputBufferTooSmall)?;
            plen = self.icmp4_to_6(payload, body, src6, dst6)?;
            next = proto::ICMPV6;
        } else {
            room(out, hdr_len + payload.len())?[hdr_len..].copy_from_slice(payload);
            if first {
                let l4 = &mut out[hdr_len..hdr_len + payload.len()];
                if let Some(rw) = self.stateful {
                    // Ports first: a zero UDP checksum computed below covers them.
                    if l4.len() >= 4 {
                        crate::stateful::rewrite_ports(ip.proto, l4, rw.src_port, rw.dst_port);
                    }
                }
                self.transport_4to6(ip, l4, src6, dst6)?;
            }
            plen = payload.len();
            next = ip.proto;
        }

        let out_len = hdr_len + plen;
        // One segment's size for a GSO super-packet (crate::offload).
        let mtu_len = self.mtu_len(out_len, hdr_len);
        let mtu6 = usize::from(self.cfg.cfg.mtu_v6);
        let frag_mtu = usize::from(self.cfg.cfg.lowest_ipv6_mtu.min(self.cfg.cfg.mtu_v6));
        if ip.df && mtu_len > mtu6 && !is_icmp_error {
            // §4.1: DF set and too big: Fragmentation Needed with the IPv4 MTU
            // that yields an IPv6 packet fitting the next hop.
            let mtu4 = (mtu6 - (hdr_len - crate::wire::IPV4_HDR)) as u16;
            let rest = [0, 0, (mtu4 >> 8) as u8, mtu4 as u8];
            let code = icmp4::unreach::FRAG_NEEDED;
            return self.icmp4_error(packet, icmp4::DEST_UNREACH, code, rest, out, DropReason::PacketTooBig);
        }
        let tc = if self.cfg.cfg.copy_traffic_class { ip.tos } else { 0 };
        let frag = frag_hdr.then_some((ip.frag_off, ip.mf, u32::from(ip.id)));
        emit_v6_header(out, tc, plen, next, hop_limit, src6, dst6, frag)?;

        if !ip.df && mtu_len > frag_mtu {
            return self.fragment_v6(out, out_len, hdr_len, frag_mtu, (next, ip.frag_off, ip.mf, u32::from(ip.id)));
        }
        Ok(Action::Translated { family: Family::V6, len: out_len, segment: out_len })
    }

    /// The source mapping: EAM then pool6, except in a hairpin pass, where
    /// RFC 7757 §4.2.1 maps the source with pool6 only.
    fn map_4to6_source(&self, a: Ipv4Addr) -> Result<Ipv6Addr, MapError> {
        if self.hairpin_pass {
            return self.cfg.cfg.pool6.map(|p| p.embed(a)).ok_or(MapError::NoMapping);
        }
        self.map_4to6(a)
    }

    /// §4.4: what to do when an address cannot be mapped.
    fn unmappable_v4(&mut self, packet: &[u8], out: &mut [u8], reason: DropReason) -> Result<Action, DropReason> {
        let code = icmp4::unreach::ADMIN_PROHIBITED;
        self.icmp4_error(packet, icmp4::DEST_UNREACH, code, [0; 4], out, reason)
    }

    /// §4.5: TCP/UDP checksum update for the pseudo-header change, in place
    /// on the copied transport header (first fragment or whole packet).
    fn transport_4to6(&self, ip: V4, l4: &mut [u8], src6: Ipv6Addr, dst6: Ipv6Addr) -> Result<(), DropReason> {
        let old = checksum::sum_v4_addrs(ip.src, ip.dst);
        let new = checksum::sum_v6_addrs(src6, dst6);
        match ip.proto {
            proto::TCP => {
                if l4.len() < TCP_HDR {
                    return Err(DropReason::TransportTruncated);
                }
                super::tcp_udp_update(proto::TCP, l4, old, new);
                if let Some(max) = self.cfg.cfg.mss_clamp {
                    crate::mss::clamp(l4, max);
                }
            }
            proto::UDP => {
                if l4.len() < UDP_HDR {
                    return Err(DropReason::TransportTruncated);
                }
                if wire::be16(l4, csum_at::UDP) == Some(0) {
                    // §4.5: zero checksum, a configurable policy; never for fragments.
                    match self.cfg.cfg.udp_zero_checksum {
                        UdpZeroChecksum::Forward => {}
                        _ if ip.is_fragment() => return Err(DropReason::UdpZeroChecksum),
                        UdpZeroChecksum::Drop => return Err(DropReason::UdpZeroChecksum),
                        UdpZeroChecksum::Compute => {
                            let len = l4.len() as u32;
                            let acc = checksum::sum(checksum::pseudo_v6(src6, dst6, len, proto::UDP), l4);
                            wire::put16(l4, csum_at::UDP, nonzero(checksum::finish(acc)));
                        }
                    }
                } else {
                    super::tcp_udp_update(proto::UDP, l4, old, new);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// §4.1: splits the IPv6 packet in `out[..len]` into fragments of at
    /// most `mtu` bytes, each with a Fragment header, laid out back to back.
    fn fragment_v6(
        &mut self,
        out: &mut [u8],
        len: usize,
        hdr_len: usize,
        mtu: usize,
        (next, base_off, base_mf, id): (u8, u16, bool, u32),
    ) -> Result<Action, DropReason> {
        let chunk = (mtu - IPV6_HDR - FRAG_HDR) / 8 * 8;
        let payload = out.get(hdr_len..len).ok_or(DropReason::OutputBufferTooSmall)?;
        let mut header = [0u8; IPV6_HDR];
        header.copy_from_slice(&out[..IPV6_HDR]);
        let pieces = payload.len().div_ceil(chunk);
        let mut at = 0;
        for (i, piece) in payload.chunks(chunk).enumerate() {
            let o = self
                .scratch
                .get_mut(at..at + IPV6_HDR + FRAG_HDR + piece.len())
                .ok_or(DropReason::OutputBufferTooSmall)?;
            o[..IPV6_HDR].copy_from_slice(&header);
            wire::put16(o, 4, (FRAG_HDR + piece.len()) as u16);
            o[6] = proto::FRAGMENT;
            let off = base_off + (i * chunk / 8) as u16;
            let more = i + 1 < pieces || base_mf;
            emit_fragment_header(&mut o[IPV6_HDR..], next, off, more, id);
            o[IPV6_HDR + FRAG_HDR..].copy_from_slice(piece);
            at += o.len();
        }
        room(out, at)?.copy_from_slice(&self.scratch[..at]);
        self.counters.fragmented += 1;
        Ok(Action::Translated { family: Family::V6, len: at, segment: IPV6_HDR + FRAG_HDR + chunk })
    }
}

/// UDP: a computed checksum of zero is sent as all ones (RFC 768).
#[inline]
pub(crate) fn nonzero(c: u16) -> u16 {
    if c == 0 {
        0xffff
    } else {
        c
    }
}

use super::icmp;
