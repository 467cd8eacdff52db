//! RFC 6146 §3.4 "Determining the Incoming Tuple": the values the state
//! works on. The caller parses the packet (with `xlat-core` or its own
//! views) and hands over the tuple; the state never sees bytes.
//!
//! For ICMP queries (§3.4: "the 3-tuple") the identifier stands in for both
//! ports: on input the state reads `src_port` of an IPv6 tuple and
//! `dst_port` of an IPv4 tuple, and on output it sets both ports to the
//! translated identifier.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

/// A point in time in milliseconds since an arbitrary epoch chosen by the
/// caller (e.g. the daemon's start). The state never reads a clock: every
/// call that depends on time takes one of these.
///
/// Time is expected to be monotonic; a value older than one already seen is
/// treated as the newest one seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The epoch.
    pub const ZERO: Timestamp = Timestamp(0);

    /// A timestamp `ms` milliseconds after the epoch.
    #[must_use]
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// A timestamp `s` seconds after the epoch.
    #[must_use]
    pub const fn from_secs(s: u64) -> Self {
        Self(s.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time elapsed since the epoch.
    #[must_use]
    pub const fn since_epoch(self) -> Duration {
        Duration::from_millis(self.0)
    }
}

impl core::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// `self + d`, saturating.
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
    }
}

impl From<Duration> for Timestamp {
    fn from(d: Duration) -> Self {
        Timestamp::ZERO + d
    }
}

/// The transport protocols RFC 6146 translates (§1: "unicast UDP, TCP, or
/// ICMP"). Each has its own BIB and session namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// TCP: ports, §3.5.2 state machine.
    Tcp,
    /// UDP: ports, §3.5.1.
    Udp,
    /// ICMP / ICMPv6 queries: identifiers, §3.5.3.
    Icmp,
}

impl Proto {
    /// Every protocol, in counter order.
    pub const ALL: [Proto; 3] = [Proto::Tcp, Proto::Udp, Proto::Icmp];

    /// Index in per-protocol arrays (`ALL` order).
    #[must_use]
    pub const fn index(self) -> usize {
        match self {
            Proto::Tcp => 0,
            Proto::Udp => 1,
            Proto::Icmp => 2,
        }
    }

    /// Stable lowercase label (metrics, logs).
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
        }
    }

    pub(crate) const fn from_index(i: u8) -> Proto {
        match i {
            0 => Proto::Tcp,
            1 => Proto::Udp,
            _ => Proto::Icmp,
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The TCP flags the §3.5.2 state machine looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u8);

impl TcpFlags {
    /// FIN (bit 0 of the flags byte).
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// SYN.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// RST.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// ACK.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// No flag set.
    pub const NONE: TcpFlags = TcpFlags(0);

    /// From the 13th byte of a TCP header (the low 8 flag bits).
    #[must_use]
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits)
    }

    /// The flags byte.
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    #[must_use]
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// SYN set.
    #[must_use]
    pub const fn syn(self) -> bool {
        self.contains(Self::SYN)
    }

    /// FIN set.
    #[must_use]
    pub const fn fin(self) -> bool {
        self.contains(Self::FIN)
    }

    /// RST set.
    #[must_use]
    pub const fn rst(self) -> bool {
        self.contains(Self::RST)
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

/// An IPv6 5-tuple (3-tuple for ICMP: see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuple6 {
    /// Source address.
    pub src: Ipv6Addr,
    /// Source port, or ICMP identifier.
    pub src_port: u16,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Destination port, or ICMP identifier.
    pub dst_port: u16,
    /// Transport protocol.
    pub proto: Proto,
}

impl Tuple6 {
    /// The same flow seen in the other direction.
    #[must_use]
    pub fn reversed(self) -> Self {
        Self { src: self.dst, src_port: self.dst_port, dst: self.src, dst_port: self.src_port, proto: self.proto }
    }
}

impl fmt::Display for Tuple6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]:{} -> [{}]:{}", self.proto, self.src, self.src_port, self.dst, self.dst_port)
    }
}

/// An IPv4 5-tuple (3-tuple for ICMP: see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuple4 {
    /// Source address.
    pub src: Ipv4Addr,
    /// Source port, or ICMP identifier.
    pub src_port: u16,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Destination port, or ICMP identifier.
    pub dst_port: u16,
    /// Transport protocol.
    pub proto: Proto,
}

impl Tuple4 {
    /// The same flow seen in the other direction.
    #[must_use]
    pub fn reversed(self) -> Self {
        Self { src: self.dst, src_port: self.dst_port, dst: self.src, dst_port: self.src_port, proto: self.proto }
    }
}

impl fmt::Display for Tuple4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}:{} -> {}:{}", self.proto, self.src, self.src_port, self.dst, self.dst_port)
    }
}

/// An IPv6 address packed into four words (4-byte aligned, 16 bytes), the
/// form the tables store.
pub(crate) type Packed6 = [u32; 4];

pub(crate) fn pack6(a: Ipv6Addr) -> Packed6 {
    let o = a.octets();
    let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
    [w(0), w(4), w(8), w(12)]
}

pub(crate) fn unpack6(p: Packed6) -> Ipv6Addr {
    let mut o = [0u8; 16];
    for (i, w) in p.iter().enumerate() {
        o[i * 4..i * 4 + 4].copy_from_slice(&w.to_be_bytes());
    }
    Ipv6Addr::from(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_roundtrip() {
        let a: Ipv6Addr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        assert_eq!(unpack6(pack6(a)), a);
        assert_eq!(pack6(a)[0], 0x2001_0db8);
    }

    #[test]
    fn flags() {
        let f = TcpFlags::SYN | TcpFlags::ACK;
        assert!(f.syn() && !f.fin() && !f.rst());
        assert_eq!(TcpFlags::from_bits(0x12), f);
    }

    #[test]
    fn timestamp_math() {
        let t = Timestamp::from_secs(2) + Duration::from_millis(5);
        assert_eq!(t.as_millis(), 2005);
        assert_eq!(Timestamp::from(Duration::from_secs(1)), Timestamp::from_millis(1000));
    }
}
