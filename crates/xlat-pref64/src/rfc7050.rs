//! RFC 7050 §3: finding Pref64::/n in the AAAA records a DNS64 synthesizes
//! for the well-known IPv4-only name `ipv4only.arpa`.
//!
//! The name has only the A records 192.0.0.170 and 192.0.0.171 (RFC 7050
//! §2), so any AAAA record for it was synthesized: the node searches it
//! for one of these addresses at each RFC 6052 prefix length. Sans-IO: the
//! lookup itself is `rfc7050_discover` (feature `io`).

use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use xlat_core::rfc6052::{Prefix, VALID_LENGTHS};

use crate::Pref64Error;

/// RFC 7050 §2 (and RFC 8880): the Well-Known IPv4-only Name, fully
/// qualified.
pub const WELL_KNOWN_NAME: &str = "ipv4only.arpa.";
/// RFC 7050 §2: the Well-Known IPv4 addresses `ipv4only.arpa` resolves to.
pub const WELL_KNOWN_IPV4: [Ipv4Addr; 2] = [Ipv4Addr::new(192, 0, 0, 170), Ipv4Addr::new(192, 0, 0, 171)];
/// RFC 6052 §2.2: the prefix length at which the u octet (bits 64..=71)
/// stops being part of the layout and becomes part of the prefix.
const U_OCTET_IN_PREFIX_LEN: u8 = 96;
/// Byte index of the u octet (RFC 6052 §2.2).
const U_OCTET: usize = 8;

/// The outcome of a successful discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The distinct prefixes found, sorted (address, then length) so that
    /// repeated discoveries pick the same one whatever order the resolver
    /// returned the records in. Never empty.
    pub prefixes: Vec<Prefix>,
    /// The smallest TTL of the AAAA records the prefixes came from: when it
    /// runs out, discover again (RFC 7050 §3).
    pub ttl: Duration,
}

impl Discovered {
    /// The prefix to use: the first of [`Self::prefixes`].
    #[must_use]
    pub fn prefix(&self) -> Prefix {
        // `prefixes` is never empty (see `discover_from_answers`); the
        // fallback is the Well-Known Prefix rather than a panic.
        self.prefixes.first().copied().unwrap_or_else(well_known_prefix)
    }
}

fn well_known_prefix() -> Prefix {
    // 64:ff9b::/96 is valid by construction.
    Prefix::new(xlat_core::rfc6052::WELL_KNOWN_PREFIX, U_OCTET_IN_PREFIX_LEN)
        .unwrap_or_else(|_| unreachable!("the Well-Known Prefix is a valid /96"))
}

/// `addr` cut to its first `len` bits (`len` is an RFC 6052 length).
fn prefix_of(addr: Ipv6Addr, len: u8) -> Option<Prefix> {
    let mut bytes = addr.octets();
    bytes[usize::from(len / 8)..].fill(0);
    Prefix::new(Ipv6Addr::from(bytes), len).ok()
}

/// RFC 7050 §3: the prefix lengths at which `aaaa` embeds `v4`, honouring
/// the RFC 6052 §2.2 u-octet rule (bits 64..=71 zero) for the lengths whose
/// layout skips it.
fn lax_matches(aaaa: Ipv6Addr, v4: Ipv4Addr) -> impl Iterator<Item = Prefix> {
    let u_octet_zero = aaaa.octets()[U_OCTET] == 0;
    VALID_LENGTHS.into_iter().filter_map(move |len| {
        let prefix = prefix_of(aaaa, len)?;
        let u_ok = len >= U_OCTET_IN_PREFIX_LEN || u_octet_zero;
        (u_ok && prefix.extract(&aaaa) == Some(v4)).then_some(prefix)
    })
}

/// RFC 7050 §3: the Pref64::/n one synthesized AAAA record reveals.
///
/// 1. An exact RFC 6052 embedding (u octet and suffix zero, as §2.2 says a
///    DNS64 writes them) of either well-known address wins. There is at
///    most one: the last octet of each well-known address is non-zero, so
///    an embedding at a longer prefix always leaves a non-zero octet in the
///    suffix of any shorter one.
/// 2. Otherwise (a DNS64 that leaves suffix bits set), each well-known
///    address in turn is looked for at every RFC 6052 length; exactly one
///    hit is the answer. An address found at several lengths is "present
///    more than once" and the search is repeated with the other one (§3).
///
/// `None` when the record embeds neither address unambiguously.
#[must_use]
pub fn prefix_from_aaaa(aaaa: Ipv6Addr) -> Option<Prefix> {
    let exact =
        WELL_KNOWN_IPV4.into_iter().flat_map(|v4| lax_matches(aaaa, v4).filter(move |p| p.embed(v4) == aaaa)).next();
    if exact.is_some() {
        return exact;
    }
    WELL_KNOWN_IPV4.into_iter().find_map(|v4| {
        let mut found = lax_matches(aaaa, v4);
        match (found.next(), found.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    })
}

/// RFC 7050 §3: the prefixes in the AAAA answers `(address, ttl seconds)`
/// for `ipv4only.arpa`. All distinct prefixes are returned (§3: with
/// several, the node uses all of them), sorted; the TTL is the smallest of
/// the records that yielded a prefix.
pub fn discover_from_answers<I>(answers: I) -> Result<Discovered, Pref64Error>
where
    I: IntoIterator<Item = (Ipv6Addr, u32)>,
{
    let mut prefixes = Vec::new();
    let mut ttl = u32::MAX;
    for (aaaa, record_ttl) in answers {
        if let Some(prefix) = prefix_from_aaaa(aaaa) {
            prefixes.push(prefix);
            ttl = ttl.min(record_ttl);
        }
    }
    if prefixes.is_empty() {
        return Err(Pref64Error::NoPrefix);
    }
    prefixes.sort_by_key(|p| (p.addr(), p.prefix_len()));
    prefixes.dedup();
    Ok(Discovered { prefixes, ttl: Duration::from_secs(u64::from(ttl)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// RFC 6052 §2.4's table of prefixes, with 192.0.0.170 (c000:00aa)
    /// embedded instead of 192.0.2.33.
    const RFC6052_2_4_WITH_170: [(&str, &str); 7] = [
        ("2001:db8::/32", "2001:db8:c000:aa::"),
        ("2001:db8:100::/40", "2001:db8:1c0:0:aa::"),
        ("2001:db8:122::/48", "2001:db8:122:c000:0:aa00::"),
        ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:aa::"),
        ("2001:db8:122:344::/64", "2001:db8:122:344:c0:0:aa00:0"),
        ("2001:db8:122:344::/96", "2001:db8:122:344::c000:aa"),
        ("64:ff9b::/96", "64:ff9b::c000:aa"),
    ];

    #[test]
    fn rfc7050_3_rfc6052_2_4_examples() {
        for (prefix, aaaa) in RFC6052_2_4_WITH_170 {
            // The table is right: it is what RFC 6052 embedding produces.
            assert_eq!(p(prefix).embed(WELL_KNOWN_IPV4[0]), a(aaaa), "{prefix}");
            assert_eq!(prefix_from_aaaa(a(aaaa)), Some(p(prefix)), "{aaaa}");
            let found = discover_from_answers([(a(aaaa), 60)]).unwrap();
            assert_eq!(found.prefixes, [p(prefix)]);
            assert_eq!(found.prefix(), p(prefix));
            assert_eq!(found.ttl, Duration::from_secs(60));
        }
    }

    #[test]
    fn rfc7050_3_second_well_known_address() {
        for (prefix, _) in RFC6052_2_4_WITH_170 {
            let aaaa = p(prefix).embed(WELL_KNOWN_IPV4[1]);
            assert_eq!(prefix_from_aaaa(aaaa), Some(p(prefix)), "{aaaa}");
        }
    }

    #[test]
    fn rfc7050_3_both_records_one_prefix() {
        let prefix = p("64:ff9b::/96");
        let answers = WELL_KNOWN_IPV4.map(|v4| (prefix.embed(v4), 300));
        let found = discover_from_answers(answers).unwrap();
        assert_eq!(found.prefixes, [prefix]);
    }

    #[test]
    fn rfc7050_3_present_twice() {
        // A /96 whose prefix bits hold c000:aa at bits 32..63: 192.0.0.170
        // shows up at /32 and at /96.
        let prefix = p("2001:db8:c000:aa::/96");
        let with_170 = prefix.embed(WELL_KNOWN_IPV4[0]);
        assert_eq!(lax_matches(with_170, WELL_KNOWN_IPV4[0]).count(), 2);
        assert_eq!(prefix_from_aaaa(with_170), Some(prefix));
        // With 192.0.0.171 at /96, 192.0.0.170 still sits (once) at /32, but
        // only the /96 reading leaves a zero suffix.
        let with_171 = prefix.embed(WELL_KNOWN_IPV4[1]);
        assert_eq!(lax_matches(with_171, WELL_KNOWN_IPV4[0]).count(), 1);
        assert_eq!(prefix_from_aaaa(with_171), Some(prefix));
    }

    #[test]
    fn rfc7050_3_nonzero_suffix_tolerated() {
        // A DNS64 that leaves the RFC 6052 suffix non-zero: no exact
        // embedding, but 192.0.0.170 sits at one length only.
        let aaaa = a("2001:db8:122:c000:0:aa00:0:1");
        assert_eq!(prefix_from_aaaa(aaaa), Some(p("2001:db8:122::/48")));
        // 192.0.0.170 at /32 and at /64, neither exact, 192.0.0.171
        // nowhere: ambiguous.
        let twice = a("2001:db8:c000:aa:c0:0:aa00:1");
        assert_eq!(lax_matches(twice, WELL_KNOWN_IPV4[0]).count(), 2);
        assert_eq!(prefix_from_aaaa(twice), None);
    }

    #[test]
    fn rfc6052_2_2_u_octet_must_be_zero() {
        // 192.0.0.170 at /64 positions, but with the u octet set: not a /64.
        let aaaa = a("2001:db8:122:344:ffc0:0:aa00:0");
        assert_eq!(prefix_from_aaaa(aaaa), None);
    }

    #[test]
    fn rfc7050_3_multiple_prefixes_all_returned_sorted() {
        let answers = [
            (p("64:ff9b::/96").embed(WELL_KNOWN_IPV4[0]), 600),
            (p("2001:db8:122::/48").embed(WELL_KNOWN_IPV4[0]), 120),
            (p("64:ff9b::/96").embed(WELL_KNOWN_IPV4[1]), 600),
        ];
        let found = discover_from_answers(answers).unwrap();
        assert_eq!(found.prefixes, [p("64:ff9b::/96"), p("2001:db8:122::/48")]);
        assert_eq!(found.ttl, Duration::from_secs(120));
        // Same answer whatever order the records came in.
        let mut reversed = answers;
        reversed.reverse();
        assert_eq!(discover_from_answers(reversed).unwrap(), found);
    }

    #[test]
    fn rfc7050_3_no_well_known_address_is_an_error() {
        assert!(matches!(discover_from_answers([]), Err(Pref64Error::NoPrefix)));
        assert!(matches!(
            discover_from_answers([(a("2001:db8::1"), 60), (a("64:ff9b::808:808"), 60)]),
            Err(Pref64Error::NoPrefix)
        ));
    }

    #[test]
    fn records_without_prefix_do_not_shorten_the_ttl() {
        let answers = [(a("2001:db8::1"), 5), (a("64:ff9b::c000:aa"), 60)];
        assert_eq!(discover_from_answers(answers).unwrap().ttl, Duration::from_secs(60));
    }
}
