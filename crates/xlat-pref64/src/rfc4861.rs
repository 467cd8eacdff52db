//! RFC 4861 Neighbor Discovery: Router Solicitation (§4.1), Router
//! Advertisement (§4.2) and the option TLVs (§4.6) that carry PREF64.
//!
//! Input is an ICMPv6 message: the bytes after the IPv6 header (and any
//! extension headers), which is what a raw ICMPv6 socket returns.
//!
//! Panic contract: [`RouterAdvert::new_checked`] validates the fixed header
//! and every option length; after it succeeds no accessor panics, and
//! [`NdOptions`] never panics even on an unchecked buffer.

use core::net::Ipv6Addr;

use xlat_core::checksum;

use crate::WireError;

/// ICMPv6 type of a Router Solicitation (RFC 4861 §4.1).
pub const ROUTER_SOLICIT: u8 = 133;
/// ICMPv6 type of a Router Advertisement (RFC 4861 §4.2).
pub const ROUTER_ADVERT: u8 = 134;
/// RFC 4861 §6.1.1/§6.1.2: ND messages are sent, and must arrive, with IP
/// hop limit 255.
pub const ND_HOP_LIMIT: u8 = 255;
/// Option lengths count units of 8 octets (RFC 4861 §4.6).
pub const OPTION_UNIT: usize = 8;
/// Length of the fixed part of an RA (RFC 4861 §4.2).
pub const RA_HEADER_LEN: usize = 16;
/// Length of an RS without options (RFC 4861 §4.1).
pub const RS_LEN: usize = 8;
/// IPv6 next-header value of ICMPv6 (RFC 8200), for the pseudo-header.
pub const IPPROTO_ICMPV6: u8 = 58;
/// All-nodes link-local multicast, where unsolicited RAs go.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// All-routers link-local multicast, where RSs go.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// Byte ranges of the RA and option headers.
mod field {
    use core::ops::Range;

    pub(crate) const TYPE: usize = 0;
    pub(crate) const CODE: usize = 1;
    pub(crate) const CHECKSUM: Range<usize> = 2..4;
    pub(crate) const CUR_HOP_LIMIT: usize = 4;
    pub(crate) const FLAGS: usize = 5;
    pub(crate) const ROUTER_LIFETIME: Range<usize> = 6..8;
    pub(crate) const REACHABLE_TIME: Range<usize> = 8..12;
    pub(crate) const RETRANS_TIMER: Range<usize> = 12..16;
    pub(crate) const RA_OPTIONS: usize = super::RA_HEADER_LEN;

    pub(crate) const OPT_TYPE: usize = 0;
    pub(crate) const OPT_LEN: usize = 1;
    /// Type and Length bytes.
    pub(crate) const OPT_HEADER_LEN: usize = 2;
}

/// ND option types this crate names (IANA "IPv6 Neighbor Discovery Option
/// Formats").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdOptionType {
    /// Source Link-Layer Address (RFC 4861 §4.6.1).
    SourceLinkLayerAddr,
    /// Prefix Information (RFC 4861 §4.6.2).
    PrefixInformation,
    /// MTU (RFC 4861 §4.6.4).
    Mtu,
    /// Route Information (RFC 4191).
    RouteInformation,
    /// Recursive DNS Server (RFC 8106).
    RecursiveDnsServer,
    /// PREF64 (RFC 8781).
    Pref64,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for NdOptionType {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::SourceLinkLayerAddr,
            3 => Self::PrefixInformation,
            5 => Self::Mtu,
            24 => Self::RouteInformation,
            25 => Self::RecursiveDnsServer,
            crate::rfc8781::OPTION_TYPE => Self::Pref64,
            other => Self::Unknown(other),
        }
    }
}

impl From<NdOptionType> for u8 {
    fn from(v: NdOptionType) -> Self {
        match v {
            NdOptionType::SourceLinkLayerAddr => 1,
            NdOptionType::PrefixInformation => 3,
            NdOptionType::Mtu => 5,
            NdOptionType::RouteInformation => 24,
            NdOptionType::RecursiveDnsServer => 25,
            NdOptionType::Pref64 => crate::rfc8781::OPTION_TYPE,
            NdOptionType::Unknown(other) => other,
        }
    }
}

/// One ND option: its type and its bytes, Type and Length included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdOption<'a> {
    /// Offset of the option in the ICMPv6 message.
    pub offset: usize,
    /// The option type.
    pub kind: NdOptionType,
    /// The whole option, Type and Length bytes included.
    pub bytes: &'a [u8],
}

/// Iterator over the options of an ND message (RFC 4861 §4.6).
///
/// Yields `Err` once and stops at the first malformed option (length zero
/// or running past the end); never panics.
#[derive(Debug, Clone)]
pub struct NdOptions<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> NdOptions<'a> {
    /// Iterates the options of `msg` starting at byte `start`.
    #[must_use]
    pub fn new(msg: &'a [u8], start: usize) -> Self {
        Self { msg, pos: start }
    }
}

impl<'a> Iterator for NdOptions<'a> {
    type Item = Result<NdOption<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.pos;
        let rest = self.msg.get(offset..).filter(|r| !r.is_empty())?;
        // Stop after this item whatever happens, unless it is well formed.
        self.pos = self.msg.len();
        let (Some(&kind), Some(&units)) = (rest.get(field::OPT_TYPE), rest.get(field::OPT_LEN)) else {
            return Some(Err(WireError::OptionOverrun { offset }));
        };
        if units == 0 {
            return Some(Err(WireError::ZeroLengthOption { offset }));
        }
        let len = usize::from(units) * OPTION_UNIT;
        let Some(bytes) = rest.get(..len) else {
            return Some(Err(WireError::OptionOverrun { offset }));
        };
        self.pos = offset + len;
        Some(Ok(NdOption { offset, kind: NdOptionType::from(kind), bytes }))
    }
}

/// A checked view of a Router Advertisement (RFC 4861 §4.2).
#[derive(Debug, Clone)]
pub struct RouterAdvert<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RouterAdvert<T> {
    /// RFC 4861 §6.1.2 checks that need only the ICMPv6 bytes: type 134,
    /// code 0, at least 16 bytes, every option with a non-zero length that
    /// fits. (The IP-level checks, hop limit 255 and a link-local source,
    /// are [`check_ip_fields`].) The checksum is left to the kernel, which
    /// verifies it for raw ICMPv6 sockets; see [`verify_checksum`].
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let msg = buffer.as_ref();
        if msg.len() < RA_HEADER_LEN {
            return Err(WireError::Truncated { len: msg.len(), required: RA_HEADER_LEN });
        }
        if msg[field::TYPE] != ROUTER_ADVERT {
            return Err(WireError::UnexpectedType(msg[field::TYPE]));
        }
        if msg[field::CODE] != 0 {
            return Err(WireError::BadCode(msg[field::CODE]));
        }
        for opt in NdOptions::new(msg, field::RA_OPTIONS) {
            opt?;
        }
        Ok(Self { buffer })
    }

    fn be16(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn be32(&self, r: core::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[r];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The checksum field.
    #[must_use]
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// Cur Hop Limit advertised for outgoing packets (0: unspecified).
    #[must_use]
    pub fn cur_hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::CUR_HOP_LIMIT]
    }

    /// The flags byte (M, O, and the RFC 5175 extensions).
    #[must_use]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// Router Lifetime in seconds (0: not a default router).
    #[must_use]
    pub fn router_lifetime(&self) -> u16 {
        self.be16(field::ROUTER_LIFETIME)
    }

    /// Reachable Time in milliseconds (0: unspecified).
    #[must_use]
    pub fn reachable_time(&self) -> u32 {
        self.be32(field::REACHABLE_TIME)
    }

    /// Retrans Timer in milliseconds (0: unspecified).
    #[must_use]
    pub fn retrans_timer(&self) -> u32 {
        self.be32(field::RETRANS_TIMER)
    }

    /// The options, already validated by [`Self::new_checked`].
    #[must_use]
    pub fn options(&self) -> NdOptions<'_> {
        NdOptions::new(self.buffer.as_ref(), field::RA_OPTIONS)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// The fixed fields of an RA as a value (RFC 4861 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RaRepr {
    /// Cur Hop Limit (0: unspecified).
    pub cur_hop_limit: u8,
    /// M, O and extension flags.
    pub flags: u8,
    /// Router Lifetime in seconds (0: not a default router).
    pub router_lifetime: u16,
    /// Reachable Time in milliseconds.
    pub reachable_time: u32,
    /// Retrans Timer in milliseconds.
    pub retrans_timer: u32,
}

impl RaRepr {
    /// Reads the fixed fields of a checked RA.
    #[must_use]
    pub fn parse<T: AsRef<[u8]>>(ra: &RouterAdvert<T>) -> Self {
        Self {
            cur_hop_limit: ra.cur_hop_limit(),
            flags: ra.flags(),
            router_lifetime: ra.router_lifetime(),
            reachable_time: ra.reachable_time(),
            retrans_timer: ra.retrans_timer(),
        }
    }

    /// The 16-byte fixed part, checksum zero (the kernel fills it on a raw
    /// ICMPv6 socket; otherwise use [`fill_checksum`]).
    #[must_use]
    pub fn to_bytes(&self) -> [u8; RA_HEADER_LEN] {
        let mut b = [0u8; RA_HEADER_LEN];
        b[field::TYPE] = ROUTER_ADVERT;
        b[field::CUR_HOP_LIMIT] = self.cur_hop_limit;
        b[field::FLAGS] = self.flags;
        b[field::ROUTER_LIFETIME].copy_from_slice(&self.router_lifetime.to_be_bytes());
        b[field::REACHABLE_TIME].copy_from_slice(&self.reachable_time.to_be_bytes());
        b[field::RETRANS_TIMER].copy_from_slice(&self.retrans_timer.to_be_bytes());
        b
    }
}

/// RFC 4861 §4.1: a Router Solicitation without options (no Source
/// Link-Layer Address; it is optional), checksum zero.
#[must_use]
pub fn build_rs() -> [u8; RS_LEN] {
    let mut b = [0u8; RS_LEN];
    b[field::TYPE] = ROUTER_SOLICIT;
    b
}

/// RFC 4861 §6.1.2 checks on the IP header of a received RA: the source is
/// link-local and, when the kernel reported it, the hop limit is 255.
pub fn check_ip_fields(src: Ipv6Addr, hop_limit: Option<u8>) -> Result<(), WireError> {
    if !src.is_unicast_link_local() {
        return Err(WireError::SourceNotLinkLocal);
    }
    match hop_limit {
        Some(h) if h != ND_HOP_LIMIT => Err(WireError::BadHopLimit(h)),
        _ => Ok(()),
    }
}

/// The ICMPv6 checksum of `msg` sent from `src` to `dst` (RFC 4443 §2.3),
/// computed as if the checksum field were zero.
#[must_use]
pub fn compute_checksum(msg: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> u16 {
    // A message longer than u32::MAX cannot exist; saturating keeps this total.
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    let mut acc = checksum::pseudo_v6(src, dst, len, IPPROTO_ICMPV6);
    acc = checksum::sum(acc, msg.get(..field::CHECKSUM.start).unwrap_or(msg));
    acc = checksum::sum(acc, msg.get(field::CHECKSUM.end..).unwrap_or(&[]));
    checksum::finish(acc)
}

/// Writes the ICMPv6 checksum into `msg` (a no-op if `msg` is shorter than
/// the checksum field).
pub fn fill_checksum(msg: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) {
    let sum = compute_checksum(msg, src, dst);
    if let Some(f) = msg.get_mut(field::CHECKSUM) {
        f.copy_from_slice(&sum.to_be_bytes());
    }
}

/// Whether the checksum in `msg` is right for `src` → `dst`.
#[must_use]
pub fn verify_checksum(msg: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> bool {
    match msg.get(field::CHECKSUM) {
        Some(f) => u16::from_be_bytes([f[0], f[1]]) == compute_checksum(msg, src, dst),
        None => false,
    }
}

/// Length of an option header (Type + Length), for option builders.
pub(crate) const OPT_HEADER_LEN: usize = field::OPT_HEADER_LEN;

#[cfg(test)]
mod tests {
    use super::*;

    /// An RA laid out like radvd's default one: hop limit 64, router
    /// lifetime 1800 s, an MTU option (1500) and a Source Link-Layer
    /// Address option; checksum zero.
    const RADVD_RA: [u8; 32] = [
        0x86, 0x00, 0x00, 0x00, 0x40, 0x00, 0x07, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0xdc, //
        0x01, 0x01, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02,
    ];

    #[test]
    fn rfc4861_4_2_fixed_fields() {
        let ra = RouterAdvert::new_checked(&RADVD_RA[..]).unwrap();
        assert_eq!(ra.cur_hop_limit(), 64);
        assert_eq!(ra.router_lifetime(), 1800);
        assert_eq!(ra.reachable_time(), 0);
        let kinds: Vec<_> = ra.options().map(|o| o.unwrap().kind).collect();
        assert_eq!(kinds, [NdOptionType::Mtu, NdOptionType::SourceLinkLayerAddr]);
        let repr = RaRepr::parse(&ra);
        assert_eq!(repr.to_bytes()[..], RADVD_RA[..RA_HEADER_LEN]);
    }

    #[test]
    fn rfc4861_6_1_2_zero_length_option_invalidates_packet() {
        let mut ra = RADVD_RA;
        ra[RA_HEADER_LEN + 1] = 0;
        assert_eq!(
            RouterAdvert::new_checked(&ra[..]).unwrap_err(),
            WireError::ZeroLengthOption { offset: RA_HEADER_LEN }
        );
    }

    #[test]
    fn rfc4861_6_1_2_option_overrun_rejected() {
        let mut ra = RADVD_RA;
        ra[RA_HEADER_LEN + 1] = 3;
        assert!(matches!(RouterAdvert::new_checked(&ra[..]), Err(WireError::OptionOverrun { .. })));
        // A lone trailing byte cannot hold an option header.
        let mut short = RADVD_RA.to_vec();
        short.push(1);
        assert!(matches!(RouterAdvert::new_checked(&short[..]), Err(WireError::OptionOverrun { .. })));
    }

    #[test]
    fn rfc4861_6_1_2_code_type_length() {
        let mut ra = RADVD_RA;
        ra[1] = 1;
        assert_eq!(RouterAdvert::new_checked(&ra[..]).unwrap_err(), WireError::BadCode(1));
        assert_eq!(
            RouterAdvert::new_checked(&build_rs()[..]).unwrap_err(),
            WireError::Truncated { len: RS_LEN, required: RA_HEADER_LEN }
        );
        let mut ns = RADVD_RA;
        ns[0] = 135;
        assert_eq!(RouterAdvert::new_checked(&ns[..]).unwrap_err(), WireError::UnexpectedType(135));
    }

    #[test]
    fn rfc4861_6_1_2_ip_fields() {
        let ll: Ipv6Addr = "fe80::1".parse().unwrap();
        assert_eq!(check_ip_fields(ll, Some(255)), Ok(()));
        assert_eq!(check_ip_fields(ll, None), Ok(()));
        assert_eq!(check_ip_fields(ll, Some(254)), Err(WireError::BadHopLimit(254)));
        assert_eq!(check_ip_fields("2001:db8::1".parse().unwrap(), Some(255)), Err(WireError::SourceNotLinkLocal));
    }

    #[test]
    fn rfc4443_2_3_checksum_roundtrip() {
        let src: Ipv6Addr = "fe80::42:acff:fe11:2".parse().unwrap();
        let mut ra = RADVD_RA;
        fill_checksum(&mut ra, src, ALL_NODES);
        assert_ne!(ra[2..4], [0, 0]);
        assert!(verify_checksum(&ra, src, ALL_NODES));
        ra[5] ^= 0x80;
        assert!(!verify_checksum(&ra, src, ALL_NODES));
        assert!(!verify_checksum(&[0x86], src, ALL_NODES));
    }

    #[test]
    fn rfc4861_4_1_router_solicitation() {
        assert_eq!(build_rs(), [133, 0, 0, 0, 0, 0, 0, 0]);
    }
}
