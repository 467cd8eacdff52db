//! Network-namespace setup of the container (RFC 6877 §6.3 as it runs in a
//! RouterOS container): forwarding on, IPv4 destinations into the TUN, the
//! CLAT IPv6 prefixes into the TUN. Everything added is removed on exit.
//! Routes go through rtnetlink (the image has no `ip` binary).

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

/// Routes this process installed, removed by [`Installed::remove`].
pub(crate) struct Installed {
    handle: Handle,
    v4: Vec<Ipv4Network>,
    v6: Vec<Ipv6Network>,
    ifindex: u32,
}

/// Installs the routes into the TUN (`ifindex`). A route that already
/// exists is an error naming it (another CLAT or the host owns it).
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
    /// Puts back routes the kernel removed (the TUN went down and up):
    /// adds each again, an existing one is left alone. Returns how many
    /// were restored.
    pub(crate) async fn ensure(&self) -> usize {
        let mut restored = 0;
        for net in &self.v4 {
            let msg = RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(net.network(), net.prefix())
                .output_interface(self.ifindex)
                .build();
            if self.handle.route().add(msg).execute().await.is_ok() {
                restored += 1;
            }
        }
        for net in &self.v6 {
            let msg = RouteMessageBuilder::<Ipv6Addr>::new()
                .destination_prefix(net.network(), net.prefix())
                .output_interface(self.ifindex)
                .build();
            if self.handle.route().add(msg).execute().await.is_ok() {
                restored += 1;
            }
        }
        restored
    }

    /// Moves the IPv6 route `old` into the TUN to `new` (the CLAT prefix
    /// followed the delegated prefix): adds `new` first, then removes
    /// `old`. A failure is returned; the route check retries the add.
    pub(crate) async fn move_v6(&mut self, old: Ipv6Network, new: Ipv6Network) -> anyhow::Result<()> {
        if !self.v6.contains(&new) {
            self.v6.push(new);
        }
        let msg = RouteMessageBuilder::<Ipv6Addr>::new()
            .destination_prefix(new.network(), new.prefix())
            .output_interface(self.ifindex)
            .build();
        let added = self.handle.route().add(msg).execute().await;
        if let Some(i) = self.v6.iter().position(|n| *n == old) {
            self.v6.remove(i);
            let msg = RouteMessageBuilder::<Ipv6Addr>::new()
                .destination_prefix(old.network(), old.prefix())
                .output_interface(self.ifindex)
                .build();
            if let Err(e) = self.handle.route().del(msg).execute().await {
                tracing::warn!(route = %old, error = %e, "cannot remove the old CLAT route");
            }
        }
        added.with_context(|| format!("cannot add route {new} into the TUN"))
    }

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
