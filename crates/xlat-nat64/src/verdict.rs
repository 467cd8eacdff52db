//! What the state tells its caller: a verdict for the packet, or a
//! [`Nat64Drop`] reason (a closed set, one counter each) that maps to the
//! ICMP error RFC 6146 prescribes, if any.

use xlat_core::Family;

use crate::tuple::{Proto, Tuple4, Tuple6};

/// The outcome of an IPv6 packet (RFC 6146 §3.6 / §3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V6Verdict {
    /// Translate to IPv4 with this outgoing tuple (§3.6): rewrite the
    /// addresses (xlat-core does) and the ports / ICMP identifier.
    Translate(Tuple4),
    /// §3.8 hairpinning: the destination is a pool4 transport address of
    /// another client. Emit the packet as IPv6 with this tuple (source
    /// = pool6 + the sender's pool4 address, destination = the other
    /// client).
    Hairpin(Tuple6),
}

/// The outcome of an IPv4 packet (RFC 6146 §3.6 / §3.5.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V4Verdict {
    /// Translate to IPv6 with this outgoing tuple (§3.6).
    Translate(Tuple6),
    /// §3.5.2.2: an unsolicited IPv4 SYN the filtering does not let through
    /// yet. Keep the packet, keyed by its tuple, until an event says what
    /// to do with it: [`crate::Event::HeldSynExpired`] (send the ICMP error
    /// it carries, quoting the packet) or [`crate::Event::HeldSynReleased`]
    /// (forget it). At most `max_held_syns` packets are held at once.
    HoldSyn,
}

/// Where an ICMPv6 error from the IPv6 side goes, with the packet it
/// quotes as translated (RFC 6146 §3.4: the error is matched by the
/// quoted packet's reversed tuple; §3.6 translates it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpErrorVerdict {
    /// Translate to ICMPv4. The quoted packet becomes this tuple, (Z,z) ->
    /// (T,t); the error goes from T (`inner.dst`) to Z (`inner.src`).
    ToV4(Tuple4),
    /// §3.8: the quoted packet was hairpinned; the error goes back to the
    /// IPv6 client that sent it, quoting it as that client sent it
    /// ((X',x) -> (Y',y)); outer source `inner.dst`, destination `inner.src`.
    Hairpin(Tuple6),
}

/// An ICMP error (type, code) the caller should send toward the sender of a
/// dropped packet, in the family of that packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpError {
    /// Family of the error (that of the dropped packet).
    pub family: Family,
    /// ICMP / ICMPv6 type.
    pub icmp_type: u8,
    /// Code.
    pub code: u8,
}

impl IcmpError {
    /// ICMPv6 Destination Unreachable (1), code 1: communication with
    /// destination administratively prohibited.
    pub const V6_ADMIN_PROHIBITED: IcmpError = IcmpError { family: Family::V6, icmp_type: 1, code: 1 };
    /// ICMPv6 Destination Unreachable (1), code 3: address unreachable
    /// (RFC 6146 §3.5.1.1 when no mapping can be made; RFC 7915 translates
    /// it to ICMPv4 host unreachable).
    pub const V6_ADDRESS_UNREACHABLE: IcmpError = IcmpError { family: Family::V6, icmp_type: 1, code: 3 };
    /// ICMPv4 Destination Unreachable (3), code 1: host unreachable.
    pub const V4_HOST_UNREACHABLE: IcmpError = IcmpError { family: Family::V4, icmp_type: 3, code: 1 };
    /// ICMPv4 Destination Unreachable (3), code 3: port unreachable
    /// (§3.5.2.2, the held IPv4 SYN that timed out).
    pub const V4_PORT_UNREACHABLE: IcmpError = IcmpError { family: Family::V4, icmp_type: 3, code: 3 };
    /// ICMPv4 Destination Unreachable (3), code 13: communication
    /// administratively prohibited (§3.5.1 address-dependent filtering).
    pub const V4_ADMIN_PROHIBITED: IcmpError = IcmpError { family: Family::V4, icmp_type: 3, code: 13 };
}

macro_rules! drop_reasons {
    ($($(#[doc = $doc:literal])* $name:ident => $label:literal, $icmp:expr;)*) => {
        /// Why the state refused a packet. A closed set: every variant has a
        /// counter in [`Stats`], a stable label and an ICMP error mapping.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Nat64Drop {
            $($(#[doc = $doc])* $name,)*
        }

        impl Nat64Drop {
            /// Every reason, in counter order.
            pub const ALL: &'static [Nat64Drop] = &[$(Nat64Drop::$name,)*];
            /// Number of reasons.
            pub const COUNT: usize = Self::ALL.len();

            /// Stable snake_case label (metrics, logs).
            #[must_use]
            pub fn label(self) -> &'static str {
                match self { $(Nat64Drop::$name => $label,)* }
            }

            /// The ICMP error RFC 6146 prescribes (or this implementation
            /// chooses, where the RFC is silent) toward the sender of the
            /// dropped packet; `None`: drop silently. Never send an error
            /// about an ICMP error (RFC 4443 §2.4, RFC 1122 §3.2.2).
            #[must_use]
            pub fn icmp_error(self) -> Option<IcmpError> {
                match self { $(Nat64Drop::$name => $icmp,)* }
            }
        }
    };
}

drop_reasons! {
    /// §3.5: the IPv6 source lies inside pool6 ("MUST silently discard",
    /// prevents hairpinning loops).
    SourceInPool6 => "source_in_pool6", None;
    /// §3.5: the IPv6 destination is not inside pool6 (not for the NAT64).
    DestinationNotInPool6 => "destination_not_in_pool6", None;
    /// §3.5: the IPv4 destination is not a pool4 address of that protocol.
    DestinationNotInPool4 => "destination_not_in_pool4", None;
    /// Default deny: the IPv6 source is in no configured client prefix.
    ClientNotAllowed => "client_not_allowed", Some(IcmpError::V6_ADMIN_PROHIBITED);
    /// Default deny: the IPv4 destination is not globally reachable
    /// (RFC 6890) and no allow-list entry names it.
    DestinationNotGlobal => "destination_not_global", Some(IcmpError::V6_ADMIN_PROHIBITED);
    /// Default deny: an IPv4 source that is not globally reachable tried to
    /// open a flow.
    PeerNotGlobal => "peer_not_global", Some(IcmpError::V4_ADMIN_PROHIBITED);
    /// §3.5.1.1: no IPv4 transport address could be allocated ("ICMPv6
    /// Destination Unreachable, Code 3 (Address Unreachable)").
    PortsExhausted => "ports_exhausted", Some(IcmpError::V6_ADDRESS_UNREACHABLE);
    /// The session table is full and no transitory TCP session could be
    /// evicted (§3.5.1.1: the entry cannot be created).
    SessionTableFull => "session_table_full", Some(IcmpError::V6_ADDRESS_UNREACHABLE);
    /// The client already holds `max_sessions_per_client` sessions (RFC
    /// 6888 REQ-4); existing sessions are untouched.
    ClientSessionLimit => "client_session_limit", Some(IcmpError::V6_ADDRESS_UNREACHABLE);
    /// An IPv4-initiated flow hit the session or per-client limit.
    InboundSessionLimit => "inbound_session_limit", None;
    /// §3.5.1 / §3.5.3: an IPv4 UDP or ICMP packet matches no BIB entry.
    NoBib => "no_bib", Some(IcmpError::V4_HOST_UNREACHABLE);
    /// §3.5.2.2 CLOSED: a TCP segment other than SYN with no BIB entry
    /// ("silently discarded").
    TcpNoBib => "tcp_no_bib", None;
    /// §3.5.1 / §3.5.2.2: address-dependent filtering refused an IPv4
    /// packet (Destination Unreachable, code 13).
    FilteredAdf => "filtered_adf", Some(IcmpError::V4_ADMIN_PROHIBITED);
    /// §3.5.2.2: externally initiated TCP connections are dropped by policy
    /// ("silently discarded").
    ExternalTcpRefused => "external_tcp_refused", None;
    /// §3.5.2.2: an unsolicited IPv4 SYN could not be held: `max_held_syns`
    /// are already held.
    HeldSynLimit => "held_syn_limit", None;
    /// §3.5.2.2 V4 INIT: an IPv4 segment (a retransmitted SYN) for a
    /// session whose SYN is held; it must not authorize itself.
    HeldSynPending => "held_syn_pending", None;
    /// §3.8: a hairpinned packet toward a pool4 transport address no BIB
    /// entry holds.
    HairpinNoBib => "hairpin_no_bib", Some(IcmpError::V6_ADDRESS_UNREACHABLE);
    /// §3.8: a hairpinned packet refused by the other client's filtering.
    HairpinFiltered => "hairpin_filtered", Some(IcmpError::V6_ADMIN_PROHIBITED);
    /// An ICMP error quotes a packet of no known session (never answered).
    IcmpErrorNoSession => "icmp_error_no_session", None;
}

/// Counters and gauges of one state (one shard), all exact.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Live sessions per protocol ([`Proto::index`] order).
    pub sessions: [u64; 3],
    /// Live BIB entries per protocol, static ones included.
    pub bibs: [u64; 3],
    /// Packets held for the caller right now (§3.5.2.2).
    pub held_syns: u64,
    /// IPv6 packets given a verdict.
    pub v6_packets: u64,
    /// IPv4 packets given a verdict.
    pub v4_packets: u64,
    /// Packets hairpinned (§3.8).
    pub hairpinned: u64,
    /// BIB entries created (dynamic).
    pub bib_created: u64,
    /// BIB entries removed.
    pub bib_removed: u64,
    /// Sessions created.
    pub sessions_created: u64,
    /// Sessions removed on expiry.
    pub sessions_expired: u64,
    /// Transitory TCP sessions evicted to make room for new flows.
    pub sessions_evicted: u64,
    /// Held SYNs answered with ICMP port unreachable.
    pub held_syn_expired: u64,
    /// §3.5.2.2 probes requested for established sessions that timed out.
    pub tcp_probes: u64,
    /// Events lost because `max_pending_events` were undelivered.
    pub events_lost: u64,
    /// Drops by reason, indexed like [`Nat64Drop::ALL`].
    pub drops: [u64; Nat64Drop::COUNT],
}

impl Stats {
    /// Count of drops for `reason`.
    #[must_use]
    pub fn drops(&self, reason: Nat64Drop) -> u64 {
        self.drops[reason as usize]
    }

    /// Live sessions of `proto`.
    #[must_use]
    pub fn sessions(&self, proto: Proto) -> u64 {
        self.sessions[proto.index()]
    }

    /// Live sessions, all protocols.
    #[must_use]
    pub fn total_sessions(&self) -> u64 {
        self.sessions.iter().sum()
    }

    /// Live BIB entries of `proto`.
    #[must_use]
    pub fn bibs(&self, proto: Proto) -> u64 {
        self.bibs[proto.index()]
    }

    /// Adds another shard's stats (aggregation).
    pub fn add(&mut self, o: &Stats) {
        for i in 0..3 {
            self.sessions[i] += o.sessions[i];
            self.bibs[i] += o.bibs[i];
        }
        self.held_syns += o.held_syns;
        self.v6_packets += o.v6_packets;
        self.v4_packets += o.v4_packets;
        self.hairpinned += o.hairpinned;
        self.bib_created += o.bib_created;
        self.bib_removed += o.bib_removed;
        self.sessions_created += o.sessions_created;
        self.sessions_expired += o.sessions_expired;
        self.sessions_evicted += o.sessions_evicted;
        self.held_syn_expired += o.held_syn_expired;
        self.tcp_probes += o.tcp_probes;
        self.events_lost += o.events_lost;
        for (a, b) in self.drops.iter_mut().zip(o.drops) {
            *a += b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_unique_and_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Nat64Drop::ALL {
            assert!(seen.insert(r.label()), "{r:?}");
            assert!(r.label().chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()));
        }
        assert_eq!(Nat64Drop::ALL.len(), Nat64Drop::COUNT);
    }

    #[test]
    fn rfc6146_3_5_1_1_allocation_failure_is_address_unreachable() {
        let e = Nat64Drop::PortsExhausted.icmp_error().unwrap();
        assert_eq!((e.family, e.icmp_type, e.code), (Family::V6, 1, 3));
        assert_eq!(Nat64Drop::ClientSessionLimit.icmp_error(), Some(IcmpError::V6_ADDRESS_UNREACHABLE));
        assert_eq!(Nat64Drop::SessionTableFull.icmp_error(), Some(IcmpError::V6_ADDRESS_UNREACHABLE));
    }

    #[test]
    fn rfc6146_3_5_silent_drops() {
        assert_eq!(Nat64Drop::SourceInPool6.icmp_error(), None);
        assert_eq!(Nat64Drop::TcpNoBib.icmp_error(), None);
        assert_eq!(Nat64Drop::ExternalTcpRefused.icmp_error(), None);
        assert_eq!(Nat64Drop::IcmpErrorNoSession.icmp_error(), None);
        assert_eq!(Nat64Drop::FilteredAdf.icmp_error(), Some(IcmpError::V4_ADMIN_PROHIBITED));
    }
}
