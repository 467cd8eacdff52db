//! RFC 6146 §3.7 behaviour of [`Translator::translate_stateful`], built
//! from real packet bytes. Test names name the rule.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::Rewrite;
use crate::rfc7915::tests::{
    a4, a6, assert_v4_ok, assert_v6_l4_ok, icmp4, icmp6, inet, pseudo4, pseudo6, tcp6, udp4, udp6, v4, v6, xlat,
};
use crate::verdict::{Action, DropReason, Family};
use crate::{Translator, OUT_BUF_LEN};

/// The IPv6-only client, its port, the server as the client sees it.
const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x1, 0, 0, 0, 0, 5);
const PLAT_SERVER6: Ipv6Addr = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0xc633, 0x6407);
/// The pool4 address T and the server Z.
const POOL4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
const SERVER4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
const ROUTER4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);
const ROUTER6: Ipv6Addr = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x02fe);

struct Out {
    action: Result<Action, DropReason>,
    buf: Vec<u8>,
}

impl Out {
    fn one(&self) -> Vec<u8> {
        let a = self.action.unwrap_or_else(|e| panic!("dropped: {e:?}"));
        let p: Vec<&[u8]> = a.packets(&self.buf).collect();
        assert_eq!(p.len(), 1, "{a:?}");
        p[0].to_vec()
    }
    fn all(&self) -> Vec<Vec<u8>> {
        let a = self.action.unwrap_or_else(|e| panic!("dropped: {e:?}"));
        a.packets(&self.buf).map(<[u8]>::to_vec).collect()
    }
}

fn run(t: &mut Translator, input: &[u8], rw: &Rewrite) -> Out {
    let mut buf = vec![0u8; OUT_BUF_LEN];
    let action = t.translate_stateful(input, &mut buf, rw);
    Out { action, buf }
}

fn to_v4(sport: u16, dport: u16) -> Rewrite {
    Rewrite::new(IpAddr::V4(POOL4), sport, IpAddr::V4(SERVER4), dport)
}

fn to_v6(sport: u16, dport: u16) -> Rewrite {
    Rewrite::new(IpAddr::V6(PLAT_SERVER6), sport, IpAddr::V6(CLIENT6), dport)
}

fn ports(l4: &[u8]) -> (u16, u16) {
    (u16::from_be_bytes([l4[0], l4[1]]), u16::from_be_bytes([l4[2], l4[3]]))
}

#[test]
fn rfc6146_3_7_ipv6_udp_gets_tuple_addresses_and_ports() {
    let mut t = xlat();
    let input = v6(CLIENT6, PLAT_SERVER6, 17, &udp6(CLIENT6, PLAT_SERVER6, 5000, 53, b"query"));
    let p = run(&mut t, &input, &to_v4(40001, 53)).one();
    assert_eq!((a4(&p, 12), a4(&p, 16)), (POOL4, SERVER4), "addresses of the outgoing tuple");
    assert_eq!(ports(&p[20..]), (40001, 53), "source port from the tuple");
    assert_eq!(&p[28..], b"query");
    assert_eq!(p[8], 63, "RFC 7915 rules otherwise: hop limit - 1");
    assert_v4_ok(&p);
    assert_eq!(t.counters().v6_to_v4_packets, 1);
}

#[test]
fn rfc6146_3_7_ipv4_tcp_back_to_the_client_port() {
    let mut t = xlat();
    let mut tcp = crate::rfc7915::tests::tcp4(SERVER4, POOL4, b"data");
    tcp[0..4].copy_from_slice(&[0, 80, 0x9c, 0x41]); // 80 -> 40001, checksum fixed below
    tcp[16..18].fill(0);
    let c = inet(&tcp, pseudo4(SERVER4, POOL4, 6, tcp.len()));
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    let input = v4(SERVER4, POOL4, 6, &tcp, |_| {});
    let p = run(&mut t, &input, &to_v6(80, 5000)).one();
    assert_eq!((a6(&p, 8), a6(&p, 24)), (PLAT_SERVER6, CLIENT6));
    assert_eq!(ports(&p[40..]), (80, 5000), "destination port back to the client's");
    assert_v6_l4_ok(&p);
}

#[test]
fn rfc6146_3_7_icmp_query_identifier_rewritten_both_ways() {
    let mut t = xlat();
    let echo6 = icmp6(CLIENT6, PLAT_SERVER6, 128, 0, [0x12, 0x34, 0, 1], b"ping");
    let p = run(&mut t, &v6(CLIENT6, PLAT_SERVER6, 58, &echo6), &to_v4(777, 777)).one();
    assert_eq!((p[20], u16::from_be_bytes([p[24], p[25]])), (8, 777), "Echo Request, identifier from the tuple");
    assert_eq!(&p[26..28], &[0, 1], "sequence kept");
    assert_v4_ok(&p);
    let reply4 = icmp4(0, 0, [0x03, 0x09, 0, 1], b"ping");
    let p = run(&mut t, &v4(SERVER4, POOL4, 1, &reply4, |_| {}), &to_v6(0x1234, 0x1234)).one();
    assert_eq!((p[40], u16::from_be_bytes([p[44], p[45]])), (129, 0x1234), "Echo Reply to the client's identifier");
    assert_v6_l4_ok(&p);
}

#[test]
fn rfc6146_3_7_icmpv4_error_quotes_the_client_packet_mirrored() {
    let mut t = xlat();
    // What the NAT64 sent: (T,40001) -> (Z,53); a router answers it.
    let sent = v4(POOL4, SERVER4, 17, &udp4(POOL4, SERVER4, 40001, 53, b"question"), |p| p[8] = 1);
    let err = v4(ROUTER4, POOL4, 1, &icmp4(11, 0, [0; 4], &sent), |_| {});
    // The error travels toward the client: (Y',53) -> (X',5000), from the router.
    let rw = to_v6(53, 5000).with_error_src(IpAddr::V6(ROUTER6));
    let p = run(&mut t, &err, &rw).one();
    assert_eq!((a6(&p, 8), a6(&p, 24)), (ROUTER6, CLIENT6), "outer: the router's pool6 address -> the client");
    assert_eq!((p[40], p[41]), (3, 0), "Time Exceeded");
    assert_v6_l4_ok(&p);
    let inner = &p[48..];
    assert_eq!((a6(inner, 8), a6(inner, 24)), (CLIENT6, PLAT_SERVER6), "quoted: as the client sent it");
    assert_eq!(ports(&inner[40..]), (5000, 53), "quoted ports mirrored");
    assert_eq!(inet(&inner[40..], pseudo6(CLIENT6, PLAT_SERVER6, 17, inner.len() - 40)), 0, "quoted UDP checksum");
}

#[test]
fn rfc6146_3_6_icmp_error_outer_source_defaults_to_the_tuple() {
    let mut t = xlat();
    let sent = v4(POOL4, SERVER4, 17, &udp4(POOL4, SERVER4, 40001, 53, b"q"), |_| {});
    let err = v4(SERVER4, POOL4, 1, &icmp4(3, 3, [0; 4], &sent), |_| {});
    let p = run(&mut t, &err, &to_v6(53, 5000)).one();
    assert_eq!(a6(&p, 8), PLAT_SERVER6, "no error_src: the tuple's source");
    assert_eq!((p[40], p[41]), (1, 4), "port unreachable");
    assert_v6_l4_ok(&p);
}

#[test]
fn rfc6146_3_7_icmpv6_error_quotes_the_server_packet_mirrored() {
    let mut t = xlat();
    // What the NAT64 delivered: (Y',80) -> (X',5000); the client refuses it.
    let delivered = v6(PLAT_SERVER6, CLIENT6, 17, &udp6(PLAT_SERVER6, CLIENT6, 80, 5000, b"answer"));
    let err = v6(CLIENT6, PLAT_SERVER6, 58, &icmp6(CLIENT6, PLAT_SERVER6, 1, 4, [0; 4], &delivered));
    // The error travels toward the server: (T,40001) -> (Z,80).
    let p = run(&mut t, &err, &to_v4(40001, 80)).one();
    assert_eq!((a4(&p, 12), a4(&p, 16)), (POOL4, SERVER4));
    assert_eq!((p[20], p[21]), (3, 3), "port unreachable");
    assert_v4_ok(&p);
    let inner = &p[28..];
    assert_eq!((a4(inner, 12), a4(inner, 16)), (SERVER4, POOL4), "quoted: as the server sent it");
    assert_eq!(ports(&inner[20..]), (80, 40001), "quoted ports mirrored");
    assert_eq!(inet(&inner[20..], pseudo4(SERVER4, POOL4, 17, inner.len() - 20)), 0, "quoted UDP checksum");
    assert_eq!(inet(&inner[..20], 0), 0, "quoted header checksum");
}

#[test]
fn rfc6146_3_7_quoted_echo_identifier_mirrored() {
    let mut t = xlat();
    let sent = v4(POOL4, SERVER4, 1, &icmp4(8, 0, [0x03, 0x09, 0, 7], b"probe"), |_| {});
    let err = v4(ROUTER4, POOL4, 1, &icmp4(3, 1, [0; 4], &sent), |_| {});
    let p = run(&mut t, &err, &to_v6(0x1234, 0x1234)).one();
    let inner = &p[48..];
    assert_eq!((inner[40], u16::from_be_bytes([inner[44], inner[45]])), (128, 0x1234), "the client's identifier");
    assert_eq!(inet(&inner[40..], pseudo6(CLIENT6, PLAT_SERVER6, 58, inner.len() - 40)), 0, "quoted ICMPv6 checksum");
}

#[test]
fn rfc6146_3_7_zero_udp_checksum_computed_over_new_ports() {
    let mut t = xlat();
    let mut udp = udp4(SERVER4, POOL4, 53, 40001, b"zero");
    udp[6..8].fill(0);
    let p = run(&mut t, &v4(SERVER4, POOL4, 17, &udp, |_| {}), &to_v6(53, 5000)).one();
    assert_eq!(ports(&p[40..]), (53, 5000));
    assert_ne!(&p[46..48], &[0, 0], "RFC 7915 §4.5 compute");
    assert_v6_l4_ok(&p);
}

#[test]
fn rfc6146_3_7_fragments_first_gets_ports_later_only_addresses() {
    let mut t = xlat();
    let udp = udp6(CLIENT6, PLAT_SERVER6, 5000, 53, &[9; 64]);
    let frag = |offset: u16, more: bool, body: &[u8]| {
        let mut h = vec![17, 0];
        h.extend_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
        h.extend_from_slice(&0xabcd_u32.to_be_bytes());
        h.extend_from_slice(body);
        v6(CLIENT6, PLAT_SERVER6, 44, &h)
    };
    let first = run(&mut t, &frag(0, true, &udp[..40]), &to_v4(40001, 53)).one();
    assert_eq!(ports(&first[20..]), (40001, 53));
    assert_eq!((a4(&first, 12), a4(&first, 16)), (POOL4, SERVER4));
    let rest = run(&mut t, &frag(5, false, &udp[40..]), &to_v4(40001, 53)).one();
    assert_eq!(&rest[20..], &udp[40..], "no transport header: payload untouched");
    assert_eq!((a4(&rest, 12), a4(&rest, 16)), (POOL4, SERVER4));
    // Reassembled, the UDP checksum verifies against the new pseudo-header.
    let mut whole = first[20..].to_vec();
    whole.extend_from_slice(&rest[20..]);
    assert_eq!(inet(&whole, pseudo4(POOL4, SERVER4, 17, whole.len())), 0);
}

#[test]
fn rewrite_of_the_wrong_family_is_a_counted_drop() {
    let mut t = xlat();
    let input = v6(CLIENT6, PLAT_SERVER6, 17, &udp6(CLIENT6, PLAT_SERVER6, 5000, 53, b"x"));
    let out = run(&mut t, &input, &to_v6(1, 2));
    assert_eq!(out.action, Err(DropReason::RewriteFamilyMismatch));
    assert_eq!(t.counters().drops(DropReason::RewriteFamilyMismatch), 1);
    let half = Rewrite { error_src: Some(IpAddr::V6(ROUTER6)), ..to_v4(1, 2) };
    assert_eq!(run(&mut t, &input, &half).action, Err(DropReason::RewriteFamilyMismatch));
}

#[test]
fn stateless_translation_unaffected_after_a_stateful_one() {
    let mut t = xlat();
    let input = v6(CLIENT6, PLAT_SERVER6, 17, &udp6(CLIENT6, PLAT_SERVER6, 5000, 53, b"x"));
    let _ = run(&mut t, &input, &to_v4(1, 2));
    let clat = crate::rfc7915::tests::run(
        &mut t,
        &v4(Ipv4Addr::new(192, 0, 0, 1), SERVER4, 17, &udp4(Ipv4Addr::new(192, 0, 0, 1), SERVER4, 7, 8, b"y"), |_| {}),
    );
    let p = clat.one();
    assert_eq!(a6(p, 8), crate::rfc7915::tests::CLAT6, "EAM mapping again");
    assert_eq!(ports(&p[40..]), (7, 8), "ports untouched");
}

#[test]
fn rfc6146_3_7_originated_errors_keep_rfc7915_rules() {
    let mut t = xlat();
    let mut input = v6(CLIENT6, PLAT_SERVER6, 17, &udp6(CLIENT6, PLAT_SERVER6, 5000, 53, b"x"));
    input[7] = 1; // hop limit 1
    let out = run(&mut t, &input, &to_v4(1, 2));
    assert!(matches!(
        out.action,
        Ok(Action::IcmpError { family: Family::V6, cause: DropReason::HopLimitExceeded, .. })
    ));
    let p = out.one();
    assert_eq!(a6(&p, 24), CLIENT6, "Time Exceeded back to the client");
}

#[test]
fn icmp_error_helper_quotes_and_counts() {
    let mut t = xlat();
    let input = v6(CLIENT6, PLAT_SERVER6, 17, &udp6(CLIENT6, PLAT_SERVER6, 5000, 53, b"x"));
    let mut out = vec![0u8; OUT_BUF_LEN];
    let n = t.icmp_error(&input, 1, 1, [0; 4], &mut out).expect("an error");
    let p = &out[..n];
    assert_v6_l4_ok(p);
    assert_eq!((p[40], p[41], a6(p, 24)), (1, 1, CLIENT6), "admin prohibited back to the sender");
    assert_eq!(&p[48..], &input[..], "quotes the packet");
    assert_eq!(t.counters().icmp6_errors_sent, 1);
    let err = v4(SERVER4, POOL4, 1, &icmp4(3, 3, [0; 4], &input[..20]), |_| {});
    assert_eq!(t.icmp_error(&err, 3, 13, [0; 4], &mut out), None, "never about an ICMP error");
    assert_eq!(t.icmp_error(&[0x45, 0], 3, 13, [0; 4], &mut out), None, "garbage");
}

proptest! {
    /// RFC 1624 port and address updates equal a full recompute.
    #[test]
    fn rfc6146_3_7_incremental_checksums_verify(
        sport in any::<u16>(), dport in any::<u16>(), nsport in any::<u16>(), ndport in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..300), tcp in any::<bool>(),
    ) {
        let mut t = xlat();
        let l4 = if tcp {
            let mut s = tcp6(CLIENT6, PLAT_SERVER6, &payload);
            s[0..2].copy_from_slice(&sport.to_be_bytes());
            s[2..4].copy_from_slice(&dport.to_be_bytes());
            s[16..18].fill(0);
            let c = inet(&s, pseudo6(CLIENT6, PLAT_SERVER6, 6, s.len()));
            s[16..18].copy_from_slice(&c.to_be_bytes());
            s
        } else {
            udp6(CLIENT6, PLAT_SERVER6, sport, dport, &payload)
        };
        // A zero UDP checksum means "none" and would be computed on the way back.
        prop_assume!(tcp || l4[6..8] != [0, 0]);
        let input = v6(CLIENT6, PLAT_SERVER6, if tcp { 6 } else { 17 }, &l4);
        for p in run(&mut t, &input, &to_v4(nsport, ndport)).all() {
            prop_assert_eq!(ports(&p[20..]), (nsport, ndport));
            assert_v4_ok(&p);
            let back = run(&mut t, &p, &to_v6(sport, dport)).one();
            prop_assert_eq!(&back[40..], &l4[..], "round trip restores the segment");
        }
    }

    /// Never panics, whatever the bytes and the rewrite.
    #[test]
    fn translate_stateful_never_panics(
        data in proptest::collection::vec(any::<u8>(), 0..600), v6_in in any::<bool>(), p in any::<(u16, u16)>(),
    ) {
        let mut t = xlat();
        let mut data = data;
        if let Some(b) = data.first_mut() {
            *b = (*b & 0x0f) | if v6_in { 0x60 } else { 0x45 };
        }
        let _ = run(&mut t, &data, &to_v4(p.0, p.1));
        let _ = run(&mut t, &data, &to_v6(p.0, p.1));
    }
}
