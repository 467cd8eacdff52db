//! RFC 6146 §3.1 Binding Information Bases: the mapping between an IPv6
//! transport address (X',x) and an IPv4 transport address (T,t), one
//! namespace per protocol (the protocol is part of both keys).
//!
//! Entries live in a slab allocated once (32 bytes each) and are found
//! through two [`Index`]es: by (proto, X', x) for IPv6 packets and by
//! (proto, T, t) for IPv4 packets. An entry counts its sessions; a dynamic
//! entry goes away with its last session (§3.5.1), a static one never.

use crate::index::{Index, KeyedHash};
use crate::tuple::{Packed6, Proto};

/// Marks a free slab slot / the end of a list.
pub(crate) const NIL: u32 = u32::MAX;

const LIVE: u8 = 1;
const STATIC: u8 = 2;

/// One BIB entry (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BibEntry {
    /// X': the client's IPv6 address.
    pub(crate) addr6: Packed6,
    /// T: the pool4 address.
    pub(crate) addr4: u32,
    /// x: the client's port / ICMP identifier.
    pub(crate) port6: u16,
    /// t: the pool4 port / ICMP identifier.
    pub(crate) port4: u16,
    /// Live sessions using the entry; the free-list link when free.
    pub(crate) sessions: u32,
    proto: u8,
    flags: u8,
    /// Index of T in pool4.
    pub(crate) pool_idx: u16,
}

impl BibEntry {
    pub(crate) fn new(proto: Proto, addr6: Packed6, port6: u16, addr4: u32, port4: u16, pool_idx: u16) -> Self {
        Self { addr6, addr4, port6, port4, sessions: 0, proto: proto.index() as u8, flags: LIVE, pool_idx }
    }

    pub(crate) fn proto(&self) -> Proto {
        Proto::from_index(self.proto)
    }

    pub(crate) fn is_static(&self) -> bool {
        self.flags & STATIC != 0
    }

    pub(crate) fn is_live(&self) -> bool {
        self.flags & LIVE != 0
    }

    pub(crate) fn with_static(mut self) -> Self {
        self.flags |= STATIC;
        self
    }
}

fn words6(addr6: &Packed6) -> [u64; 2] {
    [(u64::from(addr6[0]) << 32) | u64::from(addr6[1]), (u64::from(addr6[2]) << 32) | u64::from(addr6[3])]
}

fn hash6(key: &KeyedHash, proto: Proto, addr6: &Packed6, port: u16) -> u64 {
    let [a, b] = words6(addr6);
    key.words(&[a, b, (u64::from(port) << 8) | proto.index() as u64])
}

fn hash4(key: &KeyedHash, proto: Proto, addr4: u32, port: u16) -> u64 {
    key.words(&[(u64::from(addr4) << 24) | (u64::from(port) << 8) | proto.index() as u64])
}

/// The BIB of one shard.
#[derive(Debug, Clone)]
pub(crate) struct Bib {
    entries: Vec<BibEntry>,
    free: u32,
    cap: usize,
    by6: Index,
    by4: Index,
    live: [u32; 3],
    key: KeyedHash,
}

impl Bib {
    pub(crate) fn with_capacity(capacity: usize, key: KeyedHash) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
            free: NIL,
            cap: capacity,
            by6: Index::with_capacity(capacity),
            by4: Index::with_capacity(capacity),
            live: [0; 3],
            key,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by6.len()
    }

    pub(crate) fn live(&self, proto: Proto) -> u32 {
        self.live[proto.index()]
    }

    pub(crate) fn get(&self, idx: u32) -> &BibEntry {
        &self.entries[idx as usize]
    }

    pub(crate) fn get_mut(&mut self, idx: u32) -> &mut BibEntry {
        &mut self.entries[idx as usize]
    }

    /// The entry of (X', x).
    pub(crate) fn find6(&self, proto: Proto, addr6: &Packed6, port: u16) -> Option<u32> {
        let p = proto.index() as u8;
        let h = hash6(&self.key, proto, addr6, port);
        self.by6.find(h, |i| {
            let e = &self.entries[i as usize];
            e.port6 == port && e.proto == p && e.addr6 == *addr6
        })
    }

    /// The entry of (T, t).
    pub(crate) fn find4(&self, proto: Proto, addr4: u32, port: u16) -> Option<u32> {
        let p = proto.index() as u8;
        let h = hash4(&self.key, proto, addr4, port);
        self.by4.find(h, |i| {
            let e = &self.entries[i as usize];
            e.port4 == port && e.addr4 == addr4 && e.proto == p
        })
    }

    /// Adds an entry whose keys are not present; `None` when full.
    pub(crate) fn insert(&mut self, e: BibEntry) -> Option<u32> {
        debug_assert!(self.find6(e.proto(), &e.addr6, e.port6).is_none());
        debug_assert!(self.find4(e.proto(), e.addr4, e.port4).is_none());
        let idx = if self.free != NIL {
            let idx = self.free;
            self.free = self.entries[idx as usize].sessions;
            self.entries[idx as usize] = e;
            idx
        } else if self.entries.len() < self.cap {
            self.entries.push(e);
            (self.entries.len() - 1) as u32
        } else {
            return None;
        };
        self.by6.insert(hash6(&self.key, e.proto(), &e.addr6, e.port6), idx);
        self.by4.insert(hash4(&self.key, e.proto(), e.addr4, e.port4), idx);
        self.live[e.proto().index()] += 1;
        Some(idx)
    }

    /// Removes entry `idx` and returns it.
    pub(crate) fn remove(&mut self, idx: u32) -> BibEntry {
        let e = self.entries[idx as usize];
        debug_assert!(e.is_live());
        let Bib { entries, by6, by4, key, .. } = self;
        let h6 = |i: u32| {
            let o = &entries[i as usize];
            hash6(key, o.proto(), &o.addr6, o.port6)
        };
        by6.remove(h6(idx), idx, h6);
        let h4 = |i: u32| {
            let o = &entries[i as usize];
            hash4(key, o.proto(), o.addr4, o.port4)
        };
        by4.remove(h4(idx), idx, h4);
        self.live[e.proto().index()] -= 1;
        let slot = &mut self.entries[idx as usize];
        slot.flags = 0;
        slot.sessions = self.free;
        self.free = idx;
        e
    }

    /// Every live entry with its number.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &BibEntry)> {
        self.entries.iter().enumerate().filter(|(_, e)| e.is_live()).map(|(i, e)| (i as u32, e))
    }

    pub(crate) fn allocated_bytes(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<BibEntry>()
            + self.by6.allocated_bytes()
            + self.by4.allocated_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_32_bytes() {
        assert_eq!(core::mem::size_of::<BibEntry>(), 32);
    }

    #[test]
    fn insert_find_remove_reuse() {
        let mut bib = Bib::with_capacity(2, KeyedHash::new(1));
        let a = BibEntry::new(Proto::Udp, [1, 2, 3, 4], 5000, 0xc000_0201, 40000, 0);
        let b = BibEntry::new(Proto::Tcp, [1, 2, 3, 4], 5000, 0xc000_0201, 40000, 0);
        let ia = bib.insert(a).unwrap();
        let ib = bib.insert(b).unwrap();
        assert!(bib.insert(BibEntry::new(Proto::Icmp, [0; 4], 1, 1, 1, 0)).is_none(), "full");
        assert_eq!(bib.find6(Proto::Udp, &[1, 2, 3, 4], 5000), Some(ia));
        assert_eq!(bib.find4(Proto::Tcp, 0xc000_0201, 40000), Some(ib), "TCP and UDP are separate BIBs");
        assert_eq!(bib.find4(Proto::Icmp, 0xc000_0201, 40000), None);
        assert_eq!(bib.remove(ia), a);
        assert_eq!(bib.find6(Proto::Udp, &[1, 2, 3, 4], 5000), None);
        assert_eq!(bib.live(Proto::Udp), 0);
        let ic = bib.insert(a).unwrap();
        assert_eq!(ic, ia, "slot reused");
        assert_eq!(bib.iter().count(), 2);
    }
}
