//! `/metrics` (Prometheus text format 0.0.4) and `/healthz`, served by a
//! small HTTP server on its own thread (tiny_http), off the packet path.
//!
//! Families: the translator's (`xlat_*`, as the CLAT names them: packets
//! and bytes per direction, drops per reason, ICMP errors), the NAT64's
//! (`plat_*`: drops per reason, sessions and BIB entries per protocol,
//! pool4 utilisation per address, limit hits, held SYNs, fragments,
//! mapping log, reloads) and the TUN's.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use xlat_core::{Counters, DropReason};
use xlat_nat64::{FragmentDrop, Nat64Drop, Proto};
use xlat_tun::IoCounters;

use crate::engine::Shared;

/// The NAT64 drops that are limits being hit.
const LIMITS: [(Nat64Drop, &str); 6] = [
    (Nat64Drop::ClientSessionLimit, "sessions_per_client"),
    (Nat64Drop::SessionTableFull, "sessions"),
    (Nat64Drop::PortsExhausted, "pool4_ports"),
    (Nat64Drop::InboundSessionLimit, "inbound_sessions"),
    (Nat64Drop::HeldSynLimit, "held_syns"),
    (Nat64Drop::HairpinNoBib, "hairpin_no_bib"),
];

/// What the endpoint reports; shared with the workers.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// One snapshot per worker, published by the workers.
    pub(crate) workers: Vec<Arc<Mutex<Counters>>>,
    pub(crate) io: Arc<IoCounters>,
    /// Whether the TUN runs with offloads.
    pub(crate) offload: bool,
    pub(crate) shared: Arc<Shared>,
    pub(crate) reloads: Mutex<u64>,
}

fn proto_label(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Icmp => "icmp",
    }
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
        let nat = self.shared.nat.stats();
        let frags = self.shared.frags.lock().map(|f| f.stats().clone()).unwrap_or_default();
        let ec = &self.shared.counters;
        let mut s = String::with_capacity(8192);
        let mut family = |name: &str, help: &str, kind: &str, rows: &[(String, String)]| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in rows {
                let _ = writeln!(s, "{name}{labels} {v}");
            }
        };
        let one = |v: u64| vec![(String::new(), v.to_string())];
        let lbl = |k: &str, v: &str| format!("{{{k}=\"{v}\"}}");
        let dir = |d: &str| lbl("direction", d);
        family(
            "xlat_packets_total",
            "Packets translated, by direction.",
            "counter",
            &[
                (dir("ipv4_to_ipv6"), c.v4_to_v6_packets.to_string()),
                (dir("ipv6_to_ipv4"), c.v6_to_v4_packets.to_string()),
            ],
        );
        family(
            "xlat_bytes_total",
            "Bytes of translated packets (as received), by direction.",
            "counter",
            &[(dir("ipv4_to_ipv6"), c.v4_to_v6_bytes.to_string()), (dir("ipv6_to_ipv4"), c.v6_to_v4_bytes.to_string())],
        );
        let drops: Vec<(String, String)> =
            DropReason::ALL.iter().map(|r| (lbl("reason", r.label()), c.drops(*r).to_string())).collect();
        family("xlat_drops_total", "Packets the translator did not translate, by reason.", "counter", &drops);
        family(
            "xlat_icmp_errors_rate_limited_total",
            "ICMP errors not sent because of the rate limit (icmp-error-rate).",
            "counter",
            &[(String::new(), c.icmp_errors_rate_limited.to_string())],
        );
        family(
            "xlat_icmp_errors_sent_total",
            "ICMP errors the translator originated, by family.",
            "counter",
            &[
                (lbl("family", "ipv4"), c.icmp4_errors_sent.to_string()),
                (lbl("family", "ipv6"), c.icmp6_errors_sent.to_string()),
            ],
        );
        family("xlat_fragmented_total", "Packets split into fragments.", "counter", &one(c.fragmented));
        let drops: Vec<(String, String)> =
            Nat64Drop::ALL.iter().map(|r| (lbl("reason", r.label()), nat.drops(*r).to_string())).collect();
        family("plat_nat64_drops_total", "Packets the NAT64 state refused, by reason.", "counter", &drops);
        let per_proto = |v: &[u64; 3]| -> Vec<(String, String)> {
            Proto::ALL.iter().map(|p| (lbl("proto", proto_label(*p)), v[p.index()].to_string())).collect()
        };
        family("plat_sessions", "Live sessions, by protocol.", "gauge", &per_proto(&nat.sessions));
        family("plat_bib_entries", "Live BIB entries (static included), by protocol.", "gauge", &per_proto(&nat.bibs));
        let pool: Vec<(String, String)> = self
            .shared
            .nat
            .pool4_usage()
            .iter()
            .map(|u| {
                (
                    format!("{{address=\"{}\",proto=\"{}\"}}", u.addr, proto_label(u.proto)),
                    format!("{:.3}", u.percent()),
                )
            })
            .collect();
        family(
            "plat_pool4_utilization_percent",
            "Ports (identifiers) in use per pool4 address and protocol, in percent.",
            "gauge",
            &pool,
        );
        let limits: Vec<(String, String)> =
            LIMITS.iter().map(|(d, name)| (lbl("limit", name), nat.drops(*d).to_string())).collect();
        family("plat_limit_hits_total", "Packets refused because a limit was reached.", "counter", &limits);
        family(
            "plat_icmp_errors_sent_total",
            "ICMP errors the PLAT sent for refused packets and timed-out held SYNs.",
            "counter",
            &[
                (lbl("cause", "refused"), ec.refusal_errors.load(Relaxed).to_string()),
                (lbl("cause", "held_syn_timeout"), ec.held_syn_errors.load(Relaxed).to_string()),
            ],
        );
        family("plat_held_syns", "Unsolicited IPv4 SYNs held right now.", "gauge", &one(nat.held_syns));
        family("plat_bib_created_total", "Dynamic BIB entries created.", "counter", &one(nat.bib_created));
        family("plat_bib_removed_total", "BIB entries removed.", "counter", &one(nat.bib_removed));
        family("plat_sessions_created_total", "Sessions created.", "counter", &one(nat.sessions_created));
        family("plat_sessions_expired_total", "Sessions expired.", "counter", &one(nat.sessions_expired));
        family(
            "plat_sessions_evicted_total",
            "Transitory TCP sessions evicted for room.",
            "counter",
            &one(nat.sessions_evicted),
        );
        family(
            "plat_hairpinned_total",
            "Packets hairpinned (RFC 6146 §3.8).",
            "counter",
            &one(ec.hairpinned.load(Relaxed)),
        );
        family(
            "plat_tcp_probes_total",
            "RFC 6146 §3.5.2.2 probes requested (counted, not sent).",
            "counter",
            &one(ec.tcp_probes.load(Relaxed)),
        );
        family("plat_events_lost_total", "State events lost (queue full).", "counter", &one(nat.events_lost));
        family(
            "plat_mappings_logged_total",
            "BIB creations and removals written to the mapping log.",
            "counter",
            &one(ec.mappings_logged.load(Relaxed)),
        );
        let fd: Vec<(String, String)> =
            FragmentDrop::ALL.iter().map(|r| (lbl("reason", r.label()), frags.drops(*r).to_string())).collect();
        family("plat_fragment_drops_total", "Fragments refused or lost, by reason.", "counter", &fd);
        family("plat_fragments_held_total", "Fragments held until their first fragment.", "counter", &one(frags.held));
        let reloads = self.reloads.lock().map(|r| *r).unwrap_or(0);
        family("xlat_config_reloads_total", "Successful configuration reloads (SIGHUP).", "counter", &one(reloads));
        io.write_prometheus(self.offload, &mut s);
        s
    }

    /// `/healthz`: healthy while running.
    pub(crate) fn health(&self) -> (u16, String) {
        let nat = self.shared.nat.stats();
        (200, format!("ok: {} sessions\n", nat.total_sessions()))
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
