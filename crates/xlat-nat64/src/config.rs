//! NAT64 configuration: every knob of RFC 6146 with its RFC default (§4
//! "Protocol Constants"), validated once. Errors are the operator's fault
//! and name the setting and the fix.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use ipnetwork::{Ipv4Network, Ipv6Network};
use xlat_core::rfc6052;

use crate::index::MAX_ENTRIES;
use crate::tuple::Proto;

/// RFC 6146 §4 UDP_MIN: the UDP session lifetime may not be set lower.
pub const UDP_MIN: Duration = Duration::from_secs(2 * 60);
/// RFC 6146 §4 UDP_DEFAULT: default UDP session lifetime.
pub const UDP_DEFAULT: Duration = Duration::from_secs(5 * 60);
/// RFC 6146 §4 TCP_EST: established connection idle timeout (at least 2 h 4 min).
pub const TCP_EST: Duration = Duration::from_secs(2 * 60 * 60 + 4 * 60);
/// RFC 6146 §4 TCP_TRANS: transitory connection idle timeout (at least 4 min).
pub const TCP_TRANS: Duration = Duration::from_secs(4 * 60);
/// RFC 6146 §4 TCP_INCOMING_SYN: how long an unsolicited IPv4 SYN is held (at least 6 s).
pub const TCP_INCOMING_SYN: Duration = Duration::from_secs(6);
/// RFC 6146 §4 FRAGMENT_MIN: how long fragments wait for the rest (at least 2 s).
pub const FRAGMENT_MIN: Duration = Duration::from_secs(2);
/// RFC 6146 §4 ICMP_DEFAULT: ICMP query session lifetime.
pub const ICMP_DEFAULT: Duration = Duration::from_secs(60);

/// An inclusive range of ports or ICMP identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port of the range.
    pub first: u16,
    /// Last port of the range (inclusive).
    pub last: u16,
}

impl PortRange {
    /// `first..=last`.
    #[must_use]
    pub const fn new(first: u16, last: u16) -> Self {
        Self { first, last }
    }

    /// Whether `port` lies in the range.
    #[must_use]
    pub const fn contains(&self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// One IPv4 address of pool4 with the ports (TCP, UDP) and ICMP identifiers
/// the NAT64 may allocate on it. `None` keeps the protocol off the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool4Entry {
    /// The IPv4 address.
    pub addr: Ipv4Addr,
    /// TCP ports.
    pub tcp: Option<PortRange>,
    /// UDP ports.
    pub udp: Option<PortRange>,
    /// ICMP identifiers.
    pub icmp: Option<PortRange>,
}

impl Pool4Entry {
    /// `addr` with TCP and UDP ports 1024-65535 and every ICMP identifier:
    /// the well-known ports stay with the host unless configured.
    #[must_use]
    pub const fn new(addr: Ipv4Addr) -> Self {
        Self {
            addr,
            tcp: Some(PortRange::new(1024, 65535)),
            udp: Some(PortRange::new(1024, 65535)),
            icmp: Some(PortRange::new(0, 65535)),
        }
    }

    /// The range of `proto`.
    #[must_use]
    pub const fn range(&self, proto: Proto) -> Option<PortRange> {
        match proto {
            Proto::Tcp => self.tcp,
            Proto::Udp => self.udp,
            Proto::Icmp => self.icmp,
        }
    }
}

/// RFC 6146 §3.5 / RFC 4787 §5: which IPv4 packets may use an existing
/// mapping when no session matches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filtering {
    /// Any IPv4 peer may reach a mapped IPv6 transport address (RFC 4787
    /// REQ-8 for application transparency). Default.
    #[default]
    EndpointIndependent,
    /// Only IPv4 addresses the IPv6 side already talks to through the
    /// mapping (the port may differ).
    AddressDependent,
}

/// How clients are aggregated for the per-client session limit (and for
/// spreading clients across shards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientGranularity {
    /// Each IPv6 address (/128) is a client.
    Host,
    /// Each /64 is a client.
    Prefix64,
    /// Each /56 is a client (a residential delegation, RIPE-690). Default.
    #[default]
    Prefix56,
}

impl ClientGranularity {
    /// Prefix length of a client.
    #[must_use]
    pub const fn prefix_len(self) -> u8 {
        match self {
            ClientGranularity::Host => 128,
            ClientGranularity::Prefix64 => 64,
            ClientGranularity::Prefix56 => 56,
        }
    }
}

/// Session lifetimes (RFC 6146 §4). Defaults are the RFC's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// UDP session lifetime (default 5 min, never below [`UDP_MIN`]).
    pub udp: Duration,
    /// TCP established idle timeout (default and minimum [`TCP_EST`]).
    pub tcp_est: Duration,
    /// TCP transitory idle timeout (default and minimum [`TCP_TRANS`]).
    pub tcp_trans: Duration,
    /// How long an unsolicited IPv4 SYN is held (default and minimum
    /// [`TCP_INCOMING_SYN`]).
    pub tcp_incoming_syn: Duration,
    /// ICMP query session lifetime (default [`ICMP_DEFAULT`]).
    pub icmp: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            udp: UDP_DEFAULT,
            tcp_est: TCP_EST,
            tcp_trans: TCP_TRANS,
            tcp_incoming_syn: TCP_INCOMING_SYN,
            icmp: ICMP_DEFAULT,
        }
    }
}

/// A static BIB entry: publishes `v6`:`v6_port` (an IPv6-only server) as
/// `v4`:`v4_port` (a pool4 transport address). Never expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaticBib {
    /// Protocol.
    pub proto: Proto,
    /// The server's IPv6 address.
    pub v6: Ipv6Addr,
    /// The server's port (ICMP: identifier).
    pub v6_port: u16,
    /// The pool4 address it is published on.
    pub v4: Ipv4Addr,
    /// The published port.
    pub v4_port: u16,
}

impl fmt::Display for StaticBib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]:{} = {}:{}", self.proto, self.v6, self.v6_port, self.v4, self.v4_port)
    }
}

/// The NAT64's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nat64Config {
    /// The RFC 6052 prefix (Pref64::/n) IPv4 hosts are represented in.
    pub pool6: rfc6052::Prefix,
    /// The IPv4 addresses and ports shared by the clients.
    pub pool4: Vec<Pool4Entry>,
    /// IPv6 prefixes allowed to create state (default deny: nobody else).
    pub clients: Vec<Ipv6Network>,
    /// IPv4 networks that are not globally reachable (RFC 6890) but may be
    /// reached anyway (and may initiate flows toward static BIB entries).
    pub v4_allow: Vec<Ipv4Network>,
    /// Filtering behaviour (RFC 6146 §3.5).
    pub filtering: Filtering,
    /// Session lifetimes.
    pub timeouts: Timeouts,
    /// Largest number of sessions (all protocols). Tables are allocated for
    /// this many when built: memory is fixed, never grows.
    pub max_sessions: u32,
    /// Largest number of sessions one client (see `client_granularity`) may hold.
    pub max_sessions_per_client: u32,
    /// What a "client" is for `max_sessions_per_client`.
    pub client_granularity: ClientGranularity,
    /// Largest number of unsolicited IPv4 SYNs held at once (§3.5.2.2); the
    /// caller stores that many packets at most.
    pub max_held_syns: u32,
    /// §3.5.2.2: "the security policy requires silently dropping
    /// externally initiated TCP connections".
    pub drop_external_tcp: bool,
    /// A RST in V4 FIN RCV / V6 FIN RCV moves the session to the transitory
    /// lifetime (Jool's `handle-rst-during-fin-rcv`; RFC 6146 as written: off).
    pub handle_rst_during_fin_rcv: bool,
    /// Static BIB entries.
    pub static_bib: Vec<StaticBib>,
    /// Largest number of undelivered events (mapping log); past it events
    /// are counted as lost.
    pub max_pending_events: u32,
    /// Seed of port randomization and of the table hash. Draw it at random
    /// at start-up; tests fix it.
    pub seed: u64,
}

impl Nat64Config {
    /// A configuration with every other knob at its default.
    #[must_use]
    pub fn new(pool6: rfc6052::Prefix, pool4: Vec<Pool4Entry>, clients: Vec<Ipv6Network>) -> Self {
        Self {
            pool6,
            pool4,
            clients,
            v4_allow: Vec::new(),
            filtering: Filtering::default(),
            timeouts: Timeouts::default(),
            max_sessions: 1 << 20,
            max_sessions_per_client: 4096,
            client_granularity: ClientGranularity::default(),
            max_held_syns: 64,
            drop_external_tcp: false,
            handle_rst_during_fin_rcv: false,
            static_bib: Vec::new(),
            max_pending_events: 1 << 16,
            seed: 0,
        }
    }

    /// Checks every setting; `shards` is the number of shards the state
    /// will be split into (1 for [`crate::Nat64`]).
    pub fn validate(&self, shards: usize) -> Result<(), ConfigError> {
        if shards == 0 || shards > MAX_SHARDS {
            return Err(ConfigError::Shards { value: shards });
        }
        if self.pool4.is_empty() {
            return Err(ConfigError::Pool4Empty);
        }
        if self.pool4.len() > MAX_POOL4 {
            return Err(ConfigError::Pool4TooLarge { len: self.pool4.len() });
        }
        for (i, e) in self.pool4.iter().enumerate() {
            let a = e.addr;
            if a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_broadcast() || a.octets()[0] >= 240 {
                return Err(ConfigError::Pool4Address { addr: a });
            }
            if self.pool4[..i].iter().any(|o| o.addr == a) {
                return Err(ConfigError::Pool4Duplicate { addr: a });
            }
            for proto in Proto::ALL {
                if let Some(r) = e.range(proto) {
                    if r.first > r.last {
                        return Err(ConfigError::PortRange { addr: a, proto, range: r });
                    }
                }
            }
        }
        if self.clients.is_empty() {
            return Err(ConfigError::NoClients);
        }
        let pool6 = Ipv6Network::new(self.pool6.addr(), self.pool6.prefix_len()).expect("valid RFC 6052 length");
        if let Some(c) = self.clients.iter().find(|c| c.overlaps(pool6)) {
            return Err(ConfigError::ClientsOverlapPool6 { clients: *c, pool6: self.pool6 });
        }
        let t = &self.timeouts;
        let min = |name: &'static str, value: Duration, min: Duration| {
            if value < min {
                Err(ConfigError::TimeoutTooShort { name, value, min })
            } else {
                Ok(())
            }
        };
        min("udp-timeout", t.udp, UDP_MIN)?;
        min("tcp-est-timeout", t.tcp_est, TCP_EST)?;
        min("tcp-trans-timeout", t.tcp_trans, TCP_TRANS)?;
        min("tcp-incoming-syn-timeout", t.tcp_incoming_syn, TCP_INCOMING_SYN)?;
        min("icmp-timeout", t.icmp, Duration::from_secs(1))?;
        let per_shard = (self.max_sessions as usize).div_ceil(shards);
        if self.max_sessions == 0 || per_shard + self.static_bib.len() > MAX_ENTRIES {
            return Err(ConfigError::MaxSessions { value: self.max_sessions, max: MAX_ENTRIES * shards });
        }
        if self.max_sessions_per_client == 0 {
            return Err(ConfigError::MaxSessionsPerClient);
        }
        for (i, s) in self.static_bib.iter().enumerate() {
            let entry = self.pool4.iter().find(|e| e.addr == s.v4);
            let Some(range) = entry.and_then(|e| e.range(s.proto)) else {
                return Err(ConfigError::StaticBib {
                    entry: *s,
                    why: "its IPv4 address has no such protocol in pool4",
                });
            };
            if !range.contains(s.v4_port) {
                return Err(ConfigError::StaticBib { entry: *s, why: "its IPv4 port is outside the pool4 range" });
            }
            if self.pool6.contains(&s.v6) {
                return Err(ConfigError::StaticBib { entry: *s, why: "its IPv6 address lies inside pool6" });
            }
            let earlier = &self.static_bib[..i];
            if earlier.iter().any(|o| o.proto == s.proto && o.v6 == s.v6 && o.v6_port == s.v6_port) {
                return Err(ConfigError::StaticBib { entry: *s, why: "its IPv6 transport address is mapped twice" });
            }
            if earlier.iter().any(|o| o.proto == s.proto && o.v4 == s.v4 && o.v4_port == s.v4_port) {
                return Err(ConfigError::StaticBib { entry: *s, why: "its IPv4 transport address is mapped twice" });
            }
        }
        Ok(())
    }
}

/// Largest number of shards.
pub const MAX_SHARDS: usize = 256;
/// Largest number of pool4 addresses (each costs 24 KiB of port bitmaps per
/// shard).
pub const MAX_POOL4: usize = 1024;

/// A configuration error: the operator's fault, with the setting named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// pool4 has no address.
    #[error("pool4 is empty: give at least one IPv4 address (e.g. 203.0.113.1)")]
    Pool4Empty,
    /// pool4 has too many addresses.
    #[error("pool4 has {len} addresses: use at most 1024 (a /22) per instance")]
    Pool4TooLarge {
        /// Number given.
        len: usize,
    },
    /// A pool4 address cannot be used.
    #[error("pool4 address {addr} is not a unicast address: use a public IPv4 address")]
    Pool4Address {
        /// The address.
        addr: Ipv4Addr,
    },
    /// A pool4 address is listed twice.
    #[error("pool4 address {addr} is listed twice: give each address once, with all its ranges")]
    Pool4Duplicate {
        /// The address.
        addr: Ipv4Addr,
    },
    /// A port range is reversed.
    #[error("pool4 {addr} {proto} range {range} is empty: write FIRST-LAST with FIRST <= LAST")]
    PortRange {
        /// The address.
        addr: Ipv4Addr,
        /// The protocol.
        proto: Proto,
        /// The range.
        range: PortRange,
    },
    /// No client prefix: nobody could use the NAT64.
    #[error("no IPv6 client prefix is set: nobody may create state; list the customers' prefixes")]
    NoClients,
    /// A client prefix overlaps pool6.
    #[error("client prefix {clients} overlaps pool6 {pool6}: RFC 6146 §3.5 drops sources inside pool6")]
    ClientsOverlapPool6 {
        /// The client prefix.
        clients: Ipv6Network,
        /// pool6.
        pool6: rfc6052::Prefix,
    },
    /// A timeout below the RFC 6146 §4 minimum.
    #[error("{name} {value:?} is below the RFC 6146 minimum {min:?}")]
    TimeoutTooShort {
        /// Setting name.
        name: &'static str,
        /// Value given.
        value: Duration,
        /// Smallest accepted.
        min: Duration,
    },
    /// max-sessions out of range.
    #[error("max-sessions {value} is out of range: use 1..={max}")]
    MaxSessions {
        /// Value given.
        value: u32,
        /// Largest accepted.
        max: usize,
    },
    /// max-sessions-per-client is zero.
    #[error("max-sessions-per-client is 0: no client could open a flow; use at least 1")]
    MaxSessionsPerClient,
    /// A static BIB entry is invalid.
    #[error("static BIB entry '{entry}' is invalid: {why}")]
    StaticBib {
        /// The entry.
        entry: StaticBib,
        /// What is wrong.
        why: &'static str,
    },
    /// Bad number of shards.
    #[error("shards {value} is out of range: use 1..=256")]
    Shards {
        /// Value given.
        value: usize,
    },
    /// A fragment collector limit is zero or a timeout is too short.
    #[error("fragments: {what}")]
    Fragments {
        /// What is wrong.
        what: &'static str,
    },
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn base() -> Nat64Config {
        Nat64Config::new(
            "64:ff9b::/96".parse().unwrap(),
            vec![Pool4Entry::new(Ipv4Addr::new(192, 0, 2, 1))],
            vec!["2001:db8::/32".parse().unwrap()],
        )
    }

    #[test]
    fn rfc6146_4_defaults() {
        let t = Timeouts::default();
        assert_eq!(t.udp, Duration::from_secs(300));
        assert_eq!(t.tcp_est, Duration::from_secs(7440));
        assert_eq!(t.tcp_trans, Duration::from_secs(240));
        assert_eq!(t.tcp_incoming_syn, Duration::from_secs(6));
        assert_eq!(t.icmp, Duration::from_secs(60));
        assert_eq!(base().validate(1), Ok(()));
    }

    #[test]
    fn rfc6146_3_5_1_udp_timeout_below_udp_min_is_config_error() {
        let mut c = base();
        c.timeouts.udp = Duration::from_secs(119);
        assert!(matches!(c.validate(1), Err(ConfigError::TimeoutTooShort { name: "udp-timeout", .. })));
        c.timeouts.udp = UDP_MIN;
        assert_eq!(c.validate(1), Ok(()));
    }

    #[test]
    fn rfc6146_4_tcp_timeouts_minimums() {
        let mut c = base();
        c.timeouts.tcp_est = Duration::from_secs(7200);
        assert!(c.validate(1).is_err());
        let mut c = base();
        c.timeouts.tcp_trans = Duration::from_secs(60);
        assert!(c.validate(1).is_err());
    }

    #[test]
    fn config_errors_name_the_setting() {
        let mut c = base();
        c.clients.clear();
        assert_eq!(c.validate(1), Err(ConfigError::NoClients));
        let mut c = base();
        c.pool4.clear();
        assert_eq!(c.validate(1), Err(ConfigError::Pool4Empty));
        let mut c = base();
        c.pool4.push(c.pool4[0]);
        assert!(matches!(c.validate(1), Err(ConfigError::Pool4Duplicate { .. })));
        let mut c = base();
        c.pool4[0].udp = Some(PortRange::new(9, 8));
        assert!(c.validate(1).unwrap_err().to_string().contains("FIRST <= LAST"));
        let mut c = base();
        c.clients.push("64:ff9b::/96".parse().unwrap());
        assert!(matches!(c.validate(1), Err(ConfigError::ClientsOverlapPool6 { .. })));
        let mut c = base();
        c.pool4 = (0..1025u32).map(|i| Pool4Entry::new(Ipv4Addr::from(0x0b00_0000 + i))).collect();
        assert!(matches!(c.validate(1), Err(ConfigError::Pool4TooLarge { len: 1025 })));
        let mut c = base();
        c.max_sessions = 0;
        assert!(c.validate(1).is_err());
        assert!(base().validate(0).is_err());
    }

    #[test]
    fn static_bib_validation() {
        let mut c = base();
        let s = StaticBib {
            proto: Proto::Tcp,
            v6: "2001:db8::80".parse().unwrap(),
            v6_port: 80,
            v4: Ipv4Addr::new(192, 0, 2, 1),
            v4_port: 8080,
        };
        c.static_bib.push(s);
        assert_eq!(c.validate(1), Ok(()));
        c.static_bib.push(StaticBib { v6_port: 81, ..s });
        assert!(c.validate(1).unwrap_err().to_string().contains("IPv4 transport address is mapped twice"));
        c.static_bib[1] = StaticBib { v4_port: 80, ..s };
        assert!(c.validate(1).unwrap_err().to_string().contains("outside the pool4 range"));
        c.static_bib[1] = StaticBib { v4: Ipv4Addr::new(192, 0, 2, 9), ..s };
        assert!(c.validate(1).is_err());
    }
}
