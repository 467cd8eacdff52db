//! RFC 7915 §5: translating IPv6 packets into IPv4.

use core::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{IpDscp, IpEcn, IpFragOffset, IpNumber, Ipv4Header, Ipv6HeaderSlice};

use super::{room, MapError, Translator};
use crate::checksum;
use crate::verdict::{Action, DropReason, Family};
use crate::wire::{self, icmp6, proto, FRAG_HDR, IPV4_HDR, IPV6_HDR};

/// Most extension headers walked before giving up (RFC 8200 §4.1 order
/// has at most 7 distinct kinds before the upper layer).
const MAX_EXT_HEADERS: usize = 8;
/// RFC 7915 §5.1: IPv4 packets up to this size leave with DF clear (so an
/// IPv4 router may fragment them toward a small-MTU link), larger ones with
/// DF set.
pub(crate) const DF_THRESHOLD: usize = 1260;
/// Extension headers RFC 7915 cannot translate (§5.1.1: AH, Mobility, HIP,
/// Shim6 carry semantics that do not survive the header change).
const UNTRANSLATABLE_EXT: [u8; 4] = [51, 135, 139, 140];
/// Offset of Segments Left inside a Routing header.
const SEGMENTS_LEFT_AT: usize = 3;

/// Fragment header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frag {
    /// Offset in 8-byte units.
    pub(crate) offset: u16,
    pub(crate) more: bool,
    pub(crate) id: u32,
}

/// The IPv6 header and extension chain fields the translation reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct V6 {
    pub(crate) traffic_class: u8,
    pub(crate) payload_len: u16,
    pub(crate) hop_limit: u8,
    pub(crate) src: Ipv6Addr,
    pub(crate) dst: Ipv6Addr,
    /// Upper-layer protocol after the extension headers.
    pub(crate) proto: u8,
    /// Offset of the upper-layer header from the start of the packet.
    pub(crate) l4_at: usize,
    pub(crate) frag: Option<Frag>,
    /// Offset of a non-zero Segments Left field, if any (§5.1).
    pub(crate) segments_left_at: Option<usize>,
}

impl V6 {
    /// Parses the header and walks the extension chain within `b`
    /// (`quoted`: the chain only has to fit in what was quoted).
    pub(crate) fn parse(b: &[u8], quoted: bool) -> Result<Self, DropReason> {
        let h = Ipv6HeaderSlice::from_slice(b).map_err(|_| DropReason::Ipv6HeaderTruncated)?;
        let payload_len = h.payload_length();
        let end = if quoted { b.len() } else { IPV6_HDR + usize::from(payload_len) };
        let mut v = Self {
            traffic_class: h.traffic_class(),
            payload_len,
            hop_limit: h.hop_limit(),
            src: h.source_addr(),
            dst: h.destination_addr(),
            proto: h.next_header().0,
            l4_at: IPV6_HDR,
            frag: None,
            segments_left_at: None,
        };
        for _ in 0..MAX_EXT_HEADERS {
            let at = v.l4_at;
            match v.proto {
                proto::HOP_BY_HOP | proto::ROUTING | proto::DEST_OPTS => {
                    let (Some(&next), Some(&units)) = (b.get(at), b.get(at + 1)) else {
                        return Err(DropReason::Ipv6BadExtensionChain);
                    };
                    let len = (usize::from(units) + 1) * 8;
                    if at + len > end {
                        return Err(DropReason::Ipv6BadExtensionChain);
                    }
                    if v.proto == proto::ROUTING && b[at + SEGMENTS_LEFT_AT] != 0 {
                        v.segments_left_at = Some(at + SEGMENTS_LEFT_AT);
                    }
                    v.proto = next;
                    v.l4_at = at + len;
                }
                proto::FRAGMENT => {
                    let f = b
                        .get(at..at + FRAG_HDR)
                        .filter(|_| at + FRAG_HDR <= end)
                        .ok_or(DropReason::Ipv6BadExtensionChain)?;
                    let off_m = u16::from_be_bytes([f[2], f[3]]);
                    v.frag = Some(Frag {
                        offset: off_m >> 3,
                        more: off_m & 1 == 1,
                        id: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
                    });
                    v.proto = f[0];
                    v.l4_at = at + FRAG_HDR;
                    // Headers after the Fragment header are part of the
                    // fragmentable part: they cannot be removed without reassembly.
                    if matches!(v.proto, proto::HOP_BY_HOP | proto::ROUTING | proto::DEST_OPTS | proto::FRAGMENT)
                        || UNTRANSLATABLE_EXT.contains(&v.proto)
                    {
                        return Err(DropReason::Ipv6ExtensionAfterFragment);
                    }
                    return Ok(v);
                }
                p if UNTRANSLATABLE_EXT.contains(&p) => return Err(DropReason::Ipv6UntranslatableExtension),
                _ => return Ok(v),
            }
        }
        Err(DropReason::Ipv6BadExtensionChain)
    }
}

/// IPv4 More Fragments flag and fragment offset mask (flags/offset word).
const IPV4_MF: u16 = 0x2000;
const IPV4_OFFSET_MASK: u16 = 0x1fff;

/// §5.1: IPv6 addresses that never appear in a translated packet.
pub(crate) fn is_reserved_v6(a: Ipv6Addr) -> bool {
    a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_unicast_link_local()
}

/// Writes a 20-byte IPv4 header with its checksum (§5.1).
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_v4_header(
    out: &mut [u8],
    tos: u8,
    total_len: usize,
    (id, df, mf, offset): (u16, bool, bool, u16),
    ttl: u8,
    protocol: u8,
    src: Ipv4Addr,
    dst: Ipv4Addr,
) -> Result<(), DropReason> {
    let total_len = u16::try_from(total_len).map_err(|_| DropReason::Ipv6BadPayloadLength)?;
    let mut h = Ipv4Header {
        dscp: IpDscp::try_new(tos >> 2).unwrap_or(IpDscp::ZERO),
        ecn: IpEcn::try_new(tos & 0b11).unwrap_or(IpEcn::NotEct),
        total_len,
        identification: id,
        dont_fragment: df,
        more_fragments: mf,
        fragment_offset: IpFragOffset::try_new(offset).unwrap_or(IpFragOffset::ZERO),
        time_to_live: ttl,
        protocol: IpNumber(protocol),
        header_checksum: 0,
        source: src.octets(),
        destination: dst.octets(),
        options: Default::default(),
    };
    h.header_checksum = h.calc_header_checksum();
    room(out, IPV4_HDR)?.copy_from_slice(&h.to_bytes());
    Ok(())
}

impl Translator {
    /// RFC 7915 §5: translates an IPv6 packet.
    pub(crate) fn v6_to_v4(&mut self, input: &[u8], out: &mut [u8]) -> Result<Action, DropReason> {
        if input.len() < IPV6_HDR {
            return Err(DropReason::Ipv6HeaderTruncated);
        }
        let plen = usize::from(wire::be16(input, 4).unwrap_or(0));
        // A zero Payload Length with a Hop-by-Hop header is a jumbogram (RFC 2675).
        if IPV6_HDR + plen > input.len() || (plen == 0 && input[6] == proto::HOP_BY_HOP) {
            return Err(DropReason::Ipv6BadPayloadLength);
        }
        let packet = &input[..IPV6_HDR + plen];
        let ip = V6::parse(packet, false)?;
        // §5.1: packets from or to addresses that are never translated
        // (unspecified, loopback, link-local, multicast) are silently dropped.
        if is_reserved_v6(ip.src) || is_reserved_v6(ip.dst) {
            return Err(DropReason::Ipv6ReservedAddress);
        }
        // §5.1: a Routing header with Segments Left > 0 is a Parameter Problem.
        if let Some(at) = ip.segments_left_at {
            let rest = (at as u32).to_be_bytes();
            return self.icmp6_error(
                packet,
                icmp6::PARAM_PROBLEM,
                icmp6::param::HEADER_FIELD,
                rest,
                out,
                DropReason::Ipv6RoutingHeader,
            );
        }
        if ip.hop_limit <= 1 {
            return self.icmp6_error(packet, icmp6::TIME_EXCEEDED, 0, [0; 4], out, DropReason::HopLimitExceeded);
        }
        let payload = &packet[ip.l4_at..];
        let first = ip.frag.is_none_or(|f| f.offset == 0);
        let is_icmp_error =
            ip.proto == proto::ICMPV6 && first && payload.first().is_some_and(|t| super::icmp::is_v6_error(*t));
        // §5.4: no error is sent about any ICMPv6 message.
        let is_icmp = ip.proto == proto::ICMPV6;

        let (src4, dst4) = match self.stateful {
            // RFC 6146 §3.7: the addresses of the outgoing tuple.
            Some(rw) => rw.outer_v4(is_icmp_error)?,
            None => {
                let src4 = match self.map_6to4(ip.src) {
                    Ok(a) => a,
                    // RFC 6791: ICMPv6 errors from IPv6 routers with no mapping (but
                    // RFC 6052 §3.1: never for a Well-Known-Prefix address).
                    Err(MapError::NoMapping) if is_icmp_error => self.cfg.rfc6791_v4,
                    Err(e) => return self.unmappable_v6(packet, out, e.reason(true), is_icmp),
                };
                let dst4 = match self.map_6to4(ip.dst) {
                    Ok(a) => a,
                    Err(e) => return self.unmappable_v6(packet, out, e.reason(false), is_icmp),
                };
                (src4, dst4)
            }
        };
        if super::v4_to_v6::is_reserved_v4(src4) || super::v4_to_v6::is_reserved_v4(dst4) {
            return Err(DropReason::Ipv4ReservedAddress);
        }

        let (next, body_len) = if ip.proto == proto::ICMPV6 {
            if ip.frag.is_some() {
                return Err(DropReason::FragmentedIcmp);
            }
            let limit = usize::from(self.cfg.cfg.mtu_v4) - IPV4_HDR;
            let body = out.get_mut(IPV4_HDR..).ok_or(DropReason::OutputBufferTooSmall)?;
            let n = self.icmp6_to_4(payload, body, (ip.src, ip.dst), limit)?;
            (proto::ICMP, n)
        } else {
            room(out, IPV4_HDR + payload.len())?[IPV4_HDR..].copy_from_slice(payload);
            if first {
                let l4 = &mut out[IPV4_HDR..IPV4_HDR + payload.len()];
                transport_6to4(ip.proto, l4, (ip.src, ip.dst), (src4, dst4))?;
                if let Some(rw) = self.stateful {
                    crate::stateful::rewrite_ports(ip.proto, l4, rw.src_port, rw.dst_port);
                }
                if let (proto::TCP, Some(max)) = (ip.proto, self.cfg.cfg.mss_clamp) {
                    crate::mss::clamp(l4, max);
                }
            }
            (ip.proto, payload.len())
        };

        let total = IPV4_HDR + body_len;
        // One segment's size for a GSO super-packet (crate::offload).
        let mtu_len = self.mtu_len(total, IPV4_HDR);
        let mtu4 = usize::from(self.cfg.cfg.mtu_v4);
        // §5.1: DF clear up to 1260 bytes and for fragments, set above.
        let df = ip.frag.is_none() && mtu_len > DF_THRESHOLD;
        // RFC 7757 §4: hairpin when the destination came from pool6 but lands
        // in EAM IPv4 space (traffic to the EAM's own IPv6 side is ordinary).
        let eam = &self.cfg.cfg.eam;
        let hairpin = self.stateful.is_none()
            && self.cfg.cfg.eam_hairpin
            && eam.contains_v4(dst4)
            && eam.v6_to_v4(ip.dst).is_none();
        if df && mtu_len > mtu4 && !hairpin {
            // §5.1/§1.4: too big with DF: report the IPv6-side size of a
            // packet that fits (extension headers included).
            let mtu6 = (mtu4 + ip.l4_at - IPV4_HDR).max(usize::from(crate::config::IPV6_MIN_MTU));
            let rest = (mtu6.min(usize::from(u16::MAX)) as u32).to_be_bytes();
            return self.icmp6_error(packet, icmp6::PACKET_TOO_BIG, 0, rest, out, DropReason::PacketTooBig);
        }
        let ids = match ip.frag {
            // §5.1.1: fragment fields from the Fragment header, DF clear.
            Some(f) => (f.id as u16, false, f.more, f.offset),
            // §5.1: Identification from the translator's generator.
            None => (self.next_ipv4_id(), df, false, 0),
        };
        let tc = if self.cfg.cfg.copy_traffic_class { ip.traffic_class } else { 0 };
        emit_v4_header(out, tc, total, ids, ip.hop_limit - 1, next, src4, dst4)?;

        if hairpin {
            return self.hairpin(out, total);
        }
        if mtu_len > mtu4 {
            // §5.1.1: DF is clear: the translator fragments, as an IPv4 router would.
            return self.fragment_v4(out, total, mtu4);
        }
        Ok(Action::Translated { family: Family::V4, len: total, segment: total })
    }

    /// §5.1: the next IPv4 Identification (xorshift32: not sequential, so
    /// it reveals nothing about traffic volume; RFC 7739).
    pub(crate) fn next_ipv4_id(&mut self) -> u16 {
        let mut x = self.id_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.id_state = x;
        (x >> 16) as u16
    }

    /// §5.1.1: splits the IPv4 packet in `out[..len]` (DF clear) into
    /// fragments of at most `mtu` bytes, back to back.
    fn fragment_v4(&mut self, out: &mut [u8], len: usize, mtu: usize) -> Result<Action, DropReason> {
        let chunk = (mtu - IPV4_HDR) / 8 * 8;
        let mut header = [0u8; IPV4_HDR];
        header.copy_from_slice(&out[..IPV4_HDR]);
        let flags_off = u16::from_be_bytes([header[6], header[7]]);
        let (base_off, base_mf) = (flags_off & IPV4_OFFSET_MASK, flags_off & IPV4_MF != 0);
        let payload = out.get(IPV4_HDR..len).ok_or(DropReason::OutputBufferTooSmall)?;
        let pieces = payload.len().div_ceil(chunk);
        let mut at = 0;
        for (i, piece) in payload.chunks(chunk).enumerate() {
            let o = self.scratch.get_mut(at..at + IPV4_HDR + piece.len()).ok_or(DropReason::OutputBufferTooSmall)?;
            o[..IPV4_HDR].copy_from_slice(&header);
            wire::put16(o, 2, (IPV4_HDR + piece.len()) as u16);
            let more = i + 1 < pieces || base_mf;
            let off = base_off + (i * chunk / 8) as u16;
            wire::put16(o, 6, off | if more { IPV4_MF } else { 0 });
            wire::put16(o, 10, 0);
            let c = checksum::finish(checksum::sum(0, &o[..IPV4_HDR]));
            wire::put16(o, 10, c);
            o[IPV4_HDR..].copy_from_slice(piece);
            at += o.len();
        }
        room(out, at)?.copy_from_slice(&self.scratch[..at]);
        self.counters.fragmented += 1;
        Ok(Action::Translated { family: Family::V4, len: at, segment: IPV4_HDR + chunk })
    }

    /// RFC 7757 §4: the IPv4 packet in `out[..len]` is addressed to EAM
    /// space behind this translator: translate it back to IPv6 at once.
    /// §4.2.1: the source is mapped with pool6 (not EAM), so the peer
    /// answers through the translator again; §4.2.2: the Hop Limit is not
    /// decremented a second time.
    fn hairpin(&mut self, out: &mut [u8], len: usize) -> Result<Action, DropReason> {
        let mut buf = core::mem::take(&mut self.hairpin);
        buf[..len].copy_from_slice(&out[..len]);
        self.hairpin_pass = true;
        let result = self.v4_to_v6(&buf[..len], out);
        self.hairpin_pass = false;
        self.hairpin = buf;
        if matches!(result, Ok(Action::Translated { .. })) {
            self.counters.hairpinned += 1;
        }
        result.map(|a| match a {
            // An error about the hairpinned IPv4 form would go to an IPv4
            // address that is really an IPv6 host: report it as a drop.
            Action::IcmpError { cause, .. } => Err(cause),
            ok => Ok(ok),
        })?
    }

    /// §5.4: what to do when an address cannot be mapped (never an error
    /// about an ICMPv6 message).
    fn unmappable_v6(
        &mut self,
        packet: &[u8],
        out: &mut [u8],
        reason: DropReason,
        is_icmp: bool,
    ) -> Result<Action, DropReason> {
        if is_icmp {
            return Err(reason);
        }
        let code = icmp6::unreach::ADMIN_PROHIBITED;
        self.icmp6_error(packet, icmp6::DEST_UNREACH, code, [0; 4], out, reason)
    }
}

/// §5.5: TCP/UDP checksum update for the pseudo-header change.
fn transport_6to4(p: u8, l4: &mut [u8], v6: (Ipv6Addr, Ipv6Addr), v4: (Ipv4Addr, Ipv4Addr)) -> Result<(), DropReason> {
    let old = checksum::sum_v6_addrs(v6.0, v6.1);
    let new = checksum::sum_v4_addrs(v4.0, v4.1);
    match p {
        proto::TCP | proto::UDP if !super::tcp_udp_update(p, l4, old, new) => Err(DropReason::TransportTruncated),
        _ => Ok(()),
    }
}
