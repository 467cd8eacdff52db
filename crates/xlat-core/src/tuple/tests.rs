//! RFC 6146 §3.4 "Determining the Incoming Tuple", from real packet bytes.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::{extract, FragmentInfo, TupleKind};
use crate::rfc7915::tests::{icmp4, icmp6, tcp6, udp4, udp6, v4, v6};
use crate::verdict::{DropReason, Family};

const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x1, 0, 0, 0, 0, 5);
const SERVER6: Ipv6Addr = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0xc633, 0x6407);
const POOL4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
const SERVER4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

#[test]
fn rfc6146_3_4_tcp_5_tuple_and_flags() {
    let p = v6(CLIENT6, SERVER6, 6, &tcp6(CLIENT6, SERVER6, b""));
    let t = extract(&p).unwrap();
    assert_eq!((t.family, t.kind, t.proto), (Family::V6, TupleKind::Tcp, 6));
    assert_eq!((t.src, t.dst), (IpAddr::V6(CLIENT6), IpAddr::V6(SERVER6)));
    assert_eq!((t.src_port, t.dst_port, t.tcp_flags), (40000, 80, 0x02), "SYN");
    assert!(!t.is_fragment() && t.is_first());
    assert_eq!(t.quoted, None);
}

#[test]
fn rfc6146_3_4_udp_ipv4_5_tuple() {
    let p = v4(SERVER4, POOL4, 17, &udp4(SERVER4, POOL4, 53, 40001, b"answer"), |_| {});
    let t = extract(&p).unwrap();
    assert_eq!((t.family, t.kind), (Family::V4, TupleKind::Udp));
    assert_eq!((t.src, t.dst), (IpAddr::V4(SERVER4), IpAddr::V4(POOL4)));
    assert_eq!((t.src_port, t.dst_port, t.tcp_flags), (53, 40001, 0));
    assert_eq!(t.payload_len, 8 + 6);
}

#[test]
fn rfc6146_3_4_icmp_query_3_tuple_identifier_in_both_ports() {
    let p = v6(CLIENT6, SERVER6, 58, &icmp6(CLIENT6, SERVER6, 128, 0, [0xab, 0xcd, 0, 1], b"ping"));
    let t = extract(&p).unwrap();
    assert_eq!((t.kind, t.src_port, t.dst_port, t.icmp), (TupleKind::IcmpQuery, 0xabcd, 0xabcd, (128, 0)));
    let p = v4(SERVER4, POOL4, 1, &icmp4(0, 0, [0x12, 0x34, 0, 1], b"pong"), |_| {});
    let t = extract(&p).unwrap();
    assert_eq!((t.kind, t.src_port, t.dst_port), (TupleKind::IcmpQuery, 0x1234, 0x1234));
}

#[test]
fn rfc6146_3_4_icmp_error_carries_the_quoted_tuple() {
    let sent = v4(POOL4, SERVER4, 17, &udp4(POOL4, SERVER4, 40001, 53, b"q"), |_| {});
    let p = v4(SERVER4, POOL4, 1, &icmp4(3, 3, [0; 4], &sent[..28]), |_| {});
    let t = extract(&p).unwrap();
    assert_eq!((t.kind, t.icmp), (TupleKind::IcmpError, (3, 3)));
    let q = t.quoted.unwrap();
    assert_eq!((q.kind, q.src, q.dst), (TupleKind::Udp, IpAddr::V4(POOL4), IpAddr::V4(SERVER4)));
    assert_eq!((q.src_port, q.dst_port), (40001, 53));
    // IPv6: an error quoting an Echo Request gives its identifier.
    let echo = v6(SERVER6, CLIENT6, 58, &icmp6(SERVER6, CLIENT6, 129, 0, [0, 9, 0, 1], b""));
    let p = v6(CLIENT6, SERVER6, 58, &icmp6(CLIENT6, SERVER6, 1, 4, [0; 4], &echo));
    let q = extract(&p).unwrap().quoted.unwrap();
    assert_eq!((q.kind, q.src_port, q.dst_port), (TupleKind::IcmpQuery, 9, 9));
}

#[test]
fn rfc6146_3_4_error_quoting_an_error_refused() {
    let inner_err = v4(POOL4, SERVER4, 1, &icmp4(3, 1, [0; 4], &[0x45; 28]), |_| {});
    let p = v4(SERVER4, POOL4, 1, &icmp4(3, 3, [0; 4], &inner_err), |_| {});
    assert_eq!(extract(&p), Err(DropReason::IcmpErrorInError));
    let p = v4(SERVER4, POOL4, 1, &icmp4(3, 3, [0; 4], &[0x45, 0, 0]), |_| {});
    assert_eq!(extract(&p), Err(DropReason::IcmpInnerMalformed));
}

#[test]
fn rfc6146_3_4_fragments_ports_only_in_the_first() {
    let udp = udp6(CLIENT6, SERVER6, 5000, 53, &[1; 64]);
    let frag = |offset: u16, more: bool, body: &[u8]| {
        let mut h = vec![17, 0];
        h.extend_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
        h.extend_from_slice(&7_u32.to_be_bytes());
        h.extend_from_slice(body);
        v6(CLIENT6, SERVER6, 44, &h)
    };
    let first = extract(&frag(0, true, &udp[..40])).unwrap();
    assert_eq!((first.kind, first.src_port, first.dst_port), (TupleKind::Udp, 5000, 53));
    assert_eq!(first.fragment, Some(FragmentInfo { id: 7, offset: 0, more: true }));
    assert!(first.is_fragment() && first.is_first());
    let later = extract(&frag(5, false, &udp[40..])).unwrap();
    assert_eq!((later.kind, later.src_port, later.dst_port), (TupleKind::Udp, 0, 0), "no transport header");
    assert_eq!(later.fragment, Some(FragmentInfo { id: 7, offset: 40, more: false }));
    assert!(!later.is_first());
    assert_eq!(later.payload_len, 32);
    // IPv4: MF and offset from the header.
    let p = v4(SERVER4, POOL4, 17, &[0; 16], |p| p[6..8].copy_from_slice(&0x2003u16.to_be_bytes()));
    let t = extract(&p).unwrap();
    assert_eq!(t.fragment, Some(FragmentInfo { id: 0x1234, offset: 24, more: true }));
}

#[test]
fn rfc6146_5_other_protocols_and_icmp_kinds() {
    let p = v6(CLIENT6, SERVER6, 132, &[0; 12]);
    assert_eq!(extract(&p).unwrap().kind, TupleKind::Other, "SCTP");
    let ns = v6(CLIENT6, SERVER6, 58, &icmp6(CLIENT6, SERVER6, 135, 0, [0; 4], &[0; 16]));
    assert_eq!(extract(&ns).unwrap().kind, TupleKind::IcmpOther, "Neighbor Solicitation");
}

#[test]
fn malformed_packets_get_the_translation_drop_reason() {
    assert_eq!(extract(&[]), Err(DropReason::UnknownVersion));
    assert_eq!(extract(&[0x70; 40]), Err(DropReason::UnknownVersion));
    assert_eq!(extract(&[0x45, 0, 0, 20]), Err(DropReason::Ipv4HeaderTruncated));
    let mut long = v4(SERVER4, POOL4, 17, &udp4(SERVER4, POOL4, 1, 2, b""), |_| {});
    long[2..4].copy_from_slice(&100u16.to_be_bytes());
    assert_eq!(extract(&long), Err(DropReason::Ipv4BadTotalLength));
    assert_eq!(extract(&[0x60; 20]), Err(DropReason::Ipv6HeaderTruncated));
    let short_udp = v6(CLIENT6, SERVER6, 17, &[0, 1, 0]);
    assert_eq!(extract(&short_udp), Err(DropReason::TransportTruncated));
    let mut plen = v6(CLIENT6, SERVER6, 17, &udp6(CLIENT6, SERVER6, 1, 2, b""));
    plen[5] = 200;
    assert_eq!(extract(&plen), Err(DropReason::Ipv6BadPayloadLength));
}

proptest! {
    #[test]
    fn extract_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), v6_in in any::<bool>()) {
        let mut data = data;
        if let Some(b) = data.first_mut() {
            *b = (*b & 0x0f) | if v6_in { 0x60 } else { 0x40 };
        }
        let _ = extract(&data);
    }
}
