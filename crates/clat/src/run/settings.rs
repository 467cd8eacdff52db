//! `clat run` settings: the daemon's own (TUN, PLAT prefix, CLAT addresses,
//! routes, metrics, logging) on top of the translator settings, with the
//! same convention: flag > `XLAT_*` env > `[clat]` table of the `--config`
//! file > default, and one-line errors naming the setting.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use ipnetwork::{Ipv4Network, Ipv6Network};
use serde::Deserialize;
use xlat_config::{Error, Origin, Setting, TranslatorArgs};
use xlat_core::rfc6052::Prefix;
use xlat_core::rfc7757::{Entry, Table};
use xlat_core::Config;

/// RFC 7335: the IPv4 service continuity prefix; .1 is the customary CLAT
/// address when the router NATs the LAN into one address.
pub(crate) const DEFAULT_CLAT_IPV4: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 1);
const DEFAULT_TUN_NAME: &str = "clat";
const DEFAULT_TUN_MTU: u16 = 1500;
const DEFAULT_METRICS: &str = "[::]:9464";
const MAX_WORKERS: u16 = 64;
const IFNAMSIZ: usize = 15;

macro_rules! setting {
    ($name:ident, $key:literal, $env:literal) => {
        const $name: Setting = Setting { key: $key, env: $env };
    };
}
setting!(TUN_NAME, "tun-name", "XLAT_TUN_NAME");
setting!(TUN_MTU, "tun-mtu", "XLAT_TUN_MTU");
setting!(PLAT_PREFIX, "plat-prefix", "XLAT_PLAT_PREFIX");
setting!(CLAT_IPV4, "clat-ipv4", "XLAT_CLAT_IPV4");
setting!(CLAT_IPV6, "clat-ipv6", "XLAT_CLAT_IPV6");
setting!(RA_INTERFACE, "ra-interface", "XLAT_RA_INTERFACE");
setting!(DNS_SERVER, "dns-server", "XLAT_DNS_SERVER");
setting!(ROUTES_V4, "routes-v4", "XLAT_ROUTES_V4");
setting!(METRICS_LISTEN, "metrics-listen", "XLAT_METRICS_LISTEN");
setting!(LOG_FORMAT, "log-format", "XLAT_LOG_FORMAT");
setting!(WORKERS, "workers", "XLAT_WORKERS");
setting!(OFFLOAD, "offload", "XLAT_OFFLOAD");
setting!(CHECKSUM_NEUTRAL, "checksum-neutral", "XLAT_CHECKSUM_NEUTRAL");
setting!(CLAT_POOL, "routeros-clat-pool", "XLAT_ROUTEROS_CLAT_POOL");

/// Arguments of `clat run`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RunArgs {
    /// Name of the TUN device [default: clat]
    #[arg(long, env = "XLAT_TUN_NAME", value_name = "NAME")]
    pub(crate) tun_name: Option<String>,

    /// MTU of the TUN device, at least 1280 [default: 1500]
    #[arg(long, env = "XLAT_TUN_MTU", value_name = "BYTES")]
    pub(crate) tun_mtu: Option<String>,

    /// PLAT (NAT64) prefix, or `auto`: RFC 8781 PREF64 from Router
    /// Advertisements, then RFC 7050 DNS discovery [default: pool6 if set,
    /// else auto]
    #[arg(long, env = "XLAT_PLAT_PREFIX", value_name = "PREFIX|auto")]
    pub(crate) plat_prefix: Option<String>,

    /// The CLAT's IPv4 address: the router NATs the LAN into it (RFC 6877
    /// single-address mode) [default: 192.0.0.1]
    #[arg(long, env = "XLAT_CLAT_IPV4", value_name = "ADDR")]
    pub(crate) clat_ipv4: Option<String>,

    /// The CLAT's IPv6 address, mapped to --clat-ipv4; omit it to map a LAN
    /// prefix with --eam instead (no NAT44)
    #[arg(long, env = "XLAT_CLAT_IPV6", value_name = "ADDR")]
    pub(crate) clat_ipv6: Option<String>,

    /// Interface to hear Router Advertisements on (plat-prefix auto)
    /// [default: all]
    #[arg(long, env = "XLAT_RA_INTERFACE", value_name = "IFNAME")]
    pub(crate) ra_interface: Option<String>,

    /// DNS server for RFC 7050 discovery [default: /etc/resolv.conf]
    #[arg(long, env = "XLAT_DNS_SERVER", value_name = "ADDR[:PORT]")]
    pub(crate) dns_server: Option<String>,

    /// IPv4 destinations routed into the TUN (comma-separated)
    /// [default: 0.0.0.0/0, installed as 0.0.0.0/1 + 128.0.0.0/1]
    #[arg(long, env = "XLAT_ROUTES_V4", value_name = "PREFIX,...")]
    pub(crate) routes_v4: Option<String>,

    /// Do not touch sysctls or routes: the host configures the namespace
    #[arg(long, env = "XLAT_NO_CONFIGURE")]
    pub(crate) no_configure: bool,

    /// Address of the /metrics and /healthz endpoint, or `off`
    /// [default: [::]:9464]
    #[arg(long, env = "XLAT_METRICS_LISTEN", value_name = "ADDR:PORT|off")]
    pub(crate) metrics_listen: Option<String>,

    /// Log format on stdout: text or json [default: text]
    #[arg(long, env = "XLAT_LOG_FORMAT", value_name = "text|json")]
    pub(crate) log_format: Option<String>,

    /// Worker threads, one TUN queue each, or auto: one per CPU [default:
    /// auto]
    #[arg(long, env = "XLAT_WORKERS", value_name = "N")]
    pub(crate) workers: Option<String>,

    /// TUN offloads (64 KiB TCP super-packets translated once): auto (on
    /// when the kernel allows), on, off [default: auto]
    #[arg(long, env = "XLAT_OFFLOAD", value_name = "auto|on|off")]
    pub(crate) offload: Option<String>,

    /// Make --clat-ipv6 checksum-neutral to --clat-ipv4 (its last 16 bits
    /// are chosen so translation changes no transport checksum, as
    /// Android's clatd does); single-address mode only [default: off]
    #[arg(long, env = "XLAT_CHECKSUM_NEUTRAL", value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
    pub(crate) checksum_neutral: Option<String>,

    /// Translator settings.
    #[command(flatten)]
    pub(crate) translator: TranslatorArgs,

    /// Self-provisioning of the RouterOS router (flags and XLAT_ROUTEROS_*
    /// variables only, never the file: the password stays out of it).
    #[command(flatten)]
    pub(crate) routeros: xlat_routeros::SelfProvisionArgs,

    /// Follow the ISP: the CLAT prefix is carved from this /ipv6/pool
    /// (DHCPv6-PD) of the router, NAME[/LENGTH][@INDEX] (default the last
    /// /64); --clat-ipv6 is the address to start with, its interface bits
    /// are kept inside each new prefix [default: off]
    #[arg(
        id = "routeros-clat-pool",
        long = "routeros-clat-pool",
        env = "XLAT_ROUTEROS_CLAT_POOL",
        value_name = "POOL"
    )]
    pub(crate) routeros_clat_pool: Option<String>,
}

/// The `[clat]` table of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RunFile {
    tun_name: Option<String>,
    tun_mtu: Option<u16>,
    plat_prefix: Option<String>,
    clat_ipv4: Option<String>,
    clat_ipv6: Option<String>,
    ra_interface: Option<String>,
    dns_server: Option<String>,
    routes_v4: Option<Vec<String>>,
    configure: Option<bool>,
    metrics_listen: Option<String>,
    log_format: Option<String>,
    workers: Option<u16>,
    offload: Option<String>,
    checksum_neutral: Option<bool>,
}

/// Where the PLAT prefix comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlatPrefix {
    /// Configured.
    Static(Prefix),
    /// Discovered (RFC 8781, then RFC 7050).
    Auto,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// Everything `clat run` needs, validated.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    pub(crate) tun_name: String,
    pub(crate) tun_mtu: u16,
    pub(crate) plat: PlatPrefix,
    pub(crate) clat_ipv4: Ipv4Addr,
    pub(crate) clat_ipv6: Option<Ipv6Addr>,
    pub(crate) ra_interface: Option<String>,
    pub(crate) dns_server: Option<SocketAddr>,
    pub(crate) routes_v4: Vec<Ipv4Network>,
    pub(crate) configure: bool,
    pub(crate) metrics_listen: Option<SocketAddr>,
    pub(crate) log_format: LogFormat,
    pub(crate) workers: u16,
    pub(crate) offload: xlat_tun::OffloadMode,
    /// `clat_ipv6` (and each one carved from a new prefix) is made
    /// checksum-neutral to `clat_ipv4`.
    pub(crate) checksum_neutral: bool,
    /// Translator configuration without the PLAT prefix when it is `auto`.
    pub(crate) translator: Config,
    /// RouterOS self-provisioning (`None`: XLAT_ROUTEROS_URL not set).
    pub(crate) routeros: Option<xlat_routeros::SelfProvisionSettings>,
    /// The CLAT prefix follows the router's DHCPv6-PD pool (needs
    /// `routeros` and `clat_ipv6`).
    pub(crate) clat_pool: Option<xlat_routeros::PoolCarve>,
}

impl RunSettings {
    /// IPv6 prefixes that belong to the CLAT side (routed into the TUN).
    pub(crate) fn clat_v6_prefixes(&self) -> Vec<Ipv6Network> {
        self.translator.eam.entries().map(Entry::v6).collect()
    }

    /// The CLAT IPv6 address inside a newly carved `prefix`: the prefix's
    /// bits, then the interface bits of `--clat-ipv6`.
    pub(crate) fn clat_ipv6_in(&self, prefix: Ipv6Network) -> Option<Ipv6Addr> {
        let a = address_in(self.clat_ipv6?, prefix);
        Some(if self.checksum_neutral { xlat_core::checksum::neutral_v6(a, self.clat_ipv4) } else { a })
    }

    /// What the router must provide for this CLAT (xlat-routeros): the IPv4
    /// destinations, the CLAT prefixes, and in single-address mode the NAT
    /// of the LAN into --clat-ipv4.
    pub(crate) fn routeros_role(&self) -> xlat_routeros::RoleSpec {
        xlat_routeros::RoleSpec::Clat(xlat_routeros::ClatSpec {
            routes_v4: self.routes_v4.clone(),
            prefix: match &self.clat_pool {
                Some(carve) => xlat_routeros::ClatPrefix::Pool(carve.clone()),
                None => xlat_routeros::ClatPrefix::Static(self.clat_v6_prefixes()),
            },
            nat_to: self.clat_ipv6.map(|_| self.clat_ipv4),
        })
    }
}

impl RunArgs {
    /// Merges flags/env, the `[clat]` file table and defaults; validates.
    pub(crate) fn resolve(&self) -> Result<RunSettings, Error> {
        let file: RunFile = match &self.translator.config {
            Some(path) => xlat_config::load_section(path, "clat")?,
            None => RunFile::default(),
        };
        let path = self.translator.config.as_deref();
        let pick = |s: Setting, cli: &Option<String>, file: Option<String>| pick(path, s, cli, file);

        let tun_name = match pick(TUN_NAME, &self.tun_name, file.tun_name)? {
            None => DEFAULT_TUN_NAME.to_owned(),
            Some((v, o)) => check(TUN_NAME, o, &v, |v| {
                (!v.is_empty() && v.len() <= IFNAMSIZ && v.bytes().all(|b| b.is_ascii_graphic() && b != b'/'))
                    .then(|| v.to_owned())
                    .ok_or("an interface name of 1 to 15 printable characters, no '/'")
            })?,
        };
        let tun_mtu =
            parse_or(pick(TUN_MTU, &self.tun_mtu, file.tun_mtu.map(|v| v.to_string()))?, DEFAULT_TUN_MTU, |v| {
                v.parse::<u16>().ok().filter(|m| *m >= xlat_core::config::IPV6_MIN_MTU).ok_or("an MTU of 1280 to 65535")
            })?;
        let clat_ipv4 = parse_or(pick(CLAT_IPV4, &self.clat_ipv4, file.clat_ipv4)?, DEFAULT_CLAT_IPV4, |v| {
            v.parse().map_err(|_| "an IPv4 address, e.g. 192.0.0.1")
        })?;
        let clat_ipv6 = match pick(CLAT_IPV6, &self.clat_ipv6, file.clat_ipv6)? {
            None => None,
            Some((v, o)) => Some(check(CLAT_IPV6, o, &v, |v| {
                v.parse::<Ipv6Addr>().map_err(|_| "an IPv6 address, e.g. 2001:db8:aaaa::1")
            })?),
        };
        let checksum_neutral =
            match pick(CHECKSUM_NEUTRAL, &self.checksum_neutral, file.checksum_neutral.map(|b| b.to_string()))? {
                None => false,
                Some((v, o)) => check(CHECKSUM_NEUTRAL, o.clone(), &v, |v| match v {
                    "true" | "on" | "yes" | "1" => Ok(true),
                    "false" | "off" | "no" | "0" => Ok(false),
                    _ => Err("true or false"),
                })
                .and_then(|on| {
                    if on && clat_ipv6.is_none() {
                        check(CHECKSUM_NEUTRAL, o, &v, |_| {
                            Err::<bool, _>("needs --clat-ipv6 (single-address mode): set it, or drop checksum-neutral")
                        })
                    } else {
                        Ok(on)
                    }
                })?,
            };
        // The address the CLAT really uses (logged at start).
        let clat_ipv6 =
            clat_ipv6.map(|a| if checksum_neutral { xlat_core::checksum::neutral_v6(a, clat_ipv4) } else { a });
        let ra_interface = pick(RA_INTERFACE, &self.ra_interface, file.ra_interface)?.map(|(v, _)| v);
        let dns_server = match pick(DNS_SERVER, &self.dns_server, file.dns_server)? {
            None => None,
            Some((v, o)) => Some(check(DNS_SERVER, o, &v, |v| {
                v.parse::<SocketAddr>()
                    .or_else(|_| v.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| "an address with an optional port, e.g. 2001:db8::53 or [2001:db8::53]:5353")
            })?),
        };
        let routes_file = file.routes_v4.map(|v| v.join(","));
        let routes_v4 = parse_or(
            pick(ROUTES_V4, &self.routes_v4, routes_file)?,
            vec![Ipv4Network::new(Ipv4Addr::UNSPECIFIED, 0).expect("/0 is valid")],
            |v| {
                v.split([',', ' ']).filter(|s| !s.is_empty()).map(|s| s.parse::<Ipv4Network>()).collect::<Result<Vec<_>, _>>()
                .ok().filter(|r| r.iter().all(|n| n.network() == n.ip()))
                .ok_or("comma-separated IPv4 prefixes without host bits, e.g. 0.0.0.0/0 or 198.51.100.0/24,203.0.113.0/24")
            },
        )?;
        let configure = !self.no_configure && file.configure.unwrap_or(true);
        let metrics_listen = match pick(METRICS_LISTEN, &self.metrics_listen, file.metrics_listen)? {
            None => Some(DEFAULT_METRICS.parse().unwrap_or(SocketAddr::from(([0, 0, 0, 0], 9464)))),
            Some((v, _)) if v == "off" => None,
            Some((v, o)) => Some(check(METRICS_LISTEN, o, &v, |v| {
                v.parse::<SocketAddr>().map_err(|_| "ADDR:PORT (e.g. [::]:9464 or 192.0.0.5:9464) or off")
            })?),
        };
        let log_format =
            parse_or(pick(LOG_FORMAT, &self.log_format, file.log_format)?, LogFormat::Text, |v| match v {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("text or json"),
            })?;
        let workers = parse_or(
            pick(WORKERS, &self.workers, file.workers.map(|v| v.to_string()))?,
            xlat_tun::auto_workers(),
            |v| {
                if v == "auto" {
                    return Ok(xlat_tun::auto_workers());
                }
                v.parse::<u16>()
                    .ok()
                    .filter(|n| (1..=MAX_WORKERS).contains(n))
                    .ok_or("a number of workers from 1 to 64, or auto")
            },
        )?;
        let offload = match pick(OFFLOAD, &self.offload, file.offload)? {
            None => xlat_tun::OffloadMode::Auto,
            Some((v, o)) => check(OFFLOAD, o, &v, |v| v.parse::<xlat_tun::OffloadMode>())?,
        };

        let mut targs = self.translator.clone();
        targs.mss_default_auto = true;
        targs.icmp_error_rate_default = xlat_config::DAEMON_ICMP_ERROR_RATE;
        let mut translator = targs.to_config()?;
        let plat = match pick(PLAT_PREFIX, &self.plat_prefix, file.plat_prefix)? {
            Some((v, _)) if v == "auto" => PlatPrefix::Auto,
            Some((v, o)) => PlatPrefix::Static(check(PLAT_PREFIX, o, &v, |v| {
                v.parse::<Prefix>()
                    .map_err(|_| "auto, or an RFC 6052 prefix of length 32, 40, 48, 56, 64 or 96, e.g. 64:ff9b::/96")
            })?),
            None => translator.pool6.map_or(PlatPrefix::Auto, PlatPrefix::Static),
        };
        translator.pool6 = match plat {
            PlatPrefix::Static(p) => Some(p),
            PlatPrefix::Auto => None,
        };
        if let Some(v6) = clat_ipv6 {
            let entry = Entry::new(Ipv4Network::from(clat_ipv4), Ipv6Network::from(v6))?;
            let mut entries: Vec<Entry> = translator.eam.entries().copied().collect();
            entries.push(entry);
            translator.eam = Table::new(entries)?;
        }
        if translator.eam.is_empty() {
            return Err(Error::InvalidValue {
                setting: CLAT_IPV6,
                origin: Origin::CommandLine,
                value: String::new(),
                reason: "set --clat-ipv6 (one address, the router NATs the LAN into --clat-ipv4) or --eam (a LAN prefix mapped statelessly)".into(),
            });
        }
        // Errors the CLAT originates come from its own IPv6 address.
        if translator.ipv6_addr.is_none() {
            translator.ipv6_addr = clat_ipv6.or_else(|| translator.eam.entries().next().map(|e| e.v6().network()));
        }
        // Validate now (the prefix may be absent in auto mode: EAM alone is valid).
        translator.clone().validate()?;
        let routeros = self.routeros.resolve(|k| std::env::var(k).ok())?;
        let clat_pool = match self.routeros_clat_pool.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => {
                let bad = |reason: &str| Error::InvalidValue {
                    setting: CLAT_POOL,
                    origin: Origin::CommandLine,
                    value: v.to_owned(),
                    reason: reason.to_owned(),
                };
                let carve: xlat_routeros::PoolCarve =
                    v.parse().map_err(|_| bad("NAME[/LENGTH][@INDEX], e.g. isp-pd or isp-pd/64"))?;
                if routeros.is_none() {
                    return Err(bad("needs --routeros-url (the pool is read from the router)"));
                }
                if clat_ipv6.is_none() || translator.eam.len() != 1 {
                    return Err(bad("needs --clat-ipv6 and no --eam (the router routes only the carved prefix)"));
                }
                Some(carve)
            }
        };
        Ok(RunSettings {
            tun_name,
            tun_mtu,
            plat,
            clat_ipv4,
            clat_ipv6,
            ra_interface,
            dns_server,
            routes_v4,
            configure,
            metrics_listen,
            log_format,
            workers,
            offload,
            checksum_neutral,
            translator,
            routeros,
            clat_pool,
        })
    }
}

/// The winning value of a setting (flag/env over file) and its origin.
fn pick(
    path: Option<&Path>,
    _s: Setting,
    cli: &Option<String>,
    file: Option<String>,
) -> Result<Option<(String, Origin)>, Error> {
    if let Some(v) = cli.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        return Ok(Some((v.to_owned(), Origin::CommandLine)));
    }
    Ok(file.map(|v| (v, path.map_or(Origin::CommandLine, |p| Origin::File(p.to_owned())))))
}

fn check<T>(
    setting: Setting,
    origin: Origin,
    v: &str,
    f: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Result<T, Error> {
    f(v).map_err(|reason| Error::InvalidValue { setting, origin, value: v.to_owned(), reason: reason.to_owned() })
}

fn parse_or<T>(
    v: Option<(String, Origin)>,
    default: T,
    f: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Result<T, Error> {
    match v {
        None => Ok(default),
        Some((v, o)) => {
            // The setting name is recovered by the caller's closure message.
            f(&v).map_err(|reason| Error::InvalidValue {
                setting: setting_of(reason),
                origin: o,
                value: v.clone(),
                reason: reason.to_owned(),
            })
        }
    }
}

/// Maps a reason text back to its setting (each reason above is unique).
fn setting_of(reason: &str) -> Setting {
    match reason {
        r if r.starts_with("an MTU") => TUN_MTU,
        r if r.starts_with("an IPv4 address") => CLAT_IPV4,
        r if r.starts_with("comma-separated") => ROUTES_V4,
        r if r.starts_with("text or json") => LOG_FORMAT,
        _ => WORKERS,
    }
}

/// `prefix`'s bits, then the bits of `addr` after the prefix length.
fn address_in(addr: Ipv6Addr, prefix: Ipv6Network) -> Ipv6Addr {
    let host = u128::MAX.checked_shr(u32::from(prefix.prefix())).unwrap_or(0);
    Ipv6Addr::from((u128::from(prefix.network()) & !host) | (u128::from(addr) & host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clat_address_keeps_its_interface_bits_in_a_new_prefix() {
        let a = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let n = |s: &str| s.parse::<Ipv6Network>().unwrap();
        assert_eq!(address_in(a("2001:db8:1200:ff::1"), n("2001:db8:3400:ff::/64")), a("2001:db8:3400:ff::1"));
        assert_eq!(address_in(a("2001:db8:1200:ff::1"), n("2001:db8:3400:ff::/56")), a("2001:db8:3400:ff::1"));
        assert_eq!(address_in(a("2001:db8::1"), n("2001:db8:1::5/128")), a("2001:db8:1::5"));
        assert_eq!(address_in(a("2001:db8::1"), n("::/0")), a("2001:db8::1"));
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn resolve(args: &[&str]) -> Result<RunSettings, Error> {
        use clap::Parser as _;
        Cli::parse_from(std::iter::once("clat").chain(args.iter().copied())).run.resolve()
    }

    #[test]
    fn checksum_neutral_rewrites_the_last_word_of_the_clat_address() {
        let base = ["--plat-prefix", "64:ff9b::/96", "--clat-ipv6", "2001:db8:aaaa::1", "--no-configure"];
        let plain = resolve(&base).unwrap();
        assert_eq!(plain.clat_ipv6, Some("2001:db8:aaaa::1".parse().unwrap()));
        let neutral = resolve(&[&base[..], &["--checksum-neutral"]].concat()).unwrap();
        let a = neutral.clat_ipv6.unwrap();
        assert_eq!(a, xlat_core::checksum::neutral_v6("2001:db8:aaaa::1".parse().unwrap(), neutral.clat_ipv4));
        assert_ne!(a, plain.clat_ipv6.unwrap());
        // The EAM entry and a carved address use it too.
        assert!(neutral.translator.eam.entries().any(|e| e.v6().network() == a));
        let carved = neutral.clat_ipv6_in("2001:db8:bbbb::/64".parse().unwrap()).unwrap();
        assert_eq!(carved, xlat_core::checksum::neutral_v6(carved, neutral.clat_ipv4));
        assert_eq!(carved.segments()[..4], [0x2001, 0xdb8, 0xbbbb, 0]);
    }

    #[test]
    fn checksum_neutral_needs_a_clat_address() {
        let err = resolve(&[
            "--plat-prefix",
            "64:ff9b::/96",
            "--eam",
            "198.51.100.0/24=2001:db8:aaaa::/120",
            "--checksum-neutral",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("checksum-neutral") && err.contains("--clat-ipv6"), "{err}");
        let err = resolve(&["--clat-ipv6", "2001:db8:aaaa::1", "--checksum-neutral=maybe"]).unwrap_err().to_string();
        assert!(err.contains("true or false"), "{err}");
    }
}
