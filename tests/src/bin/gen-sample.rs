//! Generates the sample captures of `tests/data/` from etherparse's
//! `PacketBuilder`, so the committed files are reproducible byte for byte
//! (`tests/tests/clat_cli.rs` checks that they are).
//!
//! ```text
//! cargo run -p xlat-lab --bin gen-sample            # writes tests/data/
//! cargo run -p xlat-lab --bin gen-sample -- OUT_DIR
//! ```
//!
//! - `sample-v4.pcap`: raw IP (link type 101), microsecond timestamps.
//! - `sample-ethernet.pcapng`: the same packets in Ethernet II frames
//!   (every other one with an 802.1Q tag, short frames padded to 60 bytes),
//!   plus an ARP request that a translator must skip; nanosecond timestamps.
//!
//! The scene is a 464XLAT CLAT with documentation addresses only: pool6
//! `2001:db8:64::/96` (RFC 6052 §3.1 forbids the Well-Known Prefix for
//! documentation IPv4 ranges) and the EAM `192.0.0.1/32=2001:db8:aaaa::1/128`
//! for the CLAT itself (`tests/data/sample.toml`). IPv4 packets leave the
//! CLAT host; IPv6 packets come back from the servers behind the PLAT.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use etherparse::icmpv4::DestUnreachableHeader;
use etherparse::{
    ArpEthIpv4Packet, ArpOperation, EtherType, Ethernet2Header, Icmpv4Type, Icmpv6Type, IpFragOffset, IpHeaders,
    IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, PacketBuilder, SingleVlanHeader, TcpOptionElement, VlanId,
};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;

/// The CLAT's IPv4 address (RFC 7335 IPv4 service continuity prefix).
const CLAT4: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 1);
/// The CLAT's IPv6 address, mapped to [`CLAT4`] by EAM.
const CLAT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xaaaa, 0, 0, 0, 0, 1);
/// pool6, the PLAT prefix (/96).
const POOL6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, 0, 0);
/// A DNS resolver.
const DNS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 53);
/// A web server.
const WEB: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// A host answering pings.
const PEER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
/// A UDP sink for the big datagrams.
const SINK: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
/// An IPv6 router with no IPv4 mapping (RFC 6791 case).
const ROUTER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 1);

const TTL: u8 = 64;
/// IPv6 hop limit of packets that crossed a few routers.
const HOP_LIMIT: u8 = 58;
const IPV4_MTU: usize = 1500;
const IPV4_HDR: usize = Ipv4Header::MIN_LEN;
const IPV6_HDR: usize = Ipv6Header::LEN;
const ICMP_HDR: usize = 8;
/// RFC 1812 §4.3.2.3: an ICMPv4 error holds at most 576 bytes.
const ICMP4_ERROR_MAX: usize = 576;
/// RFC 4443 §2.4 (c): an ICMPv6 error holds at most the minimum MTU.
const ICMP6_ERROR_MAX: usize = 1280;
/// Bytes per unit of the IPv4 fragment offset.
const FRAG_UNIT: usize = 8;

/// 2023-11-14T22:13:20Z, then one packet per millisecond.
const EPOCH_SECS: u64 = 1_700_000_000;
const STEP: Duration = Duration::from_millis(1);
/// Shortest Ethernet frame without FCS; shorter frames are zero-padded.
const ETHERNET_MIN_FRAME: usize = 60;
const VLAN_ID: u16 = 100;
const CLAT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const ROUTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];
const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// pcapng `if_tsresol` for nanoseconds (10^-9), the unit pcap-file writes.
const TSRESOL_NANOS: u8 = 9;

/// `v4` embedded in pool6 (RFC 6052 §2.2, /96).
fn nat64(v4: Ipv4Addr) -> Ipv6Addr {
    let mut o = POOL6.octets();
    o[12..].copy_from_slice(&v4.octets());
    Ipv6Addr::from(o)
}

fn v4(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, id: u16, df: bool) -> IpHeaders {
    let mut h = Ipv4Header::new(0, ttl, IpNumber::UDP, src.octets(), dst.octets()).expect("empty payload");
    h.identification = id;
    h.dont_fragment = df;
    IpHeaders::Ipv4(h, Default::default())
}

fn v6(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8) -> IpHeaders {
    let h = Ipv6Header {
        traffic_class: 0,
        flow_label: Ipv6FlowLabel::ZERO,
        payload_length: 0,
        next_header: IpNumber::UDP,
        hop_limit,
        source: src.octets(),
        destination: dst.octets(),
    };
    IpHeaders::Ipv6(h, Default::default())
}

/// Deterministic filler: `len` bytes counting up modulo a prime.
fn filler(len: usize) -> Vec<u8> {
    const PRIME: usize = 251;
    (0..len).map(|i| (i % PRIME) as u8).collect()
}

/// A DNS query for `www.example.com` A (RFC 1035 wire format).
fn dns_query() -> Vec<u8> {
    let mut m = vec![0x1a, 0x2b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    m
}

/// The answer: `www.example.com` A 203.0.113.10, TTL 300.
fn dns_response() -> Vec<u8> {
    let mut m = dns_query();
    m[2..4].copy_from_slice(&[0x81, 0x80]); // QR, RD, RA
    m[6..8].copy_from_slice(&[0, 1]); // ANCOUNT
    m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4]);
    m.extend_from_slice(&WEB.octets());
    m
}

const HTTP_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: xlat-sample\r\n\r\n";
const TCP_WINDOW: u16 = 64240;
const MSS: u16 = 1460;
const CLIENT_PORT: u16 = 40000;
const HTTP_PORT: u16 = 80;
const DNS_PORT: u16 = 53;
const ECHO_ID: u16 = 0x1234;
const ECHO_PAYLOAD: usize = 56;
const BIG_UDP_LEN: usize = 3000;
const BIG_UDP_ID: u16 = 0x4242;
const DF0_PACKET_LEN: usize = 1400;
const REPORTED_MTU: u16 = 1400;
const TRACEROUTE_PORT: u16 = 33434;

/// Writes a builder step with `payload` into a fresh vector.
macro_rules! emit {
    ($builder:expr, $payload:expr) => {{
        let b = $builder;
        let payload: &[u8] = $payload;
        let mut v = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut v, payload).expect("write to Vec");
        v
    }};
}

/// A UDP datagram whose IP packet is `total` bytes long.
fn udp4_sized(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), total: usize, id: u16, df: bool) -> Vec<u8> {
    let payload = filler(total - IPV4_HDR - etherparse::UdpHeader::LEN);
    emit!(PacketBuilder::ip(v4(src.0, dst.0, TTL, id, df)).udp(src.1, dst.1), &payload)
}

/// Splits an IPv4 packet (no options) into fragments for `mtu`.
fn fragment_v4(packet: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    let (h, payload) = Ipv4Header::from_slice(packet).expect("valid IPv4 packet");
    let chunk = (mtu - IPV4_HDR) / FRAG_UNIT * FRAG_UNIT;
    let pieces = payload.len().div_ceil(chunk);
    payload
        .chunks(chunk)
        .enumerate()
        .map(|(i, piece)| {
            let mut f = h.clone();
            f.more_fragments = i + 1 < pieces;
            f.fragment_offset = IpFragOffset::try_new((i * chunk / FRAG_UNIT) as u16).expect("offset fits");
            f.total_len = (IPV4_HDR + piece.len()) as u16;
            f.header_checksum = f.calc_header_checksum();
            let mut out = f.to_bytes().to_vec();
            out.extend_from_slice(piece);
            out
        })
        .collect()
}

/// The sample packets, in capture order.
fn packets() -> Vec<Vec<u8>> {
    let mut p = Vec::new();
    let v4out = |ttl| v4(CLAT4, WEB, ttl, 0, true);

    // TCP handshake and a request, DF set and ID 0 as Linux sends them.
    p.push(emit!(
        PacketBuilder::ip(v4out(TTL))
            .tcp(CLIENT_PORT, HTTP_PORT, 1000, TCP_WINDOW)
            .syn()
            .options(&[
                TcpOptionElement::MaximumSegmentSize(MSS),
                TcpOptionElement::SelectiveAcknowledgementPermitted,
                TcpOptionElement::Noop,
                TcpOptionElement::WindowScale(7),
            ])
            .expect("options fit"),
        &[]
    ));
    p.push(emit!(
        PacketBuilder::ip(v4out(TTL)).tcp(CLIENT_PORT, HTTP_PORT, 1001, TCP_WINDOW).ack(5001).psh(),
        HTTP_GET
    ));
    // A DNS query.
    p.push(emit!(PacketBuilder::ip(v4(CLAT4, DNS, TTL, 0, true)).udp(53000, DNS_PORT), &dns_query()));
    // UDP without a checksum (RFC 768 allows zero over IPv4; RFC 7915 §4.5).
    let mut zero = emit!(PacketBuilder::ip(v4(CLAT4, SINK, TTL, 0, true)).udp(5000, 5001), b"no checksum here");
    let udp_csum_at = IPV4_HDR + 6;
    zero[udp_csum_at..udp_csum_at + 2].fill(0);
    p.push(zero);
    // Ping.
    p.push(emit!(
        PacketBuilder::ip(v4(CLAT4, PEER, TTL, 0, true)).icmpv4_echo_request(ECHO_ID, 1),
        &filler(ECHO_PAYLOAD)
    ));
    // Port unreachable about a DNS answer that arrived too late.
    let late = emit!(PacketBuilder::ip(v4(DNS, CLAT4, 60, 0, true)).udp(DNS_PORT, 53001), &dns_response());
    p.push(emit!(
        PacketBuilder::ip(v4(CLAT4, DNS, TTL, 0, false))
            .icmpv4(Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port)),
        &late
    ));
    // Fragmentation Needed from the CLAT side about a full-size segment.
    let segment = {
        let b = PacketBuilder::ip(v4(WEB, CLAT4, 60, 0, true)).tcp(HTTP_PORT, CLIENT_PORT, 5001, TCP_WINDOW).ack(1070);
        let payload = filler(IPV4_MTU - IPV4_HDR - etherparse::TcpHeader::MIN_LEN);
        emit!(b, &payload)
    };
    p.push(emit!(
        PacketBuilder::ip(v4(CLAT4, WEB, TTL, 0, false)).icmpv4(Icmpv4Type::DestinationUnreachable(
            DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: REPORTED_MTU }
        )),
        &segment[..ICMP4_ERROR_MAX - IPV4_HDR - ICMP_HDR]
    ));
    // A 3000-byte UDP datagram in three IPv4 fragments.
    let big = {
        let payload = filler(BIG_UDP_LEN - etherparse::UdpHeader::LEN);
        emit!(PacketBuilder::ip(v4(CLAT4, SINK, TTL, BIG_UDP_ID, false)).udp(5002, 5003), &payload)
    };
    p.extend(fragment_v4(&big, IPV4_MTU));
    // DF=0 and too big for the IPv6 minimum MTU: the translator fragments.
    p.push(udp4_sized((CLAT4, 5004), (SINK, 5005), DF0_PACKET_LEN, 0x1401, false));
    // DF=1 at the full IPv4 MTU: IPv6 needs 20 more bytes, Frag Needed.
    p.push(udp4_sized((CLAT4, 5006), (SINK, 5007), IPV4_MTU, 0, true));
    // A traceroute probe with TTL 1: Time Exceeded from the translator.
    p.push(emit!(
        PacketBuilder::ip(v4(CLAT4, PEER, 1, 0x7001, false)).udp(TRACEROUTE_PORT, TRACEROUTE_PORT + 1),
        &filler(32)
    ));

    // IPv6 toward the CLAT: the ping reply, the SYN-ACK, the DNS answer.
    p.push(emit!(
        PacketBuilder::ip(v6(nat64(PEER), CLAT6, HOP_LIMIT)).icmpv6_echo_reply(ECHO_ID, 1),
        &filler(ECHO_PAYLOAD)
    ));
    p.push(emit!(
        PacketBuilder::ip(v6(nat64(WEB), CLAT6, HOP_LIMIT))
            .tcp(HTTP_PORT, CLIENT_PORT, 5000, TCP_WINDOW)
            .syn()
            .ack(1001)
            .options(&[
                TcpOptionElement::MaximumSegmentSize(MSS - 20),
                TcpOptionElement::Noop,
                TcpOptionElement::Noop,
                TcpOptionElement::SelectiveAcknowledgementPermitted
            ])
            .expect("options fit"),
        &[]
    ));
    p.push(emit!(PacketBuilder::ip(v6(nat64(DNS), CLAT6, HOP_LIMIT)).udp(DNS_PORT, 53000), &dns_response()));
    // Packet Too Big from an IPv6 router without IPv4 mapping (RFC 6791).
    let sent = {
        let b = PacketBuilder::ip(v6(CLAT6, nat64(WEB), TTL)).tcp(CLIENT_PORT, HTTP_PORT, 1070, TCP_WINDOW).ack(5001);
        emit!(b, &filler(1400 - IPV6_HDR - etherparse::TcpHeader::MIN_LEN))
    };
    p.push(emit!(
        PacketBuilder::ip(v6(ROUTER6, CLAT6, HOP_LIMIT)).icmpv6(Icmpv6Type::PacketTooBig { mtu: 1280 }),
        &sent[..ICMP6_ERROR_MAX - IPV6_HDR - ICMP_HDR]
    ));
    // Hop limit 1: Time Exceeded toward the IPv6 sender.
    p.push(emit!(PacketBuilder::ip(v6(nat64(PEER), CLAT6, 1)).udp(TRACEROUTE_PORT, TRACEROUTE_PORT + 1), &filler(32)));
    p
}

fn timestamp(i: usize) -> Duration {
    Duration::from_secs(EPOCH_SECS) + STEP * i as u32
}

fn write_raw_pcap(path: &Path, packets: &[Vec<u8>]) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    let header = PcapHeader { datalink: DataLink::RAW, ..PcapHeader::default() };
    let mut w = PcapWriter::with_header(&mut bytes, header)?;
    for (i, p) in packets.iter().enumerate() {
        w.write_packet(&PcapPacket::new(timestamp(i), p.len() as u32, p))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Ethernet II framing; odd packets carry an 802.1Q tag.
fn ethernet(i: usize, ip: &[u8]) -> Vec<u8> {
    let ether_type = if ip[0] >> 4 == 4 { EtherType::IPV4 } else { EtherType::IPV6 };
    let tagged = i % 2 == 1;
    let outbound = ip[0] >> 4 == 4;
    let (src, dst) = if outbound { (CLAT_MAC, ROUTER_MAC) } else { (ROUTER_MAC, CLAT_MAC) };
    let eth = Ethernet2Header {
        source: src,
        destination: dst,
        ether_type: if tagged { EtherType::VLAN_TAGGED_FRAME } else { ether_type },
    };
    let mut f = eth.to_bytes().to_vec();
    if tagged {
        let tag = SingleVlanHeader {
            pcp: Default::default(),
            drop_eligible_indicator: false,
            vlan_id: VlanId::try_new(VLAN_ID).expect("valid VLAN"),
            ether_type,
        };
        f.extend_from_slice(&tag.to_bytes());
    }
    f.extend_from_slice(ip);
    if f.len() < ETHERNET_MIN_FRAME {
        f.resize(ETHERNET_MIN_FRAME, 0);
    }
    f
}

fn arp_request() -> Vec<u8> {
    let arp = ArpEthIpv4Packet {
        operation: ArpOperation::REQUEST,
        sender_mac: CLAT_MAC,
        sender_ipv4: CLAT4.octets(),
        target_mac: [0; 6],
        target_ipv4: Ipv4Addr::new(192, 0, 0, 2).octets(),
    };
    let b = PacketBuilder::ethernet2(CLAT_MAC, BROADCAST_MAC).arp(arp.into());
    let mut f = Vec::with_capacity(b.size());
    b.write(&mut f).expect("write to Vec");
    f.resize(f.len().max(ETHERNET_MIN_FRAME), 0);
    f
}

fn write_ethernet_pcapng(path: &Path, packets: &[Vec<u8>]) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    let mut w = PcapNgWriter::new(&mut bytes)?;
    let mut idb = InterfaceDescriptionBlock::new(DataLink::ETHERNET, 0);
    idb.options.push(InterfaceDescriptionOption::IfTsResol(TSRESOL_NANOS));
    w.write_pcapng_block(idb)?;
    let arp = arp_request();
    let frames = std::iter::once((timestamp(0) - STEP / 2, arp))
        .chain(packets.iter().enumerate().map(|(i, p)| (timestamp(i), ethernet(i, p))));
    for (ts, frame) in frames {
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: ts,
            original_len: frame.len() as u32,
            data: frame.into(),
            options: Vec::new(),
        };
        w.write_pcapng_block(epb)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let packets = packets();
    write_raw_pcap(&dir.join("sample-v4.pcap"), &packets)?;
    write_ethernet_pcapng(&dir.join("sample-ethernet.pcapng"), &packets)?;
    println!("wrote {} packets to {}", packets.len(), dir.display());
    Ok(())
}
