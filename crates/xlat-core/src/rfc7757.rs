//! RFC 7757: Explicit Address Mappings (EAM) for stateless translation.
//!
//! Each entry maps an IPv4 prefix onto an IPv6 prefix with the same number
//! of suffix bits (§3.2). Lookups are longest-prefix match in either
//! direction (§3.3) and take precedence over the RFC 6052 pool6 (§3.3).

use core::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::{Ipv4Network, Ipv6Network};

use crate::config::ConfigError;

/// One EAM entry: `v4` <-> `v6` with equal suffix lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry {
    v4: Ipv4Network,
    v6: Ipv6Network,
}

impl Entry {
    /// Validates an entry (RFC 7757 §3.2: suffix lengths must match; no host
    /// bits after either prefix).
    pub fn new(v4: Ipv4Network, v6: Ipv6Network) -> Result<Self, ConfigError> {
        let suffix4 = 32 - u32::from(v4.prefix());
        let suffix6 = 128 - u32::from(v6.prefix());
        if suffix4 != suffix6 {
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

    fn map_4to6(&self, a: Ipv4Addr) -> Ipv6Addr {
        let suffix = u128::from(u32::from(a) & self.suffix_mask());
        Ipv6Addr::from(u128::from(self.v6.network()) | suffix)
    }

    fn map_6to4(&self, a: Ipv6Addr) -> Ipv4Addr {
        // The suffix has at most 32 bits, so the truncation is exact.
        let suffix = (u128::from(a) & u128::from(self.suffix_mask())) as u32;
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
    /// Builds a table; overlapping prefixes on either side are rejected
    /// because they would make the mapping ambiguous in one direction.
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> Result<Self, ConfigError> {
        let mut by_v4: Vec<Entry> = entries.into_iter().collect();
        for (i, a) in by_v4.iter().enumerate() {
            for b in &by_v4[i + 1..] {
                if a.v4.overlaps(b.v4) || a.v6.overlaps(b.v6) {
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
    fn rfc7757_3_2_suffix_lengths_must_match() {
        assert!("192.0.2.0/24=2001:db8:1::/120".parse::<Entry>().is_ok());
        assert!("192.0.2.0/24=2001:db8:1::/64".parse::<Entry>().is_err());
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
    fn rfc7757_overlap_rejected() {
        assert!(Table::new([e("192.0.2.0/24=2001:db8:a::/120"), e("192.0.2.0/25=2001:db8:b::/121")]).is_err());
    }

    #[test]
    fn rfc7757_whole_space_entry() {
        let t = Table::new([e("0.0.0.0/0=2001:db8::/96")]).unwrap();
        assert_eq!(t.v4_to_v6("1.2.3.4".parse().unwrap()), Some("2001:db8::102:304".parse().unwrap()));
        assert_eq!(t.v6_to_v4("2001:db8::102:304".parse().unwrap()), Some("1.2.3.4".parse().unwrap()));
    }
}
