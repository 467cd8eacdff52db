//! The stateful hook (RFC 6146 §3.7 "Translating the Packet"): RFC 7915
//! translation with the addresses and ports / ICMP identifier chosen by
//! the caller (a NAT64's outgoing tuple, RFC 6146 §3.6) instead of the
//! EAM / pool6 mapping.
//!
//! RFC 6146 §3.7 translates the packet as RFC 7915 says, except that:
//! - the IP addresses are those of the outgoing tuple;
//! - TCP and UDP ports are those of the outgoing tuple, the checksum being
//!   updated for the new pseudo-header and ports (here: RFC 1624, never a
//!   re-sum of the payload);
//! - an ICMP query's identifier is the tuple's, checksum updated likewise;
//! - an ICMP error: the quoted packet is the reverse of the flow the error
//!   travels on, so it gets the mirrored rewrite: quoted source = outer
//!   destination (address and port), quoted destination = outer source.
//!
//! [`Rewrite`] therefore always describes the packet as it leaves: for an
//! ICMP error, the outer header (source T, destination Z in RFC 6146
//! terms) and, mirrored, the packet it quotes. RFC 6146 §3.6 makes the
//! outer source of a translated error the tuple's (the quoted packet's
//! destination); [`Rewrite::error_src`] lets the caller name the router
//! that really sent it instead (its pool6 address for an ICMPv4 error), so
//! that traceroute through the NAT64 shows the hops, as Jool's
//! `source-icmpv6-errors-better` and FreeBSD's pf do.
//!
//! Everything else is RFC 7915 unchanged: TTL / Hop Limit, fragmentation,
//! MTU handling, errors the translator originates (from its own
//! addresses), counters.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::checksum;
use crate::verdict::DropReason;
use crate::wire::{self, csum_at, proto};

/// The addresses and ports of a packet as it leaves the translator
/// (RFC 6146 §3.6 outgoing tuple). Addresses must be of the output family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rewrite {
    /// Source address.
    pub src: IpAddr,
    /// TCP / UDP source port; for an ICMP query, the identifier.
    pub src_port: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// TCP / UDP destination port (unused for ICMP queries, whose single
    /// identifier is `src_port`; xlat-nat64 sets both ports to it).
    pub dst_port: u16,
    /// ICMP errors only: the outer source, when it is not `src` (see the
    /// module docs). `None`: `src`, as RFC 6146 §3.6 has it.
    pub error_src: Option<IpAddr>,
}

impl Rewrite {
    /// A rewrite to `src`:`src_port` -> `dst`:`dst_port`.
    #[must_use]
    pub fn new(src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> Self {
        Self { src, src_port, dst, dst_port, error_src: None }
    }

    /// The same rewrite with the outer source of an ICMP error set to `a`.
    #[must_use]
    pub fn with_error_src(self, a: IpAddr) -> Self {
        Self { error_src: Some(a), ..self }
    }

    /// The outer IPv4 addresses; `is_error`: the packet is an ICMP error.
    pub(crate) fn outer_v4(&self, is_error: bool) -> Result<(Ipv4Addr, Ipv4Addr), DropReason> {
        let src = if is_error { self.error_src.unwrap_or(self.src) } else { self.src };
        match (src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => Ok((s, d)),
            _ => Err(DropReason::RewriteFamilyMismatch),
        }
    }

    /// The outer IPv6 addresses; `is_error`: the packet is an ICMP error.
    pub(crate) fn outer_v6(&self, is_error: bool) -> Result<(Ipv6Addr, Ipv6Addr), DropReason> {
        let src = if is_error { self.error_src.unwrap_or(self.src) } else { self.src };
        match (src, self.dst) {
            (IpAddr::V6(s), IpAddr::V6(d)) => Ok((s, d)),
            _ => Err(DropReason::RewriteFamilyMismatch),
        }
    }

    /// The rewrite of the packet quoted in an ICMP error: mirrored.
    pub(crate) fn mirrored(&self) -> Self {
        Self { src: self.dst, src_port: self.dst_port, dst: self.src, dst_port: self.src_port, error_src: None }
    }

    /// Whether every address is of the family of `v4`.
    pub(crate) fn family_is(&self, v4: bool) -> bool {
        let ok = |a: IpAddr| a.is_ipv4() == v4;
        ok(self.src) && ok(self.dst) && self.error_src.is_none_or(ok)
    }
}

/// RFC 6146 §3.7: sets the TCP / UDP ports of `l4` (a first fragment or
/// whole segment, possibly a truncated quote) and updates the checksum with
/// RFC 1624 when it was captured. A zero UDP checksum stays zero.
pub(crate) fn rewrite_ports(p: u8, l4: &mut [u8], src_port: u16, dst_port: u16) {
    if !matches!(p, proto::TCP | proto::UDP) || l4.len() < 4 {
        return;
    }
    let old = checksum::sum(0, &l4[..4]);
    wire::put16(l4, 0, src_port);
    wire::put16(l4, 2, dst_port);
    let new = checksum::sum(0, &l4[..4]);
    crate::rfc7915::tcp_udp_update(p, l4, old, new);
}

/// RFC 6146 §3.7: sets the identifier of an ICMP / ICMPv6 Echo message
/// (type, code, checksum, identifier, sequence) and updates its checksum
/// with RFC 1624. A quote too short to hold the identifier is left alone.
pub(crate) fn rewrite_echo_id(icmp: &mut [u8], id: u16) {
    let Some(old) = wire::be16(icmp, ECHO_ID_AT) else { return };
    let Some(c) = wire::be16(icmp, csum_at::ICMP) else { return };
    wire::put16(icmp, ECHO_ID_AT, id);
    wire::put16(icmp, csum_at::ICMP, checksum::update(c, u32::from(old), u32::from(id)));
}

/// Offset of the identifier in an Echo message (RFC 792, RFC 4443 §4).
const ECHO_ID_AT: usize = 4;

#[cfg(test)]
mod tests;
