//! `clat run`: the CLAT daemon (RFC 6877 §6.3) as it runs in a RouterOS
//! container. The router sends LAN IPv4 to the container; the container's
//! kernel routes it into our TUN; each worker translates (xlat-core) and
//! writes the IPv6 packet back; the kernel forwards it to the router. The
//! reverse for replies.
//!
//! Lifecycle: validate settings (exit 2 on a bad one) -> open the TUN ->
//! forwarding and routes (unless `--no-configure`) -> `/metrics` -> workers
//! -> PLAT prefix (static or discovery) -> signals: SIGHUP reloads the
//! configuration file atomically, SIGTERM/SIGINT stop cleanly, remove the
//! routes and exit 0.
//!
//! RouterOS self-provisioning (`XLAT_ROUTEROS_*`): the router is
//! provisioned once the workers run and re-checked periodically. With
//! `--routeros-clat-pool` the CLAT prefix is carved from the router's
//! DHCPv6-PD pool; when the ISP delegates another prefix, the re-check
//! reports it and the CLAT address moves into it (same interface bits):
//! new EAM entry through the SIGHUP channel, local route moved, counted in
//! `xlat_clat_prefix_changes_total`.

mod metrics;
mod netcfg;
mod prefix;
pub(crate) mod settings;
mod worker;

use portable_atomic::{AtomicU64, Ordering::Relaxed};
use std::net::Ipv6Addr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use ipnetwork::Ipv6Network;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use xlat_core::{Counters, Resolved};
use xlat_tun::{IoCounters, TunConfig};

use metrics::{Metrics, PrefixStatus};
use settings::{LogFormat, PlatPrefix, RunArgs, RunSettings};

/// Installs the log subscriber: stdout, text or JSON, `RUST_LOG` filter
/// (default `info`).
pub(crate) fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stdout);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Runs the daemon until SIGTERM/SIGINT.
pub(crate) fn run(args: RunArgs, settings: RunSettings) -> anyhow::Result<()> {
    init_logging(settings.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // Control tasks only (signals, prefix discovery, RouterOS): the
        // workers run on threads of their own (xlat_tun::Workers).
        .worker_threads(1)
        .thread_name("clat")
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(daemon(args, settings))
}

async fn daemon(args: RunArgs, s: RunSettings) -> anyhow::Result<()> {
    let plat = match s.plat {
        PlatPrefix::Static(p) => p.to_string(),
        PlatPrefix::Auto => "auto".into(),
    };
    let eam: Vec<String> = s.translator.eam.entries().map(ToString::to_string).collect();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        tun = %s.tun_name, tun_mtu = s.tun_mtu, plat_prefix = %plat, eam = ?eam,
        clat_ipv4 = %s.clat_ipv4, clat_ipv6 = ?s.clat_ipv6.map(|a| a.to_string()),
        mtu_v6 = s.translator.mtu_v6, mtu_v4 = s.translator.mtu_v4,
        lowest_ipv6_mtu = s.translator.lowest_ipv6_mtu, mss_clamp = ?s.translator.mss_clamp,
        routes_v4 = ?s.routes_v4.iter().map(ToString::to_string).collect::<Vec<_>>(),
        configure = s.configure, workers = s.workers,
        metrics = ?s.metrics_listen.map(|a| a.to_string()),
        "clat starting"
    );

    let tun_cfg =
        TunConfig { name: s.tun_name.clone(), mtu: s.tun_mtu, queues: usize::from(s.workers), offload: false };
    let (tun, offload) =
        xlat_tun::open_with(&tun_cfg, s.offload).with_context(|| format!("cannot create TUN {}", s.tun_name))?;
    if offload {
        tracing::info!(tun = %s.tun_name, "TUN offloads on: TCP super-packets are translated once");
    } else if s.offload == xlat_tun::OffloadMode::Auto {
        tracing::warn!(tun = %s.tun_name, "the kernel refused TUN offloads: one packet per read and write");
    }
    let ifindex = tun.if_index();

    let mut routes = None;
    if s.configure {
        netcfg::enable_forwarding()?;
        let v4 = netcfg::expand_default(&s.routes_v4);
        let v6 = s.clat_v6_prefixes();
        routes = Some(netcfg::install(ifindex, &v4, &v6).await?);
        tracing::info!(tun = %s.tun_name, v4 = ?v4.iter().map(ToString::to_string).collect::<Vec<_>>(),
            v6 = ?v6.iter().map(ToString::to_string).collect::<Vec<_>>(), "routes into the TUN installed");
    }
    serve(&args, &s, tun, routes).await
}

async fn serve(
    args: &RunArgs,
    s: &RunSettings,
    tun: xlat_tun::DetachedTun,
    mut routes: Option<netcfg::Installed>,
) -> anyhow::Result<()> {
    let io = IoCounters::new();
    let published: Vec<Arc<Mutex<Counters>>> =
        (0..s.workers).map(|_| Arc::new(Mutex::new(Counters::default()))).collect();
    let metrics = Arc::new(Metrics {
        workers: published.clone(),
        io: Arc::clone(&io),
        offload: tun.offload(),
        prefix: Mutex::new(PrefixStatus { current: None, source: "none", changes: 0 }),
        reloads: Mutex::new(0),
        clat_prefix_changes: AtomicU64::new(0),
    });
    let _endpoint = match s.metrics_listen {
        Some(addr) => Some(metrics::serve(addr, Arc::clone(&metrics))?),
        None => None,
    };

    let initial: Resolved = s.translator.clone().validate()?;
    let (config_tx, config_rx) = watch::channel::<Option<Arc<Resolved>>>(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut workers = xlat_tun::Workers::new();
    for (queue, slot) in tun.into_queues().into_iter().zip(published) {
        let proc = worker::ClatWorker::new(config_rx.clone(), slot, initial.clone());
        workers
            .spawn("clat-worker", queue, proc, stop_rx.clone(), Arc::clone(&io))
            .context("cannot start a worker thread")?;
    }

    let ctx = prefix::PrefixCtx {
        base: Arc::new(Mutex::new(s.translator.clone())),
        config_tx,
        metrics: Arc::clone(&metrics),
    };
    let mut discovery = None;
    match s.plat {
        PlatPrefix::Static(p) => {
            ctx.apply(Some(p), "static");
        }
        PlatPrefix::Auto => {
            let (ra, dns) = (s.ra_interface.clone(), s.dns_server);
            discovery = Some(tokio::spawn(prefix::discover(ctx.clone(), ra, dns, stop_rx.clone())));
        }
    }
    tracing::info!(workers = s.workers, "clat running");
    // RouterOS self-provisioning: at start, then every re-check period.
    let routeros = s.routeros.clone().map(|p| xlat_routeros::SelfProvision::new(p).spawn(s.routeros_role()));
    // With --routeros-clat-pool the CLAT follows the delegated prefix.
    let mut clat_prefix = routeros.as_ref().filter(|_| s.clat_pool.is_some()).map(xlat_routeros::Running::clat_prefix);
    let mut clat_v6 = s.clat_ipv6;

    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let mut route_check = tokio::time::interval(xlat_tun::routes::ROUTE_CHECK);
    route_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let outcome = loop {
        tokio::select! {
            _ = term.recv() => break Ok("SIGTERM"),
            _ = int.recv() => break Ok("SIGINT"),
            _ = hup.recv() => reload(args, s, &ctx, &metrics, clat_v6),
            p = next_clat_prefix(&mut clat_prefix) => {
                follow_clat_prefix(s, &ctx, &metrics, &mut clat_v6, routes.as_mut(), p).await;
            }
            _ = route_check.tick() => {
                if let Some(r) = routes.as_ref() {
                    r.ensure_logged().await;
                }
            }
            (queue, done) = workers.next_exit() => {
                break Err(match done {
                    Ok(()) => anyhow::anyhow!("worker {queue} stopped unexpectedly"),
                    Err(e) => anyhow::Error::new(e).context(format!("worker {queue}: TUN read failed")),
                });
            }
        }
    };
    // The router first (it stops sending traffic here when
    // XLAT_ROUTEROS_REMOVE_ON_EXIT=true), then the local routes.
    if let Some(p) = routeros {
        p.shutdown().await;
    }
    // Routes first, while the TUN still exists; then the workers, whose
    // queues hold the device.
    if let Some(r) = routes.as_mut() {
        r.remove().await;
        tracing::info!("routes removed");
    }
    let _ = stop_tx.send(true);
    let _ = tokio::task::spawn_blocking(move || workers.join()).await;
    if let Some(d) = discovery {
        d.abort();
    }
    let c = metrics.counters();
    match outcome {
        Ok(sig) => {
            tracing::info!(
                signal = sig,
                v4_to_v6 = c.v4_to_v6_packets,
                v6_to_v4 = c.v6_to_v4_packets,
                dropped = c.drops.iter().sum::<u64>(),
                "clat stopping"
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// SIGHUP: re-read the configuration file and swap the translator
/// configuration atomically (EAM table, prefix, knobs). Settings that need
/// a restart (TUN, routes, workers) are reported, not applied.
fn reload(args: &RunArgs, old: &RunSettings, ctx: &prefix::PrefixCtx, metrics: &Metrics, clat_v6: Option<Ipv6Addr>) {
    let new = match args.resolve() {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "reload rejected; keeping the running configuration");
            return;
        }
    };
    if new.tun_name != old.tun_name || new.workers != old.workers || new.routes_v4 != old.routes_v4 {
        tracing::warn!("tun-name, workers and routes-v4 changes need a restart; not applied");
    }
    // Keep a discovered prefix when the new configuration still says auto.
    let current = metrics.prefix.lock().ok().and_then(|p| p.current);
    let (prefix, source) = match new.plat {
        PlatPrefix::Static(p) => (Some(p), "static"),
        PlatPrefix::Auto => (current, "auto"),
    };
    // Keep the CLAT where the delegated prefix moved it.
    let mut base = new.translator.clone();
    if let (Some(now), Some(configured), Some(_)) = (clat_v6, new.clat_ipv6, &new.clat_pool) {
        if now != configured {
            match prefix::move_clat(&base, new.clat_ipv4, configured, now) {
                Ok(moved) => base = moved,
                Err(e) => {
                    tracing::error!(error = %e, "reload rejected; keeping the running configuration");
                    return;
                }
            }
        }
    }
    if ctx.apply_with(base, prefix, source) {
        if let Ok(mut r) = metrics.reloads.lock() {
            *r += 1;
        }
        tracing::info!(eam = new.translator.eam.len(), prefix = ?prefix.map(|p| p.to_string()), "configuration reloaded");
    }
}

/// The next automatic CLAT prefix published by the provisioning task;
/// never ready without one.
async fn next_clat_prefix(rx: &mut Option<watch::Receiver<Option<Ipv6Network>>>) -> Ipv6Network {
    loop {
        let Some(r) = rx.as_mut() else { return std::future::pending().await };
        if r.changed().await.is_err() {
            *rx = None;
            continue;
        }
        if let Some(p) = *r.borrow_and_update() {
            return p;
        }
    }
}

/// The delegated prefix moved (issue 5): the CLAT address moves into the
/// new carved `prefix` (same interface bits), the translator gets the new
/// EAM entry through the same channel as SIGHUP, and the local route into
/// the TUN follows. Logged and counted (`xlat_clat_prefix_changes_total`).
async fn follow_clat_prefix(
    s: &RunSettings,
    ctx: &prefix::PrefixCtx,
    metrics: &Metrics,
    current: &mut Option<Ipv6Addr>,
    routes: Option<&mut netcfg::Installed>,
    prefix: Ipv6Network,
) {
    let (Some(old), Some(new)) = (*current, s.clat_ipv6_in(prefix)) else { return };
    if old == new {
        return;
    }
    let base = ctx.base.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let moved = match prefix::move_clat(&base, s.clat_ipv4, old, new) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(prefix = %prefix, error = %e, "cannot move the CLAT into the new delegated prefix");
            return;
        }
    };
    let (plat, source) = metrics.prefix.lock().map(|p| (p.current, p.source)).unwrap_or((None, "none"));
    if !ctx.apply_with(moved, plat, source) {
        return;
    }
    *current = Some(new);
    metrics.clat_prefix_changes.fetch_add(1, Relaxed);
    tracing::warn!(old = %old, new = %new, clat_prefix = %prefix, "delegated prefix changed: CLAT address moved, translator reconfigured");
    if let Some(r) = routes {
        match r.move_v6(Ipv6Network::from(old), Ipv6Network::from(new)).await {
            Ok(()) => tracing::info!(old = %old, new = %new, "CLAT route into the TUN moved"),
            Err(e) => tracing::warn!(error = %e, "CLAT route into the TUN not moved yet; the route check retries"),
        }
    }
}
