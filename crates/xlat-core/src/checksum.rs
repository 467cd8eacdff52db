//! Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! All sums here are 32-bit accumulators of 16-bit big-endian words that
//! are folded to 16 bits at the end. The translator never re-sums a payload
//! on the fast path: it computes the sum of the pseudo-header words that
//! change and applies RFC 1624 equation 3, `HC' = ~(~HC + ~m + m')`.

use core::net::{Ipv4Addr, Ipv6Addr};

/// Adds the 16-bit big-endian words of `data` to `acc` (odd trailing byte
/// padded with zero, RFC 1071 §4.1).
#[must_use]
pub fn sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
        // Fold early so that very long inputs cannot overflow the accumulator.
        if acc & 0x8000_0000 != 0 {
            acc = (acc & 0xffff) + (acc >> 16);
        }
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

/// Folds a 32-bit accumulator into a 16-bit one's-complement sum.
#[must_use]
pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves at most 16 significant bits.
    acc as u16
}

/// The checksum field value for data whose words sum to `acc`.
#[must_use]
pub fn finish(acc: u32) -> u16 {
    !fold(acc)
}

/// Sum of the IPv4 address words of a pseudo-header.
#[must_use]
pub fn sum_v4_addrs(src: Ipv4Addr, dst: Ipv4Addr) -> u32 {
    sum(sum(0, &src.octets()), &dst.octets())
}

/// Sum of the IPv6 address words of a pseudo-header.
#[must_use]
pub fn sum_v6_addrs(src: Ipv6Addr, dst: Ipv6Addr) -> u32 {
    sum(sum(0, &src.octets()), &dst.octets())
}

/// Full IPv6 pseudo-header sum (RFC 8200 §8.1) for an upper-layer packet of
/// `len` bytes with next header `proto`.
#[must_use]
pub fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, len: u32, proto: u8) -> u32 {
    let acc = sum_v6_addrs(src, dst);
    let acc = sum(acc, &len.to_be_bytes());
    acc.wrapping_add(u32::from(proto))
}

/// Full IPv4 pseudo-header sum (RFC 793 §3.1) for an upper-layer packet of
/// `len` bytes with protocol `proto`.
#[must_use]
pub fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, len: u16, proto: u8) -> u32 {
    let acc = sum_v4_addrs(src, dst);
    acc.wrapping_add(u32::from(len)).wrapping_add(u32::from(proto))
}

/// `v6` with its last 16 bits replaced so that its words add up (one's
/// complement) to the same sum as `v4`'s: translating between the two
/// changes no TCP/UDP/ICMPv6 pseudo-header sum on that side, so the
/// transport checksum needs no update (the "checksum-neutral" CLAT address
/// Android's clatd picks; with the Well-Known Prefix 64:ff9b::/96, itself
/// neutral, the whole pseudo-header is). The word is never 0, so
/// `2001:db8::1`-style addresses do not become the Subnet-Router anycast
/// address.
#[must_use]
pub fn neutral_v6(v6: Ipv6Addr, v4: Ipv4Addr) -> Ipv6Addr {
    let mut w = v6.segments();
    w[7] = 0;
    let rest = fold(sum(0, &Ipv6Addr::from(w).octets()));
    let want = fold(sum(0, &v4.octets()));
    // rest + x == want, in one's complement: x = want + ~rest.
    let x = fold(u32::from(want) + u32::from(!rest));
    w[7] = if x == 0 { 0xffff } else { x };
    Ipv6Addr::from(w)
}

/// RFC 1624 §3 equation 3: the new checksum field after words summing to
/// `old` were replaced by words summing to `new`.
#[must_use]
pub fn update(checksum: u16, old: u32, new: u32) -> u16 {
    // ~HC + ~m + m', with ~m computed on the folded 16-bit value.
    let acc = u32::from(!checksum) + u32::from(!fold(old)) + u32::from(fold(new));
    !fold(acc)
}

#[cfg(test)]
mod neutral_tests {
    use super::*;
    use proptest::prelude::*;

    /// One's complement equality (0 and 0xffff are both zero).
    fn same(a: u16, b: u16) -> bool {
        a == b || (a, b) == (0, 0xffff) || (a, b) == (0xffff, 0)
    }

    #[test]
    fn the_well_known_prefix_is_itself_neutral() {
        let wkp: Ipv6Addr = "64:ff9b::".parse().unwrap();
        assert!(same(fold(sum(0, &wkp.octets())), 0));
    }

    #[test]
    fn keeps_all_but_the_last_word_and_never_zeroes_it() {
        let v6: Ipv6Addr = "2001:db8:aaaa::1".parse().unwrap();
        let v4 = Ipv4Addr::new(192, 0, 0, 1);
        let n = neutral_v6(v6, v4);
        assert_eq!(n.segments()[..7], v6.segments()[..7]);
        assert_ne!(n.segments()[7], 0);
        assert!(same(fold(sum(0, &n.octets())), fold(sum(0, &v4.octets()))));
        assert_eq!(neutral_v6(n, v4), n, "idempotent");
    }

    proptest! {
        #[test]
        fn sums_match(v6 in any::<u128>(), v4 in any::<u32>()) {
            let (v6, v4) = (Ipv6Addr::from(v6), Ipv4Addr::from(v4));
            let n = neutral_v6(v6, v4);
            prop_assert!(same(fold(sum(0, &n.octets())), fold(sum(0, &v4.octets()))));
            prop_assert_ne!(n.segments()[7], 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 numerical example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &data)), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(fold(sum(0, &[0xab])), 0xab00);
    }

    proptest! {
        /// RFC 1624: the incremental update equals a full recompute.
        #[test]
        fn rfc1624_incremental_equals_full(
            data in proptest::collection::vec(any::<u8>(), 8..200),
            at in 0usize..100,
            repl in any::<[u8; 4]>(),
        ) {
            let mut data = data;
            let at = (at % (data.len() / 2 - 1)) * 2; // word aligned, room for 4 bytes
            let at = at.min(data.len() - 4) & !1;
            let before = finish(sum(0, &data));
            let old = sum(0, &data[at..at + 4]);
            data[at..at + 4].copy_from_slice(&repl);
            let new = sum(0, &repl);
            let full = finish(sum(0, &data));
            let incr = update(before, old, new);
            // 0x0000 and 0xffff are the same value in one's complement.
            prop_assert!(incr == full || (incr ^ full) == 0xffff,
                "incremental {incr:#06x} full {full:#06x}");
        }
    }
}
