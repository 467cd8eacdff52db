//! RFC 7050 discovery against a tiny in-process DNS64 on 127.0.0.1 (no
//! root needed): `rfc7050_discover` must find the prefix and the TTL.
#![allow(missing_docs)]

use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use xlat_pref64::{rfc7050_discover, Pref64Error, Prefix};

/// Bound on every wait in these tests.
const WAIT: Duration = Duration::from_secs(20);
const DNS_HEADER_LEN: usize = 12;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;
const RCODE_NXDOMAIN: u8 = 3;
/// A compression pointer to the question name at offset 12.
const NAME_PTR: [u8; 2] = [0xc0, 0x0c];

/// What the fake DNS64 answers for `ipv4only.arpa` AAAA.
#[derive(Clone)]
enum Reply {
    Aaaa(Vec<Ipv6Addr>, u32),
    NoData,
    NxDomain,
}

/// End of the question section (after QTYPE and QCLASS), and the QTYPE.
fn question_end(q: &[u8]) -> Option<(usize, u16)> {
    let mut pos = DNS_HEADER_LEN;
    loop {
        let len = usize::from(*q.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        pos += len;
    }
    let qtype = u16::from_be_bytes([*q.get(pos)?, *q.get(pos + 1)?]);
    Some((pos + 4, qtype))
}

fn answer(query: &[u8], reply: &Reply) -> Option<Vec<u8>> {
    let (qend, qtype) = question_end(query)?;
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&query[..2]); // ID
    let rd = query[2] & 0x01;
    let rcode = if matches!(reply, Reply::NxDomain) { RCODE_NXDOMAIN } else { 0 };
    out.push(0x80 | rd); // QR, opcode 0, RD copied
    out.push(0x80 | rcode); // RA, rcode
    let records: &[Ipv6Addr] = match reply {
        Reply::Aaaa(addrs, _) if qtype == TYPE_AAAA => addrs,
        _ => &[],
    };
    let ancount = u16::try_from(records.len()).ok()?;
    for count in [1u16, ancount, 0, 0] {
        out.extend_from_slice(&count.to_be_bytes());
    }
    out.extend_from_slice(&query[DNS_HEADER_LEN..qend]);
    let ttl = if let Reply::Aaaa(_, ttl) = reply { *ttl } else { 0 };
    for addr in records {
        out.extend_from_slice(&NAME_PTR);
        out.extend_from_slice(&TYPE_AAAA.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&16u16.to_be_bytes());
        out.extend_from_slice(&addr.octets());
    }
    Some(out)
}

/// Starts the fake DNS64 on a random loopback port.
async fn dns64(reply: Reply) -> (SocketAddr, JoinHandle<()>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = sock.recv_from(&mut buf).await {
            if let Some(resp) = answer(&buf[..n], &reply) {
                let _ = sock.send_to(&resp, peer).await;
            }
        }
    });
    (addr, task)
}

async fn discover(reply: Reply) -> Result<xlat_pref64::Discovered, Pref64Error> {
    let (addr, task) = dns64(reply).await;
    let res = timeout(WAIT, rfc7050_discover(Some(addr))).await.expect("discovery timed out");
    task.abort();
    res
}

#[tokio::test]
async fn rfc7050_3_discovers_prefix_and_ttl() {
    let aaaa: Ipv6Addr = "2001:db8:64::c000:aa".parse().unwrap();
    let found = discover(Reply::Aaaa(vec![aaaa], 60)).await.unwrap();
    let expect: Prefix = "2001:db8:64::/96".parse().unwrap();
    assert_eq!(found.prefixes, [expect]);
    assert_eq!(found.prefix(), expect);
    assert_eq!(found.ttl, Duration::from_secs(60));
}

#[tokio::test]
async fn rfc7050_3_both_well_known_records() {
    let records = vec!["64:ff9b::c000:aa".parse().unwrap(), "64:ff9b::c000:ab".parse().unwrap()];
    let found = discover(Reply::Aaaa(records, 300)).await.unwrap();
    assert_eq!(found.prefixes, ["64:ff9b::/96".parse::<Prefix>().unwrap()]);
    assert_eq!(found.ttl, Duration::from_secs(300));
}

#[tokio::test]
async fn rfc7050_3_no_aaaa_means_no_dns64() {
    assert!(matches!(discover(Reply::NoData).await, Err(Pref64Error::NoDns64)));
    assert!(matches!(discover(Reply::NxDomain).await, Err(Pref64Error::NoDns64)));
}

#[tokio::test]
async fn rfc7050_3_aaaa_without_well_known_address() {
    let records = vec!["2001:db8::1".parse().unwrap()];
    assert!(matches!(discover(Reply::Aaaa(records, 60)).await, Err(Pref64Error::NoPrefix)));
}
