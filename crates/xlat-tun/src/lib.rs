//! # xlat-tun: the TUN runtime shared by the `clat` and `plat` daemons
//!
//! This crate is the I/O shell around the sans-IO core ([`xlat_core`]), in
//! the boringtun/gotatun pattern: a worker loop reads one packet, hands it
//! to a pure [`PacketProcessor`] (the [`xlat_core::Translator`]) and writes
//! whatever the processor says to write. Only this crate touches file
//! descriptors.
//!
//! - [`open`] creates the TUN device from a [`TunConfig`]: raw IP packets
//!   (`IFF_NO_PI`), `IFF_MULTI_QUEUE` with one queue per worker, MTU set,
//!   link up, `/dev/net/tun` created if the container lacks it. Every
//!   failure is one [`TunError`] whose message names the cause and the fix.
//! - [`PacketIo`] is the packet I/O seam: [`TunQueue`] (one queue of the
//!   real device) and [`MemIo`] (an in-memory pair for tests, see
//!   [`mem_pair`]) implement it.
//! - [`run_worker`] is the loop; [`IoCounters`] counts its I/O and I/O
//!   errors with atomics so a metrics endpoint can read them while it runs.
//!
//! ## Contract
//! - **Queues.** [`TunConfig::queues`] queues are opened on one interface
//!   (`IFF_MULTI_QUEUE`); give each its own worker task (and its own
//!   [`Translator`](xlat_core::Translator)). The kernel spreads flows over
//!   the queues by flow hash, so a worker may see the two directions of a
//!   flow on different queues: fine for stateless SIIT, not for per-worker
//!   NAT64 state. The interface exists as long as one queue is open:
//!   dropping the last [`TunQueue`] removes it.
//! - **Buffers.** Each worker allocates exactly two buffers, once, when it
//!   starts: an RX buffer and a TX buffer of [`WORKER_BUF_LEN`] bytes each.
//!   Nothing is allocated, locked or system-called per packet beyond the
//!   TUN read and the TUN write(s) themselves (plus relaxed atomic adds
//!   for [`IoCounters`]). The shutdown signal costs one atomic load per
//!   packet; its waiter is only polled when the queue is idle.
//! - **Headroom.** Both buffers reserve [`HEADROOM`] bytes in front, the size
//!   of a virtio-net header ([`VNET_HDR_LEN`]), for TUN offloads
//!   (`IFF_VNET_HDR`, [`TunConfig::offload`]) without moving packets:
//!
//!   ```text
//!   rx: [ HEADROOM (vnet hdr) | packet read from the TUN ... OUT_BUF_LEN ]
//!   tx: [ HEADROOM (vnet hdr) | processor output ........... OUT_BUF_LEN ]
//!         0                   ^ HEADROOM                    WORKER_BUF_LEN
//!   ```
//!
//!   Without offloads [`PacketIo::recv`] gets `rx[HEADROOM..]`. With them
//!   ([`PacketIo::offload`]) it gets the whole buffer, the header landing
//!   in the headroom; the processor reads the packet after it and writes
//!   into `tx[HEADROOM..]`, which is exactly [`xlat_core::OUT_BUF_LEN`]
//!   long as the translator requires; a header is written in front of each
//!   outgoing packet: into the headroom for the first, over the tail of the
//!   previous (already written) fragment for a later one.
//! - **Offloads.** A frame's header is planned with
//!   [`xlat_core::offload::plan`]: a GSO super-packet is translated once
//!   and written back as one super-packet (the kernel cuts it on the other
//!   side), one the rewrite cannot carry is cut by the worker (a third
//!   buffer, allocated once) and translated segment by segment, a partial
//!   checksum is carried (TCP) or finished (others). [`IoStats`] counts
//!   super-packets read, written and cut, and inconsistent headers.
//! - **Errors.** A failed write is counted ([`IoCounters`]) and the packet
//!   dropped; the loop goes on. A failed read other than `Interrupted` /
//!   `WouldBlock` ends the loop with that error (the device is gone); the
//!   daemon decides whether to exit or reopen.
//! - **Shutdown.** The loop watches a `tokio::sync::watch::Receiver<bool>`
//!   and returns `Ok(())` once the value is `true` or every sender is
//!   dropped, at the latest after the packet in hand is written.
//! - **Runtime.** Everything here is tokio; [`open`] must be called inside a
//!   runtime (the queues register with its reactor).
#![forbid(unsafe_code)]

mod batch;
mod device;
mod io;
mod mem;
mod threads;
mod worker;

pub mod routes;

pub use batch::{Slot, BATCH};
pub use device::{
    auto_workers, open, open_detached, open_with, DetachedQueue, DetachedTun, OffloadMode, TunConfig, TunDevice,
    TunError, MAX_QUEUES, MIN_MTU, TUN_DEV_PATH,
};
pub use io::{PacketIo, TunQueue};
pub use mem::{mem_pair, mem_pair_offload, mem_pair_with_capacity, MemIo, MemPeer, MEM_PAIR_CAPACITY};
pub use threads::Workers;
pub use worker::{
    run_worker, IoCounters, IoStats, PacketProcessor, Processed, HEADROOM, MAX_POLL_TRANSMIT, MAX_READS_PER_WAKE, TICK,
    VNET_HDR_LEN, WORKER_BUF_LEN,
};
