//! RFC 6146 §3.4: fragments. Only the first fragment of a datagram carries
//! the transport header, yet every fragment needs the tuple. The RFC lets
//! a NAT64 "translate the fragments as they arrive, by storing
//! information that allows it to compute the 5-tuple for fragments other
//! than the first", and requires it to handle out-of-order fragments
//! while limiting "the amount of resources devoted" to them (FRAGMENT_MIN:
//! wait at least 2 seconds).
//!
//! [`FragmentCollector`] does exactly that, sans-IO:
//!
//! - the first fragment (ports known) records the ports of the datagram
//!   and is [`FragmentVerdict::Ready`] at once;
//! - a later fragment of a datagram whose ports are known is `Ready` too;
//! - a fragment that arrives before the first is copied and held
//!   ([`FragmentVerdict::Held`]); when the first arrives, the held ones
//!   are released with the ports ([`FragmentCollector::pop_released`]);
//! - limits: datagrams tracked, fragments held, bytes held; a datagram is
//!   forgotten when all its payload was seen or after `timeout`; every
//!   refusal and every loss is counted under a [`FragmentDrop`].
//!
//! One collector per worker (or behind the caller's lock): the key has
//! no port, so a worker that steers by 5-tuple must send fragments of one
//! datagram to the same collector.

use core::net::IpAddr;
use core::time::Duration;
use std::collections::{HashMap, VecDeque};

use crate::config::{ConfigError, FRAGMENT_MIN};
use crate::index::KeyedHash;
use crate::tuple::Timestamp;

/// What identifies a datagram (RFC 791 / RFC 8200 reassembly key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol / next header of the fragmented payload.
    pub proto: u8,
    /// Identification (16 bits in IPv4, 32 in IPv6).
    pub id: u32,
}

/// One fragment as the caller parsed it.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    /// Fragment offset in bytes (a multiple of 8).
    pub offset: u32,
    /// More Fragments flag.
    pub more: bool,
    /// Payload bytes after the IP (and Fragment) header.
    pub payload_len: u32,
    /// (source port, destination port) or ICMP identifier twice: present
    /// exactly when `offset == 0`.
    pub ports: Option<(u16, u16)>,
    /// The whole packet, copied if the fragment must be held.
    pub packet: &'a [u8],
}

/// What to do with a fragment now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragmentVerdict {
    /// The ports are known: build the tuple and go on.
    Ready {
        /// (source port, destination port) of the datagram.
        ports: (u16, u16),
    },
    /// Held until the first fragment arrives (or dropped at timeout).
    Held,
}

/// A held fragment released by the arrival of the first one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The datagram.
    pub key: FragmentKey,
    /// Its ports.
    pub ports: (u16, u16),
    /// The fragment as received.
    pub packet: Vec<u8>,
}

macro_rules! fragment_drops {
    ($($(#[doc = $doc:literal])* $name:ident => $label:literal,)*) => {
        /// Why a fragment was refused or lost: a closed set, one counter each
        /// in [`FragmentStats`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum FragmentDrop {
            $($(#[doc = $doc])* $name,)*
        }

        impl FragmentDrop {
            /// Every reason, in counter order.
            pub const ALL: &'static [FragmentDrop] = &[$(FragmentDrop::$name,)*];
            /// Number of reasons.
            pub const COUNT: usize = Self::ALL.len();

            /// Stable snake_case label.
            #[must_use]
            pub fn label(self) -> &'static str {
                match self { $(FragmentDrop::$name => $label,)* }
            }
        }
    };
}

fragment_drops! {
    /// `max_datagrams` datagrams are already tracked.
    TooManyDatagrams => "too_many_datagrams",
    /// `max_held_fragments` fragments are already held.
    TooManyHeldFragments => "too_many_held_fragments",
    /// Holding it would exceed `max_held_bytes`.
    TooManyHeldBytes => "too_many_held_bytes",
    /// Ports given with a non-zero offset, or missing at offset zero.
    Malformed => "malformed",
    /// Two different first fragments (different ports) for one datagram.
    ConflictingFirst => "conflicting_first",
    /// Held when its datagram timed out (counted once per fragment).
    Timeout => "timeout",
}

/// Counters of a collector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FragmentStats {
    /// Fragments that were `Ready` at once.
    pub ready: u64,
    /// Fragments held.
    pub held: u64,
    /// Held fragments released by their first fragment.
    pub released: u64,
    /// Datagrams forgotten after seeing all their payload.
    pub completed: u64,
    /// Datagrams forgotten at timeout.
    pub timed_out: u64,
    /// Refusals and losses by reason ([`FragmentDrop::ALL`] order).
    pub drops: [u64; FragmentDrop::COUNT],
}

impl FragmentStats {
    /// Count for `reason`.
    #[must_use]
    pub fn drops(&self, reason: FragmentDrop) -> u64 {
        self.drops[reason as usize]
    }
}

/// Limits of a [`FragmentCollector`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentConfig {
    /// How long a datagram is tracked after its first fragment of any kind
    /// (at least FRAGMENT_MIN, 2 s).
    pub timeout: Duration,
    /// Datagrams tracked at once.
    pub max_datagrams: usize,
    /// Fragments held (copied) at once.
    pub max_held_fragments: usize,
    /// Bytes held at once.
    pub max_held_bytes: usize,
    /// Hash seed (draw at random).
    pub seed: u64,
}

impl Default for FragmentConfig {
    fn default() -> Self {
        Self { timeout: FRAGMENT_MIN, max_datagrams: 4096, max_held_fragments: 512, max_held_bytes: 1 << 20, seed: 0 }
    }
}

#[derive(Debug, Clone)]
struct Datagram {
    ports: Option<(u16, u16)>,
    expires: u64,
    /// Payload bytes seen.
    seen: u64,
    /// Total payload length, once the last fragment was seen.
    total: Option<u64>,
    held: Vec<Vec<u8>>,
}

/// Collects fragments until their transport header is known (see the
/// module docs).
#[derive(Debug, Clone)]
pub struct FragmentCollector {
    cfg: FragmentConfig,
    datagrams: HashMap<FragmentKey, Datagram, KeyedHash>,
    fifo: VecDeque<(u64, FragmentKey)>,
    released: VecDeque<Released>,
    held_fragments: usize,
    held_bytes: usize,
    now: u64,
    stats: FragmentStats,
}

impl FragmentCollector {
    /// A collector with limits `cfg`.
    pub fn new(cfg: FragmentConfig) -> Result<Self, ConfigError> {
        if cfg.timeout < FRAGMENT_MIN {
            return Err(ConfigError::Fragments { what: "timeout below FRAGMENT_MIN (2 s, RFC 6146 §4)" });
        }
        if cfg.max_datagrams == 0 || cfg.max_held_fragments == 0 || cfg.max_held_bytes == 0 {
            return Err(ConfigError::Fragments { what: "a limit is 0: use at least 1" });
        }
        Ok(Self {
            cfg,
            datagrams: HashMap::with_hasher(KeyedHash::new(cfg.seed)),
            fifo: VecDeque::new(),
            released: VecDeque::new(),
            held_fragments: 0,
            held_bytes: 0,
            now: 0,
            stats: FragmentStats::default(),
        })
    }

    fn refuse<T>(&mut self, d: FragmentDrop) -> Result<T, FragmentDrop> {
        self.stats.drops[d as usize] += 1;
        Err(d)
    }

    /// §3.4: a fragment of datagram `key` arrived at `now`.
    pub fn push(
        &mut self,
        now: Timestamp,
        key: FragmentKey,
        frag: Fragment<'_>,
    ) -> Result<FragmentVerdict, FragmentDrop> {
        self.now = self.now.max(now.as_millis());
        if (frag.offset == 0) != frag.ports.is_some() {
            return self.refuse(FragmentDrop::Malformed);
        }
        if !self.datagrams.contains_key(&key) {
            if self.datagrams.len() >= self.cfg.max_datagrams {
                return self.refuse(FragmentDrop::TooManyDatagrams);
            }
            let expires = self.now.saturating_add(u64::try_from(self.cfg.timeout.as_millis()).unwrap_or(u64::MAX));
            self.datagrams.insert(key, Datagram { ports: None, expires, seen: 0, total: None, held: Vec::new() });
            self.fifo.push_back((expires, key));
        }
        let Some(d) = self.datagrams.get(&key) else {
            return self.refuse(FragmentDrop::TooManyDatagrams);
        };
        let known = d.ports;
        let verdict = match (known, frag.ports) {
            (Some(k), Some(p)) if k != p => return self.refuse(FragmentDrop::ConflictingFirst),
            (Some(ports), _) => FragmentVerdict::Ready { ports },
            (None, Some(ports)) => {
                let d = self.datagrams.get_mut(&key).expect("present");
                d.ports = Some(ports);
                let held = core::mem::take(&mut d.held);
                for packet in held {
                    self.held_fragments -= 1;
                    self.held_bytes -= packet.len();
                    self.stats.released += 1;
                    self.released.push_back(Released { key, ports, packet });
                }
                FragmentVerdict::Ready { ports }
            }
            (None, None) => {
                if self.held_fragments >= self.cfg.max_held_fragments {
                    return self.refuse(FragmentDrop::TooManyHeldFragments);
                }
                if self.held_bytes + frag.packet.len() > self.cfg.max_held_bytes {
                    return self.refuse(FragmentDrop::TooManyHeldBytes);
                }
                self.held_fragments += 1;
                self.held_bytes += frag.packet.len();
                self.datagrams.get_mut(&key).expect("present").held.push(frag.packet.to_vec());
                FragmentVerdict::Held
            }
        };
        match verdict {
            FragmentVerdict::Ready { .. } => self.stats.ready += 1,
            FragmentVerdict::Held => self.stats.held += 1,
        }
        let d = self.datagrams.get_mut(&key).expect("present");
        d.seen += u64::from(frag.payload_len);
        if !frag.more {
            d.total = Some(u64::from(frag.offset) + u64::from(frag.payload_len));
        }
        if d.ports.is_some() && d.held.is_empty() && d.total.is_some_and(|t| d.seen >= t) {
            self.datagrams.remove(&key);
            self.stats.completed += 1;
        }
        Ok(verdict)
    }

    /// The next fragment released by its first fragment, if any.
    pub fn pop_released(&mut self) -> Option<Released> {
        self.released.pop_front()
    }

    /// Forgets the datagrams whose time is up; their held fragments are
    /// dropped and counted ([`FragmentDrop::Timeout`]).
    pub fn expire(&mut self, now: Timestamp) {
        self.now = self.now.max(now.as_millis());
        while let Some(&(exp, key)) = self.fifo.front() {
            if exp > self.now {
                break;
            }
            self.fifo.pop_front();
            if self.datagrams.get(&key).is_some_and(|d| d.expires == exp) {
                let d = self.datagrams.remove(&key).expect("present");
                self.stats.timed_out += 1;
                for p in &d.held {
                    self.held_fragments -= 1;
                    self.held_bytes -= p.len();
                    self.stats.drops[FragmentDrop::Timeout as usize] += 1;
                }
            }
        }
        // Entries removed early leave stale FIFO slots: bound them.
        if self.fifo.len() > 2 * self.cfg.max_datagrams {
            let live = &self.datagrams;
            self.fifo.retain(|(exp, key)| live.get(key).is_some_and(|d| d.expires == *exp));
        }
    }

    /// When [`FragmentCollector::expire`] next has work.
    #[must_use]
    pub fn next_expiry(&self) -> Option<Timestamp> {
        self.fifo.front().map(|(e, _)| Timestamp::from_millis(*e))
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &FragmentStats {
        &self.stats
    }

    /// Datagrams tracked, fragments held, bytes held.
    #[must_use]
    pub fn usage(&self) -> (usize, usize, usize) {
        (self.datagrams.len(), self.held_fragments, self.held_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> FragmentKey {
        FragmentKey { src: "2001:db8::1".parse().unwrap(), dst: "64:ff9b::1.2.3.4".parse().unwrap(), proto: 17, id }
    }

    fn frag(offset: u32, more: bool, ports: Option<(u16, u16)>, packet: &[u8]) -> Fragment<'_> {
        Fragment { offset, more, payload_len: 8, ports, packet }
    }

    fn coll() -> FragmentCollector {
        FragmentCollector::new(FragmentConfig {
            max_datagrams: 2,
            max_held_fragments: 2,
            max_held_bytes: 100,
            ..FragmentConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn rfc6146_3_4_in_order_fragments_ready() {
        let mut c = coll();
        let t = Timestamp::ZERO;
        assert_eq!(
            c.push(t, key(1), frag(0, true, Some((5, 53)), b"a")),
            Ok(FragmentVerdict::Ready { ports: (5, 53) })
        );
        assert_eq!(c.push(t, key(1), frag(8, false, None, b"b")), Ok(FragmentVerdict::Ready { ports: (5, 53) }));
        assert_eq!(c.usage(), (0, 0, 0), "complete datagram forgotten");
        assert_eq!(c.stats().completed, 1);
    }

    #[test]
    fn rfc6146_3_4_out_of_order_held_then_released() {
        let mut c = coll();
        let t = Timestamp::ZERO;
        assert_eq!(c.push(t, key(1), frag(16, false, None, b"last")), Ok(FragmentVerdict::Held));
        assert_eq!(c.push(t, key(1), frag(8, true, None, b"mid")), Ok(FragmentVerdict::Held));
        assert_eq!(c.usage(), (1, 2, 7));
        assert_eq!(
            c.push(t, key(1), frag(0, true, Some((1, 2)), b"first")),
            Ok(FragmentVerdict::Ready { ports: (1, 2) })
        );
        let r: Vec<Released> = core::iter::from_fn(|| c.pop_released()).collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].packet, b"last");
        assert!(r.iter().all(|x| x.ports == (1, 2) && x.key == key(1)));
        assert_eq!(c.usage(), (0, 0, 0));
        assert_eq!(c.stats().released, 2);
    }

    #[test]
    fn rfc6146_3_4_fragment_limits_counted() {
        let mut c = coll();
        let t = Timestamp::ZERO;
        c.push(t, key(1), frag(8, true, None, &[0; 60])).unwrap();
        assert_eq!(c.push(t, key(1), frag(16, true, None, &[0; 60])), Err(FragmentDrop::TooManyHeldBytes));
        c.push(t, key(2), frag(8, true, None, b"x")).unwrap();
        assert_eq!(c.push(t, key(3), frag(8, true, None, b"x")), Err(FragmentDrop::TooManyDatagrams));
        assert_eq!(c.push(t, key(2), frag(16, true, None, b"y")), Err(FragmentDrop::TooManyHeldFragments));
        assert_eq!(c.push(t, key(1), frag(8, true, Some((1, 1)), b"x")), Err(FragmentDrop::Malformed));
        assert_eq!(c.push(t, key(1), frag(0, true, None, b"x")), Err(FragmentDrop::Malformed));
        let s = c.stats();
        assert_eq!(s.drops(FragmentDrop::TooManyHeldBytes), 1);
        assert_eq!(s.drops(FragmentDrop::TooManyDatagrams), 1);
        assert_eq!(s.drops(FragmentDrop::TooManyHeldFragments), 1);
        assert_eq!(s.drops(FragmentDrop::Malformed), 2);
    }

    #[test]
    fn rfc6146_4_fragment_min_timeout_drops_held() {
        let mut c = coll();
        c.push(Timestamp::ZERO, key(1), frag(8, true, None, b"abc")).unwrap();
        assert_eq!(c.next_expiry(), Some(Timestamp::from_millis(2000)));
        c.expire(Timestamp::from_millis(1999));
        assert_eq!(c.usage(), (1, 1, 3));
        c.expire(Timestamp::from_millis(2000));
        assert_eq!(c.usage(), (0, 0, 0));
        assert_eq!(c.stats().drops(FragmentDrop::Timeout), 1);
        assert_eq!(c.stats().timed_out, 1);
        // The first fragment now starts a new datagram.
        assert!(matches!(
            c.push(Timestamp::from_secs(3), key(1), frag(0, true, Some((1, 2)), b"f")),
            Ok(FragmentVerdict::Ready { .. })
        ));
    }

    #[test]
    fn conflicting_first_fragments() {
        let mut c = coll();
        c.push(Timestamp::ZERO, key(1), frag(0, true, Some((1, 2)), b"f")).unwrap();
        assert_eq!(
            c.push(Timestamp::ZERO, key(1), frag(0, true, Some((1, 3)), b"f")),
            Err(FragmentDrop::ConflictingFirst)
        );
    }

    #[test]
    fn config_checked() {
        assert!(
            FragmentCollector::new(FragmentConfig { timeout: Duration::from_secs(1), ..Default::default() }).is_err()
        );
        assert!(FragmentCollector::new(FragmentConfig { max_datagrams: 0, ..Default::default() }).is_err());
    }
}
