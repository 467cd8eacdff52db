//! The lab's addresses, interface names and roles: one place that says what
//! the deployment looks like. Every address is from a documentation or
//! special-purpose range (RFC 3849, RFC 5737, RFC 7335).
//!
//! ```text
//!  lan                router (RouterOS)                 clat (container)
//!  eth0 192.0.2.10 -- lan0 192.0.2.1
//!                     ctr0 192.0.0.6/30 2001:db8:c::1 -- eth0 192.0.0.5/30 2001:db8:c::2
//!                                                         TUN "clat": 192.0.0.1 <-> 2001:db8:aaaa::1
//!                     wan0 2001:db8:1::1 --+
//!                                          |
//!  isp (provider router, RouterOS-like)    |            plat (container)
//!  down0 2001:db8:1::2 --------------------+
//!  ctr0 203.0.113.65/30 2001:db8:d::1 ----------------- eth0 203.0.113.66/30 2001:db8:d::2
//!                                                         TUN "nat64": 2001:db8:64::/96 <-> pool4
//!                                                         (ours: 203.0.113.128/30; TAYGA:
//!                                                         203.0.113.128/25, itself 203.0.113.1)
//!  h6a0 2001:db8:6:a::1 -- eth0 2001:db8:6:a::10  host6a (IPv6 only)
//!  h6b0 2001:db8:6:b::1 -- eth0 2001:db8:6:b::10  host6b (IPv6 only, HTTP server)
//!  up0 198.51.100.1/24 -- eth0 198.51.100.7  internet (HTTP, DNS, iperf3, echo)
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

/// A namespace of the lab, named after the machine it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The IPv4-only LAN host.
    Lan,
    /// The customer router (RouterOS stand-in).
    Router,
    /// The container running the CLAT.
    Clat,
    /// The provider's IPv6-only core router (RouterOS-like), with the
    /// PLAT's container beside it.
    Isp,
    /// The provider's container running the PLAT.
    Plat,
    /// The IPv4 Internet: the servers.
    Internet,
    /// An IPv6-only host of the provider's customers (client A).
    Host6a,
    /// A second IPv6-only host (client B), with an IPv6-only HTTP server.
    Host6b,
}

impl Role {
    /// Every role, in creation order (the index of [`Role::index`]).
    pub const ALL: [Role; 8] =
        [Role::Lan, Role::Router, Role::Clat, Role::Isp, Role::Plat, Role::Internet, Role::Host6a, Role::Host6b];

    /// Position in [`Role::ALL`].
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// Short name, as the demo prints it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Role::Lan => "lan",
            Role::Router => "router",
            Role::Clat => "clat",
            Role::Isp => "isp",
            Role::Plat => "plat",
            Role::Internet => "internet",
            Role::Host6a => "host6a",
            Role::Host6b => "host6b",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The LAN host (IPv4 only).
pub const LAN_HOST: &str = "192.0.2.10";
/// The router on the LAN: the LAN host's default gateway.
pub const ROUTER_LAN: &str = "192.0.2.1";
/// The LAN prefix.
pub const LAN_NET: &str = "192.0.2.0/24";

/// The router's end of the container veth (IPv4, RFC 7335 range).
pub const ROUTER_CTR_V4: &str = "192.0.0.6";
/// The container's end of the veth: the router's IPv4 default gateway.
pub const CLAT_LINK_V4: &str = "192.0.0.5";
/// The container veth's IPv4 prefix.
pub const CTR_NET_V4: &str = "192.0.0.4/30";
/// The router's end of the container veth (IPv6).
pub const ROUTER_CTR_V6: &str = "2001:db8:c::1";
/// The container's end of the veth (IPv6).
pub const CLAT_LINK_V6: &str = "2001:db8:c::2";
/// The container veth's IPv6 prefix.
pub const CTR_NET_V6: &str = "2001:db8:c::/64";

/// The CLAT's IPv4 address (RFC 6877 single-address mode): the router
/// source-NATs the LAN to it.
pub const CLAT_IPV4: &str = "192.0.0.1";
/// The CLAT's IPv6 address, `CLAT_IPV4`'s translation.
pub const CLAT_IPV6: &str = "2001:db8:aaaa::1";
/// The prefix the CLAT's IPv6 addresses come from (routed to the container).
pub const CLAT_NET_V6: &str = "2001:db8:aaaa::/64";
/// Name of the CLAT's TUN device.
pub const CLAT_TUN: &str = "clat";
/// Where the CLAT serves `/metrics` and `/healthz`.
pub const METRICS_LISTEN: &str = "192.0.0.5:9464";
/// The address our CLAT sources its ICMPv4 errors from by default (RFC
/// 7600 IPv4 dummy address), also its RFC 6791 source for ICMPv6 errors
/// from unmappable IPv6 routers.
pub const CLAT_ICMP_SOURCE: &str = "192.0.0.8";
/// The address the TAYGA stand-in CLAT uses for itself (its ICMP errors).
pub const TAYGA_CLAT_IPV4: &str = "192.0.0.2";

/// The router's WAN address (IPv6 only).
pub const ROUTER_WAN: &str = "2001:db8:1::1";
/// The WAN link's prefix (the customer's: a client of the PLAT, so the
/// router itself may use NAT64 too).
pub const ROUTER_WAN_NET: &str = "2001:db8:1::/64";
/// The provider's end of the WAN link: the router's IPv6 default gateway.
pub const ISP_DOWN: &str = "2001:db8:1::2";
/// The provider's IPv4 address toward the Internet.
pub const ISP_UP: &str = "198.51.100.1";
/// The Internet segment.
pub const INTERNET_NET: &str = "198.51.100.0/24";

/// The provider router's end of the PLAT container's veth (IPv4, inside
/// the provider's block `PLAT_NET_V4`).
pub const ISP_PLAT_V4: &str = "203.0.113.65";
/// The PLAT container's end of its veth: where the provider routes pool4.
pub const PLAT_LINK_V4: &str = "203.0.113.66";
/// The PLAT container veth's IPv4 prefix.
pub const PLAT_LINK_NET_V4: &str = "203.0.113.64/30";
/// The provider router's end of the PLAT container's veth (IPv6).
pub const ISP_PLAT_V6: &str = "2001:db8:d::1";
/// The PLAT container's end of its veth: where the provider routes pool6.
pub const PLAT_LINK_V6: &str = "2001:db8:d::2";

/// The PLAT's NAT64 prefix (RFC 6052; the Well-Known Prefix may not carry
/// documentation addresses, RFC 6052 §3.1).
pub const PLAT_PREFIX: &str = "2001:db8:64::/96";
/// TAYGA's own IPv4 address (`ipv4-addr`) when it is the PLAT.
pub const PLAT_IPV4: &str = "203.0.113.1";
/// TAYGA's dynamic pool when it is the PLAT (it contains our pool4): the
/// provider routes it to the PLAT's container.
pub const PLAT_POOL: &str = "203.0.113.128/25";
/// The provider's IPv4 block (pool4, TAYGA's address, the container link).
pub const PLAT_NET_V4: &str = "203.0.113.0/24";
/// Name of the PLAT's TUN device.
pub const PLAT_TUN: &str = "nat64";
/// pool4 of our PLAT (`plat run`), inside `PLAT_POOL`.
pub const XLAT_PLAT_POOL4: &str = "203.0.113.128/30";
/// `/metrics` and `/healthz` of our PLAT, on its container's veth (scraped
/// from the provider router, as the CLAT's are from the customer's).
pub const XLAT_PLAT_METRICS: &str = "[2001:db8:d::2]:9465";

/// The IPv6-only hosts' prefix: a client prefix of our PLAT.
pub const HOSTS6_NET: &str = "2001:db8:6::/48";
/// IPv6-only host A.
pub const HOST6A: &str = "2001:db8:6:a::10";
/// A second address of host A, a client of its own (per-/128 limits) for
/// the test of 2,000 concurrent connections.
pub const HOST6A_MANY: &str = "2001:db8:6:a::20";
/// A third address of host A, a client of its own, for the per-client
/// limit test.
pub const HOST6A_LIMITED: &str = "2001:db8:6:a::21";
/// The provider router on host A's link.
pub const ISP_HOST6A: &str = "2001:db8:6:a::1";
/// IPv6-only host B (an IPv6-only HTTP server runs on it, port 80).
pub const HOST6B: &str = "2001:db8:6:b::10";
/// The provider router on host B's link.
pub const ISP_HOST6B: &str = "2001:db8:6:b::1";
/// The pool4 address of the static BIB entry publishing host B's HTTP server.
pub const STATIC_HTTP_V4: &str = "203.0.113.128";
/// The pool4 port of that static BIB entry.
pub const STATIC_HTTP_PORT: u16 = 8080;

/// The server (HTTP, DNS, iperf3, TCP echo, UDP reflector).
pub const SERVER: &str = "198.51.100.7";
/// `SERVER` as the CLAT translates it (RFC 6052 with `PLAT_PREFIX`).
pub const SERVER_V6: &str = "2001:db8:64::c633:6407";
/// The name the DNS server answers for.
pub const SERVER_NAME: &str = "server.example.test";
/// The server's TCP echo port (RFC 862).
pub const ECHO_PORT: u16 = 7;
/// The server's UDP reflector port: it answers each datagram with the
/// source address and port it saw (`ADDR PORT`), as STUN does.
pub const REFLECTOR_PORT: u16 = 3478;
/// The provider's DNS64 server (IPv6), used in
/// [`Pref64Mode::Auto`](crate::lab::Pref64Mode::Auto) for RFC 7050
/// discovery.
pub const ISP_DNS64: &str = "2001:db8:1::53";

/// `v4` in the PLAT prefix (RFC 6052, /96): how IPv6-only hosts address
/// an IPv4 host through the PLAT.
#[must_use]
pub fn pool6(v4: Ipv4Addr) -> Ipv6Addr {
    let [a, b, c, d] = v4.octets();
    Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]))
}

/// The IPv4 address embedded in `v6` if it lies in the PLAT prefix.
#[must_use]
pub fn from_pool6(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    (s[..6] == [0x2001, 0xdb8, 0x64, 0, 0, 0]).then(|| Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7])))
}

/// Whether `a` is in our PLAT's pool4 (`XLAT_PLAT_POOL4`, 203.0.113.128/30).
#[must_use]
pub fn in_xlat_pool4(a: Ipv4Addr) -> bool {
    u32::from(a) & 0xffff_fffc == u32::from(Ipv4Addr::new(203, 0, 113, 128))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool6_embeds_and_extracts() {
        let server: Ipv4Addr = SERVER.parse().unwrap();
        assert_eq!(pool6(server), SERVER_V6.parse::<Ipv6Addr>().unwrap());
        assert_eq!(from_pool6(pool6(server)), Some(server));
        assert_eq!(from_pool6(HOST6A.parse().unwrap()), None);
        assert!(in_xlat_pool4(STATIC_HTTP_V4.parse().unwrap()));
        assert!(!in_xlat_pool4(PLAT_IPV4.parse().unwrap()));
    }

    #[test]
    fn role_index_follows_all() {
        for (i, r) in Role::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "{r}");
        }
    }
}
