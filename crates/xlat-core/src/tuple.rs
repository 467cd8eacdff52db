//! RFC 6146 §3.4 "Determining the Incoming Tuple": what a stateful NAT64
//! needs to know about a packet before it may translate it — family,
//! protocol, addresses, ports or ICMP identifier, TCP flags, fragment
//! position and, for an ICMP error, the same about the packet it quotes.
//!
//! [`extract`] reads the headers only (IPv6 extension chain included); it
//! never panics, allocates nothing and checks no checksum (translation
//! does). A packet it refuses gets the [`DropReason`] translation would
//! give it.

use core::net::IpAddr;

use crate::rfc7915::icmp::{echo_4to6, echo_6to4, is_v4_error, is_v6_error};
use crate::rfc7915::v4_to_v6::V4;
use crate::rfc7915::v6_to_v4::V6;
use crate::verdict::{DropReason, Family};
use crate::wire::{self, proto, ICMP_HDR, IPV6_HDR};

/// Offset of the TCP flags byte.
const TCP_FLAGS_AT: usize = 13;
/// Offset of the identifier of an Echo message.
const ECHO_ID_AT: usize = 4;

/// What a packet is, for a stateful NAT64 (RFC 6146 §1: TCP, UDP, ICMP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TupleKind {
    /// TCP: ports and flags.
    Tcp,
    /// UDP: ports.
    Udp,
    /// ICMP / ICMPv6 Echo Request or Reply: the identifier stands for both
    /// ports (RFC 6146 §3.4 "3-tuple").
    IcmpQuery,
    /// ICMP / ICMPv6 error: the tuple that matters is the quoted packet's
    /// ([`PacketTuple::quoted`]).
    IcmpError,
    /// Another ICMP message (Neighbor Discovery, MLD, Timestamp, ...):
    /// RFC 7915 drops it.
    IcmpOther,
    /// Any other protocol (RFC 6146 §5: not translated).
    Other,
}

/// The tuple of the packet quoted in an ICMP error (its header may be
/// truncated: ports and identifiers are 0 when not quoted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuotedTuple {
    /// TCP, UDP, ICMP query, ... (an error quoting an error is refused).
    pub kind: TupleKind,
    /// IP protocol number (ICMP 1 / ICMPv6 58 as written in the quote).
    pub proto: u8,
    /// Source address of the quoted packet.
    pub src: IpAddr,
    /// Destination address of the quoted packet.
    pub dst: IpAddr,
    /// Source port, or the Echo identifier.
    pub src_port: u16,
    /// Destination port, or the Echo identifier.
    pub dst_port: u16,
}

/// Fragment fields (IPv4 header or IPv6 Fragment header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentInfo {
    /// Identification (16 bits in IPv4, 32 in IPv6).
    pub id: u32,
    /// Offset in bytes (a multiple of 8).
    pub offset: u32,
    /// More Fragments.
    pub more: bool,
}

/// The incoming tuple of a packet (RFC 6146 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketTuple {
    /// IP version.
    pub family: Family,
    /// What the packet is.
    pub kind: TupleKind,
    /// IP protocol number after the IPv6 extension headers.
    pub proto: u8,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port; for an ICMP query, the identifier; 0 when the packet
    /// carries no transport header (non-first fragment, other protocol).
    pub src_port: u16,
    /// Destination port; for an ICMP query, the identifier again.
    pub dst_port: u16,
    /// TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, ... ), 0 otherwise.
    pub tcp_flags: u8,
    /// ICMP type and code (0 for other protocols).
    pub icmp: (u8, u8),
    /// The fragment fields when the packet is a fragment.
    pub fragment: Option<FragmentInfo>,
    /// Payload bytes after the IP header (and extension headers).
    pub payload_len: u32,
    /// For an ICMP error: the tuple of the quoted packet.
    pub quoted: Option<QuotedTuple>,
}

impl PacketTuple {
    /// Whether the packet is a fragment (first or not).
    #[must_use]
    pub fn is_fragment(&self) -> bool {
        self.fragment.is_some()
    }

    /// Whether the transport header is in this packet (not a fragment, or
    /// the first fragment).
    #[must_use]
    pub fn is_first(&self) -> bool {
        self.fragment.is_none_or(|f| f.offset == 0)
    }
}

/// RFC 6146 §3.4: the incoming tuple of `packet` (IPv4 or IPv6). Errors
/// are the reasons RFC 7915 translation would drop it for:
/// [`DropReason::UnknownVersion`], truncated or inconsistent headers,
/// [`DropReason::TransportTruncated`] for a first fragment too short for
/// its ports, [`DropReason::IcmpInnerMalformed`] /
/// [`DropReason::IcmpErrorInError`] for a bad quote.
pub fn extract(packet: &[u8]) -> Result<PacketTuple, DropReason> {
    match packet.first().map(|b| b >> 4) {
        Some(4) => extract_v4(packet),
        Some(6) => extract_v6(packet),
        _ => Err(DropReason::UnknownVersion),
    }
}

fn extract_v4(packet: &[u8]) -> Result<PacketTuple, DropReason> {
    let (ip, _) = V4::parse(packet).map_err(|()| DropReason::Ipv4HeaderTruncated)?;
    let total = usize::from(ip.total_len);
    if total < ip.header_len || total > packet.len() {
        return Err(DropReason::Ipv4BadTotalLength);
    }
    let payload = &packet[ip.header_len..total];
    let fragment = ip.is_fragment().then_some(FragmentInfo {
        id: u32::from(ip.id),
        offset: u32::from(ip.frag_off) * 8,
        more: ip.mf,
    });
    let mut t = PacketTuple {
        family: Family::V4,
        kind: TupleKind::Other,
        proto: ip.proto,
        src: IpAddr::V4(ip.src),
        dst: IpAddr::V4(ip.dst),
        src_port: 0,
        dst_port: 0,
        tcp_flags: 0,
        icmp: (0, 0),
        fragment,
        payload_len: payload.len() as u32,
        quoted: None,
    };
    transport(&mut t, payload, false)?;
    Ok(t)
}

fn extract_v6(packet: &[u8]) -> Result<PacketTuple, DropReason> {
    if packet.len() < IPV6_HDR {
        return Err(DropReason::Ipv6HeaderTruncated);
    }
    let plen = usize::from(wire::be16(packet, 4).unwrap_or(0));
    if IPV6_HDR + plen > packet.len() || (plen == 0 && packet[6] == proto::HOP_BY_HOP) {
        return Err(DropReason::Ipv6BadPayloadLength);
    }
    let packet = &packet[..IPV6_HDR + plen];
    let ip = V6::parse(packet, false)?;
    let payload = &packet[ip.l4_at..];
    let fragment = ip.frag.map(|f| FragmentInfo { id: f.id, offset: u32::from(f.offset) * 8, more: f.more });
    let mut t = PacketTuple {
        family: Family::V6,
        kind: TupleKind::Other,
        proto: ip.proto,
        src: IpAddr::V6(ip.src),
        dst: IpAddr::V6(ip.dst),
        src_port: 0,
        dst_port: 0,
        tcp_flags: 0,
        icmp: (0, 0),
        fragment,
        payload_len: payload.len() as u32,
        quoted: None,
    };
    transport(&mut t, payload, true)?;
    Ok(t)
}

/// Fills kind, ports, flags and the quoted tuple from the transport header.
fn transport(t: &mut PacketTuple, l4: &[u8], v6: bool) -> Result<(), DropReason> {
    let icmp = if v6 { proto::ICMPV6 } else { proto::ICMP };
    t.kind = match t.proto {
        proto::TCP => TupleKind::Tcp,
        proto::UDP => TupleKind::Udp,
        p if p == icmp => TupleKind::IcmpOther,
        _ => TupleKind::Other,
    };
    if !t.is_first() {
        return Ok(());
    }
    match t.kind {
        TupleKind::Tcp | TupleKind::Udp => {
            let need = if t.kind == TupleKind::Tcp { wire::TCP_HDR } else { wire::UDP_HDR };
            if l4.len() < need {
                return Err(DropReason::TransportTruncated);
            }
            t.src_port = wire::be16(l4, 0).unwrap_or(0);
            t.dst_port = wire::be16(l4, 2).unwrap_or(0);
            if t.kind == TupleKind::Tcp {
                t.tcp_flags = l4[TCP_FLAGS_AT];
            }
        }
        TupleKind::IcmpOther => {
            if l4.len() < ICMP_HDR {
                return Err(DropReason::TransportTruncated);
            }
            let (ty, code) = (l4[0], l4[1]);
            t.icmp = (ty, code);
            let echo = if v6 { echo_6to4(ty).is_some() } else { echo_4to6(ty).is_some() };
            let error = if v6 { is_v6_error(ty) } else { is_v4_error(ty) };
            if echo {
                t.kind = TupleKind::IcmpQuery;
                let id = wire::be16(l4, ECHO_ID_AT).unwrap_or(0);
                (t.src_port, t.dst_port) = (id, id);
            } else if error {
                t.kind = TupleKind::IcmpError;
                t.quoted = Some(quoted(&l4[ICMP_HDR..], v6)?);
            }
        }
        _ => {}
    }
    Ok(())
}

/// The tuple of the (possibly truncated) packet quoted in an ICMP error.
fn quoted(inner: &[u8], v6: bool) -> Result<QuotedTuple, DropReason> {
    let (proto_, src, dst, l4, first) = if v6 {
        let ip = V6::parse(inner, true).map_err(|_| DropReason::IcmpInnerMalformed)?;
        let l4 = inner.get(ip.l4_at..).unwrap_or(&[]);
        (ip.proto, IpAddr::V6(ip.src), IpAddr::V6(ip.dst), l4, ip.frag.is_none_or(|f| f.offset == 0))
    } else {
        let (ip, _) = V4::parse(inner).map_err(|()| DropReason::IcmpInnerMalformed)?;
        let l4 = inner.get(ip.header_len..).unwrap_or(&[]);
        (ip.proto, IpAddr::V4(ip.src), IpAddr::V4(ip.dst), l4, ip.frag_off == 0)
    };
    let icmp = if v6 { proto::ICMPV6 } else { proto::ICMP };
    let mut q = QuotedTuple { kind: TupleKind::Other, proto: proto_, src, dst, src_port: 0, dst_port: 0 };
    match proto_ {
        proto::TCP | proto::UDP => {
            q.kind = if proto_ == proto::TCP { TupleKind::Tcp } else { TupleKind::Udp };
            if first {
                q.src_port = wire::be16(l4, 0).unwrap_or(0);
                q.dst_port = wire::be16(l4, 2).unwrap_or(0);
            }
        }
        p if p == icmp => {
            let ty = l4.first().copied();
            let (echo, error) = match ty {
                Some(ty) if v6 => (echo_6to4(ty).is_some(), is_v6_error(ty)),
                Some(ty) => (echo_4to6(ty).is_some(), is_v4_error(ty)),
                None => (false, false),
            };
            if first && error {
                return Err(DropReason::IcmpErrorInError);
            }
            q.kind = if echo { TupleKind::IcmpQuery } else { TupleKind::IcmpOther };
            if echo {
                let id = wire::be16(l4, ECHO_ID_AT).unwrap_or(0);
                (q.src_port, q.dst_port) = (id, id);
            }
        }
        _ => {}
    }
    Ok(q)
}

#[cfg(test)]
mod tests;
