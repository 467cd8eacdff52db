//! Who may use the NAT64 and how much (RFC 6888 REQ-4 per-subscriber
//! limits; default deny).
//!
//! - **Clients**: only IPv6 sources inside a configured prefix may create
//!   state. IPv4 peers that are not globally reachable (RFC 6890, via
//!   [`xlat_core::rfc6052::is_global_v4`]) are refused unless an allow-list
//!   entry names them.
//! - **Per-client limit**: sessions are counted per client, a client being
//!   a /128, /64 or /56 ([`ClientGranularity`]). A client group entry lives
//!   while the client has sessions (20 bytes + its index slots).

use core::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::{Ipv4Network, Ipv6Network};
use xlat_core::rfc6052::is_global_v4;

use crate::bib::NIL;
use crate::config::ClientGranularity;
use crate::index::{Index, KeyedHash};
use crate::tuple::Packed6;

/// The access policy.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    clients: Vec<Ipv6Network>,
    v4_allow: Vec<Ipv4Network>,
}

impl Policy {
    pub(crate) fn new(clients: &[Ipv6Network], v4_allow: &[Ipv4Network]) -> Self {
        Self { clients: clients.to_vec(), v4_allow: v4_allow.to_vec() }
    }

    /// Whether `src` may create state.
    pub(crate) fn client_allowed(&self, src: Ipv6Addr) -> bool {
        self.clients.iter().any(|n| n.contains(src))
    }

    /// Whether the IPv4 peer `a` may be reached / may open flows.
    pub(crate) fn v4_peer_allowed(&self, a: Ipv4Addr) -> bool {
        is_global_v4(a) || self.v4_allow.iter().any(|n| n.contains(a))
    }
}

/// The client a /128 belongs to, as a masked address.
pub(crate) fn client_key(g: ClientGranularity, a: &Packed6) -> Packed6 {
    match g {
        ClientGranularity::Host => *a,
        ClientGranularity::Prefix64 => [a[0], a[1], 0, 0],
        ClientGranularity::Prefix56 => [a[0], a[1] & 0xffff_ff00, 0, 0],
    }
}

/// Hash of a client key (also used to spread clients over shards).
pub(crate) fn client_hash(key: &KeyedHash, k: &Packed6) -> u64 {
    key.words(&[(u64::from(k[0]) << 32) | u64::from(k[1]), (u64::from(k[2]) << 32) | u64::from(k[3])])
}

#[derive(Debug, Clone, Copy)]
struct Group {
    /// The masked client address; `key[0]` is the free-list link when free.
    key: Packed6,
    /// Sessions of the client; 0 = free slot.
    sessions: u32,
}

/// Session counts per client.
#[derive(Debug, Clone)]
pub(crate) struct Groups {
    entries: Vec<Group>,
    free: u32,
    cap: usize,
    index: Index,
    hash: KeyedHash,
    granularity: ClientGranularity,
}

impl Groups {
    pub(crate) fn with_capacity(capacity: usize, hash: KeyedHash, granularity: ClientGranularity) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
            free: NIL,
            cap: capacity,
            index: Index::with_capacity(capacity),
            hash,
            granularity,
        }
    }

    fn find(&self, k: &Packed6) -> Option<u32> {
        self.index.find(client_hash(&self.hash, k), |i| self.entries[i as usize].key == *k)
    }

    /// Sessions held by the client of `addr6`.
    pub(crate) fn count(&self, addr6: &Packed6) -> u32 {
        let k = client_key(self.granularity, addr6);
        self.find(&k).map_or(0, |i| self.entries[i as usize].sessions)
    }

    /// One more session for the client of `addr6`. The caller guarantees
    /// room (there are never more groups than sessions).
    pub(crate) fn add(&mut self, addr6: &Packed6) {
        let k = client_key(self.granularity, addr6);
        if let Some(i) = self.find(&k) {
            self.entries[i as usize].sessions += 1;
            return;
        }
        let g = Group { key: k, sessions: 1 };
        let idx = if self.free != NIL {
            let idx = self.free;
            self.free = self.entries[idx as usize].key[0];
            self.entries[idx as usize] = g;
            idx
        } else {
            debug_assert!(self.entries.len() < self.cap);
            self.entries.push(g);
            (self.entries.len() - 1) as u32
        };
        self.index.insert(client_hash(&self.hash, &k), idx);
    }

    /// One session less for the client of `addr6`.
    pub(crate) fn sub(&mut self, addr6: &Packed6) {
        let k = client_key(self.granularity, addr6);
        let Some(i) = self.find(&k) else {
            debug_assert!(false, "session of an unknown client");
            return;
        };
        let g = &mut self.entries[i as usize];
        g.sessions -= 1;
        if g.sessions == 0 {
            let Groups { entries, index, hash, .. } = self;
            let h = |j: u32| client_hash(hash, &entries[j as usize].key);
            index.remove(h(i), i, h);
            let slot = &mut self.entries[i as usize];
            slot.key = [self.free, 0, 0, 0];
            self.free = i;
        }
    }

    /// Every client with its session count (invariant checks).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Packed6, u32)> + '_ {
        self.entries.iter().filter(|g| g.sessions > 0).map(|g| (g.key, g.sessions))
    }

    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn granularity(&self) -> ClientGranularity {
        self.granularity
    }

    pub(crate) fn allocated_bytes(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<Group>() + self.index.allocated_bytes()
    }

    pub(crate) fn entry_size() -> usize {
        core::mem::size_of::<Group>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuple::pack6;

    fn p(s: &str) -> Packed6 {
        pack6(s.parse().unwrap())
    }

    #[test]
    fn client_keys_per_granularity() {
        let a = p("2001:db8:aa:bbcc:1:2:3:4");
        assert_eq!(client_key(ClientGranularity::Host, &a), a);
        assert_eq!(client_key(ClientGranularity::Prefix64, &a), p("2001:db8:aa:bbcc::"));
        assert_eq!(client_key(ClientGranularity::Prefix56, &a), p("2001:db8:aa:bb00::"));
    }

    #[test]
    fn groups_count_and_free() {
        let mut g = Groups::with_capacity(4, KeyedHash::new(1), ClientGranularity::Prefix64);
        let a1 = p("2001:db8:0:1::1");
        let a2 = p("2001:db8:0:1::2");
        let b = p("2001:db8:0:2::1");
        g.add(&a1);
        g.add(&a2);
        g.add(&b);
        assert_eq!(g.count(&a1), 2, "same /64");
        assert_eq!(g.count(&b), 1);
        g.sub(&a1);
        g.sub(&a2);
        assert_eq!(g.count(&a1), 0);
        assert_eq!(g.len(), 1);
        g.add(&a1);
        assert_eq!(g.count(&a2), 1);
        assert_eq!(Groups::entry_size(), 20);
    }

    #[test]
    fn default_deny_policy() {
        let pol = Policy::new(&["2001:db8::/32".parse().unwrap()], &["10.1.0.0/16".parse().unwrap()]);
        assert!(pol.client_allowed("2001:db8::1".parse().unwrap()));
        assert!(!pol.client_allowed("2001:db9::1".parse().unwrap()));
        assert!(pol.v4_peer_allowed(Ipv4Addr::new(8, 8, 8, 8)));
        assert!(!pol.v4_peer_allowed(Ipv4Addr::new(10, 2, 0, 1)));
        assert!(pol.v4_peer_allowed(Ipv4Addr::new(10, 1, 0, 1)));
        assert!(!pol.v4_peer_allowed(Ipv4Addr::new(127, 0, 0, 1)));
    }
}
