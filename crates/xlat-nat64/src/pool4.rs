//! pool4 and RFC 6146 §3.5.1.1 "Rules for Allocation of IPv4 Transport
//! Addresses".
//!
//! - **Address**: paired pooling (RFC 4787 REQ-2, §3.5.1.1 first rule): the
//!   address is chosen by a keyed hash of the client's IPv6 address, so
//!   every mapping of a client lands on the same IPv4 address while that
//!   address has ports left; only then are the others tried, in order.
//! - **Port range**: a port of 0-1023 gets a port of 0-1023 where one is
//!   free, else (the RFC's MAY) one of 1024-65535. A port of 1024-65535 only
//!   ever gets a port of 1024-65535: handing out privileged source ports to
//!   any client is not taken from the MAY.
//! - **Parity** is preserved where possible (RFC 4787 §4.2.2), then the
//!   other parity of the same range is used.
//! - **Randomization** (RFC 6056 §3.3.1, Algorithm 1): the search starts at
//!   a random candidate and walks the class; ports are never handed out
//!   sequentially. ICMP identifiers are one class (no range rule), parity
//!   kept where possible.
//!
//! Ports are owned by shards: port `p` belongs to shard
//! `(p / 2) % shards`, so every shard has both parities of both ranges and
//! an IPv4 packet finds its shard from its destination port alone.
//!
//! Memory: one 8 KiB bitmap per address and protocol (per shard), fixed.

use core::net::Ipv4Addr;

use crate::config::{Pool4Entry, PortRange};
use crate::rng::Rng;
use crate::tuple::Proto;

const WORDS: usize = 65536 / 64;

/// The shard that owns `port` (TCP/UDP port or ICMP identifier).
pub(crate) fn owner_of(port: u16, shards: usize) -> usize {
    usize::from(port >> 1) % shards
}

/// Range class: 0 = well-known (0-1023), 1 = the rest (ICMP: everything).
fn range_class(proto: Proto, port: u16) -> usize {
    usize::from(proto == Proto::Icmp || port >= 1024)
}

fn class_bounds(proto: Proto, rc: usize) -> Option<(u16, u16)> {
    match (proto, rc) {
        (Proto::Icmp, 0) => None,
        (Proto::Icmp, _) => Some((0, 65535)),
        (_, 0) => Some((0, 1023)),
        _ => Some((1024, 65535)),
    }
}

/// The ports of one protocol on one address, as seen by one shard.
#[derive(Debug, Clone)]
struct PortSpace {
    range: PortRange,
    /// Bit set: port in use.
    used: Box<[u64; WORDS]>,
    /// Free owned ports per class `range_class * 2 + parity`.
    free: [u32; 4],
    /// Ports this shard owns in the range (free or not).
    owned: u32,
}

impl PortSpace {
    fn is_used(&self, p: u16) -> bool {
        self.used[usize::from(p) / 64] & (1 << (p % 64)) != 0
    }

    fn set(&mut self, p: u16, used: bool) {
        let w = &mut self.used[usize::from(p) / 64];
        if used {
            *w |= 1 << (p % 64);
        } else {
            *w &= !(1 << (p % 64));
        }
    }
}

/// Candidate ports of one class owned by one shard: `2 * (m0 + q * n) + parity`
/// for `q in 0..count`, filtered to `lo..=hi`.
#[derive(Debug, Clone, Copy)]
struct Candidates {
    m0: u32,
    count: u32,
    n: u32,
    parity: u32,
    lo: u32,
    hi: u32,
}

impl Candidates {
    fn new(proto: Proto, range: PortRange, class: usize, shard: usize, shards: usize) -> Option<Self> {
        let (clo, chi) = class_bounds(proto, class / 2)?;
        let lo = u32::from(range.first.max(clo));
        let hi = u32::from(range.last.min(chi));
        if lo > hi {
            return None;
        }
        let (n, k) = (shards as u32, shard as u32);
        let (m_lo, m_hi) = (lo >> 1, hi >> 1);
        let m0 = m_lo + (k + n - m_lo % n) % n;
        if m0 > m_hi {
            return None;
        }
        Some(Self { m0, count: (m_hi - m0) / n + 1, n, parity: (class % 2) as u32, lo, hi })
    }

    fn port(&self, q: u32) -> Option<u16> {
        let p = 2 * (self.m0 + q * self.n) + self.parity;
        (self.lo..=self.hi).contains(&p).then_some(p as u16)
    }

    fn iter(self) -> impl Iterator<Item = u16> {
        (0..self.count).filter_map(move |q| self.port(q))
    }
}

/// pool4 as one shard sees it.
#[derive(Debug, Clone)]
pub(crate) struct Pool4 {
    addrs: Vec<Ipv4Addr>,
    /// (address as u32, index in `addrs`), sorted for lookups.
    sorted: Vec<(u32, u16)>,
    spaces: Vec<[Option<PortSpace>; 3]>,
    shard: usize,
    shards: usize,
}

impl Pool4 {
    pub(crate) fn new(entries: &[Pool4Entry], shard: usize, shards: usize) -> Self {
        let addrs: Vec<Ipv4Addr> = entries.iter().map(|e| e.addr).collect();
        let mut sorted: Vec<(u32, u16)> =
            addrs.iter().enumerate().map(|(i, a)| (u32::from(*a), u16::try_from(i).unwrap_or(u16::MAX))).collect();
        sorted.sort_unstable();
        let spaces = entries
            .iter()
            .map(|e| {
                Proto::ALL.map(|proto| {
                    e.range(proto).map(|range| {
                        let mut free = [0u32; 4];
                        for (class, f) in free.iter_mut().enumerate() {
                            if let Some(c) = Candidates::new(proto, range, class, shard, shards) {
                                *f = c.iter().count() as u32;
                            }
                        }
                        PortSpace { range, used: Box::new([0; WORDS]), free, owned: free.iter().sum() }
                    })
                })
            })
            .collect();
        Self { addrs, sorted, spaces, shard, shards }
    }

    /// Number of addresses.
    pub(crate) fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Address number `i`.
    pub(crate) fn addr(&self, i: u16) -> Ipv4Addr {
        self.addrs[usize::from(i)]
    }

    /// Index of `addr` if it is a pool4 address.
    pub(crate) fn index_of(&self, addr: Ipv4Addr) -> Option<u16> {
        let a = u32::from(addr);
        self.sorted.binary_search_by_key(&a, |(x, _)| *x).ok().map(|i| self.sorted[i].1)
    }

    /// Index of `addr` if it is a pool4 address serving `port` of `proto`.
    pub(crate) fn lookup(&self, addr: Ipv4Addr, proto: Proto, port: u16) -> Option<u16> {
        let i = self.index_of(addr)?;
        let space = self.spaces[usize::from(i)][proto.index()].as_ref()?;
        space.range.contains(port).then_some(i)
    }

    /// Whether `port` is in use on address `i` (tests and invariants).
    pub(crate) fn is_used(&self, i: u16, proto: Proto, port: u16) -> bool {
        self.spaces[usize::from(i)][proto.index()].as_ref().is_some_and(|s| s.is_used(port))
    }

    /// Marks `port` used (static BIB entries). False if it was.
    pub(crate) fn reserve(&mut self, i: u16, proto: Proto, port: u16) -> bool {
        let owned = owner_of(port, self.shards) == self.shard;
        let Some(space) = self.spaces[usize::from(i)][proto.index()].as_mut() else {
            return false;
        };
        if space.is_used(port) || !space.range.contains(port) {
            return false;
        }
        space.set(port, true);
        if owned {
            let class = range_class(proto, port) * 2 + usize::from(port & 1);
            space.free[class] -= 1;
        }
        true
    }

    /// Returns `port` to the pool.
    pub(crate) fn release(&mut self, i: u16, proto: Proto, port: u16) {
        let owned = owner_of(port, self.shards) == self.shard;
        if let Some(space) = self.spaces[usize::from(i)][proto.index()].as_mut() {
            if space.is_used(port) {
                space.set(port, false);
                if owned {
                    let class = range_class(proto, port) * 2 + usize::from(port & 1);
                    space.free[class] += 1;
                }
            }
        }
    }

    /// RFC 6146 §3.5.1.1: an IPv4 transport address for a client whose
    /// address hashes to `client_hash` and whose port is `src_port`.
    pub(crate) fn allocate(
        &mut self,
        proto: Proto,
        client_hash: u64,
        src_port: u16,
        rng: &mut Rng,
    ) -> Option<(u16, u16)> {
        let rc = range_class(proto, src_port);
        let par = usize::from(src_port & 1);
        let order = [(rc, par), (rc, 1 - par), (1, par), (1, 1 - par)].map(|(r, p)| r * 2 + p);
        // Only a well-known port may fall back to the other range.
        let classes = &order[..if rc == 0 { 4 } else { 2 }];
        let n = self.addrs.len();
        let start = (((client_hash & 0xffff_ffff) * n as u64) >> 32) as usize;
        for k in 0..n {
            let ai = (start + k) % n;
            let (shard, shards) = (self.shard, self.shards);
            let Some(space) = self.spaces[ai][proto.index()].as_mut() else {
                continue;
            };
            for &class in classes {
                if space.free[class] == 0 {
                    continue;
                }
                let Some(c) = Candidates::new(proto, space.range, class, shard, shards) else {
                    continue;
                };
                let first = rng.below(c.count);
                for step in 0..c.count {
                    let q = (first + step) % c.count;
                    if let Some(p) = c.port(q) {
                        if !space.is_used(p) {
                            space.set(p, true);
                            space.free[class] -= 1;
                            return Some((ai as u16, p));
                        }
                    }
                }
                debug_assert!(false, "free count says a port is free");
            }
        }
        None
    }

    /// (ports in use, ports in the range) of this shard on address `i` for
    /// `proto`: the shard's own ports only, so the sums over the shards are
    /// the address's. `None` when the protocol is off on the address.
    pub(crate) fn usage(&self, i: u16, proto: Proto) -> Option<(u32, u32)> {
        let space = self.spaces.get(usize::from(i))?[proto.index()].as_ref()?;
        let free: u32 = space.free.iter().sum();
        Some((space.owned.saturating_sub(free), space.owned))
    }

    /// Ports in use on address `i` for `proto` (invariant checks).
    pub(crate) fn used_count(&self, i: u16, proto: Proto) -> usize {
        self.spaces[usize::from(i)][proto.index()]
            .as_ref()
            .map_or(0, |s| s.used.iter().map(|w| w.count_ones() as usize).sum())
    }

    /// Whether the free counters agree with the bitmaps (invariant checks).
    pub(crate) fn free_counts_consistent(&self) -> bool {
        self.spaces.iter().all(|per| {
            Proto::ALL.iter().all(|&proto| {
                let Some(space) = per[proto.index()].as_ref() else {
                    return true;
                };
                (0..4).all(|class| {
                    let free = Candidates::new(proto, space.range, class, self.shard, self.shards)
                        .map_or(0, |c| c.iter().filter(|p| !space.is_used(*p)).count());
                    free == space.free[class] as usize
                })
            })
        })
    }

    pub(crate) fn allocated_bytes(&self) -> usize {
        let spaces = self.spaces.iter().flatten().flatten().count();
        spaces * WORDS * 8
            + self.spaces.capacity() * core::mem::size_of::<[Option<PortSpace>; 3]>()
            + self.addrs.capacity() * 4
            + self.sorted.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(entries: &[Pool4Entry]) -> Pool4 {
        Pool4::new(entries, 0, 1)
    }

    fn entry(last: u8, tcp: PortRange) -> Pool4Entry {
        Pool4Entry { addr: Ipv4Addr::new(192, 0, 2, last), tcp: Some(tcp), udp: Some(tcp), icmp: None }
    }

    #[test]
    fn rfc6146_3_5_1_1_parity_and_range_preserved() {
        let mut p = pool(&[entry(1, PortRange::new(0, 65535))]);
        let mut rng = Rng::new(7);
        for src in [1u16, 2, 80, 443, 1023, 1024, 5001, 40000, 65535] {
            let (_, t) = p.allocate(Proto::Udp, 0, src, &mut rng).unwrap();
            assert_eq!(t & 1, src & 1, "parity of {src} -> {t}");
            assert_eq!(t < 1024, src < 1024, "range of {src} -> {t}");
        }
    }

    #[test]
    fn rfc6056_allocation_is_random_not_sequential() {
        let mut p = pool(&[entry(1, PortRange::new(1024, 65535))]);
        let mut rng = Rng::new(1);
        let ports: Vec<u16> = (0..50).map(|i| p.allocate(Proto::Tcp, 0, 2000 + 2 * i, &mut rng).unwrap().1).collect();
        let sequential = ports.windows(2).filter(|w| w[1].abs_diff(w[0]) <= 2).count();
        assert!(sequential < 3, "{ports:?}");
        let mut dedup = ports.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), ports.len());
    }

    #[test]
    fn rfc6146_3_5_1_1_falls_back_to_other_parity_then_none() {
        let mut p = pool(&[entry(1, PortRange::new(2000, 2003))]);
        let mut rng = Rng::new(3);
        let mut got: Vec<u16> = (0..4).map(|_| p.allocate(Proto::Udp, 0, 3000, &mut rng).unwrap().1).collect();
        got.sort_unstable();
        assert_eq!(got, [2000, 2001, 2002, 2003]);
        assert_eq!(p.allocate(Proto::Udp, 0, 3000, &mut rng), None);
        p.release(0, Proto::Udp, 2001);
        assert_eq!(p.allocate(Proto::Udp, 0, 3000, &mut rng), Some((0, 2001)));
        assert!(p.free_counts_consistent());
    }

    #[test]
    fn rfc6146_3_5_1_1_well_known_may_fall_back_high_but_not_reverse() {
        let mut p = pool(&[entry(1, PortRange::new(1000, 1030))]);
        let mut rng = Rng::new(5);
        // 1000..=1023: 24 low ports; a high source port never gets them.
        for _ in 0..7 {
            let (_, t) = p.allocate(Proto::Tcp, 0, 5000, &mut rng).unwrap();
            assert!(t >= 1024);
        }
        assert_eq!(p.allocate(Proto::Tcp, 0, 5000, &mut rng), None);
        for _ in 0..24 {
            let (_, t) = p.allocate(Proto::Tcp, 0, 22, &mut rng).unwrap();
            assert!(t < 1024);
        }
        p.release(0, Proto::Tcp, 1025);
        assert_eq!(p.allocate(Proto::Tcp, 0, 22, &mut rng), Some((0, 1025)), "low falls back to high");
    }

    #[test]
    fn rfc6146_3_5_1_1_paired_address_by_client_hash() {
        let entries = [entry(1, PortRange::new(1024, 65535)), entry(2, PortRange::new(1024, 65535))];
        let mut p = pool(&entries);
        let mut rng = Rng::new(9);
        let a: Vec<u16> = (0..20).map(|i| p.allocate(Proto::Tcp, 0xdead_beef, 3000 + i, &mut rng).unwrap().0).collect();
        assert!(a.iter().all(|x| *x == a[0]), "same client, same address: {a:?}");
        // Exhausted preferred address: the other one is used.
        let mut small = pool(&[entry(1, PortRange::new(2000, 2001)), entry(2, PortRange::new(2000, 2001))]);
        let first = small.allocate(Proto::Udp, 0, 5000, &mut rng).unwrap().0;
        small.allocate(Proto::Udp, 0, 5000, &mut rng).unwrap();
        assert_ne!(small.allocate(Proto::Udp, 0, 5000, &mut rng).unwrap().0, first);
    }

    #[test]
    fn shards_own_disjoint_ports() {
        let e = [entry(1, PortRange::new(1024, 1100))];
        let mut all = Vec::new();
        for shard in 0..3 {
            let mut p = Pool4::new(&e, shard, 3);
            let mut rng = Rng::new(shard as u64);
            while let Some((_, t)) = p.allocate(Proto::Tcp, 0, 4000, &mut rng) {
                assert_eq!(owner_of(t, 3), shard);
                all.push(t);
            }
            assert!(p.free_counts_consistent());
        }
        all.sort_unstable();
        assert_eq!(all, (1024..=1100).collect::<Vec<_>>());
    }

    #[test]
    fn lookup_and_reserve() {
        let mut p = pool(&[entry(1, PortRange::new(1024, 2000))]);
        assert_eq!(p.lookup(Ipv4Addr::new(192, 0, 2, 1), Proto::Tcp, 1500), Some(0));
        assert_eq!(p.lookup(Ipv4Addr::new(192, 0, 2, 1), Proto::Tcp, 80), None);
        assert_eq!(p.lookup(Ipv4Addr::new(192, 0, 2, 1), Proto::Icmp, 1500), None);
        assert_eq!(p.lookup(Ipv4Addr::new(192, 0, 2, 2), Proto::Tcp, 1500), None);
        assert!(p.reserve(0, Proto::Tcp, 1500));
        assert!(!p.reserve(0, Proto::Tcp, 1500));
        assert!(p.is_used(0, Proto::Tcp, 1500));
        assert!(p.free_counts_consistent());
    }

    #[test]
    fn icmp_identifiers_use_whole_range() {
        let e =
            Pool4Entry { addr: Ipv4Addr::new(192, 0, 2, 1), tcp: None, udp: None, icmp: Some(PortRange::new(0, 3)) };
        let mut p = pool(&[e]);
        let mut rng = Rng::new(1);
        let mut ids: Vec<u16> = (0..4).map(|_| p.allocate(Proto::Icmp, 0, 7, &mut rng).unwrap().1).collect();
        ids.sort_unstable();
        assert_eq!(ids, [0, 1, 2, 3]);
    }
}
