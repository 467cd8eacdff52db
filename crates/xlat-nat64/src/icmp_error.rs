//! ICMP errors through the state: RFC 6146 §3.4 (an ICMP error's tuple is
//! that of the packet it quotes, reversed), §3.5 (errors neither create
//! state nor refresh lifetimes) and §3.6 (the quoted packet is translated
//! with the session's tuple).
//!
//! An error is only let through when the session it refers to exists, so
//! that a third party cannot inject errors into a client's flows through
//! a known mapping.

use core::net::Ipv4Addr;

use crate::nat64::Nat64;
use crate::tuple::{pack6, unpack6, Proto, Tuple4, Tuple6};
use crate::verdict::Nat64Drop;

impl Nat64 {
    /// An ICMPv6 error quoting `quoted` ((Y',y) -> (X',x), a packet the
    /// NAT64 delivered). Returns the quoted packet translated ((Z,z) ->
    /// (T,t)) and whether Z is a pool4 address (hairpinned packet).
    pub(crate) fn lookup_error_v6(&mut self, quoted: &Tuple6) -> Result<(Tuple4, bool), Nat64Drop> {
        let z = self.pool6.extract(&quoted.src).ok_or(Nat64Drop::IcmpErrorNoSession)?;
        let proto = quoted.proto;
        let b = self.bib.find6(proto, &pack6(quoted.dst), quoted.dst_port).ok_or(Nat64Drop::IcmpErrorNoSession)?;
        let zport = if proto == Proto::Icmp { 0 } else { quoted.src_port };
        self.sessions.find(b, u32::from(z), zport).ok_or(Nat64Drop::IcmpErrorNoSession)?;
        let e = self.bib.get(b);
        let src_port = if proto == Proto::Icmp { e.port4 } else { quoted.src_port };
        let inner = Tuple4 { src: z, src_port, dst: Ipv4Addr::from(e.addr4), dst_port: e.port4, proto };
        Ok((inner, self.pool4.index_of(z).is_some()))
    }

    /// An ICMPv4 error quoting `quoted` ((T,t) -> (Z,z), a packet the NAT64
    /// sent). Returns the quoted packet as the client sent it ((X',x) ->
    /// (Y',y)).
    pub(crate) fn lookup_error_v4(&mut self, quoted: &Tuple4) -> Result<Tuple6, Nat64Drop> {
        let proto = quoted.proto;
        let b = self.bib.find4(proto, u32::from(quoted.src), quoted.src_port).ok_or(Nat64Drop::IcmpErrorNoSession)?;
        let zport = if proto == Proto::Icmp { 0 } else { quoted.dst_port };
        self.sessions.find(b, u32::from(quoted.dst), zport).ok_or(Nat64Drop::IcmpErrorNoSession)?;
        let e = self.bib.get(b);
        let dst_port = if proto == Proto::Icmp { e.port6 } else { quoted.dst_port };
        Ok(Tuple6 { src: unpack6(e.addr6), src_port: e.port6, dst: self.pool6.embed(quoted.dst), dst_port, proto })
    }
}
