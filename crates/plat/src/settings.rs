//! `plat` settings: the NAT64's (pool4, clients, allow-list, timers,
//! limits, filtering, static BIB, mapping log) and the daemon's (TUN,
//! workers, metrics, logging) on top of the translator settings of
//! `xlat-config`, with the same convention: flag > `XLAT_*` env >
//! `[plat]` table of the `--config` file > default, and one-line errors
//! naming the setting.
//!
//! What SIGHUP may change while running (applied atomically, all or
//! nothing): `clients`, `allow-v4`, the five timeouts,
//! `max-sessions-per-client`, `max-held-syns`, `drop-external-tcp` and
//! `mapping-log`. Everything else (pool6, pool4, filtering, max-sessions,
//! client-granularity, static BIB entries, the TUN, workers, routes,
//! metrics, the translator knobs) needs a restart.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::Path;
use std::time::Duration;

use ipnetwork::{Ipv4Network, Ipv6Network};
use serde::Deserialize;
use xlat_config::{Error, Origin, Setting, TranslatorArgs};
use xlat_core::config::IPV4_DUMMY;
use xlat_core::Config;
use xlat_nat64::{
    ClientGranularity, Filtering, FragmentConfig, Nat64Config, Pool4Entry, PortRange, Proto, StaticBib, Timeouts,
};

const DEFAULT_TUN_NAME: &str = "plat";
const DEFAULT_TUN_MTU: u16 = 1500;
const DEFAULT_METRICS: &str = "[::]:9465";
const DEFAULT_MAX_SESSIONS: u32 = 65_536;
const DEFAULT_MAX_PER_CLIENT: u32 = 4096;
const DEFAULT_MAX_HELD_SYNS: u32 = 64;
const MAX_WORKERS: u16 = 64;
const IFNAMSIZ: usize = 15;
/// Largest pool4 prefix accepted in one entry (a /22, `MAX_POOL4`).
const MIN_POOL4_LEN: u8 = 22;

macro_rules! setting {
    ($name:ident, $key:literal, $env:literal) => {
        pub(crate) const $name: Setting = Setting { key: $key, env: $env };
    };
}
setting!(POOL4, "pool4", "XLAT_POOL4");
setting!(CLIENTS, "clients", "XLAT_CLIENTS");
setting!(ALLOW_V4, "allow-v4", "XLAT_ALLOW_V4");
setting!(STATIC_BIB, "static-bib", "XLAT_STATIC_BIB");
setting!(FILTERING, "filtering", "XLAT_FILTERING");
setting!(DROP_EXTERNAL_TCP, "drop-external-tcp", "XLAT_DROP_EXTERNAL_TCP");
setting!(UDP_TIMEOUT, "udp-timeout", "XLAT_UDP_TIMEOUT");
setting!(TCP_EST_TIMEOUT, "tcp-est-timeout", "XLAT_TCP_EST_TIMEOUT");
setting!(TCP_TRANS_TIMEOUT, "tcp-trans-timeout", "XLAT_TCP_TRANS_TIMEOUT");
setting!(TCP_INCOMING_SYN_TIMEOUT, "tcp-incoming-syn-timeout", "XLAT_TCP_INCOMING_SYN_TIMEOUT");
setting!(ICMP_TIMEOUT, "icmp-timeout", "XLAT_ICMP_TIMEOUT");
setting!(MAX_SESSIONS, "max-sessions", "XLAT_MAX_SESSIONS");
setting!(MAX_SESSIONS_PER_CLIENT, "max-sessions-per-client", "XLAT_MAX_SESSIONS_PER_CLIENT");
setting!(CLIENT_GRANULARITY, "client-granularity", "XLAT_CLIENT_GRANULARITY");
setting!(MAX_HELD_SYNS, "max-held-syns", "XLAT_MAX_HELD_SYNS");
setting!(MAPPING_LOG, "mapping-log", "XLAT_MAPPING_LOG");
setting!(TUN_NAME, "tun-name", "XLAT_TUN_NAME");
setting!(TUN_MTU, "tun-mtu", "XLAT_TUN_MTU");
setting!(WORKERS, "workers", "XLAT_WORKERS");
setting!(OFFLOAD, "offload", "XLAT_OFFLOAD");
setting!(METRICS_LISTEN, "metrics-listen", "XLAT_METRICS_LISTEN");
setting!(LOG_FORMAT, "log-format", "XLAT_LOG_FORMAT");
setting!(POOL6, "pool6", "XLAT_POOL6");
setting!(EAM, "eam", "XLAT_EAM");

/// A configuration error: one line naming the setting.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SettingsError {
    /// A translator setting, a value of a plat setting, or the file.
    #[error("{0}")]
    Config(#[from] Error),
    /// The NAT64 configuration is inconsistent (RFC 6146 minimums, pool4,
    /// clients overlapping pool6, static BIB entries, ...).
    #[error("{0}")]
    Nat64(#[from] xlat_nat64::ConfigError),
}

/// NAT64 settings, shared by `plat run` and `plat translate`.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "NAT64 settings (flag > XLAT_* env > --config file [plat] > default)")]
pub(crate) struct PlatArgs {
    /// IPv4 addresses shared by the clients: ADDR[/LEN][:FIRST-LAST] (the
    /// range applies to TCP and UDP ports, default 1024-65535; ICMP uses
    /// every identifier); repeatable, XLAT_POOL4 takes a list
    #[arg(long, env = "XLAT_POOL4", value_name = "ADDR[/LEN][:PORTS]")]
    pub(crate) pool4: Vec<String>,

    /// IPv6 prefixes of the customers allowed to create state (default
    /// deny: nobody else), comma-separated
    #[arg(long, env = "XLAT_CLIENTS", value_name = "PREFIX,...")]
    pub(crate) clients: Option<String>,

    /// IPv4 prefixes that are not globally reachable (RFC 6890) but may be
    /// reached anyway, comma-separated [default: none]
    #[arg(long, env = "XLAT_ALLOW_V4", value_name = "PREFIX,...")]
    pub(crate) allow_v4: Option<String>,

    /// Static BIB entry publishing an IPv6 server on pool4:
    /// PROTO/[V6]:PORT=V4:PORT, e.g. tcp/[2001:db8::80]:80=203.0.113.1:8080;
    /// repeatable, XLAT_STATIC_BIB takes a list
    #[arg(long, env = "XLAT_STATIC_BIB", value_name = "PROTO/[V6]:P=V4:P")]
    pub(crate) static_bib: Vec<String>,

    /// RFC 6146 §3.5 filtering: eif (endpoint-independent) or adf
    /// (address-dependent) [default: eif]
    #[arg(long, env = "XLAT_FILTERING", value_name = "eif|adf")]
    pub(crate) filtering: Option<String>,

    /// RFC 6146 §3.5.2.2: silently drop externally initiated TCP
    /// connections [default: false]
    #[arg(long, env = "XLAT_DROP_EXTERNAL_TCP", value_name = "true|false")]
    pub(crate) drop_external_tcp: Option<String>,

    /// UDP session lifetime, at least 2m (RFC 6146 §4) [default: 5m]
    #[arg(long, env = "XLAT_UDP_TIMEOUT", value_name = "DURATION")]
    pub(crate) udp_timeout: Option<String>,

    /// Established TCP idle timeout, at least 2h4m [default: 2h4m]
    #[arg(long, env = "XLAT_TCP_EST_TIMEOUT", value_name = "DURATION")]
    pub(crate) tcp_est_timeout: Option<String>,

    /// Transitory TCP idle timeout, at least 4m [default: 4m]
    #[arg(long, env = "XLAT_TCP_TRANS_TIMEOUT", value_name = "DURATION")]
    pub(crate) tcp_trans_timeout: Option<String>,

    /// How long an unsolicited IPv4 SYN is held, at least 6s [default: 6s]
    #[arg(long, env = "XLAT_TCP_INCOMING_SYN_TIMEOUT", value_name = "DURATION")]
    pub(crate) tcp_incoming_syn_timeout: Option<String>,

    /// ICMP query session lifetime [default: 60s]
    #[arg(long, env = "XLAT_ICMP_TIMEOUT", value_name = "DURATION")]
    pub(crate) icmp_timeout: Option<String>,

    /// Most sessions, all protocols (tables are allocated for this many,
    /// about 100 bytes each) [default: 65536]
    #[arg(long, env = "XLAT_MAX_SESSIONS", value_name = "N")]
    pub(crate) max_sessions: Option<String>,

    /// Most sessions of one client (RFC 6888 REQ-4) [default: 4096]
    #[arg(long, env = "XLAT_MAX_SESSIONS_PER_CLIENT", value_name = "N")]
    pub(crate) max_sessions_per_client: Option<String>,

    /// What one client is for the per-client limit: 128, 64 or 56 (prefix
    /// length) [default: 56]
    #[arg(long, env = "XLAT_CLIENT_GRANULARITY", value_name = "128|64|56")]
    pub(crate) client_granularity: Option<String>,

    /// Most unsolicited IPv4 SYNs held at once [default: 64]
    #[arg(long, env = "XLAT_MAX_HELD_SYNS", value_name = "N")]
    pub(crate) max_held_syns: Option<String>,

    /// RFC 6888 §4 mapping log: one structured log line per BIB entry
    /// created or removed [default: false]
    #[arg(long, env = "XLAT_MAPPING_LOG", value_name = "true|false")]
    pub(crate) mapping_log: Option<String>,

    /// Translator settings.
    #[command(flatten)]
    pub(crate) translator: TranslatorArgs,
}

/// Arguments of `plat run`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RunArgs {
    /// Name of the TUN device [default: plat]
    #[arg(long, env = "XLAT_TUN_NAME", value_name = "NAME")]
    pub(crate) tun_name: Option<String>,

    /// MTU of the TUN device, at least 1280 [default: 1500]
    #[arg(long, env = "XLAT_TUN_MTU", value_name = "BYTES")]
    pub(crate) tun_mtu: Option<String>,

    /// Do not touch sysctls or routes: the host configures the namespace
    #[arg(long, env = "XLAT_NO_CONFIGURE")]
    pub(crate) no_configure: bool,

    /// Address of the /metrics and /healthz endpoint, or `off`
    /// [default: [::]:9465]
    #[arg(long, env = "XLAT_METRICS_LISTEN", value_name = "ADDR:PORT|off")]
    pub(crate) metrics_listen: Option<String>,

    /// Log format on stdout: text or json [default: text]
    #[arg(long, env = "XLAT_LOG_FORMAT", value_name = "text|json")]
    pub(crate) log_format: Option<String>,

    /// Worker threads, one TUN queue and one NAT64 shard each, or auto: one
    /// per CPU [default: auto]
    #[arg(long, env = "XLAT_WORKERS", value_name = "N")]
    pub(crate) workers: Option<String>,

    /// TUN offloads (64 KiB TCP super-packets translated once): auto (on
    /// when the kernel allows), on, off [default: auto]
    #[arg(long, env = "XLAT_OFFLOAD", value_name = "auto|on|off")]
    pub(crate) offload: Option<String>,

    /// NAT64 and translator settings.
    #[command(flatten)]
    pub(crate) plat: PlatArgs,

    /// Self-provisioning of the RouterOS router (flags and XLAT_ROUTEROS_*
    /// variables only, never the file: the password stays out of it).
    #[command(flatten)]
    pub(crate) routeros: xlat_routeros::SelfProvisionArgs,

    /// The PLAT's own provisioning settings (PREF64, DHCPv4 option 108).
    #[command(flatten)]
    pub(crate) routeros_plat: xlat_routeros::PlatProvisionArgs,
}

/// A number in TOML or a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Bool(bool),
    Text(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Self::Int(n) => n.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Text(s) => s.clone(),
        }
    }
}

/// A list in TOML, or one string holding a comma-separated list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum List {
    Many(Vec<String>),
    One(String),
}

impl List {
    fn text(&self) -> String {
        match self {
            Self::Many(v) => v.join(","),
            Self::One(s) => s.clone(),
        }
    }
}

/// The `[plat]` table of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PlatFile {
    pool4: Option<List>,
    clients: Option<List>,
    allow_v4: Option<List>,
    static_bib: Option<List>,
    filtering: Option<Scalar>,
    drop_external_tcp: Option<Scalar>,
    udp_timeout: Option<Scalar>,
    tcp_est_timeout: Option<Scalar>,
    tcp_trans_timeout: Option<Scalar>,
    tcp_incoming_syn_timeout: Option<Scalar>,
    icmp_timeout: Option<Scalar>,
    max_sessions: Option<Scalar>,
    max_sessions_per_client: Option<Scalar>,
    client_granularity: Option<Scalar>,
    max_held_syns: Option<Scalar>,
    mapping_log: Option<Scalar>,
    tun_name: Option<Scalar>,
    tun_mtu: Option<Scalar>,
    configure: Option<bool>,
    metrics_listen: Option<Scalar>,
    log_format: Option<Scalar>,
    workers: Option<Scalar>,
    offload: Option<Scalar>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// The NAT64 and translator configuration, validated.
#[derive(Debug, Clone)]
pub(crate) struct PlatSettings {
    /// The NAT64 state's configuration (seed drawn at random).
    pub(crate) nat64: Nat64Config,
    /// The translator's configuration (pool6 = the NAT64's, no EAM).
    pub(crate) translator: Config,
    /// RFC 6888 §4 mapping log on.
    pub(crate) mapping_log: bool,
    /// RFC 6146 §3.4 fragment limits.
    pub(crate) fragments: FragmentConfig,
}

/// Everything `plat run` needs, validated.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    pub(crate) plat: PlatSettings,
    pub(crate) tun_name: String,
    pub(crate) tun_mtu: u16,
    pub(crate) configure: bool,
    pub(crate) metrics_listen: Option<SocketAddr>,
    pub(crate) log_format: LogFormat,
    pub(crate) workers: u16,
    pub(crate) offload: xlat_tun::OffloadMode,
    /// RouterOS self-provisioning and what the router must provide for
    /// this PLAT (`None`: XLAT_ROUTEROS_URL not set).
    pub(crate) routeros: Option<(xlat_routeros::SelfProvisionSettings, xlat_routeros::PlatSpec)>,
}

/// Where a winning value came from, and how to parse it.
struct Merge<'a> {
    path: Option<&'a Path>,
}

impl Merge<'_> {
    /// The winning value (flag/env over file) and its origin.
    fn value(&self, cli: Option<&str>, file: Option<String>) -> Option<(String, Origin)> {
        if let Some(v) = cli.map(str::trim).filter(|v| !v.is_empty()) {
            return Some((v.to_owned(), Origin::CommandLine));
        }
        let origin = self.path.map_or(Origin::CommandLine, |p| Origin::File(p.to_owned()));
        file.map(|v| (v, origin))
    }

    /// Parses the winning value of `s` with `f`.
    fn parse<T>(
        &self,
        s: Setting,
        cli: Option<&str>,
        file: Option<String>,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, Error> {
        match self.value(cli, file) {
            None => Ok(None),
            Some((v, origin)) => {
                f(&v).map(Some).map_err(|reason| Error::InvalidValue { setting: s, origin, value: v, reason })
            }
        }
    }

    /// A repeatable flag or a list: every item, each parsed with `f`.
    fn list<T>(
        &self,
        s: Setting,
        cli: &[String],
        file: Option<String>,
        f: impl Fn(&str) -> Result<Vec<T>, String>,
    ) -> Result<Vec<T>, Error> {
        let joined = cli.join(",");
        let cli = (!joined.trim().is_empty()).then_some(joined.as_str());
        let Some((v, origin)) = self.value(cli, file) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for item in split_list(&v) {
            let parsed = f(item).map_err(|reason| Error::InvalidValue {
                setting: s,
                origin: origin.clone(),
                value: item.to_owned(),
                reason,
            })?;
            out.extend(parsed);
        }
        Ok(out)
    }
}

/// Splits a list on commas and white space.
fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c == ',' || c.is_whitespace()).filter(|i| !i.is_empty())
}

fn text(v: &Option<Scalar>) -> Option<String> {
    v.as_ref().map(Scalar::text)
}

fn list_text(v: &Option<List>) -> Option<String> {
    v.as_ref().map(List::text)
}

impl PlatArgs {
    fn file(&self) -> Result<PlatFile, Error> {
        match &self.translator.config {
            Some(path) => xlat_config::load_section(path, "plat"),
            None => Ok(PlatFile::default()),
        }
    }

    /// Merges flags/env, the file and defaults; validates.
    pub(crate) fn resolve(&self) -> Result<PlatSettings, SettingsError> {
        let file = self.file()?;
        self.resolve_with(&file)
    }

    fn resolve_with(&self, file: &PlatFile) -> Result<PlatSettings, SettingsError> {
        let m = Merge { path: self.translator.config.as_deref() };
        let mut targs = self.translator.clone();
        targs.mss_default_auto = true;
        let mut translator = targs.to_config()?;
        let Some(pool6) = translator.pool6 else {
            return Err(Error::InvalidValue {
                setting: POOL6,
                origin: Origin::CommandLine,
                value: String::new(),
                reason: "the PLAT prefix is required: set --pool6 (RFC 6052), e.g. 64:ff9b::/96".into(),
            }
            .into());
        };
        if !translator.eam.is_empty() {
            return Err(Error::InvalidValue {
                setting: EAM,
                origin: Origin::CommandLine,
                value: translator.eam.entries().map(ToString::to_string).collect::<Vec<_>>().join(","),
                reason: "a stateful NAT64 maps through pool4 and its sessions, not EAM: remove eam".into(),
            }
            .into());
        }

        let pool4 = m.list(POOL4, &self.pool4, list_text(&file.pool4), parse_pool4)?;
        let clients = m.list(CLIENTS, self.clients.as_slice(), list_text(&file.clients), |s| {
            s.parse::<Ipv6Network>()
                .ok()
                .filter(|n| n.network() == n.ip())
                .map(|n| vec![n])
                .ok_or_else(|| "an IPv6 prefix without host bits, e.g. 2001:db8:100::/40".to_owned())
        })?;
        let v4_allow = m.list(ALLOW_V4, self.allow_v4.as_slice(), list_text(&file.allow_v4), |s| {
            s.parse::<Ipv4Network>()
                .ok()
                .filter(|n| n.network() == n.ip())
                .map(|n| vec![n])
                .ok_or_else(|| "an IPv4 prefix without host bits, e.g. 10.0.0.0/8".to_owned())
        })?;
        let static_bib = m.list(STATIC_BIB, &self.static_bib, list_text(&file.static_bib), |s| {
            parse_static_bib(s).map(|e| vec![e])
        })?;
        let filtering = m.parse(FILTERING, self.filtering.as_deref(), text(&file.filtering), |v| match v {
            "eif" | "endpoint-independent" => Ok(Filtering::EndpointIndependent),
            "adf" | "address-dependent" => Ok(Filtering::AddressDependent),
            _ => Err("eif (endpoint-independent) or adf (address-dependent)".into()),
        })?;
        let boolean = |v: &str| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("true or false".to_owned()),
        };
        let drop_external_tcp =
            m.parse(DROP_EXTERNAL_TCP, self.drop_external_tcp.as_deref(), text(&file.drop_external_tcp), boolean)?;
        let mapping_log = m.parse(MAPPING_LOG, self.mapping_log.as_deref(), text(&file.mapping_log), boolean)?;
        let mut timeouts = Timeouts::default();
        for (s, cli, f, slot) in [
            (UDP_TIMEOUT, &self.udp_timeout, &file.udp_timeout, &mut timeouts.udp),
            (TCP_EST_TIMEOUT, &self.tcp_est_timeout, &file.tcp_est_timeout, &mut timeouts.tcp_est),
            (TCP_TRANS_TIMEOUT, &self.tcp_trans_timeout, &file.tcp_trans_timeout, &mut timeouts.tcp_trans),
            (
                TCP_INCOMING_SYN_TIMEOUT,
                &self.tcp_incoming_syn_timeout,
                &file.tcp_incoming_syn_timeout,
                &mut timeouts.tcp_incoming_syn,
            ),
            (ICMP_TIMEOUT, &self.icmp_timeout, &file.icmp_timeout, &mut timeouts.icmp),
        ] {
            if let Some(d) = m.parse(s, cli.as_deref(), text(f), parse_duration)? {
                *slot = d;
            }
        }
        let count = |s: Setting, cli: &Option<String>, f: &Option<Scalar>, default: u32| {
            m.parse(s, cli.as_deref(), text(f), |v| {
                v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| "a whole number from 1 to 4294967295".to_owned())
            })
            .map(|v| v.unwrap_or(default))
        };
        let max_sessions = count(MAX_SESSIONS, &self.max_sessions, &file.max_sessions, DEFAULT_MAX_SESSIONS)?;
        let max_per_client = count(
            MAX_SESSIONS_PER_CLIENT,
            &self.max_sessions_per_client,
            &file.max_sessions_per_client,
            DEFAULT_MAX_PER_CLIENT,
        )?;
        let max_held_syns = count(MAX_HELD_SYNS, &self.max_held_syns, &file.max_held_syns, DEFAULT_MAX_HELD_SYNS)?;
        let granularity = m.parse(
            CLIENT_GRANULARITY,
            self.client_granularity.as_deref(),
            text(&file.client_granularity),
            |v| match v.trim_start_matches('/') {
                "128" => Ok(ClientGranularity::Host),
                "64" => Ok(ClientGranularity::Prefix64),
                "56" => Ok(ClientGranularity::Prefix56),
                _ => Err("128 (each address), 64 or 56 (each prefix of that length)".into()),
            },
        )?;

        let mut nat64 = Nat64Config::new(pool6, pool4, clients);
        nat64.v4_allow = v4_allow;
        nat64.static_bib = static_bib;
        nat64.filtering = filtering.unwrap_or_default();
        nat64.drop_external_tcp = drop_external_tcp.unwrap_or(false);
        nat64.timeouts = timeouts;
        nat64.max_sessions = max_sessions;
        nat64.max_sessions_per_client = max_per_client;
        nat64.client_granularity = granularity.unwrap_or_default();
        nat64.max_held_syns = max_held_syns;
        nat64.seed = random_seed();
        nat64.validate(1)?;

        // The PLAT's own errors (TTL exceeded toward IPv4) come from pool4,
        // not the RFC 7600 dummy, unless ipv4-addr says otherwise.
        if translator.ipv4_addr == IPV4_DUMMY {
            if let Some(first) = nat64.pool4.first() {
                translator.ipv4_addr = first.addr;
            }
        }
        translator.clone().validate().map_err(Error::from)?;
        let fragments = FragmentConfig { seed: random_seed(), ..FragmentConfig::default() };
        Ok(PlatSettings { nat64, translator, mapping_log: mapping_log.unwrap_or(false), fragments })
    }
}

impl RunArgs {
    /// Merges flags/env, the `[plat]` file table and defaults; validates.
    pub(crate) fn resolve(&self) -> Result<RunSettings, SettingsError> {
        let file = self.plat.file()?;
        // The daemon paces the ICMP errors it originates (RFC 4443 §2.4 (f));
        // `plat translate` does not.
        let mut args = self.plat.clone();
        args.translator.icmp_error_rate_default = xlat_config::DAEMON_ICMP_ERROR_RATE;
        let plat = args.resolve_with(&file)?;
        let m = Merge { path: self.plat.translator.config.as_deref() };
        let tun_name = m
            .parse(TUN_NAME, self.tun_name.as_deref(), text(&file.tun_name), |v| {
                (!v.is_empty() && v.len() <= IFNAMSIZ && v.bytes().all(|b| b.is_ascii_graphic() && b != b'/'))
                    .then(|| v.to_owned())
                    .ok_or_else(|| "an interface name of 1 to 15 printable characters, no '/'".to_owned())
            })?
            .unwrap_or_else(|| DEFAULT_TUN_NAME.to_owned());
        let tun_mtu = m
            .parse(TUN_MTU, self.tun_mtu.as_deref(), text(&file.tun_mtu), |v| {
                v.parse::<u16>()
                    .ok()
                    .filter(|n| *n >= xlat_core::config::IPV6_MIN_MTU)
                    .ok_or_else(|| "an MTU of 1280 to 65535".to_owned())
            })?
            .unwrap_or(DEFAULT_TUN_MTU);
        let workers = m
            .parse(WORKERS, self.workers.as_deref(), text(&file.workers), |v| {
                if v == "auto" {
                    return Ok(xlat_tun::auto_workers());
                }
                v.parse::<u16>()
                    .ok()
                    .filter(|n| (1..=MAX_WORKERS).contains(n))
                    .ok_or_else(|| "a number of workers from 1 to 64, or auto".to_owned())
            })?
            .unwrap_or_else(xlat_tun::auto_workers);
        let offload = m
            .parse(OFFLOAD, self.offload.as_deref(), text(&file.offload), |v| {
                v.parse::<xlat_tun::OffloadMode>().map_err(str::to_owned)
            })?
            .unwrap_or_default();
        let metrics_listen = match m.value(self.metrics_listen.as_deref(), text(&file.metrics_listen)) {
            None => DEFAULT_METRICS.parse().ok(),
            Some((v, _)) if v == "off" => None,
            Some((v, origin)) => Some(v.parse::<SocketAddr>().map_err(|_| Error::InvalidValue {
                setting: METRICS_LISTEN,
                origin,
                value: v.clone(),
                reason: "ADDR:PORT (e.g. [::]:9465 or 127.0.0.1:9465) or off".into(),
            })?),
        };
        let log_format = m
            .parse(LOG_FORMAT, self.log_format.as_deref(), text(&file.log_format), |v| match v {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("text or json".into()),
            })?
            .unwrap_or(LogFormat::Text);
        // The shards are validated for the worker count too.
        plat.nat64.validate(usize::from(workers))?;
        let routeros = match self.routeros.resolve(|k| std::env::var(k).ok())? {
            None => None,
            Some(prov) => {
                let n = &plat.nat64;
                let spec = self.routeros_plat.spec(
                    n.pool6,
                    aggregate(&plat.pool4_addrs()),
                    n.clients.clone(),
                    n.v4_allow.clone(),
                )?;
                Some((prov, spec))
            }
        };
        Ok(RunSettings {
            plat,
            tun_name,
            tun_mtu,
            configure: !self.no_configure && file.configure.unwrap_or(true),
            metrics_listen,
            log_format,
            workers,
            offload,
            routeros,
        })
    }
}

/// pool4's addresses as the fewest prefixes (the router's routes and
/// firewall rules): each run of addresses split into aligned blocks.
pub(crate) fn aggregate(addrs: &[Ipv4Addr]) -> Vec<Ipv4Network> {
    let mut v: Vec<u32> = addrs.iter().map(|a| u32::from(*a)).collect();
    v.sort_unstable();
    v.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let start = v[i];
        // The longest run of consecutive addresses from here.
        let mut run = 1u64;
        while i + (run as usize) < v.len() && u64::from(v[i + run as usize]) == u64::from(start) + run {
            run += 1;
        }
        // The largest aligned block at `start` that fits the run.
        let mut len = 32u8;
        while len > 0 {
            let size = 1u64 << (33 - u32::from(len));
            if u64::from(start) & (size - 1) != 0 || size > run {
                break;
            }
            len -= 1;
        }
        let size = 1u64 << (32 - u32::from(len));
        out.push(Ipv4Network::new(Ipv4Addr::from(start), len).expect("length at most 32"));
        i += size as usize;
    }
    out
}

/// `ADDR[/LEN][:FIRST-LAST]`: one pool4 entry per address of the prefix.
fn parse_pool4(s: &str) -> Result<Vec<Pool4Entry>, String> {
    let bad = || "ADDR[/LEN][:FIRST-LAST], e.g. 203.0.113.1, 203.0.113.0/30 or 203.0.113.1:20000-29999".to_owned();
    let (net, ports) = match s.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (s, None),
    };
    let net: Ipv4Network = net.parse().map_err(|_| bad())?;
    if net.network() != net.ip() {
        return Err("bits are set after the prefix length: use the network address".into());
    }
    if net.prefix() < MIN_POOL4_LEN {
        return Err(format!("at most a /{MIN_POOL4_LEN} (1024 addresses) per instance"));
    }
    let range = match ports {
        None => None,
        Some(p) => {
            let (a, b) = p.split_once('-').ok_or_else(bad)?;
            let (a, b) = (a.parse::<u16>().map_err(|_| bad())?, b.parse::<u16>().map_err(|_| bad())?);
            if a > b {
                return Err("the port range is empty: write FIRST-LAST with FIRST <= LAST".into());
            }
            Some(PortRange::new(a, b))
        }
    };
    Ok(net
        .iter()
        .map(|addr| {
            let mut e = Pool4Entry::new(addr);
            if let Some(r) = range {
                e.tcp = Some(r);
                e.udp = Some(r);
            }
            e
        })
        .collect())
}

/// `PROTO/[V6]:PORT=V4:PORT`.
fn parse_static_bib(s: &str) -> Result<StaticBib, String> {
    let bad =
        || "PROTO/[V6]:PORT=V4:PORT, e.g. tcp/[2001:db8::80]:80=203.0.113.1:8080 (PROTO tcp, udp or icmp)".to_owned();
    let (proto, rest) = s.split_once('/').ok_or_else(bad)?;
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        "icmp" => Proto::Icmp,
        _ => return Err(bad()),
    };
    let (v6, v4) = rest.split_once('=').ok_or_else(bad)?;
    let v6: SocketAddrV6 = v6.parse().map_err(|_| bad())?;
    let v4: SocketAddrV4 = v4.parse().map_err(|_| bad())?;
    Ok(StaticBib { proto, v6: *v6.ip(), v6_port: v6.port(), v4: *v4.ip(), v4_port: v4.port() })
}

/// A duration: seconds, or a number with s, m or h, or a sum of those
/// (`2h4m`).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || "a duration: seconds or NUMBER with s, m or h, e.g. 300, 5m or 2h4m".to_owned();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' => num.push(c),
            's' | 'm' | 'h' if !num.is_empty() => {
                let n: u64 = num.parse().map_err(|_| bad())?;
                let unit = match c {
                    's' => 1,
                    'm' => 60,
                    _ => 3600,
                };
                total = total.checked_add(n.checked_mul(unit).ok_or_else(bad)?).ok_or_else(bad)?;
                num.clear();
            }
            _ => return Err(bad()),
        }
    }
    if !num.is_empty() || s.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// A random seed (port randomization, table hashes): the OS's randomness,
/// else the clock.
pub(crate) fn random_seed() -> u64 {
    use std::io::Read as _;
    let mut b = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_ne_bytes(b),
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64),
    }
}

/// The address the PLAT prefix and pool4 are routed to, for the startup
/// line and the routes.
impl PlatSettings {
    /// pool4 addresses.
    pub(crate) fn pool4_addrs(&self) -> Vec<Ipv4Addr> {
        self.nat64.pool4.iter().map(|e| e.addr).collect()
    }

    /// The IPv6 source of the errors the PLAT originates.
    pub(crate) fn own_ipv6(&self) -> Option<Ipv6Addr> {
        self.translator.clone().validate().ok().map(|r| r.ipv6_addr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool4_entries_with_prefixes_and_ranges() {
        let e = parse_pool4("203.0.113.0/30:2000-2999").unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(e[3].addr, Ipv4Addr::new(203, 0, 113, 3));
        assert_eq!(e[0].tcp, Some(PortRange::new(2000, 2999)));
        assert_eq!(e[0].icmp, Some(PortRange::new(0, 65535)), "ICMP keeps every identifier");
        assert_eq!(parse_pool4("203.0.113.1").unwrap()[0].udp, Some(PortRange::new(1024, 65535)));
        assert!(parse_pool4("203.0.113.1/24").unwrap_err().contains("network address"));
        assert!(parse_pool4("10.0.0.0/8").unwrap_err().contains("/22"));
        assert!(parse_pool4("203.0.113.1:9-1").unwrap_err().contains("empty"));
        assert!(parse_pool4("nonsense").unwrap_err().contains("ADDR"));
    }

    #[test]
    fn pool4_aggregates_into_aligned_prefixes() {
        let addrs = |s: &str| -> Vec<Ipv4Addr> { parse_pool4(s).unwrap().iter().map(|e| e.addr).collect() };
        let s = |v: Vec<Ipv4Network>| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(s(aggregate(&addrs("198.51.100.0/28"))), ["198.51.100.0/28"]);
        assert_eq!(s(aggregate(&addrs("203.0.113.7"))), ["203.0.113.7/32"]);
        let mut v = addrs("203.0.113.1");
        v.extend(addrs("203.0.113.2"));
        v.extend(addrs("203.0.113.3"));
        v.extend(addrs("203.0.113.4/30"));
        v.extend(addrs("203.0.113.3"));
        assert_eq!(s(aggregate(&v)), ["203.0.113.1/32", "203.0.113.2/31", "203.0.113.4/30"]);
        assert_eq!(s(aggregate(&[Ipv4Addr::new(255, 255, 255, 255)])), ["255.255.255.255/32"]);
        assert!(aggregate(&[]).is_empty());
    }

    #[test]
    fn static_bib_syntax() {
        let s = parse_static_bib("tcp/[2001:db8::80]:80=203.0.113.1:8080").unwrap();
        assert_eq!((s.proto, s.v6_port, s.v4, s.v4_port), (Proto::Tcp, 80, Ipv4Addr::new(203, 0, 113, 1), 8080));
        assert!(parse_static_bib("sctp/[2001:db8::80]:80=203.0.113.1:8080").is_err());
        assert!(parse_static_bib("udp/2001:db8::80:80=203.0.113.1:8080").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h4m"), Ok(Duration::from_secs(7440)));
        assert_eq!(parse_duration("6s"), Ok(Duration::from_secs(6)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("").is_err());
    }
}
