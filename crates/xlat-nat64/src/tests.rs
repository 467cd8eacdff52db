//! Behaviour tests, one per RFC 6146 §3 rule (named after it), with a fake
//! clock; the memory budget; property tests over random operation
//! sequences.

use core::net::{Ipv4Addr, Ipv6Addr};
use core::time::Duration;

use xlat_core::Family;

use crate::config::tests::base;
use crate::*;

const SYN: TcpFlags = TcpFlags::SYN;
const ACK: TcpFlags = TcpFlags::ACK;
const FIN: TcpFlags = TcpFlags::FIN;
const RST: TcpFlags = TcpFlags::RST;
const NONE: TcpFlags = TcpFlags::NONE;
const POOL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn secs(s: u64) -> Timestamp {
    Timestamp::from_secs(s)
}

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn server(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(8, 8, 8, i)
}

fn embed(v4: Ipv4Addr) -> Ipv6Addr {
    base().pool6.embed(v4)
}

fn up(client: &str, sport: u16, dst: Ipv4Addr, dport: u16, proto: Proto) -> Tuple6 {
    Tuple6 { src: a6(client), src_port: sport, dst: embed(dst), dst_port: dport, proto }
}

fn down(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, proto: Proto) -> Tuple4 {
    Tuple4 { src, src_port: sport, dst, dst_port: dport, proto }
}

fn cfg() -> Nat64Config {
    let mut c = base();
    c.seed = 1;
    c
}

fn nat(c: &Nat64Config) -> Nat64 {
    Nat64::new(c).unwrap()
}

#[track_caller]
fn out4(v: Result<V6Verdict, Nat64Drop>) -> Tuple4 {
    match v {
        Ok(V6Verdict::Translate(t)) => t,
        other => panic!("expected Translate, got {other:?}"),
    }
}

#[track_caller]
fn out6(v: Result<V4Verdict, Nat64Drop>) -> Tuple6 {
    match v {
        Ok(V4Verdict::Translate(t)) => t,
        other => panic!("expected Translate, got {other:?}"),
    }
}

#[track_caller]
fn hairpin(v: Result<V6Verdict, Nat64Drop>) -> Tuple6 {
    match v {
        Ok(V6Verdict::Hairpin(t)) => t,
        other => panic!("expected Hairpin, got {other:?}"),
    }
}

fn events(n: &mut Nat64, now: Timestamp) -> Vec<Event> {
    n.expire(now).collect()
}

fn only_session(n: &Nat64) -> SessionInfo {
    let all: Vec<_> = n.sessions().collect();
    assert_eq!(all.len(), 1, "{all:?}");
    all[0]
}

#[track_caller]
fn ok(n: &Nat64) {
    n.check_invariants().unwrap();
}

// ----- §3.5 preliminaries ------------------------------------------------------

#[test]
fn rfc6146_3_5_source_in_pool6_silently_dropped() {
    let mut n = nat(&cfg());
    let mut tu = up("2001:db8::1", 1000, server(8), 53, Proto::Udp);
    tu.src = embed(server(1));
    assert_eq!(n.v6_to_v4(t(0), tu, NONE), Err(Nat64Drop::SourceInPool6));
    assert_eq!(Nat64Drop::SourceInPool6.icmp_error(), None);
    assert_eq!(n.stats().drops(Nat64Drop::SourceInPool6), 1);
}

#[test]
fn rfc6146_3_5_only_pool6_and_pool4_destinations_processed() {
    let mut n = nat(&cfg());
    let mut tu = up("2001:db8::1", 1000, server(8), 53, Proto::Udp);
    tu.dst = a6("2001:db8:ffff::1");
    assert_eq!(n.v6_to_v4(t(0), tu, NONE), Err(Nat64Drop::DestinationNotInPool6));
    let td = down(server(8), 53, Ipv4Addr::new(192, 0, 2, 99), 2000, Proto::Udp);
    assert_eq!(n.v4_to_v6(t(0), td, NONE), Err(Nat64Drop::DestinationNotInPool4));
    // pool4 address, but outside the UDP range (1024-65535).
    let td = down(server(8), 53, POOL, 80, Proto::Udp);
    assert_eq!(n.v4_to_v6(t(0), td, NONE), Err(Nat64Drop::DestinationNotInPool4));
    assert_eq!(n.stats().total_sessions(), 0);
}

// ----- §3.5.1 UDP ----------------------------------------------------------------

#[test]
fn rfc6146_3_5_1_v6_udp_creates_bib_and_session() {
    let mut n = nat(&cfg());
    let q = up("2001:db8::1", 5000, server(8), 53, Proto::Udp);
    let o = out4(n.v6_to_v4(t(10), q, NONE));
    assert_eq!((o.src, o.dst, o.dst_port, o.proto), (POOL, server(8), 53, Proto::Udp));
    assert!(o.src_port >= 1024 && o.src_port.is_multiple_of(2));
    let s = only_session(&n);
    assert_eq!(s.v6, q);
    assert_eq!(s.v4, o);
    assert_eq!(s.tcp_state, None);
    assert_eq!(s.expires, t(10 + 300_000));
    let st = n.stats();
    assert_eq!((st.sessions(Proto::Udp), st.bibs(Proto::Udp), st.bib_created), (1, 1, 1));
    match n.poll_event() {
        Some(Event::BibCreated(m)) => {
            assert_eq!((m.v6, m.v6_port, m.v4, m.v4_port, m.proto), (q.src, 5000, POOL, o.src_port, Proto::Udp));
            assert_eq!(m.time, t(10));
        }
        e => panic!("{e:?}"),
    }
    // The reply.
    let back = out6(n.v4_to_v6(t(20), o.reversed(), NONE));
    assert_eq!(back, q.reversed());
    ok(&n);
}

#[test]
fn rfc6146_3_5_1_endpoint_independent_mapping() {
    let mut n = nat(&cfg());
    let a = out4(n.v6_to_v4(t(0), up("2001:db8::1", 5000, server(8), 53, Proto::Udp), NONE));
    let b = out4(n.v6_to_v4(t(0), up("2001:db8::1", 5000, server(9), 123, Proto::Udp), NONE));
    assert_eq!((a.src, a.src_port), (b.src, b.src_port), "same (X',x), same (T,t)");
    assert_eq!(n.stats().bibs(Proto::Udp), 1);
    assert_eq!(n.stats().sessions(Proto::Udp), 2);
    ok(&n);
}

#[test]
fn rfc6146_3_5_1_eif_lets_any_peer_in() {
    let mut n = nat(&cfg());
    let o = out4(n.v6_to_v4(t(0), up("2001:db8::1", 5000, server(8), 3478, Proto::Udp), NONE));
    let from_other = down(server(77), 9999, o.src, o.src_port, Proto::Udp);
    let back = out6(n.v4_to_v6(t(1), from_other, NONE));
    assert_eq!((back.src, back.src_port), (embed(server(77)), 9999));
    assert_eq!((back.dst, back.dst_port), (a6("2001:db8::1"), 5000));
    assert_eq!(n.stats().sessions(Proto::Udp), 2, "the peer got a session");
    ok(&n);
}

#[test]
fn rfc6146_3_5_1_adf_refuses_unknown_address_with_code_13() {
    let mut c = cfg();
    c.filtering = Filtering::AddressDependent;
    let mut n = nat(&c);
    let o = out4(n.v6_to_v4(t(0), up("2001:db8::1", 5000, server(8), 3478, Proto::Udp), NONE));
    let stranger = down(server(77), 3478, o.src, o.src_port, Proto::Udp);
    assert_eq!(n.v4_to_v6(t(1), stranger, NONE), Err(Nat64Drop::FilteredAdf));
    let e = Nat64Drop::FilteredAdf.icmp_error().unwrap();
    assert_eq!((e.family, e.icmp_type, e.code), (Family::V4, 3, 13));
    // Same address, another port: address-dependent lets it in.
    let other_port = down(server(8), 3479, o.src, o.src_port, Proto::Udp);
    assert_eq!(out6(n.v4_to_v6(t(2), other_port, NONE)).src_port, 3479);
    assert_eq!(n.stats().sessions(Proto::Udp), 2);
    assert_eq!(n.stats().drops(Nat64Drop::FilteredAdf), 1);
    ok(&n);
}

#[test]
fn rfc6146_3_5_1_v4_without_bib_is_host_unreachable() {
    let mut n = nat(&cfg());
    let r = n.v4_to_v6(t(0), down(server(8), 53, POOL, 4000, Proto::Udp), NONE);
    assert_eq!(r, Err(Nat64Drop::NoBib));
    assert_eq!(Nat64Drop::NoBib.icmp_error(), Some(IcmpError::V4_HOST_UNREACHABLE));
}

#[test]
fn rfc6146_3_5_1_udp_lifetime_default_5_min_and_bib_removed() {
    let mut n = nat(&cfg());
    let q = up("2001:db8::1", 5000, server(8), 53, Proto::Udp);
    let o = out4(n.v6_to_v4(t(0), q, NONE));
    n.poll_event();
    assert_eq!(n.next_expiry(), Some(secs(300)));
    assert!(events(&mut n, t(299_999)).is_empty());
    assert_eq!(n.stats().total_sessions(), 1);
    let ev = events(&mut n, secs(300));
    assert!(matches!(ev[..], [Event::BibRemoved(m)] if m.v4_port == o.src_port && m.time == secs(300)), "{ev:?}");
    assert_eq!(n.stats().total_sessions(), 0);
    assert_eq!(n.stats().bibs(Proto::Udp), 0);
    assert_eq!(n.stats().sessions_expired, 1);
    assert_eq!(n.next_expiry(), None);
    assert_eq!(n.v4_to_v6(secs(301), o.reversed(), NONE), Err(Nat64Drop::NoBib));
    ok(&n);
}

#[test]
fn rfc6146_3_5_1_udp_lifetime_refreshed_by_both_directions() {
    let mut n = nat(&cfg());
    let q = up("2001:db8::1", 5000, server(8), 53, Proto::Udp);
    let o = out4(n.v6_to_v4(t(0), q, NONE));
    n.poll_event();
    n.v6_to_v4(secs(200), q, NONE).unwrap();
    assert_eq!(only_session(&n).expires, secs(500));
    n.v4_to_v6(secs(400), o.reversed(), NONE).unwrap();
    assert_eq!(only_session(&n).expires, secs(700));
    assert!(events(&mut n, secs(699)).is_empty());
    assert_eq!(events(&mut n, secs(700)).len(), 1);
}

#[test]
fn rfc6146_4_timers_are_knobs() {
    let mut c = cfg();
    c.timeouts.udp = Duration::from_secs(600);
    c.timeouts.icmp = Duration::from_secs(10);
    let mut n = nat(&c);
    n.v6_to_v4(t(0), up("2001:db8::1", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
    n.v6_to_v4(t(0), up("2001:db8::1", 7, server(8), 7, Proto::Icmp), NONE).unwrap();
    let mut exp: Vec<_> = n.sessions().map(|s| s.expires).collect();
    exp.sort();
    assert_eq!(exp, [secs(10), secs(600)]);
}

#[test]
fn time_going_back_is_clamped() {
    let mut n = nat(&cfg());
    n.v6_to_v4(secs(100), up("2001:db8::1", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
    n.v6_to_v4(secs(50), up("2001:db8::1", 5002, server(8), 53, Proto::Udp), NONE).unwrap();
    assert!(n.sessions().all(|s| s.expires == secs(400)));
    ok(&n);
}

// ----- §3.5.1.1 allocation ---------------------------------------------------------

#[test]
fn rfc6146_3_5_1_1_parity_and_range_preserved() {
    let mut c = cfg();
    c.pool4[0].udp = Some(PortRange::new(0, 65535));
    let mut n = nat(&c);
    for (i, sport) in [53u16, 80, 123, 1023, 1024, 1025, 5000, 5001, 65534, 65535].into_iter().enumerate() {
        let o = out4(n.v6_to_v4(t(0), up(&format!("2001:db8::{}", i + 1), sport, server(8), 53, Proto::Udp), NONE));
        assert_eq!(o.src_port % 2, sport % 2, "{sport} -> {}", o.src_port);
        assert_eq!(o.src_port < 1024, sport < 1024, "{sport} -> {}", o.src_port);
    }
    ok(&n);
}

#[test]
fn rfc6146_3_5_1_1_ports_random_not_sequential() {
    let mut n = nat(&cfg());
    let ports: Vec<u16> = (0..40)
        .map(|i| out4(n.v6_to_v4(t(0), up("2001:db8::1", 2000 + 2 * i, server(8), 80, Proto::Tcp), SYN)).src_port)
        .collect();
    let close = ports.windows(2).filter(|w| w[0].abs_diff(w[1]) <= 2).count();
    assert!(close <= 2, "{ports:?}");
}

#[test]
fn rfc6146_3_5_1_1_paired_address_pooling() {
    let mut c = cfg();
    c.pool4 = (1..=4).map(|i| Pool4Entry::new(Ipv4Addr::new(192, 0, 2, i))).collect();
    let mut n = nat(&c);
    for client in 1..=8 {
        let addrs: Vec<Ipv4Addr> = (0..6)
            .map(|p| {
                let q = up(&format!("2001:db8::{client}"), 3000 + p, server(8), 53, Proto::Udp);
                out4(n.v6_to_v4(t(0), q, NONE)).src
            })
            .collect();
        assert!(addrs.iter().all(|a| *a == addrs[0]), "client {client}: {addrs:?}");
    }
    let used: std::collections::BTreeSet<Ipv4Addr> = n.bib_entries().map(|m| m.v4).collect();
    assert!(used.len() > 1, "clients spread over the pool");
}

#[test]
fn rfc6146_3_5_1_1_exhaustion_is_address_unreachable() {
    let mut c = cfg();
    c.pool4[0].udp = Some(PortRange::new(2000, 2001));
    let mut n = nat(&c);
    n.v6_to_v4(t(0), up("2001:db8::1", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
    n.v6_to_v4(t(0), up("2001:db8::2", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
    let r = n.v6_to_v4(t(0), up("2001:db8::3", 5000, server(8), 53, Proto::Udp), NONE);
    assert_eq!(r, Err(Nat64Drop::PortsExhausted));
    let e = Nat64Drop::PortsExhausted.icmp_error().unwrap();
    assert_eq!(
        (e.family, e.icmp_type, e.code),
        (Family::V6, 1, 3),
        "ICMPv6 Destination Unreachable, Address Unreachable"
    );
    // Existing mappings still work; TCP has its own ports.
    n.v6_to_v4(t(1), up("2001:db8::1", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
    n.v6_to_v4(t(1), up("2001:db8::3", 5000, server(8), 80, Proto::Tcp), SYN).unwrap();
    ok(&n);
}

#[test]
fn rfc6146_3_5_1_1_same_transport_address_in_tcp_and_udp_bibs() {
    let mut c = cfg();
    c.pool4[0].udp = Some(PortRange::new(2000, 2000));
    c.pool4[0].tcp = Some(PortRange::new(2000, 2000));
    let mut n = nat(&c);
    let a = out4(n.v6_to_v4(t(0), up("2001:db8::1", 5000, server(8), 53, Proto::Udp), NONE));
    let b = out4(n.v6_to_v4(t(0), up("2001:db8::2", 5000, server(8), 80, Proto::Tcp), SYN));
    assert_eq!((a.src, a.src_port), (b.src, b.src_port));
    ok(&n);
}

// ----- §3.5.2 TCP -----------------------------------------------------------------

fn handshake(n: &mut Nat64, client: &str, sport: u16, srv: Ipv4Addr, now: Timestamp) -> (Tuple6, Tuple4) {
    let q = up(client, sport, srv, 80, Proto::Tcp);
    let o = out4(n.v6_to_v4(now, q, SYN));
    out6(n.v4_to_v6(now, o.reversed(), SYN | ACK));
    out4(n.v6_to_v4(now, q, ACK));
    (q, o)
}

#[test]
fn rfc6146_3_5_2_v6_syn_creates_v6_init() {
    let mut n = nat(&cfg());
    n.v6_to_v4(t(5), up("2001:db8::1", 40000, server(8), 443, Proto::Tcp), SYN).unwrap();
    let s = only_session(&n);
    assert_eq!(s.tcp_state, Some(TcpState::V6Init));
    assert_eq!(s.expires, t(5 + 240_000), "TCP_TRANS");
    ok(&n);
}

#[test]
fn rfc6146_3_5_2_v6_init_v4_syn_establishes() {
    let mut n = nat(&cfg());
    handshake(&mut n, "2001:db8::1", 40000, server(8), secs(1));
    let s = only_session(&n);
    assert_eq!(s.tcp_state, Some(TcpState::Established));
    assert_eq!(s.expires, secs(1 + 7440), "TCP_EST");
    ok(&n);
}

#[test]
fn rfc6146_3_5_2_closed_non_syn_without_bib_silently_dropped() {
    let mut n = nat(&cfg());
    let r = n.v6_to_v4(t(0), up("2001:db8::1", 40000, server(8), 443, Proto::Tcp), ACK);
    assert_eq!(r, Err(Nat64Drop::TcpNoBib));
    let r = n.v4_to_v6(t(0), down(server(8), 443, POOL, 40000, Proto::Tcp), ACK);
    assert_eq!(r, Err(Nat64Drop::TcpNoBib));
    assert_eq!(Nat64Drop::TcpNoBib.icmp_error(), None);
    assert_eq!(n.stats().total_sessions(), 0);
}

#[test]
fn rfc6146_3_5_2_closed_non_syn_with_bib_translated_without_session() {
    let mut n = nat(&cfg());
    let (q, o) = handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    // Same client port toward another server: the BIB entry exists.
    let mut q2 = q;
    q2.dst = embed(server(9));
    let o2 = out4(n.v6_to_v4(t(1), q2, ACK));
    assert_eq!((o2.src, o2.src_port, o2.dst), (o.src, o.src_port, server(9)));
    assert_eq!(n.stats().total_sessions(), 1, "no session created");
    ok(&n);
}

/// Table-driven walk of the state machine through the public API: state
/// and lifetime after each packet (`None`: lifetime left running).
#[test]
fn rfc6146_3_5_2_2_state_machine_sequences() {
    #[derive(Clone, Copy)]
    enum D {
        Six,
        Four,
    }
    use TcpState::*;
    const EST: Option<u64> = Some(7_440_000);
    const TRANS: Option<u64> = Some(240_000);
    type Steps<'a> = &'a [(D, TcpFlags, TcpState, Option<u64>)];
    let cases: &[(&str, Steps<'_>)] = &[
        (
            "v6 closes first",
            &[
                (D::Six, SYN, V6Init, TRANS),
                (D::Four, SYN | ACK, Established, EST),
                (D::Six, ACK, Established, EST),
                (D::Six, FIN | ACK, V6FinRcv, None),
                (D::Four, ACK, V6FinRcv, EST),
                (D::Four, FIN | ACK, V4FinV6FinRcv, TRANS),
                (D::Six, ACK, V4FinV6FinRcv, None),
            ],
        ),
        (
            "v4 closes first",
            &[
                (D::Six, SYN, V6Init, TRANS),
                (D::Four, SYN | ACK, Established, EST),
                (D::Four, FIN | ACK, V4FinRcv, None),
                (D::Six, FIN | ACK, V4FinV6FinRcv, TRANS),
            ],
        ),
        (
            "rst, then revival",
            &[
                (D::Six, SYN, V6Init, TRANS),
                (D::Four, SYN | ACK, Established, EST),
                (D::Four, RST, Trans, TRANS),
                (D::Six, RST, Trans, None),
                (D::Six, ACK, Established, EST),
            ],
        ),
        (
            "syn retransmission",
            &[(D::Six, SYN, V6Init, TRANS), (D::Six, SYN, V6Init, TRANS), (D::Six, ACK, V6Init, None)],
        ),
    ];
    for (name, steps) in cases {
        let mut n = nat(&cfg());
        let q = up("2001:db8::1", 40000, server(8), 443, Proto::Tcp);
        let mut o = None;
        let mut expires = 0;
        for (i, &(dir, flags, state, life)) in steps.iter().enumerate() {
            let now = 10_000 * (i as u64 + 1);
            match dir {
                D::Six => o = Some(out4(n.v6_to_v4(t(now), q, flags))),
                D::Four => {
                    out6(n.v4_to_v6(t(now), o.unwrap().reversed(), flags));
                }
            }
            let s = only_session(&n);
            assert_eq!(s.tcp_state, Some(state), "{name}, step {i}");
            if let Some(life) = life {
                expires = now + life;
            }
            assert_eq!(s.expires, t(expires), "{name}, step {i}");
        }
        ok(&n);
    }
}

#[test]
fn rfc6146_3_5_2_2_fin_both_sides_expires_after_trans() {
    let mut n = nat(&cfg());
    let (q, o) = handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    n.v6_to_v4(secs(1), q, FIN | ACK).unwrap();
    n.v4_to_v6(secs(2), o.reversed(), FIN | ACK).unwrap();
    assert_eq!(only_session(&n).expires, secs(242));
    n.v6_to_v4(secs(3), q, ACK).unwrap();
    assert_eq!(only_session(&n).expires, secs(242), "not refreshed");
    n.poll_event();
    assert_eq!(events(&mut n, secs(242)).len(), 1, "BIB removed");
    assert_eq!(n.stats().total_sessions(), 0);
}

#[test]
fn rfc6146_3_5_2_2_established_timeout_probes_then_trans() {
    let mut n = nat(&cfg());
    let (q, o) = handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    n.poll_event();
    let ev = events(&mut n, secs(7440));
    assert_eq!(ev, [Event::TcpProbe { v6: q.reversed(), v4: o }]);
    let s = only_session(&n);
    assert_eq!((s.tcp_state, s.expires), (Some(TcpState::Trans), secs(7440 + 240)));
    assert_eq!(n.stats().tcp_probes, 1);
    // The probe's answer revives the session.
    n.v6_to_v4(secs(7441), q, ACK).unwrap();
    assert_eq!(only_session(&n).tcp_state, Some(TcpState::Established));
    // No answer this time: gone after TCP_TRANS.
    assert_eq!(events(&mut n, secs(7441 + 7440)).len(), 1);
    assert!(matches!(events(&mut n, secs(7441 + 7440 + 240))[..], [Event::BibRemoved(_)]));
    ok(&n);
}

#[test]
fn rfc6146_3_5_2_2_fin_rcv_timeout_removes() {
    let mut n = nat(&cfg());
    let (q, _) = handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    n.v6_to_v4(secs(1), q, FIN).unwrap();
    assert_eq!(only_session(&n).expires, secs(7440), "FIN leaves the lifetime");
    events(&mut n, secs(7440));
    assert_eq!(n.stats().total_sessions(), 0, "V6 FIN RCV is removed, not probed");
    assert_eq!(n.stats().tcp_probes, 0);
}

#[test]
fn rfc6146_3_5_2_2_simultaneous_open_eif() {
    let mut n = nat(&cfg());
    // The client has a mapping (it talked to a rendezvous server)...
    let (q, o) = handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    // ...and a peer's SYN arrives at it: V4 INIT, forwarded (EIF).
    let peer = down(server(9), 50000, o.src, o.src_port, Proto::Tcp);
    let fwd = out6(n.v4_to_v6(t(1), peer, SYN));
    assert_eq!((fwd.dst, fwd.dst_port), (q.src, q.src_port));
    let s = n.sessions().find(|s| s.v4.dst == server(9)).unwrap();
    assert_eq!((s.tcp_state, s.held_syn, s.expires), (Some(TcpState::V4Init), false, t(1 + 240_000)));
    // The client's SYN toward the peer crosses it: ESTABLISHED.
    let mut q2 = q;
    q2.dst = embed(server(9));
    q2.dst_port = 50000;
    n.v6_to_v4(t(2), q2, SYN).unwrap();
    let s = n.sessions().find(|s| s.v4.dst == server(9)).unwrap();
    assert_eq!(s.tcp_state, Some(TcpState::Established));
    ok(&n);
}

#[test]
fn rfc6146_3_5_2_2_adf_v4_syn_held_then_icmp_port_unreachable() {
    let mut c = cfg();
    c.filtering = Filtering::AddressDependent;
    let mut n = nat(&c);
    let (_, o) = handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    n.poll_event();
    let syn = down(server(9), 50000, o.src, o.src_port, Proto::Tcp);
    assert_eq!(n.v4_to_v6(secs(1), syn, SYN), Ok(V4Verdict::HoldSyn));
    let s = n.sessions().find(|s| s.v4.dst == server(9)).unwrap();
    assert_eq!((s.tcp_state, s.held_syn, s.expires), (Some(TcpState::V4Init), true, secs(7)));
    assert_eq!(n.stats().held_syns, 1);
    // The retransmission must not authorize itself.
    assert_eq!(n.v4_to_v6(secs(3), syn, SYN), Err(Nat64Drop::HeldSynPending));
    ok(&n);
    assert_eq!(n.next_expiry(), Some(secs(7)));
    let ev = events(&mut n, secs(7));
    assert_eq!(ev, [Event::HeldSynExpired { tuple: syn, error: IcmpError::V4_PORT_UNREACHABLE }]);
    assert_eq!(IcmpError::V4_PORT_UNREACHABLE.code, 3);
    assert_eq!(n.stats().held_syns, 0);
    assert_eq!(n.stats().held_syn_expired, 1);
    assert_eq!(n.stats().total_sessions(), 1, "only the original session is left");
    ok(&n);
}

#[test]
fn rfc6146_3_5_2_2_adf_held_syn_released_by_v6_syn() {
    let mut c = cfg();
    c.filtering = Filtering::AddressDependent;
    let mut n = nat(&c);
    let (q, o) = handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    n.poll_event();
    let syn = down(server(9), 50000, o.src, o.src_port, Proto::Tcp);
    assert_eq!(n.v4_to_v6(secs(1), syn, SYN), Ok(V4Verdict::HoldSyn));
    let mut q2 = q;
    q2.dst = embed(server(9));
    q2.dst_port = 50000;
    out4(n.v6_to_v4(secs(2), q2, SYN));
    assert_eq!(n.poll_event(), Some(Event::HeldSynReleased { tuple: syn }));
    let s = n.sessions().find(|s| s.v4.dst == server(9)).unwrap();
    assert_eq!((s.tcp_state, s.held_syn), (Some(TcpState::Established), false));
    assert_eq!(n.stats().held_syns, 0);
    // Now the peer's packets pass.
    out6(n.v4_to_v6(secs(3), syn, ACK));
    assert!(events(&mut n, secs(7)).is_empty());
    ok(&n);
}

#[test]
fn rfc6146_3_5_2_2_v4_syn_without_bib_held_then_port_unreachable() {
    let mut n = nat(&cfg());
    let syn = down(server(9), 50000, POOL, 4000, Proto::Tcp);
    assert_eq!(n.v4_to_v6(t(0), syn, SYN), Ok(V4Verdict::HoldSyn));
    assert_eq!(n.v4_to_v6(t(1), syn, SYN), Err(Nat64Drop::HeldSynPending));
    assert_eq!(n.stats().held_syns, 1);
    assert_eq!(n.stats().total_sessions(), 0);
    ok(&n);
    assert_eq!(n.next_expiry(), Some(secs(6)));
    assert!(events(&mut n, t(5999)).is_empty());
    assert_eq!(events(&mut n, secs(6)), [Event::HeldSynExpired { tuple: syn, error: IcmpError::V4_PORT_UNREACHABLE }]);
    assert_eq!(n.stats().held_syns, 0);
    ok(&n);
}

#[test]
fn rfc6146_3_5_2_2_external_tcp_dropped_by_policy() {
    let mut c = cfg();
    c.drop_external_tcp = true;
    let mut n = nat(&c);
    let (_, o) = handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    let r = n.v4_to_v6(t(1), down(server(9), 1, o.src, o.src_port, Proto::Tcp), SYN);
    assert_eq!(r, Err(Nat64Drop::ExternalTcpRefused));
    let r = n.v4_to_v6(t(1), down(server(9), 1, POOL, 4000, Proto::Tcp), SYN);
    assert_eq!(r, Err(Nat64Drop::ExternalTcpRefused));
    assert_eq!(Nat64Drop::ExternalTcpRefused.icmp_error(), None, "silently");
}

#[test]
fn rfc6146_3_5_2_2_held_syns_bounded() {
    let mut c = cfg();
    c.max_held_syns = 2;
    let mut n = nat(&c);
    for p in 0..2 {
        assert_eq!(n.v4_to_v6(t(0), down(server(9), 1, POOL, 4000 + p, Proto::Tcp), SYN), Ok(V4Verdict::HoldSyn));
    }
    let r = n.v4_to_v6(t(0), down(server(9), 1, POOL, 4002, Proto::Tcp), SYN);
    assert_eq!(r, Err(Nat64Drop::HeldSynLimit));
    assert_eq!(n.stats().drops(Nat64Drop::HeldSynLimit), 1);
    ok(&n);
}

#[test]
fn rfc6146_3_5_2_2_rst_during_fin_rcv_knob() {
    let mut c = cfg();
    c.handle_rst_during_fin_rcv = true;
    let mut n = nat(&c);
    let (q, o) = handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    n.v4_to_v6(secs(1), o.reversed(), FIN).unwrap();
    n.v6_to_v4(secs(2), q, RST).unwrap();
    let s = only_session(&n);
    assert_eq!((s.tcp_state, s.expires), (Some(TcpState::V4FinRcv), secs(242)));
}

// ----- §3.5.3 ICMP queries -----------------------------------------------------------

#[test]
fn rfc6146_3_5_3_icmp_query_identifier_mapping() {
    let mut n = nat(&cfg());
    let echo = up("2001:db8::1", 0x1234, server(8), 0x1234, Proto::Icmp);
    let o = out4(n.v6_to_v4(t(0), echo, NONE));
    assert_eq!(o.src_port, o.dst_port, "identifier on both sides");
    assert_eq!((o.src, o.dst), (POOL, server(8)));
    let reply = out6(n.v4_to_v6(secs(1), o.reversed(), NONE));
    assert_eq!(reply, echo.reversed());
    assert_eq!(only_session(&n).expires, secs(61), "ICMP_DEFAULT from the reply");
    assert_eq!(events(&mut n, secs(61)).len(), 2, "BibCreated + BibRemoved");
    ok(&n);
}

#[test]
fn rfc6146_3_5_3_icmp_query_without_bib_refused() {
    let mut n = nat(&cfg());
    assert_eq!(n.v4_to_v6(t(0), down(server(8), 9, POOL, 9, Proto::Icmp), NONE), Err(Nat64Drop::NoBib));
}

// ----- §3.8 hairpinning -------------------------------------------------------------

#[test]
fn rfc6146_3_8_hairpin_udp_both_ways() {
    let mut n = nat(&cfg());
    // A learns its mapping through a server.
    let a = out4(n.v6_to_v4(t(0), up("2001:db8:a::1", 6000, server(8), 3478, Proto::Udp), NONE));
    // B sends to A's pool4 transport address.
    let b_to_a = up("2001:db8:b::1", 7000, a.src, a.src_port, Proto::Udp);
    let h = hairpin(n.v6_to_v4(t(1), b_to_a, NONE));
    assert_eq!((h.dst, h.dst_port), (a6("2001:db8:a::1"), 6000), "goes to A");
    assert_eq!(h.src, embed(POOL), "from B's pool4 address");
    // A answers B's pool4 transport address: hairpinned back to B.
    let a_to_b = up("2001:db8:a::1", 6000, POOL, h.src_port, Proto::Udp);
    let h2 = hairpin(n.v6_to_v4(t(2), a_to_b, NONE));
    assert_eq!((h2.dst, h2.dst_port), (a6("2001:db8:b::1"), 7000));
    assert_eq!((h2.src, h2.src_port), (embed(POOL), a.src_port));
    assert_eq!(n.stats().hairpinned, 2);
    ok(&n);
}

#[test]
fn rfc6146_3_8_hairpin_tcp_handshake() {
    let mut n = nat(&cfg());
    let a = out4(n.v6_to_v4(t(0), up("2001:db8:a::1", 6000, server(8), 80, Proto::Tcp), SYN));
    let b_syn = up("2001:db8:b::1", 7000, a.src, a.src_port, Proto::Tcp);
    let h = hairpin(n.v6_to_v4(t(1), b_syn, SYN));
    let a_synack = up("2001:db8:a::1", 6000, POOL, h.src_port, Proto::Tcp);
    hairpin(n.v6_to_v4(t(2), a_synack, SYN | ACK));
    let states: Vec<_> = n.sessions().filter(|s| s.v4.dst == POOL).map(|s| s.tcp_state).collect();
    assert_eq!(states, [Some(TcpState::Established); 2]);
    ok(&n);
}

#[test]
fn rfc6146_3_8_hairpin_to_unmapped_port() {
    let mut n = nat(&cfg());
    let r = n.v6_to_v4(t(0), up("2001:db8::1", 7000, POOL, 3333, Proto::Udp), NONE);
    assert_eq!(r, Err(Nat64Drop::HairpinNoBib));
    assert_eq!(Nat64Drop::HairpinNoBib.icmp_error().unwrap().family, Family::V6);
    ok(&n);
}

#[test]
fn rfc6146_3_8_hairpin_respects_adf() {
    let mut c = cfg();
    c.filtering = Filtering::AddressDependent;
    let mut n = nat(&c);
    let a = out4(n.v6_to_v4(t(0), up("2001:db8:a::1", 6000, server(8), 80, Proto::Tcp), SYN));
    let r = n.v6_to_v4(t(1), up("2001:db8:b::1", 7000, a.src, a.src_port, Proto::Tcp), SYN);
    assert_eq!(r, Err(Nat64Drop::HairpinFiltered));
    assert_eq!(n.stats().held_syns, 0, "never held for a hairpin");
    ok(&n);
}

// ----- static BIB ------------------------------------------------------------------

fn static_cfg() -> Nat64Config {
    let mut c = cfg();
    c.static_bib.push(StaticBib { proto: Proto::Tcp, v6: a6("2001:db8:5::80"), v6_port: 80, v4: POOL, v4_port: 8080 });
    c
}

#[test]
fn static_bib_publishes_ipv6_server() {
    let mut n = nat(&static_cfg());
    assert_eq!(n.stats().bibs(Proto::Tcp), 1);
    let m = n.bib_entries().next().unwrap();
    assert!(m.is_static);
    let syn = down(server(9), 50000, POOL, 8080, Proto::Tcp);
    let fwd = out6(n.v4_to_v6(t(0), syn, SYN));
    assert_eq!((fwd.dst, fwd.dst_port, fwd.src, fwd.src_port), (a6("2001:db8:5::80"), 80, embed(server(9)), 50000));
    let synack = fwd.reversed();
    assert_eq!(out4(n.v6_to_v4(t(1), synack, SYN | ACK)), syn.reversed());
    assert_eq!(only_session(&n).tcp_state, Some(TcpState::Established));
    // The session ends; the entry stays.
    n.v4_to_v6(t(2), syn, RST).unwrap();
    let ev = events(&mut n, secs(300));
    assert!(ev.iter().all(|e| !matches!(e, Event::BibRemoved(_))), "{ev:?}");
    assert_eq!(n.stats().bibs(Proto::Tcp), 1);
    assert_eq!(n.stats().total_sessions(), 0);
    ok(&n);
}

#[test]
fn static_bib_port_never_allocated_dynamically() {
    let mut c = static_cfg();
    c.pool4[0].tcp = Some(PortRange::new(8080, 8081));
    let mut n = nat(&c);
    let o = out4(n.v6_to_v4(t(0), up("2001:db8::1", 5000, server(8), 80, Proto::Tcp), SYN));
    assert_eq!(o.src_port, 8081);
    let r = n.v6_to_v4(t(0), up("2001:db8::2", 5000, server(8), 80, Proto::Tcp), SYN);
    assert_eq!(r, Err(Nat64Drop::PortsExhausted));
    ok(&n);
}

// ----- limits ------------------------------------------------------------------------

#[test]
fn limits_per_client_sessions_per_64() {
    let mut c = cfg();
    c.max_sessions_per_client = 3;
    c.client_granularity = ClientGranularity::Prefix64;
    let mut n = nat(&c);
    for (i, client) in ["2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1::1"].into_iter().enumerate() {
        n.v6_to_v4(t(0), up(client, 5000 + i as u16, server(8), 53, Proto::Udp), NONE).unwrap();
    }
    let r = n.v6_to_v4(t(0), up("2001:db8:0:1::3", 5000, server(8), 53, Proto::Udp), NONE);
    assert_eq!(r, Err(Nat64Drop::ClientSessionLimit));
    assert_eq!(r.unwrap_err().icmp_error(), Some(IcmpError::V6_ADDRESS_UNREACHABLE));
    // Another /64 is another client; existing sessions are untouched.
    n.v6_to_v4(t(0), up("2001:db8:0:2::1", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
    n.v6_to_v4(t(1), up("2001:db8:0:1::1", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
    assert_eq!(n.stats().drops(Nat64Drop::ClientSessionLimit), 1);
    // Inbound flows count too (EIF would add a session to the client).
    let o = out4(n.v6_to_v4(t(1), up("2001:db8:0:1::1", 5000, server(8), 53, Proto::Udp), NONE));
    assert_eq!(
        n.v4_to_v6(t(1), down(server(7), 1, o.src, o.src_port, Proto::Udp), NONE),
        Err(Nat64Drop::InboundSessionLimit)
    );
    ok(&n);
}

#[test]
fn limits_per_client_granularity_56_and_128() {
    for (g, second, limited) in [
        (ClientGranularity::Prefix56, "2001:db8:0:ff::1", true),
        (ClientGranularity::Prefix56, "2001:db8:0:100::1", false),
        (ClientGranularity::Host, "2001:db8::2", false),
    ] {
        let mut c = cfg();
        c.max_sessions_per_client = 1;
        c.client_granularity = g;
        let mut n = nat(&c);
        n.v6_to_v4(t(0), up("2001:db8::1", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
        let r = n.v6_to_v4(t(0), up(second, 5000, server(8), 53, Proto::Udp), NONE);
        assert_eq!(r.is_err(), limited, "{g:?} {second}");
    }
}

#[test]
fn limits_table_full_evicts_transitory_before_established() {
    let mut c = cfg();
    c.max_sessions = 3;
    let mut n = nat(&c);
    handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    n.v6_to_v4(t(1), up("2001:db8::2", 40000, server(8), 80, Proto::Tcp), SYN).unwrap(); // V6 INIT: transitory
    n.v6_to_v4(t(2), up("2001:db8::3", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
    // Full: the new flow evicts the transitory session.
    n.v6_to_v4(t(3), up("2001:db8::4", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
    assert_eq!(n.stats().sessions_evicted, 1);
    assert!(n.sessions().all(|s| s.v6.src != a6("2001:db8::2")));
    assert!(n.sessions().any(|s| s.tcp_state == Some(TcpState::Established)));
    // Nothing transitory left: refused, existing sessions untouched.
    let r = n.v6_to_v4(t(4), up("2001:db8::5", 5000, server(8), 53, Proto::Udp), NONE);
    assert_eq!(r, Err(Nat64Drop::SessionTableFull));
    assert_eq!(n.stats().total_sessions(), 3);
    ok(&n);
}

#[test]
fn limits_eviction_releases_held_syn() {
    let mut c = cfg();
    c.max_sessions = 2;
    c.filtering = Filtering::AddressDependent;
    let mut n = nat(&c);
    let (_, o) = handshake(&mut n, "2001:db8::1", 40000, server(8), t(0));
    let syn = down(server(9), 1, o.src, o.src_port, Proto::Tcp);
    assert_eq!(n.v4_to_v6(t(1), syn, SYN), Ok(V4Verdict::HoldSyn));
    while n.poll_event().is_some() {}
    n.v6_to_v4(t(2), up("2001:db8::2", 5000, server(8), 53, Proto::Udp), NONE).unwrap();
    assert_eq!(n.poll_event(), Some(Event::HeldSynReleased { tuple: syn }));
    assert_eq!(n.stats().held_syns, 0);
    ok(&n);
}

// ----- default deny --------------------------------------------------------------------

#[test]
fn default_deny_clients_outside_prefixes() {
    let mut n = nat(&cfg());
    let r = n.v6_to_v4(t(0), up("2001:db9::1", 5000, server(8), 53, Proto::Udp), NONE);
    assert_eq!(r, Err(Nat64Drop::ClientNotAllowed));
    assert_eq!(r.unwrap_err().icmp_error(), Some(IcmpError::V6_ADMIN_PROHIBITED));
    assert_eq!(n.stats().total_sessions(), 0);
}

#[test]
fn default_deny_non_global_ipv4_unless_allowed() {
    let mut c = cfg();
    let mut n = nat(&c);
    for dst in [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(192, 168, 1, 1), Ipv4Addr::new(127, 0, 0, 1)] {
        let r = n.v6_to_v4(t(0), up("2001:db8::1", 5000, dst, 53, Proto::Udp), NONE);
        assert_eq!(r, Err(Nat64Drop::DestinationNotGlobal), "{dst}");
    }
    c.v4_allow.push("10.0.0.0/8".parse().unwrap());
    let mut n = nat(&c);
    n.v6_to_v4(t(0), up("2001:db8::1", 5000, Ipv4Addr::new(10, 0, 0, 1), 53, Proto::Udp), NONE).unwrap();
    let r = n.v6_to_v4(t(0), up("2001:db8::1", 5000, Ipv4Addr::new(192, 168, 1, 1), 53, Proto::Udp), NONE);
    assert_eq!(r, Err(Nat64Drop::DestinationNotGlobal));
}

#[test]
fn default_deny_non_global_peer_cannot_open_flows() {
    let mut n = nat(&static_cfg());
    let r = n.v4_to_v6(t(0), down(Ipv4Addr::new(10, 1, 1, 1), 1, POOL, 8080, Proto::Tcp), SYN);
    assert_eq!(r, Err(Nat64Drop::PeerNotGlobal));
    let r = n.v4_to_v6(t(0), down(Ipv4Addr::new(10, 1, 1, 1), 1, POOL, 4000, Proto::Tcp), SYN);
    assert_eq!(r, Err(Nat64Drop::PeerNotGlobal));
    assert_eq!(n.stats().held_syns, 0);
}

// ----- ICMP errors ---------------------------------------------------------------------

#[test]
fn rfc6146_3_4_icmp_error_v4_finds_session_by_quoted_tuple() {
    let mut n = nat(&cfg());
    let q = up("2001:db8::1", 5000, server(8), 53, Proto::Udp);
    let o = out4(n.v6_to_v4(t(0), q, NONE));
    let before = only_session(&n).expires;
    assert_eq!(n.icmp_error_v4(o), Ok(q), "quoted packet as the client sent it");
    assert_eq!(only_session(&n).expires, before, "errors do not refresh");
    let mut other = o;
    other.dst_port = 54;
    assert_eq!(n.icmp_error_v4(other), Err(Nat64Drop::IcmpErrorNoSession));
    assert_eq!(Nat64Drop::IcmpErrorNoSession.icmp_error(), None);
    // ICMP query quoted.
    let echo = up("2001:db8::1", 77, server(8), 77, Proto::Icmp);
    let oe = out4(n.v6_to_v4(t(0), echo, NONE));
    assert_eq!(n.icmp_error_v4(oe), Ok(echo));
}

#[test]
fn rfc6146_3_4_icmp_error_v6_finds_session_by_quoted_tuple() {
    let mut n = nat(&cfg());
    let q = up("2001:db8::1", 5000, server(8), 53, Proto::Udp);
    let o = out4(n.v6_to_v4(t(0), q, NONE));
    // The client reports port unreachable about the answer it got.
    assert_eq!(n.icmp_error_v6(q.reversed()), Ok(IcmpErrorVerdict::ToV4(o.reversed())));
    let mut bad = q.reversed();
    bad.src = embed(server(99));
    assert_eq!(n.icmp_error_v6(bad), Err(Nat64Drop::IcmpErrorNoSession));
}

#[test]
fn rfc6146_3_8_icmp_error_about_hairpinned_packet() {
    let mut n = nat(&cfg());
    let a = out4(n.v6_to_v4(t(0), up("2001:db8:a::1", 6000, server(8), 3478, Proto::Udp), NONE));
    let b_to_a = up("2001:db8:b::1", 7000, a.src, a.src_port, Proto::Udp);
    let h = hairpin(n.v6_to_v4(t(1), b_to_a, NONE));
    // A rejects it: the error goes back to B quoting B's packet.
    assert_eq!(n.icmp_error_v6(h), Ok(IcmpErrorVerdict::Hairpin(b_to_a)));
}

// ----- mapping log ---------------------------------------------------------------------

#[test]
fn rfc6888_4_mapping_log_records_creation_and_removal() {
    let mut n = nat(&cfg());
    let q = up("2001:db8::1", 5000, server(8), 53, Proto::Udp);
    let o = out4(n.v6_to_v4(secs(1), q, NONE));
    let ev = events(&mut n, secs(301));
    let expect = |time| Mapping {
        time,
        proto: Proto::Udp,
        v6: q.src,
        v6_port: 5000,
        v4: POOL,
        v4_port: o.src_port,
        is_static: false,
    };
    assert_eq!(ev, [Event::BibCreated(expect(secs(1))), Event::BibRemoved(expect(secs(301)))]);
    assert_eq!(n.stats().bib_removed, 1);
}

#[test]
fn events_bounded() {
    let mut c = cfg();
    c.max_pending_events = 2;
    let mut n = nat(&c);
    for p in 0..4 {
        n.v6_to_v4(t(0), up("2001:db8::1", 5000 + p, server(8), 53, Proto::Udp), NONE).unwrap();
    }
    assert_eq!(n.stats().events_lost, 2);
    assert_eq!(events(&mut n, t(1)).len(), 2);
}

// ----- sharding --------------------------------------------------------------------------

#[test]
fn sharded_round_trips_hairpin_and_static() {
    let mut c = static_cfg();
    c.pool4.push(Pool4Entry::new(Ipv4Addr::new(192, 0, 2, 2)));
    let sh = ShardedNat64::new(&c, 4).unwrap();
    assert_eq!(sh.shards(), 4);
    let mut outs = Vec::new();
    for i in 0..64u16 {
        let q = up(&format!("2001:db8:{i:x}::1"), 5000 + i, server(8), 53, Proto::Udp);
        let o = out4(sh.v6_to_v4(t(0), q, NONE));
        assert_eq!(sh.shard_of_v4(&o.reversed()), sh.shard_of_v6(&q), "port owned by the client's shard");
        assert_eq!(out6(sh.v4_to_v6(t(1), o.reversed(), NONE)), q.reversed());
        outs.push((q, o));
    }
    let used: std::collections::BTreeSet<usize> = outs.iter().map(|(q, _)| sh.shard_of_v6(q)).collect();
    assert!(used.len() > 1, "clients spread over shards");
    // Hairpin across shards.
    let (qa, oa) = outs.iter().find(|(q, _)| sh.shard_of_v6(q) == 0).copied().unwrap();
    let (qb, _) = outs.iter().find(|(q, _)| sh.shard_of_v6(q) != 0).copied().unwrap();
    let b_to_a = Tuple6 { dst: embed(oa.src), dst_port: oa.src_port, ..qb };
    let h = hairpin(sh.v6_to_v4(t(2), b_to_a, NONE));
    assert_eq!((h.dst, h.dst_port), (qa.src, qa.src_port));
    assert_eq!(sh.icmp_error_v6(h), Ok(IcmpErrorVerdict::Hairpin(b_to_a)));
    // The static server, whatever shard owns port 8080.
    let syn = down(server(9), 50000, POOL, 8080, Proto::Tcp);
    let fwd = out6(sh.v4_to_v6(t(3), syn, SYN));
    assert_eq!(out4(sh.v6_to_v4(t(3), fwd.reversed(), SYN | ACK)), syn.reversed());
    assert_eq!(sh.icmp_error_v4(syn.reversed()), Ok(fwd.reversed()));
    let st = sh.stats();
    assert_eq!(st.sessions(Proto::Udp), 64 + 2, "a hairpin has a session on each side");
    assert_eq!(st.sessions(Proto::Tcp), 1);
    assert_eq!(st.hairpinned, 1);
    for i in 0..4 {
        sh.with_shard(i, |n| n.check_invariants()).unwrap();
    }
    let mut evs = Vec::new();
    sh.drain_events(|e| evs.push(e));
    assert_eq!(evs.iter().filter(|e| matches!(e, Event::BibCreated(_))).count(), 64);
    assert!(sh.next_expiry().is_some());
    let mut removed = 0;
    sh.expire(secs(10_000), |e| removed += usize::from(matches!(e, Event::BibRemoved(_))));
    assert_eq!(removed, 64, "the hairpin used existing entries on both sides");
    assert_eq!(sh.stats().total_sessions(), 1, "the established TCP session was probed, now TRANS");
    assert_eq!(sh.stats().tcp_probes, 1);
    sh.expire(secs(10_240), drop);
    assert_eq!(sh.stats().total_sessions(), 0);
}

#[test]
fn sharded_workers_in_parallel() {
    let c = cfg();
    let sh = std::sync::Arc::new(ShardedNat64::new(&c, 2).unwrap());
    let handles: Vec<_> = (0..2u16)
        .map(|w| {
            let sh = sh.clone();
            std::thread::spawn(move || {
                for i in 0..200u16 {
                    let q = up(&format!("2001:db8:{w}:{i:x}::1"), 1024 + i, server(8), 53, Proto::Udp);
                    let o = out4(sh.v6_to_v4(t(u64::from(i)), q, NONE));
                    assert_eq!(out6(sh.v4_to_v6(t(u64::from(i)), o.reversed(), NONE)), q.reversed());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(sh.stats().total_sessions(), 400);
    for i in 0..2 {
        sh.with_shard(i, |n| n.check_invariants()).unwrap();
    }
}

#[test]
fn sharded_config_checked() {
    assert!(matches!(ShardedNat64::new(&cfg(), 0), Err(ConfigError::Shards { .. })));
    assert!(ShardedNat64::new(&cfg(), 257).is_err());
}

// ----- memory --------------------------------------------------------------------------------

/// 100k sessions, each with its own BIB entry and its own client (the
/// worst case for the tables): at most 128 bytes of table per session.
#[test]
fn memory_100k_sessions_at_most_128_bytes_each() {
    let mut c = cfg();
    c.max_sessions = 100_000;
    c.client_granularity = ClientGranularity::Host;
    c.pool4 = vec![Pool4Entry::new(Ipv4Addr::new(192, 0, 2, 1)), Pool4Entry::new(Ipv4Addr::new(192, 0, 2, 2))];
    let mut n = nat(&c);
    let before = n.memory();
    for i in 0..100_000u32 {
        let client = Ipv6Addr::from(0x2001_0db8_0000_0000_0000_0000_0000_0000u128 | u128::from(i) << 16);
        let q = Tuple6 {
            src: client,
            src_port: 1024 + (i % 60000) as u16,
            dst: embed(server(8)),
            dst_port: 53,
            proto: Proto::Udp,
        };
        out4(n.v6_to_v4(t(0), q, NONE));
        if i % 4096 == 0 {
            n.expire(t(0)).for_each(drop);
        }
    }
    n.expire(t(0)).for_each(drop);
    let m = n.memory();
    assert_eq!(n.stats().total_sessions(), 100_000);
    assert_eq!(n.stats().bibs(Proto::Udp), 100_000);
    assert_eq!(m.table_bytes, before.table_bytes, "tables never grow");
    let per = m.table_bytes_per_session();
    println!(
        "session entry {} B, BIB entry {} B, client entry {} B, index slot {} B; \
         tables {} B for {} sessions = {per:.1} B/session; pool4 bitmaps {} B",
        m.session_entry, m.bib_entry, m.client_entry, m.index_slot, m.table_bytes, m.session_capacity, m.pool4_bytes
    );
    assert!(m.session_entry <= 28 && m.bib_entry <= 32 && m.client_entry <= 20, "{m:?}");
    assert!(per <= 128.0, "{per} bytes per session");
}

#[test]
fn memory_one_million_sessions_well_under_1gb() {
    let mut c = cfg();
    c.max_sessions = 1_000_000;
    let m = nat(&c).memory();
    assert!(m.table_bytes < 128 * 1_000_000, "{m:?}");
    assert!(m.table_bytes + m.pool4_bytes < 200 << 20, "{m:?}");
}

// ----- properties ----------------------------------------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        V6 { client: u8, sport: u8, srv: u8, dport: u8, proto: u8, flags: u8 },
        V4 { srv: u8, sport: u8, pool: u8, dport: u16, proto: u8, flags: u8 },
        Hairpin { client: u8, sport: u8, pick: u16, flags: u8 },
        Reply { pick: u16, flags: u8 },
        ErrV4 { pick: u16 },
        ErrV6 { pick: u16 },
        Advance { ms: u32 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..6, 0u8..4, 0u8..3, 0u8..2, 0u8..3, any::<u8>())
                .prop_map(|(client, sport, srv, dport, proto, flags)| Op::V6 { client, sport, srv, dport, proto, flags }),
            2 => (0u8..3, 0u8..3, 0u8..2, 1020u16..1060, 0u8..3, any::<u8>())
                .prop_map(|(srv, sport, pool, dport, proto, flags)| Op::V4 { srv, sport, pool, dport, proto, flags }),
            1 => (0u8..6, 0u8..4, any::<u16>(), any::<u8>()).prop_map(|(client, sport, pick, flags)| Op::Hairpin { client, sport, pick, flags }),
            3 => (any::<u16>(), any::<u8>()).prop_map(|(pick, flags)| Op::Reply { pick, flags }),
            1 => any::<u16>().prop_map(|pick| Op::ErrV4 { pick }),
            1 => any::<u16>().prop_map(|pick| Op::ErrV6 { pick }),
            2 => prop_oneof![0u32..10_000, 0u32..400_000, Just(7_440_000u32)].prop_map(|ms| Op::Advance { ms }),
        ]
    }

    fn proto(p: u8) -> Proto {
        Proto::ALL[usize::from(p % 3)]
    }

    fn small_config(adf: bool, drop_ext: bool) -> Nat64Config {
        let mut c = cfg();
        let range = Some(PortRange::new(1022, 1040));
        c.pool4 = (1..=2)
            .map(|i| Pool4Entry { addr: Ipv4Addr::new(192, 0, 2, i), tcp: range, udp: range, icmp: range })
            .collect();
        c.max_sessions = 24;
        c.max_sessions_per_client = 8;
        c.client_granularity = ClientGranularity::Prefix64;
        c.max_held_syns = 3;
        c.max_pending_events = 16;
        c.filtering = if adf { Filtering::AddressDependent } else { Filtering::EndpointIndependent };
        c.drop_external_tcp = drop_ext;
        c.static_bib.push(StaticBib {
            proto: Proto::Udp,
            v6: a6("2001:db8:5::1"),
            v6_port: 53,
            v4: Ipv4Addr::new(192, 0, 2, 2),
            v4_port: 1030,
        });
        c
    }

    fn run(n: &mut Nat64, now: &mut u64, op: &Op) {
        let client = |c: u8| a6(&format!("2001:db8:0:{}::{}", c / 2, c % 2 + 1));
        let flags = |f: u8| TcpFlags::from_bits(f & 0x17);
        let sessions: Vec<SessionInfo> = n.sessions().collect();
        let pick = |p: u16| (!sessions.is_empty()).then(|| sessions[usize::from(p) % sessions.len()]);
        match *op {
            Op::V6 { client: c, sport, srv, dport, proto: p, flags: f } => {
                let q = Tuple6 {
                    src: client(c),
                    src_port: 1000 + u16::from(sport),
                    dst: embed(server(srv)),
                    dst_port: 80 + u16::from(dport),
                    proto: proto(p),
                };
                let _ = n.v6_to_v4(t(*now), q, flags(f));
            }
            Op::V4 { srv, sport, pool, dport, proto: p, flags: f } => {
                let d = down(server(srv), 80 + u16::from(sport), Ipv4Addr::new(192, 0, 2, pool + 1), dport, proto(p));
                let _ = n.v4_to_v6(t(*now), d, flags(f));
            }
            Op::Hairpin { client: c, sport, pick: p, flags: f } => {
                if let Some(s) = pick(p) {
                    let q = Tuple6 {
                        src: client(c),
                        src_port: 1000 + u16::from(sport),
                        dst: embed(s.v4.src),
                        dst_port: s.v4.src_port,
                        proto: s.v4.proto,
                    };
                    let _ = n.v6_to_v4(t(*now), q, flags(f));
                }
            }
            Op::Reply { pick: p, flags: f } => {
                if let Some(s) = pick(p) {
                    let _ = n.v4_to_v6(t(*now), s.v4.reversed(), flags(f));
                }
            }
            Op::ErrV4 { pick: p } => {
                if let Some(s) = pick(p) {
                    let r = n.icmp_error_v4(s.v4);
                    if s.v4.dst.octets()[0] != 192 {
                        assert_eq!(r, Ok(s.v6));
                    }
                }
            }
            Op::ErrV6 { pick: p } => {
                if let Some(s) = pick(p) {
                    let _ = n.icmp_error_v6(s.v6.reversed());
                }
            }
            Op::Advance { ms } => {
                *now += u64::from(ms);
                n.expire(t(*now)).for_each(drop);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        /// Random operation sequences never panic and every invariant holds
        /// after each step (sessions refer to live BIB entries, no two
        /// entries share a transport address, counts and gauges match).
        #[test]
        fn random_operations_keep_invariants(
            adf in any::<bool>(),
            drop_ext in any::<bool>(),
            ops in proptest::collection::vec(op(), 1..120),
        ) {
            let c = small_config(adf, drop_ext);
            let mut n = Nat64::new(&c).unwrap();
            let mut now = 0u64;
            for op in &ops {
                run(&mut n, &mut now, op);
                if let Err(e) = n.check_invariants() {
                    return Err(TestCaseError::fail(format!("after {op:?}: {e}")));
                }
                let st = n.stats();
                prop_assert!(st.total_sessions() <= 24);
                prop_assert!(st.held_syns <= 3);
            }
            // Everything ends: only the static entry is left.
            now += 10 * 7_440_000;
            n.expire(t(now)).for_each(drop);
            now += 10 * 7_440_000;
            n.expire(t(now)).for_each(drop);
            prop_assert_eq!(n.stats().total_sessions(), 0);
            prop_assert_eq!(n.bib_entries().count(), 1);
            prop_assert_eq!(n.stats().held_syns, 0);
            prop_assert!(n.check_invariants().is_ok());
        }

        /// The same sequence on one state and on four shards gives the same
        /// totals and keeps every shard's invariants.
        #[test]
        fn sharded_keeps_invariants(ops in proptest::collection::vec(op(), 1..80)) {
            let c = small_config(false, false);
            let sh = ShardedNat64::new(&c, 3).unwrap();
            let mut now = 0u64;
            for op in &ops {
                match *op {
                    Op::V6 { client, sport, srv, dport, proto: p, flags } => {
                        let q = Tuple6 {
                            src: a6(&format!("2001:db8:0:{}::1", client)),
                            src_port: 1000 + u16::from(sport),
                            dst: embed(server(srv)),
                            dst_port: 80 + u16::from(dport),
                            proto: proto(p),
                        };
                        let _ = sh.v6_to_v4(t(now), q, TcpFlags::from_bits(flags & 0x17));
                    }
                    Op::V4 { srv, sport, pool, dport, proto: p, flags } => {
                        let d = down(server(srv), 80 + u16::from(sport), Ipv4Addr::new(192, 0, 2, pool + 1), dport, proto(p));
                        let _ = sh.v4_to_v6(t(now), d, TcpFlags::from_bits(flags & 0x17));
                    }
                    Op::Advance { ms } => {
                        now += u64::from(ms);
                        sh.expire(t(now), drop);
                    }
                    _ => {}
                }
                for i in 0..3 {
                    let r = sh.with_shard(i, |n| n.check_invariants());
                    prop_assert!(r.is_ok(), "shard {}: {:?}", i, r);
                }
            }
        }
    }
}

// ----- run-time reconfiguration and pool4 usage ---------------------------------

#[test]
fn reconfigure_swaps_allow_lists_and_limits_keeping_state() {
    let mut n = nat(&cfg());
    let a = out4(n.v6_to_v4(secs(1), up("2001:db8::1", 5000, server(1), 53, Proto::Udp), NONE));
    // Another prefix becomes a client; the per-client limit drops to 1.
    let mut c = cfg();
    c.clients.push("2001:db9::/32".parse().unwrap());
    c.max_sessions_per_client = 1;
    n.reconfigure(secs(2), &c);
    assert!(n.v6_to_v4(secs(2), up("2001:db9::1", 5000, server(1), 53, Proto::Udp), NONE).is_ok(), "new client");
    assert_eq!(
        n.v6_to_v4(secs(2), up("2001:db8::1", 5001, server(1), 53, Proto::Udp), NONE),
        Err(Nat64Drop::ClientSessionLimit),
        "new limit"
    );
    // The existing session keeps its mapping.
    assert_eq!(out4(n.v6_to_v4(secs(3), up("2001:db8::1", 5000, server(1), 53, Proto::Udp), NONE)), a);
    // The allow-list: 10.1.0.0/16 reachable only once listed.
    let private = Ipv4Addr::new(10, 1, 0, 1);
    let to_private = up("2001:db8:1::2", 1, private, 53, Proto::Udp);
    assert_eq!(n.v6_to_v4(secs(3), to_private, NONE), Err(Nat64Drop::DestinationNotGlobal));
    c.v4_allow.push("10.1.0.0/16".parse().unwrap());
    n.reconfigure(secs(3), &c);
    assert!(n.v6_to_v4(secs(3), to_private, NONE).is_ok());
    ok(&n);
}

#[test]
fn reconfigure_shorter_lifetime_applies_to_running_sessions() {
    let mut n = nat(&cfg());
    let _ = out4(n.v6_to_v4(secs(0), up("2001:db8::1", 5000, server(1), 53, Proto::Udp), NONE));
    let _ = out4(n.v6_to_v4(secs(10), up("2001:db8::1", 5001, server(1), 53, Proto::Udp), NONE));
    let mut c = cfg();
    c.timeouts.udp = Duration::from_secs(120);
    n.reconfigure(secs(20), &c);
    ok(&n);
    // Both now end at most 120 s after the reload, not 300 s after creation.
    assert!(n.sessions().all(|s| s.expires <= secs(140)), "{:?}", n.sessions().collect::<Vec<_>>());
    let _ = events(&mut n, secs(141));
    assert_eq!(n.stats().total_sessions(), 0);
    // A new session uses the new lifetime.
    let _ = out4(n.v6_to_v4(secs(200), up("2001:db8::1", 5002, server(1), 53, Proto::Udp), NONE));
    assert_eq!(only_session(&n).expires, secs(320));
    ok(&n);
}

#[test]
fn reconfigure_shorter_held_syn_timeout_keeps_expiry_working() {
    let mut c = cfg();
    c.timeouts.tcp_incoming_syn = Duration::from_secs(60);
    let mut n = nat(&c);
    assert_eq!(n.v4_to_v6(secs(0), down(server(1), 80, POOL, 4000, Proto::Tcp), SYN), Ok(V4Verdict::HoldSyn));
    c.timeouts.tcp_incoming_syn = Duration::from_secs(6);
    n.reconfigure(secs(1), &c);
    ok(&n);
    let ev = events(&mut n, secs(7));
    assert!(ev.iter().any(|e| matches!(e, Event::HeldSynExpired { .. })), "{ev:?}");
    ok(&n);
}

#[test]
fn pool4_usage_counts_ports_per_address_and_protocol() {
    let mut c = cfg();
    c.pool4 = vec![Pool4Entry::new(POOL), Pool4Entry::new(Ipv4Addr::new(192, 0, 2, 2))];
    c.pool4[1].udp = Some(PortRange::new(2000, 2099));
    let s = ShardedNat64::new(&c, 3).unwrap();
    let usage = |s: &ShardedNat64, addr: Ipv4Addr, proto: Proto| {
        *s.pool4_usage().iter().find(|u| u.addr == addr && u.proto == proto).unwrap()
    };
    assert_eq!(usage(&s, POOL, Proto::Udp).total, 64512, "1024-65535");
    assert_eq!(usage(&s, POOL, Proto::Icmp).total, 65536);
    assert_eq!(usage(&s, Ipv4Addr::new(192, 0, 2, 2), Proto::Udp).total, 100);
    for i in 0..10u16 {
        let client = format!("2001:db8::{i:x}");
        assert!(s.v6_to_v4(secs(1), up(&client, 5000, server(1), 53, Proto::Udp), NONE).is_ok());
    }
    let used: u32 = s.pool4_usage().iter().filter(|u| u.proto == Proto::Udp).map(|u| u.used).sum();
    assert_eq!(used, 10);
    let u = usage(&s, Ipv4Addr::new(192, 0, 2, 2), Proto::Udp);
    assert!((u.percent() - f64::from(u.used)).abs() < 1e-9, "100 ports: one port is one percent");
}
