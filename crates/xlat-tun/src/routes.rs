//! Network-namespace setup shared by the daemons (as in a RouterOS
//! container): forwarding on, prefixes routed into the TUN, everything
//! added removed on exit and put back if the link bounces. Routes go
//! through rtnetlink: a `FROM scratch` image has no `ip` binary.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::{Ipv4Network, Ipv6Network};
use rtnetlink::{Handle, RouteMessageBuilder};

const IPV4_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
const IPV6_FORWARD: &str = "/proc/sys/net/ipv6/conf/all/forwarding";

/// How often a daemon checks that its routes into the TUN are still there
/// (the kernel removes them when the link goes down).
pub const ROUTE_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the namespace could not be configured; one line each, naming the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// A forwarding sysctl cannot be read or turned on.
    #[error("cannot enable forwarding ({path}: {source}): enable it for the container, or run with --no-configure and configure the namespace yourself")]
    Forwarding {
        /// The sysctl file.
        path: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No netlink socket.
    #[error("cannot open a netlink socket: {0}")]
    Netlink(std::io::Error),
    /// A route could not be added (it may exist already: another
    /// translator or the host owns it).
    #[error("cannot add route {route} into the TUN: {message}")]
    Add {
        /// The destination.
        route: String,
        /// The kernel's answer.
        message: String,
    },
}

/// Turns IPv4 and IPv6 forwarding on in this namespace.
pub fn enable_forwarding() -> Result<(), RouteError> {
    for path in [IPV4_FORWARD, IPV6_FORWARD] {
        let now = std::fs::read_to_string(path).map_err(|source| RouteError::Forwarding { path, source })?;
        if now.trim() != "1" {
            std::fs::write(path, "1\n").map_err(|source| RouteError::Forwarding { path, source })?;
        }
    }
    Ok(())
}

/// A destination routed into the TUN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest {
    V4(Ipv4Network),
    V6(Ipv6Network),
}

impl std::fmt::Display for Dest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dest::V4(n) => n.fmt(f),
            Dest::V6(n) => n.fmt(f),
        }
    }
}

/// Routes this process installed into the TUN `ifindex`.
pub struct Installed {
    handle: Handle,
    routes: Vec<Dest>,
    ifindex: u32,
}

impl std::fmt::Debug for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installed").field("routes", &self.routes).field("ifindex", &self.ifindex).finish()
    }
}

/// Installs the routes into the TUN (`ifindex`); on a failure the ones
/// already added are removed again. Needs a tokio runtime.
pub async fn install(ifindex: u32, v4: &[Ipv4Network], v6: &[Ipv6Network]) -> Result<Installed, RouteError> {
    let (conn, handle, _) = rtnetlink::new_connection().map_err(RouteError::Netlink)?;
    tokio::spawn(conn);
    let mut done = Installed { handle, routes: Vec::new(), ifindex };
    for dest in v4.iter().map(|n| Dest::V4(*n)).chain(v6.iter().map(|n| Dest::V6(*n))) {
        if let Err(e) = done.add(dest).await {
            done.remove().await;
            return Err(RouteError::Add { route: dest.to_string(), message: e.to_string() });
        }
        done.routes.push(dest);
    }
    Ok(done)
}

impl Installed {
    async fn add(&self, dest: Dest) -> Result<(), rtnetlink::Error> {
        match dest {
            Dest::V4(n) => {
                let msg = RouteMessageBuilder::<Ipv4Addr>::new()
                    .destination_prefix(n.network(), n.prefix())
                    .output_interface(self.ifindex)
                    .build();
                self.handle.route().add(msg).execute().await
            }
            Dest::V6(n) => {
                let msg = RouteMessageBuilder::<Ipv6Addr>::new()
                    .destination_prefix(n.network(), n.prefix())
                    .output_interface(self.ifindex)
                    .build();
                self.handle.route().add(msg).execute().await
            }
        }
    }

    async fn del(&self, dest: Dest) -> Result<(), rtnetlink::Error> {
        match dest {
            Dest::V4(n) => {
                let msg = RouteMessageBuilder::<Ipv4Addr>::new()
                    .destination_prefix(n.network(), n.prefix())
                    .output_interface(self.ifindex)
                    .build();
                self.handle.route().del(msg).execute().await
            }
            Dest::V6(n) => {
                let msg = RouteMessageBuilder::<Ipv6Addr>::new()
                    .destination_prefix(n.network(), n.prefix())
                    .output_interface(self.ifindex)
                    .build();
                self.handle.route().del(msg).execute().await
            }
        }
    }

    /// Puts back routes the kernel removed (the TUN went down and up):
    /// adds each again, an existing one is left alone. Returns how many
    /// were restored.
    pub async fn ensure(&self) -> usize {
        let mut restored = 0;
        for dest in &self.routes {
            if self.add(*dest).await.is_ok() {
                restored += 1;
            }
        }
        restored
    }

    /// [`ensure`](Self::ensure), logging what came back; the daemons call
    /// it every [`ROUTE_CHECK`].
    pub async fn ensure_logged(&self) {
        let n = self.ensure().await;
        if n > 0 {
            tracing::warn!(restored = n, "routes into the TUN were missing (link bounced?) and are back");
        }
    }

    /// Moves the IPv6 route `old` to `new` (a CLAT prefix that followed
    /// the delegated prefix): adds `new` first, then removes `old`. An
    /// error is returned; [`Installed::ensure`] retries the add.
    pub async fn move_v6(&mut self, old: Ipv6Network, new: Ipv6Network) -> Result<(), RouteError> {
        let (old, new) = (Dest::V6(old), Dest::V6(new));
        if !self.routes.contains(&new) {
            self.routes.push(new);
        }
        let added = self.add(new).await;
        if let Some(i) = self.routes.iter().position(|d| *d == old) {
            self.routes.remove(i);
            if let Err(e) = self.del(old).await {
                tracing::warn!(route = %old, error = %e, "cannot remove the old route");
            }
        }
        added.map_err(|e| RouteError::Add { route: new.to_string(), message: e.to_string() })
    }

    /// Removes every route this process added (errors are logged: the TUN
    /// going away removes its routes anyway).
    pub async fn remove(&mut self) {
        for dest in std::mem::take(&mut self.routes) {
            if let Err(e) = self.del(dest).await {
                tracing::warn!(route = %dest, error = %e, "cannot remove route");
            }
        }
    }
}
