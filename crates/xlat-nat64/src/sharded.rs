//! Sharing the state between workers without a global lock.
//!
//! The state is split into N shards, each a complete [`Nat64`] behind its
//! own `Mutex`:
//!
//! - **IPv4 -> IPv6** goes to the shard that owns the destination port (or
//!   ICMP identifier): port `p` belongs to shard `(p / 2) % N`, and each
//!   shard only ever allocates ports it owns. Every shard therefore has
//!   both parities of both port ranges of every pool4 address.
//! - **IPv6 -> IPv4** goes to the shard of the client: a keyed hash of the
//!   client prefix (per `client_granularity`) modulo N. All the mappings
//!   and sessions of a client live in one shard, so per-client limits and
//!   paired address pooling stay exact and local. A static BIB entry
//!   lives in the shard that owns its IPv4 port; IPv6 packets from its
//!   (X',x) are routed there by an immutable table built at start-up.
//! - **Hairpinning** (§3.8) runs the IPv6 step on the client's shard,
//!   releases it, then the IPv4 step on the port owner: never two locks.
//! - **Limits**: `max_sessions` is split evenly (each shard has
//!   `ceil(max / N)` sessions of capacity); `max_sessions_per_client` holds
//!   per shard, which is exact since a client lives in one shard (sessions
//!   of a static entry count in the entry's shard).
//!
//! A worker may simply call these methods (each takes one shard lock for a
//! few hundred nanoseconds); one that wants no contention at all can steer
//! packets by [`ShardedNat64::shard_of_v6`] / [`ShardedNat64::shard_of_v4`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::config::{ClientGranularity, ConfigError, Nat64Config};
use crate::event::Event;
use crate::index::KeyedHash;
use crate::limits::{client_hash, client_key};
use crate::nat64::{Nat64, Pool4Usage};
use crate::pool4::owner_of;
use crate::tuple::{pack6, Packed6, Proto, TcpFlags, Timestamp, Tuple4, Tuple6};
use crate::verdict::{IcmpErrorVerdict, Nat64Drop, Stats, V4Verdict, V6Verdict};

/// [`Nat64`] split into shards that workers share (see the module docs).
#[derive(Debug)]
pub struct ShardedNat64 {
    shards: Box<[Mutex<Nat64>]>,
    statics: HashMap<(Proto, Packed6, u16), usize, KeyedHash>,
    route: KeyedHash,
    granularity: ClientGranularity,
}

impl ShardedNat64 {
    /// Validates `config` and builds `shards` shards (1..=256).
    pub fn new(config: &Nat64Config, shards: usize) -> Result<Self, ConfigError> {
        config.validate(shards)?;
        let route = KeyedHash::new(config.seed.rotate_left(17) ^ 0x5bd1_e995);
        let mut statics = HashMap::with_hasher(route);
        for s in &config.static_bib {
            statics.insert((s.proto, pack6(s.v6), s.v6_port), owner_of(s.v4_port, shards));
        }
        Ok(Self {
            shards: (0..shards).map(|i| Mutex::new(Nat64::build(config, i, shards))).collect(),
            statics,
            route,
            granularity: config.client_granularity,
        })
    }

    /// Number of shards.
    #[must_use]
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, Nat64> {
        // A panic while holding a shard cannot leave it half-updated in a
        // way that matters more than losing the whole state: keep going.
        self.shards[i].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn shard_of_client(&self, proto: Proto, addr: &Packed6, port: u16) -> usize {
        let n = self.shards.len();
        if n == 1 {
            return 0;
        }
        if !self.statics.is_empty() {
            if let Some(&s) = self.statics.get(&(proto, *addr, port)) {
                return s;
            }
        }
        let k = client_key(self.granularity, addr);
        (((client_hash(&self.route, &k) & 0xffff_ffff) * n as u64) >> 32) as usize
    }

    /// The shard an IPv6 packet with tuple `t6` is processed on.
    #[must_use]
    pub fn shard_of_v6(&self, t6: &Tuple6) -> usize {
        self.shard_of_client(t6.proto, &pack6(t6.src), t6.src_port)
    }

    /// The shard an IPv4 packet with tuple `t4` is processed on.
    #[must_use]
    pub fn shard_of_v4(&self, t4: &Tuple4) -> usize {
        owner_of(t4.dst_port, self.shards.len())
    }

    /// [`Nat64::v6_to_v4`] on the client's shard (then, for §3.8, on the
    /// port owner's).
    pub fn v6_to_v4(&self, now: Timestamp, t6: Tuple6, flags: TcpFlags) -> Result<V6Verdict, Nat64Drop> {
        let (t4, hairpin) = {
            let mut a = self.lock(self.shard_of_v6(&t6));
            a.advance(now);
            a.stats.v6_packets += 1;
            let r = a.filter_v6(&t6, flags);
            a.count(r)?
        };
        if !hairpin {
            return Ok(V6Verdict::Translate(t4));
        }
        let mut b = self.lock(self.shard_of_v4(&t4));
        b.advance(now);
        let r = b.hairpin_v4(t4, flags);
        b.count(r)
    }

    /// [`Nat64::v4_to_v6`] on the port owner's shard.
    pub fn v4_to_v6(&self, now: Timestamp, t4: Tuple4, flags: TcpFlags) -> Result<V4Verdict, Nat64Drop> {
        self.lock(self.shard_of_v4(&t4)).v4_to_v6(now, t4, flags)
    }

    /// [`Nat64::icmp_error_v6`] across shards.
    pub fn icmp_error_v6(&self, quoted: Tuple6) -> Result<IcmpErrorVerdict, Nat64Drop> {
        let (inner, hairpin) = {
            let mut a = self.lock(self.shard_of_client(quoted.proto, &pack6(quoted.dst), quoted.dst_port));
            let r = a.lookup_error_v6(&quoted);
            a.count(r)?
        };
        if !hairpin {
            return Ok(IcmpErrorVerdict::ToV4(inner));
        }
        let mut b = self.lock(owner_of(inner.src_port, self.shards.len()));
        let r = b.lookup_error_v4(&inner).map(IcmpErrorVerdict::Hairpin);
        b.count(r)
    }

    /// [`Nat64::icmp_error_v4`] on the shard owning the quoted source port.
    pub fn icmp_error_v4(&self, quoted: Tuple4) -> Result<Tuple6, Nat64Drop> {
        self.lock(owner_of(quoted.src_port, self.shards.len())).icmp_error_v4(quoted)
    }

    /// [`Nat64::expire`] on every shard in turn; events go to `f`.
    pub fn expire(&self, now: Timestamp, mut f: impl FnMut(Event)) {
        for i in 0..self.shards.len() {
            let mut s = self.lock(i);
            for e in s.expire(now) {
                f(e);
            }
        }
    }

    /// The earliest [`Nat64::next_expiry`] of the shards.
    #[must_use]
    pub fn next_expiry(&self) -> Option<Timestamp> {
        (0..self.shards.len()).filter_map(|i| self.lock(i).next_expiry()).min()
    }

    /// Pending events of every shard, without expiring anything.
    pub fn drain_events(&self, mut f: impl FnMut(Event)) {
        for i in 0..self.shards.len() {
            let mut s = self.lock(i);
            while let Some(e) = s.poll_event() {
                f(e);
            }
        }
    }

    /// [`Nat64::reconfigure`] on every shard: validates `config` first (for
    /// this many shards) and applies nothing when it is invalid.
    pub fn reconfigure(&self, now: Timestamp, config: &Nat64Config) -> Result<(), ConfigError> {
        config.validate(self.shards.len())?;
        for i in 0..self.shards.len() {
            self.lock(i).reconfigure(now, config);
        }
        Ok(())
    }

    /// Port usage per pool4 address and protocol, summed over the shards
    /// (each shard owns its share of every range).
    #[must_use]
    pub fn pool4_usage(&self) -> Vec<Pool4Usage> {
        let mut total: Vec<Pool4Usage> = Vec::new();
        for i in 0..self.shards.len() {
            for u in self.lock(i).pool4_usage() {
                match total.iter_mut().find(|t| t.addr == u.addr && t.proto == u.proto) {
                    Some(t) => {
                        t.used += u.used;
                        t.total += u.total;
                    }
                    None => total.push(u),
                }
            }
        }
        total
    }

    /// Stats summed over the shards.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        for i in 0..self.shards.len() {
            total.add(&self.lock(i).stats());
        }
        total
    }

    /// Runs `f` on shard `i` (management, tests).
    pub fn with_shard<R>(&self, i: usize, f: impl FnOnce(&mut Nat64) -> R) -> R {
        f(&mut self.lock(i))
    }
}
