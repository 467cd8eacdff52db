//! The state of one NAT64 (or one shard of it): tables, clock, events,
//! counters, and the public API. The RFC 6146 steps live in
//! `filtering.rs` (§3.5), `hairpin.rs` (§3.8) and `icmp_error.rs`.

use core::net::Ipv4Addr;
use std::collections::{HashMap, VecDeque};

use xlat_core::rfc6052;

use crate::bib::{Bib, BibEntry};
use crate::config::{ConfigError, Filtering, Nat64Config};
use crate::event::{Event, EventQueue, Mapping};
use crate::index::KeyedHash;
use crate::limits::{Groups, Policy};
use crate::pool4::{owner_of, Pool4};
use crate::rng::Rng;
use crate::session::{Session, Sessions, TimerKind};
use crate::tcp_fsm::{self, OnTimeout, TcpState};
use crate::tuple::{pack6, unpack6, Packed6, Proto, TcpFlags, Timestamp, Tuple4, Tuple6};
use crate::verdict::{IcmpError, IcmpErrorVerdict, Nat64Drop, Stats, V4Verdict, V6Verdict};

/// Why a session goes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Its lifetime ran out.
    Expired,
    /// It was evicted to make room.
    Evicted,
}

/// §3.5.2.2 "type 1" held SYNs: unsolicited IPv4 SYNs toward a pool4
/// transport address no BIB entry holds. The RFC keeps them in a session
/// whose IPv6 side is unknown; here they are a bounded side table (the
/// packet itself stays with the caller). Type 2 (a BIB entry exists,
/// address-dependent filtering refused) are sessions in V4 INIT with the
/// held bit. `count` covers both.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) type1: HashMap<Tuple4, u64, KeyedHash>,
    pub(crate) fifo: VecDeque<(u64, Tuple4)>,
    pub(crate) count: u32,
    pub(crate) max: u32,
}

/// Sizes of the tables, to check the memory budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryReport {
    /// `size_of` a session entry.
    pub session_entry: usize,
    /// `size_of` a BIB entry.
    pub bib_entry: usize,
    /// `size_of` a per-client entry.
    pub client_entry: usize,
    /// Bytes of one index slot (four indexes: sessions, BIB by IPv6, BIB by
    /// IPv4, clients; 4/3 slots per entry of capacity each).
    pub index_slot: usize,
    /// Sessions the tables were built for.
    pub session_capacity: usize,
    /// Bytes allocated by the session, BIB and client tables and their
    /// indexes (fixed at construction).
    pub table_bytes: usize,
    /// Bytes of the pool4 port bitmaps (fixed, independent of sessions).
    pub pool4_bytes: usize,
    /// Bytes of the event queue and held-SYN table right now.
    pub queue_bytes: usize,
}

impl MemoryReport {
    /// Table bytes per session of capacity: the worst case, every session
    /// with its own BIB entry and its own client.
    #[must_use]
    pub fn table_bytes_per_session(&self) -> f64 {
        self.table_bytes as f64 / self.session_capacity.max(1) as f64
    }
}

/// A session as listed by [`Nat64::sessions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionInfo {
    /// The IPv6 side as the client sends: (X',x) -> (Y',y).
    pub v6: Tuple6,
    /// The IPv4 side as the NAT64 sends: (T,t) -> (Z,z).
    pub v4: Tuple4,
    /// TCP state (`None` for UDP and ICMP).
    pub tcp_state: Option<TcpState>,
    /// When the session expires unless refreshed.
    pub expires: Timestamp,
    /// Whether an IPv4 SYN of this session is held (§3.5.2.2).
    pub held_syn: bool,
}

/// The sans-IO stateful NAT64 of RFC 6146 §3 (one shard of it when used
/// through [`crate::ShardedNat64`]). See the crate docs for the contract.
#[derive(Debug, Clone)]
pub struct Nat64 {
    pub(crate) pool6: rfc6052::Prefix,
    pub(crate) pool4: Pool4,
    pub(crate) bib: Bib,
    pub(crate) sessions: Sessions,
    pub(crate) groups: Groups,
    pub(crate) policy: Policy,
    pub(crate) held: Held,
    pub(crate) events: EventQueue,
    pub(crate) rng: Rng,
    pub(crate) hash: KeyedHash,
    pub(crate) now: u64,
    timeouts: [u64; 5],
    pub(crate) filtering: Filtering,
    pub(crate) drop_external_tcp: bool,
    pub(crate) rst_during_fin: bool,
    pub(crate) max_per_client: u32,
    pub(crate) live: [u64; 3],
    pub(crate) stats: Stats,
}

fn ms(d: core::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The lifetimes in milliseconds, indexed by [`TimerKind`].
fn timeouts_ms(t: &crate::config::Timeouts) -> [u64; 5] {
    let mut timeouts = [0; 5];
    timeouts[TimerKind::Udp as usize] = ms(t.udp);
    timeouts[TimerKind::TcpEst as usize] = ms(t.tcp_est);
    timeouts[TimerKind::TcpTrans as usize] = ms(t.tcp_trans);
    timeouts[TimerKind::TcpSyn as usize] = ms(t.tcp_incoming_syn);
    timeouts[TimerKind::Icmp as usize] = ms(t.icmp);
    timeouts
}

/// Port usage of one pool4 address for one protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool4Usage {
    /// The pool4 address.
    pub addr: Ipv4Addr,
    /// The protocol (ICMP: identifiers).
    pub proto: Proto,
    /// Ports (identifiers) in use: dynamic and static BIB entries.
    pub used: u32,
    /// Ports (identifiers) in the configured range.
    pub total: u32,
}

impl Pool4Usage {
    /// `used` as a percentage of `total` (0 when the range is empty).
    #[must_use]
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            f64::from(self.used) * 100.0 / f64::from(self.total)
        }
    }
}

impl Nat64 {
    /// Validates `config` and allocates every table (fixed memory: see
    /// [`Nat64::memory`]).
    pub fn new(config: &Nat64Config) -> Result<Self, ConfigError> {
        config.validate(1)?;
        Ok(Self::build(config, 0, 1))
    }

    /// Shard `shard` of `shards` (validated by the caller).
    pub(crate) fn build(config: &Nat64Config, shard: usize, shards: usize) -> Self {
        let cap = (config.max_sessions as usize).div_ceil(shards);
        let statics: Vec<_> =
            config.static_bib.iter().filter(|s| owner_of(s.v4_port, shards) == shard).copied().collect();
        let hash = KeyedHash::new(config.seed);
        let timeouts = timeouts_ms(&config.timeouts);
        let mut nat = Self {
            pool6: config.pool6,
            pool4: Pool4::new(&config.pool4, shard, shards),
            bib: Bib::with_capacity(cap + statics.len(), hash),
            sessions: Sessions::with_capacity(cap, hash, config.filtering == Filtering::AddressDependent),
            groups: Groups::with_capacity(cap, hash, config.client_granularity),
            policy: Policy::new(&config.clients, &config.v4_allow),
            held: Held {
                type1: HashMap::with_hasher(hash),
                fifo: VecDeque::new(),
                count: 0,
                max: config.max_held_syns,
            },
            events: EventQueue::new(config.max_pending_events as usize),
            rng: Rng::new(config.seed ^ (shard as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            hash,
            now: 0,
            timeouts,
            filtering: config.filtering,
            drop_external_tcp: config.drop_external_tcp,
            rst_during_fin: config.handle_rst_during_fin_rcv,
            max_per_client: config.max_sessions_per_client,
            live: [0; 3],
            stats: Stats::default(),
        };
        for s in statics {
            let pi = nat.pool4.index_of(s.v4).expect("validated: static address in pool4");
            let reserved = nat.pool4.reserve(pi, s.proto, s.v4_port);
            debug_assert!(reserved, "validated: static ports are unique and in range");
            let e = BibEntry::new(s.proto, pack6(s.v6), s.v6_port, u32::from(s.v4), s.v4_port, pi).with_static();
            nat.bib.insert(e).expect("capacity includes static entries");
        }
        nat
    }

    // ----- public API -------------------------------------------------------

    /// RFC 6146 §3.4-§3.8 for an IPv6 packet with incoming tuple `t6`
    /// (`flags` is only read for TCP): filtering and updating (§3.5), the
    /// outgoing tuple (§3.6), hairpinning (§3.8).
    pub fn v6_to_v4(&mut self, now: Timestamp, t6: Tuple6, flags: TcpFlags) -> Result<V6Verdict, Nat64Drop> {
        self.advance(now);
        self.stats.v6_packets += 1;
        let r = self.filter_v6(&t6, flags).and_then(|(t4, hairpin)| {
            if hairpin {
                self.hairpin_v4(t4, flags)
            } else {
                Ok(V6Verdict::Translate(t4))
            }
        });
        self.count(r)
    }

    /// RFC 6146 §3.4-§3.6 for an IPv4 packet with incoming tuple `t4`.
    pub fn v4_to_v6(&mut self, now: Timestamp, t4: Tuple4, flags: TcpFlags) -> Result<V4Verdict, Nat64Drop> {
        self.advance(now);
        self.stats.v4_packets += 1;
        let r = self.filter_v4(&t4, flags, false);
        self.count(r)
    }

    /// An ICMPv6 error from the IPv6 side quoting `quoted` (a packet the
    /// NAT64 delivered: (Y',y) -> (X',x)). Finds its session by the
    /// reversed tuple (§3.4) without touching any lifetime, and returns the
    /// quoted packet as translated (see [`IcmpErrorVerdict`]).
    pub fn icmp_error_v6(&mut self, quoted: Tuple6) -> Result<IcmpErrorVerdict, Nat64Drop> {
        let r = self.lookup_error_v6(&quoted).and_then(|(inner, hairpin)| {
            if hairpin {
                self.lookup_error_v4(&inner).map(IcmpErrorVerdict::Hairpin)
            } else {
                Ok(IcmpErrorVerdict::ToV4(inner))
            }
        });
        self.count(r)
    }

    /// An ICMPv4 error from the IPv4 side quoting `quoted` (a packet the
    /// NAT64 sent: (T,t) -> (Z,z)). Returns the quoted packet as the client
    /// sent it, (X',x) -> (Y',y): the error goes to its source.
    pub fn icmp_error_v4(&mut self, quoted: Tuple4) -> Result<Tuple6, Nat64Drop> {
        let r = self.lookup_error_v4(&quoted);
        self.count(r)
    }

    /// Runs every lifetime that ended by `now` (§3.5.1, §3.5.2.2, §3.5.3)
    /// and returns the pending events, those of packet processing
    /// included. Call it at [`Nat64::next_expiry`] or periodically.
    pub fn expire(&mut self, now: Timestamp) -> impl Iterator<Item = Event> + '_ {
        self.advance(now);
        for kind in TimerKind::ALL {
            while let Some((idx, exp)) = self.sessions.head(kind) {
                if exp > self.now {
                    break;
                }
                self.on_timeout(idx, kind);
            }
        }
        while let Some(&(exp, t)) = self.held.fifo.front() {
            if exp > self.now {
                break;
            }
            self.held.fifo.pop_front();
            if self.held.type1.get(&t) == Some(&exp) {
                self.held.type1.remove(&t);
                self.held.count -= 1;
                self.stats.held_syn_expired += 1;
                self.events.push(Event::HeldSynExpired { tuple: t, error: IcmpError::V4_PORT_UNREACHABLE });
            }
        }
        self.events.drain()
    }

    /// When [`Nat64::expire`] next has work (`None`: no session, nothing held).
    #[must_use]
    pub fn next_expiry(&self) -> Option<Timestamp> {
        let heads = TimerKind::ALL.into_iter().filter_map(|k| self.sessions.head(k).map(|(_, e)| e));
        heads.chain(self.held.fifo.front().map(|(e, _)| *e)).min().map(Timestamp::from_millis)
    }

    /// The next pending event (mapping log, held SYNs), if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// Counters and gauges.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.sessions = self.live;
        s.bibs = Proto::ALL.map(|p| u64::from(self.bib.live(p)));
        s.held_syns = u64::from(self.held.count);
        s.events_lost = self.events.lost;
        s
    }

    /// Memory used by the tables.
    #[must_use]
    pub fn memory(&self) -> MemoryReport {
        MemoryReport {
            session_entry: core::mem::size_of::<Session>(),
            bib_entry: core::mem::size_of::<BibEntry>(),
            client_entry: Groups::entry_size(),
            index_slot: core::mem::size_of::<u32>(),
            session_capacity: self.sessions.capacity(),
            table_bytes: self.sessions.allocated_bytes() + self.bib.allocated_bytes() + self.groups.allocated_bytes(),
            pool4_bytes: self.pool4.allocated_bytes(),
            queue_bytes: self.events.allocated_bytes()
                + self.held.type1.capacity() * (core::mem::size_of::<(Tuple4, u64)>() + 1)
                + self.held.fifo.capacity() * core::mem::size_of::<(u64, Tuple4)>(),
        }
    }

    /// Every session (management, tests). O(capacity).
    pub fn sessions(&self) -> impl Iterator<Item = SessionInfo> + '_ {
        self.sessions.iter().map(|(idx, s)| {
            let (v6, v4) = self.session_tuples(idx);
            SessionInfo {
                v6: v6.reversed(),
                v4,
                tcp_state: TcpState::from_u8(s.state),
                expires: Timestamp::from_millis(s.expires()),
                held_syn: s.held(),
            }
        })
    }

    /// Every BIB entry (management, tests), `time` set to the latest `now`.
    pub fn bib_entries(&self) -> impl Iterator<Item = Mapping> + '_ {
        self.bib.iter().map(|(_, e)| self.mapping(e))
    }

    /// Applies the settings of `config` that can change while running:
    /// client prefixes and the IPv4 allow-list, `max_sessions_per_client`,
    /// `max_held_syns`, the session lifetimes, `drop_external_tcp` and
    /// `handle_rst_during_fin_rcv`. A shorter lifetime also shortens the
    /// sessions already running on it (to at most `now` + the new one); a
    /// longer one applies from their next refresh. Every other setting
    /// (pool6, pool4, filtering, table sizes, client granularity, static
    /// BIB entries, seed) is fixed at construction and ignored here.
    pub fn reconfigure(&mut self, now: Timestamp, config: &Nat64Config) {
        self.advance(now);
        self.policy = Policy::new(&config.clients, &config.v4_allow);
        self.max_per_client = config.max_sessions_per_client;
        self.held.max = config.max_held_syns;
        self.drop_external_tcp = config.drop_external_tcp;
        self.rst_during_fin = config.handle_rst_during_fin_rcv;
        let new = timeouts_ms(&config.timeouts);
        for kind in TimerKind::ALL {
            let i = kind as usize;
            if new[i] < self.timeouts[i] {
                let latest = self.now.saturating_add(new[i]);
                self.sessions.clamp_deadlines(kind, latest);
                if kind == TimerKind::TcpSyn {
                    let Held { type1, fifo, .. } = &mut self.held;
                    for (exp, t) in fifo.iter_mut() {
                        if *exp > latest {
                            if let Some(v) = type1.get_mut(t).filter(|v| **v == *exp) {
                                *v = latest;
                            }
                            *exp = latest;
                        }
                    }
                }
            }
        }
        self.timeouts = new;
    }

    /// Port (or identifier) usage of every pool4 address and protocol, this
    /// shard's share (see [`crate::ShardedNat64::pool4_usage`]).
    #[must_use]
    pub fn pool4_usage(&self) -> Vec<Pool4Usage> {
        let mut out = Vec::new();
        for i in 0..self.pool4.len() as u16 {
            for proto in Proto::ALL {
                if let Some((used, total)) = self.pool4.usage(i, proto) {
                    out.push(Pool4Usage { addr: self.pool4.addr(i), proto, used, total });
                }
            }
        }
        out
    }

    // ----- shared helpers of the steps ---------------------------------------

    pub(crate) fn advance(&mut self, now: Timestamp) {
        self.now = self.now.max(now.as_millis());
    }

    pub(crate) fn count<T>(&mut self, r: Result<T, Nat64Drop>) -> Result<T, Nat64Drop> {
        if let Err(d) = r {
            self.stats.drops[d as usize] += 1;
        }
        r
    }

    pub(crate) fn deadline(&self, kind: TimerKind) -> u64 {
        self.now.saturating_add(self.timeouts[kind as usize])
    }

    pub(crate) fn mapping(&self, e: &BibEntry) -> Mapping {
        Mapping {
            time: Timestamp::from_millis(self.now),
            proto: e.proto(),
            v6: unpack6(e.addr6),
            v6_port: e.port6,
            v4: Ipv4Addr::from(e.addr4),
            v4_port: e.port4,
            is_static: e.is_static(),
        }
    }

    /// The session as the NAT64 sends it: toward the client (IPv6) and
    /// toward the server (IPv4).
    pub(crate) fn session_tuples(&self, idx: u32) -> (Tuple6, Tuple4) {
        let s = self.sessions.get(idx);
        let e = self.bib.get(s.bib);
        let proto = e.proto();
        let z = Ipv4Addr::from(s.addr4);
        let zport = if proto == Proto::Icmp { e.port4 } else { s.port4 };
        let yport = if proto == Proto::Icmp { e.port6 } else { s.port4 };
        let v6 = Tuple6 { src: self.pool6.embed(z), src_port: yport, dst: unpack6(e.addr6), dst_port: e.port6, proto };
        let v4 = Tuple4 { src: Ipv4Addr::from(e.addr4), src_port: e.port4, dst: z, dst_port: zport, proto };
        (v6, v4)
    }

    /// The tuple of a held IPv4 SYN of session `idx`: (Z,z) -> (T,t).
    fn held_tuple(&self, idx: u32) -> Tuple4 {
        self.session_tuples(idx).1.reversed()
    }

    /// §3.5.1.1: a new BIB entry for (X',x).
    pub(crate) fn create_bib(&mut self, proto: Proto, addr6: Packed6, port6: u16) -> Result<u32, Nat64Drop> {
        let h = self.hash.words(&[
            (u64::from(addr6[0]) << 32) | u64::from(addr6[1]),
            (u64::from(addr6[2]) << 32) | u64::from(addr6[3]),
        ]);
        let (pi, port4) = self.pool4.allocate(proto, h, port6, &mut self.rng).ok_or(Nat64Drop::PortsExhausted)?;
        let e = BibEntry::new(proto, addr6, port6, u32::from(self.pool4.addr(pi)), port4, pi);
        let Some(idx) = self.bib.insert(e) else {
            // Unreachable: the BIB holds as many entries as sessions.
            self.pool4.release(pi, proto, port4);
            return Err(Nat64Drop::SessionTableFull);
        };
        self.stats.bib_created += 1;
        let m = self.mapping(&e);
        self.events.push(Event::BibCreated(m));
        Ok(idx)
    }

    /// A new session of BIB entry `bib` toward (Z,z). Room was made first.
    pub(crate) fn create_session(
        &mut self,
        bib: u32,
        addr4: u32,
        port4: u16,
        state: u8,
        timer: TimerKind,
        held: bool,
    ) -> u32 {
        let deadline = self.deadline(timer);
        let idx = self.sessions.insert(bib, addr4, port4, state, timer, deadline).expect("room made before");
        if held {
            self.sessions.set_held(idx, true);
            self.held.count += 1;
        }
        let e = self.bib.get_mut(bib);
        e.sessions += 1;
        let (addr6, proto) = (e.addr6, e.proto());
        self.groups.add(&addr6);
        self.live[proto.index()] += 1;
        self.stats.sessions_created += 1;
        idx
    }

    /// Deletes session `idx`; its BIB entry too when it was the last one
    /// (and not static).
    pub(crate) fn remove_session(&mut self, idx: u32, why: Removal) {
        if self.sessions.get(idx).held() {
            let tuple = self.held_tuple(idx);
            self.held.count -= 1;
            match why {
                Removal::Expired => {
                    self.stats.held_syn_expired += 1;
                    self.events.push(Event::HeldSynExpired { tuple, error: IcmpError::V4_PORT_UNREACHABLE });
                }
                Removal::Evicted => self.events.push(Event::HeldSynReleased { tuple }),
            }
        }
        let s = self.sessions.remove(idx);
        let e = self.bib.get_mut(s.bib);
        e.sessions -= 1;
        let e = *e;
        self.groups.sub(&e.addr6);
        self.live[e.proto().index()] -= 1;
        if e.sessions == 0 && !e.is_static() {
            self.bib.remove(s.bib);
            self.pool4.release(e.pool_idx, e.proto(), e.port4);
            self.stats.bib_removed += 1;
            let m = self.mapping(&e);
            self.events.push(Event::BibRemoved(m));
        }
    }

    /// Restarts the lifetime of session `idx` on `kind`.
    pub(crate) fn refresh(&mut self, idx: u32, kind: TimerKind) {
        let d = self.deadline(kind);
        self.sessions.set_timer(idx, kind, d);
    }

    /// Makes room for one session: when the table is full, evicts the
    /// transitory TCP session closest to expiry (held SYNs first, then
    /// TRANS-lifetime sessions); established sessions are never evicted.
    /// Returns whether something was evicted (BIB entries may be gone).
    pub(crate) fn make_room(&mut self, full: Nat64Drop) -> Result<bool, Nat64Drop> {
        if !self.sessions.is_full() {
            return Ok(false);
        }
        for kind in [TimerKind::TcpSyn, TimerKind::TcpTrans] {
            if let Some((idx, _)) = self.sessions.head(kind) {
                self.remove_session(idx, Removal::Evicted);
                self.stats.sessions_evicted += 1;
                return Ok(true);
            }
        }
        Err(full)
    }

    fn on_timeout(&mut self, idx: u32, kind: TimerKind) {
        let state = TcpState::from_u8(self.sessions.get(idx).state);
        if kind == TimerKind::TcpEst && state.map(tcp_fsm::on_timeout) == Some(OnTimeout::ProbeAndTrans) {
            // §3.5.2.2: ESTABLISHED lifetime over: TRANS, probe.
            self.sessions.set_state(idx, TcpState::Trans as u8);
            self.refresh(idx, TimerKind::TcpTrans);
            self.stats.tcp_probes += 1;
            let (v6, v4) = self.session_tuples(idx);
            self.events.push(Event::TcpProbe { v6, v4 });
            return;
        }
        self.remove_session(idx, Removal::Expired);
        self.stats.sessions_expired += 1;
    }

    // ----- invariants ------------------------------------------------------------

    /// Checks every structural invariant of the tables; O(capacity). For
    /// tests and fuzzing: every session refers to a live BIB entry, BIB
    /// session counts and client counts match, no two entries share a
    /// transport address, indexes find every entry, timer lists are sorted
    /// and complete, pool4 bitmaps match the BIB.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut per_bib: HashMap<u32, u32> = HashMap::new();
        let mut per_client: HashMap<Packed6, u32> = HashMap::new();
        let mut live = [0u64; 3];
        for (idx, s) in self.sessions.iter() {
            let e = self.bib.get(s.bib);
            if !e.is_live() {
                return Err(format!("session {idx} refers to dead BIB entry {}", s.bib));
            }
            *per_bib.entry(s.bib).or_default() += 1;
            let key = crate::limits::client_key(self.groups_granularity(), &e.addr6);
            *per_client.entry(key).or_default() += 1;
            live[e.proto().index()] += 1;
            if self.sessions.find(s.bib, s.addr4, s.port4) != Some(idx) {
                return Err(format!("session {idx} not found through the index"));
            }
            if e.proto() == Proto::Tcp {
                if TcpState::from_u8(s.state).is_none() {
                    return Err(format!("TCP session {idx} has no state"));
                }
            } else if s.state != 0 || s.held() {
                return Err(format!("non-TCP session {idx} has TCP state"));
            }
        }
        if live != self.live {
            return Err(format!("live session gauges {:?} != {:?}", self.live, live));
        }
        if self.sessions.len() != self.sessions.iter().count() {
            return Err("session index length != live sessions".into());
        }
        let mut seen6 = std::collections::HashSet::new();
        let mut seen4 = std::collections::HashSet::new();
        let mut used: HashMap<(u16, Proto), usize> = HashMap::new();
        for (idx, e) in self.bib.iter() {
            if !seen6.insert((e.proto(), e.addr6, e.port6)) {
                return Err(format!("two BIB entries for [{}]:{}", unpack6(e.addr6), e.port6));
            }
            if !seen4.insert((e.proto(), e.addr4, e.port4)) {
                return Err(format!("two BIB entries share {}:{}", Ipv4Addr::from(e.addr4), e.port4));
            }
            let n = per_bib.get(&idx).copied().unwrap_or(0);
            if n != e.sessions {
                return Err(format!("BIB entry {idx} counts {} sessions, has {n}", e.sessions));
            }
            if n == 0 && !e.is_static() {
                return Err(format!("dynamic BIB entry {idx} without sessions"));
            }
            if self.bib.find6(e.proto(), &e.addr6, e.port6) != Some(idx)
                || self.bib.find4(e.proto(), e.addr4, e.port4) != Some(idx)
            {
                return Err(format!("BIB entry {idx} not found through an index"));
            }
            if self.pool4.addr(e.pool_idx) != Ipv4Addr::from(e.addr4)
                || !self.pool4.is_used(e.pool_idx, e.proto(), e.port4)
            {
                return Err(format!("BIB entry {idx} port not marked in pool4"));
            }
            *used.entry((e.pool_idx, e.proto())).or_default() += 1;
        }
        if self.bib.len() != self.bib.iter().count() {
            return Err("BIB index length != live entries".into());
        }
        for pi in 0..self.pool4.len() as u16 {
            for p in Proto::ALL {
                let n = used.get(&(pi, p)).copied().unwrap_or(0);
                if self.pool4.used_count(pi, p) != n {
                    return Err(format!(
                        "pool4 address {pi} {p}: bitmap has {} ports, BIB {n}",
                        self.pool4.used_count(pi, p)
                    ));
                }
            }
        }
        if !self.pool4.free_counts_consistent() {
            return Err("pool4 free counters disagree with the bitmaps".into());
        }
        let groups: HashMap<Packed6, u32> = self.groups.iter().collect();
        if groups != per_client || self.groups.len() != groups.len() {
            return Err(format!("client counts {groups:?} != {per_client:?}"));
        }
        let mut listed = 0;
        let mut held = 0;
        for kind in TimerKind::ALL {
            let list = self.sessions.list(kind);
            listed += list.len();
            let mut prev = 0;
            for idx in list {
                let s = self.sessions.get(idx);
                if !s.is_live() || s.timer() != kind || s.expires() < prev {
                    return Err(format!("timer list {kind:?} broken at session {idx}"));
                }
                if s.held() {
                    held += 1;
                    if kind != TimerKind::TcpSyn || TcpState::from_u8(s.state) != Some(TcpState::V4Init) {
                        return Err(format!("held session {idx} not in V4 INIT on the SYN timer"));
                    }
                }
                prev = s.expires();
            }
        }
        if listed != self.sessions.len() {
            return Err(format!("{listed} sessions on timer lists, {} live", self.sessions.len()));
        }
        if held + self.held.type1.len() != self.held.count as usize || self.held.count > self.held.max {
            return Err(format!("held count {} != {held} + {}", self.held.count, self.held.type1.len()));
        }
        Ok(())
    }

    fn groups_granularity(&self) -> crate::config::ClientGranularity {
        self.groups.granularity()
    }
}
