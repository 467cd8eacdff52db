//! The lab's addresses, interface names and roles: one place that says what
//! the RouterOS deployment looks like. Every address is from a
//! documentation or special-purpose range (RFC 3849, RFC 5737, RFC 7335).
//!
//! ```text
//!  lan                router (RouterOS)                 clat (container)
//!  eth0 192.0.2.10 -- lan0 192.0.2.1
//!                     ctr0 192.0.0.6/30 2001:db8:c::1 -- eth0 192.0.0.5/30 2001:db8:c::2
//!                                                         TUN "clat": 192.0.0.1 <-> 2001:db8:aaaa::1
//!                     wan0 2001:db8:1::1 --+
//!  isp (PLAT: tayga)                       |
//!  down0 2001:db8:1::2 --------------------+
//!  TUN "nat64": 2001:db8:64::/96 <-> 203.0.113.128/25, itself 203.0.113.1
//!  up0 198.51.100.1/24 -- eth0 198.51.100.7  internet (HTTP, DNS, iperf3)
//! ```

/// A namespace of the lab, named after the machine it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The IPv4-only LAN host.
    Lan,
    /// The customer router (RouterOS stand-in).
    Router,
    /// The container running the CLAT.
    Clat,
    /// The provider's IPv6-only core with the PLAT.
    Isp,
    /// The IPv4 Internet: the servers.
    Internet,
}

impl Role {
    /// Every role, in creation order (the index of [`Role::index`]).
    pub const ALL: [Role; 5] = [Role::Lan, Role::Router, Role::Clat, Role::Isp, Role::Internet];

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
            Role::Internet => "internet",
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
/// The provider's end of the WAN link: the router's IPv6 default gateway.
pub const ISP_DOWN: &str = "2001:db8:1::2";
/// The provider's IPv4 address toward the Internet.
pub const ISP_UP: &str = "198.51.100.1";
/// The Internet segment.
pub const INTERNET_NET: &str = "198.51.100.0/24";

/// The PLAT's NAT64 prefix (RFC 6052; the Well-Known Prefix may not carry
/// documentation addresses, RFC 6052 §3.1).
pub const PLAT_PREFIX: &str = "2001:db8:64::/96";
/// The PLAT's own IPv4 address (TAYGA `ipv4-addr`).
pub const PLAT_IPV4: &str = "203.0.113.1";
/// The PLAT's dynamic pool: the IPv4 sources the servers see.
pub const PLAT_POOL: &str = "203.0.113.128/25";
/// The PLAT's IPv4 range, routed into its TUN.
pub const PLAT_NET_V4: &str = "203.0.113.0/24";
/// Name of the PLAT's TUN device.
pub const PLAT_TUN: &str = "nat64";
/// pool4 of our PLAT (`plat run`), inside `PLAT_NET_V4`.
pub const XLAT_PLAT_POOL4: &str = "203.0.113.128/30";
/// `/metrics` of our PLAT, in `isp`.
pub const XLAT_PLAT_METRICS: &str = "[::1]:9465";

/// The server (HTTP, DNS, iperf3).
pub const SERVER: &str = "198.51.100.7";
/// `SERVER` as the CLAT translates it (RFC 6052 with `PLAT_PREFIX`).
pub const SERVER_V6: &str = "2001:db8:64::c633:6407";
/// The name the DNS server answers for.
pub const SERVER_NAME: &str = "server.example.test";
/// The provider's DNS64 server (IPv6), used in
/// [`Pref64Mode::Auto`](crate::lab::Pref64Mode::Auto) for RFC 7050
/// discovery.
pub const ISP_DNS64: &str = "2001:db8:1::53";
