//! The tokio shell around [`crate::rfc8781`]: a raw ICMPv6 socket that
//! hears Router Advertisements and sends Router Solicitations.
//!
//! socket2 opens and configures the socket, tokio's `AsyncFd` waits for
//! readiness, and nix's `recvmsg` reads the datagram with its IP hop limit
//! (an ancillary message) so RFC 4861 §6.1.2 can be checked. All three are
//! safe APIs: no `unsafe` here.

use std::collections::VecDeque;
use std::io::{self, IoSliceMut};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrIn6};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use xlat_core::rfc6052::Prefix;

use crate::rfc4861::{self, ALL_ROUTERS, ND_HOP_LIMIT, ROUTER_ADVERT};
use crate::rfc8781::parse_ra;

/// Largest ICMPv6 message a raw socket can return (the IPv6 payload
/// length field is 16 bits).
const MAX_MESSAGE: usize = u16::MAX as usize;
/// Linux interface names are at most 15 bytes (IFNAMSIZ - 1).
const MAX_IFNAME: usize = 15;
/// ICMPv6 type byte offset.
const ICMP_TYPE: usize = 0;

/// A PREF64 option heard in a Router Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaPref64 {
    /// The NAT64 prefix.
    pub prefix: Prefix,
    /// RFC 8781 §4: how long it may be used (zero: withdrawn).
    pub lifetime: Duration,
    /// The router that sent it (link-local).
    pub router: Ipv6Addr,
    /// Index of the interface it arrived on.
    pub ifindex: u32,
    /// RFC 4861 §4.2 Router Lifetime of the RA.
    pub router_lifetime: Duration,
}

/// What the listener received and why it dropped what it dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RaCounters {
    /// ICMPv6 messages read from the socket.
    pub received: u64,
    /// Valid RAs.
    pub router_adverts: u64,
    /// RAs rejected (malformed, non-link-local source, hop limit not 255).
    pub invalid: u64,
    /// PREF64 options ignored under RFC 8781 §4 (bad length or PLC).
    pub pref64_ignored: u64,
    /// PREF64 options delivered.
    pub pref64: u64,
}

/// Hears RFC 8781 PREF64 options on a raw ICMPv6 socket.
///
/// Needs `CAP_NET_RAW`. Must be created inside a tokio runtime.
#[derive(Debug)]
pub struct RaListener {
    fd: AsyncFd<Socket>,
    ifindex: Option<u32>,
    pending: VecDeque<RaPref64>,
    buf: Vec<u8>,
    cmsg: Vec<u8>,
    counters: RaCounters,
}

/// The index of interface `name`, read from sysfs (Linux).
fn ifindex(name: &str) -> io::Result<u32> {
    if name.is_empty() || name.len() > MAX_IFNAME || name.contains('/') || name.starts_with('.') {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad interface name {name:?}")));
    }
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))?;
    text.trim().parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("ifindex of {name}: {e}")))
}

fn open_socket(ifname: Option<&str>) -> io::Result<Socket> {
    let sock = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    sock.set_nonblocking(true)?;
    if let Some(name) = ifname {
        sock.bind_device(Some(name.as_bytes()))?;
    }
    // RFC 4861 §6.1.1: ND messages leave with hop limit 255...
    sock.set_multicast_hops_v6(u32::from(ND_HOP_LIMIT))?;
    sock.set_unicast_hops_v6(u32::from(ND_HOP_LIMIT))?;
    // ...and §6.1.2: receivers check it, so ask for it with each datagram.
    sock.set_recv_hoplimit_v6(true)?;
    // Our own RSs need not come back to us.
    sock.set_multicast_loop_v6(false)?;
    Ok(sock)
}

/// One datagram: its length, source and IP hop limit (if reported).
fn recv_one(sock: &Socket, buf: &mut [u8], cmsg: &mut [u8]) -> io::Result<(usize, Option<SocketAddrV6>, Option<u8>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn6>(sock.as_raw_fd(), &mut iov, Some(cmsg), MsgFlags::empty())?;
    let mut hop_limit = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            if let ControlMessageOwned::Ipv6HopLimit(h) = c {
                hop_limit = u8::try_from(h).ok();
            }
        }
    }
    let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC);
    let len = if truncated { 0 } else { msg.bytes };
    Ok((len, msg.address.map(SocketAddrV6::from), hop_limit))
}

impl RaListener {
    /// Opens the socket, bound to interface `ifname` (SO_BINDTODEVICE) or
    /// to all interfaces with `None`.
    ///
    /// No multicast join is needed: RAs go to ff02::1, which every IPv6
    /// interface has joined, and a raw socket receives all multicast its
    /// host accepts (IPV6_MULTICAST_ALL is on by default). No ICMPv6 type
    /// filter is installed either (socket2 and nix have no safe
    /// ICMP6_FILTER); other ICMPv6 types are dropped on the first byte.
    pub fn bind(ifname: Option<&str>) -> io::Result<Self> {
        let ifindex = ifname.map(ifindex).transpose()?;
        let sock = open_socket(ifname)?;
        // tokio 1.54 deprecated `AsyncFd::new` because an arbitrary
        // `T: AsRawFd` might hand out different or closed descriptors; its
        // replacement `register` is `unsafe` for that reason. `Socket` owns
        // its descriptor and always returns that one (I/O safety), so the
        // safe constructor is sound here and keeps this crate `unsafe`-free.
        #[allow(deprecated)]
        let fd = AsyncFd::new(sock)?;
        Ok(Self {
            fd,
            ifindex,
            pending: VecDeque::new(),
            buf: vec![0; MAX_MESSAGE],
            cmsg: nix::cmsg_space!(i32),
            counters: RaCounters::default(),
        })
    }

    /// The next PREF64 option heard. RAs without one are consumed
    /// silently; invalid RAs are counted ([`Self::counters`]) and skipped.
    /// Cancel-safe: a PREF64 read but not yet returned is kept for the
    /// next call.
    pub async fn next(&mut self) -> io::Result<RaPref64> {
        loop {
            if let Some(p) = self.pending.pop_front() {
                return Ok(p);
            }
            let res = {
                let Self { fd, buf, cmsg, .. } = &mut *self;
                let mut guard = fd.readable().await?;
                match guard.try_io(|s| recv_one(s.get_ref(), buf, cmsg)) {
                    Ok(res) => res,
                    Err(_would_block) => continue,
                }
            };
            let (len, src, hop_limit) = res?;
            self.counters.received += 1;
            self.handle(len, src, hop_limit);
        }
    }

    fn handle(&mut self, len: usize, src: Option<SocketAddrV6>, hop_limit: Option<u8>) {
        let msg = &self.buf[..len];
        if msg.get(ICMP_TYPE) != Some(&ROUTER_ADVERT) {
            return;
        }
        let Some(src) = src else {
            self.counters.invalid += 1;
            return;
        };
        let info = rfc4861::check_ip_fields(*src.ip(), hop_limit).and_then(|()| parse_ra(msg));
        let info = match info {
            Ok(info) => info,
            Err(e) => {
                self.counters.invalid += 1;
                tracing::debug!(router = %src.ip(), error = %e, "RA rejected");
                return;
            }
        };
        self.counters.router_adverts += 1;
        for e in &info.ignored {
            self.counters.pref64_ignored += 1;
            tracing::debug!(router = %src.ip(), error = %e, "PREF64 option ignored");
        }
        for p in info.pref64 {
            self.counters.pref64 += 1;
            self.pending.push_back(RaPref64 {
                prefix: p.prefix,
                lifetime: p.lifetime(),
                router: *src.ip(),
                ifindex: src.scope_id(),
                router_lifetime: info.router_lifetime,
            });
        }
    }

    /// Counters since the listener was opened.
    #[must_use]
    pub fn counters(&self) -> RaCounters {
        self.counters
    }

    /// RFC 4861 §6.3.7: sends a Router Solicitation to ff02::2 on the
    /// listener's interface, so routers answer with an RA at once instead
    /// of at their next periodic one. The listener must have been bound to
    /// an interface.
    pub async fn send_rs(&self) -> io::Result<()> {
        let ifindex = self.ifindex.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "send_rs needs a listener bound to an interface")
        })?;
        let dst = SockAddr::from(SocketAddrV6::new(ALL_ROUTERS, 0, 0, ifindex));
        let rs = rfc4861::build_rs();
        loop {
            let mut guard = self.fd.writable().await?;
            if let Ok(res) = guard.try_io(|s| s.get_ref().send_to(&rs, &dst)) {
                return res.map(drop);
            }
        }
    }
}

/// RFC 4861 §6.3.7: sends one Router Solicitation to ff02::2 out of
/// interface `ifname` (needs `CAP_NET_RAW` and a tokio runtime).
pub async fn send_rs(ifname: &str) -> io::Result<()> {
    RaListener::bind(Some(ifname))?.send_rs().await
}
