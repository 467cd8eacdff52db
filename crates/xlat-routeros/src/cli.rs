//! The `xlat-routeros` command line (the binary only parses and reports).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;

use ipnetwork::{Ipv4Network, Ipv6Network};
use xlat_config::{Origin, Setting};
use xlat_core::rfc6052::Prefix;
use xlat_core::rfc7757::Entry;

use crate::apply::{Prepared, Provisioner};
use crate::config::{ClatPrefix, ClatSpec, PoolCarve, RoleConfig, RoleSpec};
use crate::desired::desired;
use crate::plan::{plan, Plan, Snapshot};
use crate::resolve::resolve_offline;
use crate::selfprov::{PlatProvisionArgs, SelfProvisionArgs};
use crate::tag::{Role, Tag};
use crate::Error;

/// Exit code: the router differs from the desired state (`check`).
pub const EXIT_DRIFT: u8 = 3;
/// Exit code of a bad setting (as every xlat binary).
pub const EXIT_CONFIG: u8 = xlat_config::EXIT_CONFIG_ERROR;
/// Exit code of a failure talking to the router.
pub const EXIT_FAILURE: u8 = 1;

/// RouterOS provisioning for xlat: computes the routes, firewall, NAT and
/// mangle rules a CLAT or PLAT container needs, reads the router and
/// applies only the difference. Every object carries the comment tag
/// xlat:ROLE:INSTANCE; nothing without it is ever changed.
#[derive(Debug, clap::Parser)]
#[command(name = "xlat-routeros", version, about, propagate_version = true)]
pub struct Cli {
    /// Router and shared settings.
    #[command(flatten)]
    pub router: SelfProvisionArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Provision a role: add, set, move and remove only what differs
    Apply {
        /// Print the plan as RouterOS console lines; write nothing
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: plan against an empty router without connecting
        /// (needs --routeros-interface and the container's addresses)
        #[arg(long, requires = "dry_run")]
        offline: bool,
        /// The role.
        #[command(subcommand)]
        role: RoleArgs,
    },
    /// Print what apply would change; exit 0 in sync, 3 when it differs
    Check {
        /// The role.
        #[command(subcommand)]
        role: RoleArgs,
    },
    /// Remove every object of a role's instance and undo its edits
    Remove {
        /// Print the plan; write nothing
        #[arg(long)]
        dry_run: bool,
        /// clat or plat
        #[arg(value_parser = ["clat", "plat"])]
        role: String,
    },
}

/// A role and its settings.
#[derive(Debug, clap::Subcommand)]
pub enum RoleArgs {
    /// The customer-side translator (RFC 6877 CLAT)
    Clat(ClatArgs),
    /// The provider-side NAT64 (RFC 6146 PLAT)
    Plat(PlatArgs),
}

/// CLAT settings (the same variables as `clat run` where they overlap).
#[derive(Debug, Clone, clap::Args)]
pub struct ClatArgs {
    /// IPv4 destinations the router sends to the CLAT [default: 0.0.0.0/0]
    #[arg(long, env = "XLAT_ROUTES_V4", value_name = "PREFIX,...")]
    pub routes_v4: Option<String>,
    /// The CLAT's IPv4 address: single-address mode NATs the LAN into it
    /// [default: 192.0.0.1]
    #[arg(long, env = "XLAT_CLAT_IPV4", value_name = "ADDR")]
    pub clat_ipv4: Option<String>,
    /// The CLAT's IPv6 address (single-address mode: routed to the
    /// container, the router NATs the LAN into --clat-ipv4)
    #[arg(long, env = "XLAT_CLAT_IPV6", value_name = "ADDR")]
    pub clat_ipv6: Option<String>,
    /// EAM entries (IPV4/LEN=IPV6/LEN, comma-separated): their IPv6 sides
    /// are routed to the container, no NAT44
    #[arg(long, env = "XLAT_EAM", value_name = "ENTRY,...")]
    pub eam: Option<String>,
    /// Carve the CLAT prefix from this /ipv6/pool (DHCPv6-PD): NAME,
    /// NAME/LENGTH or NAME/LENGTH@INDEX, default the last /64; the LAN is
    /// NATed into --clat-ipv4
    #[arg(long, env = "XLAT_ROUTEROS_CLAT_POOL", value_name = "POOL")]
    pub clat_pool: Option<String>,
}

/// PLAT settings.
#[derive(Debug, Clone, clap::Args)]
pub struct PlatArgs {
    /// The NAT64 prefix (RFC 6052), e.g. 64:ff9b::/96
    #[arg(long, env = "XLAT_POOL6", value_name = "PREFIX")]
    pub pool6: Option<String>,
    /// pool4 as the PLAT takes it, comma-separated: ADDR, ADDR/LEN or
    /// ADDR/LEN:FIRST-LAST
    #[arg(long, env = "XLAT_POOL4", value_name = "ADDR[/LEN][:PORTS],...")]
    pub pool4: Option<String>,
    /// IPv6 prefixes of the PLAT's clients, comma-separated [default: the
    /// LAN interface list]
    #[arg(long, env = "XLAT_CLIENTS", value_name = "PREFIX,...")]
    pub clients: Option<String>,
    /// Non-global IPv4 prefixes the PLAT may reach anyway, comma-separated
    #[arg(long, env = "XLAT_ALLOW_V4", value_name = "PREFIX,...")]
    pub allow_v4: Option<String>,
    /// PREF64, option 108 and allowed clients.
    #[command(flatten)]
    pub extra: PlatProvisionArgs,
}

fn bad(key: &'static str, env: &'static str, value: &str, reason: &str) -> xlat_config::Error {
    xlat_config::Error::InvalidValue {
        setting: Setting { key, env },
        origin: Origin::CommandLine,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn items(v: &str) -> impl Iterator<Item = &str> {
    v.split([',', ' ']).filter(|s| !s.is_empty())
}

impl ClatArgs {
    /// The CLAT role.
    pub fn spec(&self) -> Result<ClatSpec, xlat_config::Error> {
        let routes_v4 = match text(&self.routes_v4) {
            None => vec![Ipv4Network::new(Ipv4Addr::UNSPECIFIED, 0).expect("/0 is valid")],
            Some(t) => items(t)
                .map(|i| i.parse::<Ipv4Network>().ok().filter(|n| n.network() == n.ip()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    bad("routes-v4", "XLAT_ROUTES_V4", t, "comma-separated IPv4 prefixes without host bits")
                })?,
        };
        let clat_ipv4 = match text(&self.clat_ipv4) {
            None => Ipv4Addr::new(192, 0, 0, 1),
            Some(t) => {
                t.parse().map_err(|_| bad("clat-ipv4", "XLAT_CLAT_IPV4", t, "an IPv4 address, e.g. 192.0.0.1"))?
            }
        };
        let mut prefixes = Vec::new();
        let mut nat = false;
        if let Some(t) = text(&self.clat_ipv6) {
            let a: Ipv6Addr = t
                .parse()
                .map_err(|_| bad("clat-ipv6", "XLAT_CLAT_IPV6", t, "an IPv6 address, e.g. 2001:db8:aaaa::1"))?;
            prefixes.push(Ipv6Network::from(a));
            nat = true;
        }
        if let Some(t) = text(&self.eam) {
            for i in items(t) {
                let e: Entry = i.parse().map_err(|_| {
                    bad("eam", "XLAT_EAM", i, "IPV4/LEN=IPV6/LEN, e.g. 192.168.88.0/24=2001:db8:aaaa::/120")
                })?;
                prefixes.push(e.v6());
            }
        }
        let prefix = match text(&self.clat_pool) {
            Some(t) => {
                if !prefixes.is_empty() {
                    return Err(bad(
                        "clat-pool",
                        "XLAT_ROUTEROS_CLAT_POOL",
                        t,
                        "either a pool or --clat-ipv6/--eam, not both",
                    ));
                }
                nat = true;
                ClatPrefix::Pool(
                    t.parse::<PoolCarve>()
                        .map_err(|_| bad("clat-pool", "XLAT_ROUTEROS_CLAT_POOL", t, "NAME[/LENGTH][@INDEX]"))?,
                )
            }
            None if prefixes.is_empty() => {
                return Err(bad("clat-ipv6", "XLAT_CLAT_IPV6", "", "set --clat-ipv6, --eam or --clat-pool"));
            }
            None => ClatPrefix::Static(prefixes),
        };
        Ok(ClatSpec { routes_v4, prefix, nat_to: nat.then_some(clat_ipv4) })
    }
}

impl PlatArgs {
    /// The PLAT role.
    pub fn spec(&self) -> Result<crate::config::PlatSpec, xlat_config::Error> {
        let t =
            text(&self.pool6).ok_or_else(|| bad("pool6", "XLAT_POOL6", "", "the NAT64 prefix, e.g. 64:ff9b::/96"))?;
        let pool6: Prefix = t
            .parse()
            .map_err(|_| bad("pool6", "XLAT_POOL6", t, "an RFC 6052 prefix of length 32, 40, 48, 56, 64 or 96"))?;
        let t =
            text(&self.pool4).ok_or_else(|| bad("pool4", "XLAT_POOL4", "", "IPv4 prefixes, e.g. 198.51.100.0/24"))?;
        let pool4 = items(t)
            .map(pool4_entry)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("pool4", "XLAT_POOL4", t, "ADDR[/LEN][:FIRST-LAST], comma-separated"))?;
        let clients = match text(&self.clients) {
            None => Vec::new(),
            Some(t) => items(t)
                .map(|i| i.parse::<Ipv6Network>().ok())
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("clients", "XLAT_CLIENTS", t, "comma-separated IPv6 prefixes"))?,
        };
        let allow_v4 = match text(&self.allow_v4) {
            None => Vec::new(),
            Some(t) => items(t)
                .map(|i| i.parse::<Ipv4Network>().ok().filter(|n| n.network() == n.ip()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    bad("allow-v4", "XLAT_ALLOW_V4", t, "comma-separated IPv4 prefixes without host bits")
                })?,
        };
        self.extra.spec(pool6, pool4, clients, allow_v4)
    }
}

/// One pool4 entry as the PLAT spells it, `ADDR[/LEN][:FIRST-LAST]`: the
/// prefix (a bare address is a /32; the port range does not matter to
/// routing).
pub fn pool4_entry(s: &str) -> Option<Ipv4Network> {
    let prefix = s.split_once(':').map_or(s, |(p, _)| p);
    let net: Ipv4Network =
        if prefix.contains('/') { prefix.parse().ok()? } else { Ipv4Network::from(prefix.parse::<Ipv4Addr>().ok()?) };
    (net.network() == net.ip()).then_some(net)
}

impl RoleArgs {
    /// The role settings.
    pub fn spec(&self) -> Result<RoleSpec, xlat_config::Error> {
        Ok(match self {
            RoleArgs::Clat(c) => RoleSpec::Clat(c.spec()?),
            RoleArgs::Plat(p) => RoleSpec::Plat(p.spec()?),
        })
    }
}

/// What a run printed and how it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Lines for stdout (console lines and `#` summaries).
    pub stdout: Vec<String>,
    /// Lines for stderr (notes).
    pub stderr: Vec<String>,
    /// Exit code.
    pub code: u8,
}

impl Outcome {
    /// Prints and returns the exit code.
    pub fn print(&self) -> ExitCode {
        for l in &self.stdout {
            println!("{l}");
        }
        for l in &self.stderr {
            eprintln!("{l}");
        }
        ExitCode::from(self.code)
    }
}

/// Either a configuration error (exit 2) or a failure (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A bad setting.
    #[error(transparent)]
    Config(#[from] xlat_config::Error),
    /// Anything else.
    #[error(transparent)]
    Run(#[from] Error),
}

impl CliError {
    /// The exit code.
    pub fn code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Run(Error::Config(_)) => EXIT_CONFIG,
            CliError::Run(_) => EXIT_FAILURE,
        }
    }
}

fn summary(plan: &Plan, verb: &str) -> String {
    if plan.is_empty() {
        return "# in sync: nothing to change".to_owned();
    }
    let (a, s, r, m) = plan.counts();
    format!("# {} changes {verb} ({a} add, {s} set, {r} remove, {m} move)", plan.len())
}

fn outcome(plan: &Plan, verb: &str, code: u8) -> Outcome {
    let mut stdout = plan.cli_lines();
    stdout.push(summary(plan, verb));
    Outcome { stdout, stderr: plan.notes.iter().map(|n| format!("note: {n}")).collect(), code }
}

/// Runs a parsed command line.
pub async fn run(cli: &Cli) -> Result<Outcome, CliError> {
    let env = |k: &str| std::env::var(k).ok();
    let common = cli.router.common()?;
    match &cli.command {
        Command::Apply { dry_run, offline, role } => {
            let connection = if *offline { None } else { Some(cli.router.connection(env)?) };
            let cfg = RoleConfig { common, spec: role.spec()? };
            let tag = cfg.tag()?;
            let Some(connection) = connection else {
                let site = resolve_offline(&cfg)?;
                let p = plan(&tag, &desired(&cfg, &site)?, &Snapshot::new());
                return Ok(outcome(&p, "planned, not applied (offline)", 0));
            };
            cfg.validate()?;
            let prov = Provisioner::new(connection.connect().await?, tag);
            let Prepared { plan: p, .. } = prov.prepare(&cfg).await?;
            if *dry_run {
                return Ok(outcome(&p, "planned, not applied (dry run)", 0));
            }
            prov.execute(&p).await?;
            Ok(outcome(&p, "applied", 0))
        }
        Command::Check { role } => {
            let connection = cli.router.connection(env)?;
            let cfg = RoleConfig { common, spec: role.spec()? };
            cfg.validate()?;
            let prov = Provisioner::new(connection.connect().await?, cfg.tag()?);
            let p = prov.prepare(&cfg).await?.plan;
            let code = if p.is_empty() { 0 } else { EXIT_DRIFT };
            Ok(outcome(&p, "needed", code))
        }
        Command::Remove { dry_run, role } => {
            let connection = cli.router.connection(env)?;
            let role: Role = role.parse()?;
            let tag = Tag::new(role, &common.instance)?;
            let prov = Provisioner::new(connection.connect().await?, tag);
            let p = prov.prepare_remove().await?.plan;
            if *dry_run {
                return Ok(outcome(&p, "planned, not applied (dry run)", 0));
            }
            prov.execute(&p).await?;
            Ok(outcome(&p, "applied", 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool4_entries_as_the_plat_spells_them() {
        let n = |s: &str| s.parse::<Ipv4Network>().unwrap();
        assert_eq!(pool4_entry("198.51.100.0/24"), Some(n("198.51.100.0/24")));
        assert_eq!(pool4_entry("198.51.100.7"), Some(n("198.51.100.7/32")));
        assert_eq!(pool4_entry("198.51.100.0/28:1024-65535"), Some(n("198.51.100.0/28")));
        assert_eq!(pool4_entry("198.51.100.1/24"), None);
        assert_eq!(pool4_entry("x"), None);
    }
}
