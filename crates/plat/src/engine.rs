//! The PLAT's packet pipeline, after RFC 6146 §3 and Jool's step names,
//! shared by the daemon's workers and `plat translate`:
//!
//! 1. §3.4 determining the incoming tuple: [`xlat_core::tuple::extract`];
//!    fragments without ports go through the [`FragmentCollector`].
//! 2. §3.5 filtering and updating, §3.6 the outgoing tuple, §3.8
//!    hairpinning: [`ShardedNat64`] (shared by the workers, no global lock).
//! 3. §3.7 translating the packet:
//!    [`Translator::translate_stateful`] with the outgoing tuple.
//! 4. Refusals: the ICMP error RFC 6146 prescribes
//!    ([`xlat_nat64::Nat64Drop::icmp_error`]), from the translator.
//!
//! Time is an argument ([`Timestamp`]): the daemon passes its monotonic
//! clock, `plat translate` the capture's timestamps. Expiry and events
//! (mapping log, held SYNs timing out into ICMPv4 3/3) run in
//! [`Engine::maintain`]; packets the engine originates wait in a small
//! queue for [`Engine::poll_transmit`].

use portable_atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use xlat_core::rfc6052::Prefix;
use xlat_core::tuple::{self, PacketTuple, TupleKind};
use xlat_core::{Action, DropReason, Family, Resolved, Rewrite, Translator, OUT_BUF_LEN};
use xlat_nat64::{
    Event, Fragment, FragmentCollector, FragmentKey, FragmentVerdict, IcmpErrorVerdict, Nat64Drop, Proto, ShardedNat64,
    TcpFlags, Timestamp, Tuple4, Tuple6, V4Verdict, V6Verdict,
};
use xlat_tun::Processed;

use crate::settings::PlatSettings;

/// How often expiry and the event queues are looked at.
pub(crate) const MAINTAIN_EVERY_MS: u64 = 100;
/// Most packets the engine keeps to send on its own (held-SYN errors,
/// released fragments); beyond it they are dropped and counted.
const MAX_PENDING: usize = 1024;
/// Intermediate IPv4 addresses of a hairpinned packet (RFC 6146 §3.8): the
/// two passes only need valid unicast IPv4 in between (RFC 5737 TEST-NET-1).
const HAIRPIN_SRC: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
const HAIRPIN_DST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

/// Counters of what the engine itself did (beyond the translator's and the
/// NAT64 state's), shared by the workers.
#[derive(Debug, Default)]
pub(crate) struct EngineCounters {
    /// ICMPv4 / ICMPv6 errors sent for packets the NAT64 refused.
    pub(crate) refusal_errors: AtomicU64,
    /// §3.5.2.2: ICMPv4 port unreachable sent for held SYNs that timed out.
    pub(crate) held_syn_errors: AtomicU64,
    /// Held SYNs whose packet was missing (already released).
    pub(crate) held_syn_missing: AtomicU64,
    /// §3.5.2.2 probes the state asked for (not sent: counted only).
    pub(crate) tcp_probes: AtomicU64,
    /// Packets hairpinned (§3.8) and written.
    pub(crate) hairpinned: AtomicU64,
    /// Originated packets dropped because the queue was full.
    pub(crate) pending_overflow: AtomicU64,
    /// BIB entries logged (mapping log on).
    pub(crate) mappings_logged: AtomicU64,
}

/// What the workers share: the NAT64 state, the fragment collector, the
/// held SYN packets, the switches SIGHUP may flip.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) nat: ShardedNat64,
    pub(crate) frags: Mutex<FragmentCollector>,
    /// §3.5.2.2: unsolicited IPv4 SYNs held, keyed by their tuple (at most
    /// `max_held_syns`, the state says when to answer or forget them).
    held: Mutex<HashMap<Tuple4, Vec<u8>>>,
    pub(crate) pool6: Prefix,
    pub(crate) mapping_log: AtomicBool,
    pub(crate) counters: EngineCounters,
    /// Next maintenance time in ms: whoever passes it first does the work.
    next_maintain: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// Builds the state for `shards` workers.
    pub(crate) fn new(s: &PlatSettings, shards: usize) -> anyhow::Result<Self> {
        Ok(Self {
            nat: ShardedNat64::new(&s.nat64, shards)?,
            frags: Mutex::new(FragmentCollector::new(s.fragments)?),
            held: Mutex::new(HashMap::new()),
            pool6: s.nat64.pool6,
            mapping_log: AtomicBool::new(s.mapping_log),
            counters: EngineCounters::default(),
            next_maintain: AtomicU64::new(0),
        })
    }

    /// Held SYN packets right now.
    #[cfg(test)]
    pub(crate) fn held_packets(&self) -> usize {
        lock(&self.held).len()
    }
}

/// A packet waiting in the engine: to write, or a released fragment to
/// translate with its ports.
#[derive(Debug)]
enum Pending {
    Write(Vec<u8>),
    Released(Vec<u8>, (u16, u16)),
}

/// One worker's pipeline: its translator and its queue of packets to
/// originate; the state is shared.
#[derive(Debug)]
pub(crate) struct Engine {
    shared: Arc<Shared>,
    translator: Translator,
    pending: VecDeque<Pending>,
    /// Second buffer for the two passes of a hairpinned packet.
    scratch: Vec<u8>,
}

/// The state's protocol for a tuple kind.
fn proto_of(kind: TupleKind) -> Option<Proto> {
    match kind {
        TupleKind::Tcp => Some(Proto::Tcp),
        TupleKind::Udp => Some(Proto::Udp),
        TupleKind::IcmpQuery => Some(Proto::Icmp),
        _ => None,
    }
}

fn v6(a: IpAddr) -> Option<std::net::Ipv6Addr> {
    match a {
        IpAddr::V6(a) => Some(a),
        IpAddr::V4(_) => None,
    }
}

fn v4(a: IpAddr) -> Option<std::net::Ipv4Addr> {
    match a {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

fn rewrite4(t: Tuple4) -> Rewrite {
    Rewrite::new(IpAddr::V4(t.src), t.src_port, IpAddr::V4(t.dst), t.dst_port)
}

fn rewrite6(t: Tuple6) -> Rewrite {
    Rewrite::new(IpAddr::V6(t.src), t.src_port, IpAddr::V6(t.dst), t.dst_port)
}

/// What a translation result means for the I/O loop.
fn processed(r: Result<Action, DropReason>) -> Processed {
    match r {
        Ok(Action::Translated { len, segment, .. }) => Processed::Write { len, segment },
        Ok(Action::IcmpError { len, .. }) => Processed::one(len),
        Err(_) => Processed::Nothing,
    }
}

impl Engine {
    /// A worker's engine over `shared`, translating with `cfg`.
    pub(crate) fn new(shared: Arc<Shared>, cfg: Resolved, id_seed: u32) -> Self {
        let mut translator = Translator::from_resolved(cfg);
        translator.seed_ipv4_id(id_seed);
        Self { shared, translator, pending: VecDeque::new(), scratch: vec![0; OUT_BUF_LEN] }
    }

    /// The translator, for the TUN offloads' segment hint.
    pub(crate) fn translator_mut(&mut self) -> &mut Translator {
        &mut self.translator
    }

    /// The translator's counters.
    pub(crate) fn translator(&self) -> &Translator {
        &self.translator
    }

    /// One packet from the TUN (or the capture) at `now`: writes what to
    /// send into `out` (at least [`OUT_BUF_LEN`] bytes).
    pub(crate) fn process(&mut self, now: Timestamp, input: &[u8], out: &mut [u8]) -> Processed {
        self.maybe_maintain(now);
        let t = match tuple::extract(input) {
            Ok(t) => t,
            Err(reason) => {
                self.translator.count_drop(reason);
                return Processed::Nothing;
            }
        };
        self.process_tuple(now, &t, input, out, None)
    }

    /// Step 1 done: `t` is the packet's tuple; `ports` are known already
    /// for a released fragment.
    fn process_tuple(
        &mut self,
        now: Timestamp,
        t: &PacketTuple,
        input: &[u8],
        out: &mut [u8],
        ports: Option<(u16, u16)>,
    ) -> Processed {
        if t.kind == TupleKind::IcmpError {
            return self.icmp_error(t, input, out);
        }
        let Some(proto) = proto_of(t.kind) else {
            let reason = match t.kind {
                TupleKind::IcmpOther if t.is_first() => DropReason::IcmpUntranslatable,
                TupleKind::IcmpOther => DropReason::FragmentedIcmp,
                _ => DropReason::UnsupportedProtocol,
            };
            self.translator.count_drop(reason);
            return Processed::Nothing;
        };
        if proto == Proto::Icmp && t.is_fragment() {
            self.translator.count_drop(DropReason::FragmentedIcmp);
            return Processed::Nothing;
        }
        let (src_port, dst_port) = match ports {
            Some(p) => p,
            None if t.is_fragment() => match self.fragment(now, t, input) {
                Some(p) => p,
                None => return Processed::Nothing,
            },
            None => (t.src_port, t.dst_port),
        };
        let flags = TcpFlags::from_bits(t.tcp_flags);
        match t.family {
            Family::V6 => {
                let (Some(src), Some(dst)) = (v6(t.src), v6(t.dst)) else { return Processed::Nothing };
                let t6 = Tuple6 { src, src_port, dst, dst_port, proto };
                match self.shared.nat.v6_to_v4(now, t6, flags) {
                    Ok(V6Verdict::Translate(t4)) => self.emit(input, out, &rewrite4(t4)),
                    Ok(V6Verdict::Hairpin(t6)) => self.hairpin(input, out, &rewrite6(t6)),
                    Err(d) => self.refuse(input, out, d, Family::V6),
                }
            }
            Family::V4 => {
                let (Some(src), Some(dst)) = (v4(t.src), v4(t.dst)) else { return Processed::Nothing };
                let t4 = Tuple4 { src, src_port, dst, dst_port, proto };
                match self.shared.nat.v4_to_v6(now, t4, flags) {
                    Ok(V4Verdict::Translate(t6)) => self.emit(input, out, &rewrite6(t6)),
                    Ok(V4Verdict::HoldSyn) => {
                        lock(&self.shared.held).insert(t4, input.to_vec());
                        Processed::Nothing
                    }
                    Err(d) => self.refuse(input, out, d, Family::V4),
                }
            }
        }
    }

    /// §3.4: the ports of a fragment; `None` when it is held or refused
    /// (the collector counts both).
    fn fragment(&mut self, now: Timestamp, t: &PacketTuple, input: &[u8]) -> Option<(u16, u16)> {
        let f = t.fragment?;
        let key = FragmentKey { src: t.src, dst: t.dst, proto: t.proto, id: f.id };
        let frag = Fragment {
            offset: f.offset,
            more: f.more,
            payload_len: t.payload_len,
            ports: t.is_first().then_some((t.src_port, t.dst_port)),
            packet: input,
        };
        let shared = Arc::clone(&self.shared);
        let mut frags = lock(&shared.frags);
        let verdict = frags.push(now, key, frag);
        while let Some(r) = frags.pop_released() {
            self.queue(Pending::Released(r.packet, r.ports));
        }
        drop(frags);
        match verdict {
            Ok(FragmentVerdict::Ready { ports }) => Some(ports),
            Ok(FragmentVerdict::Held) | Err(_) => None,
        }
    }

    /// §3.7: the packet with the outgoing tuple.
    fn emit(&mut self, input: &[u8], out: &mut [u8], rw: &Rewrite) -> Processed {
        processed(self.translator.translate_stateful(input, out, rw))
    }

    /// §3.8: an IPv6 packet for another client's pool4 transport address
    /// goes back out as IPv6 with `rw`: translated to IPv4 (any valid
    /// addresses: the second pass replaces them), then back to IPv6. The
    /// hop limit goes down once per pass.
    fn hairpin(&mut self, input: &[u8], out: &mut [u8], rw: &Rewrite) -> Processed {
        let via = Rewrite::new(HAIRPIN_SRC, rw.src_port, HAIRPIN_DST, rw.dst_port);
        let mut scratch = core::mem::take(&mut self.scratch);
        let first = self.translator.translate_stateful(input, &mut scratch, &via);
        let result = match first {
            Ok(Action::Translated { len, segment, .. }) if segment == len => {
                match self.translator.translate_stateful(&scratch[..len], out, rw) {
                    Ok(a @ Action::Translated { .. }) => {
                        self.shared.counters.hairpinned.fetch_add(1, Relaxed);
                        processed(Ok(a))
                    }
                    // An error about the intermediate IPv4 form would go to
                    // an address that is really an IPv6 host.
                    _ => Processed::Nothing,
                }
            }
            // An error toward the sender (hop limit, too big) is fine as is.
            Ok(Action::IcmpError { len, .. }) => {
                out[..len].copy_from_slice(&scratch[..len]);
                Processed::one(len)
            }
            _ => Processed::Nothing,
        };
        self.scratch = scratch;
        result
    }

    /// §3.4 / §3.6: an ICMP error finds its session through the packet it
    /// quotes; it neither creates state nor refreshes it.
    fn icmp_error(&mut self, t: &PacketTuple, input: &[u8], out: &mut [u8]) -> Processed {
        let Some(q) = t.quoted else { return Processed::Nothing };
        let Some(proto) = proto_of(q.kind) else {
            self.translator.count_drop(DropReason::IcmpUntranslatable);
            return Processed::Nothing;
        };
        match t.family {
            Family::V6 => {
                let (Some(src), Some(dst)) = (v6(q.src), v6(q.dst)) else { return Processed::Nothing };
                let quoted = Tuple6 { src, src_port: q.src_port, dst, dst_port: q.dst_port, proto };
                match self.shared.nat.icmp_error_v6(quoted) {
                    // The quoted packet becomes (Z,z) -> (T,t); the error goes T -> Z.
                    Ok(IcmpErrorVerdict::ToV4(inner)) => self.emit(input, out, &rewrite4(inner.reversed())),
                    Ok(IcmpErrorVerdict::Hairpin(inner)) => self.hairpin(input, out, &rewrite6(inner.reversed())),
                    Err(_) => Processed::Nothing,
                }
            }
            Family::V4 => {
                let (Some(src), Some(dst)) = (v4(q.src), v4(q.dst)) else { return Processed::Nothing };
                let quoted = Tuple4 { src, src_port: q.src_port, dst, dst_port: q.dst_port, proto };
                let Some(router) = v4(t.src) else { return Processed::Nothing };
                match self.shared.nat.icmp_error_v4(quoted) {
                    // The quoted packet as the client sent it, (X',x) -> (Y',y);
                    // the error comes from the router that sent it (its
                    // pool6 address), so traceroute shows the hops.
                    Ok(client) => {
                        let rw =
                            rewrite6(client.reversed()).with_error_src(IpAddr::V6(self.shared.pool6.embed(router)));
                        self.emit(input, out, &rw)
                    }
                    Err(_) => Processed::Nothing,
                }
            }
        }
    }

    /// The ICMP error RFC 6146 prescribes for a refused packet, if any (the
    /// state counted the drop).
    fn refuse(&mut self, input: &[u8], out: &mut [u8], d: Nat64Drop, family: Family) -> Processed {
        let Some(e) = d.icmp_error().filter(|e| e.family == family) else { return Processed::Nothing };
        match self.translator.icmp_error(input, e.icmp_type, e.code, [0; 4], out) {
            Some(len) => {
                self.shared.counters.refusal_errors.fetch_add(1, Relaxed);
                Processed::one(len)
            }
            None => Processed::Nothing,
        }
    }

    fn queue(&mut self, p: Pending) {
        if self.pending.len() < MAX_PENDING {
            self.pending.push_back(p);
        } else {
            self.shared.counters.pending_overflow.fetch_add(1, Relaxed);
        }
    }

    /// A packet the engine originates, if any: held-SYN errors, released
    /// fragments (translated now).
    pub(crate) fn poll_transmit(&mut self, now: Timestamp, out: &mut [u8]) -> Processed {
        while let Some(p) = self.pending.pop_front() {
            let r = match p {
                Pending::Write(pkt) => {
                    let n = pkt.len().min(out.len());
                    out[..n].copy_from_slice(&pkt[..n]);
                    Processed::one(n)
                }
                Pending::Released(pkt, ports) => match tuple::extract(&pkt) {
                    Ok(t) => self.process_tuple(now, &t, &pkt, out, Some(ports)),
                    Err(reason) => {
                        self.translator.count_drop(reason);
                        Processed::Nothing
                    }
                },
            };
            if r != Processed::Nothing {
                return r;
            }
        }
        Processed::Nothing
    }

    /// Runs [`Engine::maintain`] when its time has come (one worker does it
    /// per period).
    pub(crate) fn maybe_maintain(&mut self, now: Timestamp) {
        let due = self.shared.next_maintain.load(Relaxed);
        let ms = now.as_millis();
        if ms >= due
            && self
                .shared
                .next_maintain
                .compare_exchange(due, ms.saturating_add(MAINTAIN_EVERY_MS), Relaxed, Relaxed)
                .is_ok()
        {
            self.maintain(now);
        }
    }

    /// Expires sessions, fragments and held SYNs up to `now` and handles
    /// the events: mapping log, held SYN answers, probes.
    pub(crate) fn maintain(&mut self, now: Timestamp) {
        lock(&self.shared.frags).expire(now);
        let mut events = Vec::new();
        self.shared.nat.expire(now, |e| events.push(e));
        for e in events {
            self.event(e);
        }
    }

    fn event(&mut self, e: Event) {
        let shared = Arc::clone(&self.shared);
        match e {
            Event::BibCreated(m) | Event::BibRemoved(m) => {
                if shared.mapping_log.load(Relaxed) {
                    let event = if matches!(e, Event::BibCreated(_)) { "created" } else { "removed" };
                    shared.counters.mappings_logged.fetch_add(1, Relaxed);
                    tracing::info!(
                        target: "plat::mapping",
                        event,
                        proto = %m.proto,
                        v6 = %m.v6,
                        v6_port = m.v6_port,
                        v4 = %m.v4,
                        v4_port = m.v4_port,
                        r#static = m.is_static,
                        time_ms = m.time.as_millis(),
                        "bib {event}"
                    );
                }
            }
            Event::HeldSynExpired { tuple, error } => {
                let packet = lock(&shared.held).remove(&tuple);
                match packet {
                    Some(p) => {
                        let mut buf = vec![0u8; OUT_BUF_LEN];
                        if let Some(n) = self.translator.icmp_error(&p, error.icmp_type, error.code, [0; 4], &mut buf) {
                            buf.truncate(n);
                            shared.counters.held_syn_errors.fetch_add(1, Relaxed);
                            self.queue(Pending::Write(buf));
                        }
                    }
                    None => {
                        shared.counters.held_syn_missing.fetch_add(1, Relaxed);
                    }
                }
            }
            Event::HeldSynReleased { tuple } => {
                lock(&shared.held).remove(&tuple);
            }
            Event::TcpProbe { .. } => {
                shared.counters.tcp_probes.fetch_add(1, Relaxed);
            }
        }
    }

    /// Replaces the translator configuration (reload).
    pub(crate) fn set_config(&mut self, cfg: Resolved) {
        self.translator.set_config(cfg);
    }
}

#[cfg(test)]
mod tests;
