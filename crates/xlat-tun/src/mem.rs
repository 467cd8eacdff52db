//! An in-memory [`PacketIo`] for tests: [`mem_pair`] returns the worker's
//! end ([`MemIo`]) and the test's end ([`MemPeer`]), joined by two bounded
//! tokio channels. This side allocates one `Vec` per packet; it is a test
//! double, not a fast path.

use std::io;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::io::PacketIo;

/// Capacity of each direction of [`mem_pair`], in packets.
pub const MEM_PAIR_CAPACITY: usize = 256;

/// An in-memory pair with [`MEM_PAIR_CAPACITY`] packets each way.
#[must_use]
pub fn mem_pair() -> (MemIo, MemPeer) {
    mem_pair_with_capacity(MEM_PAIR_CAPACITY)
}

/// An in-memory pair holding at most `capacity` packets (at least 1) each
/// way: a full direction makes its sender wait, as a slow reader would.
#[must_use]
pub fn mem_pair_with_capacity(capacity: usize) -> (MemIo, MemPeer) {
    let capacity = capacity.max(1);
    let (to_io, from_peer) = mpsc::channel(capacity);
    let (to_peer, from_io) = mpsc::channel(capacity);
    (MemIo { rx: from_peer, tx: to_peer, offload: false }, MemPeer { tx: Some(to_io), rx: from_io })
}

/// Like [`mem_pair`], but every packet in both directions carries a
/// virtio-net header in front, as on a TUN opened with offloads.
#[must_use]
pub fn mem_pair_offload() -> (MemIo, MemPeer) {
    let (mut io, peer) = mem_pair();
    io.offload = true;
    (io, peer)
}

/// The worker's end of an in-memory pair: receives what the peer injects,
/// sends what the peer collects.
#[derive(Debug)]
pub struct MemIo {
    rx: mpsc::Receiver<Vec<u8>>,
    tx: mpsc::Sender<Vec<u8>>,
    offload: bool,
}

impl PacketIo for MemIo {
    /// Fails with `BrokenPipe` once the peer is dropped (or has called
    /// [`MemPeer::close`]) and every injected packet has been received.
    async fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pkt = self.rx.recv().await.ok_or_else(|| broken("MemPeer closed"))?;
        let n = pkt.len().min(buf.len());
        buf[..n].copy_from_slice(&pkt[..n]);
        Ok(n)
    }

    /// Fails with `BrokenPipe` once the peer is dropped.
    async fn send(&mut self, pkt: &[u8]) -> io::Result<()> {
        self.tx.send(pkt.to_vec()).await.map_err(|_| broken("MemPeer dropped"))
    }

    fn offload(&self) -> bool {
        self.offload
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.rx.try_recv() {
            Ok(pkt) => {
                let n = pkt.len().min(buf.len());
                buf[..n].copy_from_slice(&pkt[..n]);
                Ok(n)
            }
            Err(mpsc::error::TryRecvError::Empty) => Err(io::ErrorKind::WouldBlock.into()),
            Err(mpsc::error::TryRecvError::Disconnected) => Err(broken("MemPeer closed")),
        }
    }
}

fn broken(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, what)
}

/// The test's end of an in-memory pair: injects packets toward the worker
/// and collects the packets it writes.
#[derive(Debug)]
pub struct MemPeer {
    tx: Option<mpsc::Sender<Vec<u8>>>,
    rx: mpsc::Receiver<Vec<u8>>,
}

impl MemPeer {
    /// Queues `pkt` for the worker, waiting while the channel is full.
    /// Fails with `BrokenPipe` if the worker's end is gone or after
    /// [`close`](Self::close).
    pub async fn inject(&self, pkt: impl Into<Vec<u8>>) -> io::Result<()> {
        let tx = self.tx.as_ref().ok_or_else(|| broken("MemPeer closed"))?;
        tx.send(pkt.into()).await.map_err(|_| broken("MemIo dropped"))
    }

    /// Waits at most `within` for the next packet the worker wrote. `None`
    /// on timeout or when the worker's end is gone and nothing is left.
    pub async fn collect(&mut self, within: Duration) -> Option<Vec<u8>> {
        tokio::time::timeout(within, self.rx.recv()).await.ok().flatten()
    }

    /// The next packet the worker wrote, if one is already there.
    pub fn try_collect(&mut self) -> Option<Vec<u8>> {
        self.rx.try_recv().ok()
    }

    /// Stops injecting: once the worker has received everything queued,
    /// its [`recv`](PacketIo::recv) fails with `BrokenPipe`. Collecting
    /// still works.
    pub fn close(&mut self) {
        self.tx = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITHIN: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn packets_cross_both_ways_and_close_is_seen() {
        let (mut io, mut peer) = mem_pair_with_capacity(2);
        peer.inject(vec![1, 2, 3]).await.unwrap();
        let mut buf = [0u8; 2];
        // Truncated like a short TUN read.
        assert_eq!(io.recv(&mut buf).await.unwrap(), 2);
        assert_eq!(buf, [1, 2]);

        io.send(&[9, 8]).await.unwrap();
        assert_eq!(peer.collect(WITHIN).await.unwrap(), vec![9, 8]);
        assert_eq!(peer.try_collect(), None);

        peer.close();
        assert!(peer.inject(vec![0]).await.is_err());
        let err = io.recv(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);

        drop(peer);
        let err = io.send(&[1]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
