//! The PLAT prefix: static, or discovered (RFC 8781 PREF64 in Router
//! Advertisements, preferred; RFC 7050 DNS as the fallback) and applied
//! live: a new translator configuration is published to the workers
//! atomically, logged and counted. Until a prefix is known the workers run
//! with the EAM entries alone, so IPv4 packets get ICMP unreachable (RFC
//! 7915 §4.4) instead of vanishing.

use std::net::Ipv6Addr;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipnetwork::{Ipv4Network, Ipv6Network};
use tokio::sync::watch;
use xlat_core::rfc7757::{Entry, Table};
use xlat_core::{Config, ConfigError, Resolved};
use xlat_pref64::{Pref64State, Prefix, RaListener, Source, Transition};

use super::metrics::Metrics;

/// Longest wait for one RFC 7050 lookup.
const DNS_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle wake-up when nothing is scheduled.
const IDLE: Duration = Duration::from_secs(60);

/// Shared handles of the prefix task.
#[derive(Clone)]
pub(crate) struct PrefixCtx {
    /// The translator configuration without the PLAT prefix, shared by the
    /// discovery task, SIGHUP and a CLAT prefix change.
    pub(crate) base: Arc<Mutex<Config>>,
    pub(crate) config_tx: watch::Sender<Option<Arc<Resolved>>>,
    pub(crate) metrics: Arc<Metrics>,
}

impl PrefixCtx {
    /// Installs `prefix` (or none) into the workers' configuration.
    pub(crate) fn apply(&self, prefix: Option<Prefix>, source: &'static str) -> bool {
        let base = self.base.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        self.apply_with(base, prefix, source)
    }

    /// Installs `base` with `prefix` (or none); `base` becomes the shared
    /// base only when valid.
    pub(crate) fn apply_with(&self, base: Config, prefix: Option<Prefix>, source: &'static str) -> bool {
        let cfg = Config { pool6: prefix, ..base.clone() };
        match cfg.validate() {
            Ok(resolved) => {
                *self.base.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = base;
                self.config_tx.send_replace(Some(Arc::new(resolved)));
                if let Ok(mut p) = self.metrics.prefix.lock() {
                    if p.current != prefix {
                        p.changes += u64::from(p.current.is_some() || prefix.is_some());
                    }
                    p.current = prefix;
                    p.source = source;
                }
                true
            }
            Err(e) => {
                tracing::error!(prefix = ?prefix.map(|p| p.to_string()), error = %e, "PLAT prefix rejected");
                false
            }
        }
    }
}

/// `cfg` with the CLAT moved from `old` to `new`: the EAM entry of the CLAT
/// address (`clat_ipv4` = `old`/128) and the translator's own IPv6
/// address, if it was `old`. Other entries are kept.
pub(crate) fn move_clat(
    cfg: &Config,
    clat_ipv4: std::net::Ipv4Addr,
    old: Ipv6Addr,
    new: Ipv6Addr,
) -> Result<Config, ConfigError> {
    let (v4, old6) = (Ipv4Network::from(clat_ipv4), Ipv6Network::from(old));
    let mut entries = Vec::new();
    for e in cfg.eam.entries() {
        entries.push(if e.v4() == v4 && e.v6() == old6 { Entry::new(v4, Ipv6Network::from(new))? } else { *e });
    }
    let mut out = cfg.clone();
    out.eam = Table::new(entries)?;
    if out.ipv6_addr == Some(old) {
        out.ipv6_addr = Some(new);
    }
    Ok(out)
}

fn label(s: Source) -> &'static str {
    match s {
        Source::Ra => "ra",
        Source::Dns => "dns",
    }
}

fn on_transition(ctx: &PrefixCtx, t: Transition) {
    let new = t.new.map(|(p, _)| p);
    let source = t.new.map_or("none", |(_, s)| label(s));
    match (t.old, t.new) {
        (None, Some((p, s))) => tracing::info!(prefix = %p, source = %s, "PLAT prefix learned"),
        (Some((o, _)), Some((p, s))) => tracing::warn!(old = %o, prefix = %p, source = %s, "PLAT prefix changed"),
        (Some((o, _)), None) => {
            tracing::warn!(old = %o, "PLAT prefix expired: IPv4 now answered with ICMP unreachable")
        }
        (None, None) => {}
    }
    ctx.apply(new, source);
}

/// Runs discovery until `shutdown` turns true.
pub(crate) async fn discover(
    ctx: PrefixCtx,
    ra_interface: Option<String>,
    dns_server: Option<SocketAddr>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut state = Pref64State::new();
    let mut listener = match RaListener::bind(ra_interface.as_deref()) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for Router Advertisements; using RFC 7050 DNS discovery only");
            None
        }
    };
    if let Some(l) = &listener {
        if ra_interface.is_some() {
            if let Err(e) = l.send_rs().await {
                tracing::debug!(error = %e, "router solicitation not sent");
            }
        }
    }
    // The DNS lookup runs beside the RA listener, never blocking it.
    let mut dns: Option<tokio::task::JoinHandle<Option<xlat_pref64::Discovered>>> = None;
    loop {
        let now = Instant::now();
        if dns.is_none() && state.poll_dns_discovery(now) {
            dns = Some(tokio::spawn(async move {
                match tokio::time::timeout(DNS_TIMEOUT, xlat_pref64::rfc7050_discover(dns_server)).await {
                    Ok(Ok(found)) => Some(found),
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "RFC 7050 discovery failed");
                        None
                    }
                    Err(_) => None,
                }
            }));
        }
        let wake = state.next_deadline().unwrap_or(now + IDLE);
        let ra = async {
            match listener.as_mut() {
                Some(l) => l.next().await,
                None => std::future::pending().await,
            }
        };
        let lookup = async {
            match dns.as_mut() {
                Some(task) => task.await.ok().flatten(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            found = lookup => {
                dns = None;
                match found {
                    Some(found) => {
                        if let Some(t) = state.on_dns(found.prefix(), found.ttl, Instant::now()) {
                            on_transition(&ctx, t);
                        }
                    }
                    None => state.on_dns_failure(Instant::now()),
                }
            }
            r = ra => match r {
                Ok(heard) => {
                    tracing::debug!(prefix = %heard.prefix, lifetime = ?heard.lifetime, router = %heard.router, "PREF64 heard");
                    if let Some(t) = state.on_ra(heard.prefix, heard.lifetime, Instant::now()) {
                        on_transition(&ctx, t);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Router Advertisement listener failed; using DNS only");
                    listener = None;
                }
            },
            () = tokio::time::sleep_until(wake.into()) => {
                if let Some(t) = state.on_timeout(Instant::now()) {
                    on_transition(&ctx, t);
                }
            }
            r = shutdown.changed() => if r.is_err() || *shutdown.borrow() {
                if let Some(task) = dns.take() {
                    task.abort();
                }
                return;
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_clat_swaps_only_the_clat_entry() {
        let mut cfg = Config::default();
        let e = |a: &str, b: &str| Entry::new(a.parse().unwrap(), b.parse().unwrap()).unwrap();
        cfg.eam =
            Table::new([e("192.0.0.1/32", "2001:db8:1200:ff::1/128"), e("10.0.0.0/24", "2001:db8:9::/120")]).unwrap();
        cfg.ipv6_addr = Some("2001:db8:1200:ff::1".parse().unwrap());
        let moved = move_clat(
            &cfg,
            "192.0.0.1".parse().unwrap(),
            "2001:db8:1200:ff::1".parse().unwrap(),
            "2001:db8:3400:ff::1".parse().unwrap(),
        )
        .unwrap();
        let v6: Vec<String> = moved.eam.entries().map(|e| e.v6().to_string()).collect();
        assert!(v6.contains(&"2001:db8:3400:ff::1/128".to_owned()), "{v6:?}");
        assert!(v6.contains(&"2001:db8:9::/120".to_owned()), "{v6:?}");
        assert_eq!(moved.eam.len(), 2);
        assert_eq!(moved.ipv6_addr, Some("2001:db8:3400:ff::1".parse().unwrap()));
    }
}
