//! RFC 7915 §4.2/§4.3 (ICMPv4 -> ICMPv6) and §5.2/§5.3 (ICMPv6 -> ICMPv4):
//! type and code mapping, Parameter Problem pointers, Packet Too Big MTU
//! arithmetic, the quoted packet, and RFC 4884 extensions.

use core::net::Ipv6Addr;

use super::v4_to_v6::{emit_v6_header, V4};
use super::v6_to_v4::{emit_v4_header, V6};
use super::{echo_retype, room, tcp_udp_update, Translator};
use crate::checksum;
use crate::config::IPV6_MIN_MTU;
use crate::verdict::DropReason;
use crate::wire::{self, csum_at, icmp4, icmp6, proto, ICMP_HDR, IPV4_HDR, IPV6_HDR};

/// RFC 1191 §7 plateau table, used when a router reports MTU 0 (§4.2).
pub(crate) const MTU_PLATEAUS: [u16; 11] = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

/// RFC 4884 §4: minimum length of the original datagram field when an
/// extension structure follows.
const RFC4884_MIN_ORIGINAL: usize = 128;
/// Largest ICMPv6 error (RFC 4443 §2.4 (c): must not exceed the minimum MTU).
const ICMP6_ERROR_MAX: usize = IPV6_MIN_MTU as usize;

/// §4.2: ICMPv4 Echo types to ICMPv6 (other informational types: drop).
pub(crate) fn echo_4to6(t: u8) -> Option<u8> {
    match t {
        icmp4::ECHO_REQUEST => Some(icmp6::ECHO_REQUEST),
        icmp4::ECHO_REPLY => Some(icmp6::ECHO_REPLY),
        _ => None,
    }
}

/// §5.2: ICMPv6 Echo types to ICMPv4 (MLD, ND and others: drop).
pub(crate) fn echo_6to4(t: u8) -> Option<u8> {
    match t {
        icmp6::ECHO_REQUEST => Some(icmp4::ECHO_REQUEST),
        icmp6::ECHO_REPLY => Some(icmp4::ECHO_REPLY),
        _ => None,
    }
}

/// Whether an ICMPv4 type is an error message (RFC 792).
pub(crate) fn is_v4_error(t: u8) -> bool {
    matches!(
        t,
        icmp4::DEST_UNREACH | icmp4::SOURCE_QUENCH | icmp4::REDIRECT | icmp4::TIME_EXCEEDED | icmp4::PARAM_PROBLEM
    )
}

/// Whether an ICMPv6 type is an error message (RFC 4443 §2.1).
pub(crate) fn is_v6_error(t: u8) -> bool {
    t < 128
}

/// The greatest RFC 1191 plateau below `total_len` (§4.2, MTU field zero).
pub(crate) fn plateau_below(total_len: u16) -> u16 {
    MTU_PLATEAUS.into_iter().find(|p| *p < total_len).unwrap_or(MTU_PLATEAUS[MTU_PLATEAUS.len() - 1])
}

/// RFC 7915 §4.2 figure 3: IPv4 Parameter Problem pointer -> IPv6 pointer.
pub(crate) fn pointer_4to6(p: u8) -> Option<u8> {
    match p {
        0 => Some(0),        // Version/IHL -> Version/Traffic Class
        1 => Some(1),        // Type of Service -> Traffic Class/Flow Label
        2 | 3 => Some(4),    // Total Length -> Payload Length
        8 => Some(7),        // Time to Live -> Hop Limit
        9 => Some(6),        // Protocol -> Next Header
        12..=15 => Some(8),  // Source Address
        16..=19 => Some(24), // Destination Address
        _ => None,           // Identification, Flags/Offset, Checksum, options: n/a
    }
}

/// RFC 7915 §5.2 figure 6: IPv6 Parameter Problem pointer -> IPv4 pointer.
pub(crate) fn pointer_6to4(p: u32) -> Option<u8> {
    match p {
        0 => Some(0),        // Version/Traffic Class -> Version/IHL, TOS
        1 => Some(1),        // Traffic Class/Flow Label -> TOS
        4 | 5 => Some(2),    // Payload Length -> Total Length
        6 => Some(9),        // Next Header -> Protocol
        7 => Some(8),        // Hop Limit -> TTL
        8..=23 => Some(12),  // Source Address
        24..=39 => Some(16), // Destination Address
        _ => None,           // Flow Label (2, 3) and beyond: n/a
    }
}

/// An ICMPv6 header chosen for an ICMPv4 error (§4.2): type, code and the
/// 32-bit field after the checksum (MTU or pointer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Icmp6Head {
    pub(crate) ty: u8,
    pub(crate) code: u8,
    pub(crate) rest: u32,
}

/// RFC 7915 §4.2: ICMPv4 error type/code to ICMPv6; `None` = silently drop.
pub(crate) fn map_error_4to6(ty: u8, code: u8, rest: [u8; 4], mtu: impl FnOnce(u16) -> u32) -> Option<Icmp6Head> {
    use icmp4::unreach as u4;
    use icmp6::unreach as u6;
    let head = |ty, code, rest| Some(Icmp6Head { ty, code, rest });
    match ty {
        icmp4::DEST_UNREACH => match code {
            0 | 1 | u4::SOURCE_ROUTE_FAILED | 6 | 7 | 8 | 11 | 12 => head(icmp6::DEST_UNREACH, u6::NO_ROUTE, 0),
            u4::PROTOCOL => head(icmp6::PARAM_PROBLEM, icmp6::param::NEXT_HEADER, icmp6::PTR_NEXT_HEADER),
            u4::PORT => head(icmp6::DEST_UNREACH, u6::PORT, 0),
            u4::FRAG_NEEDED => head(icmp6::PACKET_TOO_BIG, 0, mtu(u16::from_be_bytes([rest[2], rest[3]]))),
            9 | u4::HOST_ADMIN_PROHIBITED | u4::ADMIN_PROHIBITED | 15 => {
                head(icmp6::DEST_UNREACH, u6::ADMIN_PROHIBITED, 0)
            }
            _ => None, // 14 (host precedence violation) and unknown codes
        },
        icmp4::TIME_EXCEEDED => head(icmp6::TIME_EXCEEDED, code, 0),
        icmp4::PARAM_PROBLEM => match code {
            icmp4::param::POINTER | icmp4::param::BAD_LENGTH => {
                pointer_4to6(rest[0]).and_then(|p| head(icmp6::PARAM_PROBLEM, icmp6::param::HEADER_FIELD, u32::from(p)))
            }
            _ => None, // code 1 (missing required option) and unknown codes
        },
        _ => None, // source quench, redirect, unknown
    }
}

/// RFC 7915 §5.2: ICMPv6 error type/code to ICMPv4 (type, code, rest);
/// `None` = silently drop.
pub(crate) fn map_error_6to4(ty: u8, code: u8, rest: u32, mtu: impl FnOnce(u32) -> u16) -> Option<(u8, u8, [u8; 4])> {
    use icmp4::unreach as u4;
    use icmp6::unreach as u6;
    match ty {
        icmp6::DEST_UNREACH => {
            let code4 = match code {
                u6::NO_ROUTE | u6::BEYOND_SCOPE | u6::ADDRESS => u4::HOST,
                u6::ADMIN_PROHIBITED => u4::HOST_ADMIN_PROHIBITED,
                u6::PORT => u4::PORT,
                _ => return None,
            };
            Some((icmp4::DEST_UNREACH, code4, [0; 4]))
        }
        icmp6::PACKET_TOO_BIG => {
            let m = mtu(rest);
            Some((icmp4::DEST_UNREACH, u4::FRAG_NEEDED, [0, 0, (m >> 8) as u8, m as u8]))
        }
        icmp6::TIME_EXCEEDED => Some((icmp4::TIME_EXCEEDED, code, [0; 4])),
        icmp6::PARAM_PROBLEM => match code {
            icmp6::param::HEADER_FIELD => {
                pointer_6to4(rest).map(|p| (icmp4::PARAM_PROBLEM, icmp4::param::POINTER, [p, 0, 0, 0]))
            }
            icmp6::param::NEXT_HEADER => Some((icmp4::DEST_UNREACH, u4::PROTOCOL, [0; 4])),
            _ => None,
        },
        _ => None,
    }
}

/// RFC 4884 §4/§5: byte offset of the length attribute, if the type has one.
fn rfc4884_len_at_v4(ty: u8) -> Option<usize> {
    matches!(ty, icmp4::DEST_UNREACH | icmp4::TIME_EXCEEDED | icmp4::PARAM_PROBLEM).then_some(5)
}
fn rfc4884_len_at_v6(ty: u8) -> Option<usize> {
    matches!(ty, icmp6::DEST_UNREACH | icmp6::TIME_EXCEEDED).then_some(4)
}

/// Splits an ICMP error body into (original datagram, extension) using the
/// RFC 4884 length attribute `words` of `unit` bytes.
fn split_rfc4884(body: &[u8], words: u8, unit: usize) -> (&[u8], &[u8]) {
    let orig = usize::from(words) * unit;
    // §5: an attribute that does not fit means "no extension" (compatibility).
    if words == 0 || orig > body.len() || body.len() - orig < 4 {
        (body, &[])
    } else {
        body.split_at(orig)
    }
}

impl Translator {
    /// §4.2: translates an ICMPv4 message (`icmp`, unfragmented) into `out`,
    /// returning the ICMPv6 length.
    pub(crate) fn icmp4_to_6(
        &mut self,
        icmp: &[u8],
        out: &mut [u8],
        src6: Ipv6Addr,
        dst6: Ipv6Addr,
    ) -> Result<usize, DropReason> {
        if icmp.len() < ICMP_HDR {
            return Err(DropReason::TransportTruncated);
        }
        let (ty, code) = (icmp[0], icmp[1]);
        if let Some(ty6) = echo_4to6(ty) {
            // Payload unchanged: RFC 1624 update for the type and the new pseudo-header.
            let o = room(out, icmp.len())?;
            o.copy_from_slice(icmp);
            echo_retype(o, ty6, 0, checksum::pseudo_v6(src6, dst6, icmp.len() as u32, proto::ICMPV6));
            if let Some(rw) = self.stateful {
                crate::stateful::rewrite_echo_id(o, rw.src_port);
            }
            return Ok(icmp.len());
        }
        if !is_v4_error(ty) {
            return Err(DropReason::IcmpUntranslatable);
        }
        if !cfg!(fuzzing) && checksum::fold(checksum::sum(0, icmp)) != 0xffff {
            return Err(DropReason::IcmpBadChecksum);
        }
        let rest = [icmp[4], icmp[5], icmp[6], icmp[7]];
        let body = &icmp[ICMP_HDR..];
        let (mtu6, mtu4) = (u32::from(self.cfg.cfg.mtu_v6), u32::from(self.cfg.cfg.mtu_v4));
        let quoted_total = wire::be16(body, 2).unwrap_or(0);
        let head = map_error_4to6(ty, code, rest, |adv| {
            // §4.2: MTU 0 means a pre-RFC 1191 router: use the plateau below
            // the quoted Total Length; then min(adv + 20, v6 MTU, v4 MTU + 20).
            let adv = if adv == 0 { plateau_below(quoted_total) } else { adv };
            (u32::from(adv) + 20).min(mtu6).min(mtu4 + 20).max(u32::from(IPV6_MIN_MTU))
        })
        .ok_or(DropReason::IcmpUntranslatable)?;

        let (orig, ext) = match rfc4884_len_at_v4(ty) {
            Some(at) => split_rfc4884(body, rest[at - 4], 4),
            None => (body, &[][..]),
        };
        let max = ICMP6_ERROR_MAX - IPV6_HDR;
        let o = room(out, max)?;
        let inner_len = self.inner_v4_to_v6(orig, &mut o[ICMP_HDR..max])?;
        let mut len = ICMP_HDR + inner_len;
        let mut words = 0u8;
        // RFC 4884: pad the translated datagram to 8-byte words (at least
        // 128 bytes) and carry the extension; drop it if it does not fit.
        if !ext.is_empty() && rfc4884_len_at_v6(head.ty).is_some() {
            let padded = inner_len.max(RFC4884_MIN_ORIGINAL).next_multiple_of(8);
            if ICMP_HDR + padded + ext.len() <= max {
                o[ICMP_HDR + inner_len..ICMP_HDR + padded].fill(0);
                o[ICMP_HDR + padded..ICMP_HDR + padded + ext.len()].copy_from_slice(ext);
                len = ICMP_HDR + padded + ext.len();
                words = (padded / 8) as u8;
            }
        }
        o[0] = head.ty;
        o[1] = head.code;
        o[4..8].copy_from_slice(&head.rest.to_be_bytes());
        if let Some(at) = rfc4884_len_at_v6(head.ty) {
            o[at] = words;
        }
        wire::put16(o, csum_at::ICMP, 0);
        let acc = checksum::sum(checksum::pseudo_v6(src6, dst6, len as u32, proto::ICMPV6), &o[..len]);
        wire::put16(o, csum_at::ICMP, checksum::finish(acc));
        Ok(len)
    }

    /// §4.3: translates the IPv4 packet quoted in an ICMPv4 error (possibly
    /// truncated) into `out`; no TTL decrement, no fragmentation. Output
    /// beyond `out` is truncated.
    fn inner_v4_to_v6(&mut self, inner: &[u8], out: &mut [u8]) -> Result<usize, DropReason> {
        let (ip, _) = V4::parse(inner).map_err(|()| DropReason::IcmpInnerMalformed)?;
        let payload = &inner[ip.header_len..];
        let first = ip.frag_off == 0;
        if ip.proto == proto::ICMP && first && payload.first().is_some_and(|t| is_v4_error(*t)) {
            return Err(DropReason::IcmpErrorInError);
        }
        // RFC 6146 §3.7: the quoted packet travelled the other way.
        let inner_rw = self.stateful.map(|rw| rw.mirrored());
        let (src6, dst6) = match inner_rw {
            Some(rw) => rw.outer_v6(false)?,
            None => (
                self.map_4to6(ip.src).map_err(|e| e.reason(true))?,
                self.map_4to6(ip.dst).map_err(|e| e.reason(false))?,
            ),
        };
        let frag = ip.is_fragment().then_some((ip.frag_off, ip.mf, u32::from(ip.id)));
        let next = if ip.proto == proto::ICMP { proto::ICMPV6 } else { ip.proto };
        // The payload length is what the original packet carried, not what was quoted.
        let plen = usize::from(ip.total_len).saturating_sub(ip.header_len);
        let tc = if self.cfg.cfg.copy_traffic_class { ip.tos } else { 0 };
        let mut hdr = [0u8; IPV6_HDR + wire::FRAG_HDR];
        let hdr_len = emit_v6_header(&mut hdr, tc, plen, next, ip.ttl, src6, dst6, frag)
            .map_err(|_| DropReason::IcmpInnerMalformed)?;
        let n = hdr_len.min(out.len());
        out[..n].copy_from_slice(&hdr[..n]);
        let take = payload.len().min(out.len() - n);
        let l4 = &mut out[n..n + take];
        l4.copy_from_slice(&payload[..take]);
        if first {
            if ip.proto == proto::ICMP {
                if let Some(ty6) = l4.first().and_then(|t| echo_4to6(*t)) {
                    echo_retype(l4, ty6, 0, checksum::pseudo_v6(src6, dst6, plen as u32, proto::ICMPV6));
                    if let Some(rw) = inner_rw {
                        crate::stateful::rewrite_echo_id(l4, rw.src_port);
                    }
                }
            } else {
                let old = checksum::sum_v4_addrs(ip.src, ip.dst);
                tcp_udp_update(ip.proto, l4, old, checksum::sum_v6_addrs(src6, dst6));
                if let Some(rw) = inner_rw {
                    crate::stateful::rewrite_ports(ip.proto, l4, rw.src_port, rw.dst_port);
                }
            }
        }
        Ok(n + take)
    }

    /// §5.2: translates an ICMPv6 message into `out`, returning the ICMPv4
    /// length.
    pub(crate) fn icmp6_to_4(
        &mut self,
        icmp: &[u8],
        out: &mut [u8],
        src: (Ipv6Addr, Ipv6Addr),
        limit: usize,
    ) -> Result<usize, DropReason> {
        if icmp.len() < ICMP_HDR {
            return Err(DropReason::TransportTruncated);
        }
        let (ty, code) = (icmp[0], icmp[1]);
        if let Some(ty4) = echo_6to4(ty) {
            let o = room(out, icmp.len())?;
            o.copy_from_slice(icmp);
            echo_retype(o, ty4, checksum::pseudo_v6(src.0, src.1, icmp.len() as u32, proto::ICMPV6), 0);
            if let Some(rw) = self.stateful {
                crate::stateful::rewrite_echo_id(o, rw.src_port);
            }
            return Ok(icmp.len());
        }
        if !is_v6_error(ty) {
            return Err(DropReason::IcmpUntranslatable);
        }
        let pseudo = checksum::pseudo_v6(src.0, src.1, icmp.len() as u32, proto::ICMPV6);
        if !cfg!(fuzzing) && checksum::fold(checksum::sum(pseudo, icmp)) != 0xffff {
            return Err(DropReason::IcmpBadChecksum);
        }
        let rest = wire::be32(icmp, 4).unwrap_or(0);
        let (mtu6, mtu4) = (u32::from(self.cfg.cfg.mtu_v6), u32::from(self.cfg.cfg.mtu_v4));
        // §5.2: a Fragment header in the quoted packet disappears too.
        let quoted_frag = V6::parse(&icmp[ICMP_HDR..], true).is_ok_and(|q| q.frag.is_some());
        let shrink = 20 + if quoted_frag { wire::FRAG_HDR as u32 } else { 0 };
        let (ty4, code4, rest4) = map_error_6to4(ty, code, rest, |adv| {
            // §5.2: min(advertised - 20, v4 MTU, v6 MTU - 20).
            let m = adv.saturating_sub(shrink).min(mtu4).min(mtu6 - 20);
            m.max(u32::from(crate::config::IPV4_MIN_MTU)) as u16
        })
        .ok_or(DropReason::IcmpUntranslatable)?;
        let body = &icmp[ICMP_HDR..];
        let (orig, ext) = match rfc4884_len_at_v6(ty) {
            Some(at) => split_rfc4884(body, icmp[at], 8),
            None => (body, &[][..]),
        };
        let o = room(out, limit)?;
        let inner_len = self.inner_v6_to_v4(orig, &mut o[ICMP_HDR..limit])?;
        let mut len = ICMP_HDR + inner_len;
        let mut words = 0u8;
        o[4..8].copy_from_slice(&rest4);
        if !ext.is_empty() {
            if let Some(at) = rfc4884_len_at_v4(ty4) {
                let padded = inner_len.max(RFC4884_MIN_ORIGINAL).next_multiple_of(4);
                if ICMP_HDR + padded + ext.len() <= limit {
                    o[ICMP_HDR + inner_len..ICMP_HDR + padded].fill(0);
                    o[ICMP_HDR + padded..ICMP_HDR + padded + ext.len()].copy_from_slice(ext);
                    len = ICMP_HDR + padded + ext.len();
                    words = (padded / 4) as u8;
                }
                o[at] = words;
            }
        }
        o[0] = ty4;
        o[1] = code4;
        wire::put16(o, csum_at::ICMP, 0);
        let c = checksum::finish(checksum::sum(0, &o[..len]));
        wire::put16(o, csum_at::ICMP, c);
        Ok(len)
    }

    /// §5.3: translates the IPv6 packet quoted in an ICMPv6 error.
    fn inner_v6_to_v4(&mut self, inner: &[u8], out: &mut [u8]) -> Result<usize, DropReason> {
        let ip = V6::parse(inner, true).map_err(|_| DropReason::IcmpInnerMalformed)?;
        let payload = inner.get(ip.l4_at..).unwrap_or(&[]);
        let first = ip.frag.is_none_or(|f| f.offset == 0);
        if ip.proto == proto::ICMPV6 && first && payload.first().is_some_and(|t| is_v6_error(*t)) {
            return Err(DropReason::IcmpErrorInError);
        }
        // RFC 6146 §3.7: the quoted packet travelled the other way.
        let inner_rw = self.stateful.map(|rw| rw.mirrored());
        let (src4, dst4) = match inner_rw {
            Some(rw) => rw.outer_v4(false)?,
            None => (
                self.map_6to4(ip.src).map_err(|e| e.reason(true))?,
                self.map_6to4(ip.dst).map_err(|e| e.reason(false))?,
            ),
        };
        let next = if ip.proto == proto::ICMPV6 { proto::ICMP } else { ip.proto };
        let plen = usize::from(ip.payload_len).saturating_sub(ip.l4_at - IPV6_HDR);
        let tc = if self.cfg.cfg.copy_traffic_class { ip.traffic_class } else { 0 };
        // §5.1 rules; the quoted packet's Identification is not known.
        let (id, df, mf, off) = match ip.frag {
            Some(f) => (f.id as u16, false, f.more, f.offset),
            None => (0, IPV4_HDR + plen > super::v6_to_v4::DF_THRESHOLD, false, 0),
        };
        let mut hdr = [0u8; IPV4_HDR];
        emit_v4_header(&mut hdr, tc, IPV4_HDR + plen, (id, df, mf, off), ip.hop_limit, next, src4, dst4)
            .map_err(|_| DropReason::IcmpInnerMalformed)?;
        let n = IPV4_HDR.min(out.len());
        out[..n].copy_from_slice(&hdr[..n]);
        let take = payload.len().min(out.len() - n);
        let l4 = &mut out[n..n + take];
        l4.copy_from_slice(&payload[..take]);
        if first {
            if ip.proto == proto::ICMPV6 {
                if let Some(ty4) = l4.first().and_then(|t| echo_6to4(*t)) {
                    echo_retype(l4, ty4, checksum::pseudo_v6(ip.src, ip.dst, plen as u32, proto::ICMPV6), 0);
                    if let Some(rw) = inner_rw {
                        crate::stateful::rewrite_echo_id(l4, rw.src_port);
                    }
                }
            } else {
                let old = checksum::sum_v6_addrs(ip.src, ip.dst);
                tcp_udp_update(ip.proto, l4, old, checksum::sum_v4_addrs(src4, dst4));
                if let Some(rw) = inner_rw {
                    crate::stateful::rewrite_ports(ip.proto, l4, rw.src_port, rw.dst_port);
                }
            }
        }
        Ok(n + take)
    }
}
