//! The worker loop over the in-memory pair with a real translator.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use etherparse::{IpHeaders, Ipv4Header, NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use tokio::task::JoinHandle;
use xlat_core::{rfc7757, Config, DropReason};

use super::*;
use crate::mem::{mem_pair, MemIo, MemPeer};

/// Bound on every wait in these tests.
const WITHIN: Duration = Duration::from_secs(10);

const CLAT4: Ipv4Addr = Ipv4Addr::new(192, 0, 0, 1);
const CLAT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xaaaa, 0, 0, 0, 0, 1);
const SERVER4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);
/// SERVER4 embedded in pool6 2001:db8:64::/96 (RFC 6052).
const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x64, 0, 0, 0, 0xc633, 0x6407);

fn translator() -> Translator {
    Translator::new(Config {
        pool6: Some("2001:db8:64::/96".parse().unwrap()),
        eam: rfc7757::Table::new(["192.0.0.1/32=2001:db8:aaaa::1/128".parse().unwrap()]).unwrap(),
        ..Config::default()
    })
    .unwrap()
}

fn udp4(ttl: u8, payload: &[u8]) -> Vec<u8> {
    let builder = PacketBuilder::ipv4(CLAT4.octets(), SERVER4.octets(), ttl).udp(40000, 53);
    let mut pkt = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut pkt, payload).unwrap();
    pkt
}

/// An IPv4 UDP packet that may be fragmented (DF clear).
fn udp4_df_clear(payload: &[u8]) -> Vec<u8> {
    let mut ip = Ipv4Header::new(0, 64, etherparse::IpNumber::UDP, CLAT4.octets(), SERVER4.octets()).unwrap();
    ip.dont_fragment = false;
    let builder = PacketBuilder::ip(IpHeaders::Ipv4(ip, Default::default())).udp(40000, 53);
    let mut pkt = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut pkt, payload).unwrap();
    pkt
}

/// Checks that `pkt` is the IPv6 translation of `udp4(_, payload)`.
fn assert_udp6(pkt: &[u8], payload: &[u8]) {
    let sliced = SlicedPacket::from_ip(pkt).expect("output parses as IP");
    let Some(NetSlice::Ipv6(ip)) = sliced.net else { panic!("not IPv6: {pkt:02x?}") };
    assert_eq!(ip.header().source_addr(), CLAT6);
    assert_eq!(ip.header().destination_addr(), SERVER6);
    let Some(TransportSlice::Udp(udp)) = sliced.transport else { panic!("not UDP") };
    assert_eq!((udp.source_port(), udp.destination_port()), (40000, 53));
    assert_eq!(udp.payload(), payload);
}

struct Running {
    peer: MemPeer,
    stop: watch::Sender<bool>,
    counters: Arc<IoCounters>,
    task: JoinHandle<(io::Result<()>, Translator)>,
}

/// Spawns a worker over a fresh in-memory pair; the task hands the
/// translator back so its counters can be checked.
fn spawn_worker() -> Running {
    spawn_worker_over(|io| io)
}

fn spawn_worker_over<I: PacketIo + 'static>(wrap: impl FnOnce(MemIo) -> I) -> Running {
    let (io, peer) = mem_pair();
    let io = wrap(io);
    let (stop, shutdown) = watch::channel(false);
    let counters = IoCounters::new();
    let shared = Arc::clone(&counters);
    let task = tokio::spawn(async move {
        let mut xlat = translator();
        let r = run_worker(io, &mut xlat, shutdown, shared).await;
        (r, xlat)
    });
    Running { peer, stop, counters, task }
}

impl Running {
    async fn stop(self) -> (io::Result<()>, Translator, IoStats) {
        self.stop.send(true).unwrap();
        let (r, xlat) = tokio::time::timeout(WITHIN, self.task).await.expect("worker stops").unwrap();
        (r, xlat, self.counters.snapshot())
    }
}

#[tokio::test]
async fn ipv4_udp_comes_out_as_ipv6() {
    let mut w = spawn_worker();
    let payload = b"hello through the CLAT";
    let input = udp4(64, payload);
    w.peer.inject(input.clone()).await.unwrap();

    let out = w.peer.collect(WITHIN).await.expect("a translated packet");
    assert_udp6(&out, payload);

    let (r, xlat, stats) = w.stop().await;
    r.unwrap();
    assert_eq!(xlat.counters().v4_to_v6_packets, 1);
    assert_eq!(
        stats,
        IoStats {
            rx_packets: 1,
            rx_bytes: input.len() as u64,
            tx_packets: 1,
            tx_bytes: out.len() as u64,
            ..IoStats::default()
        }
    );
}

#[tokio::test]
async fn garbage_writes_nothing_and_the_loop_goes_on() {
    let mut w = spawn_worker();
    w.peer.inject(vec![0xff; 60]).await.unwrap();
    w.peer.inject(Vec::new()).await.unwrap();
    w.peer.inject(vec![0x45, 0, 0]).await.unwrap();
    w.peer.inject(udp4(64, b"after the garbage")).await.unwrap();

    // Packets are handled in order: the first output is the valid packet's.
    let out = w.peer.collect(WITHIN).await.expect("the valid packet still gets through");
    assert_udp6(&out, b"after the garbage");
    assert_eq!(w.peer.try_collect(), None);

    let (r, xlat, stats) = w.stop().await;
    r.unwrap();
    assert_eq!(xlat.counters().drops(DropReason::UnknownVersion), 2);
    assert_eq!(xlat.counters().drops(DropReason::Ipv4HeaderTruncated), 1);
    assert_eq!((stats.rx_packets, stats.tx_packets, stats.tx_errors), (4, 1, 0));
}

#[tokio::test]
async fn fragments_are_written_one_by_one() {
    let mut w = spawn_worker();
    // 1500-byte IPv4 packet, DF clear: 1520 bytes as IPv6, over the 1500
    // IPv6 MTU, so RFC 7915 §4.1 splits it into IPv6 fragments.
    let input = udp4_df_clear(&[0xab; 1472]);
    assert_eq!(input.len(), 1500);
    w.peer.inject(input).await.unwrap();

    let first = w.peer.collect(WITHIN).await.expect("first fragment");
    let second = w.peer.collect(WITHIN).await.expect("second fragment");
    for frag in [&first, &second] {
        assert_eq!(frag[0] >> 4, 6);
        assert!(frag.len() <= 1500, "fragment of {} bytes", frag.len());
    }
    let (r, xlat, stats) = w.stop().await;
    r.unwrap();
    assert_eq!(xlat.counters().fragmented, 1);
    assert_eq!((stats.rx_packets, stats.tx_packets), (1, 2));
    assert_eq!(stats.tx_bytes, (first.len() + second.len()) as u64);
}

#[tokio::test]
async fn icmp_errors_go_back_through_the_same_io() {
    let mut w = spawn_worker();
    // TTL 1 cannot be forwarded: RFC 7915 §4.1 asks for an ICMPv4 Time
    // Exceeded toward the sender instead.
    w.peer.inject(udp4(1, b"ttl 1")).await.unwrap();
    let out = w.peer.collect(WITHIN).await.expect("an ICMPv4 error");
    let sliced = SlicedPacket::from_ip(&out).unwrap();
    let Some(NetSlice::Ipv4(ip)) = sliced.net else { panic!("not IPv4") };
    assert_eq!(ip.header().destination_addr(), CLAT4);
    let Some(TransportSlice::Icmpv4(icmp)) = sliced.transport else { panic!("not ICMPv4") };
    assert_eq!(icmp.type_u8(), 11, "Time Exceeded");

    let (r, xlat, _) = w.stop().await;
    r.unwrap();
    assert_eq!(xlat.counters().drops(DropReason::TtlExceeded), 1);
}

/// A [`PacketIo`] whose first `fail` writes fail with `EIO`, as a TUN write
/// does while the link is down.
struct FailingWrites {
    inner: MemIo,
    fail: usize,
}

impl PacketIo for FailingWrites {
    async fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.recv(buf).await
    }

    async fn send(&mut self, pkt: &[u8]) -> io::Result<()> {
        if self.fail > 0 {
            self.fail -= 1;
            return Err(io::Error::from_raw_os_error(rustix::io::Errno::IO.raw_os_error()));
        }
        self.inner.send(pkt).await
    }
}

#[tokio::test]
async fn write_errors_are_counted_and_the_loop_goes_on() {
    let mut w = spawn_worker_over(|inner| FailingWrites { inner, fail: 1 });
    w.peer.inject(udp4(64, b"lost")).await.unwrap();
    w.peer.inject(udp4(64, b"kept")).await.unwrap();
    let out = w.peer.collect(WITHIN).await.expect("the second packet");
    assert_udp6(&out, b"kept");

    let (r, _, stats) = w.stop().await;
    r.unwrap();
    assert_eq!((stats.rx_packets, stats.tx_packets, stats.tx_errors), (2, 1, 1));
    assert_eq!(stats.last_errno, rustix::io::Errno::IO.raw_os_error());
}

#[tokio::test]
async fn shutdown_stops_an_idle_worker() {
    let w = spawn_worker();
    let (r, _, stats) = w.stop().await;
    r.unwrap();
    assert_eq!(stats, IoStats::default());
}

#[tokio::test]
async fn dropping_every_sender_stops_the_worker() {
    let w = spawn_worker();
    drop(w.stop);
    let (r, _) = tokio::time::timeout(WITHIN, w.task).await.expect("worker stops").unwrap();
    r.unwrap();
}

#[tokio::test]
async fn a_false_update_does_not_stop_the_worker() {
    let mut w = spawn_worker();
    w.stop.send(false).unwrap();
    w.peer.inject(udp4(64, b"still running")).await.unwrap();
    assert_udp6(&w.peer.collect(WITHIN).await.expect("still running"), b"still running");
    w.stop().await.0.unwrap();
}

#[tokio::test]
async fn already_stopped_returns_at_once() {
    let (io, _peer) = mem_pair();
    let (_stop, shutdown) = watch::channel(true);
    let r = tokio::time::timeout(WITHIN, run_worker(io, translator(), shutdown, IoCounters::new())).await;
    r.expect("returns at once").unwrap();
}

#[tokio::test]
async fn shutdown_interrupts_a_blocked_write() {
    // Capacity 1 and a peer that never collects: the second write waits.
    let (io, peer) = crate::mem::mem_pair_with_capacity(1);
    let (stop, shutdown) = watch::channel(false);
    let counters = IoCounters::new();
    let task = tokio::spawn(run_worker(io, translator(), shutdown, Arc::clone(&counters)));
    peer.inject(udp4(64, b"one")).await.unwrap();
    peer.inject(udp4(64, b"two")).await.unwrap();
    peer.inject(udp4(64, b"three")).await.unwrap();
    stop.send(true).unwrap();
    tokio::time::timeout(WITHIN, task).await.expect("worker stops").unwrap().unwrap();
}

#[tokio::test]
async fn a_closed_peer_ends_the_worker_with_the_read_error() {
    let mut w = spawn_worker();
    w.peer.inject(udp4(64, b"last")).await.unwrap();
    w.peer.close();
    assert_udp6(&w.peer.collect(WITHIN).await.expect("queued packet still handled"), b"last");
    let (r, _) = tokio::time::timeout(WITHIN, w.task).await.expect("worker stops").unwrap();
    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(w.counters.snapshot().rx_errors, 1);
}

#[test]
fn processed_packets_split_and_clip() {
    let out = [0u8; 10];
    let lens = |p: Processed| p.packets(&out).map(<[u8]>::len).collect::<Vec<_>>();
    assert_eq!(lens(Processed::Nothing), Vec::<usize>::new());
    assert_eq!(lens(Processed::one(7)), [7]);
    assert_eq!(lens(Processed::Write { len: 10, segment: 4 }), [4, 4, 2]);
    assert_eq!(lens(Processed::Write { len: 8, segment: 8 }), [8]);
    // A buggy processor cannot make the worker read past its buffer.
    assert_eq!(lens(Processed::Write { len: 99, segment: 0 }), [10]);
    assert_eq!(lens(Processed::one(0)), Vec::<usize>::new());
}

#[test]
fn buffer_layout() {
    assert_eq!(HEADROOM, VNET_HDR_LEN);
    assert_eq!(WORKER_BUF_LEN - HEADROOM, OUT_BUF_LEN);
    assert!(WORKER_BUF_LEN - HEADROOM > usize::from(u16::MAX), "holds any IP packet");
}

#[test]
fn io_stats_add() {
    let mut a = IoStats { rx_packets: 1, tx_errors: 2, last_errno: 5, ..IoStats::default() };
    a.add(&IoStats { rx_packets: 3, last_errno: 0, ..IoStats::default() });
    assert_eq!((a.rx_packets, a.tx_errors, a.last_errno), (4, 2, 5));
    a.add(&IoStats { last_errno: 11, ..IoStats::default() });
    assert_eq!(a.last_errno, 11);
}

/// A processor that answers each packet with nothing, and originates two
/// packets of its own after each packet and on each tick.
struct Originator {
    pending: Vec<Vec<u8>>,
}

impl PacketProcessor for Originator {
    fn on_tick(&mut self) {
        self.pending.push(b"tick".to_vec());
    }

    fn process(&mut self, input: &[u8], _out: &mut [u8]) -> Processed {
        self.pending.push(input.to_vec());
        self.pending.push(input.to_vec());
        Processed::Nothing
    }

    fn poll_transmit(&mut self, out: &mut [u8]) -> Processed {
        match self.pending.pop() {
            Some(p) => {
                out[..p.len()].copy_from_slice(&p);
                Processed::one(p.len())
            }
            None => Processed::Nothing,
        }
    }
}

#[tokio::test]
async fn packets_the_processor_originates_are_written() {
    let (io, mut peer) = mem_pair();
    let (stop, shutdown) = watch::channel(false);
    let counters = IoCounters::new();
    let task = tokio::spawn(run_worker(io, Originator { pending: Vec::new() }, shutdown, Arc::clone(&counters)));
    peer.inject(b"held".to_vec()).await.unwrap();
    assert_eq!(peer.collect(WITHIN).await.as_deref(), Some(&b"held"[..]));
    assert_eq!(peer.collect(WITHIN).await.as_deref(), Some(&b"held"[..]), "drained until Nothing");
    // An idle worker still ticks and writes what the tick queued.
    assert_eq!(peer.collect(WITHIN).await.as_deref(), Some(&b"tick"[..]));
    stop.send(true).unwrap();
    tokio::time::timeout(WITHIN, task).await.expect("worker stops").unwrap().unwrap();
    assert!(counters.snapshot().tx_packets >= 3);
}

// ---- TUN offloads: frames are [virtio-net header | packet] -------------

use xlat_core::offload::{gso, VnetHdr, F_NEEDS_CSUM};

/// A TCP super-packet CLAT4 -> SERVER4 (DF set) of `n` payload bytes whose
/// checksum field holds the partial pseudo-header sum, as a TUN with TSO
/// hands it over.
fn tcp4_super(n: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let builder = PacketBuilder::ipv4(CLAT4.octets(), SERVER4.octets(), 64).tcp(40000, 80, 1000, 65535).ack(1).psh();
    let mut pkt = Vec::with_capacity(builder.size(n));
    builder.write(&mut pkt, &payload).unwrap();
    let l4 = (pkt.len() - 20) as u32;
    let pseudo = xlat_core::checksum::pseudo_v4(CLAT4, SERVER4, l4 as u16, 6);
    pkt[36..38].copy_from_slice(&xlat_core::checksum::fold(pseudo).to_be_bytes());
    pkt
}

fn frame(hdr: VnetHdr, pkt: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; VNET_HDR_LEN];
    hdr.emit(&mut f);
    f.extend_from_slice(pkt);
    f
}

const TSO4: VnetHdr =
    VnetHdr { flags: F_NEEDS_CSUM, gso_type: gso::TCPV4, hdr_len: 40, gso_size: 1400, csum_start: 20, csum_offset: 16 };

/// Cuts `frame` with tun-rs' own `gso_split` (the reference, independent of
/// our segmenter).
fn tun_rs_cut(frame: &[u8]) -> Vec<Vec<u8>> {
    let hdr = tun_rs::VirtioNetHdr::decode(&frame[..VNET_HDR_LEN]).unwrap();
    let mut pkt = frame[VNET_HDR_LEN..].to_vec();
    let is_v6 = pkt[0] >> 4 == 6;
    let mut bufs = vec![vec![0u8; 2000]; 64];
    let mut sizes = vec![0usize; 64];
    let n = tun_rs::gso_split(&mut pkt, hdr, &mut bufs, &mut sizes, 0, is_v6).unwrap();
    (0..n).map(|i| bufs[i][..sizes[i]].to_vec()).collect()
}

fn spawn_offload_worker() -> Running {
    let (io, peer) = crate::mem::mem_pair_offload();
    let (stop, shutdown) = watch::channel(false);
    let counters = IoCounters::new();
    let shared = Arc::clone(&counters);
    let task = tokio::spawn(async move {
        let mut xlat = translator();
        let r = run_worker(io, &mut xlat, shutdown, shared).await;
        (r, xlat)
    });
    Running { peer, stop, counters, task }
}

#[tokio::test]
async fn a_tso_super_packet_is_translated_once_and_cut_like_per_packet() {
    let mut w = spawn_offload_worker();
    let pkt = tcp4_super(10 * 1400 + 77);
    w.peer.inject(frame(TSO4, &pkt)).await.unwrap();
    let out = w.peer.collect(WITHIN).await.expect("one frame");
    let h = VnetHdr::parse(&out).unwrap();
    assert_eq!((h.gso_type, h.gso_size, h.csum_start, h.hdr_len), (gso::TCPV6, 1400, 40, 60));
    assert_eq!(out.len(), VNET_HDR_LEN + pkt.len() + 20, "one IPv6 super-packet");
    assert!(w.peer.try_collect().is_none(), "nothing else written");

    // The segments the kernel will cut == per-packet translation of the
    // segments the kernel would have handed over without offloads.
    let mut xlat = translator();
    let mut buf = vec![0u8; OUT_BUF_LEN];
    let per_packet: Vec<Vec<u8>> = tun_rs_cut(&frame(TSO4, &pkt))
        .iter()
        .map(|seg| {
            let Ok(Action::Translated { len, .. }) = xlat.translate(seg, &mut buf) else { panic!("segment dropped") };
            buf[..len].to_vec()
        })
        .collect();
    assert_eq!(per_packet.len(), 11);
    assert_eq!(tun_rs_cut(&out), per_packet);

    let (r, xlat, io) = w.stop().await;
    r.unwrap();
    assert_eq!((io.gso_rx, io.gso_tx, io.gso_split, io.offload_errors), (1, 1, 0, 0));
    assert_eq!((io.rx_packets, io.tx_packets), (1, 1));
    assert_eq!(xlat.counters().v4_to_v6_packets, 1, "a super-packet is one translation");
}

#[tokio::test]
async fn plain_frames_get_a_zero_header_and_bad_headers_are_counted() {
    let mut w = spawn_offload_worker();
    // gso_size 0 on a TSO frame: dropped and counted.
    w.peer.inject(frame(VnetHdr { gso_size: 0, ..TSO4 }, &tcp4_super(3000))).await.unwrap();
    // Shorter than a header: dropped and counted.
    w.peer.inject(vec![0u8; 4]).await.unwrap();
    // An ordinary packet: translated, written behind a zero header.
    w.peer.inject(frame(VnetHdr::default(), &udp4(64, b"plain"))).await.unwrap();
    let out = w.peer.collect(WITHIN).await.expect("the good packet");
    assert_eq!(VnetHdr::parse(&out), Some(VnetHdr::default()));
    assert_udp6(&out[VNET_HDR_LEN..], b"plain");
    let (_, _, io) = w.stop().await;
    assert_eq!(io.offload_errors, 2);
    assert_eq!(io.tx_packets, 1);
}

#[tokio::test]
async fn a_super_packet_one_rewrite_cannot_carry_is_cut_and_translated_per_segment() {
    let mut w = spawn_offload_worker();
    // DF clear and 1420-byte segments: per packet they need IPv6 fragments
    // (lowest-ipv6-mtu 1280), so the worker cuts first.
    let mut pkt = tcp4_super(3 * 1400);
    pkt[6] = 0;
    pkt[10..12].fill(0);
    let c = xlat_core::checksum::finish(xlat_core::checksum::sum(0, &pkt[..20]));
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
    w.peer.inject(frame(TSO4, &pkt)).await.unwrap();
    // 3 segments, each split into two IPv6 fragments.
    for _ in 0..6 {
        let f = w.peer.collect(WITHIN).await.expect("a fragment");
        assert_eq!(VnetHdr::parse(&f), Some(VnetHdr::default()), "plain fragments");
        assert_eq!(f[VNET_HDR_LEN + 6], 44, "IPv6 Fragment header");
    }
    let (_, xlat, io) = w.stop().await;
    assert_eq!(io.tx_packets, 6, "no seventh packet");
    assert_eq!((io.gso_split, io.gso_tx), (1, 0));
    assert_eq!(xlat.counters().fragmented, 3);
}

#[tokio::test]
async fn a_partial_udp_checksum_is_finished_before_translation() {
    let mut w = spawn_offload_worker();
    let mut pkt = udp4(64, b"needs csum");
    let l4 = (pkt.len() - 20) as u16;
    let pseudo = xlat_core::checksum::pseudo_v4(CLAT4, SERVER4, l4, 17);
    pkt[26..28].copy_from_slice(&xlat_core::checksum::fold(pseudo).to_be_bytes());
    let hdr = VnetHdr { flags: F_NEEDS_CSUM, csum_start: 20, csum_offset: 6, ..VnetHdr::default() };
    w.peer.inject(frame(hdr, &pkt)).await.unwrap();
    let out = w.peer.collect(WITHIN).await.expect("translated");
    // assert_udp6 checks the checksum through etherparse's parse.
    assert_udp6(&out[VNET_HDR_LEN..], b"needs csum");
    let sliced = SlicedPacket::from_ip(&out[VNET_HDR_LEN..]).unwrap();
    let Some(TransportSlice::Udp(udp)) = sliced.transport else { panic!() };
    let Some(NetSlice::Ipv6(ip)) = sliced.net else { panic!() };
    let want = udp.to_header().calc_checksum_ipv6(&ip.header().to_header(), b"needs csum").unwrap();
    assert_eq!(udp.checksum(), want, "complete checksum on the IPv6 side");
    w.stop().await.0.unwrap();
}

/// A worker with offloads whose queue already holds `frames` when it
/// starts: one wake-up brings them all.
async fn offload_worker_with(frames: Vec<Vec<u8>>) -> Running {
    let (io, peer) = crate::mem::mem_pair_offload();
    for f in frames {
        peer.inject(f).await.unwrap();
    }
    let (stop, shutdown) = watch::channel(false);
    let counters = IoCounters::new();
    let shared = Arc::clone(&counters);
    let task = tokio::spawn(async move {
        let mut xlat = translator();
        let r = run_worker(io, &mut xlat, shutdown, shared).await;
        (r, xlat)
    });
    Running { peer, stop, counters, task }
}

#[tokio::test]
async fn what_one_wake_up_brings_is_written_in_batches_in_order() {
    let n = crate::BATCH + 3;
    let frames = (0..n).map(|i| frame(VnetHdr::default(), &udp4(64, format!("p{i}").as_bytes()))).collect();
    let mut w = offload_worker_with(frames).await;
    for i in 0..n {
        let out = w.peer.collect(WITHIN).await.expect("every packet");
        assert_udp6(&out[VNET_HDR_LEN..], format!("p{i}").as_bytes());
    }
    let (_, _, io) = w.stop().await;
    assert_eq!((io.rx_packets, io.tx_packets), (n as u64, n as u64));
    assert_eq!(io.tx_batches, 2, "a full batch, then the rest");
}

#[tokio::test]
async fn a_super_packet_between_plain_packets_keeps_its_place() {
    let frames = vec![
        frame(VnetHdr::default(), &udp4(64, b"before")),
        frame(TSO4, &tcp4_super(3 * 1400)),
        frame(VnetHdr::default(), &udp4(64, b"after")),
    ];
    let mut w = offload_worker_with(frames).await;
    let first = w.peer.collect(WITHIN).await.unwrap();
    assert_udp6(&first[VNET_HDR_LEN..], b"before");
    let second = w.peer.collect(WITHIN).await.unwrap();
    assert_eq!(VnetHdr::parse(&second).map(|h| h.gso_type), Some(gso::TCPV6));
    let third = w.peer.collect(WITHIN).await.unwrap();
    assert_udp6(&third[VNET_HDR_LEN..], b"after");
    let (_, _, io) = w.stop().await;
    assert_eq!((io.tx_batches, io.gso_tx), (2, 1));
}

#[test]
fn tun_families_render_every_counter() {
    let io = IoStats { rx_packets: 3, tx_bytes: 7, gso_split: 2, tx_batches: 5, ..IoStats::default() };
    let mut s = String::new();
    io.write_prometheus(true, &mut s);
    for line in [
        "xlat_tun_packets_total{direction=\"rx\"} 3",
        "xlat_tun_bytes_total{direction=\"tx\"} 7",
        "xlat_tun_gso_total{event=\"split\"} 2",
        "xlat_tun_batches_total 5",
        "xlat_tun_offload_errors_total 0",
        "xlat_tun_offload 1",
        "# TYPE xlat_tun_offload gauge",
    ] {
        assert!(s.lines().any(|l| l == line), "missing {line}:\n{s}");
    }
    assert_eq!(s.lines().filter(|l| l.starts_with("# HELP")).count(), 7);
}
