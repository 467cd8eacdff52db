//! The per-worker packet processor: an [`Engine`] (its own translator, the
//! shared NAT64 state) driven by the TUN loop. The clock is read once per
//! packet (a vDSO call); counters are published for `/metrics` every
//! [`PUBLISH_EVERY`] packets and on each tick; expiry runs from the tick
//! and from the packet path (whichever worker passes the deadline first).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;
use xlat_core::{Counters, Resolved};
use xlat_nat64::Timestamp;
use xlat_tun::{PacketProcessor, Processed};

use crate::engine::Engine;

/// Packets between two counter snapshots on a busy link.
const PUBLISH_EVERY: u32 = 1024;

/// One worker.
pub(crate) struct PlatWorker {
    engine: Engine,
    start: Instant,
    config: watch::Receiver<Arc<Resolved>>,
    published: Arc<Mutex<Counters>>,
    since_publish: u32,
}

impl PlatWorker {
    pub(crate) fn new(
        engine: Engine,
        start: Instant,
        config: watch::Receiver<Arc<Resolved>>,
        published: Arc<Mutex<Counters>>,
    ) -> Self {
        Self { engine, start, config, published, since_publish: 0 }
    }

    fn now(&self) -> Timestamp {
        Timestamp::from(self.start.elapsed())
    }

    fn publish(&mut self) {
        self.since_publish = 0;
        if let Ok(mut p) = self.published.lock() {
            p.clone_from(self.engine.translator().counters());
        }
    }

    fn refresh_config(&mut self) {
        if self.config.has_changed().unwrap_or(false) {
            let cfg = Resolved::clone(&self.config.borrow_and_update());
            self.engine.set_config(cfg);
        }
    }
}

impl PacketProcessor for PlatWorker {
    fn on_tick(&mut self) {
        self.refresh_config();
        let now = self.now();
        self.engine.maybe_maintain(now);
        self.publish();
    }

    fn process(&mut self, input: &[u8], out: &mut [u8]) -> Processed {
        self.refresh_config();
        let now = self.now();
        let verdict = self.engine.process(now, input, out);
        self.since_publish += 1;
        if self.since_publish >= PUBLISH_EVERY {
            self.publish();
        }
        verdict
    }

    fn poll_transmit(&mut self, out: &mut [u8]) -> Processed {
        let now = self.now();
        self.engine.poll_transmit(now, out)
    }

    fn translator_mut(&mut self) -> Option<&mut xlat_core::Translator> {
        Some(self.engine.translator_mut())
    }
}
