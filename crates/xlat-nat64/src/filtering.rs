//! RFC 6146 §3.5 "Filtering and Updating Binding and Session Information"
//! and §3.6 "Computation of the Outgoing Tuple".
//!
//! - §3.5 preliminaries: IPv6 sources inside pool6 are silently dropped
//!   (hairpinning loops); only IPv6 destinations inside pool6 and IPv4
//!   destinations inside pool4 are processed.
//! - §3.5.1 UDP and §3.5.3 ICMP queries: find or create the BIB entry
//!   (§3.5.1.1 allocation) and the session, (re)start the lifetime.
//! - §3.5.2 TCP: CLOSED is handled here (IPv6 SYN creates V6 INIT; IPv4 SYN
//!   creates V4 INIT, held or not depending on filtering; other segments
//!   pass only if a BIB entry exists); the other states go through
//!   [`crate::tcp_fsm`].
//! - Filtering of IPv4 packets without a session: endpoint-independent
//!   (any peer) or address-dependent (a session toward the peer's address
//!   must exist). Refused UDP / ICMP: Destination Unreachable code 13;
//!   refused TCP SYN: held for TCP_INCOMING_SYN, then ICMP port unreachable
//!   unless the IPv6 side opens toward it (simultaneous open).
//! - Policy and limits (this implementation's default deny, RFC 6888
//!   REQ-4): see [`crate::limits`].

use core::net::Ipv4Addr;

use crate::config::Filtering;
use crate::event::Event;
use crate::nat64::Nat64;
use crate::session::TimerKind;
use crate::tcp_fsm::{self, Dir, Lifetime, TcpState};
use crate::tuple::{pack6, unpack6, Proto, TcpFlags, Tuple4, Tuple6};
use crate::verdict::{Nat64Drop, V4Verdict};

/// The port stored in a session for the peer: ICMP sessions have none.
fn session_port(proto: Proto, port: u16) -> u16 {
    if proto == Proto::Icmp {
        0
    } else {
        port
    }
}

impl Nat64 {
    /// §3.5 + §3.6 for an IPv6 packet: the outgoing IPv4 tuple, and whether
    /// its destination is a pool4 address (§3.8 hairpinning: the caller
    /// continues with [`Nat64::hairpin_v4`] on the shard owning it).
    pub(crate) fn filter_v6(&mut self, t6: &Tuple6, flags: TcpFlags) -> Result<(Tuple4, bool), Nat64Drop> {
        if self.pool6.contains(&t6.src) {
            return Err(Nat64Drop::SourceInPool6);
        }
        let Some(z) = self.pool6.extract(&t6.dst) else {
            return Err(Nat64Drop::DestinationNotInPool6);
        };
        let hairpin = self.pool4.index_of(z).is_some();
        if !hairpin && !self.policy.v4_peer_allowed(z) {
            return Err(Nat64Drop::DestinationNotGlobal);
        }
        let proto = t6.proto;
        let addr6 = pack6(t6.src);
        let (z4, zport) = (u32::from(z), session_port(proto, t6.dst_port));
        let mut bib = self.bib.find6(proto, &addr6, t6.src_port);
        if let Some(b) = bib {
            if let Some(s) = self.sessions.find(b, z4, zport) {
                self.update_session(s, Dir::V6, proto, flags)?;
                return Ok((self.outgoing4(b, z, t6.dst_port), hairpin));
            }
        }
        if proto == Proto::Tcp && !flags.syn() {
            // §3.5.2.2 CLOSED, any other packet: translated if a BIB entry
            // exists, else silently discarded.
            return match bib {
                Some(b) => Ok((self.outgoing4(b, z, t6.dst_port), hairpin)),
                None => Err(Nat64Drop::TcpNoBib),
            };
        }
        // A new session: UDP, ICMP query, or TCP SYN (CLOSED -> V6 INIT).
        if !self.policy.client_allowed(t6.src) {
            return Err(Nat64Drop::ClientNotAllowed);
        }
        if self.groups.count(&addr6) >= self.max_per_client {
            return Err(Nat64Drop::ClientSessionLimit);
        }
        if self.make_room(Nat64Drop::SessionTableFull)? {
            bib = self.bib.find6(proto, &addr6, t6.src_port);
        }
        let b = match bib {
            Some(b) => b,
            None => self.create_bib(proto, addr6, t6.src_port)?,
        };
        let (state, timer) = match proto {
            Proto::Tcp => (TcpState::V6Init as u8, TimerKind::TcpTrans),
            Proto::Udp => (0, TimerKind::Udp),
            Proto::Icmp => (0, TimerKind::Icmp),
        };
        self.create_session(b, z4, zport, state, timer, false);
        if proto == Proto::Tcp {
            self.release_type1(b, z, zport);
        }
        Ok((self.outgoing4(b, z, t6.dst_port), hairpin))
    }

    /// §3.5 + §3.6 for an IPv4 packet. `hairpin`: the packet is the §3.8
    /// re-injection of an IPv6 packet (no SYN is ever held then, and drops
    /// get the hairpin reasons, whose ICMP errors go to the IPv6 sender).
    pub(crate) fn filter_v4(&mut self, t4: &Tuple4, flags: TcpFlags, hairpin: bool) -> Result<V4Verdict, Nat64Drop> {
        let proto = t4.proto;
        let syn = proto == Proto::Tcp && flags.syn();
        if self.pool4.lookup(t4.dst, proto, t4.dst_port).is_none() {
            return Err(if hairpin { Nat64Drop::HairpinNoBib } else { Nat64Drop::DestinationNotInPool4 });
        }
        let (w, wport) = (t4.src, session_port(proto, t4.src_port));
        let w4 = u32::from(w);
        let Some(mut b) = self.bib.find4(proto, u32::from(t4.dst), t4.dst_port) else {
            return if hairpin {
                Err(Nat64Drop::HairpinNoBib)
            } else if proto != Proto::Tcp {
                Err(Nat64Drop::NoBib)
            } else if !syn {
                Err(Nat64Drop::TcpNoBib)
            } else if self.drop_external_tcp {
                Err(Nat64Drop::ExternalTcpRefused)
            } else if !self.policy.v4_peer_allowed(w) {
                Err(Nat64Drop::PeerNotGlobal)
            } else {
                self.hold_type1(t4)
            };
        };
        if let Some(s) = self.sessions.find(b, w4, wport) {
            self.update_session(s, Dir::V4, proto, flags)?;
            return Ok(V4Verdict::Translate(self.outgoing6(b, w, t4.src_port)));
        }
        if !hairpin && !self.policy.v4_peer_allowed(w) {
            return Err(Nat64Drop::PeerNotGlobal);
        }
        let allowed = match self.filtering {
            Filtering::EndpointIndependent => true,
            Filtering::AddressDependent => self.sessions.any_to_addr(b, w4),
        };
        let filtered = if hairpin { Nat64Drop::HairpinFiltered } else { Nat64Drop::FilteredAdf };
        if proto == Proto::Tcp && !syn {
            // §3.5.2.2 CLOSED, any other packet.
            return if allowed { Ok(V4Verdict::Translate(self.outgoing6(b, w, t4.src_port))) } else { Err(filtered) };
        }
        if syn && !hairpin && self.drop_external_tcp {
            return Err(Nat64Drop::ExternalTcpRefused);
        }
        if !allowed && (!syn || hairpin) {
            return Err(filtered);
        }
        // A new session: UDP / ICMP allowed by filtering, or a TCP SYN
        // (CLOSED -> V4 INIT), held when filtering refuses it.
        let hold = !allowed;
        if hold && self.held.count >= self.held.max {
            return Err(Nat64Drop::HeldSynLimit);
        }
        let (full, client_limit) = if hairpin {
            (Nat64Drop::SessionTableFull, Nat64Drop::ClientSessionLimit)
        } else {
            (Nat64Drop::InboundSessionLimit, Nat64Drop::InboundSessionLimit)
        };
        if self.groups.count(&self.bib.get(b).addr6) >= self.max_per_client {
            return Err(client_limit);
        }
        if self.make_room(full)? {
            b = self.bib.find4(proto, u32::from(t4.dst), t4.dst_port).ok_or(full)?;
        }
        let (state, timer) = match proto {
            Proto::Tcp if hold => (TcpState::V4Init as u8, TimerKind::TcpSyn),
            Proto::Tcp => (TcpState::V4Init as u8, TimerKind::TcpTrans),
            Proto::Udp => (0, TimerKind::Udp),
            Proto::Icmp => (0, TimerKind::Icmp),
        };
        self.create_session(b, w4, wport, state, timer, hold);
        if hold {
            return Ok(V4Verdict::HoldSyn);
        }
        Ok(V4Verdict::Translate(self.outgoing6(b, w, t4.src_port)))
    }

    /// §3.5.1 / §3.5.3: restart the lifetime; §3.5.2.2: run the TCP state
    /// machine.
    fn update_session(&mut self, s: u32, dir: Dir, proto: Proto, flags: TcpFlags) -> Result<(), Nat64Drop> {
        match proto {
            Proto::Udp => self.refresh(s, TimerKind::Udp),
            Proto::Icmp => self.refresh(s, TimerKind::Icmp),
            Proto::Tcp => {
                let sess = *self.sessions.get(s);
                let state = TcpState::from_u8(sess.state).unwrap_or(TcpState::Trans);
                if sess.held() {
                    match dir {
                        // Jool's lesson: a retransmitted IPv4 SYN must not
                        // authorize itself while its first copy is held.
                        Dir::V4 => return Err(Nat64Drop::HeldSynPending),
                        Dir::V6 if flags.syn() => {
                            // Simultaneous open: the held SYN is not needed.
                            self.sessions.set_held(s, false);
                            self.held.count -= 1;
                            let tuple = self.session_tuples(s).1.reversed();
                            self.events.push(Event::HeldSynReleased { tuple });
                        }
                        Dir::V6 => {}
                    }
                }
                let (next, life) = tcp_fsm::on_packet(state, dir, flags, self.rst_during_fin);
                if next != state {
                    self.sessions.set_state(s, next as u8);
                }
                match life {
                    Lifetime::Keep => {}
                    Lifetime::Est => self.refresh(s, TimerKind::TcpEst),
                    Lifetime::Trans => self.refresh(s, TimerKind::TcpTrans),
                }
            }
        }
        Ok(())
    }

    /// §3.6 IPv6 -> IPv4: source (T,t), destination (Z,z); ICMP: both
    /// identifiers t.
    fn outgoing4(&self, b: u32, z: Ipv4Addr, dst_port: u16) -> Tuple4 {
        let e = self.bib.get(b);
        let proto = e.proto();
        let dst_port = if proto == Proto::Icmp { e.port4 } else { dst_port };
        Tuple4 { src: Ipv4Addr::from(e.addr4), src_port: e.port4, dst: z, dst_port, proto }
    }

    /// §3.6 IPv4 -> IPv6: source (Y',y) = (pool6 + W, w), destination
    /// (X',x); ICMP: both identifiers x.
    fn outgoing6(&self, b: u32, w: Ipv4Addr, src_port: u16) -> Tuple6 {
        let e = self.bib.get(b);
        let proto = e.proto();
        let src_port = if proto == Proto::Icmp { e.port6 } else { src_port };
        Tuple6 { src: self.pool6.embed(w), src_port, dst: unpack6(e.addr6), dst_port: e.port6, proto }
    }

    /// §3.5.2.2 CLOSED, IPv4 SYN toward a transport address no BIB entry
    /// holds: held, answered with ICMP port unreachable after
    /// TCP_INCOMING_SYN unless the IPv6 side opens toward it.
    fn hold_type1(&mut self, t4: &Tuple4) -> Result<V4Verdict, Nat64Drop> {
        if self.held.type1.contains_key(t4) {
            return Err(Nat64Drop::HeldSynPending);
        }
        if self.held.count >= self.held.max {
            return Err(Nat64Drop::HeldSynLimit);
        }
        let deadline = self.deadline(TimerKind::TcpSyn);
        self.held.type1.insert(*t4, deadline);
        self.held.fifo.push_back((deadline, *t4));
        self.held.count += 1;
        Ok(V4Verdict::HoldSyn)
    }

    /// A new IPv6-initiated TCP session of entry `b` toward (Z,z): a held
    /// type 1 SYN from (Z,z) to the entry's (T,t) was a simultaneous open.
    fn release_type1(&mut self, b: u32, z: Ipv4Addr, zport: u16) {
        if self.held.type1.is_empty() {
            return;
        }
        let e = self.bib.get(b);
        let t = Tuple4 { src: z, src_port: zport, dst: Ipv4Addr::from(e.addr4), dst_port: e.port4, proto: Proto::Tcp };
        if self.held.type1.remove(&t).is_some() {
            self.held.count -= 1;
            self.events.push(Event::HeldSynReleased { tuple: t });
        }
    }
}
