//! Network-namespace setup (as in a RouterOS container): forwarding on,
//! the PLAT prefix (pool6) and pool4 routed into the TUN. Everything added
//! is removed on exit. Routes go through rtnetlink (the image has no `ip`
//! binary).

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::{bail, Context};
use ipnetwork::{Ipv4Network, Ipv6Network};
use rtnetlink::{Handle, RouteMessageBuilder};

const IPV4_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
const IPV6_FORWARD: &str = "/proc/sys/net/ipv6/conf/all/forwarding";

/// Turns forwarding on in this namespace; an error names the fix.
pub(crate) fn enable_forwarding() -> anyhow::Result<()> {
    for path in [IPV4_FORWARD, IPV6_FORWARD] {
        let now = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        if now.trim() == "1" {
            continue;
        }
        if let Err(e) = std::fs::write(path, "1\n") {
            bail!("cannot enable forwarding ({path}: {e}): enable it for the container, or run with --no-configure and configure the namespace yourself");
        }
    }
    Ok(())
}

/// Routes this process installed, removed by [`Installed::remove`].
pub(crate) struct Installed {
    handle: Handle,
    v4: Vec<Ipv4Network>,
    v6: Vec<Ipv6Network>,
    ifindex: u32,
}

/// Installs the routes into the TUN (`ifindex`). A route that already
/// exists is an error naming it (another NAT64 or the host owns it).
pub(crate) async fn install(ifindex: u32, v4: &[Ipv4Network], v6: &[Ipv6Network]) -> anyhow::Result<Installed> {
    let (conn, handle, _) = rtnetlink::new_connection().context("cannot open a netlink socket")?;
    tokio::spawn(conn);
    let mut done = Installed { handle: handle.clone(), v4: Vec::new(), v6: Vec::new(), ifindex };
    for net in v4 {
        let msg = RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(net.network(), net.prefix())
            .output_interface(ifindex)
            .build();
        if let Err(e) = handle.route().add(msg).execute().await {
            done.remove().await;
            bail!("cannot add route {net} into the TUN: {e}");
        }
        done.v4.push(*net);
    }
    for net in v6 {
        let msg = RouteMessageBuilder::<Ipv6Addr>::new()
            .destination_prefix(net.network(), net.prefix())
            .output_interface(ifindex)
            .build();
        if let Err(e) = handle.route().add(msg).execute().await {
            done.remove().await;
            bail!("cannot add route {net} into the TUN: {e}");
        }
        done.v6.push(*net);
    }
    Ok(done)
}

impl Installed {
    /// Removes every route this process added (errors are logged: the TUN
    /// going away removes its routes anyway).
    pub(crate) async fn remove(&mut self) {
        for net in self.v4.drain(..) {
            let msg = RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(net.network(), net.prefix())
                .output_interface(self.ifindex)
                .build();
            if let Err(e) = self.handle.route().del(msg).execute().await {
                tracing::warn!(route = %net, error = %e, "cannot remove route");
            }
        }
        for net in self.v6.drain(..) {
            let msg = RouteMessageBuilder::<Ipv6Addr>::new()
                .destination_prefix(net.network(), net.prefix())
                .output_interface(self.ifindex)
                .build();
            if let Err(e) = self.handle.route().del(msg).execute().await {
                tracing::warn!(route = %net, error = %e, "cannot remove route");
            }
        }
    }
}

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
