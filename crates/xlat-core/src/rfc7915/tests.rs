//! RFC 7915 behaviour tests, built from real packet bytes. Test names name
//! the rule (`rfc7915_<section>_<rule>`); `tests/rfc7915.md` maps every
//! MUST/SHOULD/MAY to them.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::config::{Config, UdpZeroChecksum};
use crate::verdict::{Action, DropReason, Family};
use crate::{rfc7757, Translator, OUT_BUF_LEN};

// ---------------------------------------------------------------- helpers

/// Independent RFC 1071 sum (not the crate's), so tests don't check the
/// checksum code with itself.
pub(crate) fn inet(data: &[u8], mut acc: u64) -> u16 {
    for c in data.chunks(2) {
        acc += u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn words(b: &[u8]) -> u64 {
    b.chunks(2).map(|c| u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum()
}

pub(crate) const SERVER4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
pub(crate) const CLAT4: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 1);
pub(crate) const CLAT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xaaaa, 0, 0, 0, 0, 1);
pub(crate) const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, 0xc633, 0x6407);

pub(crate) fn config() -> Config {
    Config {
        pool6: Some("2001:db8:64::/96".parse().unwrap()),
        eam: rfc7757::Table::new(["192.0.0.1/32=2001:db8:aaaa::1/128".parse().unwrap()]).unwrap(),
        ..Config::default()
    }
}

pub(crate) fn xlat() -> Translator {
    Translator::new(config()).unwrap()
}

fn xlat_with(f: impl FnOnce(&mut Config)) -> Translator {
    let mut c = config();
    f(&mut c);
    Translator::new(c).unwrap()
}

/// An IPv4 packet; `edit` may change header fields before the checksum.
pub(crate) fn v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0];
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(l4);
    edit(&mut p);
    let total = p.len() as u16;
    p[2..4].copy_from_slice(&total.to_be_bytes());
    let ihl = usize::from(p[0] & 0xf) * 4;
    p[10..12].fill(0);
    let c = inet(&p[..ihl], 0);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

/// An IPv6 packet with optional extension headers (already encoded, the
/// first byte of each being its Next Header).
pub(crate) fn v6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, ext_and_l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0, 0, 0, next, 64];
    p[4..6].copy_from_slice(&(ext_and_l4.len() as u16).to_be_bytes());
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(ext_and_l4);
    p
}

pub(crate) fn pseudo4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: usize) -> u64 {
    words(&src.octets()) + words(&dst.octets()) + u64::from(proto) + len as u64
}

pub(crate) fn pseudo6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, len: usize) -> u64 {
    words(&src.octets()) + words(&dst.octets()) + u64::from(proto) + len as u64
}

/// UDP datagram with a correct checksum for the IPv4 pseudo-header.
pub(crate) fn udp4(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    // RFC 768: a computed checksum of zero is sent as all ones (zero means none).
    let c = match inet(&u, pseudo4(src, dst, 17, u.len())) {
        0 => 0xffff,
        c => c,
    };
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

pub(crate) fn udp6(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = udp4(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, sport, dport, payload);
    u[6..8].fill(0);
    let c = match inet(&u, pseudo6(src, dst, 17, u.len())) {
        0 => 0xffff,
        c => c,
    };
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

/// A TCP SYN with an MSS option and a correct IPv4 checksum.
pub(crate) fn tcp4(src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let mut t = vec![0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 5, 0xb4];
    t.extend_from_slice(payload);
    let c = inet(&t, pseudo4(src, dst, 6, t.len()));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

pub(crate) fn tcp6(src: Ipv6Addr, dst: Ipv6Addr, payload: &[u8]) -> Vec<u8> {
    let mut t = tcp4(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, payload);
    t[16..18].fill(0);
    let c = inet(&t, pseudo6(src, dst, 6, t.len()));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

/// An ICMPv4 message with a correct checksum.
pub(crate) fn icmp4(ty: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(body);
    let c = inet(&m, 0);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// An ICMPv6 message with a correct checksum.
pub(crate) fn icmp6(src: Ipv6Addr, dst: Ipv6Addr, ty: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty, code, 0, 0];
    m.extend_from_slice(&rest);
    m.extend_from_slice(body);
    let c = inet(&m, pseudo6(src, dst, 58, m.len()));
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// Output of one translation.
pub(crate) struct Out {
    pub(crate) action: Result<Action, DropReason>,
    pub(crate) buf: Vec<u8>,
}

impl Out {
    pub(crate) fn packets(&self) -> Vec<&[u8]> {
        match &self.action {
            Ok(a) => a.packets(&self.buf).collect(),
            Err(_) => Vec::new(),
        }
    }
    pub(crate) fn one(&self) -> &[u8] {
        let p = self.packets();
        assert_eq!(p.len(), 1, "expected one packet, got {:?}", self.action);
        p[0]
    }
}

pub(crate) fn run(t: &mut Translator, input: &[u8]) -> Out {
    let mut buf = vec![0u8; OUT_BUF_LEN];
    let action = t.translate(input, &mut buf);
    Out { action, buf }
}

pub(crate) fn a6(p: &[u8], at: usize) -> Ipv6Addr {
    let mut b = [0; 16];
    b.copy_from_slice(&p[at..at + 16]);
    Ipv6Addr::from(b)
}

pub(crate) fn a4(p: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(p[at], p[at + 1], p[at + 2], p[at + 3])
}

/// Asserts the transport checksum of an unfragmented IPv6 packet verifies.
pub(crate) fn assert_v6_l4_ok(p: &[u8]) {
    let (src, dst) = (a6(p, 8), a6(p, 24));
    let next = p[6];
    let l4 = &p[40..];
    assert_eq!(usize::from(u16::from_be_bytes([p[4], p[5]])), l4.len(), "payload length");
    assert_eq!(inet(l4, pseudo6(src, dst, next, l4.len())), 0, "IPv6 {next} checksum");
}

/// Asserts the IPv4 header and transport checksums verify.
pub(crate) fn assert_v4_ok(p: &[u8]) {
    assert_eq!(inet(&p[..20], 0), 0, "IPv4 header checksum");
    assert_eq!(usize::from(u16::from_be_bytes([p[2], p[3]])), p.len(), "total length");
    let proto = p[9];
    let l4 = &p[20..];
    let extra = if proto == 1 { 0 } else { pseudo4(a4(p, 12), a4(p, 16), proto, l4.len()) };
    assert_eq!(inet(l4, extra), 0, "IPv4 proto {proto} checksum");
}

fn expect_icmp4_error(out: &Out, ty: u8, code: u8, cause: DropReason) -> Vec<u8> {
    match out.action {
        Ok(Action::IcmpError { family: Family::V4, cause: c, .. }) => assert_eq!(c, cause),
        ref other => panic!("expected ICMPv4 error, got {other:?}"),
    }
    let p = out.one().to_vec();
    assert_v4_ok(&p);
    assert_eq!((p[9], p[20], p[21]), (1, ty, code));
    p
}

fn expect_icmp6_error(out: &Out, ty: u8, code: u8, cause: DropReason) -> Vec<u8> {
    match out.action {
        Ok(Action::IcmpError { family: Family::V6, cause: c, .. }) => assert_eq!(c, cause),
        ref other => panic!("expected ICMPv6 error, got {other:?}"),
    }
    let p = out.one().to_vec();
    assert_v6_l4_ok(&p);
    assert_eq!((p[6], p[40], p[41]), (58, ty, code));
    p
}

// ------------------------------------------------------------ §4 IPv4->IPv6

#[test]
fn rfc7915_4_1_udp_header_fields() {
    let mut t = xlat();
    let udp = udp4(CLAT4, SERVER4, 5353, 53, b"hello dns");
    let input = v4(CLAT4, SERVER4, 17, &udp, |p| p[1] = 0xb8);
    let out = run(&mut t, &input);
    assert!(matches!(out.action, Ok(Action::Translated { family: Family::V6, .. })));
    let p = out.one();
    assert_eq!(p[0] >> 4, 6, "version");
    assert_eq!(((p[0] & 0xf) << 4) | (p[1] >> 4), 0xb8, "traffic class copied from TOS");
    assert_eq!(u32::from_be_bytes([0, p[1] & 0xf, p[2], p[3]]), 0, "flow label zero");
    assert_eq!(p[6], 17, "next header = protocol");
    assert_eq!(p[7], 63, "hop limit = TTL - 1");
    assert_eq!(a6(p, 8), CLAT6, "source via EAM");
    assert_eq!(a6(p, 24), SERVER6, "destination via pool6");
    assert_eq!(&p[48..], b"hello dns", "payload unchanged");
    assert_eq!(&p[40..44], &udp[..4], "ports unchanged");
    assert_v6_l4_ok(p);
}

#[test]
fn rfc7915_4_1_ttl_to_hop_limit() {
    let mut t = xlat();
    for ttl in [2u8, 64, 255] {
        let input = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, b"x"), |p| p[8] = ttl);
        assert_eq!(run(&mut t, &input).one()[7], ttl - 1);
    }
}

#[test]
fn rfc7915_4_1_traffic_class_zeroed_when_configured() {
    let mut t = xlat_with(|c| c.copy_traffic_class = false);
    let input = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, b"x"), |p| p[1] = 0xb8);
    let p = run(&mut t, &input).one().to_vec();
    assert_eq!(((p[0] & 0xf) << 4) | (p[1] >> 4), 0);
}

#[test]
fn rfc7915_4_1_ttl_exceeded_sends_icmpv4_time_exceeded() {
    let mut t = xlat();
    let input = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, b"x"), |p| p[8] = 1);
    let out = run(&mut t, &input);
    let p = expect_icmp4_error(&out, 11, 0, DropReason::TtlExceeded);
    assert_eq!(a4(&p, 12), t.config().config().ipv4_addr, "from the translator");
    assert_eq!(a4(&p, 16), CLAT4, "to the sender");
    assert_eq!(&p[28..], &input[..], "quotes the original packet");
    assert_eq!(t.counters().drops(DropReason::TtlExceeded), 1);
    assert_eq!(t.counters().icmp4_errors_sent, 1);
}

#[test]
fn rfc7915_4_1_options_ignored() {
    let mut t = xlat();
    let udp = udp4(CLAT4, SERVER4, 1, 2, b"opt");
    // IHL 6: one word of options (NOP, NOP, NOP, END).
    let input = v4(CLAT4, SERVER4, 17, &[], |p| {
        p[0] = 0x46;
        p.extend_from_slice(&[1, 1, 1, 0]);
        p.extend_from_slice(&udp);
    });
    let out = run(&mut t, &input);
    let p = out.one();
    assert_eq!(p.len(), 40 + udp.len(), "options not carried over");
    assert_v6_l4_ok(p);
}

#[test]
fn rfc7915_4_1_unexpired_source_route_dropped_with_icmp_3_5() {
    let mut t = xlat();
    let udp = udp4(CLAT4, SERVER4, 1, 2, b"lsrr");
    // LSRR, length 7, pointer 4 (one hop left), one address, then END.
    let input = v4(CLAT4, SERVER4, 17, &[], |p| {
        p[0] = 0x47;
        p.extend_from_slice(&[131, 7, 4, 203, 0, 113, 1, 0]);
        p.extend_from_slice(&udp);
    });
    expect_icmp4_error(&run(&mut t, &input), 3, 5, DropReason::Ipv4SourceRoute);
    // An expired source route (pointer past the end) is translated.
    let input = v4(CLAT4, SERVER4, 17, &[], |p| {
        p[0] = 0x47;
        p.extend_from_slice(&[131, 7, 8, 203, 0, 113, 1, 0]);
        p.extend_from_slice(&udp);
    });
    assert!(matches!(run(&mut t, &input).action, Ok(Action::Translated { .. })));
}

#[test]
fn rfc7915_4_1_df_set_too_big_sends_fragmentation_needed() {
    let mut t = xlat_with(|c| c.mtu_v6 = 1280);
    let input = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, &[7; 1300]), |_| {});
    let out = run(&mut t, &input);
    let p = expect_icmp4_error(&out, 3, 4, DropReason::PacketTooBig);
    assert_eq!(u16::from_be_bytes([p[26], p[27]]), 1260, "IPv6 MTU minus 20");
    assert!(p.len() <= 576, "RFC 1812 size limit");
}

#[test]
fn rfc7915_4_1_df_clear_small_packet_gets_no_fragment_header() {
    let mut t = xlat();
    let input = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, &[1; 100]), |p| p[6] = 0);
    let p = run(&mut t, &input).one().to_vec();
    assert_eq!(p[6], 17, "no Fragment header");
}

#[test]
fn rfc7915_4_1_df_clear_large_packet_fragmented_to_lowest_ipv6_mtu() {
    let mut t = xlat();
    let payload: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let udp = udp4(CLAT4, SERVER4, 1000, 2000, &payload);
    let input = v4(CLAT4, SERVER4, 17, &udp, |p| {
        p[6] = 0;
        p[4..6].copy_from_slice(&0xbeefu16.to_be_bytes());
    });
    let out = run(&mut t, &input);
    let frags = out.packets();
    assert_eq!(frags.len(), 3, "3008 bytes / 1232 per fragment");
    let mut reassembled = vec![0u8; udp.len()];
    for (i, f) in frags.iter().enumerate() {
        assert!(f.len() <= 1280, "fragment {i} is {} bytes", f.len());
        assert_eq!(f[6], 44, "Fragment header");
        assert_eq!(f[40], 17, "fragment next header");
        let off_m = u16::from_be_bytes([f[42], f[43]]);
        assert_eq!(off_m & 1 == 1, i < 2, "M flag");
        assert_eq!(u32::from_be_bytes([f[44], f[45], f[46], f[47]]), 0xbeef, "identification");
        assert_eq!(usize::from(u16::from_be_bytes([f[4], f[5]])), f.len() - 40);
        let off = usize::from(off_m >> 3) * 8;
        reassembled[off..off + f.len() - 48].copy_from_slice(&f[48..]);
    }
    let p0 = frags[0];
    assert_eq!(
        inet(&reassembled, pseudo6(a6(p0, 8), a6(p0, 24), 17, reassembled.len())),
        0,
        "UDP checksum over the reassembly"
    );
    assert_eq!(&reassembled[8..], &payload[..]);
    assert_eq!(t.counters().fragmented, 1);
}

#[test]
fn rfc7915_4_1_lowest_ipv6_mtu_is_configurable() {
    let mut t = xlat_with(|c| c.lowest_ipv6_mtu = 1500);
    let input = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, &[1; 1400]), |p| p[6] = 0);
    let p = run(&mut t, &input).one().to_vec();
    assert_eq!(p[6], 17, "fits 1500: not fragmented");
    assert_v6_l4_ok(&p);
}

#[test]
fn rfc7915_4_1_fragment_gets_fragment_header() {
    let mut t = xlat();
    let udp = udp4(CLAT4, SERVER4, 1, 2, &[9; 64]);
    // First fragment: MF set, offset 0, 40 bytes of the datagram.
    let first = v4(CLAT4, SERVER4, 17, &udp[..40], |p| {
        p[4..6].copy_from_slice(&0x4242u16.to_be_bytes());
        p[6] = 0x20;
    });
    let f = run(&mut t, &first).one().to_vec();
    assert_eq!((f[6], f[40]), (44, 17));
    assert_eq!(u16::from_be_bytes([f[42], f[43]]), 1, "offset 0, M=1");
    assert_eq!(u32::from_be_bytes([f[44], f[45], f[46], f[47]]), 0x4242);
    assert_eq!(usize::from(u16::from_be_bytes([f[4], f[5]])), 8 + 40, "payload length includes Fragment header");
    // Second fragment: offset 5 (40 bytes), last.
    let second = v4(CLAT4, SERVER4, 17, &udp[40..], |p| {
        p[4..6].copy_from_slice(&0x4242u16.to_be_bytes());
        p[6..8].copy_from_slice(&5u16.to_be_bytes());
    });
    let g = run(&mut t, &second).one().to_vec();
    assert_eq!(u16::from_be_bytes([g[42], g[43]]), 5 << 3, "offset carried, M=0");
    assert_eq!(&g[48..], &udp[40..], "non-first fragment payload untouched");
    // Reassembled checksum verifies with the IPv6 pseudo-header.
    let mut whole = f[48..].to_vec();
    whole.extend_from_slice(&g[48..]);
    assert_eq!(inet(&whole, pseudo6(CLAT6, SERVER6, 17, whole.len())), 0);
}

#[test]
fn rfc7915_4_5_tcp_checksum_updated_incrementally() {
    let mut t = xlat();
    let input = v4(CLAT4, SERVER4, 6, &tcp4(CLAT4, SERVER4, b"GET / HTTP/1.1\r\n"), |_| {});
    let p = run(&mut t, &input).one().to_vec();
    assert_eq!(p[6], 6);
    assert_v6_l4_ok(&p);
}

#[test]
fn rfc7915_4_5_udp_zero_checksum_policies() {
    let mut udp = udp4(CLAT4, SERVER4, 1, 2, b"zero");
    udp[6..8].fill(0);
    let input = v4(CLAT4, SERVER4, 17, &udp, |_| {});
    let mut compute = xlat_with(|c| c.udp_zero_checksum = UdpZeroChecksum::Compute);
    let p = run(&mut compute, &input).one().to_vec();
    assert_ne!(&p[46..48], &[0, 0]);
    assert_v6_l4_ok(&p);
    let mut drop = xlat_with(|c| c.udp_zero_checksum = UdpZeroChecksum::Drop);
    assert_eq!(run(&mut drop, &input).action, Err(DropReason::UdpZeroChecksum));
    let mut forward = xlat_with(|c| c.udp_zero_checksum = UdpZeroChecksum::Forward);
    assert_eq!(&run(&mut forward, &input).one()[46..48], &[0, 0]);
    // §4.5: a fragmented zero-checksum datagram cannot be fixed: drop.
    let frag = v4(CLAT4, SERVER4, 17, &udp, |p| p[6] = 0x20);
    assert_eq!(run(&mut compute, &frag).action, Err(DropReason::UdpZeroChecksum));
}

#[test]
fn rfc7915_4_2_echo_request_and_reply() {
    let mut t = xlat();
    for (ty4, ty6) in [(8u8, 128u8), (0, 129)] {
        let icmp = icmp4(ty4, 0, [0x12, 0x34, 0, 1], b"ping payload");
        let p = run(&mut t, &v4(CLAT4, SERVER4, 1, &icmp, |_| {})).one().to_vec();
        assert_eq!((p[6], p[40], p[41]), (58, ty6, 0));
        assert_eq!(&p[44..], &icmp[4..], "identifier, sequence, data unchanged");
        assert_v6_l4_ok(&p);
    }
}

#[test]
fn rfc7915_4_2_obsolete_and_unknown_types_silently_dropped() {
    let mut t = xlat();
    for ty in [13u8, 14, 15, 16, 17, 18, 9, 10, 4, 5, 6, 42] {
        let input = v4(CLAT4, SERVER4, 1, &icmp4(ty, 0, [0; 4], &[0; 28]), |_| {});
        assert_eq!(run(&mut t, &input).action, Err(DropReason::IcmpUntranslatable), "type {ty}");
    }
}

/// An ICMPv4 error from `from` quoting a UDP datagram sent by the IPv6 side.
fn icmp4_error_packet(from: Ipv4Addr, ty: u8, code: u8, rest: [u8; 4]) -> (Vec<u8>, Vec<u8>) {
    let quoted = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 4000, 53, b"question"), |p| p[8] = 3);
    let err = v4(from, CLAT4, 1, &icmp4(ty, code, rest, &quoted), |_| {});
    (err, quoted)
}

#[test]
fn rfc7915_4_2_destination_unreachable_code_mapping() {
    // (ICMPv4 code) -> Some((ICMPv6 type, code)) or None (dropped)
    let table: [(u8, Option<(u8, u8)>); 16] = [
        (0, Some((1, 0))),
        (1, Some((1, 0))),
        (2, Some((4, 1))),
        (3, Some((1, 4))),
        (4, Some((2, 0))),
        (5, Some((1, 0))),
        (6, Some((1, 0))),
        (7, Some((1, 0))),
        (8, Some((1, 0))),
        (9, Some((1, 1))),
        (10, Some((1, 1))),
        (11, Some((1, 0))),
        (12, Some((1, 0))),
        (13, Some((1, 1))),
        (14, None),
        (15, Some((1, 1))),
    ];
    let mut t = xlat();
    for (code, expect) in table {
        let rest = if code == 4 { [0, 0, 0x05, 0x00] } else { [0; 4] };
        let (err, _) = icmp4_error_packet(SERVER4, 3, code, rest);
        let out = run(&mut t, &err);
        match expect {
            Some((ty6, code6)) => {
                let p = out.one();
                assert_eq!((p[40], p[41]), (ty6, code6), "code {code}");
                assert_v6_l4_ok(p);
                if code == 2 {
                    assert_eq!(u32::from_be_bytes([p[44], p[45], p[46], p[47]]), 6, "pointer to Next Header");
                }
            }
            None => assert_eq!(out.action, Err(DropReason::IcmpUntranslatable), "code {code}"),
        }
    }
}

#[test]
fn rfc7915_4_2_time_exceeded_code_unchanged() {
    let mut t = xlat();
    for code in [0u8, 1] {
        let (err, _) = icmp4_error_packet(SERVER4, 11, code, [0; 4]);
        let p = run(&mut t, &err).one().to_vec();
        assert_eq!((p[40], p[41]), (3, code));
    }
}

#[test]
fn rfc7915_4_2_fragmentation_needed_mtu_arithmetic() {
    let mut t = xlat_with(|c| {
        c.mtu_v6 = 9000;
        c.mtu_v4 = 9000;
    });
    let mtu_of = |t: &mut Translator, adv: u16| {
        let (err, _) = icmp4_error_packet(SERVER4, 3, 4, [0, 0, (adv >> 8) as u8, adv as u8]);
        let p = run(t, &err).one().to_vec();
        assert_eq!((p[40], p[41]), (2, 0));
        u32::from_be_bytes([p[44], p[45], p[46], p[47]])
    };
    assert_eq!(mtu_of(&mut t, 1400), 1420, "advertised + 20");
    // MTU 0 with a small quoted packet: the lowest plateau (68) + 20,
    // raised to the IPv6 minimum MTU.
    assert_eq!(mtu_of(&mut t, 0), 1280);
    let mut small = xlat_with(|c| c.mtu_v6 = 1300);
    assert_eq!(mtu_of(&mut small, 1480), 1300, "capped by the IPv6 next-hop MTU");
    let mut v4small = xlat_with(|c| c.mtu_v4 = 1290);
    assert_eq!(mtu_of(&mut v4small, 1480), 1310, "capped by the IPv4 MTU + 20");
}

#[test]
fn rfc7915_4_2_mtu_zero_plateau_from_quoted_total_length() {
    assert_eq!(super::icmp::plateau_below(1500), 1492);
    assert_eq!(super::icmp::plateau_below(1492), 1006);
    assert_eq!(super::icmp::plateau_below(9000), 8166);
    assert_eq!(super::icmp::plateau_below(10), 68);
    // End to end: quote a 1500-byte packet header (truncated), router said MTU 0.
    let mut t = xlat_with(|c| {
        c.mtu_v6 = 9000;
        c.mtu_v4 = 9000;
    });
    let big = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, &[0; 1472]), |_| {});
    let err = v4(SERVER4, CLAT4, 1, &icmp4(3, 4, [0; 4], &big[..28]), |_| {});
    let p = run(&mut t, &err).one().to_vec();
    assert_eq!(u32::from_be_bytes([p[44], p[45], p[46], p[47]]), 1492 + 20);
}

#[test]
fn rfc7915_4_2_parameter_problem_pointer_mapping() {
    let table: [(u8, Option<u32>); 21] = [
        (0, Some(0)),
        (1, Some(1)),
        (2, Some(4)),
        (3, Some(4)),
        (4, None),
        (5, None),
        (6, None),
        (7, None),
        (8, Some(7)),
        (9, Some(6)),
        (10, None),
        (11, None),
        (12, Some(8)),
        (13, Some(8)),
        (14, Some(8)),
        (15, Some(8)),
        (16, Some(24)),
        (17, Some(24)),
        (18, Some(24)),
        (19, Some(24)),
        (20, None),
    ];
    let mut t = xlat();
    for code in [0u8, 2] {
        for (ptr, expect) in table {
            let (err, _) = icmp4_error_packet(SERVER4, 12, code, [ptr, 0, 0, 0]);
            let out = run(&mut t, &err);
            match expect {
                Some(p6) => {
                    let p = out.one();
                    assert_eq!((p[40], p[41]), (4, 0));
                    assert_eq!(u32::from_be_bytes([p[44], p[45], p[46], p[47]]), p6, "pointer {ptr}");
                }
                None => assert_eq!(out.action, Err(DropReason::IcmpUntranslatable), "pointer {ptr}"),
            }
        }
    }
    // Code 1 (missing a required option) is dropped.
    let (err, _) = icmp4_error_packet(SERVER4, 12, 1, [0; 4]);
    assert_eq!(run(&mut t, &err).action, Err(DropReason::IcmpUntranslatable));
}

#[test]
fn rfc7915_4_3_quoted_packet_translated() {
    let mut t = xlat();
    let (err, quoted) = icmp4_error_packet(SERVER4, 3, 3, [0; 4]);
    let p = run(&mut t, &err).one().to_vec();
    assert_eq!((p[40], p[41]), (1, 4), "port unreachable");
    assert_eq!(a6(&p, 8), SERVER6);
    assert_eq!(a6(&p, 24), CLAT6);
    let inner = &p[48..];
    assert_eq!(inner[0] >> 4, 6);
    assert_eq!(inner[7], 3, "quoted hop limit = quoted TTL, not decremented");
    assert_eq!(a6(inner, 8), CLAT6);
    assert_eq!(a6(inner, 24), SERVER6);
    assert_eq!(inner.len(), 40 + quoted.len() - 20, "quoted IPv4 header replaced by IPv6");
    assert_v6_l4_ok(inner); // quoted UDP checksum updated for the new pseudo-header
    assert_v6_l4_ok(&p);
    assert_eq!(usize::from(u16::from_be_bytes([p[4], p[5]])), p.len() - 40, "outer length updated");
}

#[test]
fn rfc7915_4_3_icmp_error_quoting_icmp_error_dropped() {
    let mut t = xlat();
    let (inner_err, _) = icmp4_error_packet(SERVER4, 3, 3, [0; 4]);
    let err = v4(SERVER4, CLAT4, 1, &icmp4(3, 1, [0; 4], &inner_err), |_| {});
    assert_eq!(run(&mut t, &err).action, Err(DropReason::IcmpErrorInError));
}

#[test]
fn rfc7915_4_3_translated_error_truncated_to_1280() {
    let mut t = xlat_with(|c| c.mtu_v6 = 9000);
    let quoted = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, &[3; 1400]), |_| {});
    let err = v4(SERVER4, CLAT4, 1, &icmp4(3, 3, [0; 4], &quoted), |_| {});
    let p = run(&mut t, &err).one().to_vec();
    assert_eq!(p.len(), 1280, "RFC 4443 §2.4 (c)");
    assert_eq!(inet(&p[40..], pseudo6(a6(&p, 8), a6(&p, 24), 58, p.len() - 40)), 0);
}

#[test]
fn rfc7915_4_2_bad_icmp_error_checksum_dropped() {
    let mut t = xlat();
    let (mut err, _) = icmp4_error_packet(SERVER4, 3, 3, [0; 4]);
    err[22] ^= 0xff;
    assert_eq!(run(&mut t, &err).action, Err(DropReason::IcmpBadChecksum));
}

#[test]
fn rfc4884_icmpv4_extension_length_adjusted() {
    let mut t = xlat();
    let quoted = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, &[5; 100]), |_| {});
    let mut orig = quoted.clone();
    orig.resize(128, 0); // RFC 4884: at least 128 bytes, padded to 32-bit words
    let ext = [0x20, 0, 0, 0, 0, 8, 1, 1, 0xde, 0xad, 0xbe, 0xef]; // version 2 header + one object
    let mut body = orig.clone();
    body.extend_from_slice(&ext);
    let err = v4(SERVER4, CLAT4, 1, &icmp4(11, 0, [0, 32, 0, 0], &body), |_| {});
    let p = run(&mut t, &err).one().to_vec();
    let words = usize::from(p[44]);
    assert!(words > 0, "length attribute set");
    let orig6 = words * 8;
    assert!(orig6 >= 128 && orig6 % 8 == 0);
    assert_eq!(&p[48 + orig6..], &ext, "extension carried after the padded datagram");
    assert_eq!(p[48] >> 4, 6, "quoted packet translated to IPv6");
    assert_eq!(a6(&p, 48 + 8), CLAT6);
    assert!(p[48 + 40 + 108..48 + orig6].iter().all(|b| *b == 0), "zero padding");
    assert_v6_l4_ok(&p);
}

#[test]
fn rfc6791_unmappable_icmpv4_error_source_uses_configured_address() {
    // Well-Known Prefix, strict: a private router address has no mapping.
    let cfg = Config {
        pool6: Some("64:ff9b::/96".parse().unwrap()),
        eam: rfc7757::Table::new(["192.0.0.1/32=2001:db8:aaaa::1/128".parse().unwrap()]).unwrap(),
        rfc6791_v6: Some("2001:db8:ffff::6791".parse().unwrap()),
        ..Config::default()
    };
    let mut t = Translator::new(cfg).unwrap();
    let server = Ipv4Addr::new(8, 8, 8, 8);
    let quoted = v4(CLAT4, server, 17, &udp4(CLAT4, server, 1, 2, b"q"), |_| {});
    let err = v4(Ipv4Addr::new(10, 1, 1, 1), CLAT4, 1, &icmp4(11, 0, [0; 4], &quoted), |_| {});
    let p = run(&mut t, &err).one().to_vec();
    assert_eq!(a6(&p, 8), "2001:db8:ffff::6791".parse::<Ipv6Addr>().unwrap());
    assert_v6_l4_ok(&p);
}

#[test]
fn rfc6052_3_1_well_known_prefix_refuses_non_global_ipv4() {
    let wkp = |strict| Config {
        pool6: Some("64:ff9b::/96".parse().unwrap()),
        eam: rfc7757::Table::new(["192.0.0.1/32=2001:db8:aaaa::1/128".parse().unwrap()]).unwrap(),
        wkp_strict: strict,
        ..Config::default()
    };
    let private = Ipv4Addr::new(192, 168, 1, 1);
    let input = v4(CLAT4, private, 17, &udp4(CLAT4, private, 1, 2, b"x"), |_| {});
    let mut strict = Translator::new(wkp(true)).unwrap();
    expect_icmp4_error(&run(&mut strict, &input), 3, 13, DropReason::WkpNonGlobal);
    let mut lax = Translator::new(wkp(false)).unwrap();
    assert_eq!(a6(run(&mut lax, &input).one(), 24), "64:ff9b::c0a8:101".parse::<Ipv6Addr>().unwrap());
    // 6 -> 4 direction: 64:ff9b::10.0.0.1 refused.
    let dst: Ipv6Addr = "64:ff9b::a00:1".parse().unwrap();
    let input6 = v6(CLAT6, dst, 17, &udp6(CLAT6, dst, 1, 2, b"x"));
    expect_icmp6_error(&run(&mut strict, &input6), 1, 1, DropReason::WkpNonGlobal);
}

#[test]
fn rfc7915_4_4_unmappable_destination_sends_admin_prohibited() {
    let cfg = Config {
        pool6: None,
        eam: rfc7757::Table::new(["192.0.0.1/32=2001:db8:aaaa::1/128".parse().unwrap()]).unwrap(),
        ipv6_addr: Some("2001:db8:aaaa::ffff".parse().unwrap()),
        ..Config::default()
    };
    let mut t = Translator::new(cfg).unwrap();
    let input = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, b"x"), |_| {});
    expect_icmp4_error(&run(&mut t, &input), 3, 13, DropReason::DestinationUnmappable);
    let mut quiet = Translator::new(Config { send_icmp_errors: false, ..t.config().config().clone() }).unwrap();
    assert_eq!(run(&mut quiet, &input).action, Err(DropReason::DestinationUnmappable));
}

#[test]
fn rfc7757_3_3_eam_precedes_pool6() {
    let mut t = Translator::new(Config {
        eam: rfc7757::Table::new([
            "192.0.0.1/32=2001:db8:aaaa::1/128".parse().unwrap(),
            "198.51.100.0/24=2001:db8:bbbb::/120".parse().unwrap(),
        ])
        .unwrap(),
        ..config()
    })
    .unwrap();
    let input = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, b"x"), |_| {});
    assert_eq!(a6(run(&mut t, &input).one(), 24), "2001:db8:bbbb::7".parse::<Ipv6Addr>().unwrap());
}

// ------------------------------------------------------------ §5 IPv6->IPv4

#[test]
fn rfc7915_5_1_udp_header_fields() {
    let mut t = xlat();
    let mut input = v6(SERVER6, CLAT6, 17, &udp6(SERVER6, CLAT6, 53, 5353, b"answer"));
    input[0] = 0x6b; // traffic class 0xb8 spans bytes 0-1
    input[1] = 0x80 | 0x0a; // plus a flow label, which is dropped
    let p = run(&mut t, &input).one().to_vec();
    assert_v4_ok(&p);
    assert_eq!(p[0], 0x45, "version 4, IHL 5");
    assert_eq!(p[1], 0xb8, "TOS from traffic class");
    assert_ne!(u16::from_be_bytes([p[4], p[5]]), 0, "Identification generated");
    assert_eq!(p[6] & 0x40, 0, "DF clear: 34 bytes <= 1260");
    assert_eq!(p[6] & 0x20, 0, "MF clear");
    assert_eq!(p[8], 63, "TTL = hop limit - 1");
    assert_eq!(p[9], 17);
    assert_eq!(a4(&p, 12), SERVER4);
    assert_eq!(a4(&p, 16), CLAT4);
    assert_eq!(&p[28..], b"answer");
}

#[test]
fn rfc7915_5_1_hop_limit_exceeded_sends_icmpv6_time_exceeded() {
    let mut t = xlat();
    let mut input = v6(SERVER6, CLAT6, 17, &udp6(SERVER6, CLAT6, 1, 2, b"x"));
    input[7] = 1;
    let p = expect_icmp6_error(&run(&mut t, &input), 3, 0, DropReason::HopLimitExceeded);
    assert_eq!(a6(&p, 24), SERVER6);
    assert_eq!(&p[48..], &input[..]);
}

#[test]
fn rfc7915_5_1_tcp_checksum_updated() {
    let mut t = xlat();
    let input = v6(SERVER6, CLAT6, 6, &tcp6(SERVER6, CLAT6, b"HTTP/1.1 200 OK\r\n"));
    let p = run(&mut t, &input).one().to_vec();
    assert_eq!(p[9], 6);
    assert_v4_ok(&p);
}

#[test]
fn rfc7915_5_1_extension_headers_skipped() {
    let mut t = xlat();
    let udp = udp6(SERVER6, CLAT6, 1, 2, b"ext");
    let mut chain = vec![60, 0, 1, 4, 0, 0, 0, 0]; // Hop-by-Hop (PadN) -> Destination Options
    chain.extend_from_slice(&[43, 0, 1, 4, 0, 0, 0, 0]); // Destination Options -> Routing
    chain.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 0]); // Routing, Segments Left 0 -> UDP
    chain.extend_from_slice(&udp);
    let input = v6(SERVER6, CLAT6, 0, &chain);
    let p = run(&mut t, &input).one().to_vec();
    assert_eq!(p[9], 17);
    assert_eq!(p.len(), 20 + udp.len());
    assert_v4_ok(&p);
}

#[test]
fn rfc7915_5_1_routing_header_segments_left_sends_parameter_problem() {
    let mut t = xlat();
    let mut chain = vec![17, 2, 0, 1, 0, 0, 0, 0];
    chain.extend_from_slice(&[0; 16]);
    chain.extend_from_slice(&udp6(SERVER6, CLAT6, 1, 2, b"x"));
    let input = v6(SERVER6, CLAT6, 43, &chain);
    let p = expect_icmp6_error(&run(&mut t, &input), 4, 0, DropReason::Ipv6RoutingHeader);
    assert_eq!(u32::from_be_bytes([p[44], p[45], p[46], p[47]]), 43, "points at Segments Left");
}

#[test]
fn rfc7915_5_1_1_fragment_header_to_ipv4_fragment_fields() {
    let mut t = xlat();
    let udp = udp6(SERVER6, CLAT6, 1, 2, &[4; 64]);
    let mut chain = vec![17, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe]; // offset 0, M=1
    chain.extend_from_slice(&udp[..48]);
    let p = run(&mut t, &v6(SERVER6, CLAT6, 44, &chain)).one().to_vec();
    assert_eq!(u16::from_be_bytes([p[4], p[5]]), 0xbabe, "low 16 bits of the identification");
    assert_eq!(p[6] & 0x40, 0, "DF clear");
    assert_eq!(p[6] & 0x20, 0x20, "MF from M");
    assert_eq!(p.len(), 20 + 48);
    let mut chain = vec![17, 0, 0, 6 << 3, 0xca, 0xfe, 0xba, 0xbe]; // offset 6 (48 bytes), last
    chain.extend_from_slice(&udp[48..]);
    let q = run(&mut t, &v6(SERVER6, CLAT6, 44, &chain)).one().to_vec();
    assert_eq!(u16::from_be_bytes([q[6], q[7]]) & 0x1fff, 6);
    assert_eq!(inet(&q[..20], 0), 0);
    let mut whole = p[20..].to_vec();
    whole.extend_from_slice(&q[20..]);
    assert_eq!(inet(&whole, pseudo4(SERVER4, CLAT4, 17, whole.len())), 0, "checksum over the reassembly");
}

#[test]
fn rfc7915_5_1_extension_after_fragment_header_dropped() {
    let mut t = xlat();
    let mut chain = vec![60, 0, 0, 1, 0, 0, 0, 1];
    chain.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
    chain.extend_from_slice(&udp6(SERVER6, CLAT6, 1, 2, b"x"));
    let out = run(&mut t, &v6(SERVER6, CLAT6, 44, &chain));
    assert_eq!(out.action, Err(DropReason::Ipv6ExtensionAfterFragment));
}

#[test]
fn rfc7915_5_1_df_clear_up_to_1260_bytes_set_above() {
    let mut t = xlat();
    let sized = |n: usize| v6(SERVER6, CLAT6, 17, &udp6(SERVER6, CLAT6, 1, 2, &vec![0; n - 28]));
    for (total, df) in [(40usize, false), (1260, false), (1261, true), (1400, true)] {
        let p = run(&mut t, &sized(total)).one().to_vec();
        assert_eq!(p.len(), total);
        assert_eq!(p[6] & 0x40 != 0, df, "DF for a {total}-byte IPv4 packet");
        assert_v4_ok(&p);
    }
}

#[test]
fn rfc7915_5_1_identification_generated_not_sequential() {
    let mut t = xlat();
    let input = v6(SERVER6, CLAT6, 17, &udp6(SERVER6, CLAT6, 1, 2, b"id"));
    let ids: Vec<u16> = (0..4)
        .map(|_| {
            let p = run(&mut t, &input).one().to_vec();
            u16::from_be_bytes([p[4], p[5]])
        })
        .collect();
    assert!(ids.iter().all(|id| *id != 0), "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] != w[1] && w[1] != w[0].wrapping_add(1)), "not a +1 counter: {ids:?}");
}

#[test]
fn rfc7915_5_1_1_small_packet_fragmented_for_small_ipv4_mtu() {
    let mut t = xlat_with(|c| c.mtu_v4 = 576);
    let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let udp = udp6(SERVER6, CLAT6, 1, 2, &payload);
    let out = run(&mut t, &v6(SERVER6, CLAT6, 17, &udp));
    let frags = out.packets();
    assert_eq!(frags.len(), 2, "1028 bytes of UDP in 552-byte pieces");
    let mut whole = vec![0u8; udp.len()];
    let id = u16::from_be_bytes([frags[0][4], frags[0][5]]);
    for (i, f) in frags.iter().enumerate() {
        assert!(f.len() <= 576);
        assert_eq!(inet(&f[..20], 0), 0, "header checksum of fragment {i}");
        assert_eq!(u16::from_be_bytes([f[4], f[5]]), id, "same Identification");
        let fo = u16::from_be_bytes([f[6], f[7]]);
        assert_eq!(fo & 0x4000, 0, "DF clear");
        assert_eq!(fo & 0x2000 != 0, i == 0, "MF");
        let off = usize::from(fo & 0x1fff) * 8;
        whole[off..off + f.len() - 20].copy_from_slice(&f[20..]);
    }
    assert_eq!(inet(&whole, pseudo4(SERVER4, CLAT4, 17, whole.len())), 0, "UDP checksum over the reassembly");
    assert_eq!(&whole[8..], &payload[..]);
}

#[test]
fn rfc7915_5_1_reserved_ipv6_sources_silently_dropped() {
    let mut t = xlat();
    for src in ["::1", "fe80::1", "::", "ff02::1"] {
        let src: Ipv6Addr = src.parse().unwrap();
        let input = v6(src, CLAT6, 17, &udp6(src, CLAT6, 1, 2, b"x"));
        assert_eq!(run(&mut t, &input).action, Err(DropReason::Ipv6ReservedAddress), "{src}");
    }
}

#[test]
fn rfc7915_5_1_1_authentication_header_not_translated() {
    let mut t = xlat();
    let mut chain = vec![17, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
    chain.extend_from_slice(&[0; 12]);
    chain.extend_from_slice(&udp6(SERVER6, CLAT6, 1, 2, b"x"));
    let out = run(&mut t, &v6(SERVER6, CLAT6, 51, &chain));
    assert_eq!(out.action, Err(DropReason::Ipv6UntranslatableExtension));
}

#[test]
fn rfc7915_5_4_no_error_about_an_icmpv6_informational_message() {
    let mut t = xlat();
    let stranger: Ipv6Addr = "2001:db8:ffff::1".parse().unwrap();
    let m = icmp6(stranger, CLAT6, 128, 0, [0, 1, 0, 1], b"ping");
    assert_eq!(run(&mut t, &v6(stranger, CLAT6, 58, &m)).action, Err(DropReason::SourceUnmappable));
    assert_eq!(t.counters().icmp6_errors_sent, 0);
}

#[test]
fn rfc7915_5_2_packet_too_big_accounts_for_quoted_fragment_header() {
    let mut t = xlat_with(|c| {
        c.mtu_v4 = 9000;
        c.mtu_v6 = 9000;
    });
    let mut chain = vec![17, 0, 0, 1, 0, 0, 0, 7];
    chain.extend_from_slice(&udp6(CLAT6, SERVER6, 1, 2, &[0; 32]));
    let quoted = v6(CLAT6, SERVER6, 44, &chain);
    let err = v6(SERVER6, CLAT6, 58, &icmp6(SERVER6, CLAT6, 2, 0, 1400u32.to_be_bytes(), &quoted));
    let p = run(&mut t, &err).one().to_vec();
    assert_eq!(u16::from_be_bytes([p[26], p[27]]), 1400 - 28);
}

#[test]
fn rfc6052_3_1_wkp_icmpv6_error_source_not_replaced() {
    let cfg = Config {
        pool6: Some("64:ff9b::/96".parse().unwrap()),
        eam: rfc7757::Table::new(["192.0.0.1/32=2001:db8:aaaa::1/128".parse().unwrap()]).unwrap(),
        ..Config::default()
    };
    let mut t = Translator::new(cfg).unwrap();
    let router: Ipv6Addr = "64:ff9b::a00:1".parse().unwrap();
    let server: Ipv6Addr = "64:ff9b::808:808".parse().unwrap();
    let mut quoted = v6(CLAT6, server, 17, &udp6(CLAT6, server, 1, 2, b"q"));
    quoted[7] = 3;
    let err = v6(router, CLAT6, 58, &icmp6(router, CLAT6, 3, 0, [0; 4], &quoted));
    assert_eq!(run(&mut t, &err).action, Err(DropReason::WkpNonGlobal));
}

#[test]
fn rfc7915_5_1_too_big_for_ipv4_mtu_sends_packet_too_big() {
    let mut t = xlat_with(|c| c.mtu_v4 = 1400);
    let input = v6(SERVER6, CLAT6, 17, &udp6(SERVER6, CLAT6, 1, 2, &[0; 1400]));
    let p = expect_icmp6_error(&run(&mut t, &input), 2, 0, DropReason::PacketTooBig);
    assert_eq!(u32::from_be_bytes([p[44], p[45], p[46], p[47]]), 1420, "IPv4 MTU + 20");
    assert!(p.len() <= 1280);
}

#[test]
fn rfc7915_5_2_echo_request_and_reply() {
    let mut t = xlat();
    for (ty6, ty4) in [(128u8, 8u8), (129, 0)] {
        let m = icmp6(SERVER6, CLAT6, ty6, 0, [0xab, 0xcd, 0, 9], b"pong");
        let p = run(&mut t, &v6(SERVER6, CLAT6, 58, &m)).one().to_vec();
        assert_eq!((p[9], p[20], p[21]), (1, ty4, 0));
        assert_eq!(&p[24..], &m[4..]);
        assert_v4_ok(&p);
    }
}

#[test]
fn rfc7915_5_2_nd_mld_and_unknown_informational_dropped() {
    let mut t = xlat();
    for ty in [130u8, 131, 132, 133, 134, 135, 136, 137, 200] {
        let m = icmp6(SERVER6, CLAT6, ty, 0, [0; 4], &[0; 16]);
        assert_eq!(run(&mut t, &v6(SERVER6, CLAT6, 58, &m)).action, Err(DropReason::IcmpUntranslatable), "type {ty}");
    }
}

/// An ICMPv6 error from `from` quoting a UDP datagram the IPv4 side sent.
fn icmp6_error_packet(from: Ipv6Addr, ty: u8, code: u8, rest: [u8; 4]) -> Vec<u8> {
    let mut quoted = v6(CLAT6, SERVER6, 17, &udp6(CLAT6, SERVER6, 4000, 53, b"question"));
    quoted[7] = 5;
    v6(from, CLAT6, 58, &icmp6(from, CLAT6, ty, code, rest, &quoted))
}

#[test]
fn rfc7915_5_2_error_type_and_code_mapping() {
    // (type6, code6) -> Some((type4, code4)) or None
    type Row = ((u8, u8), Option<(u8, u8)>);
    let table: [Row; 12] = [
        ((1, 0), Some((3, 1))),
        ((1, 1), Some((3, 10))),
        ((1, 2), Some((3, 1))),
        ((1, 3), Some((3, 1))),
        ((1, 4), Some((3, 3))),
        ((1, 5), None),
        ((3, 0), Some((11, 0))),
        ((3, 1), Some((11, 1))),
        ((4, 1), Some((3, 2))),
        ((4, 2), None),
        ((4, 3), None),
        ((99, 0), None),
    ];
    let mut t = xlat();
    for ((ty, code), expect) in table {
        let out = run(&mut t, &icmp6_error_packet(SERVER6, ty, code, [0; 4]));
        match expect {
            Some((t4, c4)) => {
                let p = out.one();
                assert_eq!((p[20], p[21]), (t4, c4), "{ty}/{code}");
                assert_v4_ok(p);
            }
            None => assert_eq!(out.action, Err(DropReason::IcmpUntranslatable), "{ty}/{code}"),
        }
    }
}

#[test]
fn rfc7915_5_2_packet_too_big_mtu_arithmetic() {
    let mtu_of = |t: &mut Translator, adv: u32| {
        let p = run(t, &icmp6_error_packet(SERVER6, 2, 0, adv.to_be_bytes())).one().to_vec();
        assert_eq!((p[20], p[21]), (3, 4));
        assert_v4_ok(&p);
        u16::from_be_bytes([p[26], p[27]])
    };
    let mut t = xlat_with(|c| {
        c.mtu_v4 = 9000;
        c.mtu_v6 = 9000;
    });
    assert_eq!(mtu_of(&mut t, 1400), 1380, "advertised - 20");
    let mut v4cap = xlat_with(|c| c.mtu_v4 = 1300);
    assert_eq!(mtu_of(&mut v4cap, 1500), 1300, "capped by the IPv4 MTU");
    let mut v6cap = xlat_with(|c| c.mtu_v6 = 1400);
    assert_eq!(mtu_of(&mut v6cap, 1500), 1380, "capped by the IPv6 MTU - 20");
}

#[test]
fn rfc7915_5_2_parameter_problem_pointer_mapping() {
    let table: [(u32, Option<u8>); 12] = [
        (0, Some(0)),
        (1, Some(1)),
        (2, None),
        (3, None),
        (4, Some(2)),
        (5, Some(2)),
        (6, Some(9)),
        (7, Some(8)),
        (8, Some(12)),
        (23, Some(12)),
        (24, Some(16)),
        (39, Some(16)),
    ];
    let mut t = xlat();
    for (ptr, expect) in table {
        let out = run(&mut t, &icmp6_error_packet(SERVER6, 4, 0, ptr.to_be_bytes()));
        match expect {
            Some(p4) => {
                let p = out.one();
                assert_eq!((p[20], p[21], p[24]), (12, 0, p4), "pointer {ptr}");
            }
            None => assert_eq!(out.action, Err(DropReason::IcmpUntranslatable), "pointer {ptr}"),
        }
    }
    assert_eq!(
        run(&mut t, &icmp6_error_packet(SERVER6, 4, 0, 40u32.to_be_bytes())).action,
        Err(DropReason::IcmpUntranslatable)
    );
}

#[test]
fn rfc7915_5_3_quoted_packet_translated() {
    let mut t = xlat();
    let p = run(&mut t, &icmp6_error_packet(SERVER6, 1, 4, [0; 4])).one().to_vec();
    assert_v4_ok(&p);
    let inner = &p[28..];
    assert_eq!(inner[0], 0x45);
    assert_eq!(inner[8], 5, "quoted TTL = quoted hop limit");
    assert_eq!(a4(inner, 12), CLAT4);
    assert_eq!(a4(inner, 16), SERVER4);
    assert_eq!(inet(&inner[..20], 0), 0, "quoted header checksum");
    let l4 = &inner[20..];
    assert_eq!(inet(l4, pseudo4(CLAT4, SERVER4, 17, l4.len())), 0, "quoted UDP checksum");
}

#[test]
fn rfc6791_unmappable_icmpv6_error_source_uses_configured_address() {
    let mut t = xlat_with(|c| c.rfc6791_v4 = Some(Ipv4Addr::new(192, 0, 2, 99)));
    let router: Ipv6Addr = "2001:db8:ffff::1".parse().unwrap();
    let p = run(&mut t, &icmp6_error_packet(router, 3, 0, [0; 4])).one().to_vec();
    assert_eq!(a4(&p, 12), Ipv4Addr::new(192, 0, 2, 99));
    assert_v4_ok(&p);
}

#[test]
fn rfc7915_5_2_bad_icmpv6_error_checksum_dropped() {
    let mut t = xlat();
    let mut input = icmp6_error_packet(SERVER6, 1, 4, [0; 4]);
    input[42] ^= 0x55;
    assert_eq!(run(&mut t, &input).action, Err(DropReason::IcmpBadChecksum));
}

#[test]
fn rfc7915_5_4_unmappable_source_sends_admin_prohibited() {
    let mut t = xlat();
    let stranger: Ipv6Addr = "2001:db8:ffff::1".parse().unwrap();
    let input = v6(stranger, CLAT6, 17, &udp6(stranger, CLAT6, 1, 2, b"x"));
    let p = expect_icmp6_error(&run(&mut t, &input), 1, 1, DropReason::SourceUnmappable);
    assert_eq!(a6(&p, 24), stranger);
}

#[test]
fn rfc7757_4_eam_hairpinning() {
    let mut t = Translator::new(Config {
        eam: rfc7757::Table::new([
            "192.0.0.1/32=2001:db8:aaaa::1/128".parse().unwrap(),
            "192.0.0.2/32=2001:db8:aaaa::2/128".parse().unwrap(),
        ])
        .unwrap(),
        ..config()
    })
    .unwrap();
    let a: Ipv6Addr = "2001:db8:aaaa::1".parse().unwrap();
    let b_via_pool6: Ipv6Addr = "2001:db8:64::c000:2".parse().unwrap();
    let input = v6(a, b_via_pool6, 17, &udp6(a, b_via_pool6, 1, 2, b"hairpin"));
    let out = run(&mut t, &input);
    assert!(matches!(out.action, Ok(Action::Translated { family: Family::V6, .. })), "{:?}", out.action);
    let p = out.one();
    assert_eq!(a6(p, 8), "2001:db8:64::c000:1".parse::<Ipv6Addr>().unwrap(), "§4.2.1: source through pool6");
    assert_eq!(a6(p, 24), "2001:db8:aaaa::2".parse::<Ipv6Addr>().unwrap());
    assert_eq!(p[7], 63, "§4.2.2: one hop, not two");
    assert_v6_l4_ok(p);
    assert_eq!(t.counters().hairpinned, 1);
}

// ------------------------------------------------------------ bad input

#[test]
fn malformed_packets_dropped_with_named_reasons() {
    let mut t = xlat();
    let good4 = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, b"x"), |_| {});
    let good6 = v6(SERVER6, CLAT6, 17, &udp6(SERVER6, CLAT6, 1, 2, b"x"));
    let mut bad_ihl = good4.clone();
    bad_ihl[0] = 0x44;
    let mut bad_total = good4.clone();
    bad_total[2..4].copy_from_slice(&9999u16.to_be_bytes());
    let mut bad_csum = good4.clone();
    bad_csum[10] ^= 1;
    let mut bad_plen = good6.clone();
    bad_plen[4..6].copy_from_slice(&999u16.to_be_bytes());
    let mut bad_chain = v6(SERVER6, CLAT6, 0, &[60, 200, 0, 0, 0, 0, 0, 0]);
    bad_chain.truncate(48);
    let tiny_tcp = v4(CLAT4, SERVER4, 6, &[0; 10], |_| {});
    let cases: Vec<(&str, Vec<u8>, DropReason)> = vec![
        ("empty", vec![], DropReason::UnknownVersion),
        ("version 5", vec![0x50; 40], DropReason::UnknownVersion),
        ("short v4", good4[..12].to_vec(), DropReason::Ipv4HeaderTruncated),
        ("ihl < 5", bad_ihl, DropReason::Ipv4HeaderTruncated),
        ("total length", bad_total, DropReason::Ipv4BadTotalLength),
        ("header checksum", bad_csum, DropReason::Ipv4BadChecksum),
        ("short v6", good6[..30].to_vec(), DropReason::Ipv6HeaderTruncated),
        ("payload length", bad_plen, DropReason::Ipv6BadPayloadLength),
        ("extension chain", bad_chain, DropReason::Ipv6BadExtensionChain),
        ("tcp truncated", tiny_tcp, DropReason::TransportTruncated),
    ];
    for (name, input, reason) in cases {
        assert_eq!(run(&mut t, &input).action, Err(reason), "{name}");
        assert!(t.counters().drops(reason) >= 1, "{name} counted");
    }
}

#[test]
fn fragmented_icmp_not_translated() {
    let mut t = xlat();
    let icmp = icmp4(8, 0, [0, 1, 0, 1], &[0; 64]);
    let input = v4(CLAT4, SERVER4, 1, &icmp[..32], |p| p[6] = 0x20);
    assert_eq!(run(&mut t, &input).action, Err(DropReason::FragmentedIcmp));
}

#[test]
fn output_buffer_too_small_is_reported_not_panicked() {
    let mut t = xlat();
    let input = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 1, 2, b"x"), |_| {});
    let mut small = [0u8; 64];
    assert_eq!(t.translate(&input, &mut small), Err(DropReason::OutputBufferTooSmall));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Any bytes: no panic, and the verdict is counted.
        #[test]
        fn translate_never_panics(data in proptest::collection::vec(any::<u8>(), 0..1600), v6 in any::<bool>()) {
            let mut t = xlat();
            let mut data = data;
            if let Some(b) = data.first_mut() {
                *b = (*b & 0x0f) | if v6 { 0x60 } else { 0x45 };
            }
            let mut out = vec![0u8; OUT_BUF_LEN];
            let _ = t.translate(&data, &mut out);
            let c = t.counters();
            let total = c.v4_to_v6_packets + c.v6_to_v4_packets + c.drops.iter().sum::<u64>();
            prop_assert_eq!(total, 1);
        }

        /// IPv4 -> IPv6 -> IPv4 through pool6/EAM returns the original
        /// packet, except TTL (-2), Identification, DF and the header checksum.
        #[test]
        fn roundtrip_4_6_4(payload in proptest::collection::vec(any::<u8>(), 0..1200), proto in 0usize..3, tos in any::<u8>(), ttl in 3u8..=255) {
            let mut t = xlat();
            let l4 = match proto {
                0 => udp4(CLAT4, SERVER4, 1234, 53, &payload),
                1 => tcp4(CLAT4, SERVER4, &payload),
                _ => icmp4(8, 0, [1, 2, 3, 4], &payload),
            };
            let p = [17u8, 6, 1][proto];
            let input = v4(CLAT4, SERVER4, p, &l4, |h| { h[1] = tos; h[8] = ttl; h[4] = 0; h[5] = 0; });
            let there = run(&mut t, &input).one().to_vec();
            let back = run(&mut t, &there).one().to_vec();
            prop_assert_eq!(back[8], ttl - 2);
            prop_assert_eq!(&back[..4], &input[..4]);
            // §5.1: the way back sets a fresh Identification and DF by size.
            prop_assert_eq!(back[6] & 0x40 != 0, back.len() > 1260);
            prop_assert_eq!(back[6] & 0x3f, 0);
            prop_assert_eq!(back[9], input[9]);
            prop_assert_eq!(&back[12..], &input[12..]);
            assert_v4_ok(&back);
        }

        /// The reverse trip, IPv6 -> IPv4 -> IPv6.
        #[test]
        fn roundtrip_6_4_6(payload in proptest::collection::vec(any::<u8>(), 0..1200), proto in 0usize..3, tc in any::<u8>()) {
            let mut t = xlat();
            let l4 = match proto {
                0 => udp6(SERVER6, CLAT6, 53, 1234, &payload),
                1 => tcp6(SERVER6, CLAT6, &payload),
                _ => icmp6(SERVER6, CLAT6, 129, 0, [1, 2, 3, 4], &payload),
            };
            let mut input = v6(SERVER6, CLAT6, [17u8, 6, 58][proto], &l4);
            input[0] = 0x60 | (tc >> 4);
            input[1] = tc << 4;
            let there = run(&mut t, &input).one().to_vec();
            let back = run(&mut t, &there).one().to_vec();
            prop_assert_eq!(back[7], input[7] - 2);
            prop_assert_eq!(&back[..7], &input[..7]);
            prop_assert_eq!(&back[8..], &input[8..]);
        }
    }
}

#[test]
fn mss_clamped_in_both_directions() {
    let mut t = xlat_with(|c| c.mss_clamp = Some(1200));
    // tcp4/tcp6 build a SYN with MSS 1460.
    let p = run(&mut t, &v4(CLAT4, SERVER4, 6, &tcp4(CLAT4, SERVER4, b""), |_| {})).one().to_vec();
    assert_eq!(u16::from_be_bytes([p[40 + 22], p[40 + 23]]), 1200);
    assert_v6_l4_ok(&p);
    let q = run(&mut t, &v6(SERVER6, CLAT6, 6, &tcp6(SERVER6, CLAT6, b""))).one().to_vec();
    assert_eq!(u16::from_be_bytes([q[20 + 22], q[20 + 23]]), 1200);
    assert_v4_ok(&q);
}

// ------------------------------------------------------------ traceability additions
// Tests added while writing tests/rfc7915.md, for rules the code already
// implements but no test above asserted. Each names the rule it checks.

#[test]
fn rfc7915_1_2_fragmented_icmpv6_not_translated() {
    let mut t = xlat();
    let echo = icmp6(SERVER6, CLAT6, 128, 0, [0, 1, 0, 1], &[0; 64]);
    let mut chain = vec![58, 0, 0, 1, 0, 0, 0, 5]; // Fragment header: offset 0, M=1
    chain.extend_from_slice(&echo[..32]);
    let out = run(&mut t, &v6(SERVER6, CLAT6, 44, &chain));
    assert_eq!(out.action, Err(DropReason::FragmentedIcmp));
    assert_eq!(t.counters().icmp6_errors_sent, 0, "silently");
}

#[test]
fn rfc7915_4_1_illegal_source_silently_dropped() {
    let mut t = xlat();
    for src in [Ipv4Addr::new(0, 0, 0, 0), Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(224, 0, 0, 5)] {
        let input = v4(src, SERVER4, 17, &udp4(src, SERVER4, 1, 2, b"x"), |_| {});
        assert_eq!(run(&mut t, &input).action, Err(DropReason::Ipv4ReservedAddress), "{src}");
    }
    assert_eq!(t.counters().icmp4_errors_sent, 0, "no ICMP error: silent discard");
}

#[test]
fn rfc7915_4_1_fragment_refragmented_keeps_offset_more_flag_and_id() {
    let mut t = xlat();
    // A non-first IPv4 fragment (offset 100 units, MF=1, DF=0) too big for 1280.
    let payload: Vec<u8> = (0..2000u32).map(|i| (i * 7) as u8).collect();
    let input = v4(CLAT4, SERVER4, 17, &payload, |p| {
        p[4..6].copy_from_slice(&0x5a5au16.to_be_bytes());
        p[6..8].copy_from_slice(&(0x2000u16 | 100).to_be_bytes());
    });
    let out = run(&mut t, &input);
    let frags = out.packets();
    assert_eq!(frags.len(), 2, "2000 bytes / 1232 per fragment");
    let mut carried = Vec::new();
    let mut expect_off = 100u16;
    for f in &frags {
        assert!(f.len() <= 1280);
        assert_eq!((f[6], f[40]), (44, 17), "Fragment header, then the IPv4 protocol");
        assert_eq!(usize::from(u16::from_be_bytes([f[4], f[5]])), f.len() - 40, "payload length");
        let off_m = u16::from_be_bytes([f[42], f[43]]);
        assert_eq!(off_m >> 3, expect_off, "offset continues the IPv4 offset");
        assert_eq!(off_m & 1, 1, "M stays set: the original was not the last fragment");
        assert_eq!(u32::from_be_bytes([f[44], f[45], f[46], f[47]]), 0x5a5a, "identification, high bits zero");
        expect_off += ((f.len() - 48) / 8) as u16;
        carried.extend_from_slice(&f[48..]);
    }
    assert_eq!(carried, payload, "payload carried unchanged, in order");
}

#[test]
fn rfc7915_4_2_other_unreachable_and_parameter_problem_codes_dropped() {
    let mut t = xlat();
    for (ty, code) in [(3u8, 16u8), (3, 255), (12, 3), (12, 255)] {
        let (err, _) = icmp4_error_packet(SERVER4, ty, code, [0; 4]);
        assert_eq!(run(&mut t, &err).action, Err(DropReason::IcmpUntranslatable), "{ty}/{code}");
    }
    assert_eq!(t.counters().icmp4_errors_sent, 0, "silently");
}

#[test]
fn rfc7915_4_2_packet_too_big_mtu_never_below_1280() {
    let mut t = xlat_with(|c| {
        c.mtu_v6 = 9000;
        c.mtu_v4 = 9000;
    });
    for (adv, expect) in [(68u16, 1280u32), (576, 1280), (1259, 1280), (1260, 1280), (1261, 1281)] {
        let (err, _) = icmp4_error_packet(SERVER4, 3, 4, [0, 0, (adv >> 8) as u8, adv as u8]);
        let p = run(&mut t, &err).one().to_vec();
        assert_eq!((p[40], p[41]), (2, 0));
        assert_eq!(u32::from_be_bytes([p[44], p[45], p[46], p[47]]), expect, "advertised {adv}");
    }
}

#[test]
fn rfc7915_4_2_multicast_igmp_silently_dropped() {
    let mut t = xlat();
    let igmp_query = [0x11, 0, 0xee, 0xff, 0, 0, 0, 0];
    let input = v4(CLAT4, Ipv4Addr::new(224, 0, 0, 1), 2, &igmp_query, |p| p[8] = 1);
    assert_eq!(run(&mut t, &input).action, Err(DropReason::Ipv4ReservedAddress));
    assert_eq!(t.counters().icmp4_errors_sent, 0);
}

#[test]
fn rfc7915_4_4_no_icmpv4_error_about_an_icmpv4_error() {
    let mut t = xlat();
    let quoted = v4(CLAT4, SERVER4, 17, &udp4(CLAT4, SERVER4, 4000, 53, b"question"), |_| {});
    // An ICMPv4 error whose TTL runs out at the translator: dropped, no Time Exceeded.
    let err = v4(SERVER4, CLAT4, 1, &icmp4(3, 3, [0; 4], &quoted), |p| p[8] = 1);
    assert_eq!(run(&mut t, &err).action, Err(DropReason::TtlExceeded));
    assert_eq!(t.counters().icmp4_errors_sent, 0);
    // The same holds for a non-first fragment (RFC 1812 §4.3.2.7).
    let frag = v4(CLAT4, SERVER4, 17, &[0; 16], |p| {
        p[6..8].copy_from_slice(&10u16.to_be_bytes());
        p[8] = 1;
    });
    assert_eq!(run(&mut t, &frag).action, Err(DropReason::TtlExceeded));
    assert_eq!(t.counters().icmp4_errors_sent, 0);
}

#[test]
fn rfc7915_4_5_unknown_transport_forwarded_unchanged() {
    let mut t = xlat();
    for proto in [47u8, 132, 253] {
        let payload = b"opaque transport bytes, not parsed";
        let p = run(&mut t, &v4(CLAT4, SERVER4, proto, payload, |_| {})).one().to_vec();
        assert_eq!(p[6], proto, "Next Header copied");
        assert_eq!(&p[40..], &payload[..], "payload unchanged");
        assert_eq!(usize::from(u16::from_be_bytes([p[4], p[5]])), payload.len());
    }
}

#[test]
fn rfc7915_5_1_illegal_mapped_source_silently_dropped() {
    let mut t = xlat();
    // pool6 embedding of 127.0.0.1 and of 0.0.0.0: IPv4 forms that may never be a source.
    for src in ["2001:db8:64::7f00:1", "2001:db8:64::"] {
        let src: Ipv6Addr = src.parse().unwrap();
        let input = v6(src, CLAT6, 17, &udp6(src, CLAT6, 1, 2, b"x"));
        assert_eq!(run(&mut t, &input).action, Err(DropReason::Ipv4ReservedAddress), "{src}");
    }
    assert_eq!(t.counters().icmp6_errors_sent, 0, "silently");
}

#[test]
fn rfc7915_5_1_traffic_class_zeroed_when_configured() {
    let mut t = xlat_with(|c| c.copy_traffic_class = false);
    let mut input = v6(SERVER6, CLAT6, 17, &udp6(SERVER6, CLAT6, 53, 5353, b"answer"));
    input[0] = 0x6b;
    input[1] = 0x80;
    let p = run(&mut t, &input).one().to_vec();
    assert_eq!(p[1], 0, "TOS set to zero");
    assert_v4_ok(&p);
}

#[test]
fn rfc7915_5_1_1_total_length_skips_headers_before_fragment_header() {
    let mut t = xlat();
    let udp = udp6(SERVER6, CLAT6, 1, 2, b"hop-by-hop then fragment");
    let mut chain = vec![44, 0, 1, 4, 0, 0, 0, 0]; // Hop-by-Hop (PadN) -> Fragment
    chain.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0x12, 0x34]); // offset 0, M=0, id 0x1234
    chain.extend_from_slice(&udp);
    let p = run(&mut t, &v6(SERVER6, CLAT6, 0, &chain)).one().to_vec();
    assert_eq!(p.len(), 20 + udp.len());
    assert_eq!(usize::from(u16::from_be_bytes([p[2], p[3]])), 20 + udp.len(), "payload - 8 - 8 + 20");
    assert_eq!(p[9], 17);
    assert_eq!(u16::from_be_bytes([p[4], p[5]]), 0x1234);
    assert_eq!(u16::from_be_bytes([p[6], p[7]]), 0, "DF clear, MF clear, offset 0");
    assert_v4_ok(&p);
}

#[test]
fn rfc7915_5_2_rfc4884_extension_length_adjusted() {
    let mut t = xlat();
    let mut orig = v6(CLAT6, SERVER6, 17, &udp6(CLAT6, SERVER6, 1, 2, &[5; 60]));
    orig.resize(128, 0); // RFC 4884: at least 128 bytes, in 64-bit words for ICMPv6
    let ext = [0x20, 0, 0, 0, 0, 8, 1, 1, 0xde, 0xad, 0xbe, 0xef];
    let mut body = orig.clone();
    body.extend_from_slice(&ext);
    let m = icmp6(SERVER6, CLAT6, 3, 0, [16, 0, 0, 0], &body); // length: 16 words of 8 bytes
    let p = run(&mut t, &v6(SERVER6, CLAT6, 58, &m)).one().to_vec();
    assert_eq!((p[20], p[21]), (11, 0));
    let orig4 = usize::from(p[25]) * 4; // ICMPv4 length attribute, 32-bit words
    assert!(orig4 >= 128, "at least 128 bytes of original datagram");
    assert_eq!(&p[28 + orig4..], &ext, "extension carried after the padded datagram");
    assert_eq!(p[28], 0x45, "quoted packet translated to IPv4");
    assert_eq!(a4(&p, 28 + 12), CLAT4);
    assert!(p[28 + 108..28 + orig4].iter().all(|b| *b == 0), "zero padding");
    assert_v4_ok(&p);
}

#[test]
fn rfc7915_5_3_icmpv6_error_quoting_icmpv6_error_dropped() {
    let mut t = xlat();
    let inner_err = icmp6_error_packet(SERVER6, 1, 4, [0; 4]);
    let err = v6(SERVER6, CLAT6, 58, &icmp6(SERVER6, CLAT6, 1, 1, [0; 4], &inner_err));
    assert_eq!(run(&mut t, &err).action, Err(DropReason::IcmpErrorInError));
}

#[test]
fn rfc7915_5_4_no_icmpv6_error_about_an_icmpv6_error() {
    let mut t = xlat();
    let mut err = icmp6_error_packet(SERVER6, 1, 4, [0; 4]);
    err[7] = 1; // Hop Limit runs out at the translator
    assert_eq!(run(&mut t, &err).action, Err(DropReason::HopLimitExceeded));
    assert_eq!(t.counters().icmp6_errors_sent, 0);
}

#[test]
fn rfc7915_5_4_icmpv6_errors_can_be_disabled() {
    let mut t = xlat_with(|c| c.send_icmp_errors = false);
    let stranger: Ipv6Addr = "2001:db8:ffff::1".parse().unwrap();
    let input = v6(stranger, CLAT6, 17, &udp6(stranger, CLAT6, 1, 2, b"x"));
    assert_eq!(run(&mut t, &input).action, Err(DropReason::SourceUnmappable));
    assert_eq!(t.counters().icmp6_errors_sent, 0);
}

#[test]
fn rfc7915_5_5_unknown_transport_forwarded_unchanged() {
    let mut t = xlat();
    for proto in [47u8, 132, 253] {
        let payload = b"opaque transport bytes, not parsed";
        let p = run(&mut t, &v6(SERVER6, CLAT6, proto, payload)).one().to_vec();
        assert_eq!(p[9], proto, "Protocol copied");
        assert_eq!(&p[20..], &payload[..], "payload unchanged");
        assert_eq!(inet(&p[..20], 0), 0, "IPv4 header checksum");
        assert_eq!(usize::from(u16::from_be_bytes([p[2], p[3]])), p.len());
    }
}

#[test]
fn rfc6052_2_2_suffix_bits_ignored_when_received() {
    let prefix: crate::rfc6052::Prefix = "2001:db8:100::/40".parse().unwrap();
    let mut b = prefix.embed(SERVER4).octets();
    b[10..].copy_from_slice(&[0xab, 0xcd, 0xef, 0x01, 0x23, 0x45]); // non-zero suffix
    let dst = Ipv6Addr::from(b);
    assert_eq!(prefix.extract(&dst), Some(SERVER4));
    // End to end: the packet is translated as if the suffix were zero.
    let mut t = xlat_with(|c| c.pool6 = Some(prefix));
    let p = run(&mut t, &v6(CLAT6, dst, 17, &udp6(CLAT6, dst, 1, 2, b"x"))).one().to_vec();
    assert_eq!(a4(&p, 16), SERVER4);
    assert_v4_ok(&p);
}

#[test]
fn rfc7757_3_2_omitted_prefix_length_means_host_mapping() {
    let e: rfc7757::Entry = "192.0.2.1=2001:db8:aaaa::".parse().unwrap();
    assert_eq!((e.v4().prefix(), e.v6().prefix()), (32, 128));
    let table = rfc7757::Table::new([e]).unwrap();
    assert_eq!(table.v4_to_v6(Ipv4Addr::new(192, 0, 2, 1)), Some("2001:db8:aaaa::".parse().unwrap()));
    assert_eq!(table.v4_to_v6(Ipv4Addr::new(192, 0, 2, 2)), None);
}

#[test]
fn rfc7757_3_2_ipv4_suffix_longer_than_ipv6_suffix_rejected() {
    // 8 IPv4 suffix bits cannot be carried in 4 IPv6 suffix bits, 32 not in 16.
    assert!("192.0.2.0/24=2001:db8::10/124".parse::<rfc7757::Entry>().is_err());
    assert!("0.0.0.0/0=2001:db8::/112".parse::<rfc7757::Entry>().is_err());
}

// ------------------------------------------------------------ re-review additions
// Tests added when tests/rfc7915.md was brought up to date with the fixed
// core, for fixed rules no test above asserted.

#[test]
fn rfc7915_4_1_icmpv4_error_from_illegal_source_translated() {
    let mut t = xlat();
    let pool6: crate::rfc6052::Prefix = "2001:db8:64::/96".parse().unwrap();
    for src in [Ipv4Addr::new(0, 0, 0, 0), Ipv4Addr::new(127, 0, 0, 1)] {
        // An ICMPv4 error is translated "for the purpose of trouble shooting".
        let (err, _) = icmp4_error_packet(src, 3, 1, [0; 4]);
        let p = run(&mut t, &err).one().to_vec();
        assert_eq!((p[6], p[40], p[41]), (58, 1, 0), "{src}: host unreachable -> no route");
        assert_eq!(a6(&p, 8), pool6.embed(src), "{src}: source mapped like any other");
        assert_v6_l4_ok(&p);
        // Anything else from the same source is still discarded silently.
        let echo = v4(src, CLAT4, 1, &icmp4(8, 0, [0, 1, 0, 1], b"ping"), |_| {});
        assert_eq!(run(&mut t, &echo).action, Err(DropReason::Ipv4ReservedAddress), "{src}");
    }
    assert_eq!(t.counters().icmp4_errors_sent, 0);
    // With the Well-Known Prefix the illegal source has no mapping: RFC 6791 address.
    let mut wkp = Translator::new(Config {
        pool6: Some("64:ff9b::/96".parse().unwrap()),
        rfc6791_v6: Some("2001:db8:ffff::6791".parse().unwrap()),
        ..config()
    })
    .unwrap();
    let server = Ipv4Addr::new(8, 8, 8, 8);
    let quoted = v4(CLAT4, server, 17, &udp4(CLAT4, server, 1, 2, b"q"), |_| {});
    let err = v4(Ipv4Addr::new(127, 0, 0, 1), CLAT4, 1, &icmp4(11, 0, [0; 4], &quoted), |_| {});
    let p = run(&mut wkp, &err).one().to_vec();
    assert_eq!(a6(&p, 8), "2001:db8:ffff::6791".parse::<Ipv6Addr>().unwrap());
    assert_v6_l4_ok(&p);
}

#[test]
fn rfc7915_4_2_unicast_igmp_silently_dropped() {
    let mut t = xlat();
    // IGMP to a unicast host (a DVMRP message), which the reserved-address
    // rule of §4.1 does not catch.
    let dvmrp = [0x13, 0, 0xec, 0xff, 0, 0, 0, 0];
    let input = v4(CLAT4, SERVER4, 2, &dvmrp, |_| {});
    assert_eq!(run(&mut t, &input).action, Err(DropReason::Igmp));
    assert_eq!(t.counters().drops(DropReason::Igmp), 1);
    assert_eq!(t.counters().icmp4_errors_sent, 0, "silently");
}

#[test]
fn rfc7915_1_2_zero_checksum_udp_fragment_translated_when_forwarding() {
    let mut udp = udp4(CLAT4, SERVER4, 1, 2, &[7; 64]);
    udp[6..8].fill(0);
    // First fragment (MF set, DF clear) of a zero-checksum UDP datagram.
    let first = v4(CLAT4, SERVER4, 17, &udp[..40], |p| p[6] = 0x20);
    let mut forward = xlat_with(|c| c.udp_zero_checksum = UdpZeroChecksum::Forward);
    let p = run(&mut forward, &first).one().to_vec();
    assert_eq!((p[6], p[40]), (44, 17), "Fragment header, then UDP");
    assert_eq!(u16::from_be_bytes([p[42], p[43]]) & 1, 1, "M flag from MF");
    assert_eq!(&p[48..], &udp[..40], "UDP header and zero checksum carried unchanged");
    // §4.5: the other policies still drop it (the checksum cannot be computed).
    for policy in [UdpZeroChecksum::Drop, UdpZeroChecksum::Compute] {
        let mut t = xlat_with(|c| c.udp_zero_checksum = policy);
        assert_eq!(run(&mut t, &first).action, Err(DropReason::UdpZeroChecksum), "{policy:?}");
    }
}

#[test]
fn rfc7915_5_1_1_authentication_header_after_fragment_header_dropped() {
    let mut t = xlat();
    let mut chain = vec![51, 0, 0, 1, 0, 0, 0, 9]; // Fragment header (offset 0, M=1) -> AH
    chain.extend_from_slice(&[17, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    chain.extend_from_slice(&[0; 12]);
    chain.extend_from_slice(&udp6(SERVER6, CLAT6, 1, 2, b"x"));
    let out = run(&mut t, &v6(SERVER6, CLAT6, 44, &chain));
    assert_eq!(out.action, Err(DropReason::Ipv6ExtensionAfterFragment));
    assert_eq!(t.counters().drops(DropReason::Ipv6ExtensionAfterFragment), 1, "logged");
    assert_eq!(t.counters().icmp6_errors_sent, 0);
}

#[test]
fn rfc7915_5_3_quoted_packet_df_follows_5_1() {
    let mut t = xlat();
    // Small quoted packet: DF clear.
    let p = run(&mut t, &icmp6_error_packet(SERVER6, 1, 4, [0; 4])).one().to_vec();
    assert_eq!(p[28 + 6] & 0x40, 0, "quoted 36-byte packet: DF clear");
    // Quoted packet that was 1328 bytes as IPv4 (only its start is quoted): DF set.
    let mut quoted = v6(CLAT6, SERVER6, 17, &udp6(CLAT6, SERVER6, 4000, 53, &[1; 1300]));
    quoted.truncate(200);
    let err = v6(SERVER6, CLAT6, 58, &icmp6(SERVER6, CLAT6, 1, 4, [0; 4], &quoted));
    let p = run(&mut t, &err).one().to_vec();
    assert_eq!(u16::from_be_bytes([p[28 + 2], p[28 + 3]]), 20 + 8 + 1300, "quoted Total Length");
    assert_eq!(p[28 + 6] & 0x40, 0x40, "quoted packet above 1260 bytes: DF set");
    assert_eq!(inet(&p[28..48], 0), 0, "quoted header checksum");
}

/// A checksum-neutral CLAT address (Android's clatd trick) with the
/// Well-Known Prefix: the TCP checksum crosses the translator unchanged,
/// both ways.
#[test]
fn checksum_neutral_clat_address_leaves_transport_checksums_unchanged() {
    let server4 = Ipv4Addr::new(198, 51, 100, 7);
    let clat6 = crate::checksum::neutral_v6(CLAT6, CLAT4);
    let eam = format!("{CLAT4}/32={clat6}/128");
    let mut x = Translator::new(Config {
        pool6: Some("64:ff9b::/96".parse().unwrap()),
        eam: rfc7757::Table::new([eam.parse().unwrap()]).unwrap(),
        // The documentation-range server is not global (RFC 6052 §3.1).
        wkp_strict: false,
        ..Config::default()
    })
    .unwrap();
    let pkt = v4(CLAT4, server4, 6, &tcp4(CLAT4, server4, b"neutral"), |_| {});
    let mut out = vec![0u8; OUT_BUF_LEN];
    let Ok(Action::Translated { len, .. }) = x.translate(&pkt, &mut out) else { panic!() };
    assert_eq!(out[40 + 16..40 + 18], pkt[20 + 16..20 + 18], "TCP checksum unchanged 4 -> 6");
    let back = out[..len].to_vec();
    // And back: swap the addresses of the IPv6 packet (server -> CLAT).
    let mut reply = back.clone();
    reply[8..24].copy_from_slice(&back[24..40]);
    reply[24..40].copy_from_slice(&back[8..24]);
    let Ok(Action::Translated { .. }) = x.translate(&reply, &mut out) else { panic!() };
    assert_eq!(out[20 + 16..20 + 18], reply[40 + 16..40 + 18], "TCP checksum unchanged 6 -> 4");
}

/// RFC 4443 §2.4 (f): originated ICMP errors are rate-limited (token
/// bucket: a burst, then `icmp-error-rate` per second of the caller's
/// clock); the dropped packet is still counted under its reason.
#[test]
fn originated_icmp_errors_are_rate_limited() {
    let mut x = xlat_with(|c| c.icmp_error_rate = 10);
    let mut out = vec![0u8; OUT_BUF_LEN];
    // TTL 1: each one would get a Time Exceeded.
    let pkt = v4(CLAT4, Ipv4Addr::new(198, 51, 100, 7), 17, &[0u8; 8], |p| p[8] = 1);
    let mut sent = 0;
    for _ in 0..15 {
        if matches!(x.translate(&pkt, &mut out), Ok(Action::IcmpError { .. })) {
            sent += 1;
        }
    }
    assert_eq!(sent, 10, "the burst is the rate when the rate is under 50");
    assert_eq!(x.counters().icmp_errors_rate_limited, 5);
    assert_eq!(x.counters().drops(DropReason::TtlExceeded), 15, "every packet counted");
    // 100 ms at 10/s earn one more.
    x.set_now(core::time::Duration::from_millis(100));
    assert!(matches!(x.translate(&pkt, &mut out), Ok(Action::IcmpError { .. })));
    assert!(matches!(x.translate(&pkt, &mut out), Err(DropReason::TtlExceeded)));
    // A long quiet period refills up to the burst only.
    x.set_now(core::time::Duration::from_secs(60));
    let again = (0..20).filter(|_| matches!(x.translate(&pkt, &mut out), Ok(Action::IcmpError { .. }))).count();
    assert_eq!(again, 10);
    // 0: no limit.
    let mut free = xlat();
    assert!((0..200).all(|_| matches!(free.translate(&pkt, &mut out), Ok(Action::IcmpError { .. }))));
}
