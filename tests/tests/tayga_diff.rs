//! Differential test: our RFC 7915 translation (`xlat_core::Translator`)
//! against Debian's TAYGA 0.9.2, packet by packet.
//!
//! TAYGA runs in its own network namespace ([`xlat_lab::tayga`]); every
//! test packet is injected into its TUN with a raw socket and what TAYGA
//! writes back is captured with an `AF_PACKET` socket. The very bytes TAYGA
//! read are translated by our core with the same configuration, and both
//! outputs are dissected into named fields (version, traffic class / TOS,
//! flow label, lengths, next header / protocol, hop limit / TTL, addresses,
//! fragment header, every transport header field, payload, and the packet
//! quoted in an ICMP error, recursively) and compared. Every field must be
//! byte-equal, except the known TAYGA deviations from RFC 7915 listed in
//! `tests/TAYGA.md`: each is excluded for exactly the field and the cases
//! it concerns ([`Known`]). Checksums are also verified on both sides.
//!
//! Without root or without `tayga` the tests print `SKIPPED ...` and pass;
//! with `CI=true` they fail instead. `XLAT_TAYGA_VERBOSE=1` prints every
//! packet of every case.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use etherparse::{IpHeaders, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, PacketBuilder, TcpOptionElement};
use xlat_core::{Action, Config, Translator, OUT_BUF_LEN};
use xlat_lab::netns::{require_root, require_tool, Netns};
use xlat_lab::tayga::{Tayga, TaygaConfig};

// ---------------------------------------------------------------------------
// The lab's addresses (TaygaConfig::default() and `our_config` agree).

/// An IPv4 host on the IPv4 side: 2001:db8:64::c633:6405 on the IPv6 side.
const H4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 5);
/// An IPv4 router on the IPv4 side.
const R4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// Another IPv4 host: 2001:db8:64::cb00:7107.
const H4B: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 7);
/// The IPv6 host with a static mapping (TAYGA `map`, our EAM).
const H6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xaaaa, 0, 0, 0, 0, 0x10);
/// `H6` as IPv4.
const H6_AS_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// An IPv6 router with no mapping (RFC 6791 source for its ICMP errors).
const R6_UNMAPPED: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xaaaa, 0, 0, 0, 0, 0x1);

/// RFC 6052 embedding of `a` in 2001:db8:64::/96.
fn nat64(a: Ipv4Addr) -> Ipv6Addr {
    let o = a.octets();
    Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, u16::from_be_bytes([o[0], o[1]]), u16::from_be_bytes([o[2], o[3]]))
}

/// Our translator configured like TAYGA: pool6 = TAYGA's prefix, one EAM
/// per `map`, ipv4_addr = TAYGA's `ipv4-addr`, MTUs = the TUN's.
fn our_config(t: &TaygaConfig) -> Config {
    let (prefix, len) = t.prefix;
    let eam = t.maps.iter().map(|(v4, v6)| format!("{v4}/32={v6}/128").parse().expect("valid EAM"));
    Config {
        pool6: Some(format!("{prefix}/{len}").parse().expect("valid pool6")),
        eam: xlat_core::rfc7757::Table::new(eam).expect("valid EAM table"),
        ipv4_addr: t.ipv4_addr,
        mtu_v4: t.mtu,
        mtu_v6: t.mtu,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------
// Known deviations of TAYGA 0.9.2 from RFC 7915: tests/TAYGA.md explains
// each (Dn there); here each excludes exactly the fields it changes, and
// only in the cases that exercise it.

/// A field excluded from the comparison for one case, with the TAYGA.md
/// entry that explains why.
#[derive(Debug, Clone, Copy)]
struct Known {
    /// Field name as [`dissect`] names it; `packets` is the number of
    /// packets, `ip.version` the kind of packet (a translation versus an
    /// ICMP error), `checksum` the validity of TAYGA's checksums.
    field: &'static str,
    /// The TAYGA.md entry.
    doc: &'static str,
}

const fn known(field: &'static str, doc: &'static str) -> Known {
    Known { field, doc }
}

/// D1: TAYGA drops IPv4 UDP datagrams with a zero checksum (we compute it,
/// RFC 7915 §4.5).
const D1_UDP_ZERO_CHECKSUM: &[Known] = &[known("packets", "D1")];
/// D2: TAYGA translates packets with an unexpired IPv4 source route (we
/// answer ICMPv4 Source Route Failed, RFC 7915 §4.1).
const D2_SOURCE_ROUTE: &[Known] = &[known("ip.version", "D2")];
/// D3: TAYGA drops ICMPv4 Parameter Problem (we translate it, RFC 7915 §4.2).
const D3_ICMP4_PARAM_PROBLEM: &[Known] = &[known("packets", "D3")];
/// D4: TAYGA drops RFC 4884 ICMP extensions, with the zero padding of the
/// original datagram, and zeroes the length attribute (RFC 7915 §4.2/§5.2
/// with RFC 4884). Only the lengths, checksums, the length attribute
/// (`icmp.rest`) and the tail of the quoted datagram differ.
const D4_ICMP_EXTENSIONS_V6: &[Known] = &[
    known("ipv6.payload_length", "D4"),
    known("icmp.checksum", "D4"),
    known("icmp.rest", "D4"),
    known("icmp.quoted.udp.payload", "D4"),
];
const D4_ICMP_EXTENSIONS_V4: &[Known] = &[
    known("ipv4.total_length", "D4"),
    known("ipv4.header_checksum", "D4"),
    known("icmp.checksum", "D4"),
    known("icmp.rest", "D4"),
    known("icmp.quoted.udp.payload", "D4"),
];
/// D5: TAYGA drops ICMPv6 errors from IPv6 routers with no IPv4 mapping
/// (we use RFC 6791's source, our `ipv4_addr`).
const D5_RFC6791: &[Known] = &[known("packets", "D5")];
/// D6: TAYGA drops ICMPv6 Parameter Problem code 0 (RFC 7915 §5.2).
const D6_ICMP6_PARAM_PROBLEM: &[Known] = &[known("packets", "D6")];
/// D7: TAYGA drops ICMPv6 Destination Unreachable code 3, Address
/// Unreachable (RFC 7915 §5.2: ICMPv4 Host Unreachable).
const D7_ICMP6_ADDRESS_UNREACHABLE: &[Known] = &[known("packets", "D7")];
/// D8: TAYGA translates packets whose Routing header has Segments Left > 0
/// (we answer ICMPv6 Parameter Problem, RFC 7915 §5.1).
const D8_ROUTING_HEADER: &[Known] = &[known("ip.version", "D8")];
/// D9: TAYGA's ICMPv6 error for an unmappable address uses code 5 (source)
/// or 0 (destination); RFC 7915 §5.4 says code 1.
const D9_UNMAPPABLE_CODE: &[Known] = &[known("icmp.code", "D9"), known("icmp.checksum", "D9")];
/// D10: IPv6 UDP with a zero checksum: TAYGA drops, we translate it to IPv4
/// "no checksum" (RFC 7915 is silent; not a TAYGA bug, a policy difference).
const D10_UDP6_ZERO_CHECKSUM: &[Known] = &[known("packets", "D10")];

/// D11: RFC 7915 §5.1 gives unfragmented IPv4 packets a generated
/// Identification and DF only above 1260 bytes; TAYGA 0.9.2 follows RFC 6145
/// (Identification 0, DF always). Applied to every IPv6->IPv4 packet, but
/// only where our packet follows the RFC 7915 rule exactly
/// ([`follows_rfc7915_df_rule`]), so a bug in ours is still caught.
const D11_FIELDS: [&str; 3] = ["ipv4.identification", "ipv4.flags_offset", "ipv4.flags"];

/// Whether an IPv4 packet (outer, or the quoted one in an ICMP error)
/// follows RFC 7915 §5.1: not a fragment, DF set iff longer than 1260.
fn follows_rfc7915_df_rule(p: &[u8]) -> bool {
    if p.len() < 20 || p[0] >> 4 != 4 {
        return false;
    }
    let fo = u16::from_be_bytes([p[6], p[7]]);
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    fo & 0xbfff == 0 && (fo & 0x4000 != 0) == (total > 1260)
}

// ---------------------------------------------------------------------------
// Test cases.

/// One packet to translate both ways and compare.
struct Case {
    name: String,
    packet: Vec<u8>,
    known: Vec<Known>,
}

fn case(name: impl Into<String>, packet: Vec<u8>) -> Case {
    Case { name: name.into(), packet, known: Vec::new() }
}

impl Case {
    /// Excludes the fields of a known TAYGA deviation from this case.
    fn with(mut self, k: &[Known]) -> Self {
        self.known.extend_from_slice(k);
        self
    }
}

/// RFC 1071 checksum of `data` with an initial sum.
fn csum(init: u32, data: &[u8]) -> u16 {
    let mut sum = init;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Edits the IPv4 header of `p` with `f`, then recomputes its checksum.
fn patch_v4(mut p: Vec<u8>, f: impl FnOnce(&mut [u8])) -> Vec<u8> {
    f(&mut p);
    let ihl = usize::from(p[0] & 0x0f) * 4;
    p[10..12].fill(0);
    let c = csum(0, &p[..ihl]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p
}

/// An IPv4 header `src -> dst`: TTL 64, DF set, a non-zero Identification
/// (the kernel would fill in a zero one).
fn v4_header(src: Ipv4Addr, dst: Ipv4Addr, proto: IpNumber) -> IpHeaders {
    let mut h = Ipv4Header::new(0, 64, proto, src.octets(), dst.octets()).expect("valid header");
    h.identification = 0x4d2b;
    h.dont_fragment = true;
    IpHeaders::Ipv4(h, Default::default())
}

/// An IPv6 header `src -> dst`: hop limit 64, traffic class and flow label 0.
fn v6_header(src: Ipv6Addr, dst: Ipv6Addr, next: IpNumber) -> IpHeaders {
    let h = Ipv6Header {
        traffic_class: 0,
        flow_label: Ipv6FlowLabel::ZERO,
        payload_length: 0,
        next_header: next,
        hop_limit: 64,
        source: src.octets(),
        destination: dst.octets(),
    };
    IpHeaders::Ipv6(h, Default::default())
}

fn write(b: impl FnOnce(&mut Vec<u8>) -> Result<(), etherparse::err::packet::BuildWriteError>) -> Vec<u8> {
    let mut out = Vec::new();
    b(&mut out).expect("building a test packet");
    out
}

fn udp4(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    write(|o| PacketBuilder::ip(v4_header(src, dst, IpNumber::UDP)).udp(sport, dport).write(o, payload))
}

fn udp6(src: Ipv6Addr, dst: Ipv6Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    write(|o| PacketBuilder::ip(v6_header(src, dst, IpNumber::UDP)).udp(sport, dport).write(o, payload))
}

const SYN_OPTIONS: [TcpOptionElement; 5] = [
    TcpOptionElement::MaximumSegmentSize(1460),
    TcpOptionElement::SelectiveAcknowledgementPermitted,
    TcpOptionElement::Timestamp(0x0102_0304, 0),
    TcpOptionElement::Noop,
    TcpOptionElement::WindowScale(7),
];

fn tcp_syn4(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    write(|o| {
        PacketBuilder::ip(v4_header(src, dst, IpNumber::TCP))
            .tcp(43210, 80, 0x1122_3344, 64240)
            .syn()
            .options(&SYN_OPTIONS)
            .expect("options fit")
            .write(o, &[])
    })
}

fn tcp_data6(src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    write(|o| {
        PacketBuilder::ip(v6_header(src, dst, IpNumber::TCP))
            .tcp(80, 43210, 0x5566_7788, 501)
            .ack(0x1122_3345)
            .psh()
            .options(&[TcpOptionElement::Noop, TcpOptionElement::Noop, TcpOptionElement::Timestamp(7, 0x0102_0304)])
            .expect("options fit")
            .write(o, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    })
}

/// Payload bytes 0, 1, 2, ... (mod 251, so no period of 256).
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// IPv4 fragment of the complete packet `full`: payload bytes
/// `[off, off + len)`, More Fragments `more`.
fn fragment_v4(full: &[u8], off: usize, len: usize, more: bool) -> Vec<u8> {
    let payload = &full[20..];
    let mut p = full[..20].to_vec();
    p.extend_from_slice(&payload[off..(off + len).min(payload.len())]);
    let total = p.len() as u16;
    patch_v4(p, |h| {
        h[2..4].copy_from_slice(&total.to_be_bytes());
        let flags_off = (u16::from(more) << 13) | (off / 8) as u16;
        h[6..8].copy_from_slice(&flags_off.to_be_bytes());
    })
}

/// IPv6 fragment of the complete packet `full` (no extension headers):
/// payload bytes `[off, off + len)`, M flag `more`, Identification `id`.
fn fragment_v6(full: &[u8], off: usize, len: usize, more: bool, id: u32) -> Vec<u8> {
    let payload = &full[40..];
    let piece = &payload[off..(off + len).min(payload.len())];
    let mut p = full[..40].to_vec();
    p[4..6].copy_from_slice(&((8 + piece.len()) as u16).to_be_bytes());
    p[6] = 44;
    p.push(full[6]);
    p.push(0);
    p.extend_from_slice(&(((off / 8) as u16) << 3 | u16::from(more)).to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(piece);
    p
}

/// `full` with IPv4 options `opts` (a multiple of 4 bytes) after its header.
fn with_v4_options(full: &[u8], opts: &[u8]) -> Vec<u8> {
    let mut p = full[..20].to_vec();
    p.extend_from_slice(opts);
    p.extend_from_slice(&full[20..]);
    let total = p.len() as u16;
    let ihl = ((20 + opts.len()) / 4) as u8;
    patch_v4(p, |h| {
        h[0] = 0x40 | ihl;
        h[2..4].copy_from_slice(&total.to_be_bytes());
    })
}

/// `full` (no extension headers) with the extension header `ext` (its
/// Next Header byte is filled in) inserted after the IPv6 header.
fn with_v6_ext(full: &[u8], kind: u8, ext: &[u8]) -> Vec<u8> {
    let mut p = full[..40].to_vec();
    let plen = u16::from_be_bytes([p[4], p[5]]) + ext.len() as u16;
    p[4..6].copy_from_slice(&plen.to_be_bytes());
    p[6] = kind;
    p.push(full[6]);
    p.extend_from_slice(&ext[1..]);
    p.extend_from_slice(&full[40..]);
    p
}

/// An RFC 4884 ICMP extension structure (version 2) with one Interface
/// Information-like object, checksummed.
fn rfc4884_extension() -> Vec<u8> {
    let mut e = vec![0x20, 0, 0, 0, 0x00, 0x08, 0x02, 0x01, 0, 0, 0, 5];
    let c = csum(0, &e);
    e[2..4].copy_from_slice(&c.to_be_bytes());
    e
}

/// `quoted` zero-padded to `len` bytes, then `ext`.
fn padded_with(quoted: &[u8], len: usize, ext: &[u8]) -> Vec<u8> {
    let mut b = quoted.to_vec();
    b.resize(len, 0);
    b.extend_from_slice(ext);
    b
}

/// ICMPv4 error `ty`/`code`/`rest` from the router `R4` to `H6`, quoting
/// `quoted`.
fn icmp4_error(ty: u8, code: u8, rest: [u8; 4], quoted: &[u8]) -> Vec<u8> {
    write(|o| PacketBuilder::ip(v4_header(R4, H6_AS_V4, IpNumber::ICMP)).icmpv4_raw(ty, code, rest).write(o, quoted))
}

/// ICMPv6 error `ty`/`code`/`rest` from `src` to `H4B`, quoting `quoted`.
fn icmp6_error(src: Ipv6Addr, ty: u8, code: u8, rest: [u8; 4], quoted: &[u8]) -> Vec<u8> {
    let dst = nat64(H4B);
    write(|o| PacketBuilder::ip(v6_header(src, dst, IpNumber::IPV6_ICMP)).icmpv6_raw(ty, code, rest).write(o, quoted))
}

/// IPv4 -> IPv6 cases: from `H4` (and the router `R4`) to the mapped host
/// `H6` (192.0.2.10).
fn cases_4to6() -> Vec<Case> {
    let dst = H6_AS_V4;
    let udp = udp4(H4, dst, 40000, 53, b"differential test: udp over ipv4");
    let big = udp4(H4, dst, 40001, 9, &pattern(1400 - 28));
    let big_df0 = patch_v4(big.clone(), |h| h[6] = 0);
    // What routers quote: packets H6 sent to H4 (TTL already decremented).
    let quoted_udp = udp4(dst, H4, 53, 40000, b"the datagram that bounced");
    let quoted_tcp = patch_v4(tcp_syn4(dst, H4), |h| h[8] = 63);
    let quoted_echo = write(|o| {
        PacketBuilder::ip(v4_header(dst, H4, IpNumber::ICMP)).icmpv4_echo_request(0x2222, 8).write(o, b"ping")
    });
    let echo = write(|o| {
        PacketBuilder::ip(v4_header(H4, dst, IpNumber::ICMP))
            .icmpv4_echo_request(0x2222, 7)
            .write(o, b"ping payload 0123456789")
    });
    let tcp_odd = write(|o| {
        PacketBuilder::ip(v4_header(H4, dst, IpNumber::TCP)).tcp(43210, 80, 1, 502).ack(9).psh().write(o, b"odd")
    });
    let mut cases = vec![
        // Plain translation (§4.1, §4.5).
        case("udp", udp.clone()),
        case("tcp_syn_options", tcp_syn4(H4, dst)),
        case("tcp_odd_payload", tcp_odd),
        case("icmp_echo_request", echo),
        case("pool6_destination", udp4(H4, H4B, 40000, 53, b"to an IPv4 address via the prefix")),
        case("tos_b8", patch_v4(udp.clone(), |h| h[1] = 0xb8)),
        case("tos_ecn_ce", patch_v4(udp.clone(), |h| h[1] = 0x03)),
        case("ttl_2", patch_v4(udp.clone(), |h| h[8] = 2)),
        case("ipv4_options_nop", with_v4_options(&udp, &[1, 1, 1, 0])),
        case("udp_zero_checksum", patch_v4(udp.clone(), |h| h[26..28].fill(0))).with(D1_UDP_ZERO_CHECKSUM),
        // Fragmentation (§4.1).
        case("df0_small", patch_v4(udp.clone(), |h| h[6] = 0)),
        case("df1_1400_bytes", big),
        case("df0_1400_bytes_fragmented", big_df0.clone()),
        case("fragment_first", fragment_v4(&big_df0, 0, 800, true)),
        case("fragment_last", fragment_v4(&big_df0, 800, 600, false)),
        // Errors the translator originates (§4.1, §4.4).
        case("ttl_1_time_exceeded", patch_v4(udp.clone(), |h| h[8] = 1)),
        case("df1_1500_bytes_too_big", udp4(H4, dst, 40002, 9, &pattern(1500 - 28))),
        case("ipv4_unexpired_lsrr", with_v4_options(&udp, &[0x83, 7, 4, 192, 0, 2, 10, 0])).with(D2_SOURCE_ROUTE),
        // ICMPv4 errors (§4.2, §4.3).
        case("icmp_frag_needed_mtu_1400", icmp4_error(3, 4, [0, 0, 0x05, 0x78], &quoted_tcp[..48])),
        case("icmp_frag_needed_mtu_576", icmp4_error(3, 4, [0, 0, 0x02, 0x40], &quoted_tcp[..48])),
        case("icmp_frag_needed_mtu_0", icmp4_error(3, 4, [0; 4], &quoted_tcp[..48])),
        case("icmp_time_exceeded", icmp4_error(11, 0, [0; 4], &quoted_udp)),
        case("icmp_reassembly_time_exceeded", icmp4_error(11, 1, [0; 4], &quoted_udp)),
        case("icmp_time_exceeded_quoting_echo", icmp4_error(11, 0, [0; 4], &quoted_echo)),
        case("icmp_param_problem_pointer_8", icmp4_error(12, 0, [8, 0, 0, 0], &quoted_udp))
            .with(D3_ICMP4_PARAM_PROBLEM),
        case(
            "icmp_time_exceeded_rfc4884_extension",
            icmp4_error(11, 0, [0, 32, 0, 0], &padded_with(&quoted_udp, 128, &rfc4884_extension())),
        )
        .with(D4_ICMP_EXTENSIONS_V6),
        case("icmp_timestamp_request", icmp4_error(13, 0, [0, 1, 0, 1], &[0; 12])),
    ];
    // Every Destination Unreachable code (§4.2), 4 (PTB) above.
    for code in (0..=15).filter(|c| *c != 4) {
        cases.push(case(format!("icmp_unreachable_code_{code}"), icmp4_error(3, code, [0; 4], &quoted_udp)));
    }
    cases
}

/// IPv6 -> IPv4 cases: from the mapped host `H6` (and an unmapped router)
/// to `H4B` through the prefix.
fn cases_6to4() -> Vec<Case> {
    let dst = nat64(H4B);
    let udp = udp6(H6, dst, 5353, 40000, b"differential test: udp over ipv6");
    let tc_fl = |mut p: Vec<u8>, tc: u8, fl: u32| {
        p[0] = 0x60 | tc >> 4;
        p[1] = (tc << 4) | ((fl >> 16) as u8 & 0x0f);
        p[2] = (fl >> 8) as u8;
        p[3] = fl as u8;
        p
    };
    let hop = |mut p: Vec<u8>, h: u8| {
        p[7] = h;
        p
    };
    let big = udp6(H6, dst, 5353, 40001, &pattern(1200));
    // What routers quote: packets H4B sent to H6.
    let quoted_udp = udp6(dst, H6, 40000, 5353, b"the datagram that bounced");
    let quoted_tcp = tcp_data6(dst, H6);
    let quoted_echo = write(|o| {
        PacketBuilder::ip(v6_header(dst, H6, IpNumber::IPV6_ICMP)).icmpv6_echo_request(0x3334, 2).write(o, b"ping")
    });
    let echo_reply = write(|o| {
        PacketBuilder::ip(v6_header(H6, dst, IpNumber::IPV6_ICMP))
            .icmpv6_echo_reply(0x3333, 9)
            .write(o, b"pong payload 0123456789")
    });
    let echo_request = write(|o| {
        PacketBuilder::ip(v6_header(H6, dst, IpNumber::IPV6_ICMP)).icmpv6_echo_request(0x3334, 1).write(o, b"ping")
    });
    // Routing header type 0 with one address and `left` segments left.
    let routing = |left: u8| {
        let mut r = vec![0, 2, 0, left, 0, 0, 0, 0];
        r.extend_from_slice(&dst.octets());
        r
    };
    let pad_n = [0, 0, 1, 4, 0, 0, 0, 0];
    let nowhere = Ipv6Addr::new(0x2001, 0xdb8, 0xaaaa, 0, 0, 0, 0, 0x20);
    let mut udp_zero = udp.clone();
    udp_zero[46..48].fill(0);
    let mut cases = vec![
        // Plain translation (§5.1, §5.5).
        case("udp", udp.clone()),
        case("tcp_data", tcp_data6(H6, dst)),
        case("icmpv6_echo_reply", echo_reply),
        case("icmpv6_echo_request", echo_request),
        case("traffic_class_b8", tc_fl(udp.clone(), 0xb8, 0)),
        case("traffic_class_and_flow_label", tc_fl(udp.clone(), 0x2a, 0xbeef5)),
        case("hop_limit_2", hop(udp.clone(), 2)),
        case("udp_zero_checksum", udp_zero).with(D10_UDP6_ZERO_CHECKSUM),
        // Extension headers (§5.1, §5.1.1).
        case("hop_by_hop_options", with_v6_ext(&udp, 0, &pad_n)),
        case("destination_options", with_v6_ext(&udp, 60, &pad_n)),
        case("routing_header_segments_left_0", with_v6_ext(&udp, 43, &routing(0))),
        case("fragment_first", fragment_v6(&big, 0, 608, true, 0xdead_beef)),
        case("fragment_last", fragment_v6(&big, 608, 600, false, 0xdead_beef)),
        // Errors the translator originates (§5.1, §5.4).
        case("hop_limit_1_time_exceeded", hop(udp.clone(), 1)),
        case("routing_header_segments_left_1", with_v6_ext(&udp, 43, &routing(1))).with(D8_ROUTING_HEADER),
        case("unmapped_source", udp6(nowhere, dst, 5353, 40000, b"from nowhere")).with(D9_UNMAPPABLE_CODE),
        case("unmapped_destination", udp6(H6, nowhere, 5353, 40000, b"to nowhere")).with(D9_UNMAPPABLE_CODE),
        // ICMPv6 errors (§5.2, §5.3).
        case("icmpv6_packet_too_big_1400", icmp6_error(H6, 2, 0, 1400u32.to_be_bytes(), &quoted_tcp)),
        case("icmpv6_packet_too_big_1280", icmp6_error(H6, 2, 0, 1280u32.to_be_bytes(), &quoted_udp)),
        case("icmpv6_time_exceeded_quoting_echo", icmp6_error(H6, 3, 0, [0; 4], &quoted_echo)),
        case("icmpv6_fragment_reassembly_time_exceeded", icmp6_error(H6, 3, 1, [0; 4], &quoted_udp)),
        case("icmpv6_time_exceeded_unmapped_router", icmp6_error(R6_UNMAPPED, 3, 0, [0; 4], &quoted_udp))
            .with(D5_RFC6791),
        case("icmpv6_param_problem_pointer_7", icmp6_error(H6, 4, 0, 7u32.to_be_bytes(), &quoted_udp))
            .with(D6_ICMP6_PARAM_PROBLEM),
        case("icmpv6_param_problem_next_header", icmp6_error(H6, 4, 1, 40u32.to_be_bytes(), &quoted_udp)),
        case("icmpv6_param_problem_option", icmp6_error(H6, 4, 2, 42u32.to_be_bytes(), &quoted_udp)),
        case(
            "icmpv6_unreachable_rfc4884_extension",
            icmp6_error(H6, 1, 4, [16, 0, 0, 0], &padded_with(&quoted_udp, 128, &rfc4884_extension())),
        )
        .with(D4_ICMP_EXTENSIONS_V4),
        case("icmpv6_mld_query", icmp6_error(H6, 130, 0, [0; 4], &[0; 16])),
    ];
    // Every Destination Unreachable code (§5.2), and one unknown.
    for code in 0..=7 {
        let c = case(format!("icmpv6_unreachable_code_{code}"), icmp6_error(H6, 1, code, [0; 4], &quoted_udp));
        cases.push(if code == 3 { c.with(D7_ICMP6_ADDRESS_UNREACHABLE) } else { c });
    }
    cases
}

// ---------------------------------------------------------------------------
// Dissection into named fields.

/// A packet as an ordered list of (field name, bytes).
type Fields = Vec<(String, Vec<u8>)>;

/// Reads fields off a byte slice; a truncated field takes what is left.
struct Cursor<'a> {
    p: &'a [u8],
    at: usize,
    prefix: String,
    out: &'a mut Fields,
}

impl Cursor<'_> {
    fn take(&mut self, name: &str, n: usize) -> Vec<u8> {
        let end = (self.at + n).min(self.p.len());
        let v = self.p.get(self.at..end).unwrap_or(&[]).to_vec();
        self.at = end;
        self.out.push((format!("{}{name}", self.prefix), v.clone()));
        v
    }
    fn put(&mut self, name: &str, v: Vec<u8>) {
        self.out.push((format!("{}{name}", self.prefix), v));
    }
    fn rest(&self) -> &[u8] {
        self.p.get(self.at..).unwrap_or(&[])
    }
}

/// Names every field of the IP packet `p` (or of the truncated packet
/// quoted in an ICMP error, with `prefix`).
fn dissect(p: &[u8], prefix: &str, out: &mut Fields) {
    let mut c = Cursor { p, at: 0, prefix: prefix.to_owned(), out };
    match p.first().map(|b| b >> 4) {
        Some(4) => {
            let ihl = usize::from(p[0] & 0x0f) * 4;
            c.put("ip.version", vec![4]);
            c.put("ipv4.ihl", vec![p[0] & 0x0f]);
            c.at = 1;
            c.take("ipv4.tos", 1);
            let total = c.take("ipv4.total_length", 2);
            c.take("ipv4.identification", 2);
            let fo = c.take("ipv4.flags_offset", 2);
            let fo = u16::from_be_bytes([fo.first().copied().unwrap_or(0), fo.get(1).copied().unwrap_or(0)]);
            c.out.pop();
            c.put("ipv4.flags", vec![(fo >> 13) as u8]);
            c.put("ipv4.fragment_offset", (fo & 0x1fff).to_be_bytes().to_vec());
            c.take("ipv4.ttl", 1);
            let proto = c.take("ipv4.protocol", 1).first().copied().unwrap_or(0);
            c.take("ipv4.header_checksum", 2);
            c.take("ipv4.src", 4);
            c.take("ipv4.dst", 4);
            if ihl > 20 {
                c.take("ipv4.options", ihl - 20);
            }
            c.at = ihl.min(p.len());
            let total = usize::from(u16::from_be_bytes([
                total.first().copied().unwrap_or(0),
                total.get(1).copied().unwrap_or(0),
            ]));
            let end = if prefix.is_empty() { total.min(p.len()) } else { p.len() };
            let l4 = p.get(c.at..end).unwrap_or(&[]);
            transport(proto, l4, fo & 0x1fff == 0, false, prefix, c.out);
        }
        Some(6) => {
            c.put("ip.version", vec![6]);
            c.put("ipv6.traffic_class", vec![(p[0] << 4) | (p.get(1).copied().unwrap_or(0) >> 4)]);
            let fl = c.take("ipv6.flow_label", 4);
            c.out.pop();
            let fl = u32::from_be_bytes([
                0,
                fl.get(1).copied().unwrap_or(0) & 0x0f,
                fl.get(2).copied().unwrap_or(0),
                fl.get(3).copied().unwrap_or(0),
            ]);
            c.put("ipv6.flow_label", fl.to_be_bytes()[1..].to_vec());
            c.take("ipv6.payload_length", 2);
            let mut next = c.take("ipv6.next_header", 1).first().copied().unwrap_or(0);
            c.take("ipv6.hop_limit", 1);
            c.take("ipv6.src", 16);
            c.take("ipv6.dst", 16);
            let mut first = true;
            let mut n = 0;
            while matches!(next, 0 | 43 | 60 | 44) && c.rest().len() >= 8 {
                if next == 44 {
                    next = c.take("frag.next_header", 1)[0];
                    c.take("frag.reserved", 1);
                    let om = c.take("frag.offset_m", 2);
                    c.out.pop();
                    let om = u16::from_be_bytes([om[0], om[1]]);
                    c.put("frag.offset", (om >> 3).to_be_bytes().to_vec());
                    c.put("frag.res_m", vec![(om & 7) as u8]);
                    c.take("frag.identification", 4);
                    first = om >> 3 == 0;
                    break;
                }
                let len = (usize::from(c.rest()[1]) + 1) * 8;
                next = c.rest()[0];
                c.take(&format!("ext{n}"), len);
                n += 1;
            }
            let l4 = c.rest().to_vec();
            transport(next, &l4, first, true, prefix, c.out);
        }
        _ => {
            c.take("unparsed", p.len());
        }
    }
}

fn transport(proto: u8, l4: &[u8], first: bool, v6: bool, prefix: &str, out: &mut Fields) {
    let mut c = Cursor { p: l4, at: 0, prefix: prefix.to_owned(), out };
    if !first {
        c.take("fragment.payload", l4.len());
        return;
    }
    match proto {
        6 => {
            c.take("tcp.src_port", 2);
            c.take("tcp.dst_port", 2);
            c.take("tcp.seq", 4);
            c.take("tcp.ack", 4);
            let off = c.take("tcp.offset_flags", 2);
            c.take("tcp.window", 2);
            c.take("tcp.checksum", 2);
            c.take("tcp.urgent", 2);
            let doff = usize::from(off.first().copied().unwrap_or(0x50) >> 4) * 4;
            c.take("tcp.options", doff.saturating_sub(20));
            c.take("tcp.payload", l4.len());
        }
        17 => {
            c.take("udp.src_port", 2);
            c.take("udp.dst_port", 2);
            c.take("udp.length", 2);
            c.take("udp.checksum", 2);
            c.take("udp.payload", l4.len());
        }
        1 | 58 => {
            let ty = c.take("icmp.type", 1).first().copied().unwrap_or(0);
            c.take("icmp.code", 1);
            c.take("icmp.checksum", 2);
            c.take("icmp.rest", 4);
            let error = if v6 { ty < 128 } else { matches!(ty, 3 | 4 | 5 | 11 | 12) };
            if error {
                let quoted = c.rest().to_vec();
                dissect(&quoted, &format!("{prefix}icmp.quoted."), c.out);
            } else {
                c.take("icmp.payload", l4.len());
            }
        }
        _ => {
            c.take("payload", l4.len());
        }
    }
}

/// Checksum problems of a complete packet (empty = all valid).
fn checksum_errors(p: &[u8]) -> Vec<String> {
    let mut errs = Vec::new();
    let (proto, l4, pseudo) = match p.first().map(|b| b >> 4) {
        Some(4) if p.len() >= 20 => {
            let ihl = usize::from(p[0] & 0x0f) * 4;
            if csum(0, &p[..ihl]) != 0 {
                errs.push("ipv4.header_checksum invalid".into());
            }
            if u16::from_be_bytes([p[6], p[7]]) & 0x3fff != 0 {
                return errs; // a fragment: the transport checksum spans all of them
            }
            let l4 = &p[ihl..];
            let mut s = 0u32;
            for c in p[12..20].chunks(2) {
                s += u32::from(u16::from_be_bytes([c[0], c[1]]));
            }
            let pseudo = if p[9] == 1 { 0 } else { s + u32::from(p[9]) + l4.len() as u32 };
            (p[9], l4, pseudo)
        }
        Some(6) if p.len() >= 40 => {
            if p[6] == 44 {
                return errs;
            }
            let l4 = &p[40..];
            let mut s = 0u32;
            for c in p[8..40].chunks(2) {
                s += u32::from(u16::from_be_bytes([c[0], c[1]]));
            }
            (p[6], l4, s + u32::from(p[6]) + l4.len() as u32)
        }
        _ => return vec!["not an IP packet".into()],
    };
    let zero_udp4 = proto == 17 && p[0] >> 4 == 4 && l4.get(6..8) == Some(&[0, 0]);
    if matches!(proto, 1 | 6 | 17 | 58) && !zero_udp4 && csum(pseudo, l4) != 0 {
        errs.push(format!("transport checksum (protocol {proto}) invalid"));
    }
    errs
}

// ---------------------------------------------------------------------------
// Comparison.

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One line describing a packet, for messages.
fn summary(p: &[u8]) -> String {
    match p.first().map(|b| b >> 4) {
        Some(4) if p.len() >= 20 => format!(
            "IPv4 protocol {} {} -> {} ({} bytes)",
            p[9],
            Ipv4Addr::new(p[12], p[13], p[14], p[15]),
            Ipv4Addr::new(p[16], p[17], p[18], p[19]),
            p.len()
        ),
        Some(6) if p.len() >= 40 => {
            let a = |at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&p[at..at + 16]).expect("16 bytes"));
            format!("IPv6 next header {} {} -> {} ({} bytes)", p[6], a(8), a(24), p.len())
        }
        _ => format!("{} bytes, not IP", p.len()),
    }
}

/// Compares our output with TAYGA's for one case: the unexplained
/// differences (empty = pass). Known deviations that did not show up are
/// noted in `log`.
fn compare(case: &Case, ours: &[Vec<u8>], theirs: &[Vec<u8>], log: &mut String) -> Vec<String> {
    let mut used = vec![false; case.known.len()];
    // Whether `field` is a known deviation for this case (recording its use).
    let mut known = |field: &str| {
        let mut hit = false;
        for (k, u) in case.known.iter().zip(used.iter_mut()) {
            if k.field == field {
                *u = true;
                hit = true;
            }
        }
        hit
    };
    let mut diffs = Vec::new();
    for p in ours {
        for e in checksum_errors(p) {
            diffs.push(format!("OUR output: {e} (a bug in xlat-core)"));
        }
    }
    for p in theirs {
        for e in checksum_errors(p) {
            if !known("checksum") {
                diffs.push(format!("TAYGA output: {e}"));
            }
        }
    }
    if ours.len() != theirs.len() && !known("packets") {
        diffs.push(format!("packet count: ours {} TAYGA {}", ours.len(), theirs.len()));
    }
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if a.first().map(|v| v >> 4) != b.first().map(|v| v >> 4) {
            // Different kinds of packet altogether: no field-by-field diff.
            if !known("ip.version") {
                diffs.push(format!("[{i}] ours {} / TAYGA {}", summary(a), summary(b)));
            }
            continue;
        }
        let (mut fa, mut fb) = (Fields::new(), Fields::new());
        dissect(a, "", &mut fa);
        dissect(b, "", &mut fb);
        let ma: BTreeMap<_, _> = fa.iter().cloned().collect();
        let mb: BTreeMap<_, _> = fb.iter().cloned().collect();
        // D11: which IPv4 headers (outer "", quoted "icmp.quoted.") differ
        // from TAYGA only by the RFC 7915 §5.1 Identification/DF rules.
        let quoted_v4 = a.get(20..).filter(|_| a[0] >> 4 == 4 && a[9] == 1).and_then(|icmp| icmp.get(8..));
        let d11 = |prefix: &str| match prefix {
            "" => follows_rfc7915_df_rule(a),
            _ => quoted_v4.is_some_and(follows_rfc7915_df_rule),
        };
        let d11_field = |name: &str| {
            let (prefix, field) = name.rsplit_once("ipv4.").map_or(("x", name), |(p, f)| (p, f));
            D11_FIELDS.iter().any(|f| f.strip_prefix("ipv4.") == Some(field)) && d11(prefix)
        };
        // A header checksum (and an ICMP checksum covering a quoted header)
        // then differs too; it is verified on its own above.
        let d11_any = D11_FIELDS.iter().any(|f| {
            [String::new(), "icmp.quoted.".to_owned()].iter().any(|p| {
                let n = format!("{p}{f}");
                ma.get(n.as_str()) != mb.get(n.as_str()) && d11_field(&n)
            })
        });
        let checksum_follows = |name: &str| {
            d11_any
                && (name == "ipv4.header_checksum"
                    || name == "icmp.checksum"
                    || name == "icmp.quoted.ipv4.header_checksum")
        };
        let names = fa.iter().chain(&fb).map(|(n, _)| n.as_str());
        let mut seen = std::collections::BTreeSet::new();
        for name in names.filter(|n| seen.insert(*n)) {
            let (va, vb) = (ma.get(name), mb.get(name));
            if va == vb || d11_field(name) || checksum_follows(name) || known(name) {
                continue;
            }
            let show = |v: Option<&Vec<u8>>| v.map_or_else(|| "(absent)".to_owned(), |v| hex(v));
            diffs.push(format!("[{i}] {name}: ours {} TAYGA {}", show(va), show(vb)));
        }
    }
    for (k, u) in case.known.iter().zip(used) {
        if !u {
            let _ =
                writeln!(log, "    note: known deviation {} ({}) did not show up: has TAYGA changed?", k.doc, k.field);
        }
    }
    diffs
}

/// Our translation of `input`: the packets and a one-line outcome.
fn translate(ours: &mut Translator, input: &[u8]) -> (Vec<Vec<u8>>, String) {
    let mut out = vec![0u8; OUT_BUF_LEN];
    match ours.translate(input, &mut out) {
        Ok(a) => {
            let packets: Vec<Vec<u8>> = a.packets(&out).map(<[u8]>::to_vec).collect();
            let outcome = match a {
                Action::IcmpError { cause, .. } => format!("ICMP error ({})", cause.label()),
                _ => format!("translated into {} packet(s)", packets.len()),
            };
            (packets, outcome)
        }
        Err(reason) => (Vec::new(), format!("dropped ({})", reason.label())),
    }
}

/// Translates `case` with both translators and compares: the unexplained
/// differences, each with the packets involved.
fn run_case(tayga: &mut Tayga, ours: &mut Translator, case: &Case, verbose: bool, log: &mut String) -> Vec<String> {
    let (mut our_packets, mut outcome) = translate(ours, &case.packet);
    // Wait for as many packets as we emitted (fragments), or only for the
    // silence when TAYGA is known to emit a different number.
    let expect = if case.known.iter().any(|k| k.field == "packets") { 0 } else { our_packets.len() };
    let x = match tayga.exchange(&case.packet, expect) {
        Ok(x) => x,
        Err(e) => return vec![format!("exchange with TAYGA failed: {e:#}")],
    };
    let Some(sent) = x.sent else {
        return vec!["the injected packet was not seen on TAYGA's TUN".into()];
    };
    let mut diffs = Vec::new();
    if sent != case.packet {
        // The kernel must not alter a correct header-included packet. If it
        // did, compare on what TAYGA actually read, but say so.
        diffs.push(format!("kernel altered the injected packet: built {} sent {}", hex(&case.packet), hex(&sent)));
        (our_packets, outcome) = translate(ours, &sent);
    }
    let theirs = x.emitted;
    let _ = writeln!(log, "  {}: ours {outcome}; TAYGA emitted {} packet(s)", case.name, theirs.len());
    diffs.extend(compare(case, &our_packets, &theirs, log));
    if verbose || !diffs.is_empty() {
        let mut dump = format!("    in    {}\n", hex(&sent));
        for p in &our_packets {
            let _ = writeln!(dump, "    ours  {}", hex(p));
        }
        for p in &theirs {
            let _ = writeln!(dump, "    TAYGA {}", hex(p));
        }
        if diffs.is_empty() {
            log.push_str(&dump);
        } else {
            diffs.push(format!("packets:\n{}", dump.trim_end()));
        }
    }
    diffs
}

fn run_direction(test: &str, cases: Vec<Case>) {
    if !require_root(test) || !require_tool(test, "ip") || !require_tool(test, "tayga") {
        return;
    }
    let verbose = std::env::var_os("XLAT_TAYGA_VERBOSE").is_some();
    let start = Instant::now();
    let cfg = TaygaConfig::default();
    let mut tayga = Tayga::start(&cfg).expect("starting TAYGA");
    let mut ours = Translator::new(our_config(&cfg)).expect("valid xlat-core config");
    let mut log = format!("{test}: TAYGA in {}\n", tayga.netns().name());
    let mut failures = String::new();
    for case in &cases {
        let diffs = run_case(&mut tayga, &mut ours, case, verbose, &mut log);
        for d in diffs {
            let _ = writeln!(failures, "{}: {d}", case.name);
        }
    }
    let _ = writeln!(log, "{} cases in {:?}", cases.len(), start.elapsed());
    if verbose {
        let _ = writeln!(log, "TAYGA log:\n{}", tayga.log());
    }
    println!("{log}");
    assert!(
        failures.is_empty(),
        "differences from TAYGA not explained by tests/TAYGA.md:\n{failures}\nTAYGA log:\n{}",
        tayga.log()
    );
}

#[test]
fn ipv4_to_ipv6_matches_tayga() {
    run_direction("ipv4_to_ipv6_matches_tayga", cases_4to6());
}

#[test]
fn ipv6_to_ipv4_matches_tayga() {
    run_direction("ipv6_to_ipv4_matches_tayga", cases_6to4());
}

/// The namespace guard deletes its namespace even when the test panics.
#[test]
fn netns_guard_cleans_up_on_panic() {
    const TEST: &str = "netns_guard_cleans_up_on_panic";
    if !require_root(TEST) || !require_tool(TEST, "ip") {
        return;
    }
    let path = std::sync::Mutex::new(None);
    let r = std::panic::catch_unwind(|| {
        let ns = Netns::new().expect("creating a namespace");
        *path.lock().unwrap() = Some(ns.path());
        assert!(ns.path().exists());
        panic!("deliberate panic with {} alive", ns.name());
    });
    assert!(r.is_err());
    let path = path.into_inner().unwrap().expect("namespace was created");
    assert!(!path.exists(), "{} still exists after the guard dropped", path.display());
}
