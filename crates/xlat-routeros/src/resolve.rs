//! Facts read from the router before planning: the container's addresses
//! and interface (`/interface/veth`, `/interface/bridge/port`) and, for an
//! automatic CLAT prefix, the DHCPv6-PD pool (`/ipv6/pool`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::{IpNetwork, Ipv6Network};
use routeros_api::RouterOs;

use crate::config::{ClatPrefix, RoleConfig, RoleSpec};
use crate::desired::Site;
use crate::menu::Menu;
use crate::pd::carve;
use crate::value::split_list;
use crate::Error;

/// The container's addresses from a veth's `address` property
/// (`172.17.0.2/24,fd00:172:17::2/64`): the first IPv4 and the first
/// IPv6 that is not link-local.
pub fn veth_addresses(address: &str) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let mut v4 = None;
    let mut v6 = None;
    for item in split_list(address) {
        let ip = item.parse::<IpNetwork>().map(|n| n.ip()).or_else(|_| item.parse::<IpAddr>());
        match ip {
            Ok(IpAddr::V4(a)) if v4.is_none() => v4 = Some(a),
            Ok(IpAddr::V6(a)) if v6.is_none() && (a.segments()[0] & 0xffc0) != 0xfe80 => v6 = Some(a),
            _ => {}
        }
    }
    (v4, v6)
}

/// Reads what `cfg` leaves to the router.
pub async fn resolve<R: RouterOs + Sync>(router: &R, cfg: &RoleConfig) -> Result<Site, Error> {
    let c = &cfg.common;
    let (mut v4, mut v6) = (c.container_v4, c.container_v6);
    let mut iface = c.router_interface.clone();
    if let Some(veth) = &c.veth {
        if v4.is_none() || v6.is_none() {
            let rows = router.print(Menu::Veth.path(), &[("name", veth)]).await?;
            let row = rows.first().ok_or_else(|| {
                Error::router(format!("no /interface/veth named {veth:?}: create it or fix the veth setting"))
            })?;
            let (a4, a6) = veth_addresses(row.get("address").map_or("", String::as_str));
            v4 = v4.or(a4);
            v6 = v6.or(a6);
        }
        if iface.is_none() {
            let ports = router.print(Menu::BridgePort.path(), &[("interface", veth)]).await?;
            iface = Some(ports.first().and_then(|p| p.get("bridge").cloned()).unwrap_or_else(|| veth.clone()));
        }
    }
    let router_interface = iface.ok_or_else(|| Error::config("no router interface: name the veth or the interface"))?;
    let (clat_prefixes, pool) = match &cfg.spec {
        RoleSpec::Clat(clat) => match &clat.prefix {
            ClatPrefix::Static(p) => (p.clone(), None),
            ClatPrefix::Pool(carve_cfg) => {
                let pool = read_pool(router, &carve_cfg.pool).await?;
                (vec![carve(pool, carve_cfg.length, carve_cfg.index)?], Some(pool))
            }
        },
        RoleSpec::Plat(_) => (Vec::new(), None),
    };
    Ok(Site { router_interface, container_v4: v4, container_v6: v6, clat_prefixes, pool })
}

/// The prefix of the `/ipv6/pool` named `name`.
pub async fn read_pool<R: RouterOs + Sync>(router: &R, name: &str) -> Result<Ipv6Network, Error> {
    let rows = router.print(Menu::Ipv6Pool.path(), &[("name", name)]).await?;
    let row = rows.first().ok_or_else(|| {
        Error::router(format!("no /ipv6/pool named {name:?} (is the DHCPv6 client bound, with pool-name={name}?)"))
    })?;
    let prefix = row.get("prefix").map_or("", String::as_str);
    prefix
        .parse::<Ipv6Network>()
        .map_err(|_| Error::router(format!("/ipv6/pool {name:?} has no usable prefix ({prefix:?})")))
}

/// The site from the configuration alone (offline dry run): the router
/// interface and the container's addresses must be given, the CLAT prefix
/// static.
pub fn resolve_offline(cfg: &RoleConfig) -> Result<Site, Error> {
    let c = &cfg.common;
    let router_interface = c
        .router_interface
        .clone()
        .or_else(|| c.veth.clone())
        .ok_or_else(|| Error::config("an offline plan needs the router interface or the veth name"))?;
    let clat_prefixes = match &cfg.spec {
        RoleSpec::Clat(clat) => match &clat.prefix {
            ClatPrefix::Static(p) => p.clone(),
            ClatPrefix::Pool(_) => {
                return Err(Error::config("an offline plan cannot read the DHCPv6-PD pool: give the CLAT prefix"))
            }
        },
        RoleSpec::Plat(_) => Vec::new(),
    };
    Ok(Site { router_interface, container_v4: c.container_v4, container_v6: c.container_v6, clat_prefixes, pool: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_address_lists() {
        let (a, b) = veth_addresses("172.17.0.2/24,fe80::2/64,fd00:172:17::2/64");
        assert_eq!(a, Some("172.17.0.2".parse().unwrap()));
        assert_eq!(b, Some("fd00:172:17::2".parse().unwrap()));
        assert_eq!(veth_addresses(""), (None, None));
        assert_eq!(veth_addresses("2001:db8::5").1, Some("2001:db8::5".parse().unwrap()));
    }
}
