//! One-line human descriptions of IP packets and of what the translator
//! did with them, for the per-packet summary of `clat translate`.

use std::fmt::Write as _;

use etherparse::{
    Icmpv4Slice, Icmpv4Type, Icmpv6Slice, Icmpv6Type, IpNumber, Ipv6ExtensionSlice, Ipv6Header, LaxNetSlice,
    LaxSlicedPacket, TcpSlice, UdpSlice,
};
use xlat_core::{Action, DropReason, Family};

/// Bytes per unit of the IP fragment offset field.
const FRAG_OFFSET_UNIT: u32 = 8;

/// `IPv4 192.0.2.1 -> 198.51.100.2 UDP 53->1234 len 60`.
pub fn packet(p: &[u8]) -> String {
    let mut s = String::new();
    ip(&mut s, p, true);
    s
}

/// What came out of the translator for one packet.
pub fn outcome(result: &Result<Action, DropReason>, out: &[u8]) -> String {
    match result {
        Err(reason) => format!("dropped: {}", reason.label()),
        Ok(action @ Action::IcmpError { family, cause, .. }) => {
            let error = action.packets(out).next().unwrap_or_default();
            let v = match family {
                Family::V4 => 4,
                Family::V6 => 6,
            };
            let icmp = LaxSlicedPacket::from_ip(error).ok().and_then(|s| s.ip_payload().map(|p| p.payload));
            let (ty, code) = icmp.and_then(|i| Some((*i.first()?, *i.get(1)?))).unwrap_or_default();
            format!("ICMPv{v} error {ty}/{code} ({}): {}", cause.label(), packet(error))
        }
        Ok(action) => action.packets(out).map(packet).collect::<Vec<_>>().join(" | "),
    }
}

/// Appends a description of the IP packet `p`; `full` adds the family and
/// length (off for a packet quoted inside an ICMP error).
fn ip(s: &mut String, p: &[u8], full: bool) {
    let Ok(sliced) = LaxSlicedPacket::from_ip(p) else {
        let _ = write!(s, "malformed IP packet len {}", p.len());
        return;
    };
    let (family, frag, declared) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let declared = usize::from(h.total_len());
            let _ = write!(s, "{} -> {}", h.source_addr(), h.destination_addr());
            let frag = (h.more_fragments() || h.fragments_offset().value() != 0).then(|| Frag {
                id: u32::from(h.identification()),
                offset: u32::from(h.fragments_offset().value()) * FRAG_OFFSET_UNIT,
                more: h.more_fragments(),
            });
            ("IPv4", frag, declared)
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let declared = Ipv6Header::LEN + usize::from(h.payload_length());
            let _ = write!(s, "{} -> {}", h.source_addr(), h.destination_addr());
            let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                Ipv6ExtensionSlice::Fragment(f) => Some(Frag {
                    id: f.identification(),
                    offset: u32::from(f.fragment_offset().value()) * FRAG_OFFSET_UNIT,
                    more: f.more_fragments(),
                }),
                _ => None,
            });
            ("IPv6", frag, declared)
        }
        _ => {
            let _ = write!(s, "not an IP packet, len {}", p.len());
            return;
        }
    };
    if full {
        s.insert_str(0, &format!("{family} "));
    }
    if let Some(payload) = sliced.ip_payload() {
        s.push(' ');
        let first = frag.is_none_or(|f| f.offset == 0);
        if first {
            transport(s, payload.ip_number, payload.payload);
        } else {
            let _ = write!(s, "{}", proto_name(payload.ip_number));
        }
    }
    if let Some(f) = frag {
        let _ = write!(s, " frag id {:#x} off {}{}", f.id, f.offset, if f.more { " MF" } else { "" });
    }
    if full {
        // The header's length: link-layer padding after it is not part of
        // the packet, a short capture is.
        let _ = write!(s, " len {declared}");
        if p.len() < declared {
            let _ = write!(s, " (captured {})", p.len());
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Frag {
    id: u32,
    offset: u32,
    more: bool,
}

fn proto_name(p: IpNumber) -> String {
    match p {
        IpNumber::TCP => "TCP".into(),
        IpNumber::UDP => "UDP".into(),
        IpNumber::ICMP => "ICMP".into(),
        IpNumber::IPV6_ICMP => "ICMPv6".into(),
        other => format!("proto {}", other.0),
    }
}

/// Appends the transport header summary of `l4` (first fragment or whole
/// packet; may be truncated).
fn transport(s: &mut String, p: IpNumber, l4: &[u8]) {
    let name = proto_name(p);
    let _ = match p {
        IpNumber::TCP => match TcpSlice::from_slice(l4) {
            Ok(t) => {
                let flags: Vec<&str> =
                    [(t.syn(), "SYN"), (t.fin(), "FIN"), (t.rst(), "RST"), (t.psh(), "PSH"), (t.ack(), "ACK")]
                        .into_iter()
                        .filter_map(|(on, n)| on.then_some(n))
                        .collect();
                write!(s, "{name} {}->{} [{}]", t.source_port(), t.destination_port(), flags.join(","))
            }
            Err(_) => write!(s, "{name} (truncated)"),
        },
        IpNumber::UDP => match UdpSlice::from_slice_lax(l4) {
            Ok(u) => write!(s, "{name} {}->{}", u.source_port(), u.destination_port()),
            Err(_) => write!(s, "{name} (truncated)"),
        },
        IpNumber::ICMP => match Icmpv4Slice::from_slice(l4) {
            Ok(i) => {
                icmpv4(s, &i);
                Ok(())
            }
            Err(_) => write!(s, "{name} (truncated)"),
        },
        IpNumber::IPV6_ICMP => match Icmpv6Slice::from_slice(l4) {
            Ok(i) => {
                icmpv6(s, &i);
                Ok(())
            }
            Err(_) => write!(s, "{name} (truncated)"),
        },
        _ => write!(s, "{name}"),
    };
}

fn icmpv4(s: &mut String, i: &Icmpv4Slice<'_>) {
    let (t, c) = (i.type_u8(), i.code_u8());
    let _ = match i.icmp_type() {
        Icmpv4Type::EchoRequest(e) => write!(s, "ICMP echo-request id {:#x} seq {}", e.id, e.seq),
        Icmpv4Type::EchoReply(e) => write!(s, "ICMP echo-reply id {:#x} seq {}", e.id, e.seq),
        Icmpv4Type::DestinationUnreachable(etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded {
            next_hop_mtu,
        }) => write!(s, "ICMP dest-unreachable {t}/{c} mtu {next_hop_mtu}"),
        Icmpv4Type::DestinationUnreachable(_) => write!(s, "ICMP dest-unreachable {t}/{c}"),
        Icmpv4Type::TimeExceeded(_) => write!(s, "ICMP time-exceeded {t}/{c}"),
        Icmpv4Type::ParameterProblem(_) => write!(s, "ICMP parameter-problem {t}/{c}"),
        Icmpv4Type::Redirect(_) => write!(s, "ICMP redirect {t}/{c}"),
        _ => write!(s, "ICMP type {t}/{c}"),
    };
    if matches!(
        i.icmp_type(),
        Icmpv4Type::DestinationUnreachable(_)
            | Icmpv4Type::TimeExceeded(_)
            | Icmpv4Type::ParameterProblem(_)
            | Icmpv4Type::Redirect(_)
    ) {
        quoted(s, i.payload());
    }
}

fn icmpv6(s: &mut String, i: &Icmpv6Slice<'_>) {
    let (t, c) = (i.type_u8(), i.code_u8());
    let error = match i.icmp_type() {
        Icmpv6Type::EchoRequest(e) => write!(s, "ICMPv6 echo-request id {:#x} seq {}", e.id, e.seq).map(|()| false),
        Icmpv6Type::EchoReply(e) => write!(s, "ICMPv6 echo-reply id {:#x} seq {}", e.id, e.seq).map(|()| false),
        Icmpv6Type::DestinationUnreachable(_) => write!(s, "ICMPv6 dest-unreachable {t}/{c}").map(|()| true),
        Icmpv6Type::PacketTooBig { mtu } => write!(s, "ICMPv6 packet-too-big {t}/{c} mtu {mtu}").map(|()| true),
        Icmpv6Type::TimeExceeded(_) => write!(s, "ICMPv6 time-exceeded {t}/{c}").map(|()| true),
        Icmpv6Type::ParameterProblem(_) => write!(s, "ICMPv6 parameter-problem {t}/{c}").map(|()| true),
        _ => write!(s, "ICMPv6 type {t}/{c}").map(|()| false),
    };
    if error.unwrap_or(false) {
        quoted(s, i.payload());
    }
}

/// Appends the packet quoted in an ICMP error, without family and length.
fn quoted(s: &mut String, inner: &[u8]) {
    s.push_str(" quoting ");
    // A quote never quotes another error's quote usefully: one level only.
    let mut q = String::new();
    ip(&mut q, inner, false);
    if let Some(cut) = q.find(" quoting ") {
        q.truncate(cut);
    }
    s.push_str(&q);
}

#[cfg(test)]
mod tests {
    use etherparse::PacketBuilder;

    use super::*;

    fn udp4() -> Vec<u8> {
        let mut p = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [198, 51, 100, 2], 64).udp(53, 1234).write(&mut p, &[0; 32]).unwrap();
        p
    }

    #[test]
    fn udp_over_ipv4() {
        assert_eq!(packet(&udp4()), "IPv4 192.0.2.1 -> 198.51.100.2 UDP 53->1234 len 60");
    }

    #[test]
    fn tcp_flags_and_icmpv6_echo() {
        let mut p = Vec::new();
        PacketBuilder::ipv6(
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            64,
        )
        .tcp(1, 2, 3, 4)
        .syn()
        .write(&mut p, &[])
        .unwrap();
        assert_eq!(packet(&p), "IPv6 2001:db8::1 -> 2001:db8::2 TCP 1->2 [SYN] len 60");
        let mut e = Vec::new();
        PacketBuilder::ipv6(
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            64,
        )
        .icmpv6_echo_reply(0x1234, 7)
        .write(&mut e, &[])
        .unwrap();
        assert_eq!(packet(&e), "IPv6 2001:db8::1 -> 2001:db8::2 ICMPv6 echo-reply id 0x1234 seq 7 len 48");
    }

    #[test]
    fn icmp_error_names_the_quoted_packet() {
        let inner = udp4();
        let mut p = Vec::new();
        PacketBuilder::ipv4([198, 51, 100, 2], [192, 0, 2, 1], 64)
            .icmpv4(Icmpv4Type::DestinationUnreachable(etherparse::icmpv4::DestUnreachableHeader::Port))
            .write(&mut p, &inner)
            .unwrap();
        assert_eq!(
            packet(&p),
            "IPv4 198.51.100.2 -> 192.0.2.1 ICMP dest-unreachable 3/3 quoting 192.0.2.1 -> 198.51.100.2 UDP 53->1234 len 88"
        );
    }

    #[test]
    fn drops_show_the_reason_label() {
        assert_eq!(outcome(&Err(DropReason::TtlExceeded), &[]), "dropped: ttl_exceeded");
    }

    #[test]
    fn garbage_is_described_not_panicked_on() {
        assert_eq!(packet(&[0x45, 0, 1]), "malformed IP packet len 3");
        assert_eq!(packet(&[]), "malformed IP packet len 0");
    }
}
