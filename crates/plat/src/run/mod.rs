//! `plat run`: the stateful NAT64 daemon (RFC 6146) as the PLAT of 464XLAT.
//! The provider's router sends IPv6 for the PLAT prefix (pool6) and IPv4
//! for pool4 to this namespace; the kernel routes both into our TUN; each
//! worker runs the pipeline of [`crate::engine`] and writes the result
//! back; the kernel forwards it.
//!
//! Lifecycle: validate settings (exit 2 on a bad one) -> log one line of
//! the effective configuration -> open the TUN -> forwarding and routes
//! for pool6 and pool4 (unless `--no-configure`) -> `/metrics` -> workers
//! (one TUN queue each, one shared [`xlat_nat64::ShardedNat64`] with a
//! shard per worker: no global lock) -> signals: SIGHUP reloads what can
//! be reloaded (see [`crate::settings`]) atomically, SIGTERM/SIGINT stop
//! cleanly, remove the routes and exit 0.
//!
//! RouterOS self-provisioning (`XLAT_ROUTEROS_*`, [`xlat_routeros`]): once
//! the workers run, the router gets the routes to pool6 and pool4, the
//! firewall rules for the clients and the optional PREF64 / option 108,
//! re-checked every `XLAT_ROUTEROS_RECHECK`; on SIGTERM they are removed
//! first (with `XLAT_ROUTEROS_REMOVE_ON_EXIT=true`), then the local routes.

mod metrics;
mod netcfg;
mod worker;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use ipnetwork::Ipv6Network;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use xlat_core::{Counters, Resolved};
use xlat_nat64::Timestamp;
use xlat_tun::{IoCounters, TunConfig};

use crate::engine::{Engine, Shared};
use crate::settings::{LogFormat, RunArgs, RunSettings};
use metrics::Metrics;

/// Installs the log subscriber: stdout, text or JSON, `RUST_LOG` filter
/// (default `info`).
fn init_logging(format: LogFormat) {
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
        .thread_name("plat")
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(daemon(args, settings))
}

fn strings<T: ToString>(v: impl IntoIterator<Item = T>) -> Vec<String> {
    v.into_iter().map(|x| x.to_string()).collect()
}

async fn daemon(args: RunArgs, s: RunSettings) -> anyhow::Result<()> {
    let n = &s.plat.nat64;
    let t = &n.timeouts;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        tun = %s.tun_name, tun_mtu = s.tun_mtu, pool6 = %n.pool6,
        pool4 = ?n.pool4.iter().map(|e| format!("{} tcp {} udp {} icmp {}", e.addr,
            e.tcp.map_or("-".into(), |r| r.to_string()), e.udp.map_or("-".into(), |r| r.to_string()),
            e.icmp.map_or("-".into(), |r| r.to_string()))).collect::<Vec<_>>(),
        clients = ?strings(&n.clients), allow_v4 = ?strings(&n.v4_allow),
        static_bib = ?strings(&n.static_bib), filtering = ?n.filtering, drop_external_tcp = n.drop_external_tcp,
        udp_timeout_s = t.udp.as_secs(), tcp_est_timeout_s = t.tcp_est.as_secs(),
        tcp_trans_timeout_s = t.tcp_trans.as_secs(), tcp_incoming_syn_timeout_s = t.tcp_incoming_syn.as_secs(),
        icmp_timeout_s = t.icmp.as_secs(),
        max_sessions = n.max_sessions, max_sessions_per_client = n.max_sessions_per_client,
        client_granularity = n.client_granularity.prefix_len(), max_held_syns = n.max_held_syns,
        mapping_log = s.plat.mapping_log,
        ipv4_addr = %s.plat.translator.ipv4_addr, ipv6_addr = ?s.plat.own_ipv6().map(|a| a.to_string()),
        mtu_v6 = s.plat.translator.mtu_v6, mtu_v4 = s.plat.translator.mtu_v4,
        mss_clamp = ?s.plat.translator.mss_clamp,
        configure = s.configure, workers = s.workers,
        metrics = ?s.metrics_listen.map(|a| a.to_string()),
        "plat starting"
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
        let v4 = netcfg::pool4_routes(&s.plat.pool4_addrs());
        let pool6 = Ipv6Network::new(n.pool6.addr(), n.pool6.prefix_len()).context("pool6 as a route")?;
        routes = Some(netcfg::install(ifindex, &v4, &[pool6]).await?);
        tracing::info!(tun = %s.tun_name, v4 = ?strings(&v4), v6 = %pool6, "routes into the TUN installed");
    }
    let result = serve(&args, &s, tun, &mut routes).await;
    // On an early failure: the routes this process added go too.
    if let Some(r) = routes.as_mut() {
        r.remove().await;
    }
    result
}

async fn serve(
    args: &RunArgs,
    s: &RunSettings,
    tun: xlat_tun::DetachedTun,
    routes: &mut Option<netcfg::Installed>,
) -> anyhow::Result<()> {
    let shared = Arc::new(Shared::new(&s.plat, usize::from(s.workers))?);
    let io = IoCounters::new();
    let published: Vec<Arc<Mutex<Counters>>> =
        (0..s.workers).map(|_| Arc::new(Mutex::new(Counters::default()))).collect();
    let metrics = Arc::new(Metrics {
        workers: published.clone(),
        io: Arc::clone(&io),
        offload: tun.offload(),
        shared: Arc::clone(&shared),
        reloads: Mutex::new(0),
    });
    let _endpoint = match s.metrics_listen {
        Some(addr) => Some(metrics::serve(addr, Arc::clone(&metrics))?),
        None => None,
    };

    let initial: Resolved = s.plat.translator.clone().validate()?;
    let (config_tx, config_rx) = watch::channel(Arc::new(initial.clone()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let start = Instant::now();
    let mut workers = xlat_tun::Workers::new();
    for (queue, slot) in tun.into_queues().into_iter().zip(published) {
        let seed = crate::settings::random_seed() as u32;
        let engine = Engine::new(Arc::clone(&shared), initial.clone(), seed);
        let proc = worker::PlatWorker::new(engine, start, config_rx.clone(), slot);
        workers
            .spawn("plat-worker", queue, proc, stop_rx.clone(), Arc::clone(&io))
            .context("cannot start a worker thread")?;
    }
    tracing::info!(workers = s.workers, "plat running");
    // RouterOS self-provisioning: at start, then every re-check period.
    let routeros = s
        .routeros
        .clone()
        .map(|(prov, spec)| xlat_routeros::SelfProvision::new(prov).spawn(xlat_routeros::RoleSpec::Plat(spec)));

    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let mut current = s.clone();
    let mut route_check = tokio::time::interval(xlat_tun::routes::ROUTE_CHECK);
    route_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let outcome = loop {
        tokio::select! {
            _ = term.recv() => break Ok("SIGTERM"),
            _ = int.recv() => break Ok("SIGINT"),
            _ = route_check.tick() => {
                if let Some(r) = routes.as_ref() {
                    r.ensure_logged().await;
                }
            }
            _ = hup.recv() => {
                let now = Timestamp::from(start.elapsed());
                if let Some(next) = reload(args, &current, &shared, &config_tx, now) {
                    current = next;
                    if let Ok(mut r) = metrics.reloads.lock() {
                        *r += 1;
                    }
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
    let c = metrics.counters();
    let nat = shared.nat.stats();
    match outcome {
        Ok(sig) => {
            tracing::info!(
                signal = sig,
                v4_to_v6 = c.v4_to_v6_packets,
                v6_to_v4 = c.v6_to_v4_packets,
                dropped = c.drops.iter().sum::<u64>() + nat.drops.iter().sum::<u64>(),
                sessions = nat.total_sessions(),
                "plat stopping"
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// SIGHUP: re-reads flags/env and the configuration file and applies, all
/// or nothing, what can change while running: allow-lists (clients,
/// allow-v4), limits (per-client sessions, held SYNs), timers, the
/// external-TCP policy, the mapping-log switch, and the translator knobs
/// that do not change addresses. The rest is reported and not applied.
/// Returns the new settings when applied.
fn reload(
    args: &RunArgs,
    old: &RunSettings,
    shared: &Shared,
    config_tx: &watch::Sender<Arc<Resolved>>,
    now: Timestamp,
) -> Option<RunSettings> {
    let new = match args.resolve() {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "reload rejected; keeping the running configuration");
            return None;
        }
    };
    let (a, b) = (&old.plat.nat64, &new.plat.nat64);
    let fixed = a.pool6 != b.pool6
        || a.pool4 != b.pool4
        || a.filtering != b.filtering
        || a.max_sessions != b.max_sessions
        || a.client_granularity != b.client_granularity
        || a.static_bib != b.static_bib
        || old.tun_name != new.tun_name
        || old.workers != new.workers
        || old.metrics_listen != new.metrics_listen;
    if fixed {
        tracing::warn!(
            "pool6, pool4, filtering, max-sessions, client-granularity, static-bib, tun-name, workers and \
             metrics-listen changes need a restart; not applied"
        );
    }
    // The fixed settings stay as they run; the rest comes from the file.
    let mut cfg = a.clone();
    cfg.clients = b.clients.clone();
    cfg.v4_allow = b.v4_allow.clone();
    cfg.timeouts = b.timeouts;
    cfg.max_sessions_per_client = b.max_sessions_per_client;
    cfg.max_held_syns = b.max_held_syns;
    cfg.drop_external_tcp = b.drop_external_tcp;
    if let Err(e) = shared.nat.reconfigure(now, &cfg) {
        tracing::error!(error = %e, "reload rejected; keeping the running configuration");
        return None;
    }
    shared.mapping_log.store(new.plat.mapping_log, Relaxed);
    let mut translator = new.plat.translator.clone();
    translator.pool6 = old.plat.translator.pool6;
    match translator.clone().validate() {
        Ok(r) => {
            let _ = config_tx.send(Arc::new(r));
        }
        Err(e) => tracing::warn!(error = %e, "translator settings not reloaded"),
    }
    tracing::info!(
        clients = ?strings(&cfg.clients), allow_v4 = ?strings(&cfg.v4_allow),
        max_sessions_per_client = cfg.max_sessions_per_client, mapping_log = new.plat.mapping_log,
        udp_timeout_s = cfg.timeouts.udp.as_secs(), "configuration reloaded"
    );
    let mut applied = old.clone();
    applied.plat.nat64 = cfg;
    applied.plat.mapping_log = new.plat.mapping_log;
    applied.plat.translator = translator;
    Some(applied)
}
