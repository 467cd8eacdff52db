//! What the translator tells its caller to do with a packet: an [`Action`]
//! (bytes to write) or a [`DropReason`] (a closed set, one counter each).

/// IP version of an emitted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// An instruction for the I/O loop. The bytes are at the start of the
/// caller's output buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The packet was translated. `len` bytes hold one packet, or several
    /// back-to-back fragments of `segment` bytes each (the last one may be
    /// shorter); iterate them with [`Action::packets`].
    Translated {
        /// Family of the emitted packet(s).
        family: Family,
        /// Total bytes written.
        len: usize,
        /// Size of each packet but the last.
        segment: usize,
    },
    /// The packet was dropped and an ICMP error toward its sender was
    /// written instead (same family as the input).
    IcmpError {
        /// Family of the error (that of the dropped packet).
        family: Family,
        /// Bytes written.
        len: usize,
        /// Why the original packet was dropped.
        cause: DropReason,
    },
}

impl Action {
    /// Total number of bytes written to the output buffer.
    #[must_use]
    pub fn len(&self) -> usize {
        match *self {
            Self::Translated { len, .. } | Self::IcmpError { len, .. } => len,
        }
    }

    /// Whether nothing was written (never true for a returned action).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The emitted packets, in order, as slices of `out`.
    pub fn packets<'a>(&self, out: &'a [u8]) -> core::slice::Chunks<'a, u8> {
        let (len, seg) = match *self {
            Self::Translated { len, segment, .. } => (len, segment),
            Self::IcmpError { len, .. } => (len, len),
        };
        let len = len.min(out.len());
        out[..len].chunks(seg.max(1))
    }
}

macro_rules! drop_reasons {
    ($($(#[doc = $doc:literal])* $name:ident => $label:literal,)*) => {
        /// Why a packet was not translated. A closed set: every variant has a
        /// counter in [`Counters`] and a stable metric label.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum DropReason {
            $($(#[doc = $doc])* $name,)*
        }

        impl DropReason {
            /// Every reason, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$name,)*];
            /// Number of reasons.
            pub const COUNT: usize = Self::ALL.len();

            /// Stable snake_case label (metrics, logs).
            #[must_use]
            pub fn label(self) -> &'static str {
                match self { $(DropReason::$name => $label,)* }
            }
        }
    };
}

drop_reasons! {
    /// Neither IPv4 nor IPv6 (version nibble), or an empty buffer.
    UnknownVersion => "unknown_version",
    /// IPv4 header shorter than 20 bytes, IHL < 5 or beyond the buffer.
    Ipv4HeaderTruncated => "ipv4_header_truncated",
    /// IPv4 Total Length smaller than the header or larger than the buffer.
    Ipv4BadTotalLength => "ipv4_bad_total_length",
    /// IPv4 header checksum mismatch.
    Ipv4BadChecksum => "ipv4_bad_checksum",
    /// IPv6 header shorter than 40 bytes.
    Ipv6HeaderTruncated => "ipv6_header_truncated",
    /// IPv6 Payload Length larger than the buffer (or a jumbogram).
    Ipv6BadPayloadLength => "ipv6_bad_payload_length",
    /// IPv6 extension header chain truncated, too long or malformed.
    Ipv6BadExtensionChain => "ipv6_bad_extension_chain",
    /// AH, Mobility, HIP or Shim6 header (§5.1.1: cannot be translated).
    Ipv6UntranslatableExtension => "ipv6_untranslatable_extension",
    /// IPv6 source or destination never translated (unspecified, loopback, link-local, multicast).
    Ipv6ReservedAddress => "ipv6_reserved_address",
    /// IGMP (RFC 7915 §4.2: silently dropped).
    Igmp => "igmp",
    /// Extension header after the Fragment header (cannot be removed without reassembly).
    Ipv6ExtensionAfterFragment => "ipv6_extension_after_fragment",
    /// TCP/UDP/ICMP header truncated in a first fragment or packet.
    TransportTruncated => "transport_truncated",
    /// RFC 7915 §4.1: TTL would reach zero (ICMPv4 Time Exceeded sent).
    TtlExceeded => "ttl_exceeded",
    /// RFC 7915 §5.1: Hop Limit would reach zero (ICMPv6 Time Exceeded sent).
    HopLimitExceeded => "hop_limit_exceeded",
    /// RFC 7915 §4.1: unexpired IPv4 source route option.
    Ipv4SourceRoute => "ipv4_source_route",
    /// RFC 7915 §5.1: Routing header with Segments Left > 0.
    Ipv6RoutingHeader => "ipv6_routing_header",
    /// DF set (or IPv6) and larger than the egress MTU: PTB / Frag Needed sent.
    PacketTooBig => "packet_too_big",
    /// Source address has no EAM or pool6 mapping.
    SourceUnmappable => "source_unmappable",
    /// Destination address has no EAM or pool6 mapping.
    DestinationUnmappable => "destination_unmappable",
    /// RFC 6052 §3.1: Well-Known Prefix with a non-global IPv4 address.
    WkpNonGlobal => "wkp_non_global",
    /// IPv4 source or destination that can never be translated (0/8, 127/8, multicast, broadcast).
    Ipv4ReservedAddress => "ipv4_reserved_address",
    /// Fragmented ICMP packets are not translated (RFC 7915 §1.2).
    FragmentedIcmp => "fragmented_icmp",
    /// ICMP type or code that RFC 7915 says to drop silently.
    IcmpUntranslatable => "icmp_untranslatable",
    /// ICMP error message with a bad checksum.
    IcmpBadChecksum => "icmp_bad_checksum",
    /// ICMP error quoting an ICMP error (RFC 7915 §4.3/§5.3).
    IcmpErrorInError => "icmp_error_in_error",
    /// ICMP error whose quoted packet cannot be parsed.
    IcmpInnerMalformed => "icmp_inner_malformed",
    /// RFC 7915 §4.5: IPv4 UDP with zero checksum, dropped by policy or fragmented.
    UdpZeroChecksum => "udp_zero_checksum",
    /// The caller's output buffer is too small (an API misuse, never input).
    OutputBufferTooSmall => "output_buffer_too_small",
    /// Stateful translation (RFC 6146 §1): a protocol other than TCP, UDP
    /// and ICMP, which a NAT64 cannot give a tuple to.
    UnsupportedProtocol => "unsupported_protocol",
    /// [`crate::Translator::translate_stateful`] got a [`crate::Rewrite`]
    /// whose addresses are not of the output family (an API misuse).
    RewriteFamilyMismatch => "rewrite_family_mismatch",
}

/// Packet, byte and drop counters of one translator (one per worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counters {
    /// IPv4 packets translated to IPv6.
    pub v4_to_v6_packets: u64,
    /// Bytes of those packets (input size).
    pub v4_to_v6_bytes: u64,
    /// IPv6 packets translated to IPv4.
    pub v6_to_v4_packets: u64,
    /// Bytes of those packets (input size).
    pub v6_to_v4_bytes: u64,
    /// IPv4 packets split into IPv6 fragments (RFC 7915 §4.1).
    pub fragmented: u64,
    /// Packets hairpinned through the EAM table (RFC 7757 §4).
    pub hairpinned: u64,
    /// ICMPv4 errors the translator originated.
    pub icmp4_errors_sent: u64,
    /// ICMPv6 errors the translator originated.
    pub icmp6_errors_sent: u64,
    /// ICMP errors not sent because of the rate limit
    /// ([`Config::icmp_error_rate`](crate::Config::icmp_error_rate)); the
    /// packet itself is counted under its drop reason.
    pub icmp_errors_rate_limited: u64,
    /// Drops by reason, indexed like [`DropReason::ALL`].
    pub drops: [u64; DropReason::COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            v4_to_v6_packets: 0,
            v4_to_v6_bytes: 0,
            v6_to_v4_packets: 0,
            v6_to_v4_bytes: 0,
            fragmented: 0,
            hairpinned: 0,
            icmp4_errors_sent: 0,
            icmp6_errors_sent: 0,
            icmp_errors_rate_limited: 0,
            drops: [0; DropReason::COUNT],
        }
    }
}

impl Counters {
    /// Count of drops for `reason`.
    #[must_use]
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    /// Adds another translator's counters (aggregation across workers).
    pub fn add(&mut self, other: &Counters) {
        self.v4_to_v6_packets += other.v4_to_v6_packets;
        self.v4_to_v6_bytes += other.v4_to_v6_bytes;
        self.v6_to_v4_packets += other.v6_to_v4_packets;
        self.v6_to_v4_bytes += other.v6_to_v4_bytes;
        self.fragmented += other.fragmented;
        self.hairpinned += other.hairpinned;
        self.icmp4_errors_sent += other.icmp4_errors_sent;
        self.icmp6_errors_sent += other.icmp6_errors_sent;
        self.icmp_errors_rate_limited += other.icmp_errors_rate_limited;
        for (a, b) in self.drops.iter_mut().zip(other.drops) {
            *a += b;
        }
    }
}
