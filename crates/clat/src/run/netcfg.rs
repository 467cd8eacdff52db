//! Network-namespace setup of the CLAT's container: the shared route and
//! forwarding code of `xlat_tun::routes`, plus the CLAT's own rule for the
//! default route.

use std::net::Ipv4Addr;

use ipnetwork::Ipv4Network;
pub(crate) use xlat_tun::routes::{enable_forwarding, install, Installed};

/// Splits 0.0.0.0/0 into two /1 halves so the routes into the TUN beat an
/// existing default route without replacing it.
pub(crate) fn expand_default(routes: &[Ipv4Network]) -> Vec<Ipv4Network> {
    let mut out = Vec::with_capacity(routes.len() + 1);
    for r in routes {
        if r.prefix() == 0 {
            out.push(Ipv4Network::new(Ipv4Addr::new(0, 0, 0, 0), 1).expect("valid /1"));
            out.push(Ipv4Network::new(Ipv4Addr::new(128, 0, 0, 0), 1).expect("valid /1"));
        } else {
            out.push(*r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_route_becomes_two_halves() {
        let r = expand_default(&["0.0.0.0/0".parse().unwrap(), "198.51.100.0/24".parse().unwrap()]);
        let s: Vec<String> = r.iter().map(ToString::to_string).collect();
        assert_eq!(s, ["0.0.0.0/1", "128.0.0.0/1", "198.51.100.0/24"]);
    }
}
