//! The pipeline over real packet bytes, with a fake clock: RFC 6146 §3.4 to
//! §3.8 end to end through xlat-core and xlat-nat64.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::Ordering::Relaxed;

use etherparse::{IpNumber, Ipv4Header, PacketBuilder, SlicedPacket};
use xlat_core::{Config, OUT_BUF_LEN};
use xlat_nat64::{FragmentConfig, Nat64Config, Pool4Entry, Timestamp};
use xlat_tun::Processed;

use super::{Engine, Shared};
use crate::settings::PlatSettings;

const POOL6: &str = "64:ff9b::/96";
const POOL4: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
const SERVER4: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);
const ROUTER4: Ipv4Addr = Ipv4Addr::new(9, 9, 9, 9);
const CLIENT: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5];
const OTHER_CLIENT: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6];
const OUTSIDER: [u8; 16] = [0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

fn settings(edit: impl FnOnce(&mut Nat64Config)) -> PlatSettings {
    let pool6 = POOL6.parse().unwrap();
    let mut nat64 = Nat64Config::new(pool6, vec![Pool4Entry::new(POOL4)], vec!["2001:db8::/32".parse().unwrap()]);
    nat64.seed = 7;
    edit(&mut nat64);
    let translator = Config { pool6: Some(pool6), ipv4_addr: POOL4, ..Config::default() };
    PlatSettings { nat64, translator, mapping_log: true, fragments: FragmentConfig::default() }
}

struct Rig {
    shared: std::sync::Arc<Shared>,
    engine: Engine,
    out: Vec<u8>,
}

impl Rig {
    fn new(edit: impl FnOnce(&mut Nat64Config)) -> Self {
        let s = settings(edit);
        let shared = std::sync::Arc::new(Shared::new(&s, 2).unwrap());
        let engine = Engine::new(std::sync::Arc::clone(&shared), s.translator.validate().unwrap(), 1);
        Self { shared, engine, out: vec![0; OUT_BUF_LEN] }
    }

    /// Every packet written for `input` at `now` (ms).
    fn send(&mut self, now: u64, input: &[u8]) -> Vec<Vec<u8>> {
        let v = self.engine.process(Timestamp::from_millis(now), input, &mut self.out);
        let mut all: Vec<Vec<u8>> = v.packets(&self.out).map(<[u8]>::to_vec).collect();
        all.extend(self.originated(now));
        all
    }

    fn originated(&mut self, now: u64) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        loop {
            let v = self.engine.poll_transmit(Timestamp::from_millis(now), &mut self.out);
            if v == Processed::Nothing {
                return all;
            }
            all.extend(v.packets(&self.out).map(<[u8]>::to_vec));
        }
    }
}

fn embed(v4: Ipv4Addr) -> [u8; 16] {
    let mut a = Ipv6Addr::from(0x0064_ff9b_0000_0000_0000_0000_0000_0000u128).octets();
    a[12..].copy_from_slice(&v4.octets());
    a
}

fn udp6(src: [u8; 16], sport: u16, dst: [u8; 16], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    PacketBuilder::ipv6(src, dst, 64).udp(sport, dport).write(&mut p, payload).unwrap();
    p
}

fn udp4(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    PacketBuilder::ipv4(src.octets(), dst.octets(), 64).udp(sport, dport).write(&mut p, payload).unwrap();
    p
}

/// (source, source port, destination, destination port) of a UDP/TCP packet.
fn ports(p: &[u8]) -> (String, u16, String, u16) {
    let s = SlicedPacket::from_ip(p).unwrap();
    let (src, dst) = match s.net.unwrap() {
        etherparse::NetSlice::Ipv4(h) => {
            (h.header().source_addr().to_string(), h.header().destination_addr().to_string())
        }
        etherparse::NetSlice::Ipv6(h) => {
            (h.header().source_addr().to_string(), h.header().destination_addr().to_string())
        }
        _ => unreachable!(),
    };
    match s.transport.unwrap() {
        etherparse::TransportSlice::Udp(u) => (src, u.source_port(), dst, u.destination_port()),
        etherparse::TransportSlice::Tcp(t) => (src, t.source_port(), dst, t.destination_port()),
        _ => panic!("not UDP/TCP"),
    }
}

/// ICMP(v6) type and code of an error packet.
fn icmp_type(p: &[u8]) -> (u8, u8) {
    let at = if p[0] >> 4 == 6 { 40 } else { usize::from(p[0] & 0xf) * 4 };
    (p[at], p[at + 1])
}

#[test]
fn rfc6146_3_5_1_client_udp_out_from_pool4_and_the_reply_back() {
    let mut r = Rig::new(|_| {});
    let out = r.send(1000, &udp6(CLIENT, 5000, embed(SERVER4), 53, b"query"));
    assert_eq!(out.len(), 1);
    let (src, sport, dst, dport) = ports(&out[0]);
    assert_eq!((src.as_str(), dst.as_str(), dport), ("203.0.113.1", "8.8.8.8", 53));
    assert!(sport >= 1024, "RFC 6146 §3.5.1.1: a non-privileged port for a non-privileged one");
    // The same flow keeps its mapping (endpoint-independent).
    let again = r.send(1500, &udp6(CLIENT, 5000, embed(Ipv4Addr::new(8, 8, 4, 4)), 53, b"other"));
    assert_eq!(ports(&again[0]).1, sport, "same (X',x) -> same (T,t)");
    // The answer comes back to the client.
    let back = r.send(2000, &udp4(SERVER4, 53, POOL4, sport, b"answer"));
    assert_eq!(back.len(), 1);
    assert_eq!(ports(&back[0]), ("64:ff9b::808:808".into(), 53, "2001:db8:1::5".into(), 5000));
    assert!(SlicedPacket::from_ip(&back[0]).unwrap().transport.is_some());
    // The mapping log saw one BIB entry.
    r.engine.maintain(Timestamp::from_millis(2100));
    assert_eq!(r.shared.counters.mappings_logged.load(Relaxed), 1);
}

#[test]
fn default_deny_client_outside_prefixes_gets_admin_prohibited() {
    let mut r = Rig::new(|_| {});
    let input = udp6(OUTSIDER, 5000, embed(SERVER4), 53, b"x");
    let out = r.send(1, &input);
    assert_eq!(out.len(), 1, "an ICMPv6 error back");
    assert_eq!(icmp_type(&out[0]), (1, 1), "Destination Unreachable, administratively prohibited");
    assert_eq!(&out[0][24..40], &OUTSIDER, "to the sender");
    assert_eq!(r.shared.nat.stats().drops(xlat_nat64::Nat64Drop::ClientNotAllowed), 1);
}

#[test]
fn default_deny_non_global_ipv4_destination_refused_unless_allowed() {
    let private = Ipv4Addr::new(10, 1, 2, 3);
    let mut r = Rig::new(|_| {});
    let out = r.send(1, &udp6(CLIENT, 5000, embed(private), 53, b"x"));
    assert_eq!(icmp_type(&out[0]), (1, 1));
    let mut allowed = Rig::new(|c| c.v4_allow.push("10.0.0.0/8".parse().unwrap()));
    let out = allowed.send(1, &udp6(CLIENT, 5000, embed(private), 53, b"x"));
    assert_eq!(ports(&out[0]).2, "10.1.2.3");
}

#[test]
fn rfc6888_req_4_per_client_limit_answers_address_unreachable() {
    let mut r = Rig::new(|c| c.max_sessions_per_client = 2);
    for port in [5000, 5001] {
        assert_eq!(r.send(1, &udp6(CLIENT, port, embed(SERVER4), 53, b"x")).len(), 1);
    }
    let out = r.send(1, &udp6(CLIENT, 5002, embed(SERVER4), 53, b"x"));
    assert_eq!(icmp_type(&out[0]), (1, 3), "RFC 6146 §3.5.1.1: Address Unreachable");
    assert_eq!(r.shared.nat.stats().drops(xlat_nat64::Nat64Drop::ClientSessionLimit), 1);
    // Another client is not affected.
    assert_eq!(ports(&r.send(1, &udp6(OTHER_CLIENT, 5000, embed(SERVER4), 53, b"x"))[0]).0, "203.0.113.1");
}

#[test]
fn rfc6146_3_5_2_2_held_syn_times_out_into_icmpv4_port_unreachable() {
    let mut r = Rig::new(|_| {});
    let mut syn = Vec::new();
    PacketBuilder::ipv4(SERVER4.octets(), POOL4.octets(), 64)
        .tcp(443, 4000, 1, 1000)
        .syn()
        .write(&mut syn, &[])
        .unwrap();
    assert!(r.send(1000, &syn).is_empty(), "held, nothing sent yet");
    assert_eq!(r.shared.held_packets(), 1);
    r.engine.maintain(Timestamp::from_millis(6000));
    assert!(r.originated(6000).is_empty(), "not before TCP_INCOMING_SYN (6 s)");
    r.engine.maintain(Timestamp::from_millis(7100));
    let out = r.originated(7100);
    assert_eq!(out.len(), 1);
    let (h, _) = Ipv4Header::from_slice(&out[0]).unwrap();
    assert_eq!((h.source, h.destination), (POOL4.octets(), SERVER4.octets()));
    assert_eq!(icmp_type(&out[0]), (3, 3), "port unreachable");
    assert_eq!(&out[0][28..], &syn[..], "quotes the held SYN");
    assert_eq!(r.shared.held_packets(), 0);
    assert_eq!(r.shared.counters.held_syn_errors.load(Relaxed), 1);
}

#[test]
fn rfc6146_3_4_icmpv4_error_reaches_the_client_from_the_router() {
    let mut r = Rig::new(|_| {});
    let sent = r.send(1, &udp6(CLIENT, 33434, embed(SERVER4), 33435, b"probe"));
    let mut quoted = sent[0].clone();
    quoted[8] = 1; // the TTL when it expired
    let mut err = Vec::new();
    PacketBuilder::ipv4(ROUTER4.octets(), POOL4.octets(), 64)
        .icmpv4(etherparse::Icmpv4Type::TimeExceeded(etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit))
        .write(&mut err, &quoted)
        .unwrap();
    let out = r.send(2, &err);
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0][8..24], &embed(ROUTER4), "from the router's pool6 address (traceroute hops)");
    assert_eq!(&out[0][24..40], &CLIENT);
    assert_eq!(icmp_type(&out[0]), (3, 0), "Time Exceeded");
    let inner = &out[0][48..];
    assert_eq!(
        ports(inner),
        ("2001:db8:1::5".into(), 33434, "64:ff9b::808:808".into(), 33435),
        "as the client sent it"
    );
}

#[test]
fn rfc6146_3_8_hairpin_between_two_clients() {
    let mut r = Rig::new(|_| {});
    let a = r.send(1, &udp6(CLIENT, 6000, embed(SERVER4), 3478, b"stun"));
    let (_, t, _, _) = ports(&a[0]);
    // The other client reaches the first through its pool4 transport address.
    let out = r.send(2, &udp6(OTHER_CLIENT, 7000, embed(POOL4), t, b"peer"));
    assert_eq!(out.len(), 1, "hairpinned back to IPv6");
    let (src, _, dst, dport) = ports(&out[0]);
    assert_eq!((src.as_str(), dst.as_str(), dport), ("64:ff9b::cb00:7101", "2001:db8:1::5", 6000));
    assert!(SlicedPacket::from_ip(&out[0]).unwrap().transport.is_some());
    assert_eq!(r.shared.counters.hairpinned.load(Relaxed), 1);
}

#[test]
fn rfc6146_3_4_fragment_before_its_first_is_held_then_released() {
    let mut r = Rig::new(|_| {});
    let whole = udp6(CLIENT, 5000, embed(SERVER4), 53, &[7; 64]);
    let l4 = &whole[40..];
    let frag = |offset: u16, more: bool, body: &[u8]| {
        let mut p = whole[..40].to_vec();
        p[6] = 44;
        let mut h = vec![17, 0];
        h.extend_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
        h.extend_from_slice(&0x1234_u32.to_be_bytes());
        h.extend_from_slice(body);
        p[4..6].copy_from_slice(&(h.len() as u16).to_be_bytes());
        p.extend_from_slice(&h);
        p
    };
    assert!(r.send(1, &frag(4, false, &l4[32..])).is_empty(), "second fragment first: held");
    let out = r.send(2, &frag(0, true, &l4[..32]));
    assert_eq!(out.len(), 2, "the first, then the released one: {out:?}");
    let (h0, _) = Ipv4Header::from_slice(&out[0]).unwrap();
    let (h1, _) = Ipv4Header::from_slice(&out[1]).unwrap();
    assert_eq!((h0.fragment_offset.value(), h1.fragment_offset.value()), (0, 4));
    assert_eq!(h0.protocol, IpNumber::UDP);
    assert_eq!((h0.source, h1.source), (POOL4.octets(), POOL4.octets()));
}

#[test]
fn unsupported_protocols_and_garbage_are_counted_drops() {
    let mut r = Rig::new(|_| {});
    let mut sctp = Vec::new();
    PacketBuilder::ipv6(CLIENT, embed(SERVER4), 64).write(&mut sctp, IpNumber(132), &[0; 12]).unwrap();
    assert!(r.send(1, &sctp).is_empty());
    assert!(r.send(1, &[0x45, 0, 0]).is_empty());
    let c = r.engine.translator().counters();
    assert_eq!(c.drops(xlat_core::DropReason::UnsupportedProtocol), 1);
    assert_eq!(c.drops(xlat_core::DropReason::Ipv4HeaderTruncated), 1);
}
