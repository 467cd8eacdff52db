//! Self-provisioning from inside the container: the daemons (`clat run`,
//! `plat run`) provision the router that hosts them at start, re-check
//! every few minutes, and optionally remove everything on shutdown.
//!
//! Settings are flags of the daemon and `XLAT_ROUTEROS_*` environment
//! variables (RouterOS configures containers with env lists); nothing is
//! read from the daemons' TOML file, so a secret never sits next to the
//! configuration. The password comes from `XLAT_ROUTEROS_PASSWORD_FILE`
//! (a mounted file, preferred) or `XLAT_ROUTEROS_PASSWORD`, and is never
//! logged ([`Credentials`]'s `Debug` redacts it).
//!
//! ```no_run
//! # async fn f(spec: xlat_routeros::RoleSpec) -> Result<(), Box<dyn std::error::Error>> {
//! // In a daemon: provisioning is off unless XLAT_ROUTEROS_URL is set.
//! if let Some(prov) = xlat_routeros::SelfProvision::from_env()? {
//!     let running = prov.spawn(spec); // provision now, re-check periodically
//!     // ... serve until SIGTERM ...
//!     running.shutdown().await; // remove if XLAT_ROUTEROS_REMOVE_ON_EXIT=true
//! }
//! # Ok(()) }
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use ipnetwork::{Ipv4Network, Ipv6Network};
use routeros_api::{AnyClient, ClientOptions, Credentials, Endpoint, TlsOptions, ENV_PASSWORD};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use xlat_config::{Origin, Setting};
use xlat_core::rfc6052::Prefix;

use crate::apply::{Provisioner, Report};
use crate::config::{
    ClatPrefix, Common, MssClamp, PlatSpec, RoleConfig, RoleSpec, V6OnlyPreferred, DEFAULT_LAN_LIST,
    DEFAULT_V6ONLY_WAIT, DEFAULT_WAN_LIST,
};
use crate::gateway::default_gateway;
use crate::pd::recompute;
use crate::tag::{Role, Tag, DEFAULT_INSTANCE};
use crate::Error;

/// URL host meaning "this container's default gateway".
pub const GATEWAY_HOST: &str = "gateway";
/// Default re-check period.
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(300);
/// Delay before retrying a failed provisioning.
pub const RETRY: Duration = Duration::from_secs(30);
/// Time allowed for the removal on shutdown.
pub const REMOVE_TIMEOUT: Duration = Duration::from_secs(15);

macro_rules! settings {
    ($($name:ident = $key:literal, $env:literal;)*) => {
        $(#[doc = concat!("`--", $key, "` / `", $env, "`.")]
        pub const $name: Setting = Setting { key: $key, env: $env };)*
    };
}

/// Names of the self-provisioning settings (flag key and variable).
pub mod setting {
    use super::Setting;
    settings! {
        URL = "routeros-url", "XLAT_ROUTEROS_URL";
        USER = "routeros-user", "XLAT_ROUTEROS_USER";
        PASSWORD_FILE = "routeros-password-file", "XLAT_ROUTEROS_PASSWORD_FILE";
        CA_FILE = "routeros-ca-file", "XLAT_ROUTEROS_CA_FILE";
        INSECURE = "routeros-insecure", "XLAT_ROUTEROS_INSECURE";
        INSTANCE = "routeros-instance", "XLAT_ROUTEROS_INSTANCE";
        VETH = "routeros-veth", "XLAT_ROUTEROS_VETH";
        INTERFACE = "routeros-interface", "XLAT_ROUTEROS_INTERFACE";
        CONTAINER_IPV4 = "routeros-container-ipv4", "XLAT_ROUTEROS_CONTAINER_IPV4";
        CONTAINER_IPV6 = "routeros-container-ipv6", "XLAT_ROUTEROS_CONTAINER_IPV6";
        LAN_LIST = "routeros-lan-list", "XLAT_ROUTEROS_LAN_LIST";
        WAN_LIST = "routeros-wan-list", "XLAT_ROUTEROS_WAN_LIST";
        MSS_CLAMP = "routeros-mss-clamp", "XLAT_ROUTEROS_MSS_CLAMP";
        DISTANCE = "routeros-distance", "XLAT_ROUTEROS_DISTANCE";
        RECHECK = "routeros-recheck", "XLAT_ROUTEROS_RECHECK";
        REMOVE_ON_EXIT = "routeros-remove-on-exit", "XLAT_ROUTEROS_REMOVE_ON_EXIT";
        PREF64_INTERFACE = "routeros-pref64-interface", "XLAT_ROUTEROS_PREF64_INTERFACE";
        V6ONLY_WAIT = "routeros-v6only-wait", "XLAT_ROUTEROS_V6ONLY_WAIT";
        DHCP_NETWORKS = "routeros-dhcp-networks", "XLAT_ROUTEROS_DHCP_NETWORKS";
    }
}

fn invalid(s: Setting, value: &str, reason: impl Into<String>) -> xlat_config::Error {
    xlat_config::Error::InvalidValue {
        setting: s,
        origin: Origin::CommandLine,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse<T>(
    s: Setting,
    v: &Option<String>,
    what: &str,
    f: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, xlat_config::Error> {
    match set(v) {
        None => Ok(None),
        Some(text) => f(text).map(Some).ok_or_else(|| invalid(s, text, what)),
    }
}

fn boolean(s: Setting, v: &Option<String>) -> Result<bool, xlat_config::Error> {
    Ok(parse(s, v, "true or false", |t| match t {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    })?
    .unwrap_or(false))
}

fn list<T: std::str::FromStr>(s: Setting, v: &Option<String>, what: &str) -> Result<Vec<T>, xlat_config::Error> {
    Ok(parse(s, v, what, |t| t.split([',', ' ']).filter(|i| !i.is_empty()).map(|i| i.parse::<T>().ok()).collect())?
        .unwrap_or_default())
}

/// A period: seconds, or a number with `s`, `m` or `h`; `off` or `0`
/// disables.
pub fn parse_period(t: &str) -> Option<Option<Duration>> {
    if t == "off" || t == "0" {
        return Some(None);
    }
    let (num, unit) = match t.char_indices().last()? {
        (i, 's') => (&t[..i], 1),
        (i, 'm') => (&t[..i], 60),
        (i, 'h') => (&t[..i], 3600),
        _ => (t, 1),
    };
    let n: u64 = num.parse().ok().filter(|n| *n > 0)?;
    Some(Some(Duration::from_secs(n.checked_mul(unit)?)))
}

/// The self-provisioning settings as flags and environment variables.
/// Flatten it into a daemon's arguments; [`from_lookup`](Self::from_lookup)
/// fills it from the environment without clap.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct SelfProvisionArgs {
    /// Provision the router through its API: api://, apis://, http:// or
    /// https:// then HOST or HOST:PORT; HOST `gateway` is this container's
    /// default gateway [default: off]
    #[arg(id = "routeros-url", long = "routeros-url", env = "XLAT_ROUTEROS_URL", value_name = "URL")]
    pub url: Option<String>,
    /// RouterOS user (the password comes from --routeros-password-file or
    /// XLAT_ROUTEROS_PASSWORD)
    #[arg(id = "routeros-user", long = "routeros-user", env = "XLAT_ROUTEROS_USER", value_name = "USER")]
    pub user: Option<String>,
    /// File holding the RouterOS password (a mounted secret)
    #[arg(
        id = "routeros-password-file",
        long = "routeros-password-file",
        env = "XLAT_ROUTEROS_PASSWORD_FILE",
        value_name = "PATH"
    )]
    pub password_file: Option<String>,
    /// CA certificate(s) of the router's TLS certificate (apis://, https://)
    #[arg(id = "routeros-ca-file", long = "routeros-ca-file", env = "XLAT_ROUTEROS_CA_FILE", value_name = "PATH")]
    pub ca_file: Option<String>,
    /// Accept any TLS certificate (lab routers only) [default: false]
    #[arg(
        id = "routeros-insecure",
        long = "routeros-insecure",
        env = "XLAT_ROUTEROS_INSECURE",
        value_name = "true|false"
    )]
    pub insecure: Option<String>,
    /// Instance name in the ownership tag xlat:ROLE:INSTANCE [default: default]
    #[arg(id = "routeros-instance", long = "routeros-instance", env = "XLAT_ROUTEROS_INSTANCE", value_name = "NAME")]
    pub instance: Option<String>,
    /// The container's /interface/veth: its addresses are our routes'
    /// gateways, it (or its bridge) is the firewall rules' interface
    #[arg(id = "routeros-veth", long = "routeros-veth", env = "XLAT_ROUTEROS_VETH", value_name = "NAME")]
    pub veth: Option<String>,
    /// Router-side interface facing the container [default: the veth's
    /// bridge, else the veth]
    #[arg(
        id = "routeros-interface",
        long = "routeros-interface",
        env = "XLAT_ROUTEROS_INTERFACE",
        value_name = "NAME"
    )]
    pub interface: Option<String>,
    /// The container's IPv4 address [default: from the veth]
    #[arg(
        id = "routeros-container-ipv4",
        long = "routeros-container-ipv4",
        env = "XLAT_ROUTEROS_CONTAINER_IPV4",
        value_name = "ADDR"
    )]
    pub container_ipv4: Option<String>,
    /// The container's IPv6 address [default: from the veth]
    #[arg(
        id = "routeros-container-ipv6",
        long = "routeros-container-ipv6",
        env = "XLAT_ROUTEROS_CONTAINER_IPV6",
        value_name = "ADDR"
    )]
    pub container_ipv6: Option<String>,
    /// Interface list of the LAN [default: LAN]
    #[arg(id = "routeros-lan-list", long = "routeros-lan-list", env = "XLAT_ROUTEROS_LAN_LIST", value_name = "LIST")]
    pub lan_list: Option<String>,
    /// Interface list of the WAN [default: WAN]
    #[arg(id = "routeros-wan-list", long = "routeros-wan-list", env = "XLAT_ROUTEROS_WAN_LIST", value_name = "LIST")]
    pub wan_list: Option<String>,
    /// MSS clamp mangle rules on the router: off, pmtu or an MSS in bytes
    /// [default: off]
    #[arg(
        id = "routeros-mss-clamp",
        long = "routeros-mss-clamp",
        env = "XLAT_ROUTEROS_MSS_CLAMP",
        value_name = "off|pmtu|BYTES"
    )]
    pub mss_clamp: Option<String>,
    /// distance of our routes [default: RouterOS's, 1]
    #[arg(id = "routeros-distance", long = "routeros-distance", env = "XLAT_ROUTEROS_DISTANCE", value_name = "N")]
    pub distance: Option<String>,
    /// Re-check the router this often (SECONDS, or Ns, Nm, Nh; off)
    /// [default: 5m]
    #[arg(
        id = "routeros-recheck",
        long = "routeros-recheck",
        env = "XLAT_ROUTEROS_RECHECK",
        value_name = "PERIOD|off"
    )]
    pub recheck: Option<String>,
    /// Remove our routes and rules from the router on shutdown
    /// [default: false]
    #[arg(
        id = "routeros-remove-on-exit",
        long = "routeros-remove-on-exit",
        env = "XLAT_ROUTEROS_REMOVE_ON_EXIT",
        value_name = "true|false"
    )]
    pub remove_on_exit: Option<String>,
}

/// How to reach the router.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The URL as configured (host may be `gateway`).
    pub url: String,
    /// User and password (`Debug` redacts the password).
    pub credentials: Credentials,
    /// Timeouts and TLS.
    pub options: ClientOptions,
}

impl Connection {
    /// Connects, replacing the host `gateway` by this namespace's default
    /// gateway.
    pub async fn connect(&self) -> Result<AnyClient, Error> {
        let mut endpoint: Endpoint = self.url.parse()?;
        if endpoint.host == GATEWAY_HOST {
            let gw = default_gateway().ok_or_else(|| {
                Error::config(format!(
                    "{}: host '{GATEWAY_HOST}' but this namespace has no usable default gateway",
                    setting::URL.env
                ))
            })?;
            endpoint.host = gw.to_string();
        }
        Ok(AnyClient::connect_endpoint(&endpoint, &self.credentials, &self.options).await?)
    }
}

impl SelfProvisionArgs {
    /// The arguments from environment variables (what clap's `env` does,
    /// for callers without clap).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        use setting::*;
        let get = |s: Setting| lookup(s.env);
        Self {
            url: get(URL),
            user: get(USER),
            password_file: get(PASSWORD_FILE),
            ca_file: get(CA_FILE),
            insecure: get(INSECURE),
            instance: get(INSTANCE),
            veth: get(VETH),
            interface: get(INTERFACE),
            container_ipv4: get(CONTAINER_IPV4),
            container_ipv6: get(CONTAINER_IPV6),
            lan_list: get(LAN_LIST),
            wan_list: get(WAN_LIST),
            mss_clamp: get(MSS_CLAMP),
            distance: get(DISTANCE),
            recheck: get(RECHECK),
            remove_on_exit: get(REMOVE_ON_EXIT),
        }
    }

    /// Whether a router URL is set (self-provisioning on).
    pub fn enabled(&self) -> bool {
        set(&self.url).is_some()
    }

    /// The role-independent settings.
    pub fn common(&self) -> Result<Common, xlat_config::Error> {
        use setting::*;
        let instance = set(&self.instance).unwrap_or(DEFAULT_INSTANCE).to_owned();
        Tag::new(Role::Clat, &instance).map_err(|e| invalid(INSTANCE, &instance, e.to_string()))?;
        let mss_clamp = match set(&self.mss_clamp) {
            None => MssClamp::Off,
            Some(t) => {
                t.parse().map_err(|_| invalid(MSS_CLAMP, t, "off, pmtu or an MSS in bytes from 536 to 65535"))?
            }
        };
        Ok(Common {
            instance,
            veth: set(&self.veth).map(str::to_owned),
            router_interface: set(&self.interface).map(str::to_owned),
            container_v4: parse(CONTAINER_IPV4, &self.container_ipv4, "an IPv4 address, e.g. 172.17.0.2", |t| {
                t.parse::<Ipv4Addr>().ok()
            })?,
            container_v6: parse(CONTAINER_IPV6, &self.container_ipv6, "an IPv6 address, e.g. fd00:172:17::2", |t| {
                t.parse::<Ipv6Addr>().ok()
            })?,
            lan_list: set(&self.lan_list).unwrap_or(DEFAULT_LAN_LIST).to_owned(),
            wan_list: set(&self.wan_list).unwrap_or(DEFAULT_WAN_LIST).to_owned(),
            mss_clamp,
            distance: parse(DISTANCE, &self.distance, "a route distance from 1 to 255", |t| {
                t.parse::<u8>().ok().filter(|d| *d >= 1)
            })?,
        })
    }

    /// The connection settings; the password is read from
    /// `--routeros-password-file` or, through `lookup`, `XLAT_ROUTEROS_PASSWORD`.
    pub fn connection(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<Connection, xlat_config::Error> {
        use setting::*;
        let url = set(&self.url).ok_or_else(|| invalid(URL, "", "a router URL such as apis://gateway"))?.to_owned();
        url.parse::<Endpoint>().map_err(|e| invalid(URL, &url, e.to_string()))?;
        let user = set(&self.user)
            .ok_or_else(|| invalid(USER, "", "the RouterOS user that provisions (see routeros-scripts/)"))?;
        let credentials = match set(&self.password_file) {
            Some(file) => Credentials::with_password_file(user, Path::new(file))
                .map_err(|e| invalid(PASSWORD_FILE, file, e.to_string()))?,
            None => Credentials::new(user, lookup(ENV_PASSWORD).unwrap_or_default()),
        };
        let tls = TlsOptions {
            ca_file: set(&self.ca_file).map(PathBuf::from),
            insecure: boolean(INSECURE, &self.insecure)?,
            server_name: None,
        };
        Ok(Connection { url, credentials, options: ClientOptions { tls, ..ClientOptions::default() } })
    }

    /// Validates everything; `None` when no URL is set (provisioning off).
    pub fn resolve(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<SelfProvisionSettings>, xlat_config::Error> {
        use setting::*;
        if !self.enabled() {
            return Ok(None);
        }
        let connection = self.connection(lookup)?;
        let common = self.common()?;
        if common.veth.is_none() && (common.router_interface.is_none() || common.container_v6.is_none()) {
            return Err(invalid(
                VETH,
                "",
                "the container's /interface/veth name (or --routeros-interface with the container's addresses)",
            ));
        }
        let recheck = match set(&self.recheck) {
            None => Some(DEFAULT_RECHECK),
            Some(t) => parse_period(t).ok_or_else(|| invalid(RECHECK, t, "seconds, or Ns, Nm, Nh, or off"))?,
        };
        Ok(Some(SelfProvisionSettings {
            connection,
            common,
            recheck,
            remove_on_exit: boolean(REMOVE_ON_EXIT, &self.remove_on_exit)?,
        }))
    }
}

/// The PLAT's own provisioning settings (pool6 and pool4 come from the
/// daemon's settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct PlatProvisionArgs {
    /// Advertise pool6 as PREF64 (RFC 8781) in the RAs of the /ipv6/nd
    /// entry of this interface
    #[arg(
        id = "routeros-pref64-interface",
        long = "routeros-pref64-interface",
        env = "XLAT_ROUTEROS_PREF64_INTERFACE",
        value_name = "IFNAME"
    )]
    pub pref64_interface: Option<String>,
    /// Offer DHCPv4 option 108 (RFC 8925) with this V6ONLY_WAIT in seconds,
    /// or `default` (1800) [default: off]
    #[arg(
        id = "routeros-v6only-wait",
        long = "routeros-v6only-wait",
        env = "XLAT_ROUTEROS_V6ONLY_WAIT",
        value_name = "SECONDS|default"
    )]
    pub v6only_wait: Option<String>,
    /// /ip/dhcp-server/network entries (by address) that get option 108
    #[arg(
        id = "routeros-dhcp-networks",
        long = "routeros-dhcp-networks",
        env = "XLAT_ROUTEROS_DHCP_NETWORKS",
        value_name = "PREFIX,..."
    )]
    pub dhcp_networks: Option<String>,
}

impl PlatProvisionArgs {
    /// From environment variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        use setting::*;
        Self {
            pref64_interface: lookup(PREF64_INTERFACE.env),
            v6only_wait: lookup(V6ONLY_WAIT.env),
            dhcp_networks: lookup(DHCP_NETWORKS.env),
        }
    }

    /// The PLAT role: pool6, pool4, the clients and the non-global IPv4
    /// prefixes allowed anyway come from the daemon's own settings
    /// (`pool6`, `pool4`, `clients`, `allow-v4`), PREF64 and option 108
    /// from these.
    pub fn spec(
        &self,
        pool6: Prefix,
        pool4: Vec<Ipv4Network>,
        clients: Vec<Ipv6Network>,
        allow_v4: Vec<Ipv4Network>,
    ) -> Result<PlatSpec, xlat_config::Error> {
        use setting::*;
        let networks: Vec<Ipv4Network> = list(DHCP_NETWORKS, &self.dhcp_networks, "comma-separated IPv4 prefixes")?;
        let wait = parse(
            V6ONLY_WAIT,
            &self.v6only_wait,
            "seconds, at least 300 (RFC 8925 MIN_V6ONLY_WAIT), or default",
            |t| {
                if t == "default" {
                    Some(DEFAULT_V6ONLY_WAIT)
                } else {
                    t.parse::<u32>().ok().filter(|w| *w >= crate::config::MIN_V6ONLY_WAIT)
                }
            },
        )?;
        if wait.is_none() && !networks.is_empty() {
            let text = self.dhcp_networks.clone().unwrap_or_default();
            return Err(invalid(DHCP_NETWORKS, &text, "needs --routeros-v6only-wait (option 108 is off)"));
        }
        Ok(PlatSpec {
            pool6,
            pool4,
            clients,
            allow_v4,
            pref64_interface: set(&self.pref64_interface).map(str::to_owned),
            v6only: wait.map(|wait| V6OnlyPreferred { wait, networks }),
        })
    }
}

/// Validated self-provisioning settings.
#[derive(Debug, Clone)]
pub struct SelfProvisionSettings {
    /// How to reach the router.
    pub connection: Connection,
    /// Role-independent settings.
    pub common: Common,
    /// Re-check period (`None`: only at start).
    pub recheck: Option<Duration>,
    /// Remove everything of ours on shutdown.
    pub remove_on_exit: bool,
}

/// Self-provisioning of one daemon.
#[derive(Debug)]
pub struct SelfProvision {
    settings: SelfProvisionSettings,
    last_pool: Mutex<Option<Ipv6Network>>,
}

impl SelfProvision {
    /// From `XLAT_ROUTEROS_*` variables; `Ok(None)` when `XLAT_ROUTEROS_URL`
    /// is not set.
    pub fn from_env() -> Result<Option<Self>, xlat_config::Error> {
        let lookup = |k: &str| std::env::var(k).ok();
        Ok(SelfProvisionArgs::from_lookup(lookup).resolve(lookup)?.map(Self::new))
    }

    /// From validated settings.
    pub fn new(settings: SelfProvisionSettings) -> Self {
        Self { settings, last_pool: Mutex::new(None) }
    }

    /// The settings.
    pub fn settings(&self) -> &SelfProvisionSettings {
        &self.settings
    }

    /// The full role configuration for `spec`.
    pub fn role_config(&self, spec: RoleSpec) -> RoleConfig {
        RoleConfig { common: self.settings.common.clone(), spec }
    }

    /// Connects, computes and applies the difference for `spec`. With an
    /// automatic CLAT prefix, [`Report::prefix_change`] tells whether the
    /// delegated prefix moved since the last call.
    pub async fn provision(&self, spec: &RoleSpec) -> Result<Report, Error> {
        let cfg = self.role_config(spec.clone());
        let router = self.settings.connection.connect().await?;
        let mut report = Provisioner::new(router, cfg.tag()?).apply(&cfg).await?;
        if let (RoleSpec::Clat(c), Some(pool)) = (spec, report.site.as_ref().and_then(|s| s.pool)) {
            if let ClatPrefix::Pool(carve) = &c.prefix {
                let mut last = self.last_pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                report.prefix_change = recompute(carve, *last, pool)?.filter(|ch| ch.old_pool.is_some());
                *last = Some(pool);
            }
        }
        Ok(report)
    }

    /// Connects and removes everything of ours for `role`.
    pub async fn remove(&self, role: Role) -> Result<Report, Error> {
        let tag = Tag::new(role, &self.settings.common.instance)?;
        let router = self.settings.connection.connect().await?;
        Provisioner::new(router, tag).remove().await
    }

    /// Provisions now and then every re-check period (after a failure:
    /// every [`RETRY`]), until [`Running::shutdown`]; then removes if so
    /// configured. Must be called inside a tokio runtime.
    pub fn spawn(self, spec: RoleSpec) -> Running {
        let (stop_tx, mut stop) = watch::channel(false);
        let (prefix_tx, clat_prefix) = watch::channel(None);
        let task = tokio::spawn(async move {
            let role = spec.role();
            let tag = self.role_config(spec.clone()).tag().map(|t| t.to_string()).unwrap_or_default();
            tracing::info!(
                tag,
                router = %self.settings.connection.url,
                user = self.settings.connection.credentials.user(),
                recheck = ?self.settings.recheck,
                remove_on_exit = self.settings.remove_on_exit,
                "RouterOS self-provisioning on"
            );
            loop {
                let wait = match self.provision(&spec).await {
                    Ok(report) => {
                        log_report(&tag, &report);
                        if let Some(now) = carved(&spec, &report) {
                            prefix_tx.send_if_modified(|p| p.replace(now) != Some(now));
                        }
                        self.settings.recheck
                    }
                    Err(e) => {
                        tracing::warn!(tag, error = %e, retry_in = ?RETRY, "RouterOS provisioning failed");
                        Some(RETRY)
                    }
                };
                let stopped = match wait {
                    Some(d) => tokio::select! {
                        _ = tokio::time::sleep(d) => false,
                        _ = stop.changed() => true,
                    },
                    None => {
                        let _ = stop.changed().await;
                        true
                    }
                };
                if stopped {
                    break;
                }
            }
            if self.settings.remove_on_exit {
                match tokio::time::timeout(REMOVE_TIMEOUT, self.remove(role)).await {
                    Ok(Ok(r)) => tracing::info!(tag, removed = r.written, "RouterOS objects removed"),
                    Ok(Err(e)) => tracing::warn!(tag, error = %e, "RouterOS removal failed"),
                    Err(_) => tracing::warn!(tag, after = ?REMOVE_TIMEOUT, "RouterOS removal timed out"),
                }
            }
        });
        Running { stop: stop_tx, task, clat_prefix }
    }
}

/// The automatic CLAT prefix a provisioning used (`None`: a static prefix,
/// the PLAT, or no pool read).
fn carved(spec: &RoleSpec, report: &Report) -> Option<Ipv6Network> {
    let RoleSpec::Clat(c) = spec else { return None };
    let ClatPrefix::Pool(cfg) = &c.prefix else { return None };
    let pool = report.site.as_ref()?.pool?;
    crate::pd::carve(pool, cfg.length, cfg.index).ok()
}

fn log_report(tag: &str, report: &Report) {
    for note in &report.plan.notes {
        tracing::warn!(tag, note = %note, "RouterOS provisioning");
    }
    if let Some(ch) = &report.prefix_change {
        tracing::warn!(
            tag,
            old_pool = ?ch.old_pool.map(|p| p.to_string()),
            new_pool = %ch.new_pool,
            old = ?ch.old.map(|p| p.to_string()),
            new = %ch.new,
            "delegated prefix changed: CLAT prefix re-provisioned"
        );
    }
    if report.written == 0 {
        tracing::debug!(tag, "RouterOS in sync");
    } else {
        let (add, set, remove, moves) = report.plan.counts();
        tracing::info!(tag, add, set, remove, moves, "RouterOS provisioned");
    }
}

/// The background provisioning task of a daemon.
#[derive(Debug)]
pub struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    clat_prefix: watch::Receiver<Option<Ipv6Network>>,
}

impl Running {
    /// The automatic CLAT prefix (`ClatPrefix::Pool`) as carved from the
    /// DHCPv6-PD pool at the last successful provisioning: `None` until the
    /// first one (and always for a static prefix or the PLAT), then changed
    /// only when the delegated prefix moves. A daemon follows it to
    /// reconfigure its translator and local routes.
    pub fn clat_prefix(&self) -> watch::Receiver<Option<Ipv6Network>> {
        self.clat_prefix.clone()
    }

    /// Stops re-checking; removes everything of ours first when
    /// `XLAT_ROUTEROS_REMOVE_ON_EXIT=true` (bounded by [`REMOVE_TIMEOUT`]).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The daemons flatten these next to the translator's settings: no id
    /// may collide (clap panics at startup otherwise).
    #[test]
    fn flags_do_not_collide_with_the_translator_settings() {
        use clap::CommandFactory;
        #[derive(Debug, clap::Parser)]
        struct Daemon {
            #[command(flatten)]
            translator: xlat_config::TranslatorArgs,
            #[command(flatten)]
            routeros: SelfProvisionArgs,
            #[command(flatten)]
            plat: PlatProvisionArgs,
        }
        Daemon::command().debug_assert();
    }

    #[test]
    fn periods() {
        assert_eq!(parse_period("off"), Some(None));
        assert_eq!(parse_period("0"), Some(None));
        assert_eq!(parse_period("90"), Some(Some(Duration::from_secs(90))));
        assert_eq!(parse_period("5m"), Some(Some(Duration::from_secs(300))));
        assert_eq!(parse_period("2h"), Some(Some(Duration::from_secs(7200))));
        for bad in ["", "m", "-1", "5d", "1.5m"] {
            assert_eq!(parse_period(bad), None, "{bad}");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn off_without_url_and_errors_name_the_setting() {
        let none = env(&[]);
        let args = SelfProvisionArgs::from_lookup(|k| none.get(k).cloned());
        assert!(args.resolve(|k| none.get(k).cloned()).unwrap().is_none());

        let e = env(&[("XLAT_ROUTEROS_URL", "apis://gateway"), ("XLAT_ROUTEROS_USER", "xlat")]);
        let args = SelfProvisionArgs::from_lookup(|k| e.get(k).cloned());
        let err = args.resolve(|k| e.get(k).cloned()).unwrap_err().to_string();
        assert!(err.contains("XLAT_ROUTEROS_VETH"), "{err}");

        let e = env(&[
            ("XLAT_ROUTEROS_URL", "apis://gateway"),
            ("XLAT_ROUTEROS_USER", "xlat"),
            ("XLAT_ROUTEROS_PASSWORD", "s3cret"),
            ("XLAT_ROUTEROS_VETH", "veth-xlat"),
            ("XLAT_ROUTEROS_RECHECK", "10m"),
            ("XLAT_ROUTEROS_REMOVE_ON_EXIT", "true"),
        ]);
        let args = SelfProvisionArgs::from_lookup(|k| e.get(k).cloned());
        let s = args.resolve(|k| e.get(k).cloned()).unwrap().unwrap();
        assert_eq!(s.connection.credentials.password(), "s3cret");
        assert_eq!(s.recheck, Some(Duration::from_secs(600)));
        assert!(s.remove_on_exit);
        assert!(!format!("{s:?}").contains("s3cret"), "Debug must not show the password");

        let e = env(&[
            ("XLAT_ROUTEROS_URL", "ftp://x"),
            ("XLAT_ROUTEROS_USER", "xlat"),
            ("XLAT_ROUTEROS_VETH", "veth-xlat"),
        ]);
        let args = SelfProvisionArgs::from_lookup(|k| e.get(k).cloned());
        let err = args.resolve(|k| e.get(k).cloned()).unwrap_err().to_string();
        assert!(err.contains("--routeros-url (XLAT_ROUTEROS_URL)"), "{err}");
    }

    #[test]
    fn plat_args() {
        let pool6: Prefix = "64:ff9b::/96".parse().unwrap();
        let pool4 = vec!["198.51.100.0/24".parse().unwrap()];
        let e = env(&[
            ("XLAT_ROUTEROS_V6ONLY_WAIT", "default"),
            ("XLAT_ROUTEROS_DHCP_NETWORKS", "192.168.88.0/24"),
            ("XLAT_ROUTEROS_PREF64_INTERFACE", "bridge"),
        ]);
        let spec =
            PlatProvisionArgs::from_lookup(|k| e.get(k).cloned()).spec(pool6, pool4.clone(), vec![], vec![]).unwrap();
        assert_eq!(spec.v6only.as_ref().unwrap().wait, 1800);
        assert_eq!(spec.pref64_interface.as_deref(), Some("bridge"));
        let e = env(&[("XLAT_ROUTEROS_V6ONLY_WAIT", "60")]);
        let err = PlatProvisionArgs::from_lookup(|k| e.get(k).cloned())
            .spec(pool6, pool4.clone(), vec![], vec![])
            .unwrap_err();
        assert!(err.to_string().contains("XLAT_ROUTEROS_V6ONLY_WAIT"), "{err}");
        let e = env(&[("XLAT_ROUTEROS_DHCP_NETWORKS", "192.168.88.0/24")]);
        assert!(PlatProvisionArgs::from_lookup(|k| e.get(k).cloned()).spec(pool6, pool4, vec![], vec![]).is_err());
    }
}
