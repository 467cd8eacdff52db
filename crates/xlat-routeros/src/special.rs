//! IPv4 ranges that are not globally reachable (RFC 6890 and its
//! registry, as `xlat_core::rfc6052::is_global_v4` classifies them), and
//! their images inside pool6 (RFC 6052 §2.2).
//!
//! A PLAT forwards whatever IPv4 address a client embeds in pool6. Without
//! a policy, `pool6 + 10.0.0.1` reaches the provider's private network
//! from any IPv6 client: the router's IPv4 rules never see the client,
//! only the container's pool4 source. The PLAT role therefore drops, on
//! the IPv6 side, forwarding to pool6 images of these ranges, and on the
//! IPv4 side, forwarding from the container to the ranges themselves.
//! 192.0.0.9 and 192.0.0.10 (globally reachable exceptions inside
//! 192.0.0.0/24) are dropped too: the whole /24 is one entry.

use std::net::Ipv4Addr;

use ipnetwork::{Ipv4Network, Ipv6Network};
use xlat_core::rfc6052::Prefix;

/// RFC 6890 special-purpose IPv4 ranges that are not globally reachable,
/// with the registry's names.
pub const NON_GLOBAL_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "this network"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private-use"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "shared address space"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private-use"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "IETF protocol assignments"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "TEST-NET-1"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "6to4 relay anycast (deprecated)"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private-use"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "TEST-NET-2"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "TEST-NET-3"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved, limited broadcast"),
];

/// The ranges as networks.
pub fn non_global_v4() -> impl Iterator<Item = Ipv4Network> {
    NON_GLOBAL_V4.iter().filter_map(|(a, len, _)| Ipv4Network::new(*a, *len).ok())
}

/// `ranges` without the addresses of `allowed`, as prefixes (a range
/// that contains an allowed prefix is split around it).
pub fn subtract(ranges: impl IntoIterator<Item = Ipv4Network>, allowed: &[Ipv4Network]) -> Vec<Ipv4Network> {
    fn overlaps(a: Ipv4Network, b: Ipv4Network) -> bool {
        a.contains(b.network()) || b.contains(a.network())
    }
    fn split(r: Ipv4Network, allowed: &[Ipv4Network], out: &mut Vec<Ipv4Network>) {
        match allowed.iter().find(|a| overlaps(r, **a)) {
            None => out.push(r),
            Some(a) if a.contains(r.network()) && a.prefix() <= r.prefix() => {}
            Some(_) => {
                let len = r.prefix() + 1;
                let low = Ipv4Network::new(r.network(), len).expect("length at most 32");
                let high_addr = Ipv4Addr::from(u32::from(r.network()) | (1u32 << (32 - u32::from(len))));
                let high = Ipv4Network::new(high_addr, len).expect("length at most 32");
                split(low, allowed, out);
                split(high, allowed, out);
            }
        }
    }
    let mut out = Vec::new();
    for r in ranges {
        split(r, allowed, &mut out);
    }
    out
}

/// RFC 6052 §2.2: the IPv6 prefix covering the images of every address of
/// `v4` inside `pool6`. The u octet (bits 64-71) is zero in every valid
/// image, so a range that straddles it is still one prefix, eight bits
/// longer.
pub fn embed_prefix(pool6: &Prefix, v4: Ipv4Network) -> Ipv6Network {
    let p = pool6.prefix_len();
    let l = v4.prefix();
    let len = match p {
        96 => 96 + l,
        64 if l == 0 => 64,
        64 => 72 + l,
        _ => {
            let before_u = 64 - p;
            if l <= before_u {
                p + l
            } else {
                p + l + 8
            }
        }
    };
    let addr = pool6.embed(v4.network());
    Ipv6Network::new(addr, len).expect("RFC 6052 images are at most 128 bits long")
}

#[cfg(test)]
mod tests {
    use super::*;
    use xlat_core::rfc6052::{is_global_v4, VALID_LENGTHS};

    #[test]
    fn table_agrees_with_the_core_classifier() {
        for net in non_global_v4() {
            assert!(!is_global_v4(net.network()), "{net} first");
            assert!(!is_global_v4(net.broadcast()), "{net} last");
        }
        // Just outside a few ranges: global.
        for a in [
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.0",
            "192.169.0.0",
            "223.255.255.255",
        ] {
            let a: Ipv4Addr = a.parse().unwrap();
            assert!(is_global_v4(a), "{a}");
            assert!(!non_global_v4().any(|n| n.contains(a)), "{a}");
        }
    }

    #[test]
    fn images_cover_exactly_the_range_for_every_pool6_length() {
        for len in VALID_LENGTHS {
            let pool6 = Prefix::new("2001:db8::".parse().unwrap(), len).unwrap();
            for net in non_global_v4() {
                let img = embed_prefix(&pool6, net);
                for a in [net.network(), net.broadcast()] {
                    assert!(img.contains(pool6.embed(a)), "/{len}: {net} -> {img} must hold {a}");
                }
                let after = u32::from(net.broadcast()).wrapping_add(1);
                if after != 0 {
                    let out = pool6.embed(Ipv4Addr::from(after));
                    assert!(!img.contains(out), "/{len}: {net} -> {img} must not hold {}", Ipv4Addr::from(after));
                }
            }
        }
    }

    #[test]
    fn allowed_prefixes_are_cut_out() {
        let n = |s: &str| s.parse::<Ipv4Network>().unwrap();
        assert_eq!(subtract([n("10.0.0.0/8")], &[n("10.0.0.0/8")]), Vec::<Ipv4Network>::new());
        assert_eq!(subtract([n("10.0.0.0/8")], &[n("0.0.0.0/0")]), Vec::<Ipv4Network>::new());
        assert_eq!(subtract([n("10.0.0.0/8")], &[n("192.168.0.0/16")]), [n("10.0.0.0/8")]);
        let cut = subtract([n("10.0.0.0/8")], &[n("10.1.2.0/24")]);
        assert_eq!(cut.len(), 16, "{cut:?}");
        assert!(cut.iter().all(|c| !c.contains("10.1.2.7".parse().unwrap())));
        for a in ["10.0.0.0", "10.1.1.255", "10.1.3.0", "10.255.255.255"] {
            assert!(cut.iter().any(|c| c.contains(a.parse().unwrap())), "{a}");
        }
    }

    #[test]
    fn well_known_prefix_images() {
        let wkp: Prefix = "64:ff9b::/96".parse().unwrap();
        assert_eq!(embed_prefix(&wkp, "10.0.0.0/8".parse().unwrap()).to_string(), "64:ff9b::a00:0/104");
        let p56: Prefix = "2001:db8:122:300::/56".parse().unwrap();
        // 8 bits before the u octet, 8 after it: /56 + 16 + 8.
        assert_eq!(embed_prefix(&p56, "192.168.0.0/16".parse().unwrap()).to_string(), "2001:db8:122:3c0:a8::/80");
    }
}
