//! Errors, sorted by fault: malformed bytes ([`WireError`]) versus a
//! discovery that found nothing or could not run ([`Pref64Error`]).

/// Why a received ICMPv6 message or option was not accepted (bad input).
///
/// One value per rejected packet or option; `Copy` and allocation-free so
/// the receive loop can count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The message is shorter than its fixed part.
    #[error("truncated: {len} bytes, at least {required} needed")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes the fixed part needs.
        required: usize,
    },
    /// The ICMPv6 type is not the one expected (134 for an RA).
    #[error("unexpected ICMPv6 type {0}")]
    UnexpectedType(u8),
    /// RFC 4861 §6.1.2: the ICMP code must be 0.
    #[error("ICMPv6 code {0}, expected 0")]
    BadCode(u8),
    /// RFC 4861 §4.6: an option with length 0 invalidates the whole packet.
    #[error("option at offset {offset} has length 0")]
    ZeroLengthOption {
        /// Offset of the option in the ICMPv6 message.
        offset: usize,
    },
    /// An option's length runs past the end of the message.
    #[error("option at offset {offset} runs past the end of the message")]
    OptionOverrun {
        /// Offset of the option in the ICMPv6 message.
        offset: usize,
    },
    /// RFC 8781 §4: the receiver MUST ignore a PREF64 option whose Length is
    /// not 2.
    #[error("PREF64 option length {0} (units of 8 octets), expected 2")]
    Pref64BadLength(u8),
    /// RFC 8781 §4: the receiver MUST ignore a PREF64 option whose Prefix
    /// Length Code is not 0..=5.
    #[error("PREF64 prefix length code {0} is not one of 0..=5")]
    Pref64BadPlc(u8),
    /// RFC 4861 §6.1.2: an RA's source must be a link-local address.
    #[error("router advertisement from a non-link-local source")]
    SourceNotLinkLocal,
    /// RFC 4861 §6.1.2: an RA must arrive with IP hop limit 255 (it was not
    /// forwarded by a router).
    #[error("router advertisement with hop limit {0}, expected 255")]
    BadHopLimit(u8),
}

/// Why PREF64 discovery produced no prefix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pref64Error {
    /// RFC 7050 §3: AAAA records came back but none embeds 192.0.0.170 or
    /// 192.0.0.171 at an RFC 6052 position.
    #[error(
        "the AAAA records of ipv4only.arpa embed no well-known IPv4 address (192.0.0.170/171) at an RFC 6052 position"
    )]
    NoPrefix,
    /// The resolver answered that `ipv4only.arpa` has no AAAA records: the
    /// network has no DNS64 (RFC 7050 §3 "no NAT64 is present").
    #[error("no AAAA records for ipv4only.arpa: the resolver does no DNS64 synthesis")]
    NoDns64,
    /// The resolver could not be configured (for instance resolv.conf is
    /// missing or unreadable).
    #[error("cannot configure the DNS resolver: {0}")]
    ResolverConfig(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The AAAA lookup failed (timeout, refused, SERVFAIL, ...).
    #[error("AAAA lookup of ipv4only.arpa failed: {0}")]
    Lookup(#[source] Box<dyn std::error::Error + Send + Sync>),
}
