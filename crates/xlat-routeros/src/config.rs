//! What to provision: one role (CLAT or PLAT) of one instance.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnetwork::{Ipv4Network, Ipv6Network};
use xlat_core::rfc6052::Prefix;

use crate::tag::{Role, Tag, DEFAULT_INSTANCE};
use crate::Error;

/// Default interface list of the LAN side (RouterOS default configuration).
pub const DEFAULT_LAN_LIST: &str = "LAN";
/// Default interface list of the WAN side (RouterOS default configuration).
pub const DEFAULT_WAN_LIST: &str = "WAN";
/// RFC 8925 §3.4: `MIN_V6ONLY_WAIT`, the smallest V6ONLY_WAIT a client
/// honours, in seconds.
pub const MIN_V6ONLY_WAIT: u32 = 300;
/// RFC 8925 §4.2 suggests 1800 seconds as the server's V6ONLY_WAIT.
pub const DEFAULT_V6ONLY_WAIT: u32 = 1800;
/// Length of the CLAT prefix carved from a DHCPv6-PD pool by default (a
/// /64: RFC 6877 §6.3 prefers a dedicated /64 for the CLAT).
pub const DEFAULT_CARVE_LENGTH: u8 = 64;

/// TCP MSS clamping on the router for traffic to and from the container
/// (`/ip/firewall/mangle` and `/ipv6/firewall/mangle`, `action=change-mss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MssClamp {
    /// No mangle rules.
    #[default]
    Off,
    /// `new-mss=clamp-to-pmtu`.
    Pmtu,
    /// `new-mss=<bytes>` (e.g. 1440 = 1500-byte IPv6 path minus 60).
    Mss(u16),
}

impl FromStr for MssClamp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "off" => Ok(Self::Off),
            "pmtu" | "clamp-to-pmtu" => Ok(Self::Pmtu),
            _ => match s.parse::<u16>() {
                Ok(n) if n >= 536 => Ok(Self::Mss(n)),
                _ => Err(Error::config(format!(
                    "invalid MSS clamp {s:?}: use off, pmtu or an MSS in bytes from 536 to 65535"
                ))),
            },
        }
    }
}

/// Settings every role shares: where the container is and which
/// interface lists are LAN and WAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// Instance name, the last field of the tag (`xlat:clat:<instance>`).
    pub instance: String,
    /// The container's `/interface/veth`: its `address` gives the
    /// container's IPv4 and IPv6 addresses (the gateways of our routes) and
    /// its bridge, if any, is the interface the firewall rules name.
    pub veth: Option<String>,
    /// The router-side interface facing the container (overrides the
    /// veth's bridge, or the veth itself).
    pub router_interface: Option<String>,
    /// The container's IPv4 address (overrides the veth's).
    pub container_v4: Option<Ipv4Addr>,
    /// The container's IPv6 address (overrides the veth's).
    pub container_v6: Option<Ipv6Addr>,
    /// Interface list of the LAN side (`/interface/list`).
    pub lan_list: String,
    /// Interface list of the WAN side.
    pub wan_list: String,
    /// MSS clamping rules.
    pub mss_clamp: MssClamp,
    /// `distance` of our routes (RouterOS default 1 when unset).
    pub distance: Option<u8>,
}

impl Default for Common {
    fn default() -> Self {
        Self {
            instance: DEFAULT_INSTANCE.to_owned(),
            veth: None,
            router_interface: None,
            container_v4: None,
            container_v6: None,
            lan_list: DEFAULT_LAN_LIST.to_owned(),
            wan_list: DEFAULT_WAN_LIST.to_owned(),
            mss_clamp: MssClamp::Off,
            distance: None,
        }
    }
}

/// Where the CLAT's IPv6 prefix comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClatPrefix {
    /// Configured: the CLAT address(es) as /128s, or the EAM IPv6 prefixes.
    Static(Vec<Ipv6Network>),
    /// Carved from the router's DHCPv6-PD pool (`/ipv6/pool`).
    Pool(PoolCarve),
}

/// Which part of a DHCPv6-PD pool is the CLAT's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolCarve {
    /// `name` of the `/ipv6/pool` (the DHCPv6 client's `pool-name`).
    pub pool: String,
    /// Length of the carved prefix (64 by default).
    pub length: u8,
    /// Which subnet of that length; `None` is the last one, the one
    /// RouterOS hands out last when it allocates from the pool.
    pub index: Option<u128>,
}

impl FromStr for PoolCarve {
    type Err = Error;
    /// `NAME[/LENGTH][@INDEX]`, e.g. `isp-pd`, `isp-pd/64@255`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::config(format!("invalid pool reference {s:?}: use NAME[/LENGTH][@INDEX], e.g. isp-pd/64"));
        let (rest, index) = match s.rsplit_once('@') {
            Some((r, i)) => (r, Some(i.parse::<u128>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let (pool, length) = match rest.rsplit_once('/') {
            Some((p, l)) => (p, l.parse::<u8>().ok().filter(|l| *l <= 128).ok_or_else(bad)?),
            None => (rest, DEFAULT_CARVE_LENGTH),
        };
        if pool.is_empty() {
            return Err(bad());
        }
        Ok(Self { pool: pool.to_owned(), length, index })
    }
}

/// The CLAT role (RFC 6877 §6.3 on the customer router).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClatSpec {
    /// IPv4 destinations the router sends to the container (the CLAT's
    /// `routes-v4`; `0.0.0.0/0` for everything).
    pub routes_v4: Vec<Ipv4Network>,
    /// The CLAT's IPv6 prefix(es), routed to the container.
    pub prefix: ClatPrefix,
    /// Single-address mode: the router NATs the LAN into this CLAT IPv4
    /// address (`192.0.0.1`). `None` with EAM (no NAT44).
    pub nat_to: Option<Ipv4Addr>,
}

/// DHCPv4 option 108, "IPv6-Only Preferred" (RFC 8925).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V6OnlyPreferred {
    /// V6ONLY_WAIT in seconds (at least [`MIN_V6ONLY_WAIT`]).
    pub wait: u32,
    /// `/ip/dhcp-server/network` entries (by `address`) that get the option
    /// added to their `dhcp-option` list; empty: only create the option.
    pub networks: Vec<Ipv4Network>,
}

/// The PLAT role (stateful NAT64, RFC 6146, on the provider router).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatSpec {
    /// The NAT64 prefix (pool6), routed to the container.
    pub pool6: Prefix,
    /// IPv4 source prefixes of the translator (pool4), routed back to it.
    pub pool4: Vec<Ipv4Network>,
    /// IPv6 clients allowed to use the PLAT (the daemon's `clients`);
    /// empty: whatever arrives from the LAN interface list.
    pub clients: Vec<Ipv6Network>,
    /// Non-global IPv4 prefixes the PLAT may reach anyway (the daemon's
    /// `allow-v4`): left out of the non-global lists.
    pub allow_v4: Vec<Ipv4Network>,
    /// Advertise pool6 as PREF64 (RFC 8781) in the Router Advertisements
    /// of the `/ipv6/nd` entry whose `interface` is this.
    pub pref64_interface: Option<String>,
    /// Offer DHCPv4 option 108.
    pub v6only: Option<V6OnlyPreferred>,
}

/// The role-specific part of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSpec {
    /// CLAT.
    Clat(ClatSpec),
    /// PLAT.
    Plat(PlatSpec),
}

impl RoleSpec {
    /// The role.
    pub fn role(&self) -> Role {
        match self {
            RoleSpec::Clat(_) => Role::Clat,
            RoleSpec::Plat(_) => Role::Plat,
        }
    }
}

/// One role of one instance: everything the desired state is computed
/// from, together with what [`resolve()`](crate::resolve()) reads from the
/// router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConfig {
    /// Shared settings.
    pub common: Common,
    /// Role settings.
    pub spec: RoleSpec,
}

impl RoleConfig {
    /// The role.
    pub fn role(&self) -> Role {
        self.spec.role()
    }

    /// The ownership tag, `xlat:<role>:<instance>`.
    pub fn tag(&self) -> Result<Tag, Error> {
        Tag::new(self.role(), &self.common.instance)
    }

    /// Checks what can be checked without the router.
    pub fn validate(&self) -> Result<(), Error> {
        self.tag()?;
        let name_ok = |what: &str, v: &str| {
            if v.is_empty() || v.contains(['"', '\n', '\r']) {
                Err(Error::config(format!("invalid {what} {v:?}: a RouterOS name without quotes or newlines")))
            } else {
                Ok(())
            }
        };
        name_ok("LAN interface list", &self.common.lan_list)?;
        name_ok("WAN interface list", &self.common.wan_list)?;
        if let Some(v) = &self.common.veth {
            name_ok("veth", v)?;
        }
        if let Some(v) = &self.common.router_interface {
            name_ok("router interface", v)?;
        }
        if self.common.veth.is_none() && (self.common.router_interface.is_none() || self.common.container_v6.is_none())
        {
            return Err(Error::config(
                "name the container's veth, or give the router interface and the container's addresses",
            ));
        }
        match &self.spec {
            RoleSpec::Clat(c) => {
                if let ClatPrefix::Static(p) = &c.prefix {
                    if p.is_empty() {
                        return Err(Error::config("the CLAT needs an IPv6 prefix (its address or EAM prefixes)"));
                    }
                }
                if let ClatPrefix::Pool(carve) = &c.prefix {
                    name_ok("IPv6 pool", &carve.pool)?;
                }
            }
            RoleSpec::Plat(p) => {
                if p.pool4.is_empty() {
                    return Err(Error::config("the PLAT needs pool4 (the IPv4 prefixes it translates to)"));
                }
                if let Some(i) = &p.pref64_interface {
                    name_ok("PREF64 interface", i)?;
                    if i.contains(' ') {
                        return Err(Error::config(format!(
                            "PREF64 interface {i:?}: names with spaces are not supported"
                        )));
                    }
                }
                if let Some(v) = &p.v6only {
                    if v.wait < MIN_V6ONLY_WAIT {
                        return Err(Error::config(format!(
                            "V6ONLY_WAIT {} s is below RFC 8925's MIN_V6ONLY_WAIT of {MIN_V6ONLY_WAIT} s",
                            v.wait
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_references() {
        let c: PoolCarve = "isp-pd".parse().unwrap();
        assert_eq!((c.pool.as_str(), c.length, c.index), ("isp-pd", 64, None));
        let c: PoolCarve = "isp-pd/60@3".parse().unwrap();
        assert_eq!((c.pool.as_str(), c.length, c.index), ("isp-pd", 60, Some(3)));
        for bad in ["", "/64", "x/129", "x@y", "x/6x"] {
            assert!(bad.parse::<PoolCarve>().is_err(), "{bad}");
        }
    }

    #[test]
    fn mss_clamp_values() {
        assert_eq!("off".parse::<MssClamp>().unwrap(), MssClamp::Off);
        assert_eq!("pmtu".parse::<MssClamp>().unwrap(), MssClamp::Pmtu);
        assert_eq!("1440".parse::<MssClamp>().unwrap(), MssClamp::Mss(1440));
        assert!("100".parse::<MssClamp>().is_err());
    }
}
