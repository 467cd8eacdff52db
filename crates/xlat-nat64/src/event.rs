//! Events the state hands to the caller: the mapping log of RFC 6888 §4
//! (REQ-12: "log ... the creation and deletion of address/port mappings":
//! time, IPv6 source transport address, pool4 transport address,
//! protocol), and the packets the caller must originate or forget.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};
use std::collections::VecDeque;

use crate::tuple::{Proto, Timestamp, Tuple4, Tuple6};
use crate::verdict::IcmpError;

/// One BIB entry as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mapping {
    /// When it was created or removed.
    pub time: Timestamp,
    /// Protocol.
    pub proto: Proto,
    /// The client's IPv6 address.
    pub v6: Ipv6Addr,
    /// The client's port (ICMP: identifier).
    pub v6_port: u16,
    /// The pool4 address.
    pub v4: Ipv4Addr,
    /// The pool4 port (ICMP: identifier).
    pub v4_port: u16,
    /// A static entry (configuration), not a dynamic one.
    pub is_static: bool,
}

impl fmt::Display for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t={}ms {} [{}]:{} <-> {}:{}{}",
            self.time.as_millis(),
            self.proto,
            self.v6,
            self.v6_port,
            self.v4,
            self.v4_port,
            if self.is_static { " static" } else { "" }
        )
    }
}

/// Something the caller must log or do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A BIB entry was created (RFC 6888 §4 mapping log).
    BibCreated(Mapping),
    /// A BIB entry was removed: its last session ended.
    BibRemoved(Mapping),
    /// §3.5.2.2: a held IPv4 SYN timed out. Send `error` (ICMPv4 port
    /// unreachable) toward its source, quoting the stored packet, then
    /// forget the packet.
    HeldSynExpired {
        /// The held packet's tuple (the caller's key).
        tuple: Tuple4,
        /// The error to send.
        error: IcmpError,
    },
    /// A held IPv4 SYN is no longer needed (simultaneous open completed, or
    /// the session was evicted): forget the stored packet, send nothing.
    HeldSynReleased {
        /// The held packet's tuple.
        tuple: Tuple4,
    },
    /// §3.5.2.2: an ESTABLISHED session reached its idle timeout and moved
    /// to TRANS. The NAT64 SHOULD probe an endpoint with an empty TCP
    /// segment (only ACK set, sequence and acknowledgement numbers 0).
    /// `v6` goes from the NAT64 toward the IPv6 client, `v4` toward the
    /// IPv4 server; probing one of them is enough.
    TcpProbe {
        /// The session seen from the IPv6 side (toward the client).
        v6: Tuple6,
        /// The session seen from the IPv4 side (toward the server).
        v4: Tuple4,
    },
}

/// A bounded queue of events; past the bound events are counted as lost.
#[derive(Debug, Clone)]
pub(crate) struct EventQueue {
    q: VecDeque<Event>,
    max: usize,
    pub(crate) lost: u64,
}

impl EventQueue {
    pub(crate) fn new(max: usize) -> Self {
        Self { q: VecDeque::new(), max, lost: 0 }
    }

    pub(crate) fn push(&mut self, e: Event) {
        if self.q.len() < self.max {
            self.q.push_back(e);
        } else {
            self.lost += 1;
        }
    }

    pub(crate) fn pop(&mut self) -> Option<Event> {
        self.q.pop_front()
    }

    pub(crate) fn drain(&mut self) -> std::collections::vec_deque::Drain<'_, Event> {
        self.q.drain(..)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }

    pub(crate) fn allocated_bytes(&self) -> usize {
        self.q.capacity() * core::mem::size_of::<Event>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6888_4_mapping_log_line() {
        let m = Mapping {
            time: Timestamp::from_millis(1500),
            proto: Proto::Udp,
            v6: "2001:db8::1".parse().unwrap(),
            v6_port: 5000,
            v4: Ipv4Addr::new(192, 0, 2, 1),
            v4_port: 40000,
            is_static: false,
        };
        assert_eq!(m.to_string(), "t=1500ms udp [2001:db8::1]:5000 <-> 192.0.2.1:40000");
    }

    #[test]
    fn queue_is_bounded_and_counts_losses() {
        let mut q = EventQueue::new(1);
        let e = Event::HeldSynReleased {
            tuple: Tuple4 {
                src: Ipv4Addr::LOCALHOST,
                src_port: 1,
                dst: Ipv4Addr::LOCALHOST,
                dst_port: 2,
                proto: Proto::Tcp,
            },
        };
        q.push(e);
        q.push(e);
        assert_eq!((q.len(), q.lost), (1, 1));
        assert_eq!(q.pop(), Some(e));
        assert_eq!(q.pop(), None);
    }
}
