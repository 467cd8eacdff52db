//! Batched writes for a TUN with offloads: translated packets are collected
//! in [`Slot`]s and handed to the queue together
//! ([`PacketIo::send_batch`](crate::PacketIo::send_batch)), where tun-rs'
//! GRO table coalesces consecutive TCP segments (and UDP datagrams, where
//! the kernel has UDP segmentation offload) of one flow into super-packets:
//! fewer `write()`s and fewer trips through the kernel's stack.

use crate::worker::HEADROOM;

/// Packets collected before one batched write.
pub const BATCH: usize = 16;

/// One packet buffer of a batch: fixed storage allocated once, and the
/// length in use (the packet starts at [`HEADROOM`]). The GRO table grows a
/// slot in place when it coalesces later packets into it; it never grows
/// past the storage (a coalesced packet is at most 64 KiB, the storage
/// holds [`xlat_core::OUT_BUF_LEN`]).
#[derive(Debug)]
pub struct Slot {
    buf: Box<[u8]>,
    len: usize,
}

impl Slot {
    /// A slot with `size` bytes of storage, empty.
    #[must_use]
    pub fn new(size: usize) -> Self {
        Self { buf: vec![0u8; size].into_boxed_slice(), len: 0 }
    }

    /// The whole storage, for the translator to write into.
    pub(crate) fn storage(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Marks `len` bytes (headroom included) as the packet.
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len.min(self.buf.len());
    }
}

impl AsRef<[u8]> for Slot {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl AsMut<[u8]> for Slot {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }
}

impl tun_rs::ExpandBuffer for Slot {
    fn buf_capacity(&self) -> usize {
        self.buf.len()
    }

    fn buf_resize(&mut self, new_len: usize, value: u8) {
        let n = new_len.min(self.buf.len());
        if n > self.len {
            self.buf[self.len..n].fill(value);
        }
        self.len = n;
    }

    fn buf_extend_from_slice(&mut self, src: &[u8]) {
        let end = (self.len + src.len()).min(self.buf.len());
        let take = end - self.len;
        self.buf[self.len..end].copy_from_slice(&src[..take]);
        self.len = end;
    }
}

/// The slots of one worker and how many hold a packet.
#[derive(Debug)]
pub(crate) struct Batch {
    slots: Vec<Slot>,
    used: usize,
}

impl Batch {
    /// [`BATCH`] slots of `size` bytes, allocated once.
    pub(crate) fn new(size: usize) -> Self {
        Self { slots: (0..BATCH).map(|_| Slot::new(size)).collect(), used: 0 }
    }

    /// An empty batch that holds nothing (no offloads: never used).
    pub(crate) fn none() -> Self {
        Self { slots: Vec::new(), used: 0 }
    }

    /// The next free slot's packet space (after the headroom).
    pub(crate) fn next_out(&mut self) -> Option<&mut [u8]> {
        self.slots.get_mut(self.used).map(|s| &mut s.storage()[HEADROOM..])
    }

    /// Keeps the packet of `len` bytes just written into the next slot.
    pub(crate) fn commit(&mut self, len: usize) {
        if let Some(s) = self.slots.get_mut(self.used) {
            s.set_len(HEADROOM + len);
            self.used += 1;
        }
    }

    /// The next slot, whole (to write several fragments from it directly).
    pub(crate) fn next_slot(&mut self) -> Option<&mut Slot> {
        self.slots.get_mut(self.used)
    }

    pub(crate) fn is_full(&self) -> bool {
        self.used >= self.slots.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// The filled slots, and forgets them.
    pub(crate) fn take(&mut self) -> &mut [Slot] {
        let n = std::mem::take(&mut self.used);
        &mut self.slots[..n]
    }
}

#[cfg(test)]
mod tests {
    use tun_rs::ExpandBuffer as _;

    use super::*;

    #[test]
    fn a_slot_grows_in_place_and_never_past_its_storage() {
        let mut s = Slot::new(32);
        s.set_len(HEADROOM + 4);
        s.as_mut()[HEADROOM..].copy_from_slice(b"abcd");
        s.buf_extend_from_slice(b"efgh");
        assert_eq!(&s.as_ref()[HEADROOM..], b"abcdefgh");
        s.buf_resize(HEADROOM + 10, 0x55);
        assert_eq!(&s.as_ref()[HEADROOM + 8..], [0x55, 0x55]);
        s.buf_extend_from_slice(&[1; 64]);
        assert_eq!(s.as_ref().len(), 32, "clipped at the storage");
        s.buf_resize(3, 0);
        assert_eq!(s.as_ref().len(), 3);
        assert_eq!(s.buf_capacity(), 32);
    }

    #[test]
    fn a_batch_fills_and_empties() {
        let mut b = Batch::new(HEADROOM + 100);
        assert!(b.is_empty());
        for i in 0..BATCH {
            let out = b.next_out().expect("room");
            out[0] = i as u8;
            b.commit(1);
        }
        assert!(b.is_full());
        assert!(b.next_out().is_none());
        let taken = b.take();
        assert_eq!(taken.len(), BATCH);
        assert_eq!(taken[3].as_ref()[HEADROOM], 3);
        assert!(b.is_empty());
        assert!(Batch::none().next_out().is_none());
    }
}
