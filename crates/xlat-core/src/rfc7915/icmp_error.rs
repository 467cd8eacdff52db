//! RFC 7915 §4.4 and §5.4: ICMP errors the translator originates (it is a
//! router: Time Exceeded, Fragmentation Needed / Packet Too Big, Parameter
//! Problem, and "administratively prohibited" for untranslatable packets).

use core::net::{Ipv4Addr, Ipv6Addr};

use super::icmp::{is_v4_error, is_v6_error};
use super::v4_to_v6::{emit_v6_header, is_reserved_v4};
use super::v6_to_v4::{emit_v4_header, V6};
use super::{room, Translator};
use crate::checksum;
use crate::config::IPV6_MIN_MTU;
use crate::verdict::{Action, DropReason, Family};
use crate::wire::{self, csum_at, proto, ICMP_HDR, IPV4_HDR, IPV6_HDR};

/// RFC 1812 §4.3.2.3: an ICMPv4 error should not exceed 576 bytes.
const ICMP4_ERROR_MAX: usize = 576;
/// RFC 4443 §2.4 (c): an ICMPv6 error must not exceed the minimum MTU.
const ICMP6_ERROR_MAX: usize = IPV6_MIN_MTU as usize;
/// Hop limit / TTL of originated errors (RFC 1700 default TTL).
const ERROR_TTL: u8 = 64;

impl Translator {
    /// §4.4: answers the IPv4 `packet` with an ICMPv4 error, or returns
    /// `cause` when no error may be sent (RFC 1812 §4.3.2.7: never about an
    /// ICMP error, a non-first fragment, or a non-unicast source).
    pub(crate) fn icmp4_error(
        &mut self,
        packet: &[u8],
        ty: u8,
        code: u8,
        rest: [u8; 4],
        out: &mut [u8],
        cause: DropReason,
    ) -> Result<Action, DropReason> {
        let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
        let ihl = usize::from(packet[0] & 0x0f) * 4;
        let non_first = wire::be16(packet, 6).unwrap_or(0) & 0x1fff != 0;
        let is_error = packet[9] == proto::ICMP && packet.get(ihl).is_some_and(|t| is_v4_error(*t));
        if !self.cfg.cfg.send_icmp_errors || non_first || is_error || is_reserved_v4(src) || !self.icmp_error_allowed()
        {
            return Err(cause);
        }
        let quote = &packet[..packet.len().min(ICMP4_ERROR_MAX - IPV4_HDR - ICMP_HDR)];
        let len = IPV4_HDR + ICMP_HDR + quote.len();
        let o = room(out, len)?;
        emit_v4_header(o, 0, len, (0, false, false, 0), ERROR_TTL, proto::ICMP, self.cfg.cfg.ipv4_addr, src)?;
        let icmp = &mut o[IPV4_HDR..];
        icmp[0] = ty;
        icmp[1] = code;
        icmp[2..4].fill(0);
        icmp[4..8].copy_from_slice(&rest);
        icmp[ICMP_HDR..].copy_from_slice(quote);
        let c = checksum::finish(checksum::sum(0, icmp));
        wire::put16(icmp, csum_at::ICMP, c);
        Ok(Action::IcmpError { family: Family::V4, len, cause })
    }

    /// §5.4: answers the IPv6 `packet` with an ICMPv6 error, or returns
    /// `cause` when no error may be sent (RFC 4443 §2.4 (e)).
    pub(crate) fn icmp6_error(
        &mut self,
        packet: &[u8],
        ty: u8,
        code: u8,
        rest: [u8; 4],
        out: &mut [u8],
        cause: DropReason,
    ) -> Result<Action, DropReason> {
        let mut s = [0u8; 16];
        s.copy_from_slice(&packet[8..24]);
        let src = Ipv6Addr::from(s);
        let parsed = V6::parse(packet, true).ok();
        let non_first = parsed.is_some_and(|ip| ip.frag.is_some_and(|f| f.offset != 0));
        let is_error = parsed.is_some_and(|ip| {
            ip.proto == proto::ICMPV6 && !non_first && packet.get(ip.l4_at).is_some_and(|t| is_v6_error(*t))
        });
        if !self.cfg.cfg.send_icmp_errors
            || is_error
            || non_first
            || src.is_unspecified()
            || src.is_multicast()
            || !self.icmp_error_allowed()
        {
            return Err(cause);
        }
        let quote = &packet[..packet.len().min(ICMP6_ERROR_MAX - IPV6_HDR - ICMP_HDR)];
        let body = ICMP_HDR + quote.len();
        let me = self.cfg.ipv6_addr;
        let o = room(out, IPV6_HDR + body)?;
        emit_v6_header(o, 0, body, proto::ICMPV6, ERROR_TTL, me, src, None)?;
        let icmp = &mut o[IPV6_HDR..];
        icmp[0] = ty;
        icmp[1] = code;
        icmp[2..4].fill(0);
        icmp[4..8].copy_from_slice(&rest);
        icmp[ICMP_HDR..].copy_from_slice(quote);
        let acc = checksum::sum(checksum::pseudo_v6(me, src, body as u32, proto::ICMPV6), icmp);
        wire::put16(icmp, csum_at::ICMP, checksum::finish(acc));
        Ok(Action::IcmpError { family: Family::V6, len: IPV6_HDR + body, cause })
    }
}
