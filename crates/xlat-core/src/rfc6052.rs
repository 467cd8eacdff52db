//! RFC 6052: IPv6 addressing of IPv4/IPv6 translators.
//!
//! An IPv4 address is embedded in an IPv6 prefix of length 32, 40, 48, 56,
//! 64 or 96 (§2.2). Bits 64..=71 (the "u" octet) are always zero and the
//! suffix after the IPv4 bits is zero on emission.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::config::ConfigError;

/// The Well-Known Prefix 64:ff9b::/96 (RFC 6052 §2.1).
pub const WELL_KNOWN_PREFIX: Ipv6Addr = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0);
/// The local-use prefix 64:ff9b:1::/48 (RFC 8215).
pub const LOCAL_USE_PREFIX: Ipv6Addr = Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0);
/// Prefix lengths RFC 6052 §2.2 allows.
pub const VALID_LENGTHS: [u8; 6] = [32, 40, 48, 56, 64, 96];
/// Byte index of the "u" octet (bits 64..=71), RFC 6052 §2.2.
const U_OCTET: usize = 8;

/// A validated RFC 6052 prefix (the translator's "pool6").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    bytes: [u8; 16],
    len: u8,
}

impl Prefix {
    /// Validates `addr/len`: an allowed length, no bits set after the prefix.
    pub fn new(addr: Ipv6Addr, len: u8) -> Result<Self, ConfigError> {
        if !VALID_LENGTHS.contains(&len) {
            return Err(ConfigError::Pool6Length { prefix: addr, len });
        }
        let bytes = addr.octets();
        let whole = usize::from(len / 8);
        if bytes[whole..].iter().any(|b| *b != 0) {
            return Err(ConfigError::Pool6HostBits { prefix: addr, len });
        }
        // §2.2: bits 64..=71 must be zero (only a /96 can carry them).
        if bytes[U_OCTET] != 0 {
            return Err(ConfigError::Pool6UOctet { prefix: addr });
        }
        // §2.1: the Well-Known Prefix exists only as a /96.
        if addr == WELL_KNOWN_PREFIX && len != 96 {
            return Err(ConfigError::Pool6WkpLength { len });
        }
        Ok(Self { bytes, len })
    }

    /// The prefix address.
    #[must_use]
    pub fn addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.bytes)
    }

    /// The prefix length.
    #[must_use]
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether this is the Well-Known Prefix 64:ff9b::/96.
    #[must_use]
    pub fn is_well_known(&self) -> bool {
        self.len == 96 && self.addr() == WELL_KNOWN_PREFIX
    }

    /// Byte positions of the four IPv4 octets for this prefix length (§2.2
    /// figure 1: the u octet is skipped).
    fn positions(&self) -> [usize; 4] {
        match self.len {
            32 => [4, 5, 6, 7],
            40 => [5, 6, 7, 9],
            48 => [6, 7, 9, 10],
            56 => [7, 9, 10, 11],
            64 => [9, 10, 11, 12],
            _ => [12, 13, 14, 15],
        }
    }

    /// RFC 6052 §2.3: embeds `v4` into this prefix.
    #[must_use]
    pub fn embed(&self, v4: Ipv4Addr) -> Ipv6Addr {
        let mut out = self.bytes;
        for (pos, octet) in self.positions().into_iter().zip(v4.octets()) {
            out[pos] = octet;
        }
        Ipv6Addr::from(out)
    }

    /// Whether `v6` lies inside this prefix.
    #[must_use]
    pub fn contains(&self, v6: &Ipv6Addr) -> bool {
        let whole = usize::from(self.len / 8);
        v6.octets()[..whole] == self.bytes[..whole]
    }

    /// RFC 6052 §2.3: extracts the IPv4 address embedded in `v6`, if `v6`
    /// lies inside this prefix. The u octet and the suffix are ignored on
    /// extraction (§2.2 reserves them; only emission must zero them).
    #[must_use]
    pub fn extract(&self, v6: &Ipv6Addr) -> Option<Ipv4Addr> {
        if !self.contains(v6) {
            return None;
        }
        let b = v6.octets();
        let [p0, p1, p2, p3] = self.positions();
        Some(Ipv4Addr::new(b[p0], b[p1], b[p2], b[p3]))
    }
}

impl core::fmt::Display for Prefix {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}

impl core::str::FromStr for Prefix {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let net: ipnetwork::Ipv6Network = s.parse().map_err(|_| ConfigError::Pool6Syntax { value: s.into() })?;
        Self::new(net.network(), net.prefix()).and_then(|p| {
            if p.addr() == net.ip() {
                Ok(p)
            } else {
                Err(ConfigError::Pool6HostBits { prefix: net.ip(), len: net.prefix() })
            }
        })
    }
}

/// RFC 6052 §3.1 and RFC 6890: whether `a` is a globally reachable IPv4
/// address. The Well-Known Prefix must not represent any other address.
#[must_use]
pub fn is_global_v4(a: Ipv4Addr) -> bool {
    let o = a.octets();
    let u = u32::from(a);
    let within = |net: u32, len: u32| (u >> (32 - len)) == (net >> (32 - len));
    !(o[0] == 0                                   // 0.0.0.0/8 "this network"
        || o[0] == 10                             // 10/8 private
        || within(0x6440_0000, 10)                // 100.64/10 shared (CGN)
        || o[0] == 127                            // loopback
        || within(0xa9fe_0000, 16)                // 169.254/16 link local
        || within(0xac10_0000, 12)                // 172.16/12 private
        || (within(0xc000_0000, 24) && u != 0xc000_0009 && u != 0xc000_000a) // 192.0.0/24 IETF
        || within(0xc000_0200, 24)                // 192.0.2/24 TEST-NET-1
        || within(0xc058_6300, 24)                // 192.88.99/24 6to4 relay (deprecated)
        || within(0xc0a8_0000, 16)                // 192.168/16 private
        || within(0xc612_0000, 15)                // 198.18/15 benchmarking
        || within(0xc633_6400, 24)                // 198.51.100/24 TEST-NET-2
        || within(0xcb00_7100, 24)                // 203.0.113/24 TEST-NET-3
        || o[0] >= 224) // multicast, reserved, broadcast
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    /// RFC 6052 §2.4 table: 192.0.2.33 embedded in each prefix length.
    #[test]
    fn rfc6052_2_4_examples() {
        let v4 = Ipv4Addr::new(192, 0, 2, 33);
        let cases = [
            ("2001:db8::/32", "2001:db8:c000:221::"),
            ("2001:db8:100::/40", "2001:db8:1c0:2:21::"),
            ("2001:db8:122::/48", "2001:db8:122:c000:2:2100::"),
            ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"),
            ("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"),
            ("2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"),
            ("64:ff9b::/96", "64:ff9b::192.0.2.33"),
        ];
        for (prefix, expect) in cases {
            let prefix = p(prefix);
            let expect: Ipv6Addr = expect.parse().unwrap();
            assert_eq!(prefix.embed(v4), expect, "embed in {prefix}");
            assert_eq!(prefix.extract(&expect), Some(v4), "extract from {prefix}");
        }
    }

    #[test]
    fn rfc6052_2_2_u_octet_zero() {
        for len in VALID_LENGTHS {
            let prefix = Prefix::new("2001:db8::".parse().unwrap(), len).unwrap();
            let v6 = prefix.embed(Ipv4Addr::new(255, 255, 255, 255));
            assert_eq!(v6.octets()[U_OCTET], 0, "u octet for /{len}");
        }
    }

    #[test]
    fn rfc6052_2_2_invalid_lengths_rejected() {
        for len in [0u8, 31, 33, 63, 95, 97, 128] {
            assert!(Prefix::new("2001:db8::".parse().unwrap(), len).is_err(), "/{len}");
        }
        assert!("2001:db8::1/96".parse::<Prefix>().is_err(), "host bits");
        assert!("2001:db8:0:0:100::/96".parse::<Prefix>().is_err(), "u octet set");
        assert!("64:ff9b::/64".parse::<Prefix>().is_err(), "Well-Known Prefix only as /96");
        assert!("nonsense".parse::<Prefix>().is_err());
    }

    #[test]
    fn rfc6052_extract_outside_prefix_is_none() {
        assert_eq!(p("64:ff9b::/96").extract(&"2001:db8::1".parse().unwrap()), None);
    }

    #[test]
    fn rfc6052_3_1_global_v4() {
        assert!(is_global_v4(Ipv4Addr::new(8, 8, 8, 8)));
        assert!(is_global_v4(Ipv4Addr::new(192, 0, 0, 9)));
        for a in [
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "127.0.0.1",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.9",
            "100.64.0.1",
            "169.254.1.1",
            "224.0.0.1",
            "255.255.255.255",
            "0.1.2.3",
            "192.0.0.1",
            "198.18.0.1",
        ] {
            assert!(!is_global_v4(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn rfc8215_local_use_prefix_accepted() {
        let prefix = Prefix::new(LOCAL_USE_PREFIX, 48).unwrap();
        assert!(!prefix.is_well_known());
    }
}
