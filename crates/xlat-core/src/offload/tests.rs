//! Offload tests: a GSO super-packet translated once and cut by the kernel's
//! rules gives the same bytes as cutting it first and translating each
//! segment (the per-packet path), in both directions.

use core::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::rfc7915::tests::{config, inet, pseudo4, pseudo6, udp4, v4, v6, xlat, CLAT4, CLAT6, SERVER6};
use crate::{Action, DropReason, Translator, OUT_BUF_LEN};

const SERVER4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
const ACK_PSH: u8 = 0x18;

/// A TCP segment (20-byte header) whose checksum field holds the partial
/// pseudo-header sum, as the kernel leaves it for CHECKSUM_PARTIAL.
fn tcp_partial(pseudo: u64, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = vec![0x9c, 0x40, 0, 80, 0x10, 0x20, 0x30, 0x40, 0, 0, 0, 1, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0];
    t.extend_from_slice(payload);
    // inet() returns the complemented sum; the partial field is the plain sum.
    let p = !inet(&[], pseudo + t.len() as u64);
    t[16..18].copy_from_slice(&p.to_be_bytes());
    t
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn super4(df: bool, flags: u8, n: usize) -> Vec<u8> {
    let l4 = tcp_partial(pseudo4(CLAT4, SERVER4, 6, 0), flags, &payload(n));
    v4(CLAT4, SERVER4, 6, &l4, |p| p[6] = if df { 0x40 } else { 0 })
}

fn super6(flags: u8, n: usize) -> Vec<u8> {
    let l4 = tcp_partial(pseudo6(SERVER6, CLAT6, 6, 0), flags, &payload(n));
    v6(SERVER6, CLAT6, 6, &l4)
}

fn tso(kind: u8, l3: u16, mss: u16) -> VnetHdr {
    VnetHdr { flags: F_NEEDS_CSUM, gso_type: kind, hdr_len: l3 + 20, gso_size: mss, csum_start: l3, csum_offset: 16 }
}

/// Cuts `pkt` as `hdr` says.
fn cut(hdr: &VnetHdr, pkt: &[u8]) -> Vec<Vec<u8>> {
    let s = Segmenter::new(hdr, pkt).expect("segmenter");
    let mut buf = vec![0u8; 70_000];
    (0..s.count())
        .map(|i| {
            let n = s.write(pkt, i, &mut buf).expect("segment");
            buf[..n].to_vec()
        })
        .collect()
}

/// The direct path: plan, translate once with the segment hint, finish, cut.
fn direct(x: &mut Translator, hdr: &VnetHdr, pkt: &[u8]) -> (VnetHdr, Vec<Vec<u8>>) {
    let Ok(Plan::Direct { segment }) = plan(hdr, pkt, x.config()) else { panic!("not direct") };
    let mut out = vec![0u8; OUT_BUF_LEN];
    x.set_gso_segment(segment);
    let r = x.translate(pkt, &mut out);
    x.set_gso_segment(None);
    let Ok(Action::Translated { len, segment, .. }) = r else { panic!("not translated: {r:?}") };
    assert_eq!(segment, len, "one packet");
    let out_hdr = finish(hdr, pkt, &mut out[..len]).expect("finish");
    (out_hdr, cut(&out_hdr, &out[..len]))
}

/// The per-packet path: cut, then translate each segment.
fn per_packet(x: &mut Translator, hdr: &VnetHdr, pkt: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![0u8; OUT_BUF_LEN];
    cut(hdr, pkt)
        .iter()
        .map(|seg| match x.translate(seg, &mut out) {
            Ok(Action::Translated { len, segment, .. }) if segment == len => out[..len].to_vec(),
            r => panic!("segment not translated as one packet: {r:?}"),
        })
        .collect()
}

/// IPv4 Identification and header checksum blanked: per-packet translation
/// draws a fresh ID per packet, the kernel numbers a super-packet's
/// segments from its ID (both are fine for DF=1 atomic datagrams, RFC 6864).
/// DF is blanked on a short last segment (<= 1260 bytes): per packet, RFC
/// 7915 §5.1 clears it by size; cut from a super-packet it keeps the
/// flow's DF (it fits every IPv4 link of at least 1260 bytes either way).
fn without_ipv4_id(mut segs: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    for s in &mut segs {
        s[4..6].fill(0);
        s[10..12].fill(0);
        if s.len() <= 1260 {
            s[6] &= !0x40;
        }
    }
    segs
}

#[test]
fn header_round_trips_in_host_order() {
    let h = VnetHdr { flags: 1, gso_type: 0x84, hdr_len: 60, gso_size: 1428, csum_start: 40, csum_offset: 16 };
    let mut b = [0u8; VNET_HDR_LEN];
    h.emit(&mut b);
    assert_eq!(b[4..6], 1428u16.to_ne_bytes());
    assert_eq!(VnetHdr::parse(&b), Some(h));
    assert_eq!(h.gso_kind(), gso::TCPV6);
    assert_eq!(VnetHdr::parse(&b[..9]), None);
}

#[test]
fn tso_v4_to_v6_direct_equals_per_packet() {
    let pkt = super4(true, ACK_PSH, 10 * 1000 + 123);
    let hdr = tso(gso::TCPV4 | gso::ECN, 20, 1000);
    let (out_hdr, direct) = direct(&mut xlat(), &hdr, &pkt);
    assert_eq!(out_hdr.gso_type, gso::TCPV6 | gso::ECN, "TCPV4 -> TCPV6, ECN kept");
    assert_eq!((out_hdr.csum_start, out_hdr.csum_offset, out_hdr.hdr_len), (40, 16, 60));
    assert_eq!(out_hdr.gso_size, 1000);
    assert_eq!(direct.len(), 11);
    assert_eq!(direct, per_packet(&mut xlat(), &hdr, &pkt));
}

#[test]
fn tso_v6_to_v4_direct_equals_per_packet_but_for_ids() {
    let pkt = super6(ACK_PSH | 0x01, 20 * 1400);
    let hdr = tso(gso::TCPV6, 40, 1400);
    let (out_hdr, direct) = direct(&mut xlat(), &hdr, &pkt);
    assert_eq!((out_hdr.gso_type, out_hdr.csum_start, out_hdr.hdr_len), (gso::TCPV4, 20, 40));
    // Segments of 1440 bytes > 1260: DF set on every one (RFC 7915 §5.1).
    assert!(direct.iter().all(|s| s[6] & 0x40 != 0));
    let ids: Vec<u16> = direct.iter().map(|s| u16::from_be_bytes([s[4], s[5]])).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0].wrapping_add(1)), "kernel-style consecutive IDs: {ids:?}");
    assert_eq!(without_ipv4_id(direct), without_ipv4_id(per_packet(&mut xlat(), &hdr, &pkt)));
}

#[test]
fn segments_carry_fin_psh_last_and_cwr_first_only() {
    let pkt = super4(true, 0x80 | ACK_PSH | 0x01, 3000);
    let segs = cut(&tso(gso::TCPV4, 20, 1000), &pkt);
    let flags: Vec<u8> = segs.iter().map(|s| s[20 + 13]).collect();
    assert_eq!(flags, [0x80 | 0x10, 0x10, ACK_PSH | 0x01]);
    let seqs: Vec<u32> = segs.iter().map(|s| u32::from_be_bytes([s[24], s[25], s[26], s[27]])).collect();
    assert_eq!(seqs, [0x1020_3040, 0x1020_3040 + 1000, 0x1020_3040 + 2000]);
    // Each segment's checksum is complete and valid.
    for s in &segs {
        assert_eq!(inet(&s[20..], pseudo4(CLAT4, SERVER4, 6, s.len() - 20)), 0);
    }
}

#[test]
fn single_partial_tcp_packet_keeps_partial_checksum() {
    let pkt = super4(true, ACK_PSH, 500);
    let hdr = VnetHdr { flags: F_NEEDS_CSUM, csum_start: 20, csum_offset: 16, ..VnetHdr::default() };
    let mut x = xlat();
    assert_eq!(plan(&hdr, &pkt, x.config()), Ok(Plan::Direct { segment: None }));
    let mut out = vec![0u8; OUT_BUF_LEN];
    let Ok(Action::Translated { len, .. }) = x.translate(&pkt, &mut out) else { panic!() };
    let h = finish(&hdr, &pkt, &mut out[..len]).unwrap();
    assert_eq!((h.flags, h.gso_type, h.csum_start, h.gso_size), (F_NEEDS_CSUM, gso::NONE, 40, 0));
    assert!(complete_checksum(&mut out[..len], h.csum_start, h.csum_offset));
    // Same bytes as completing the checksum first and translating normally.
    let mut full = pkt.clone();
    assert!(complete_checksum(&mut full, 20, 16));
    let mut out2 = vec![0u8; OUT_BUF_LEN];
    let Ok(Action::Translated { len: len2, .. }) = xlat().translate(&full, &mut out2) else { panic!() };
    assert_eq!(out[..len], out2[..len2]);
}

#[test]
fn complete_checksum_matches_a_full_udp_checksum() {
    let good = udp4(CLAT4, SERVER4, 5000, 53, b"query");
    let mut partial = good.clone();
    let p = !inet(&[], pseudo4(CLAT4, SERVER4, 17, good.len()));
    partial[6..8].copy_from_slice(&p.to_be_bytes());
    let mut pkt = v4(CLAT4, SERVER4, 17, &partial, |_| {});
    let hdr = VnetHdr { flags: F_NEEDS_CSUM, csum_start: 20, csum_offset: 6, ..VnetHdr::default() };
    assert_eq!(plan(&hdr, &pkt, &xlat().config().clone()), Ok(Plan::CompleteChecksum));
    assert!(complete_checksum(&mut pkt, 20, 6));
    assert_eq!(pkt[20..], good[..]);
    assert!(!complete_checksum(&mut pkt, 20, 200), "offset past the packet");
}

#[test]
fn plan_splits_what_one_rewrite_cannot_carry() {
    let cfg = crate::Config::validate(config()).unwrap();
    // DF clear and one translated segment (40 + 20 + 1300) above the
    // lowest IPv6 MTU (1280): per segment it would be fragmented.
    let pkt = super4(false, ACK_PSH, 5000);
    assert_eq!(plan(&tso(gso::TCPV4, 20, 1300), &pkt, &cfg), Ok(Plan::Split));
    // ... but small DF=0 segments are fine.
    assert_eq!(plan(&tso(gso::TCPV4, 20, 1000), &pkt, &cfg), Ok(Plan::Direct { segment: Some(1020) }));
    // UDP GSO is cut.
    let u = v4(CLAT4, SERVER4, 17, &[0u8; 3000], |_| {});
    let uh = VnetHdr { gso_type: gso::UDP_L4, hdr_len: 28, csum_offset: 6, ..tso(gso::UDP_L4, 20, 1000) };
    assert_eq!(plan(&uh, &u, &cfg), Ok(Plan::Split));
    // An IPv6 extension header is cut.
    let mut ext = vec![6, 0, 1, 4, 0, 0, 0, 0];
    ext.extend(tcp_partial(pseudo6(SERVER6, CLAT6, 6, 0), ACK_PSH, &payload(3000)));
    let e = v6(SERVER6, CLAT6, 60, &ext);
    assert_eq!(plan(&tso(gso::TCPV6, 48, 1000), &e, &cfg), Ok(Plan::Split));
}

#[test]
fn plan_rejects_inconsistent_headers() {
    let cfg = crate::Config::validate(config()).unwrap();
    let pkt = super4(true, ACK_PSH, 3000);
    let mut h = tso(gso::TCPV4, 20, 0);
    assert_eq!(plan(&h, &pkt, &cfg), Err(OffloadError::BadHeader), "gso_size 0");
    h = tso(gso::UDP, 20, 1000);
    assert_eq!(plan(&h, &pkt, &cfg), Err(OffloadError::BadHeader), "UFO");
    h = VnetHdr { csum_start: 4000, ..tso(gso::TCPV4, 20, 1000) };
    assert_eq!(plan(&h, &pkt, &cfg), Err(OffloadError::BadHeader), "csum_start past the end");
    h = VnetHdr { flags: 0, ..tso(gso::TCPV4, 20, 1000) };
    assert_eq!(plan(&h, &pkt, &cfg), Err(OffloadError::BadHeader), "GSO without a partial checksum");
    assert_eq!(plan(&tso(gso::TCPV4, 20, 1000), &[0x10; 64], &cfg), Err(OffloadError::Mismatch));
    assert!(Segmenter::new(&tso(gso::TCPV4, 20, 1000), &pkt[..30]).is_err());
    // A TCP data offset under 5 words (found by the fuzzer): refused, not
    // read past.
    let mut short = pkt.clone();
    short[20 + 12] = 0x30;
    assert_eq!(Segmenter::new(&tso(gso::TCPV4, 20, 1000), &short).unwrap_err(), OffloadError::BadHeader);
    // csum_start inside the IPv4 header.
    assert!(Segmenter::new(&tso(gso::TCPV4, 12, 1000), &pkt).is_err());
}

#[test]
fn too_big_segment_gets_one_frag_needed_for_the_segment_mtu() {
    // 1480 bytes of payload: 1520-byte IPv6 segments over a 1500 MTU.
    let pkt = super4(true, ACK_PSH, 4 * 1460);
    let hdr = tso(gso::TCPV4, 20, 1460);
    let mut x = xlat();
    let Ok(Plan::Direct { segment }) = plan(&hdr, &pkt, x.config()) else { panic!() };
    x.set_gso_segment(segment);
    let mut out = vec![0u8; OUT_BUF_LEN];
    let r = x.translate(&pkt, &mut out);
    let Ok(Action::IcmpError { len, cause: DropReason::PacketTooBig, .. }) = r else { panic!("{r:?}") };
    // ICMPv4 3/4 with next-hop MTU 1480 (1500 - 20).
    assert_eq!((out[20], out[21]), (3, 4));
    assert_eq!(u16::from_be_bytes([out[26], out[27]]), 1480);
    assert_eq!(finish(&hdr, &pkt, &mut out[..len]), None, "an ICMP error is a plain packet");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn direct_equals_per_packet(n in 1usize..30_000, mss in 100u16..1400, to_v6 in any::<bool>(), fin in any::<bool>()) {
        let flags = ACK_PSH | if fin { 1 } else { 0 };
        let (pkt, hdr) = if to_v6 {
            (super4(true, flags, n), tso(gso::TCPV4, 20, mss))
        } else {
            (super6(flags, n), tso(gso::TCPV6, 40, mss))
        };
        let mut x = xlat();
        match plan(&hdr, &pkt, x.config()).unwrap() {
            Plan::Direct { .. } => {
                let (_, d) = direct(&mut x, &hdr, &pkt);
                let p = per_packet(&mut xlat(), &hdr, &pkt);
                if to_v6 { prop_assert_eq!(d, p) } else { prop_assert_eq!(without_ipv4_id(d), without_ipv4_id(p)) }
            }
            other => prop_assert_eq!(other, Plan::Split),
        }
    }
}
