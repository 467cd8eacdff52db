//! The PLAT prefix: static, or discovered (RFC 8781 PREF64 in Router
//! Advertisements, preferred; RFC 7050 DNS as the fallback) and applied
//! live: a new translator configuration is published to the workers
//! atomically, logged and counted. Until a prefix is known the workers run
//! with the EAM entries alone, so IPv4 packets get ICMP unreachable (RFC
//! 7915 §4.4) instead of vanishing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use xlat_core::{Config, Resolved};
use xlat_pref64::{Pref64State, Prefix, RaListener, Source, Transition};

use super::metrics::Metrics;

/// Longest wait for one RFC 7050 lookup.
const DNS_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle wake-up when nothing is scheduled.
const IDLE: Duration = Duration::from_secs(60);

/// Shared handles of the prefix task.
pub(crate) struct PrefixCtx {
    pub(crate) base: Config,
    pub(crate) config_tx: watch::Sender<Option<Arc<Resolved>>>,
    pub(crate) metrics: Arc<Metrics>,
}

impl PrefixCtx {
    /// Installs `prefix` (or none) into the workers' configuration.
    pub(crate) fn apply(&self, prefix: Option<Prefix>, source: &'static str) -> bool {
        let cfg = Config { pool6: prefix, ..self.base.clone() };
        match cfg.validate() {
            Ok(resolved) => {
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
