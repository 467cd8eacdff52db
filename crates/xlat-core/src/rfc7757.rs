//! RFC 7757: Explicit Address Mappings (EAM) for stateless translation.
//!
//! Each entry maps an IPv4 prefix onto an IPv6 prefix with at least as many
//! suffix bits (§3.2); the IPv4 suffix follows the IPv6 prefix, padded with
//! zeros (§3.3.1). Lookups are longest-prefix match in either direction
//! (§3.3), so overlapping entries are allowed (§5: e.g. IVI with
//! exceptions); EAM takes precedence over the RFC 6052 pool6 (§3.3).

use core::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::{Ipv4Network, Ipv6Network};

use crate::config::ConfigError;

/// One EAM entry: `v4` <-> `v6`, the IPv6 side with at least as many
/// suffix bits as the IPv4 side (§3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry {
    v4: Ipv4Network,
    v6: Ipv6Network,
}

impl Entry {
    /// Validates an entry (RFC 7757 §3.2: the IPv4 prefix has no more suffix
    /// bits than the IPv6 prefix; no host bits after either prefix).
    pub fn new(v4: Ipv4Network, v6: Ipv6Network) -> Result<Self, ConfigError> {
        let suffix4 = 32 - u32::from(v4.prefix());
        let suffix6 = 128 - u32::from(v6.prefix());
        if suffix4 > suffix6 {
            return Err(ConfigError::EamSuffixMismatch { v4, v6 });
        }
        if v4.network() != v4.ip() || v6.network() != v6.ip() {
            return Err(ConfigError::EamHostBits { v4, v6 });
        }
        Ok(Self { v4, v6 })
    }

    /// The IPv4 side.
    #[must_use]
    pub fn v4(&self) -> Ipv4Network {
        self.v4
    }

    /// The IPv6 side.
    #[must_use]
    pub fn v6(&self) -> Ipv6Network {
        self.v6
    }

    fn suffix_bits(&self) -> u32 {
        32 - u32::from(self.v4.prefix())
    }

    fn suffix_mask(&self) -> u32 {
        // checked_shl handles the /0 (32-bit suffix) case without overflow.
        1u32.checked_shl(self.suffix_bits()).map_or(u32::MAX, |v| v - 1)
    }

    /// Bits of zero padding after the IPv4 suffix in the IPv6 address.
    fn padding(&self) -> u32 {
        (128 - u32::from(self.v6.prefix())) - self.suffix_bits()
    }

    /// §3.3.1: IPv6 prefix, then the IPv4 suffix, then zeros.
    fn map_4to6(&self, a: Ipv4Addr) -> Ipv6Addr {
        let suffix = u128::from(u32::from(a) & self.suffix_mask());
        let shifted = suffix.checked_shl(self.padding()).unwrap_or(0);
        Ipv6Addr::from(u128::from(self.v6.network()) | shifted)
    }

    /// §3.3.2: the IPv4 suffix is the bits right after the IPv6 prefix.
    fn map_6to4(&self, a: Ipv6Addr) -> Ipv4Addr {
        let bits = u128::from(a).checked_shr(self.padding()).unwrap_or(0);
        // Masked to at most 32 bits, so the truncation is exact.
        let suffix = (bits & u128::from(self.suffix_mask())) as u32;
        Ipv4Addr::from(u32::from(self.v4.network()) | suffix)
    }
}

impl core::str::FromStr for Entry {
    type Err = ConfigError;
    /// Parses `IPV4/LEN=IPV6/LEN` (a bare address means a host route).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ConfigError::EamSyntax { value: s.into() };
        let (a, b) = s.split_once('=').or_else(|| s.split_once(',')).ok_or_else(bad)?;
        let v4: Ipv4Network = a.trim().parse().map_err(|_| bad())?;
        let v6: Ipv6Network = b.trim().parse().map_err(|_| bad())?;
        Self::new(v4, v6)
    }
}

impl core::fmt::Display for Entry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}={}", self.v4, self.v6)
    }
}

/// The EAM table, kept in two longest-prefix-first orders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    by_v4: Vec<Entry>,
    by_v6: Vec<Entry>,
}

impl Table {
    /// Builds a table. Overlapping entries are fine (longest prefix wins,
    /// §3.3); the same prefix twice on either side is ambiguous and
    /// rejected.
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> Result<Self, ConfigError> {
        let mut by_v4: Vec<Entry> = entries.into_iter().collect();
        for (i, a) in by_v4.iter().enumerate() {
            for b in &by_v4[i + 1..] {
                if a.v4 == b.v4 || a.v6 == b.v6 {
                    return Err(ConfigError::EamOverlap { a: *a, b: *b });
                }
            }
        }
        by_v4.sort_by_key(|e| core::cmp::Reverse(e.v4.prefix()));
        let mut by_v6 = by_v4.clone();
        by_v6.sort_by_key(|e| core::cmp::Reverse(e.v6.prefix()));
        Ok(Self { by_v4, by_v6 })
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_v4.len()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_v4.is_empty()
    }

    /// The entries, longest IPv4 prefix first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.by_v4.iter()
    }

    /// RFC 7757 §3.3: IPv4 -> IPv6 by longest-prefix match.
    #[must_use]
    pub fn v4_to_v6(&self, a: Ipv4Addr) -> Option<Ipv6Addr> {
        self.by_v4.iter().find(|e| e.v4.contains(a)).map(|e| e.map_4to6(a))
    }

    /// RFC 7757 §3.3: IPv6 -> IPv4 by longest-prefix match.
    #[must_use]
    pub fn v6_to_v4(&self, a: Ipv6Addr) -> Option<Ipv4Addr> {
        self.by_v6.iter().find(|e| e.v6.contains(a)).map(|e| e.map_6to4(a))
    }

    /// Whether `a` is covered by the IPv4 side of an entry (RFC 7757 §4
    /// hairpinning check).
    #[must_use]
    pub fn contains_v4(&self, a: Ipv4Addr) -> bool {
        self.by_v4.iter().any(|e| e.v4.contains(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str) -> Entry {
        s.parse().unwrap()
    }

    #[test]
    fn rfc7757_3_2_ipv6_suffix_at_least_ipv4_suffix() {
        assert!("192.0.2.0/24=2001:db8:1::/120".parse::<Entry>().is_ok());
        assert!("192.0.2.0/24=2001:db8:1::/64".parse::<Entry>().is_ok(), "longer IPv6 suffix is valid");
        assert!("192.0.2.0/24=2001:db8:1::/121".parse::<Entry>().is_err(), "shorter IPv6 suffix");
        assert!("192.0.2.1/24=2001:db8:1::/120".parse::<Entry>().is_err(), "host bits");
        assert!("garbage".parse::<Entry>().is_err());
    }

    #[test]
    fn rfc7757_3_3_longest_prefix_match_both_ways() {
        let t = Table::new([
            e("192.0.2.0/24=2001:db8:a::/120"),
            e("198.51.100.0/24=2001:db8:b::/120"),
            e("203.0.113.8/32=2001:db8:c::8/128"),
        ])
        .unwrap();
        assert_eq!(t.v4_to_v6("192.0.2.77".parse().unwrap()), Some("2001:db8:a::4d".parse().unwrap()));
        assert_eq!(t.v6_to_v4("2001:db8:b::ff".parse().unwrap()), Some("198.51.100.255".parse().unwrap()));
        assert_eq!(t.v4_to_v6("203.0.113.8".parse().unwrap()), Some("2001:db8:c::8".parse().unwrap()));
        assert_eq!(t.v4_to_v6("203.0.113.9".parse().unwrap()), None);
        assert_eq!(t.v6_to_v4("2001:db8:d::1".parse().unwrap()), None);
    }

    #[test]
    fn rfc7757_5_overlapping_entries_longest_match_wins() {
        let t = Table::new([e("192.0.2.0/24=2001:db8:a::/120"), e("192.0.2.0/25=2001:db8:b::/121")]).unwrap();
        assert_eq!(t.v4_to_v6("192.0.2.1".parse().unwrap()), Some("2001:db8:b::1".parse().unwrap()));
        assert_eq!(t.v4_to_v6("192.0.2.201".parse().unwrap()), Some("2001:db8:a::c9".parse().unwrap()));
        assert!(
            Table::new([e("192.0.2.0/24=2001:db8:a::/120"), e("192.0.2.0/24=2001:db8:b::/120")]).is_err(),
            "same IPv4 prefix twice"
        );
    }

    /// RFC 7757 §3.3 figure 1, row 4: 192.0.2.128/26 = 2001:db8:dddd::/64.
    #[test]
    fn rfc7757_3_3_1_longer_ipv6_suffix_padded_with_zeros() {
        let t = Table::new([e("192.0.2.128/26=2001:db8:dddd::/64")]).unwrap();
        let v6 = t.v4_to_v6("192.0.2.130".parse().unwrap()).unwrap();
        assert_eq!(v6, "2001:db8:dddd:0:800::".parse::<Ipv6Addr>().unwrap(), "suffix 2 right after /64, then zeros");
        assert_eq!(t.v6_to_v4(v6), Some("192.0.2.130".parse().unwrap()));
    }

    #[test]
    fn rfc7757_whole_space_entry() {
        let t = Table::new([e("0.0.0.0/0=2001:db8::/96")]).unwrap();
        assert_eq!(t.v4_to_v6("1.2.3.4".parse().unwrap()), Some("2001:db8::102:304".parse().unwrap()));
        assert_eq!(t.v6_to_v4("2001:db8::102:304".parse().unwrap()), Some("1.2.3.4".parse().unwrap()));
    }
}
