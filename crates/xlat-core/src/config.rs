//! Translator configuration: every knob of RFC 7915 with its RFC default,
//! validated once at start-up. Errors here are the operator's fault and
//! name the setting and the fix.

use core::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::{Ipv4Network, Ipv6Network};

use crate::{rfc6052, rfc7757};

/// Minimum IPv6 MTU (RFC 8200 §5).
pub const IPV6_MIN_MTU: u16 = 1280;
/// Minimum IPv4 MTU (RFC 791).
pub const IPV4_MIN_MTU: u16 = 68;
/// RFC 7600 §3: the IPv4 "dummy" address 192.0.0.8, the default source of
/// ICMPv4 errors a translator originates or whose source cannot be mapped.
pub const IPV4_DUMMY: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 8);

/// IPv6 (40) + TCP (20) header bytes in front of a segment.
const TCP_V6_OVERHEAD: u16 = 60;
/// IPv4 (20) + TCP (20) header bytes in front of a segment.
const TCP_V4_OVERHEAD: u16 = 40;

/// A configuration error: the operator's fault, with the setting named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// pool6 is not an IPv6 prefix.
    #[error("pool6 '{value}' is not an IPv6 prefix: use ADDR/LEN, e.g. 64:ff9b::/96")]
    Pool6Syntax {
        /// The value given.
        value: String,
    },
    /// pool6 has a length RFC 6052 does not allow.
    #[error("pool6 '{prefix}/{len}': RFC 6052 allows prefix lengths 32, 40, 48, 56, 64 or 96")]
    Pool6Length {
        /// Prefix address.
        prefix: Ipv6Addr,
        /// Rejected length.
        len: u8,
    },
    /// pool6 has bits set after its length.
    #[error("pool6 '{prefix}/{len}' has bits set after /{len}: use the network address")]
    Pool6HostBits {
        /// Prefix address.
        prefix: Ipv6Addr,
        /// Length.
        len: u8,
    },
    /// pool6 sets bits 64..=71.
    #[error("pool6 '{prefix}/96' sets bits 64-71 (the u octet), which RFC 6052 §2.2 requires to be zero")]
    Pool6UOctet {
        /// Prefix address.
        prefix: Ipv6Addr,
    },
    /// The Well-Known Prefix with another length.
    #[error("pool6 '64:ff9b::/{len}': the Well-Known Prefix is only valid as 64:ff9b::/96 (RFC 6052 §2.1); use 64:ff9b:1::/48 (RFC 8215) or your own prefix")]
    Pool6WkpLength {
        /// Length given.
        len: u8,
    },
    /// An EAM entry does not parse.
    #[error("eam '{value}' is not IPV4/LEN=IPV6/LEN, e.g. 192.0.0.1/32=2001:db8:1::c/128")]
    EamSyntax {
        /// The value given.
        value: String,
    },
    /// The IPv4 prefix has more suffix bits than the IPv6 prefix.
    #[error("eam '{v4}={v6}': RFC 7757 §3.2 needs at least as many IPv6 suffix bits as IPv4 ones (32-{} > 128-{})", v4.prefix(), v6.prefix())]
    EamSuffixMismatch {
        /// IPv4 side.
        v4: Ipv4Network,
        /// IPv6 side.
        v6: Ipv6Network,
    },
    /// EAM prefix has host bits.
    #[error("eam '{v4}={v6}' has bits set after a prefix length: use network addresses")]
    EamHostBits {
        /// IPv4 side.
        v4: Ipv4Network,
        /// IPv6 side.
        v6: Ipv6Network,
    },
    /// Two EAM entries have the same prefix on one side.
    #[error("eam entries '{a}' and '{b}' map the same prefix: remove one")]
    EamOverlap {
        /// First entry.
        a: rfc7757::Entry,
        /// Second entry.
        b: rfc7757::Entry,
    },
    /// An MTU is out of range.
    #[error("{name} {value} is out of range: use {min}..=65535")]
    Mtu {
        /// Setting name.
        name: &'static str,
        /// Value given.
        value: u16,
        /// Smallest accepted.
        min: u16,
    },
    /// The translator has no IPv6 address to originate ICMPv6 errors from.
    #[error("ipv6-addr is not set and cannot be derived without pool6: set ipv6-addr")]
    NoIpv6Address,
    /// No mapping at all.
    #[error("neither pool6 nor eam is set: nothing can be translated; set pool6 (e.g. 64:ff9b::/96) or eam")]
    NothingToTranslate,
    /// An EAM IPv6 prefix lies inside pool6.
    #[error("eam '{entry}' overlaps pool6 {pool6}: the CLAT/EAM IPv6 addresses must be outside the PLAT prefix")]
    EamInsidePool6 {
        /// The entry.
        entry: rfc7757::Entry,
        /// pool6.
        pool6: rfc6052::Prefix,
    },
}

/// RFC 7915 §4.5: what to do with IPv4 UDP datagrams whose checksum is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UdpZeroChecksum {
    /// Drop and count (§4.5 option 1; no management event is generated).
    /// Fragments are dropped under this policy and under `Compute`.
    Drop,
    /// Compute the checksum (§4.5 option 2; default for unfragmented
    /// datagrams, as Jool and the RFC's stateless guidance do).
    #[default]
    Compute,
    /// Forward with a zero checksum, fragments included (RFC 7915 §1.2;
    /// only valid where RFC 6935 applies).
    Forward,
}

impl core::str::FromStr for UdpZeroChecksum {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "drop" => Ok(Self::Drop),
            "compute" => Ok(Self::Compute),
            "forward" => Ok(Self::Forward),
            _ => Err(()),
        }
    }
}

/// The translator's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// RFC 6052 prefix used for addresses not covered by EAM.
    pub pool6: Option<rfc6052::Prefix>,
    /// RFC 7757 explicit address mappings (precede pool6).
    pub eam: rfc7757::Table,
    /// Source of ICMPv4 errors the translator originates (default 192.0.0.8,
    /// RFC 7600).
    pub ipv4_addr: Ipv4Addr,
    /// Source of ICMPv6 errors the translator originates (default: pool6
    /// embedding of `ipv4_addr`).
    pub ipv6_addr: Option<Ipv6Addr>,
    /// RFC 6791: IPv4 source for translated ICMPv6 errors whose source has no
    /// mapping (default: `ipv4_addr`).
    pub rfc6791_v4: Option<Ipv4Addr>,
    /// RFC 6791: IPv6 source for translated ICMPv4 errors whose source has no
    /// mapping (default: `ipv6_addr`).
    pub rfc6791_v6: Option<Ipv6Addr>,
    /// MTU of the IPv6 egress (packets leaving toward IPv6).
    pub mtu_v6: u16,
    /// MTU of the IPv4 egress (packets leaving toward IPv4).
    pub mtu_v4: u16,
    /// RFC 7915 §4.1 "lowest-ipv6-mtu" (default 1280).
    pub lowest_ipv6_mtu: u16,
    /// RFC 7915 §4.5 zero-checksum UDP policy.
    pub udp_zero_checksum: UdpZeroChecksum,
    /// RFC 6052 §3.1: refuse the Well-Known Prefix for non-global IPv4.
    pub wkp_strict: bool,
    /// RFC 7915 §4.1/§5.1: copy TOS <-> Traffic Class (true, default) or
    /// zero it.
    pub copy_traffic_class: bool,
    /// RFC 7915 §4.4/§5.4: send ICMP errors for discarded packets.
    pub send_icmp_errors: bool,
    /// RFC 7757 §4: hairpin IPv6 traffic addressed to EAM IPv4 space.
    pub eam_hairpin: bool,
    /// Largest TCP MSS let through in SYNs, both directions (None: off).
    /// [`Config::default_mss`] derives it from the MTUs.
    pub mss_clamp: Option<u16>,
    /// RFC 4443 §2.4 (f) / RFC 1812 §4.3.2.8: most ICMP errors the
    /// translator originates per second (per translator, i.e. per worker),
    /// with bursts of up to [`ICMP_ERROR_BURST`]; 0: no limit. Time comes
    /// from the caller ([`crate::Translator::set_now`]).
    pub icmp_error_rate: u32,
}

/// Errors the rate limiter lets through at once after a quiet period.
pub const ICMP_ERROR_BURST: u32 = 50;

impl Default for Config {
    fn default() -> Self {
        Self {
            pool6: None,
            eam: rfc7757::Table::default(),
            ipv4_addr: IPV4_DUMMY,
            ipv6_addr: None,
            rfc6791_v4: None,
            rfc6791_v6: None,
            mtu_v6: 1500,
            mtu_v4: 1500,
            lowest_ipv6_mtu: IPV6_MIN_MTU,
            udp_zero_checksum: UdpZeroChecksum::default(),
            wkp_strict: true,
            copy_traffic_class: true,
            send_icmp_errors: true,
            eam_hairpin: true,
            mss_clamp: None,
            icmp_error_rate: 0,
        }
    }
}

/// The configuration after validation, with derived values resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub(crate) cfg: Config,
    pub(crate) ipv6_addr: Ipv6Addr,
    pub(crate) rfc6791_v4: Ipv4Addr,
    pub(crate) rfc6791_v6: Ipv6Addr,
}

impl Resolved {
    /// The validated configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.cfg
    }
    /// Effective source of translator-originated ICMPv6 errors.
    #[must_use]
    pub fn ipv6_addr(&self) -> Ipv6Addr {
        self.ipv6_addr
    }
}

impl Config {
    /// The MSS that keeps translated segments within both MTUs: an IPv6
    /// segment carries 60 bytes of IPv6+TCP headers, an IPv4 one 40.
    #[must_use]
    pub fn default_mss(&self) -> u16 {
        self.mtu_v6.saturating_sub(TCP_V6_OVERHEAD).min(self.mtu_v4.saturating_sub(TCP_V4_OVERHEAD))
    }

    /// Validates the configuration and resolves defaults.
    pub fn validate(self) -> Result<Resolved, ConfigError> {
        let mtu = |name, value: u16, min| {
            if value < min {
                Err(ConfigError::Mtu { name, value, min })
            } else {
                Ok(())
            }
        };
        mtu("mtu-v6", self.mtu_v6, IPV6_MIN_MTU)?;
        mtu("mtu-v4", self.mtu_v4, IPV4_MIN_MTU)?;
        mtu("lowest-ipv6-mtu", self.lowest_ipv6_mtu, IPV6_MIN_MTU)?;
        if self.pool6.is_none() && self.eam.is_empty() {
            return Err(ConfigError::NothingToTranslate);
        }
        if let Some(pool6) = self.pool6 {
            let net = Ipv6Network::new(pool6.addr(), pool6.prefix_len()).expect("validated length");
            if let Some(entry) = self.eam.entries().find(|e| e.v6().overlaps(net)) {
                return Err(ConfigError::EamInsidePool6 { entry: *entry, pool6 });
            }
        }
        let ipv6_addr = match (self.ipv6_addr, self.pool6) {
            (Some(a), _) => a,
            (None, Some(p)) => p.embed(self.ipv4_addr),
            (None, None) => return Err(ConfigError::NoIpv6Address),
        };
        Ok(Resolved {
            rfc6791_v4: self.rfc6791_v4.unwrap_or(self.ipv4_addr),
            rfc6791_v6: self.rfc6791_v6.unwrap_or(ipv6_addr),
            ipv6_addr,
            cfg: self,
        })
    }
}
