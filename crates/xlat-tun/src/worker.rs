//! The worker loop: read a packet, process it, write what the processor
//! says, count the I/O. See the crate documentation for the buffer layout.

use portable_atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};
use std::io;
use std::sync::Arc;

use tokio::sync::watch;
use xlat_core::offload::{self, OffloadError, Plan, Segmenter, VnetHdr};
use xlat_core::{Action, Translator, OUT_BUF_LEN};

use crate::batch::{Batch, Slot};
use crate::io::PacketIo;

/// Size of the virtio-net header (`struct virtio_net_hdr`) a TUN with
/// `IFF_VNET_HDR` puts in front of every packet (the kernel's default
/// `TUNSETVNETHDRSZ`).
pub const VNET_HDR_LEN: usize = 10;

/// Bytes reserved at the front of each worker buffer, for the virtio-net
/// header of a TUN with offloads. Packets start at this offset.
pub const HEADROOM: usize = VNET_HDR_LEN;

/// Size of each of a worker's two buffers: the headroom, then
/// [`OUT_BUF_LEN`] bytes of packet space (larger than any IP packet, and
/// what [`Translator::translate`] needs for its output).
pub const WORKER_BUF_LEN: usize = HEADROOM + OUT_BUF_LEN;

/// How often an idle worker calls [`PacketProcessor::on_tick`].
pub const TICK: std::time::Duration = std::time::Duration::from_millis(250);

// tun-rs and the core read and write virtio-net headers of their own size;
// they must agree.
const _: () = assert!(VNET_HDR_LEN == tun_rs::VIRTIO_NET_HDR_LEN);
const _: () = assert!(VNET_HDR_LEN == offload::VNET_HDR_LEN);

/// What a [`PacketProcessor`] wants written for one input packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    /// Nothing (dropped, or consumed).
    Nothing,
    /// `out[..len]` holds packets of `segment` bytes each, back to back (the
    /// last may be shorter): write each with its own TUN write. A `segment`
    /// of 0 means one packet of `len` bytes.
    Write {
        /// Total bytes written to `out`.
        len: usize,
        /// Size of each packet but the last.
        segment: usize,
    },
}

impl Processed {
    /// One packet of `len` bytes.
    #[must_use]
    pub fn one(len: usize) -> Self {
        Self::Write { len, segment: 0 }
    }

    /// The packets to write, as slices of `out`. Lengths past `out` are
    /// clipped, so a buggy processor cannot make the worker panic.
    pub fn packets<'a>(&self, out: &'a [u8]) -> core::slice::Chunks<'a, u8> {
        let (len, segment) = match *self {
            Self::Nothing => (0, 0),
            Self::Write { len, segment } => (len.min(out.len()), segment),
        };
        let segment = if segment == 0 { len } else { segment };
        out[..len].chunks(segment.max(1))
    }
}

/// The pure per-packet step of a worker: reads `input`, writes into `out`
/// (at least [`OUT_BUF_LEN`] bytes) and says what to send. No I/O; should
/// not allocate.
pub trait PacketProcessor {
    /// Called about every [`TICK`] while the worker waits for packets, so a
    /// processor can publish counters or pick up new configuration when the
    /// link is idle. Default: nothing.
    fn on_tick(&mut self) {}

    /// Processes one packet.
    fn process(&mut self, input: &[u8], out: &mut [u8]) -> Processed;

    /// Packets the processor originates on its own (e.g. a NAT64's ICMP
    /// error for a held SYN that timed out, or fragments released by the
    /// first one): the worker calls it after each [`process`](Self::process)
    /// and each [`on_tick`](Self::on_tick), and writes what it returns,
    /// until it returns [`Processed::Nothing`] (at most
    /// [`MAX_POLL_TRANSMIT`] times in a row). Default: nothing.
    fn poll_transmit(&mut self, _out: &mut [u8]) -> Processed {
        Processed::Nothing
    }

    /// The processor's translator, for TUN offloads: its configuration
    /// decides how a GSO super-packet is handled ([`offload::plan`]) and
    /// the worker sets its segment size
    /// ([`Translator::set_gso_segment`]) around [`process`](Self::process)
    /// so that a super-packet is translated once. Default `None`: offloaded
    /// super-packets are cut into segments and each is processed.
    fn translator_mut(&mut self) -> Option<&mut Translator> {
        None
    }
}

/// Most [`PacketProcessor::poll_transmit`] calls in a row, so a busy
/// processor cannot starve the TUN reads.
pub const MAX_POLL_TRANSMIT: usize = 64;

/// Most frames a worker with offloads reads in one wake-up (without
/// waiting) before it writes what it has and looks at its other duties.
pub const MAX_READS_PER_WAKE: usize = 64;

impl<P: PacketProcessor + ?Sized> PacketProcessor for &mut P {
    fn on_tick(&mut self) {
        (**self).on_tick();
    }

    fn process(&mut self, input: &[u8], out: &mut [u8]) -> Processed {
        (**self).process(input, out)
    }

    fn poll_transmit(&mut self, out: &mut [u8]) -> Processed {
        (**self).poll_transmit(out)
    }

    fn translator_mut(&mut self) -> Option<&mut Translator> {
        (**self).translator_mut()
    }
}

/// Translated packets and ICMP errors are written (an ICMP error goes back
/// through the same TUN toward the sender); a drop writes nothing, the
/// translator having counted it in its own [`Counters`](xlat_core::Counters).
impl PacketProcessor for Translator {
    fn process(&mut self, input: &[u8], out: &mut [u8]) -> Processed {
        match self.translate(input, out) {
            Ok(Action::Translated { len, segment, .. }) => Processed::Write { len, segment },
            Ok(Action::IcmpError { len, .. }) => Processed::one(len),
            Err(_) => Processed::Nothing,
        }
    }

    fn translator_mut(&mut self) -> Option<&mut Translator> {
        Some(self)
    }
}

/// I/O counters of one or more workers, shared through an `Arc` so a metrics
/// endpoint can read them while the workers run. Updated with relaxed
/// atomics; read a consistent-enough copy with [`snapshot`](Self::snapshot).
#[derive(Debug, Default)]
pub struct IoCounters {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    rx_errors: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
    tx_errors: AtomicU64,
    gso_rx: AtomicU64,
    gso_tx: AtomicU64,
    gso_split: AtomicU64,
    offload_errors: AtomicU64,
    tx_batches: AtomicU64,
    last_errno: AtomicI32,
}

impl IoCounters {
    /// New zeroed counters, ready to share.
    #[must_use]
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// A copy of the current values.
    #[must_use]
    pub fn snapshot(&self) -> IoStats {
        IoStats {
            rx_packets: self.rx_packets.load(Relaxed),
            rx_bytes: self.rx_bytes.load(Relaxed),
            rx_errors: self.rx_errors.load(Relaxed),
            tx_packets: self.tx_packets.load(Relaxed),
            tx_bytes: self.tx_bytes.load(Relaxed),
            tx_errors: self.tx_errors.load(Relaxed),
            gso_rx: self.gso_rx.load(Relaxed),
            gso_tx: self.gso_tx.load(Relaxed),
            gso_split: self.gso_split.load(Relaxed),
            offload_errors: self.offload_errors.load(Relaxed),
            tx_batches: self.tx_batches.load(Relaxed),
            last_errno: self.last_errno.load(Relaxed),
        }
    }

    fn bump(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }

    fn rx(&self, len: usize) {
        self.rx_packets.fetch_add(1, Relaxed);
        self.rx_bytes.fetch_add(len as u64, Relaxed);
    }

    fn tx(&self, len: usize) {
        self.tx_packets.fetch_add(1, Relaxed);
        self.tx_bytes.fetch_add(len as u64, Relaxed);
    }

    fn rx_error(&self, e: &io::Error) {
        self.rx_errors.fetch_add(1, Relaxed);
        self.note_errno(e);
    }

    fn tx_error(&self, e: &io::Error) {
        self.tx_errors.fetch_add(1, Relaxed);
        self.note_errno(e);
    }

    fn note_errno(&self, e: &io::Error) {
        if let Some(errno) = e.raw_os_error() {
            self.last_errno.store(errno, Relaxed);
        }
    }
}

/// A copy of [`IoCounters`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Packets read.
    pub rx_packets: u64,
    /// Bytes read.
    pub rx_bytes: u64,
    /// Failed reads (retried ones included; the fatal one too).
    pub rx_errors: u64,
    /// Packets written.
    pub tx_packets: u64,
    /// Bytes written.
    pub tx_bytes: u64,
    /// Failed writes (each drops one packet; `EIO` while the link is down,
    /// `EINVAL` for a packet the kernel refuses, ...).
    pub tx_errors: u64,
    /// GSO super-packets read (offloads on), each counted once in
    /// `rx_packets` too.
    pub gso_rx: u64,
    /// GSO super-packets written (translated once, cut by the kernel).
    pub gso_tx: u64,
    /// GSO super-packets cut into segments by the worker and translated one
    /// by one ([`Plan::Split`]).
    pub gso_split: u64,
    /// Packets dropped because their virtio-net header was inconsistent
    /// ([`OffloadError`]).
    pub offload_errors: u64,
    /// Batched writes (offloads on): several translated packets handed to
    /// the queue at once, which coalesces a flow's consecutive ones.
    pub tx_batches: u64,
    /// The errno of the last failed read or write (0 if none had one).
    pub last_errno: i32,
}

impl IoStats {
    /// Adds another worker's counts; `last_errno` is taken from `other`
    /// when it has one.
    pub fn add(&mut self, other: &IoStats) {
        self.rx_packets += other.rx_packets;
        self.rx_bytes += other.rx_bytes;
        self.rx_errors += other.rx_errors;
        self.tx_packets += other.tx_packets;
        self.tx_bytes += other.tx_bytes;
        self.tx_errors += other.tx_errors;
        self.gso_rx += other.gso_rx;
        self.gso_tx += other.gso_tx;
        self.gso_split += other.gso_split;
        self.offload_errors += other.offload_errors;
        self.tx_batches += other.tx_batches;
        if other.last_errno != 0 {
            self.last_errno = other.last_errno;
        }
    }
}

impl IoStats {
    /// Appends the TUN families (`xlat_tun_*`) in the Prometheus text
    /// format, the same for every daemon; `offload` says whether the TUN
    /// runs with offloads.
    pub fn write_prometheus(&self, offload: bool, out: &mut String) {
        use std::fmt::Write as _;
        /// Name, help, type, and (labels, value) rows.
        type Family<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, u64)]);
        let families: [Family<'_>; 7] = [
            (
                "xlat_tun_packets_total",
                "Packets read from / written to the TUN.",
                "counter",
                &[("{direction=\"rx\"}", self.rx_packets), ("{direction=\"tx\"}", self.tx_packets)],
            ),
            (
                "xlat_tun_bytes_total",
                "Bytes read from / written to the TUN.",
                "counter",
                &[("{direction=\"rx\"}", self.rx_bytes), ("{direction=\"tx\"}", self.tx_bytes)],
            ),
            (
                "xlat_tun_errors_total",
                "TUN read / write errors.",
                "counter",
                &[("{direction=\"rx\"}", self.rx_errors), ("{direction=\"tx\"}", self.tx_errors)],
            ),
            (
                "xlat_tun_gso_total",
                "GSO super-packets (TUN offloads): read, written whole, cut into segments by the worker.",
                "counter",
                &[("{event=\"rx\"}", self.gso_rx), ("{event=\"tx\"}", self.gso_tx), ("{event=\"split\"}", self.gso_split)],
            ),
            (
                "xlat_tun_batches_total",
                "Batched TUN writes (offloads on): translated packets handed over together, a flow's consecutive ones coalesced.",
                "counter",
                &[("", self.tx_batches)],
            ),
            (
                "xlat_tun_offload_errors_total",
                "Frames dropped for an inconsistent virtio-net header.",
                "counter",
                &[("", self.offload_errors)],
            ),
            ("xlat_tun_offload", "1 when the TUN runs with offloads (IFF_VNET_HDR, TSO).", "gauge", &[("", u64::from(offload))]),
        ];
        for (name, help, kind, rows) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in rows {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        }
    }
}

/// Whether a failed read is worth retrying.
fn is_transient(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock)
}

/// Waits until shutdown is requested: the value becomes `true` or every
/// sender is dropped.
async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if shutdown.changed().await.is_err() || *shutdown.borrow_and_update() {
            return;
        }
    }
}

/// Whether shutdown was requested since the last look, without waiting:
/// one atomic load unless the value changed.
fn stop_pending(shutdown: &mut watch::Receiver<bool>) -> bool {
    match shutdown.has_changed() {
        Ok(false) => false,
        Ok(true) => *shutdown.borrow_and_update(),
        Err(_) => true,
    }
}

/// Runs one worker until shutdown: read a packet from `io`, hand it to
/// `processor`, write the packets it returns, count everything in
/// `counters`.
///
/// - Allocates its two buffers ([`WORKER_BUF_LEN`] each) once, on entry;
///   nothing per packet.
/// - Returns `Ok(())` when `shutdown` becomes `true` or all its senders are
///   dropped (checked before each read, and while waiting to read or
///   write).
/// - A failed write is counted in `counters` and the packet dropped. A
///   failed read that is not `Interrupted`/`WouldBlock` is counted and
///   returned (the device is gone or broken).
///
/// Pass `&mut processor` to keep the processor (e.g. to read the
/// translator's counters after the loop ends).
pub async fn run_worker<I: PacketIo, P: PacketProcessor>(
    mut io: I,
    mut processor: P,
    mut shutdown: watch::Receiver<bool>,
    counters: Arc<IoCounters>,
) -> io::Result<()> {
    if *shutdown.borrow_and_update() {
        return Ok(());
    }
    // With offloads every read and write carries a virtio-net header: it is
    // read into the headroom, and written there in front of each packet.
    let vnet = io.offload().then(VnetHdr::default);
    let mut rx = vec![0u8; WORKER_BUF_LEN].into_boxed_slice();
    let mut tx = vec![0u8; WORKER_BUF_LEN].into_boxed_slice();
    // One segment of a super-packet being cut (offloads only).
    let mut seg = if vnet.is_some() { vec![0u8; OUT_BUF_LEN].into_boxed_slice() } else { Box::default() };
    // Translated packets waiting for one batched write (offloads only).
    let mut batch = if vnet.is_some() { Batch::new(WORKER_BUF_LEN) } else { Batch::none() };
    let read_from = if vnet.is_some() { HEADROOM - VNET_HDR_LEN } else { HEADROOM };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let started = std::time::Instant::now();

    loop {
        if stop_pending(&mut shutdown) {
            return Ok(());
        }
        // The read is polled first: while packets keep coming the shutdown
        // future is never polled (it is checked above instead, with one
        // atomic load).
        let received = tokio::select! {
            biased;
            r = io.recv(&mut rx[read_from..]) => r,
            () = stop_requested(&mut shutdown) => return Ok(()),
            _ = tick.tick() => {
                processor.on_tick();
                if !transmit(&mut io, &mut processor, &mut tx, vnet, &mut shutdown, &counters).await {
                    return Ok(());
                }
                continue;
            }
        };
        let mut n = match received {
            Ok(n) => n,
            Err(e) => {
                counters.rx_error(&e);
                if is_transient(&e) {
                    continue;
                }
                return Err(e);
            }
        };
        // The translator's clock (it paces the ICMP errors it originates):
        // read once per wake-up.
        if let Some(t) = processor.translator_mut() {
            t.set_now(started.elapsed());
        }

        if vnet.is_none() {
            counters.rx(n);
            let verdict = processor.process(&rx[read_from..read_from + n], &mut tx[HEADROOM..]);
            if !send_all(&mut io, verdict, &mut tx, None, &mut shutdown, &counters).await {
                return Ok(());
            }
        } else {
            // Everything this wake-up brought (bounded), then one batched
            // write of what was translated.
            let mut failed = None;
            let mut more = true;
            for _ in 0..MAX_READS_PER_WAKE {
                let frame = &mut rx[read_from..read_from + n];
                more =
                    offloaded(&mut io, &mut processor, frame, &mut tx, &mut seg, &mut batch, &mut shutdown, &counters)
                        .await;
                if !more || stop_pending(&mut shutdown) {
                    break;
                }
                match io.try_recv(&mut rx[read_from..]) {
                    Ok(m) => n = m,
                    Err(e) if is_transient(&e) => break,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if !more || !flush(&mut io, &mut batch, &mut shutdown, &counters).await {
                return Ok(());
            }
            if let Some(e) = failed {
                counters.rx_error(&e);
                return Err(e);
            }
        }
        if !transmit(&mut io, &mut processor, &mut tx, vnet, &mut shutdown, &counters).await {
            return Ok(());
        }
    }
}

/// Writes the batch's packets in one [`PacketIo::send_batch`]; `false`
/// when shutdown was requested.
async fn flush<I: PacketIo>(
    io: &mut I,
    batch: &mut Batch,
    shutdown: &mut watch::Receiver<bool>,
    counters: &IoCounters,
) -> bool {
    if batch.is_empty() {
        return true;
    }
    let slots: &mut [Slot] = batch.take();
    let (packets, bytes) = (slots.len(), slots.iter().map(|s| s.as_ref().len() - HEADROOM).sum::<usize>());
    let sent = tokio::select! {
        biased;
        r = io.send_batch(slots) => r,
        () = stop_requested(shutdown) => return false,
    };
    match sent {
        Ok(()) => {
            counters.tx_packets.fetch_add(packets as u64, Relaxed);
            counters.tx_bytes.fetch_add(bytes as u64, Relaxed);
            IoCounters::bump(&counters.tx_batches);
        }
        Err(e) => counters.tx_error(&e),
    }
    true
}

/// Translates one plain packet into the batch's next slot (writing the
/// batch first when it is full); fragments are written at once, after the
/// packets before them. `false` when shutdown was requested.
async fn batched<I: PacketIo, P: PacketProcessor>(
    io: &mut I,
    processor: &mut P,
    pkt: &[u8],
    batch: &mut Batch,
    shutdown: &mut watch::Receiver<bool>,
    counters: &IoCounters,
) -> bool {
    if batch.is_full() && !flush(io, batch, shutdown, counters).await {
        return false;
    }
    let Some(out) = batch.next_out() else { return true };
    match processor.process(pkt, out) {
        Processed::Nothing => true,
        Processed::Write { len, segment } if segment == 0 || segment >= len => {
            batch.commit(len);
            true
        }
        several => {
            // Fragments: the packets before them go first, then each
            // fragment from the slot it was written to, behind a zero header.
            if !flush(io, batch, shutdown, counters).await {
                return false;
            }
            let Some(slot) = batch.next_slot() else { return true };
            send_all(io, several, slot.storage(), Some(VnetHdr::default()), shutdown, counters).await
        }
    }
}

/// How to handle an offloaded packet when the processor has no translator
/// to plan with: cut super-packets, finish partial checksums.
fn plan_without_translator(hdr: &VnetHdr) -> Result<Plan, OffloadError> {
    use offload::gso;
    match hdr.gso_kind() {
        gso::NONE if hdr.needs_csum() => Ok(Plan::CompleteChecksum),
        gso::NONE => Ok(Plan::Plain),
        gso::TCPV4 | gso::TCPV6 | gso::UDP_L4 if hdr.gso_size > 0 => Ok(Plan::Split),
        _ => Err(OffloadError::BadHeader),
    }
}

/// One frame read from a TUN with offloads (`[virtio-net header | packet]`):
/// planned with [`offload::plan`], translated once (a super-packet keeps
/// its segmentation for the kernel to cut), cut into segments, or finished
/// and translated as a plain packet. `false` when shutdown was requested.
#[allow(clippy::too_many_arguments)]
async fn offloaded<I: PacketIo, P: PacketProcessor>(
    io: &mut I,
    processor: &mut P,
    frame: &mut [u8],
    tx: &mut [u8],
    seg: &mut [u8],
    batch: &mut Batch,
    shutdown: &mut watch::Receiver<bool>,
    counters: &IoCounters,
) -> bool {
    let plain = Some(VnetHdr::default());
    let (Some(hdr), Some(pkt)) = (VnetHdr::parse(frame), frame.get_mut(VNET_HDR_LEN..)) else {
        IoCounters::bump(&counters.offload_errors);
        return true;
    };
    counters.rx(pkt.len());
    let plan = match processor.translator_mut() {
        Some(t) => offload::plan(&hdr, pkt, t.config()),
        None => plan_without_translator(&hdr),
    };
    match plan {
        Err(_) => {
            IoCounters::bump(&counters.offload_errors);
            true
        }
        Ok(Plan::Plain) => batched(io, processor, pkt, batch, shutdown, counters).await,
        Ok(Plan::CompleteChecksum) => {
            if !offload::complete_checksum(pkt, hdr.csum_start, hdr.csum_offset) {
                IoCounters::bump(&counters.offload_errors);
                return true;
            }
            batched(io, processor, pkt, batch, shutdown, counters).await
        }
        Ok(Plan::Direct { segment }) => {
            // The packets read before this one go first.
            if !flush(io, batch, shutdown, counters).await {
                return false;
            }
            if segment.is_some() {
                IoCounters::bump(&counters.gso_rx);
            }
            if let Some(t) = processor.translator_mut() {
                t.set_gso_segment(segment);
            }
            let verdict = processor.process(pkt, &mut tx[HEADROOM..]);
            if let Some(t) = processor.translator_mut() {
                t.set_gso_segment(None);
            }
            let Processed::Write { len, segment: each } = verdict else { return true };
            let len = len.min(tx.len() - HEADROOM);
            // One packet: the translated super-packet (or an ICMP error,
            // which finish() leaves plain).
            let out_hdr = if each == 0 || each >= len {
                offload::finish(&hdr, pkt, &mut tx[HEADROOM..HEADROOM + len])
            } else {
                None
            };
            match out_hdr {
                Some(h) => {
                    if h.gso_kind() != offload::gso::NONE {
                        IoCounters::bump(&counters.gso_tx);
                    }
                    send_all(io, Processed::one(len), tx, Some(h), shutdown, counters).await
                }
                None => send_all(io, verdict, tx, plain, shutdown, counters).await,
            }
        }
        Ok(Plan::Split) => {
            let Ok(cut) = Segmenter::new(&hdr, pkt) else {
                IoCounters::bump(&counters.offload_errors);
                return true;
            };
            IoCounters::bump(&counters.gso_split);
            // Each segment translated into the batch: the queue's GRO table
            // coalesces them again where it can.
            for i in 0..cut.count() {
                let Some(n) = cut.write(pkt, i, seg) else { break };
                if !batched(io, processor, &seg[..n], batch, shutdown, counters).await {
                    return false;
                }
            }
            true
        }
    }
}

/// Writes the packets of `verdict` from `tx[HEADROOM..]`, each behind
/// `vnet` when the queue has offloads (the header goes just in front of
/// the packet: into the headroom for the first, over the already written
/// tail of the previous one for the next); `false` when shutdown was
/// requested.
async fn send_all<I: PacketIo>(
    io: &mut I,
    verdict: Processed,
    tx: &mut [u8],
    vnet: Option<VnetHdr>,
    shutdown: &mut watch::Receiver<bool>,
    counters: &IoCounters,
) -> bool {
    let Processed::Write { len, segment } = verdict else { return true };
    let len = len.min(tx.len() - HEADROOM);
    let segment = if segment == 0 { len } else { segment }.max(1);
    let mut at = 0;
    while at < len {
        let end = (at + segment).min(len);
        let mut from = HEADROOM + at;
        if let Some(h) = vnet {
            from -= VNET_HDR_LEN;
            h.emit(&mut tx[from..]);
        }
        let sent = tokio::select! {
            biased;
            r = io.send(&tx[from..HEADROOM + end]) => r,
            () = stop_requested(shutdown) => return false,
        };
        match sent {
            Ok(()) => counters.tx(end - at),
            Err(e) => counters.tx_error(&e),
        }
        at = end;
    }
    true
}

/// Drains [`PacketProcessor::poll_transmit`] (bounded); `false` when
/// shutdown was requested.
async fn transmit<I: PacketIo, P: PacketProcessor>(
    io: &mut I,
    processor: &mut P,
    tx: &mut [u8],
    vnet: Option<VnetHdr>,
    shutdown: &mut watch::Receiver<bool>,
    counters: &IoCounters,
) -> bool {
    for _ in 0..MAX_POLL_TRANSMIT {
        let verdict = processor.poll_transmit(&mut tx[HEADROOM..]);
        if verdict == Processed::Nothing {
            break;
        }
        if !send_all(io, verdict, tx, vnet, shutdown, counters).await {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests;
