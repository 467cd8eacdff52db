//! Worker threads: each TUN queue gets its own OS thread with its own
//! single-threaded tokio runtime, so a packet's wake-up (epoll), read,
//! translation and write all happen on one thread, with no hand-off to
//! another (a futex wake and a context switch per wake-up on an idle link,
//! which is what a multi-threaded runtime costs in latency).

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::{mpsc, watch};

use crate::device::DetachedQueue;
use crate::worker::{run_worker, IoCounters, PacketProcessor};

/// The worker threads of a daemon.
#[derive(Debug)]
pub struct Workers {
    threads: Vec<JoinHandle<()>>,
    exits_tx: mpsc::UnboundedSender<(usize, io::Result<()>)>,
    exits: mpsc::UnboundedReceiver<(usize, io::Result<()>)>,
}

impl Default for Workers {
    fn default() -> Self {
        Self::new()
    }
}

impl Workers {
    /// No workers yet.
    #[must_use]
    pub fn new() -> Self {
        let (exits_tx, exits) = mpsc::unbounded_channel();
        Self { threads: Vec::new(), exits_tx, exits }
    }

    /// Starts a thread named `<prefix>-<queue index>` that attaches `queue`
    /// to a runtime of its own and runs [`run_worker`] until `shutdown`.
    pub fn spawn<P: PacketProcessor + Send + 'static>(
        &mut self,
        prefix: &str,
        queue: DetachedQueue,
        processor: P,
        shutdown: watch::Receiver<bool>,
        counters: Arc<IoCounters>,
    ) -> io::Result<()> {
        let index = queue.index();
        let exits = self.exits_tx.clone();
        let thread = std::thread::Builder::new().name(format!("{prefix}-{index}")).spawn(move || {
            let run = move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
                rt.block_on(async move {
                    let queue = queue.attach().map_err(io::Error::other)?;
                    run_worker(queue, processor, shutdown, counters).await
                })
            };
            // A panic (only in builds that unwind) is reported like an error.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                .unwrap_or_else(|_| Err(io::Error::other("the worker panicked")));
            let _ = exits.send((index, result));
        })?;
        self.threads.push(thread);
        Ok(())
    }

    /// Waits for a worker to end and says which and how (a worker ends on
    /// shutdown, or when its queue fails).
    pub async fn next_exit(&mut self) -> (usize, io::Result<()>) {
        match self.exits.recv().await {
            Some(exit) => exit,
            // Unreachable: `self` holds a sender.
            None => (usize::MAX, Ok(())),
        }
    }

    /// Waits for every thread to end (after shutdown was requested). Call
    /// from a blocking context, e.g. `tokio::task::spawn_blocking`.
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}
