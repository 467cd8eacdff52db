//! The `clap` argument group of the translator settings and the merge of
//! flags, environment, file and defaults.

use std::path::PathBuf;

use xlat_core::config::IPV6_MIN_MTU;
use xlat_core::rfc7757::Table;
use xlat_core::{Config, Resolved};

use crate::error::{Error, Origin};
use crate::file::{FileSettings, MssValue};
use crate::setting::{self, MssClamp, Reason, Setting};

/// Translator settings as flags and `XLAT_*` environment variables; flatten
/// it into a binary's command (`#[command(flatten)]`).
///
/// Values are kept as text so that every source is parsed by the same code
/// and every error reads the same; [`TranslatorArgs::resolve`] does that.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Translator settings (flag > XLAT_* env > --config file > default)")]
pub struct TranslatorArgs {
    /// TOML file with translator settings, keys spelled like the long flags
    /// (e.g. `pool6 = "64:ff9b::/96"`, `eam = ["192.0.0.1/32=2001:db8:aaaa::1/128"]`)
    #[arg(long, env = "XLAT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// RFC 6052 prefix for addresses without an EAM entry (lengths 32, 40,
    /// 48, 56, 64 or 96)
    #[arg(long, env = "XLAT_POOL6", value_name = "PREFIX")]
    pub pool6: Option<String>,

    /// RFC 7757 explicit address mapping IPV4/LEN=IPV6/LEN; repeatable, and
    /// XLAT_EAM takes a comma- or space-separated list
    #[arg(long, env = "XLAT_EAM", value_name = "V4=V6")]
    pub eam: Vec<String>,

    /// Source address of ICMPv4 errors the translator originates [default:
    /// 192.0.0.8, RFC 7600]
    #[arg(long, env = "XLAT_IPV4_ADDR", value_name = "ADDR")]
    pub ipv4_addr: Option<String>,

    /// Source address of ICMPv6 errors the translator originates [default:
    /// ipv4-addr embedded in pool6]
    #[arg(long, env = "XLAT_IPV6_ADDR", value_name = "ADDR")]
    pub ipv6_addr: Option<String>,

    /// RFC 6791: IPv4 source for translated ICMPv6 errors from unmappable
    /// addresses [default: ipv4-addr]
    #[arg(long, env = "XLAT_RFC6791_V4", value_name = "ADDR")]
    pub rfc6791_v4: Option<String>,

    /// RFC 6791: IPv6 source for translated ICMPv4 errors from unmappable
    /// addresses [default: ipv6-addr]
    #[arg(long, env = "XLAT_RFC6791_V6", value_name = "ADDR")]
    pub rfc6791_v6: Option<String>,

    /// MTU of the IPv6 egress, at least 1280 [default: 1500]
    #[arg(long, env = "XLAT_MTU_V6", value_name = "BYTES")]
    pub mtu_v6: Option<String>,

    /// MTU of the IPv4 egress, at least 68 [default: 1500]
    #[arg(long, env = "XLAT_MTU_V4", value_name = "BYTES")]
    pub mtu_v4: Option<String>,

    /// RFC 7915 §4.1: size of IPv6 fragments made from DF=0 IPv4 packets
    /// [default: 1280]
    #[arg(long, env = "XLAT_LOWEST_IPV6_MTU", value_name = "BYTES")]
    pub lowest_ipv6_mtu: Option<String>,

    /// RFC 7915 §4.5: IPv4 UDP with a zero checksum: drop, compute or
    /// forward [default: compute]
    #[arg(long, env = "XLAT_UDP_ZERO_CHECKSUM", value_name = "drop|compute|forward")]
    pub udp_zero_checksum: Option<String>,

    /// RFC 6052 §3.1: refuse the Well-Known Prefix for non-global IPv4
    /// [default: true]
    #[arg(long, env = "XLAT_WKP_STRICT", value_name = "true|false")]
    pub wkp_strict: Option<String>,

    /// RFC 7915 §4.1/§5.1: copy TOS <-> Traffic Class (false: zero it)
    /// [default: true]
    #[arg(long, env = "XLAT_COPY_TRAFFIC_CLASS", value_name = "true|false")]
    pub copy_traffic_class: Option<String>,

    /// RFC 7915 §4.4/§5.4: send ICMP errors for packets the translator
    /// drops [default: true]
    #[arg(long, env = "XLAT_ICMP_ERRORS", value_name = "true|false")]
    pub icmp_errors: Option<String>,

    /// RFC 7757 §4: hairpin IPv6 traffic addressed to EAM IPv4 space
    /// [default: true]
    #[arg(long, env = "XLAT_EAM_HAIRPIN", value_name = "true|false")]
    pub eam_hairpin: Option<String>,

    /// Lower the TCP MSS option of SYNs (both directions) to this many
    /// bytes; auto: fit mtu-v6 and mtu-v4 [default: off]
    #[arg(long, env = "XLAT_MSS_CLAMP", value_name = "off|auto|BYTES")]
    pub mss_clamp: Option<String>,

    /// A daemon's default for `mss-clamp` when no source sets it: `true`
    /// means `auto` (the CLAT), `false` means off. Not a flag.
    #[arg(skip)]
    pub mss_default_auto: bool,

    /// RFC 4443 §2.4 (f): most ICMP errors the translator originates per
    /// second and worker, in bursts of up to 50; 0: no limit [default: 1000
    /// for the daemons, 0 offline]
    #[arg(long, env = "XLAT_ICMP_ERROR_RATE", value_name = "PER_SECOND")]
    pub icmp_error_rate: Option<String>,

    /// A daemon's default for `icmp-error-rate` when no source sets it (the
    /// offline translators keep 0: no limit). Not a flag.
    #[arg(skip)]
    pub icmp_error_rate_default: u32,
}

impl TranslatorArgs {
    /// Merges flags and environment (already merged by `clap`), the file
    /// and the defaults, and validates the result.
    pub fn resolve(&self) -> Result<Resolved, Error> {
        Ok(self.to_config()?.validate()?)
    }

    /// Merges flags and environment, the file and the defaults into an
    /// unvalidated [`Config`].
    pub fn to_config(&self) -> Result<Config, Error> {
        let file = match &self.config {
            Some(path) => FileSettings::load(path)?,
            None => FileSettings::default(),
        };
        let m = Merge { file: self.config.as_ref() };
        let mut cfg = Config::default();
        let cli = given;

        cfg.pool6 = m.pick(setting::POOL6, cli(&self.pool6), file.pool6, setting::prefix)?.or(cfg.pool6);
        cfg.eam = m.eam(&self.eam, file.eam.as_deref())?;
        if let Some(a) = m.pick(setting::IPV4_ADDR, cli(&self.ipv4_addr), file.ipv4_addr, setting::ipv4)? {
            cfg.ipv4_addr = a;
        }
        cfg.ipv6_addr =
            m.pick(setting::IPV6_ADDR, cli(&self.ipv6_addr), file.ipv6_addr, setting::ipv6)?.or(cfg.ipv6_addr);
        cfg.rfc6791_v4 =
            m.pick(setting::RFC6791_V4, cli(&self.rfc6791_v4), file.rfc6791_v4, setting::ipv4)?.or(cfg.rfc6791_v4);
        cfg.rfc6791_v6 =
            m.pick(setting::RFC6791_V6, cli(&self.rfc6791_v6), file.rfc6791_v6, setting::ipv6)?.or(cfg.rfc6791_v6);
        cfg.mtu_v6 = m.typed(setting::MTU_V6, cli(&self.mtu_v6), file.mtu_v6, setting::mtu)?.unwrap_or(cfg.mtu_v6);
        cfg.mtu_v4 = m.typed(setting::MTU_V4, cli(&self.mtu_v4), file.mtu_v4, setting::mtu)?.unwrap_or(cfg.mtu_v4);
        cfg.lowest_ipv6_mtu = m
            .typed(setting::LOWEST_IPV6_MTU, cli(&self.lowest_ipv6_mtu), file.lowest_ipv6_mtu, setting::mtu)?
            .unwrap_or(cfg.lowest_ipv6_mtu);
        cfg.udp_zero_checksum = m
            .pick(
                setting::UDP_ZERO_CHECKSUM,
                cli(&self.udp_zero_checksum),
                file.udp_zero_checksum,
                setting::udp_zero_checksum,
            )?
            .unwrap_or(cfg.udp_zero_checksum);
        let switch = |s: Setting, flag: &Option<String>, file: Option<bool>, default: bool| {
            m.typed(s, cli(flag), file, setting::boolean).map(|v| v.unwrap_or(default))
        };
        cfg.wkp_strict = switch(setting::WKP_STRICT, &self.wkp_strict, file.wkp_strict, cfg.wkp_strict)?;
        cfg.copy_traffic_class = switch(
            setting::COPY_TRAFFIC_CLASS,
            &self.copy_traffic_class,
            file.copy_traffic_class,
            cfg.copy_traffic_class,
        )?;
        cfg.send_icmp_errors = switch(setting::ICMP_ERRORS, &self.icmp_errors, file.icmp_errors, cfg.send_icmp_errors)?;
        cfg.eam_hairpin = switch(setting::EAM_HAIRPIN, &self.eam_hairpin, file.eam_hairpin, cfg.eam_hairpin)?;
        cfg.icmp_error_rate = m
            .typed(setting::ICMP_ERROR_RATE, cli(&self.icmp_error_rate), file.icmp_error_rate, setting::rate)?
            .unwrap_or(self.icmp_error_rate_default);
        let mss_file = file.mss_clamp.as_ref().map(MssValue::to_text);
        cfg.mss_clamp = match m.pick(setting::MSS_CLAMP, cli(&self.mss_clamp), mss_file, setting::mss_clamp)? {
            None if self.mss_default_auto && cfg.mtu_v6 >= IPV6_MIN_MTU => Some(cfg.default_mss()),
            None | Some(MssClamp::Off) => None,
            Some(MssClamp::Bytes(n)) => Some(n),
            // Below the minimum MTU, `validate` rejects the MTU itself.
            Some(MssClamp::Auto) if cfg.mtu_v6 < IPV6_MIN_MTU => None,
            Some(MssClamp::Auto) => Some(cfg.default_mss()),
        };
        Ok(cfg)
    }
}

/// A command-line or environment value, if given. An empty value
/// (`XLAT_POOL6=`, as container managers write an unset variable) is not.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

/// The precedence rule: the command line (flag or env) wins over the file.
struct Merge<'a> {
    file: Option<&'a PathBuf>,
}

impl Merge<'_> {
    fn origin(&self, from_file: bool) -> Origin {
        match self.file {
            Some(path) if from_file => Origin::File(path.clone()),
            _ => Origin::CommandLine,
        }
    }

    fn parse<T>(
        &self,
        s: Setting,
        value: &str,
        from_file: bool,
        parse: fn(&str) -> Result<T, Reason>,
    ) -> Result<T, Error> {
        parse(value).map_err(|reason| Error::InvalidValue {
            setting: s,
            origin: self.origin(from_file),
            value: value.to_owned(),
            reason,
        })
    }

    /// A text setting: the command-line value, else the file's.
    fn pick<T>(
        &self,
        s: Setting,
        cli: Option<&str>,
        file: Option<String>,
        parse: fn(&str) -> Result<T, Reason>,
    ) -> Result<Option<T>, Error> {
        match (cli, file) {
            (Some(v), _) => self.parse(s, v, false, parse).map(Some),
            (None, Some(v)) => self.parse(s, &v, true, parse).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// A setting TOML types itself (number, boolean).
    fn typed<T>(
        &self,
        s: Setting,
        cli: Option<&str>,
        file: Option<T>,
        parse: fn(&str) -> Result<T, Reason>,
    ) -> Result<Option<T>, Error> {
        match cli {
            Some(v) => self.parse(s, v, false, parse).map(Some),
            None => Ok(file),
        }
    }

    /// The EAM table: the command-line list if any, else the file's.
    fn eam(&self, cli: &[String], file: Option<&[String]>) -> Result<Table, Error> {
        let (items, from_file): (Vec<&str>, bool) = if cli.is_empty() {
            (file.unwrap_or_default().iter().flat_map(|v| setting::eam_list(v)).collect(), true)
        } else {
            (cli.iter().flat_map(|v| setting::eam_list(v)).collect(), false)
        };
        let entries = items
            .into_iter()
            .map(|item| self.parse(setting::EAM, item, from_file, setting::eam_entry))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Table::new(entries)?)
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: TranslatorArgs,
    }

    #[test]
    fn every_setting_has_its_flag_and_env_var() {
        let cmd = Cli::command();
        for s in setting::ALL {
            let arg =
                cmd.get_arguments().find(|a| a.get_long() == Some(s.key)).unwrap_or_else(|| panic!("no --{}", s.key));
            assert_eq!(arg.get_env().and_then(|e| e.to_str()), Some(s.env), "--{}", s.key);
        }
    }

    #[test]
    fn icmp_error_rate_has_a_daemon_default_and_a_clear_error() {
        let mut a = Cli::parse_from(["t"]).args;
        assert_eq!(a.to_config().unwrap().icmp_error_rate, 0, "offline: no limit");
        a.icmp_error_rate_default = 1000;
        assert_eq!(a.to_config().unwrap().icmp_error_rate, 1000);
        a.icmp_error_rate = Some("0".into());
        assert_eq!(a.to_config().unwrap().icmp_error_rate, 0);
        a.icmp_error_rate = Some("lots".into());
        let e = a.to_config().unwrap_err().to_string();
        assert!(e.contains("icmp-error-rate") && e.contains("errors per second"), "{e}");
    }

    #[test]
    fn flags_override_defaults() {
        let cli = Cli::parse_from([
            "t",
            "--pool6",
            "2001:db8:64::/96",
            "--eam",
            "192.0.0.1/32=2001:db8:aaaa::1/128",
            "--mtu-v6",
            "1280",
            "--udp-zero-checksum",
            "drop",
            "--wkp-strict",
            "false",
        ]);
        let cfg = cli.args.to_config().unwrap();
        assert_eq!(cfg.pool6.unwrap().to_string(), "2001:db8:64::/96");
        assert_eq!(cfg.eam.len(), 1);
        assert_eq!(cfg.mtu_v6, 1280);
        assert_eq!(cfg.udp_zero_checksum, xlat_core::UdpZeroChecksum::Drop);
        assert!(!cfg.wkp_strict);
        assert!(cfg.copy_traffic_class, "default kept");
    }

    #[test]
    fn repeated_and_listed_eam_entries_are_merged() {
        let cli = Cli::parse_from([
            "t",
            "--eam",
            "192.0.0.1/32=2001:db8:aaaa::1/128,192.0.0.2/32=2001:db8:aaaa::2/128",
            "--eam",
            "192.0.0.3/32=2001:db8:aaaa::3/128",
        ]);
        assert_eq!(cli.args.to_config().unwrap().eam.len(), 3);
    }

    /// Stops compiling when `xlat_core::Config` gains a field: give the new
    /// setting a flag, an env var and a TOML key here.
    #[test]
    fn every_config_field_has_a_setting() {
        let Config {
            pool6: _,
            eam: _,
            ipv4_addr: _,
            ipv6_addr: _,
            rfc6791_v4: _,
            rfc6791_v6: _,
            mtu_v6: _,
            mtu_v4: _,
            lowest_ipv6_mtu: _,
            udp_zero_checksum: _,
            wkp_strict: _,
            copy_traffic_class: _,
            send_icmp_errors: _,
            eam_hairpin: _,
            mss_clamp: _,
            icmp_error_rate: _,
        } = Config::default();
        assert_eq!(setting::ALL.len(), 16);
    }

    #[test]
    fn mss_clamp_auto_follows_the_merged_mtus() {
        let cfg = |args: &[&str]| {
            let mut all = vec!["t", "--pool6", "2001:db8:64::/96"];
            all.extend_from_slice(args);
            Cli::parse_from(all).args.to_config().unwrap().mss_clamp
        };
        assert_eq!(cfg(&[]), None, "off by default");
        assert_eq!(cfg(&["--mss-clamp", "auto"]), Some(1440), "1500 - 40 - 20");
        assert_eq!(cfg(&["--mss-clamp", "auto", "--mtu-v6", "1280"]), Some(1220));
        assert_eq!(cfg(&["--mss-clamp", "1300"]), Some(1300));
        assert_eq!(cfg(&["--mss-clamp", "off"]), None);
        assert_eq!(cfg(&["--mss-clamp", "auto", "--mtu-v6", "40"]), None, "validate rejects the MTU");
    }

    #[test]
    fn empty_values_mean_not_given() {
        let cli = Cli::parse_from(["t", "--pool6", "", "--mtu-v6", " ", "--eam", "192.0.0.1/32=2001:db8:aaaa::1/128"]);
        let cfg = cli.args.to_config().unwrap();
        assert_eq!(cfg.pool6, None);
        assert_eq!(cfg.mtu_v6, Config::default().mtu_v6);
    }

    #[test]
    fn bad_flag_value_names_flag_env_value_and_rule() {
        let cli = Cli::parse_from(["t", "--pool6", "64:ff9b::/33"]);
        let msg = cli.args.to_config().unwrap_err().to_string();
        assert_eq!(
            msg,
            "invalid value '64:ff9b::/33' for --pool6 (XLAT_POOL6): \
             RFC 6052 allows prefix lengths 32, 40, 48, 56, 64 or 96"
        );
    }

    #[test]
    fn eam_entries_mapping_the_same_prefix_are_a_config_error() {
        let cli = Cli::parse_from([
            "t",
            "--eam",
            "192.0.0.0/31=2001:db8:aaaa::/127",
            "--eam",
            "192.0.0.0/31=2001:db8:bbbb::/127",
        ]);
        let err = cli.args.to_config().unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{err}");
    }
}
