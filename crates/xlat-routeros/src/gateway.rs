//! The container's default gateway, which is the router: `/proc/net/route`
//! and `/proc/net/ipv6_route` of the container's network namespace (a
//! `FROM scratch` image has no `ip` binary, and `/proc` is always there).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `/proc/net/route`.
pub const PROC_ROUTE: &str = "/proc/net/route";
/// `/proc/net/ipv6_route`.
pub const PROC_IPV6_ROUTE: &str = "/proc/net/ipv6_route";
/// `RTF_GATEWAY` in the flags column.
const RTF_GATEWAY: u32 = 0x2;

/// The IPv4 default gateway in a `/proc/net/route` text: the first route
/// with destination and mask 0 and the gateway flag. Addresses there are
/// the kernel's 32-bit words printed in host byte order.
pub fn parse_ipv4_default(text: &str) -> Option<Ipv4Addr> {
    text.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let hex = |i: usize| f.get(i).and_then(|v| u32::from_str_radix(v, 16).ok());
        let (dst, gw, flags, mask) = (hex(1)?, hex(2)?, hex(3)?, hex(7)?);
        (dst == 0 && mask == 0 && flags & RTF_GATEWAY != 0 && gw != 0).then(|| Ipv4Addr::from(gw.to_ne_bytes()))
    })
}

/// The IPv6 default gateway in a `/proc/net/ipv6_route` text: destination
/// `::/0` with a next hop (hex, network order).
pub fn parse_ipv6_default(text: &str) -> Option<Ipv6Addr> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let dst = u128::from_str_radix(f.first()?, 16).ok()?;
        let len = u8::from_str_radix(f.get(1)?, 16).ok()?;
        let hop = u128::from_str_radix(f.get(4)?, 16).ok()?;
        (dst == 0 && len == 0 && hop != 0).then(|| Ipv6Addr::from(hop))
    })
}

/// The router as seen from the container: the IPv4 default gateway, else
/// an IPv6 default gateway that is not link-local (a link-local one would
/// need a zone, which URLs here do not carry).
pub fn default_gateway() -> Option<IpAddr> {
    let v4 = std::fs::read_to_string(PROC_ROUTE).ok().and_then(|t| parse_ipv4_default(&t));
    v4.map(IpAddr::V4).or_else(|| {
        let v6 = std::fs::read_to_string(PROC_IPV6_ROUTE).ok().and_then(|t| parse_ipv6_default(&t))?;
        ((v6.segments()[0] & 0xffc0) != 0xfe80).then_some(IpAddr::V6(v6))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_default_route() {
        let gw = u32::from_ne_bytes([172, 17, 0, 1]);
        let text = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             clat\t00000000\t00000000\t0001\t0\t0\t0\t00000080\t0\t0\t0\n\
             eth0\t00000000\t{gw:08X}\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        );
        assert_eq!(parse_ipv4_default(&text), Some(Ipv4Addr::new(172, 17, 0, 1)));
        assert_eq!(parse_ipv4_default("Iface\n"), None);
    }

    #[test]
    fn ipv6_default_route() {
        let text = "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n\
                    00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000172001700000000000000000001 00000400 00000001 00000000 00000003 eth0\n";
        assert_eq!(parse_ipv6_default(text), Some("fd00:172:17::1".parse().unwrap()));
        assert_eq!(parse_ipv6_default(""), None);
    }
}
