//! Our PLAT in the lab: the settings file the lab writes for `plat run
//! --config FILE` ([`PlatConfig`]), reloads of it (SIGHUP: client
//! prefixes, allow-list, timers and per-client limit change while the
//! PLAT runs), and its `/metrics`, scraped from the provider router as a
//! monitoring system would.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::metrics::{http_get, Metrics};
use super::topology::{self as t, Role};
use super::{Lab, PlatKind};
use crate::netns::wait_until;

/// How long a reload may take to show in `/metrics`.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(5);
/// The counter of applied reloads.
const RELOADS: &str = "xlat_config_reloads_total";

/// The settings of our PLAT in the lab: the `[plat]` table of its file
/// (pool6, the TUN and the metrics address are fixed by the topology).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatConfig {
    /// pool4 (`ADDR[/LEN][:FIRST-LAST]`). Restart only.
    pub pool4: Vec<String>,
    /// IPv6 client prefixes (default deny).
    pub clients: Vec<String>,
    /// IPv4 prefixes reachable although not global (RFC 6890).
    pub allow_v4: Vec<String>,
    /// Static BIB entries (`PROTO/[V6]:PORT=V4:PORT`). Restart only.
    pub static_bib: Vec<String>,
    /// What a client is: 128, 64 or 56 (prefix length). Restart only.
    pub client_granularity: u8,
    /// Most sessions per client.
    pub max_sessions_per_client: u32,
    /// ICMP query session lifetime.
    pub icmp_timeout: Duration,
    /// RFC 6888 §4 mapping log on stdout.
    pub mapping_log: bool,
    /// Offloads and workers ([`super::DaemonTuning`]). Restart only.
    pub tuning: super::DaemonTuning,
}

impl PlatConfig {
    /// The lab's configuration: pool4 203.0.113.128/30; the customers'
    /// prefixes (the CLAT's, the customer router's WAN link, the IPv6-only
    /// hosts') as clients, each /128 a client; the documentation range of
    /// the lab's Internet allowed (it is not globally reachable, so it
    /// would be refused otherwise); host6b's HTTP server published on
    /// 203.0.113.128:8080; the mapping log on; RFC defaults otherwise.
    #[must_use]
    pub fn lab() -> Self {
        Self {
            pool4: vec![t::XLAT_PLAT_POOL4.to_owned()],
            clients: vec![t::CLAT_NET_V6.to_owned(), t::ROUTER_WAN_NET.to_owned(), t::HOSTS6_NET.to_owned()],
            allow_v4: vec![t::INTERNET_NET.to_owned()],
            static_bib: vec![format!("tcp/[{}]:80={}:{}", t::HOST6B, t::STATIC_HTTP_V4, t::STATIC_HTTP_PORT)],
            client_granularity: 128,
            max_sessions_per_client: 4096,
            icmp_timeout: Duration::from_secs(60),
            mapping_log: true,
            tuning: super::DaemonTuning::from_env(),
        }
    }

    /// The settings file (`pool6` at the top, the rest in `[plat]`).
    #[must_use]
    pub fn to_toml(&self) -> String {
        let list = |v: &[String]| format!("[{}]", v.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", "));
        let mut s = String::from("# plat's settings, written by the xlat lab (tests/src/lab/plat.rs)\n");
        let _ = writeln!(s, "pool6 = \"{}\"\n\n[plat]", t::PLAT_PREFIX);
        let _ = writeln!(s, "tun-name = \"{}\"", t::PLAT_TUN);
        let _ = writeln!(s, "metrics-listen = \"{}\"", t::XLAT_PLAT_METRICS);
        let _ = writeln!(s, "pool4 = {}", list(&self.pool4));
        let _ = writeln!(s, "clients = {}", list(&self.clients));
        let _ = writeln!(s, "allow-v4 = {}", list(&self.allow_v4));
        let _ = writeln!(s, "static-bib = {}", list(&self.static_bib));
        let _ = writeln!(s, "client-granularity = {}", self.client_granularity);
        let _ = writeln!(s, "max-sessions-per-client = {}", self.max_sessions_per_client);
        let _ = writeln!(s, "icmp-timeout = \"{}s\"", self.icmp_timeout.as_secs().max(1));
        let _ = writeln!(s, "mapping-log = {}", self.mapping_log);
        let _ = writeln!(s, "offload = \"{}\"", self.tuning.offload);
        let _ = writeln!(s, "workers = {}", self.tuning.workers);
        s
    }

    /// Whether `other` differs only in what a reload applies.
    #[must_use]
    pub fn reloadable_from(&self, other: &PlatConfig) -> bool {
        self.pool4 == other.pool4
            && self.static_bib == other.static_bib
            && self.client_granularity == other.client_granularity
            && self.tuning == other.tuning
    }
}

/// [`t::XLAT_PLAT_METRICS`] as a socket address.
pub(crate) fn metrics_addr() -> SocketAddr {
    t::XLAT_PLAT_METRICS.parse().expect("XLAT_PLAT_METRICS is a socket address")
}

impl Lab {
    /// Whether the PLAT is ours (it has `/metrics` and a settings file).
    #[must_use]
    pub fn has_plat_metrics(&self) -> bool {
        self.opts.plat == PlatKind::Xlat && self.plat.is_some()
    }

    /// Scrapes our PLAT's `/metrics` from the provider router.
    pub fn plat_metrics(&self) -> Result<Metrics> {
        if !self.has_plat_metrics() {
            bail!("the PLAT ({}) has no /metrics", self.opts.plat.describe());
        }
        let (status, body) = http_get(self.ns(Role::Isp), metrics_addr(), "/metrics")?;
        if status != 200 {
            bail!("GET /metrics of the PLAT answered {status}: {body}");
        }
        Metrics::parse(&body)
    }

    /// One series of our PLAT's `/metrics` (0 when absent).
    pub fn plat_metric(&self, series: &str) -> Result<f64> {
        Ok(self.plat_metrics()?.get(series).unwrap_or(0.0))
    }

    /// Our PLAT's process id, if it runs.
    #[must_use]
    pub fn plat_pid(&self) -> Option<u32> {
        self.plat.as_ref().map(super::process::Daemon::pid)
    }

    /// Writes `config` to our PLAT's settings file, sends it SIGHUP and
    /// waits (bounded) until `/metrics` counts the reload. Only what a
    /// reload applies may differ from [`PlatConfig::lab`]: pool4, static
    /// entries and the client granularity need a restart.
    pub fn reload_plat(&self, config: &PlatConfig) -> Result<()> {
        let file = self.plat_config.as_ref().context("the PLAT is not ours: no settings file")?;
        if !PlatConfig::lab().reloadable_from(config) {
            bail!("pool4, static-bib and client-granularity need a restart of the PLAT, not a reload");
        }
        let pid = self.plat_pid().context("the PLAT is not running")?;
        let before = self.plat_metric(RELOADS)?;
        std::fs::write(file, config.to_toml()).with_context(|| format!("writing {}", file.display()))?;
        let pid = Pid::from_raw(i32::try_from(pid).context("pid out of range")?);
        kill(pid, Signal::SIGHUP).context("SIGHUP to the PLAT")?;
        wait_until(RELOAD_TIMEOUT, "the PLAT to count the reload", || {
            self.plat_metric(RELOADS).ok().filter(|n| *n > before)
        })
        .with_context(|| format!("the PLAT's output:\n{}", tail(&self.plat_log(), 20)))
        .map(drop)
    }
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_config_file_names_every_setting() {
        let text = PlatConfig::lab().to_toml();
        assert!(text.starts_with("# plat's settings"), "{text}");
        for needle in [
            "pool6 = \"2001:db8:64::/96\"\n\n[plat]\n",
            "pool4 = [\"203.0.113.128/30\"]",
            "clients = [\"2001:db8:aaaa::/64\", \"2001:db8:1::/64\", \"2001:db8:6::/48\"]",
            "allow-v4 = [\"198.51.100.0/24\"]",
            "static-bib = [\"tcp/[2001:db8:6:b::10]:80=203.0.113.128:8080\"]",
            "client-granularity = 128",
            "icmp-timeout = \"60s\"",
            "metrics-listen = \"[2001:db8:d::2]:9465\"",
        ] {
            assert!(text.contains(needle), "{needle} missing in:\n{text}");
        }
        let none = PlatConfig { allow_v4: Vec::new(), ..PlatConfig::lab() };
        assert!(none.to_toml().contains("allow-v4 = []"));
        assert!(PlatConfig::lab().reloadable_from(&none));
        assert!(!PlatConfig::lab().reloadable_from(&PlatConfig { client_granularity: 64, ..PlatConfig::lab() }));
    }
}
