//! The packet I/O seam ([`PacketIo`]) and its real implementation, one
//! queue of a TUN device ([`TunQueue`]).

use std::future::Future;
use std::io;

use tun_rs::{AsyncDevice, GROTable};

use crate::batch::Slot;
use crate::worker::{HEADROOM, VNET_HDR_LEN};

/// Whole-packet I/O: one call moves one IP packet.
///
/// Implemented by [`TunQueue`] (a queue of the real TUN device) and by
/// [`MemIo`](crate::MemIo) (tests). The futures are `Send` so a worker can
/// be spawned on a multi-threaded runtime. Implementations may be written
/// with `async fn`.
pub trait PacketIo: Send {
    /// Waits for the next packet and copies it into `buf`, returning its
    /// length. A packet longer than `buf` is truncated (as a TUN read is);
    /// the worker's buffer is larger than any IP packet.
    fn recv(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;

    /// Writes one packet. An error concerns this packet only (the worker
    /// counts it and goes on).
    fn send(&mut self, pkt: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    /// Whether every packet read and written carries a virtio-net header
    /// ([`xlat_core::offload::VnetHdr`]) in front (a TUN with offloads).
    /// Default: `false`.
    fn offload(&self) -> bool {
        false
    }

    /// Reads one more packet if one is ready, without waiting
    /// (`WouldBlock` otherwise): a worker drains what a wake-up brought
    /// before it writes a batch. Default: `WouldBlock`.
    fn try_recv(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// Writes a batch of packets (offloads only): each slot holds a packet
    /// at [`HEADROOM`], with room for its virtio-net header in front. An
    /// implementation may coalesce them (the TUN queue does, with tun-rs'
    /// GRO table). Default: each packet written on its own behind a zero
    /// header. An error concerns the batch (counted once).
    fn send_batch(&mut self, slots: &mut [Slot]) -> impl Future<Output = io::Result<()>> + Send {
        async move {
            let mut result = Ok(());
            for slot in slots.iter_mut() {
                let frame = slot.as_mut().get_mut(HEADROOM - VNET_HDR_LEN..).unwrap_or_default();
                if let Some(h) = frame.get_mut(..VNET_HDR_LEN) {
                    h.fill(0);
                }
                if let Err(e) = self.send(frame).await {
                    result = Err(e);
                }
            }
            result
        }
    }
}

impl<T: PacketIo> PacketIo for &mut T {
    async fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (**self).recv(buf).await
    }

    async fn send(&mut self, pkt: &[u8]) -> io::Result<()> {
        (**self).send(pkt).await
    }

    fn offload(&self) -> bool {
        (**self).offload()
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (**self).try_recv(buf)
    }

    async fn send_batch(&mut self, slots: &mut [Slot]) -> io::Result<()> {
        (**self).send_batch(slots).await
    }
}

/// One queue of a TUN device, registered with the tokio reactor. Reads and
/// writes raw IP packets (no packet-information header), each behind a
/// virtio-net header when the device was opened with offloads. Give each
/// worker its own queue.
pub struct TunQueue {
    dev: AsyncDevice,
    /// The same queue, read directly (non-blocking) before waiting on the
    /// reactor: a busy queue is read without an epoll round trip, and a
    /// packet that arrived while the worker was writing is picked up at
    /// once.
    direct: std::os::fd::OwnedFd,
    index: usize,
    /// Coalescing state for batched writes (pooled, reused).
    gro: GROTable,
}

impl std::fmt::Debug for TunQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunQueue").field("index", &self.index).finish_non_exhaustive()
    }
}

impl TunQueue {
    pub(crate) fn new(dev: AsyncDevice, direct: std::os::fd::OwnedFd, index: usize) -> Self {
        Self { dev, direct, index, gro: GROTable::new() }
    }

    /// Index of this queue on its interface (0 for the first).
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// The interface's current name, read from the kernel.
    pub fn name(&self) -> io::Result<String> {
        self.dev.name()
    }

    /// The interface's current MTU, read from the kernel.
    pub fn mtu(&self) -> io::Result<u16> {
        self.dev.mtu()
    }
}

impl PacketIo for TunQueue {
    async fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.try_recv(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.dev.recv(buf).await,
            other => other,
        }
    }

    async fn send(&mut self, pkt: &[u8]) -> io::Result<()> {
        let n = self.dev.send(pkt).await?;
        if n == pkt.len() {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::WriteZero, "short TUN write"))
        }
    }

    fn offload(&self) -> bool {
        self.dev.tcp_gso()
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        rustix::io::read(&self.direct, buf).map_err(io::Error::from)
    }

    async fn send_batch(&mut self, slots: &mut [Slot]) -> io::Result<()> {
        self.dev.send_multiple(&mut self.gro, slots, HEADROOM).await.map(|_| ())
    }
}
