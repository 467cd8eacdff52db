//! Byte layouts the translator touches directly, as named constants (no
//! magic numbers), and bounds-checked readers that never panic.
//!
//! IP headers are parsed with `etherparse`'s checked slices and emitted from
//! its owned header types; the transport and ICMP fields below are the few
//! the translator rewrites in place.

/// IPv4 header without options (RFC 791).
pub(crate) const IPV4_HDR: usize = 20;
/// IPv6 fixed header (RFC 8200 §3).
pub(crate) const IPV6_HDR: usize = 40;
/// IPv6 Fragment header (RFC 8200 §4.5).
pub(crate) const FRAG_HDR: usize = 8;
/// ICMP/ICMPv6 header: type, code, checksum, 4 bytes of rest-of-header.
pub(crate) const ICMP_HDR: usize = 8;
/// UDP header.
pub(crate) const UDP_HDR: usize = 8;
/// Minimum TCP header.
pub(crate) const TCP_HDR: usize = 20;

/// IP protocol numbers (IANA).
pub(crate) mod proto {
    pub(crate) const HOP_BY_HOP: u8 = 0;
    pub(crate) const ICMP: u8 = 1;
    pub(crate) const TCP: u8 = 6;
    pub(crate) const UDP: u8 = 17;
    pub(crate) const ROUTING: u8 = 43;
    pub(crate) const FRAGMENT: u8 = 44;
    pub(crate) const ICMPV6: u8 = 58;
    pub(crate) const DEST_OPTS: u8 = 60;
}

/// Offsets of checksum fields inside the transport header.
pub(crate) mod csum_at {
    pub(crate) const TCP: usize = 16;
    pub(crate) const UDP: usize = 6;
    pub(crate) const ICMP: usize = 2;
}

/// ICMPv4 types and codes (RFC 792, RFC 1191, RFC 1812).
pub(crate) mod icmp4 {
    pub(crate) const ECHO_REPLY: u8 = 0;
    pub(crate) const DEST_UNREACH: u8 = 3;
    pub(crate) const SOURCE_QUENCH: u8 = 4;
    pub(crate) const REDIRECT: u8 = 5;
    pub(crate) const ECHO_REQUEST: u8 = 8;
    pub(crate) const TIME_EXCEEDED: u8 = 11;
    pub(crate) const PARAM_PROBLEM: u8 = 12;
    /// Destination Unreachable codes.
    pub(crate) mod unreach {
        pub(crate) const HOST: u8 = 1;
        pub(crate) const PROTOCOL: u8 = 2;
        pub(crate) const PORT: u8 = 3;
        pub(crate) const FRAG_NEEDED: u8 = 4;
        pub(crate) const SOURCE_ROUTE_FAILED: u8 = 5;
        pub(crate) const HOST_ADMIN_PROHIBITED: u8 = 10;
        pub(crate) const ADMIN_PROHIBITED: u8 = 13;
    }
    /// Parameter Problem codes.
    pub(crate) mod param {
        pub(crate) const POINTER: u8 = 0;
        pub(crate) const BAD_LENGTH: u8 = 2;
    }
}

/// ICMPv6 types and codes (RFC 4443).
pub(crate) mod icmp6 {
    pub(crate) const DEST_UNREACH: u8 = 1;
    pub(crate) const PACKET_TOO_BIG: u8 = 2;
    pub(crate) const TIME_EXCEEDED: u8 = 3;
    pub(crate) const PARAM_PROBLEM: u8 = 4;
    pub(crate) const ECHO_REQUEST: u8 = 128;
    pub(crate) const ECHO_REPLY: u8 = 129;
    /// Destination Unreachable codes.
    pub(crate) mod unreach {
        pub(crate) const NO_ROUTE: u8 = 0;
        pub(crate) const ADMIN_PROHIBITED: u8 = 1;
        pub(crate) const BEYOND_SCOPE: u8 = 2;
        pub(crate) const ADDRESS: u8 = 3;
        pub(crate) const PORT: u8 = 4;
    }
    /// Parameter Problem codes.
    pub(crate) mod param {
        pub(crate) const HEADER_FIELD: u8 = 0;
        pub(crate) const NEXT_HEADER: u8 = 1;
    }
    /// Offset of the Next Header field in the IPv6 header (pointer target).
    pub(crate) const PTR_NEXT_HEADER: u32 = 6;
}

/// IPv4 option types that carry a source route (RFC 791 §3.1).
pub(crate) mod ipv4_opt {
    pub(crate) const END: u8 = 0;
    pub(crate) const NOP: u8 = 1;
    pub(crate) const LSRR: u8 = 131;
    pub(crate) const SSRR: u8 = 137;
}

/// Reads a big-endian u16 at `at`, or `None` past the end.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Reads a big-endian u32 at `at`, or `None` past the end.
#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Writes a big-endian u16 at `at` if it fits.
#[inline]
pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    if let Some(s) = b.get_mut(at..at + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}
