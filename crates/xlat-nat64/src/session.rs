//! RFC 6146 §3.2 Session Tables, and the session lifetimes of §3.5.
//!
//! A session is (BIB entry, Z, z): its IPv6 side is (X',x) <-> (Y',y) with
//! (X',x) from the BIB entry and Y' = pool6 + Z, y = z; its IPv4 side is
//! (T,t) <-> (Z,z) with (T,t) from the BIB entry. So one index serves both
//! directions: a packet first finds its BIB entry (by (X',x) or (T,t)),
//! then the session by (entry, Z, z). ICMP sessions store z = 0.
//!
//! Under address-dependent filtering the index hashes (entry, Z) only, so
//! that "is there any session of this entry toward Z?" (§3.5.1's filtering
//! test) is one probe sequence; under endpoint-independent filtering it
//! hashes (entry, Z, z). The price under ADF: the sessions of one entry
//! toward one address (different peer ports) share a hash, so a lookup
//! among them is linear; their number is bounded by the per-client limit.
//!
//! Lifetimes: each session sits in one FIFO list per timer kind. Every
//! kind has a fixed duration and time never goes back, so appending at the
//! tail keeps each list sorted by expiry: refresh is O(1), expiry pops
//! heads, `next_expiry` looks at five heads.
//!
//! Entry: 28 bytes.

use crate::bib::NIL;
use crate::index::{Index, KeyedHash};

/// The lifetime a session is running on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum TimerKind {
    /// UDP_DEFAULT (configurable).
    Udp = 0,
    /// TCP_EST.
    TcpEst = 1,
    /// TCP_TRANS.
    TcpTrans = 2,
    /// TCP_INCOMING_SYN (held IPv4 SYN).
    TcpSyn = 3,
    /// ICMP_DEFAULT.
    Icmp = 4,
}

impl TimerKind {
    pub(crate) const ALL: [TimerKind; 5] =
        [TimerKind::Udp, TimerKind::TcpEst, TimerKind::TcpTrans, TimerKind::TcpSyn, TimerKind::Icmp];

    fn from_bits(b: u8) -> TimerKind {
        TimerKind::ALL[usize::from(b & KIND_MASK).min(4)]
    }
}

const KIND_MASK: u8 = 0x07;
const LIVE: u8 = 0x40;
const HELD: u8 = 0x80;

/// One session (28 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Session {
    /// Expiry in milliseconds, as two words (keeps the entry 4-aligned).
    expires: [u32; 2],
    /// The BIB entry.
    pub(crate) bib: u32,
    /// Z: the IPv4 peer.
    pub(crate) addr4: u32,
    prev: u32,
    /// Next in the timer list; the free-list link when free.
    next: u32,
    /// z: the IPv4 peer's port (0 for ICMP).
    pub(crate) port4: u16,
    /// TCP state ([`crate::TcpState`] as u8), 0 for UDP / ICMP.
    pub(crate) state: u8,
    bits: u8,
}

impl Session {
    pub(crate) fn expires(&self) -> u64 {
        (u64::from(self.expires[1]) << 32) | u64::from(self.expires[0])
    }

    fn set_expires(&mut self, ms: u64) {
        self.expires = [ms as u32, (ms >> 32) as u32];
    }

    pub(crate) fn timer(&self) -> TimerKind {
        TimerKind::from_bits(self.bits)
    }

    /// An IPv4 SYN of this session is held (§3.5.2.2).
    pub(crate) fn held(&self) -> bool {
        self.bits & HELD != 0
    }

    pub(crate) fn is_live(&self) -> bool {
        self.bits & LIVE != 0
    }
}

#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

/// The session table of one shard.
#[derive(Debug, Clone)]
pub(crate) struct Sessions {
    entries: Vec<Session>,
    free: u32,
    cap: usize,
    index: Index,
    lists: [List; 5],
    key: KeyedHash,
    /// Hash (entry, Z) only: address-dependent filtering.
    by_addr: bool,
}

fn hash(key: &KeyedHash, by_addr: bool, bib: u32, addr4: u32, port4: u16) -> u64 {
    let w = (u64::from(bib) << 32) | u64::from(addr4);
    if by_addr {
        key.words(&[w])
    } else {
        key.words(&[w, u64::from(port4)])
    }
}

impl Sessions {
    pub(crate) fn with_capacity(capacity: usize, key: KeyedHash, by_addr: bool) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
            free: NIL,
            cap: capacity,
            index: Index::with_capacity(capacity),
            lists: [List { head: NIL, tail: NIL }; 5],
            key,
            by_addr,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len() >= self.cap
    }

    pub(crate) fn get(&self, idx: u32) -> &Session {
        &self.entries[idx as usize]
    }

    fn hash_of(&self, s: &Session) -> u64 {
        hash(&self.key, self.by_addr, s.bib, s.addr4, s.port4)
    }

    /// The session (entry, Z, z).
    pub(crate) fn find(&self, bib: u32, addr4: u32, port4: u16) -> Option<u32> {
        let h = hash(&self.key, self.by_addr, bib, addr4, port4);
        self.index.find(h, |i| {
            let s = &self.entries[i as usize];
            s.addr4 == addr4 && s.port4 == port4 && s.bib == bib
        })
    }

    /// §3.5.1 address-dependent filtering: whether any session of BIB entry
    /// `bib` goes to `addr4`. Only valid when built with `by_addr`.
    pub(crate) fn any_to_addr(&self, bib: u32, addr4: u32) -> bool {
        debug_assert!(self.by_addr);
        let h = hash(&self.key, true, bib, addr4, 0);
        self.index
            .find(h, |i| {
                let s = &self.entries[i as usize];
                s.addr4 == addr4 && s.bib == bib
            })
            .is_some()
    }

    /// Adds a session that is not present; `None` when full.
    pub(crate) fn insert(
        &mut self,
        bib: u32,
        addr4: u32,
        port4: u16,
        state: u8,
        timer: TimerKind,
        expires: u64,
    ) -> Option<u32> {
        let mut s =
            Session { expires: [0; 2], bib, addr4, prev: NIL, next: NIL, port4, state, bits: LIVE | timer as u8 };
        s.set_expires(expires);
        let idx = if self.free != NIL {
            let idx = self.free;
            self.free = self.entries[idx as usize].next;
            self.entries[idx as usize] = s;
            idx
        } else if self.entries.len() < self.cap {
            self.entries.push(s);
            (self.entries.len() - 1) as u32
        } else {
            return None;
        };
        self.index.insert(self.hash_of(&s), idx);
        self.push_back(timer, idx);
        Some(idx)
    }

    /// Removes session `idx` and returns it.
    pub(crate) fn remove(&mut self, idx: u32) -> Session {
        let s = self.entries[idx as usize];
        debug_assert!(s.is_live());
        self.unlink(s.timer(), idx);
        let Sessions { entries, index, key, by_addr, .. } = self;
        let h = |i: u32| {
            let o = &entries[i as usize];
            hash(key, *by_addr, o.bib, o.addr4, o.port4)
        };
        index.remove(h(idx), idx, h);
        let slot = &mut self.entries[idx as usize];
        slot.bits = 0;
        slot.next = self.free;
        self.free = idx;
        s
    }

    pub(crate) fn set_state(&mut self, idx: u32, state: u8) {
        self.entries[idx as usize].state = state;
    }

    pub(crate) fn set_held(&mut self, idx: u32, held: bool) {
        let s = &mut self.entries[idx as usize];
        if held {
            s.bits |= HELD;
        } else {
            s.bits &= !HELD;
        }
    }

    /// Restarts the lifetime: kind `timer`, expiring at `expires` (which is
    /// not earlier than any other session on that kind).
    pub(crate) fn set_timer(&mut self, idx: u32, timer: TimerKind, expires: u64) {
        let old = self.entries[idx as usize].timer();
        self.unlink(old, idx);
        let s = &mut self.entries[idx as usize];
        s.bits = (s.bits & !KIND_MASK) | timer as u8;
        s.set_expires(expires);
        self.push_back(timer, idx);
    }

    /// Lowers every deadline on `timer` past `latest` to `latest` (a
    /// shorter lifetime configured at run time). `min` of a sorted list
    /// and a constant stays sorted, so the list invariant holds.
    pub(crate) fn clamp_deadlines(&mut self, timer: TimerKind, latest: u64) {
        let mut i = self.lists[timer as usize].head;
        let mut steps = 0;
        while i != NIL && steps <= self.entries.len() {
            let s = &mut self.entries[i as usize];
            if s.expires() > latest {
                s.set_expires(latest);
            }
            i = s.next;
            steps += 1;
        }
    }

    /// The session that expires first on `timer`.
    pub(crate) fn head(&self, timer: TimerKind) -> Option<(u32, u64)> {
        let h = self.lists[timer as usize].head;
        (h != NIL).then(|| (h, self.entries[h as usize].expires()))
    }

    fn push_back(&mut self, timer: TimerKind, idx: u32) {
        let list = &mut self.lists[timer as usize];
        let tail = list.tail;
        debug_assert!(tail == NIL || self.entries[tail as usize].expires() <= self.entries[idx as usize].expires());
        list.tail = idx;
        if tail == NIL {
            list.head = idx;
        } else {
            self.entries[tail as usize].next = idx;
        }
        let s = &mut self.entries[idx as usize];
        s.prev = tail;
        s.next = NIL;
    }

    fn unlink(&mut self, timer: TimerKind, idx: u32) {
        let Session { prev, next, .. } = self.entries[idx as usize];
        if prev == NIL {
            self.lists[timer as usize].head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[timer as usize].tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
    }

    /// Every live session with its number.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Session)> {
        self.entries.iter().enumerate().filter(|(_, s)| s.is_live()).map(|(i, s)| (i as u32, s))
    }

    /// The sessions on `timer`, in list order (invariant checks).
    pub(crate) fn list(&self, timer: TimerKind) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = self.lists[timer as usize].head;
        while i != NIL && out.len() <= self.entries.len() {
            out.push(i);
            i = self.entries[i as usize].next;
        }
        out
    }

    pub(crate) fn allocated_bytes(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<Session>() + self.index.allocated_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_28_bytes() {
        assert_eq!(core::mem::size_of::<Session>(), 28);
    }

    #[test]
    fn lists_stay_sorted_and_refresh_moves_to_tail() {
        let mut t = Sessions::with_capacity(4, KeyedHash::new(3), false);
        let a = t.insert(0, 1, 10, 0, TimerKind::Udp, 100).unwrap();
        let b = t.insert(0, 1, 11, 0, TimerKind::Udp, 200).unwrap();
        let c = t.insert(1, 2, 10, 0, TimerKind::Icmp, 150).unwrap();
        assert_eq!(t.head(TimerKind::Udp), Some((a, 100)));
        t.set_timer(a, TimerKind::Udp, 300);
        assert_eq!(t.list(TimerKind::Udp), [b, a]);
        t.set_timer(b, TimerKind::TcpTrans, 400);
        assert_eq!(t.list(TimerKind::Udp), [a]);
        assert_eq!(t.list(TimerKind::TcpTrans), [b]);
        assert_eq!(t.find(0, 1, 11), Some(b));
        assert_eq!(t.remove(a).port4, 10);
        assert_eq!(t.find(0, 1, 10), None);
        assert_eq!(t.list(TimerKind::Udp), Vec::<u32>::new());
        assert_eq!(t.find(1, 2, 10), Some(c));
        assert_eq!(t.len(), 2);
        let d = t.insert(5, 5, 5, 0, TimerKind::Udp, 500).unwrap();
        assert_eq!(d, a, "free slot reused");
    }

    #[test]
    fn rfc6146_3_5_1_adf_lookup_by_address() {
        let mut t = Sessions::with_capacity(4, KeyedHash::new(3), true);
        t.insert(7, 0x0808_0808, 53, 0, TimerKind::Udp, 1).unwrap();
        assert!(t.any_to_addr(7, 0x0808_0808));
        assert!(!t.any_to_addr(7, 0x0808_0404));
        assert!(!t.any_to_addr(8, 0x0808_0808));
        assert!(t.find(7, 0x0808_0808, 54).is_none());
        assert!(t.find(7, 0x0808_0808, 53).is_some());
    }
}
