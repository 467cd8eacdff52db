//! TAYGA in a box: a reference RFC 7915 translator for differential tests.
//!
//! [`Tayga::start`] creates a fresh network namespace, writes a
//! `tayga.conf` into a temporary `data-dir`, runs `tayga -d` (foreground,
//! debug log) inside the namespace as a child process, waits for its TUN
//! device, brings it up and routes the test prefixes into it, then waits
//! until TAYGA answers a ping at its own IPv4 address. Everything is undone
//! when the [`Tayga`] guard drops: the process is killed, the namespace
//! (with the TUN) deleted, the temporary directory removed.
//!
//! ## Injection and capture
//! Both happen at the TUN device, from sockets opened inside the namespace:
//!
//! - **Inject**: a raw IP socket (`IPPROTO_RAW`, which implies
//!   `IP_HDRINCL` / `IPV6_HDRINCL`) sends the complete test packet to its
//!   destination; the namespace's routes point every test prefix at the TUN,
//!   so the kernel hands the packet to TAYGA. A locally originated packet is
//!   not forwarded, so its TTL / Hop Limit is not decremented on the way in.
//! - **Capture**: one `AF_PACKET` socket (`ETH_P_ALL`) sees every packet on
//!   the TUN: `PACKET_OUTGOING` ones are exactly the bytes TAYGA read,
//!   `PACKET_HOST` ones are exactly the bytes TAYGA wrote, before the kernel
//!   looks at them. With forwarding off and no local addresses on the test
//!   prefixes, the kernel silently drops what TAYGA emits, so nothing
//!   answers back into the TUN.
//!
//! IPv6 address autoconfiguration is disabled in the namespace so the TUN
//! has no link-local address and sends no Router Solicitations or MLD
//! reports; link-local and multicast packets are ignored anyway.

use std::io::Read as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recv, recvfrom, sendto, socket, AddressFamily, LinkAddr, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn,
    SockaddrIn6,
};

use crate::netns::{find_tool, pid_alive, wait_until, Netns};

/// `sll_pkttype` of a packet the kernel received (here: TAYGA wrote it).
const PACKET_HOST: u8 = 0;
/// `sll_pkttype` of a packet the kernel sent (here: TAYGA will read it).
const PACKET_OUTGOING: u8 = 4;

/// How long TAYGA may take to create its TUN device.
const TUN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long TAYGA may take to answer the readiness ping.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one readiness ping waits for its echo reply.
const PROBE_TIMEOUT: Duration = Duration::from_millis(200);
/// How long [`Tayga::exchange`] waits for the expected packets.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(3);
/// After the expected packets, how long to keep listening for extra ones.
pub const LINGER: Duration = Duration::from_millis(100);
/// When no packet is expected, how long silence must last.
pub const SILENCE: Duration = Duration::from_millis(400);

/// TAYGA's configuration (`tayga.conf`) and the routes toward its TUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaygaConfig {
    /// `tun-device`.
    pub tun: String,
    /// `ipv4-addr`: TAYGA's own IPv4 address (source of its ICMPv4 errors).
    pub ipv4_addr: Ipv4Addr,
    /// `prefix`: the RFC 6052 NAT64 prefix.
    pub prefix: (Ipv6Addr, u8),
    /// `map` lines: static single-address mappings (RFC 7757 EAM /32=/128).
    pub maps: Vec<(Ipv4Addr, Ipv6Addr)>,
    /// IPv4 routes (`ADDR/LEN`) pointed at the TUN.
    pub routes_v4: Vec<String>,
    /// IPv6 routes (`ADDR/LEN`) pointed at the TUN.
    pub routes_v6: Vec<String>,
    /// MTU of the TUN (TAYGA uses it as its MTU).
    pub mtu: u16,
}

impl Default for TaygaConfig {
    /// The lab's reference setup: prefix `2001:db8:64::/96`, TAYGA at
    /// `192.0.2.1`, `192.0.2.10 <-> 2001:db8:aaaa::10` mapped, the IPv4 test
    /// networks (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and the IPv6
    /// prefix plus the mapped host routed into the TUN, MTU 1500.
    fn default() -> Self {
        Self {
            tun: "nat64".into(),
            ipv4_addr: Ipv4Addr::new(192, 0, 2, 1),
            prefix: (Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, 0, 0), 96),
            maps: vec![(Ipv4Addr::new(192, 0, 2, 10), Ipv6Addr::new(0x2001, 0xdb8, 0xaaaa, 0, 0, 0, 0, 0x10))],
            routes_v4: vec!["192.0.2.0/24".into(), "198.51.100.0/24".into(), "203.0.113.0/24".into()],
            routes_v6: vec!["2001:db8:64::/96".into(), "2001:db8:aaaa::/64".into()],
            mtu: 1500,
        }
    }
}

impl TaygaConfig {
    /// The `tayga.conf` text for this configuration with `data_dir`.
    #[must_use]
    pub fn render(&self, data_dir: &std::path::Path) -> String {
        let mut s = format!(
            "tun-device {}\nipv4-addr {}\nprefix {}/{}\ndata-dir {}\n",
            self.tun,
            self.ipv4_addr,
            self.prefix.0,
            self.prefix.1,
            data_dir.display()
        );
        for (v4, v6) in &self.maps {
            s.push_str(&format!("map {v4} {v6}\n"));
        }
        s
    }
}

/// What one injected packet produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The packet as TAYGA read it from the TUN (captured on its way out of
    /// the kernel), if it was seen.
    pub sent: Option<Vec<u8>>,
    /// Every packet TAYGA wrote to the TUN in response, in order.
    pub emitted: Vec<Vec<u8>>,
}

/// The sockets inside the namespace.
#[derive(Debug)]
struct Sockets {
    raw4: OwnedFd,
    raw6: OwnedFd,
    capture: OwnedFd,
}

/// A running TAYGA in its own network namespace; stopped and cleaned up on
/// drop.
#[derive(Debug)]
pub struct Tayga {
    child: Child,
    log: Arc<Mutex<Vec<u8>>>,
    sockets: Sockets,
    tun_ifindex: u32,
    cfg: TaygaConfig,
    _data_dir: tempfile::TempDir,
    // Last: deleted after the process is gone.
    ns: Netns,
}

impl Tayga {
    /// Starts TAYGA with `cfg` in a new namespace and waits (bounded) until
    /// it translates.
    pub fn start(cfg: &TaygaConfig) -> Result<Self> {
        let tayga = find_tool("tayga").context("tayga is not installed")?;
        let ns = Netns::new()?;
        // No link-local address on the TUN: no RS, DAD or MLD noise.
        for scope in ["all", "default"] {
            ns.sysctl(&format!("net.ipv6.conf.{scope}.addr_gen_mode"), "1")?;
            ns.sysctl(&format!("net.ipv6.conf.{scope}.forwarding"), "0")?;
        }
        ns.sysctl("net.ipv4.ip_forward", "0")?;

        sweep_stale_data_dirs();
        let data_dir = tempfile::Builder::new()
            .prefix(&format!("{DATA_DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .context("creating TAYGA's data-dir")?;
        let conf = data_dir.path().join("tayga.conf");
        std::fs::write(&conf, cfg.render(data_dir.path())).context("writing tayga.conf")?;

        // TAYGA -d logs with printf(): line-buffer it so the log survives
        // the kill at the end.
        let mut cmd = match find_tool("stdbuf") {
            Some(stdbuf) => {
                let mut c = ns.command(stdbuf);
                c.arg("-oL").arg(&tayga);
                c
            }
            None => ns.command(&tayga),
        };
        let mut child = cmd
            .arg("-d")
            .arg("--config")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawning tayga")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as _),
        ]
        .into_iter()
        .flatten()
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut pipe = pipe;
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    log.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&buf[..n]);
                }
            });
        }

        // From here on a failure must still stop the child: build the guard
        // as soon as the sockets exist.
        let started = (|| -> Result<(u32, Sockets)> {
            let tun_ifindex = wait_until(TUN_TIMEOUT, "TAYGA's TUN device", || match child.try_wait() {
                Ok(Some(status)) => Some(Err(anyhow::anyhow!("tayga exited early ({status})"))),
                _ => ns.ifindex(&cfg.tun).map(Ok),
            })??;
            ns.ip(&["link", "set", &cfg.tun, "mtu", &cfg.mtu.to_string(), "up"])?;
            for r in &cfg.routes_v4 {
                ns.ip(&["route", "add", r, "dev", &cfg.tun])?;
            }
            for r in &cfg.routes_v6 {
                ns.ip(&["-6", "route", "add", r, "dev", &cfg.tun])?;
            }
            let sockets = ns.enter(|| {
                let raw4 = socket(AddressFamily::Inet, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::Raw)?;
                let raw6 = socket(AddressFamily::Inet6, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::Raw)?;
                let capture =
                    socket(AddressFamily::Packet, SockType::Datagram, SockFlag::SOCK_CLOEXEC, SockProtocol::EthAll)?;
                Ok(Sockets { raw4, raw6, capture })
            })?;
            Ok((tun_ifindex, sockets))
        })();
        let (tun_ifindex, sockets) = match started {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let text = String::from_utf8_lossy(&log.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
                return Err(e.context(format!("starting tayga; its log:\n{text}")));
            }
        };
        let mut me = Self { child, log, sockets, tun_ifindex, cfg: cfg.clone(), _data_dir: data_dir, ns };
        me.wait_ready().with_context(|| format!("tayga did not become ready; its log:\n{}", me.log()))?;
        Ok(me)
    }

    /// The namespace TAYGA runs in.
    #[must_use]
    pub fn netns(&self) -> &Netns {
        &self.ns
    }

    /// The configuration TAYGA was started with.
    #[must_use]
    pub fn config(&self) -> &TaygaConfig {
        &self.cfg
    }

    /// Everything TAYGA printed so far (with `-d`: its settings and debug
    /// messages).
    #[must_use]
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Pings TAYGA's own IPv4 address until it answers (bounded).
    fn wait_ready(&mut self) -> Result<()> {
        let me = self.cfg.ipv4_addr;
        let probe = ping_v4(Ipv4Addr::new(198, 51, 100, 254), me);
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("tayga exited early ({status})");
            }
            let x = self.exchange_with(&probe, 1, PROBE_TIMEOUT, Duration::ZERO)?;
            if x.emitted.iter().any(|p| p.first().map(|b| b >> 4) == Some(4) && p[12..16] == me.octets()) {
                return Ok(());
            }
        }
        bail!("no echo reply from tayga at {me} within {READY_TIMEOUT:?}")
    }

    /// Injects `packet` (a complete IPv4 or IPv6 packet) into TAYGA and
    /// collects what it emits: waits up to [`EXCHANGE_TIMEOUT`] for
    /// `expect` packets, then [`LINGER`] more for unexpected extra ones
    /// ([`SILENCE`] when `expect` is 0).
    pub fn exchange(&mut self, packet: &[u8], expect: usize) -> Result<Exchange> {
        let linger = if expect == 0 { SILENCE } else { LINGER };
        self.exchange_with(packet, expect, EXCHANGE_TIMEOUT, linger)
    }

    fn exchange_with(&mut self, packet: &[u8], expect: usize, timeout: Duration, linger: Duration) -> Result<Exchange> {
        self.drain();
        self.inject(packet)?;
        let mut x = Exchange { sent: None, emitted: Vec::new() };
        let mut deadline = Instant::now() + timeout;
        let mut lingering = false;
        let mut buf = vec![0u8; 65536];
        loop {
            if !lingering && x.sent.is_some() && x.emitted.len() >= expect {
                lingering = true;
                deadline = Instant::now() + linger;
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(x);
            }
            let Some((n, addr)) = self.recv(&mut buf, deadline - now)? else { continue };
            if addr.ifindex() != self.tun_ifindex as usize || is_noise(&buf[..n]) {
                continue;
            }
            match addr.pkttype() {
                PACKET_OUTGOING if x.sent.is_none() => x.sent = Some(buf[..n].to_vec()),
                PACKET_HOST => x.emitted.push(buf[..n].to_vec()),
                _ => {}
            }
        }
    }

    /// Sends a complete IP packet through the raw socket of its family.
    fn inject(&self, packet: &[u8]) -> Result<()> {
        let n = match packet.first().map(|b| b >> 4) {
            Some(4) if packet.len() >= 20 => {
                let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
                let to = SockaddrIn::from(SocketAddrV4::new(dst, 0));
                sendto(self.sockets.raw4.as_raw_fd(), packet, &to, MsgFlags::empty())?
            }
            Some(6) if packet.len() >= 40 => {
                let mut d = [0u8; 16];
                d.copy_from_slice(&packet[24..40]);
                let to = SockaddrIn6::from(SocketAddrV6::new(Ipv6Addr::from(d), 0, 0, 0));
                sendto(self.sockets.raw6.as_raw_fd(), packet, &to, MsgFlags::empty())?
            }
            _ => bail!("not an IP packet: {packet:02x?}"),
        };
        if n != packet.len() {
            bail!("short send: {n} of {} bytes", packet.len());
        }
        Ok(())
    }

    /// Discards whatever the capture socket has queued.
    fn drain(&self) {
        let mut buf = [0u8; 2048];
        while recv(self.sockets.capture.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT).is_ok() {}
    }

    /// One captured packet, or `None` if none arrived within `wait`.
    fn recv(&self, buf: &mut [u8], wait: Duration) -> Result<Option<(usize, LinkAddr)>> {
        let ms = u16::try_from(wait.as_millis().max(1)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.sockets.capture.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
        match recvfrom::<LinkAddr>(self.sockets.capture.as_raw_fd(), buf) {
            Ok((n, Some(addr))) => Ok(Some((n, addr))),
            Ok((_, None)) | Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for Tayga {
    fn drop(&mut self) {
        // `ip netns exec` and `stdbuf` exec in place: the child is tayga.
        let _ = self.child.kill();
        let _ = wait_until(Duration::from_secs(5), "tayga to exit", || self.child.try_wait().ok().flatten());
        // Then the fields drop: sockets, data-dir, and the namespace last.
    }
}

/// Prefix of TAYGA's temporary data-dirs: `xlt-tayga-<pid>-<random>`.
const DATA_DIR_PREFIX: &str = "xlt-tayga-";

/// Removes data-dirs left by test processes that were killed outright.
fn sweep_stale_data_dirs() {
    let tmp = std::env::temp_dir();
    let Ok(dir) = std::fs::read_dir(&tmp) else { return };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((pid, _)) = name.strip_prefix(DATA_DIR_PREFIX).and_then(|r| r.split_once('-')) else { continue };
        if pid.parse().is_ok_and(|pid| !pid_alive(pid)) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Link-local, multicast and unspecified-address packets: kernel chatter,
/// never test traffic.
fn is_noise(p: &[u8]) -> bool {
    match p.first().map(|b| b >> 4) {
        Some(6) if p.len() >= 40 => {
            let (src, dst) = (&p[8..24], &p[24..40]);
            let link_local = |a: &[u8]| a[0] == 0xfe && a[1] & 0xc0 == 0x80;
            dst[0] == 0xff || link_local(src) || link_local(dst) || src.iter().all(|b| *b == 0)
        }
        Some(4) if p.len() >= 20 => {
            let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
            dst.is_multicast() || dst.is_broadcast()
        }
        _ => true,
    }
}

/// An ICMPv4 echo request `src -> dst` (the readiness probe).
fn ping_v4(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut h = etherparse::Ipv4Header::new(0, 64, etherparse::IpNumber::ICMP, src.octets(), dst.octets())
        .expect("static header is valid");
    h.identification = 0x7a61;
    let mut out = Vec::new();
    etherparse::PacketBuilder::ip(etherparse::IpHeaders::Ipv4(h, Default::default()))
        .icmpv4_echo_request(0x7a61, 1)
        .write(&mut out, b"xlat-lab readiness probe")
        .expect("writing to a Vec cannot fail");
    out
}
