//! The per-worker packet processor: a [`Translator`] that picks up new
//! configurations (SIGHUP, a new PLAT prefix) between packets and publishes
//! its counters for `/metrics`. No lock and no allocation per packet: one
//! atomic load to see whether the configuration changed, and a counter
//! snapshot every [`PUBLISH_EVERY`] packets or when idle.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use xlat_core::{Counters, Resolved, Translator};
use xlat_tun::{PacketProcessor, Processed};

/// Packets between two counter snapshots on a busy link.
const PUBLISH_EVERY: u32 = 1024;

/// One worker's translator and its hooks.
pub(crate) struct ClatWorker {
    translator: Translator,
    config: watch::Receiver<Option<Arc<Resolved>>>,
    published: Arc<Mutex<Counters>>,
    since_publish: u32,
}

impl ClatWorker {
    /// A worker translating with the current configuration of `config`.
    pub(crate) fn new(
        config: watch::Receiver<Option<Arc<Resolved>>>,
        published: Arc<Mutex<Counters>>,
        initial: Resolved,
    ) -> Self {
        let mut translator = Translator::from_resolved(initial);
        translator.seed_ipv4_id(random_seed());
        Self { translator, config, published, since_publish: 0 }
    }

    fn publish(&mut self) {
        self.since_publish = 0;
        if let Ok(mut p) = self.published.lock() {
            p.clone_from(self.translator.counters());
        }
    }

    fn refresh_config(&mut self) {
        if self.config.has_changed().unwrap_or(false) {
            if let Some(cfg) = self.config.borrow_and_update().as_ref() {
                self.translator.set_config(Resolved::clone(cfg));
            }
        }
    }
}

impl PacketProcessor for ClatWorker {
    fn on_tick(&mut self) {
        self.refresh_config();
        self.publish();
    }

    fn process(&mut self, input: &[u8], out: &mut [u8]) -> Processed {
        self.refresh_config();
        let verdict = self.translator.process(input, out);
        self.since_publish += 1;
        if self.since_publish >= PUBLISH_EVERY {
            self.publish();
        }
        verdict
    }

    fn translator_mut(&mut self) -> Option<&mut Translator> {
        Some(&mut self.translator)
    }
}

/// A seed for the IPv4 Identification generator (RFC 7915 §5.1): the OS's
/// randomness, else the clock.
fn random_seed() -> u32 {
    use std::io::Read as _;
    let mut b = [0u8; 4];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u32::from_ne_bytes(b),
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.subsec_nanos()),
    }
}
