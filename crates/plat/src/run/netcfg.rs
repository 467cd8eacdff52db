//! Network-namespace setup of the PLAT's container: the shared route and
//! forwarding code of `xlat_tun::routes`, plus pool4 as host routes.

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;
pub(crate) use xlat_tun::routes::{enable_forwarding, install, Installed};

/// pool4 as the fewest prefixes: one host route per address (pool4 is at
/// most 1024 addresses, and usually a handful).
pub(crate) fn pool4_routes(addrs: &[Ipv4Addr]) -> Vec<Ipv4Network> {
    let mut v: Vec<Ipv4Network> = addrs.iter().map(|a| Ipv4Network::from(*a)).collect();
    v.sort_by_key(|n| u32::from(n.network()));
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool4_is_routed_per_address() {
        let r = pool4_routes(&[Ipv4Addr::new(203, 0, 113, 2), Ipv4Addr::new(203, 0, 113, 1)]);
        let s: Vec<String> = r.iter().map(ToString::to_string).collect();
        assert_eq!(s, ["203.0.113.1/32", "203.0.113.2/32"]);
    }
}
