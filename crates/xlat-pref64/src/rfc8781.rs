//! RFC 8781: the PREF64 Router Advertisement option.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |     Scaled Lifetime     | PLC |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |              Highest 96 bits of the Prefix (12 octets)        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`parse_ra`] never panics: options the RFC says to ignore are listed in
//! [`RaInfo::ignored`], and only a malformed RA as a whole is an error.

use core::net::Ipv6Addr;
use core::time::Duration;

use xlat_core::rfc6052::Prefix;

use crate::rfc4861::{NdOptionType, RaRepr, RouterAdvert, OPTION_UNIT, OPT_HEADER_LEN};
use crate::WireError;

/// IANA ND option type of PREF64 (RFC 8781 §7).
pub const OPTION_TYPE: u8 = 38;
/// RFC 8781 §4: the Length field, in units of 8 octets, is always 2.
pub const OPTION_UNITS: u8 = 2;
/// Length of the option in bytes.
pub const OPTION_LEN: usize = OPTION_UNITS as usize * OPTION_UNIT;
/// RFC 8781 §4: the Scaled Lifetime counts units of 8 seconds.
pub const LIFETIME_UNIT_SECS: u32 = 8;
/// RFC 8781 §4: prefix length for each Prefix Length Code, indexed by PLC.
pub const PLC_PREFIX_LENS: [u8; 6] = [96, 64, 56, 48, 40, 32];

/// Width of the PLC field, the low bits of the lifetime/PLC word.
const PLC_BITS: u32 = 3;
const PLC_MASK: u16 = (1 << PLC_BITS) - 1;
/// The option carries bits 0..=95 of the prefix.
const PREFIX_BYTES: usize = 12;

/// Byte ranges of the option.
mod field {
    use core::ops::Range;

    pub(crate) const TYPE: usize = 0;
    pub(crate) const LEN: usize = 1;
    pub(crate) const LIFETIME_PLC: Range<usize> = 2..4;
    pub(crate) const PREFIX: Range<usize> = 4..16;
}

/// RFC 8781 §4: the 13-bit Scaled Lifetime, in units of 8 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ScaledLifetime(u16);

impl ScaledLifetime {
    /// Largest value of the 13-bit field: 8191 units, 65528 seconds.
    pub const MAX: Self = Self((1 << (u16::BITS - PLC_BITS)) - 1);
    /// Lifetime 0: the prefix must no longer be used (RFC 8781 §4).
    pub const ZERO: Self = Self(0);

    /// A lifetime of `units` × 8 s, if `units` fits in 13 bits.
    #[must_use]
    pub fn new(units: u16) -> Option<Self> {
        (units <= Self::MAX.0).then_some(Self(units))
    }

    /// RFC 8781 §4.1: the value to advertise for a wanted lifetime, rounded
    /// up to a multiple of 8 s (never shorter than asked) and saturated at
    /// [`Self::MAX`].
    #[must_use]
    pub fn from_duration(d: Duration) -> Self {
        let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
        let units = secs.div_ceil(u64::from(LIFETIME_UNIT_SECS));
        Self(u16::try_from(units).map_or(Self::MAX.0, |u| u.min(Self::MAX.0)))
    }

    /// The raw field value.
    #[must_use]
    pub fn units(self) -> u16 {
        self.0
    }

    /// RFC 8781 §4: the lifetime in seconds, the field times 8.
    #[must_use]
    pub fn as_secs(self) -> u32 {
        u32::from(self.0) * LIFETIME_UNIT_SECS
    }

    /// The lifetime as a duration.
    #[must_use]
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.as_secs()))
    }
}

/// RFC 8781 §4: PLC → prefix length; `None` for the codes 6 and 7.
#[must_use]
pub fn plc_to_prefix_len(plc: u8) -> Option<u8> {
    PLC_PREFIX_LENS.get(usize::from(plc)).copied()
}

/// RFC 8781 §4: prefix length → PLC; `None` for lengths RFC 6052 forbids.
#[must_use]
pub fn prefix_len_to_plc(len: u8) -> Option<u8> {
    PLC_PREFIX_LENS.iter().position(|l| *l == len).and_then(|p| u8::try_from(p).ok())
}

/// A PREF64 option as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pref64Repr {
    /// The NAT64 prefix.
    pub prefix: Prefix,
    /// How long the prefix may be used.
    pub lifetime: ScaledLifetime,
}

impl Pref64Repr {
    /// Parses one option, Type and Length bytes included.
    ///
    /// RFC 8781 §4: an option whose Length is not 2 or whose PLC is not
    /// 0..=5 is to be ignored; that is the error here. Prefix bits past the
    /// prefix length are ignored (cleared).
    pub fn parse(opt: &[u8]) -> Result<Self, WireError> {
        let (Some(&kind), Some(&units)) = (opt.get(field::TYPE), opt.get(field::LEN)) else {
            return Err(WireError::Truncated { len: opt.len(), required: OPT_HEADER_LEN });
        };
        if kind != OPTION_TYPE {
            return Err(WireError::UnexpectedType(kind));
        }
        if units != OPTION_UNITS {
            return Err(WireError::Pref64BadLength(units));
        }
        let (Some(word), Some(high)) = (opt.get(field::LIFETIME_PLC), opt.get(field::PREFIX)) else {
            return Err(WireError::Truncated { len: opt.len(), required: OPTION_LEN });
        };
        let word = u16::from_be_bytes([word[0], word[1]]);
        // PLC_MASK keeps 3 bits, so the cast cannot truncate.
        let plc = (word & PLC_MASK) as u8;
        let len = plc_to_prefix_len(plc).ok_or(WireError::Pref64BadPlc(plc))?;
        let mut bytes = [0u8; 16];
        let keep = usize::from(len / 8);
        bytes[..keep].copy_from_slice(&high[..keep]);
        // Masked to `len` bits and `len` is an RFC 6052 length: cannot fail.
        let prefix = Prefix::new(Ipv6Addr::from(bytes), len).map_err(|_| WireError::Pref64BadPlc(plc))?;
        Ok(Self { prefix, lifetime: ScaledLifetime(word >> PLC_BITS) })
    }

    /// The 16 option bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; OPTION_LEN] {
        let mut b = [0u8; OPTION_LEN];
        b[field::TYPE] = OPTION_TYPE;
        b[field::LEN] = OPTION_UNITS;
        // Every `Prefix` has an RFC 6052 length, and each has a PLC.
        let plc = prefix_len_to_plc(self.prefix.prefix_len()).unwrap_or_default();
        let word = (self.lifetime.0 << PLC_BITS) | u16::from(plc);
        b[field::LIFETIME_PLC].copy_from_slice(&word.to_be_bytes());
        b[field::PREFIX].copy_from_slice(&self.prefix.addr().octets()[..PREFIX_BYTES]);
        b
    }

    /// The lifetime as a duration.
    #[must_use]
    pub fn lifetime(&self) -> Duration {
        self.lifetime.as_duration()
    }
}

/// What an RA says about PREF64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaInfo {
    /// RFC 4861 §4.2 Router Lifetime (zero: not a default router).
    pub router_lifetime: Duration,
    /// The valid PREF64 options, in the order they appear (RFC 8781 §5.1:
    /// an RA may carry several, e.g. while renumbering).
    pub pref64: Vec<Pref64Repr>,
    /// PREF64 options RFC 8781 §4 says to ignore, with the reason.
    pub ignored: Vec<WireError>,
}

/// Parses an ICMPv6 Router Advertisement and collects its PREF64 options.
///
/// Errors only when the RA itself is invalid (RFC 4861 §6.1.2); invalid
/// PREF64 options are skipped and listed in [`RaInfo::ignored`].
pub fn parse_ra(msg: &[u8]) -> Result<RaInfo, WireError> {
    let ra = RouterAdvert::new_checked(msg)?;
    let mut info = RaInfo {
        router_lifetime: Duration::from_secs(u64::from(ra.router_lifetime())),
        pref64: Vec::new(),
        ignored: Vec::new(),
    };
    for opt in ra.options() {
        let opt = opt?;
        if opt.kind != NdOptionType::Pref64 {
            continue;
        }
        match Pref64Repr::parse(opt.bytes) {
            Ok(p) => info.pref64.push(p),
            Err(e) => info.ignored.push(e),
        }
    }
    Ok(info)
}

/// Builds an RA ICMPv6 message with the fixed fields of `repr` and the
/// given PREF64 options. The checksum is zero: a raw ICMPv6 socket has the
/// kernel fill it, otherwise call [`crate::rfc4861::fill_checksum`].
#[must_use]
pub fn build_ra(repr: &RaRepr, pref64: &[Pref64Repr]) -> Vec<u8> {
    let header = repr.to_bytes();
    let mut out = Vec::with_capacity(header.len() + pref64.len() * OPTION_LEN);
    out.extend_from_slice(&header);
    for p in pref64 {
        out.extend_from_slice(&p.to_bytes());
    }
    out
}

/// Builds an RA carrying one PREF64 option for `prefix`, valid for
/// `lifetime` (rounded up to 8 s, at most 65528 s; see
/// [`ScaledLifetime::from_duration`]).
///
/// The RA has Router Lifetime 0, so a host that hears it does not make the
/// sender its default router: it only learns the prefix. Checksum zero, as
/// for [`build_ra`].
#[must_use]
pub fn build_ra_with_pref64(prefix: Prefix, lifetime: Duration) -> Vec<u8> {
    let opt = Pref64Repr { prefix, lifetime: ScaledLifetime::from_duration(lifetime) };
    build_ra(&RaRepr::default(), &[opt])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    /// 64:ff9b::/96 for 600 s: scaled lifetime 75, PLC 0, so the 16-bit
    /// word is 75 << 3 = 600 = 0x0258.
    const WKP_600S: [u8; OPTION_LEN] = [38, 2, 0x02, 0x58, 0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

    #[test]
    fn rfc8781_4_option_bytes() {
        let repr = Pref64Repr { prefix: p("64:ff9b::/96"), lifetime: ScaledLifetime::new(75).unwrap() };
        assert_eq!(repr.to_bytes(), WKP_600S);
        assert_eq!(Pref64Repr::parse(&WKP_600S), Ok(repr));
        assert_eq!(repr.lifetime(), Duration::from_secs(600));
    }

    #[test]
    fn rfc8781_4_plc_to_prefix_length() {
        let cases = [
            (0, "2001:db8:1:2:3:4::/96"),
            (1, "2001:db8:1:2::/64"),
            (2, "2001:db8:1:200::/56"),
            (3, "2001:db8:1::/48"),
            (4, "2001:db8:100::/40"),
            (5, "2001:db8::/32"),
        ];
        for (plc, prefix) in cases {
            let mut opt = Pref64Repr { prefix: p(prefix), lifetime: ScaledLifetime::MAX }.to_bytes();
            assert_eq!(opt[3] & 0b111, plc, "{prefix}");
            assert_eq!(Pref64Repr::parse(&opt).unwrap().prefix, p(prefix));
            // The same bytes with the other PLCs decode to the other lengths.
            for (other, len) in PLC_PREFIX_LENS.iter().enumerate() {
                opt[3] = (opt[3] & !0b111) | other as u8;
                assert_eq!(Pref64Repr::parse(&opt).unwrap().prefix.prefix_len(), *len);
            }
        }
    }

    #[test]
    fn rfc8781_4_invalid_plc_ignored() {
        for plc in [6u8, 7] {
            let mut opt = WKP_600S;
            opt[3] |= plc;
            assert_eq!(Pref64Repr::parse(&opt), Err(WireError::Pref64BadPlc(plc)));
            let mut ra = RaRepr::default().to_bytes().to_vec();
            ra.extend_from_slice(&opt);
            let info = parse_ra(&ra).unwrap();
            assert!(info.pref64.is_empty());
            assert_eq!(info.ignored, [WireError::Pref64BadPlc(plc)]);
        }
    }

    #[test]
    fn rfc8781_4_length_not_2_ignored() {
        // Length 3 (24 bytes): a well-formed ND option, an invalid PREF64.
        let mut ra = RaRepr::default().to_bytes().to_vec();
        let mut opt = WKP_600S.to_vec();
        opt[1] = 3;
        opt.extend_from_slice(&[0; OPTION_UNIT]);
        ra.extend_from_slice(&opt);
        ra.extend_from_slice(&WKP_600S);
        let info = parse_ra(&ra).unwrap();
        assert_eq!(info.ignored, [WireError::Pref64BadLength(3)]);
        assert_eq!(info.pref64.len(), 1, "the valid option after it is kept");
    }

    #[test]
    fn rfc8781_4_bits_past_prefix_length_ignored() {
        let mut opt = Pref64Repr { prefix: p("2001:db8::/32"), lifetime: ScaledLifetime::MAX }.to_bytes();
        opt[field::PREFIX.start + 4..].fill(0xff);
        assert_eq!(Pref64Repr::parse(&opt).unwrap().prefix, p("2001:db8::/32"));
    }

    #[test]
    fn rfc8781_4_1_scaled_lifetime() {
        assert_eq!(ScaledLifetime::from_duration(Duration::ZERO), ScaledLifetime::ZERO);
        assert_eq!(ScaledLifetime::from_duration(Duration::from_secs(1)).as_secs(), 8);
        assert_eq!(ScaledLifetime::from_duration(Duration::from_secs(8)).as_secs(), 8);
        assert_eq!(ScaledLifetime::from_duration(Duration::from_millis(8001)).as_secs(), 16);
        assert_eq!(ScaledLifetime::from_duration(Duration::from_secs(1800)).as_secs(), 1800);
        assert_eq!(ScaledLifetime::from_duration(Duration::from_secs(65528)), ScaledLifetime::MAX);
        assert_eq!(ScaledLifetime::from_duration(Duration::MAX), ScaledLifetime::MAX);
        assert_eq!(ScaledLifetime::MAX.as_secs(), 65528);
        assert_eq!(ScaledLifetime::new(8192), None);
    }

    #[test]
    fn rfc8781_5_1_several_options_in_one_ra() {
        let old = Pref64Repr { prefix: p("2001:db8:1::/48"), lifetime: ScaledLifetime::ZERO };
        let new = Pref64Repr { prefix: p("2001:db8:2::/48"), lifetime: ScaledLifetime::MAX };
        let repr = RaRepr { cur_hop_limit: 64, router_lifetime: 1800, ..RaRepr::default() };
        let mut ra = build_ra(&repr, &[old]);
        // An unrelated option (MTU) in between is skipped.
        ra.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0xdc]);
        ra.extend_from_slice(&new.to_bytes());
        let info = parse_ra(&ra).unwrap();
        assert_eq!(info.router_lifetime, Duration::from_secs(1800));
        assert_eq!(info.pref64, [old, new]);
        assert!(info.ignored.is_empty());
    }

    #[test]
    fn build_ra_with_pref64_is_a_valid_ra() {
        let ra = build_ra_with_pref64(p("64:ff9b::/96"), Duration::from_secs(600));
        assert_eq!(ra.len(), crate::rfc4861::RA_HEADER_LEN + OPTION_LEN);
        assert_eq!(ra[crate::rfc4861::RA_HEADER_LEN..], WKP_600S);
        let info = parse_ra(&ra).unwrap();
        assert_eq!(info.router_lifetime, Duration::ZERO);
    }

    #[test]
    fn truncated_option_is_an_error_not_a_panic() {
        for n in 0..OPTION_LEN {
            assert!(Pref64Repr::parse(&WKP_600S[..n]).is_err(), "{n} bytes");
        }
        assert_eq!(Pref64Repr::parse(&[3, 2]), Err(WireError::UnexpectedType(3)));
    }

    fn arb_prefix() -> impl Strategy<Value = Prefix> {
        (any::<[u8; 16]>(), prop::sample::select(PLC_PREFIX_LENS.to_vec())).prop_map(|(mut b, len)| {
            b[usize::from(len / 8)..].fill(0);
            b[8] = 0; // RFC 6052 §2.2: the u octet is always zero
            Prefix::new(Ipv6Addr::from(b), len).unwrap()
        })
    }

    proptest! {
        #[test]
        fn parse_of_build_is_identity(prefix in arb_prefix(), units in 0u16..=ScaledLifetime::MAX.units()) {
            let lifetime = ScaledLifetime::new(units).unwrap();
            let ra = build_ra_with_pref64(prefix, lifetime.as_duration());
            let info = parse_ra(&ra).unwrap();
            prop_assert_eq!(info.pref64, vec![Pref64Repr { prefix, lifetime }]);
            prop_assert!(info.ignored.is_empty());
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
            let _ = parse_ra(&bytes);
            let _ = Pref64Repr::parse(&bytes);
        }

        #[test]
        fn random_options_never_panic(opts in prop::collection::vec(any::<u8>(), 0..128), pref64 in any::<[u8; 14]>()) {
            // A valid RA header so the option walk is exercised, plus a
            // PREF64-typed option with random contents.
            let mut ra = RaRepr::default().to_bytes().to_vec();
            ra.push(OPTION_TYPE);
            ra.extend_from_slice(&pref64);
            ra.extend_from_slice(&opts);
            if let Ok(info) = parse_ra(&ra) {
                prop_assert!(info.pref64.len() + info.ignored.len() <= ra.len() / OPTION_UNIT);
            }
        }
    }
}
