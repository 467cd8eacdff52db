//! # xlat-nat64: the sans-IO state of a stateful NAT64 (RFC 6146 §3)
//!
//! The PLAT of 464XLAT (RFC 6877) is a stateful NAT64: IPv6-only clients
//! share a few IPv4 addresses ("pool4") to reach IPv4 servers. This crate
//! is its state — Binding Information Bases, session tables, port
//! allocation, the TCP state machine, filtering, hairpinning, limits — and
//! nothing else: the daemon (`plat`) parses each packet, asks the state
//! for a verdict on the packet's tuple, then rewrites the packet with
//! `xlat-core` (addresses, RFC 7915) and the ports / identifier the
//! verdict names.
//!
//! ## Contract
//! - **Sans-IO**: no sockets, threads or clock. Every call that depends on
//!   time takes a [`Timestamp`]; expiry is driven by the caller through
//!   [`Nat64::expire`] at [`Nat64::next_expiry`]. Packets never enter the
//!   state: held IPv4 SYNs stay with the caller, keyed by tuple.
//! - **Instructions, not side effects**: [`V6Verdict`] / [`V4Verdict`],
//!   or a [`Nat64Drop`] — a closed set, one counter each in [`Stats`], with
//!   the ICMP error RFC 6146 prescribes ([`Nat64Drop::icmp_error`]).
//!   [`Event`]s carry the mapping log of RFC 6888 §4 and the packets the
//!   caller must originate (held SYN timeouts, TCP probes).
//! - **Fixed memory**: every table is allocated for `max_sessions` when
//!   built and never grows or reallocates; there is no allocation per
//!   packet (events and held SYNs aside, both bounded).
//! - **Default deny**: only configured IPv6 client prefixes create state;
//!   IPv4 peers that are not globally reachable need an allow-list entry.
//! - **Never panics** on any tuple; [`Nat64::check_invariants`] states what
//!   always holds, and the property tests hold it to that.
//!
//! ## Example
//! ```
//! use core::net::Ipv4Addr;
//! use xlat_nat64::{Nat64, Nat64Config, Pool4Entry, Proto, TcpFlags, Timestamp, Tuple4, Tuple6, V4Verdict, V6Verdict};
//!
//! let config = Nat64Config::new(
//!     "64:ff9b::/96".parse().unwrap(),
//!     vec![Pool4Entry::new(Ipv4Addr::new(203, 0, 113, 1))],
//!     vec!["2001:db8::/32".parse().unwrap()],
//! );
//! let mut nat = Nat64::new(&config).unwrap();
//! let now = Timestamp::from_secs(1);
//! // A DNS query from an IPv6-only client to 198.51.100.53... is refused
//! // (a documentation address is not global): use a global one.
//! let query = Tuple6 {
//!     src: "2001:db8::1".parse().unwrap(),
//!     src_port: 5353,
//!     dst: "64:ff9b::8.8.8.8".parse().unwrap(),
//!     dst_port: 53,
//!     proto: Proto::Udp,
//! };
//! let V6Verdict::Translate(out) = nat.v6_to_v4(now, query, TcpFlags::NONE).unwrap() else { panic!() };
//! assert_eq!((out.src, out.dst, out.dst_port), (Ipv4Addr::new(203, 0, 113, 1), Ipv4Addr::new(8, 8, 8, 8), 53));
//! // The answer comes back to the allocated port.
//! let answer = out.reversed();
//! let V4Verdict::Translate(back) = nat.v4_to_v6(now, answer, TcpFlags::NONE).unwrap() else { panic!() };
//! assert_eq!(back, query.reversed());
//! // The mapping log.
//! assert!(matches!(nat.poll_event(), Some(xlat_nat64::Event::BibCreated(_))));
//! ```
//!
//! ## Design
//! - **Tables** (`bib`, `session`, `limits`): slabs of compact
//!   entries (session 28 B, BIB entry 32 B, client 20 B) found through
//!   open-addressing indexes of 4-byte slots (4/3 slots per entry, no
//!   tombstones, never resized). A session is (BIB entry, Z, z), so one
//!   index serves both directions. Worst case (every session with its own
//!   BIB entry and its own client): about 101 bytes of table per session,
//!   ~100 MB for a million sessions ([`Nat64::memory`]).
//! - **Lifetimes**: one FIFO list per timer kind (UDP, TCP established,
//!   TCP transitory, held SYN, ICMP): each kind has one duration and time
//!   only moves forward, so the lists stay sorted and refresh is O(1).
//! - **Sharding** ([`ShardedNat64`], module `sharded`): N complete shards
//!   behind N mutexes, no global lock. IPv4 packets go to the shard owning
//!   their destination port (`(port / 2) % N`; each shard allocates only
//!   its own ports); IPv6 packets go to the shard of their client (keyed
//!   hash of the client prefix). Hairpinning takes the two shards one
//!   after the other.
//! - **Port allocation** (`pool4`): RFC 6146 §3.5.1.1 (paired address,
//!   range, parity) with RFC 6056 randomization from a seeded PRNG.
//!
//! ## Map (after RFC 6146 §3 and Jool's step names)
//! | module | RFC 6146 |
//! |---|---|
//! | [`tuple`](mod@tuple) | §3.4 determining the incoming tuple |
//! | [`fragments`] | §3.4 fragments until the transport header is known |
//! | `filtering` | §3.5 filtering and updating, §3.5.1 UDP, §3.5.3 ICMP, §3.6 outgoing tuple |
//! | `pool4` | §3.5.1.1 allocation of IPv4 transport addresses |
//! | [`tcp_fsm`] | §3.5.2 TCP state machine |
//! | `bib`, `session` | §3.1/§3.2 BIB and session tables |
//! | `hairpin` | §3.8 hairpinning |
//! | `icmp_error` | §3.4/§3.6 ICMP errors matched to sessions |
//! | `limits` | default-deny policy, per-client limits (RFC 6888 REQ-4) |
//! | [`event`] | mapping log (RFC 6888 §4), caller actions |
//! | `sharded` | multi-worker sharing |
#![forbid(unsafe_code)]

mod bib;
pub mod config;
pub mod event;
mod filtering;
pub mod fragments;
mod hairpin;
mod icmp_error;
mod index;
mod limits;
mod nat64;
mod pool4;
mod rng;
mod session;
mod sharded;
pub mod tcp_fsm;
pub mod tuple;
mod verdict;

#[cfg(test)]
mod tests;

pub use config::{
    ClientGranularity, ConfigError, Filtering, Nat64Config, Pool4Entry, PortRange, StaticBib, Timeouts, MAX_POOL4,
    MAX_SHARDS,
};
pub use event::{Event, Mapping};
pub use fragments::{
    Fragment, FragmentCollector, FragmentConfig, FragmentDrop, FragmentKey, FragmentStats, FragmentVerdict, Released,
};
pub use index::MAX_ENTRIES;
pub use nat64::{MemoryReport, Nat64, Pool4Usage, SessionInfo};
pub use sharded::ShardedNat64;
pub use tcp_fsm::TcpState;
pub use tuple::{Proto, TcpFlags, Timestamp, Tuple4, Tuple6};
pub use verdict::{IcmpError, IcmpErrorVerdict, Nat64Drop, Stats, V4Verdict, V6Verdict};
