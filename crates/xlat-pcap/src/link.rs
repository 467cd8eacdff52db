//! Link-layer decapsulation: the IP packet inside a captured frame.

use std::fmt;

use pcap_file::DataLink;

/// EtherType values (IEEE 802 numbers).
mod ethertype {
    pub(crate) const IPV4: u16 = 0x0800;
    pub(crate) const IPV6: u16 = 0x86dd;
    /// IEEE 802.1Q VLAN tag.
    pub(crate) const VLAN: u16 = 0x8100;
    /// IEEE 802.1ad service tag (QinQ).
    pub(crate) const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ tag still seen in captures.
    pub(crate) const QINQ_LEGACY: u16 = 0x9100;
}

/// Ethernet II: destination MAC, source MAC, EtherType.
mod ethernet {
    pub(crate) const HEADER_LEN: usize = 14;
    pub(crate) const ETHERTYPE_AT: usize = 12;
    /// An 802.1Q/802.1ad tag: TCI then the inner EtherType.
    pub(crate) const TAG_LEN: usize = 4;
}

/// Linux "cooked" capture v1 (LINKTYPE_LINUX_SLL): protocol last.
mod sll {
    pub(crate) const HEADER_LEN: usize = 16;
    pub(crate) const PROTOCOL_AT: usize = 14;
}

/// Linux "cooked" capture v2 (LINKTYPE_LINUX_SLL2): protocol first.
mod sll2 {
    pub(crate) const HEADER_LEN: usize = 20;
    pub(crate) const PROTOCOL_AT: usize = 0;
}

/// BSD loopback (LINKTYPE_NULL host order, LINKTYPE_LOOP network order):
/// a 4-byte address family.
mod loopback {
    pub(crate) const HEADER_LEN: usize = 4;
    pub(crate) const AF_INET: u32 = 2;
    /// AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD and Darwin.
    pub(crate) const AF_INET6: [u32; 4] = [10, 24, 28, 30];
}

/// Why a frame carries no IP packet to translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Ethernet or cooked frame with another EtherType (ARP, LLDP, ...).
    NotIp(u16),
    /// Loopback frame of another address family.
    NotIpFamily(u32),
    /// Shorter than its link-layer header.
    Truncated,
    /// A link type this tool does not decode.
    UnsupportedLink(DataLink),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotIp(t) => write!(f, "not IP (ethertype {t:#06x})"),
            Self::NotIpFamily(af) => write!(f, "not IP (address family {af})"),
            Self::Truncated => f.write_str("truncated link-layer header"),
            Self::UnsupportedLink(l) => write!(f, "unsupported link type {}", u32::from(*l)),
        }
    }
}

/// The IP packet inside `frame` of link type `link`.
pub fn ip_packet(link: DataLink, frame: &[u8]) -> Result<&[u8], Skip> {
    match link {
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => Ok(frame),
        DataLink::ETHERNET => ethernet(frame),
        DataLink::LINUX_SLL => by_ethertype(frame, sll::PROTOCOL_AT, sll::HEADER_LEN),
        DataLink::LINUX_SLL2 => by_ethertype(frame, sll2::PROTOCOL_AT, sll2::HEADER_LEN),
        DataLink::NULL | DataLink::LOOP => bsd_loopback(frame),
        other => Err(Skip::UnsupportedLink(other)),
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Ethernet II with any number of VLAN tags.
fn ethernet(frame: &[u8]) -> Result<&[u8], Skip> {
    let mut type_at = ethernet::ETHERTYPE_AT;
    loop {
        let t = be16(frame, type_at).ok_or(Skip::Truncated)?;
        match t {
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_LEGACY => type_at += ethernet::TAG_LEN,
            _ => return by_ethertype(frame, type_at, ethernet::HEADER_LEN + type_at - ethernet::ETHERTYPE_AT),
        }
    }
}

/// A header of `header_len` bytes whose EtherType is at `type_at`.
fn by_ethertype(frame: &[u8], type_at: usize, header_len: usize) -> Result<&[u8], Skip> {
    let t = be16(frame, type_at).ok_or(Skip::Truncated)?;
    let payload = frame.get(header_len..).ok_or(Skip::Truncated)?;
    match t {
        ethertype::IPV4 | ethertype::IPV6 => Ok(payload),
        other => Err(Skip::NotIp(other)),
    }
}

/// BSD loopback: the family is in the capturing host's byte order (NULL)
/// or big-endian (LOOP); families are small, so the smaller reading wins.
fn bsd_loopback(frame: &[u8]) -> Result<&[u8], Skip> {
    let head: [u8; loopback::HEADER_LEN] =
        frame.get(..loopback::HEADER_LEN).and_then(|h| h.try_into().ok()).ok_or(Skip::Truncated)?;
    let family = u32::from_le_bytes(head).min(u32::from_be_bytes(head));
    if family == loopback::AF_INET || loopback::AF_INET6.contains(&family) {
        Ok(&frame[loopback::HEADER_LEN..])
    } else {
        Err(Skip::NotIpFamily(family))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: [u8; 4] = [0x45, 0, 0, 20];

    fn eth(tags: &[[u8; 4]], ethertype: u16) -> Vec<u8> {
        let mut f = vec![0u8; ethernet::ETHERTYPE_AT];
        for tag in tags {
            f.extend_from_slice(tag);
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(&IP);
        f
    }

    #[test]
    fn raw_links_are_the_packet() {
        for link in [DataLink::RAW, DataLink::IPV4, DataLink::IPV6] {
            assert_eq!(ip_packet(link, &IP), Ok(&IP[..]));
        }
    }

    #[test]
    fn ethernet_strips_header_and_vlan_tags() {
        assert_eq!(ip_packet(DataLink::ETHERNET, &eth(&[], ethertype::IPV4)), Ok(&IP[..]));
        let one = eth(&[[0x81, 0x00, 0x00, 0x64]], ethertype::IPV6);
        assert_eq!(ip_packet(DataLink::ETHERNET, &one), Ok(&IP[..]));
        let two = eth(&[[0x88, 0xa8, 0x00, 0x0a], [0x81, 0x00, 0x00, 0x64]], ethertype::IPV4);
        assert_eq!(ip_packet(DataLink::ETHERNET, &two), Ok(&IP[..]));
    }

    #[test]
    fn ethernet_non_ip_is_skipped_with_its_ethertype() {
        let arp = eth(&[], 0x0806);
        assert_eq!(ip_packet(DataLink::ETHERNET, &arp), Err(Skip::NotIp(0x0806)));
        assert_eq!(ip_packet(DataLink::ETHERNET, &[0; 13]), Err(Skip::Truncated));
        assert_eq!(Skip::NotIp(0x0806).to_string(), "not IP (ethertype 0x0806)");
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        let mut v1 = vec![0u8; sll::HEADER_LEN];
        v1[sll::PROTOCOL_AT..][..2].copy_from_slice(&ethertype::IPV4.to_be_bytes());
        v1.extend_from_slice(&IP);
        assert_eq!(ip_packet(DataLink::LINUX_SLL, &v1), Ok(&IP[..]));
        let mut v2 = vec![0u8; sll2::HEADER_LEN];
        v2[sll2::PROTOCOL_AT..][..2].copy_from_slice(&ethertype::IPV6.to_be_bytes());
        v2.extend_from_slice(&IP);
        assert_eq!(ip_packet(DataLink::LINUX_SLL2, &v2), Ok(&IP[..]));
    }

    #[test]
    fn bsd_loopback_either_byte_order() {
        let le = [&2u32.to_le_bytes()[..], &IP].concat();
        let be = [&30u32.to_be_bytes()[..], &IP].concat();
        assert_eq!(ip_packet(DataLink::NULL, &le), Ok(&IP[..]));
        assert_eq!(ip_packet(DataLink::LOOP, &be), Ok(&IP[..]));
        let other = [&7u32.to_le_bytes()[..], &IP].concat();
        assert_eq!(ip_packet(DataLink::NULL, &other), Err(Skip::NotIpFamily(7)));
    }

    #[test]
    fn unknown_link_types_are_skipped() {
        assert_eq!(ip_packet(DataLink::IEEE802_11, &IP), Err(Skip::UnsupportedLink(DataLink::IEEE802_11)));
    }
}
