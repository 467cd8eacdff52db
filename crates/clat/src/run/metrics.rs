//! `/metrics` (Prometheus text format 0.0.4) and `/healthz`, served by a
//! small HTTP server on its own thread (tiny_http), off the packet path.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use xlat_core::rfc6052::Prefix;
use xlat_core::{Counters, DropReason};
use xlat_tun::IoCounters;

/// The PLAT prefix in use, where it came from, and how often it changed.
#[derive(Debug, Clone, Default)]
pub(crate) struct PrefixStatus {
    pub(crate) current: Option<Prefix>,
    pub(crate) source: &'static str,
    pub(crate) changes: u64,
}

/// What the endpoint reports; shared with the workers and the prefix task.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// One snapshot per worker, published by [`super::worker::ClatWorker`].
    pub(crate) workers: Vec<Arc<Mutex<Counters>>>,
    pub(crate) io: Arc<IoCounters>,
    /// Whether the TUN runs with offloads.
    pub(crate) offload: bool,
    pub(crate) prefix: Mutex<PrefixStatus>,
    pub(crate) reloads: Mutex<u64>,
    /// Times the CLAT prefix followed a new delegated prefix.
    pub(crate) clat_prefix_changes: portable_atomic::AtomicU64,
}

impl Metrics {
    /// The translator counters summed over the workers.
    pub(crate) fn counters(&self) -> Counters {
        let mut total = Counters::default();
        for w in &self.workers {
            if let Ok(c) = w.lock() {
                total.add(&c);
            }
        }
        total
    }

    /// Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let c = self.counters();
        let io = self.io.snapshot();
        let prefix = self.prefix.lock().map(|p| p.clone()).unwrap_or_default();
        let mut s = String::with_capacity(4096);
        let mut family = |name: &str, help: &str, kind: &str, rows: &[(String, u64)]| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in rows {
                let _ = writeln!(s, "{name}{labels} {v}");
            }
        };
        let dir = |d: &str| format!("{{direction=\"{d}\"}}");
        family(
            "xlat_packets_total",
            "Packets translated, by direction.",
            "counter",
            &[(dir("ipv4_to_ipv6"), c.v4_to_v6_packets), (dir("ipv6_to_ipv4"), c.v6_to_v4_packets)],
        );
        family(
            "xlat_bytes_total",
            "Bytes of translated packets (as received), by direction.",
            "counter",
            &[(dir("ipv4_to_ipv6"), c.v4_to_v6_bytes), (dir("ipv6_to_ipv4"), c.v6_to_v4_bytes)],
        );
        let drops: Vec<(String, u64)> =
            DropReason::ALL.iter().map(|r| (format!("{{reason=\"{}\"}}", r.label()), c.drops(*r))).collect();
        family("xlat_drops_total", "Packets not translated, by reason.", "counter", &drops);
        family(
            "xlat_icmp_errors_rate_limited_total",
            "ICMP errors not sent because of the rate limit (icmp-error-rate).",
            "counter",
            &[(String::new(), c.icmp_errors_rate_limited)],
        );
        family(
            "xlat_icmp_errors_sent_total",
            "ICMP errors the translator originated, by family.",
            "counter",
            &[("{family=\"ipv4\"}".into(), c.icmp4_errors_sent), ("{family=\"ipv6\"}".into(), c.icmp6_errors_sent)],
        );
        family(
            "xlat_fragmented_total",
            "IPv4 packets split into IPv6 fragments.",
            "counter",
            &[(String::new(), c.fragmented)],
        );
        family(
            "xlat_hairpinned_total",
            "Packets hairpinned through EAM (RFC 7757).",
            "counter",
            &[(String::new(), c.hairpinned)],
        );
        let info = match prefix.current {
            Some(p) => vec![(format!("{{prefix=\"{p}\",source=\"{}\"}}", prefix.source), 1)],
            None => vec![("{prefix=\"\",source=\"none\"}".into(), 0)],
        };
        family("xlat_plat_prefix_info", "The PLAT prefix in use and its source (1 when known).", "gauge", &info);
        family(
            "xlat_plat_prefix_changes_total",
            "Times the PLAT prefix changed.",
            "counter",
            &[(String::new(), prefix.changes)],
        );
        let reloads = self.reloads.lock().map(|r| *r).unwrap_or(0);
        family(
            "xlat_config_reloads_total",
            "Successful configuration reloads (SIGHUP).",
            "counter",
            &[(String::new(), reloads)],
        );
        family(
            "xlat_clat_prefix_changes_total",
            "Times the CLAT prefix followed a new delegated prefix (RouterOS DHCPv6-PD pool).",
            "counter",
            &[(String::new(), self.clat_prefix_changes.load(std::sync::atomic::Ordering::Relaxed))],
        );
        io.write_prometheus(self.offload, &mut s);
        s
    }

    /// `/healthz`: healthy once a PLAT prefix is known.
    pub(crate) fn health(&self) -> (u16, String) {
        match self.prefix.lock().ok().and_then(|p| p.current) {
            Some(p) => (200, format!("ok: PLAT prefix {p}\n")),
            None => (503, "waiting for a PLAT prefix (RFC 8781 / RFC 7050)\n".into()),
        }
    }
}

/// A running endpoint; dropping it stops the server thread.
pub(crate) struct Endpoint {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `metrics` on `addr`.
pub(crate) fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<Endpoint> {
    let server = Arc::new(
        tiny_http::Server::http(addr)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("cannot listen on {addr} for /metrics (set --metrics-listen or off)"))?,
    );
    let srv = Arc::clone(&server);
    let thread = std::thread::Builder::new().name("metrics".into()).spawn(move || {
        for req in srv.incoming_requests() {
            let (code, body, ctype) = match req.url() {
                "/metrics" => (200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8"),
                "/healthz" => {
                    let (code, body) = metrics.health();
                    (code, body, "text/plain; charset=utf-8")
                }
                _ => (404, "not found: try /metrics or /healthz\n".into(), "text/plain; charset=utf-8"),
            };
            let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes()).ok();
            let mut resp = tiny_http::Response::from_string(body).with_status_code(code);
            if let Some(h) = header {
                resp = resp.with_header(h);
            }
            let _ = req.respond(resp);
        }
    })?;
    Ok(Endpoint { server, thread: Some(thread) })
}
