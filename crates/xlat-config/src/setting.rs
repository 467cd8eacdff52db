//! The translator settings, their names in each source, and the parsers
//! that turn a text value into a typed one with a one-line reason on
//! failure.

use std::net::{Ipv4Addr, Ipv6Addr};

use xlat_core::rfc6052::{self, Prefix};
use xlat_core::rfc7757::Entry;
use xlat_core::{ConfigError, UdpZeroChecksum};

/// One translator setting and its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Setting {
    /// TOML key, and the long flag without its dashes (`pool6`).
    pub key: &'static str,
    /// Environment variable (`XLAT_POOL6`).
    pub env: &'static str,
}

macro_rules! settings {
    ($($(#[doc = $doc:literal])* $name:ident = $key:literal, $env:literal;)*) => {
        $($(#[doc = $doc])* pub const $name: Setting = Setting { key: $key, env: $env };)*
        /// Every setting, in `--help` order.
        pub const ALL: &[Setting] = &[$($name,)*];
    };
}

settings! {
    /// RFC 6052 prefix (pool6).
    POOL6 = "pool6", "XLAT_POOL6";
    /// RFC 7757 Explicit Address Mappings.
    EAM = "eam", "XLAT_EAM";
    /// Source of translator-originated ICMPv4 errors.
    IPV4_ADDR = "ipv4-addr", "XLAT_IPV4_ADDR";
    /// Source of translator-originated ICMPv6 errors.
    IPV6_ADDR = "ipv6-addr", "XLAT_IPV6_ADDR";
    /// RFC 6791 IPv4 address for unmappable ICMPv6 error sources.
    RFC6791_V4 = "rfc6791-v4", "XLAT_RFC6791_V4";
    /// RFC 6791 IPv6 address for unmappable ICMPv4 error sources.
    RFC6791_V6 = "rfc6791-v6", "XLAT_RFC6791_V6";
    /// MTU of the IPv6 egress.
    MTU_V6 = "mtu-v6", "XLAT_MTU_V6";
    /// MTU of the IPv4 egress.
    MTU_V4 = "mtu-v4", "XLAT_MTU_V4";
    /// RFC 7915 §4.1 lowest-ipv6-mtu.
    LOWEST_IPV6_MTU = "lowest-ipv6-mtu", "XLAT_LOWEST_IPV6_MTU";
    /// RFC 7915 §4.5 zero-checksum UDP policy.
    UDP_ZERO_CHECKSUM = "udp-zero-checksum", "XLAT_UDP_ZERO_CHECKSUM";
    /// RFC 6052 §3.1 Well-Known Prefix restriction.
    WKP_STRICT = "wkp-strict", "XLAT_WKP_STRICT";
    /// RFC 7915 §4.1/§5.1 Traffic Class copy.
    COPY_TRAFFIC_CLASS = "copy-traffic-class", "XLAT_COPY_TRAFFIC_CLASS";
    /// RFC 7915 §4.4/§5.4 translator-originated ICMP errors.
    ICMP_ERRORS = "icmp-errors", "XLAT_ICMP_ERRORS";
    /// RFC 7757 §4 hairpinning.
    EAM_HAIRPIN = "eam-hairpin", "XLAT_EAM_HAIRPIN";
    /// TCP MSS clamping on SYNs.
    MSS_CLAMP = "mss-clamp", "XLAT_MSS_CLAMP";
    /// RFC 4443 §2.4 (f) rate limit of originated ICMP errors.
    ICMP_ERROR_RATE = "icmp-error-rate", "XLAT_ICMP_ERROR_RATE";
}

/// Why a value was rejected and what is accepted (one line).
pub(crate) type Reason = String;

/// pool6: an RFC 6052 prefix.
pub(crate) fn prefix(s: &str) -> Result<Prefix, Reason> {
    s.parse().map_err(|e| match e {
        ConfigError::Pool6Length { .. } => {
            let (last, rest) = rfc6052::VALID_LENGTHS.split_last().expect("non-empty table");
            let rest: Vec<String> = rest.iter().map(u8::to_string).collect();
            format!("RFC 6052 allows prefix lengths {} or {last}", rest.join(", "))
        }
        ConfigError::Pool6HostBits { len, .. } => {
            format!("bits are set after /{len}: use the network address")
        }
        _ => "expected an IPv6 prefix ADDR/LEN, e.g. 64:ff9b::/96".into(),
    })
}

/// One EAM entry.
pub(crate) fn eam_entry(s: &str) -> Result<Entry, Reason> {
    s.parse().map_err(|e| match e {
        ConfigError::EamSuffixMismatch { v4, v6 } => {
            format!("RFC 7757 needs equal suffix lengths (32-{} != 128-{})", v4.prefix(), v6.prefix())
        }
        ConfigError::EamHostBits { .. } => "bits are set after a prefix length: use network addresses".into(),
        _ => "expected IPV4/LEN=IPV6/LEN, e.g. 192.0.0.1/32=2001:db8:aaaa::1/128".into(),
    })
}

/// Splits an EAM list (`XLAT_EAM` or a flag value) on commas and white space.
pub(crate) fn eam_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c == ',' || c.is_whitespace()).filter(|item| !item.is_empty())
}

/// An IPv4 address.
pub(crate) fn ipv4(s: &str) -> Result<Ipv4Addr, Reason> {
    s.parse().map_err(|_| "expected an IPv4 address, e.g. 192.0.0.8".into())
}

/// An IPv6 address.
pub(crate) fn ipv6(s: &str) -> Result<Ipv6Addr, Reason> {
    s.parse().map_err(|_| "expected an IPv6 address, e.g. 2001:db8::1".into())
}

/// An MTU in bytes (the lower bound is checked by `Config::validate`).
pub(crate) fn mtu(s: &str) -> Result<u16, Reason> {
    s.parse().map_err(|_| format!("expected an MTU in bytes, an integer up to {}", u16::MAX))
}

/// The RFC 7915 §4.5 policy.
pub(crate) fn udp_zero_checksum(s: &str) -> Result<UdpZeroChecksum, Reason> {
    s.parse().map_err(|()| "accepted values are drop, compute or forward".into())
}

/// The `mss-clamp` setting before the MTUs are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MssClamp {
    /// No clamping.
    Off,
    /// [`xlat_core::Config::default_mss`]: fit both MTUs.
    Auto,
    /// This many bytes.
    Bytes(u16),
}

/// `off`, `auto` or an MSS in bytes.
pub(crate) fn mss_clamp(s: &str) -> Result<MssClamp, Reason> {
    match s {
        "off" => Ok(MssClamp::Off),
        "auto" => Ok(MssClamp::Auto),
        _ => match s.parse::<u16>() {
            Ok(n) if n > 0 => Ok(MssClamp::Bytes(n)),
            _ => Err(format!(
                "accepted values are off, auto (fit mtu-v6 and mtu-v4) or an MSS in bytes, 1 to {}",
                u16::MAX
            )),
        },
    }
}

/// ICMP errors per second (0: no limit).
pub(crate) fn rate(s: &str) -> Result<u32, Reason> {
    s.parse().map_err(|_| "expected errors per second, an integer (0: no limit)".into())
}

/// A switch.
pub(crate) fn boolean(s: &str) -> Result<bool, Reason> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("accepted values are true or false".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool6_length_reason_lists_rfc6052_lengths() {
        assert_eq!(prefix("64:ff9b::/33").unwrap_err(), "RFC 6052 allows prefix lengths 32, 40, 48, 56, 64 or 96");
    }

    #[test]
    fn pool6_host_bits_and_syntax_are_rejected() {
        assert!(prefix("2001:db8::1/96").unwrap_err().contains("network address"));
        assert!(prefix("nonsense").unwrap_err().contains("ADDR/LEN"));
        assert_eq!(prefix("2001:db8:64::/96").unwrap().to_string(), "2001:db8:64::/96");
    }

    #[test]
    fn eam_list_splits_on_commas_and_spaces() {
        let items: Vec<&str> = eam_list(" a=b, c=d\te=f,,").collect();
        assert_eq!(items, ["a=b", "c=d", "e=f"]);
    }

    #[test]
    fn eam_entry_reasons_name_the_rule() {
        assert!(eam_entry("192.0.2.0/24=2001:db8::/121").unwrap_err().contains("suffix"));
        assert!(eam_entry("junk").unwrap_err().contains("IPV4/LEN=IPV6/LEN"));
    }

    #[test]
    fn mss_clamp_accepts_off_auto_and_bytes() {
        assert_eq!(mss_clamp("off"), Ok(MssClamp::Off));
        assert_eq!(mss_clamp("auto"), Ok(MssClamp::Auto));
        assert_eq!(mss_clamp("1220"), Ok(MssClamp::Bytes(1220)));
        assert!(mss_clamp("0").is_err());
        assert!(mss_clamp("big").unwrap_err().contains("off, auto"));
    }

    #[test]
    fn booleans_accept_only_true_and_false() {
        assert_eq!(boolean("true"), Ok(true));
        assert_eq!(boolean("false"), Ok(false));
        assert!(boolean("yes").is_err());
    }

    #[test]
    fn setting_names_follow_the_convention() {
        for s in ALL {
            let env = format!("XLAT_{}", s.key.to_uppercase().replace('-', "_"));
            assert_eq!(s.env, env, "{}", s.key);
        }
    }
}
