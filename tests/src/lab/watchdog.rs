//! The safety net behind every lab: a small `sh` child process that tears
//! the lab down when the process that built it goes away, however it goes
//! (panic, `process::exit`, Ctrl-C, SIGKILL, or a lab kept in a `static`
//! that is never dropped).
//!
//! The lab writes one line per thing to clean up to the watchdog's stdin
//! (`ns NAME`, `dir PATH`). When that pipe reaches end-of-file (the writer
//! is gone) the watchdog stops every process inside the namespaces
//! (SIGTERM, a bounded wait, then SIGKILL), deletes the namespaces and
//! removes the directories. An orderly teardown writes `done` first, and the
//! watchdog exits without acting. It runs in its own process group and
//! ignores SIGINT, SIGTERM and SIGHUP, so a Ctrl-C at the terminal cannot
//! stop it before it has done its job.
//!
//! [`teardown_all`] fires every watchdog of this process and waits for them:
//! the demo's signal handler calls it before exiting.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::netns::wait_until;

/// How long a fired watchdog may take to clean up.
const FIRE_TIMEOUT: Duration = Duration::from_secs(20);

/// The watchdog: reads lines until EOF, then cleans up. Every loop is
/// bounded (50 polls of 0.1 s for the processes to exit).
const SCRIPT: &str = r#"
trap '' INT TERM HUP
nss=
dirs=
while read -r kind val; do
  case "$kind" in
    ns) case "$val" in xlt-*) nss="$nss $val" ;; esac ;;
    dir) case "$val" in /*/xl-lab-*) dirs="$dirs $val" ;; esac ;;
    done) exit 0 ;;
  esac
done
# Up to 3 rounds: a process started while the first round was stopping
# the others is caught by the next.
round=0
while [ $round -lt 3 ]; do
  pids=
  for ns in $nss; do pids="$pids $(ip netns pids "$ns" 2>/dev/null)"; done
  [ -z "$(echo $pids)" ] && break
  kill -TERM $pids 2>/dev/null
  i=0
  while [ $i -lt 50 ]; do
    alive=
    for p in $pids; do
      # A zombie (state Z, waiting for its parent to reap it) is gone.
      st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)
      [ -n "$st" ] && [ "$st" != Z ] && alive="$alive $p"
    done
    [ -z "$alive" ] && break
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL $pids 2>/dev/null
  round=$((round + 1))
done
for ns in $nss; do ip netns delete "$ns" 2>/dev/null; done
for d in $dirs; do rm -rf "$d"; done
exit 0
"#;

/// One watchdog process and the write end of its stdin.
#[derive(Debug)]
struct Watchdog {
    id: u64,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    /// Closes the pipe (the watchdog then cleans up, unless told `done`)
    /// and waits, bounded, for it to finish.
    fn close_and_wait(&mut self, timeout: Duration) {
        drop(self.stdin.take());
        if wait_until(timeout, "the lab watchdog to finish", || self.child.try_wait().ok().flatten()).is_err() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Set once [`teardown_all`] has begun: the lab's commands refuse to start.
static FIRED: AtomicBool = AtomicBool::new(false);

/// Whether [`teardown_all`] has begun (the process is being interrupted).
#[must_use]
pub fn interrupted() -> bool {
    FIRED.load(Ordering::SeqCst)
}

/// Every armed watchdog of this process.
static ARMED: Mutex<Vec<Watchdog>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn armed() -> MutexGuard<'static, Vec<Watchdog>> {
    ARMED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts a watchdog and returns its id.
pub(crate) fn arm() -> Result<u64> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("starting the lab watchdog (sh)")?;
    let stdin = child.stdin.take();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    armed().push(Watchdog { id, child, stdin });
    Ok(id)
}

/// Sends one line to watchdog `id`.
fn tell(id: u64, line: &str) -> Result<()> {
    let mut armed = armed();
    let w = armed.iter_mut().find(|w| w.id == id).context("the lab watchdog is gone (interrupted?)")?;
    let stdin = w.stdin.as_mut().context("the lab watchdog is closed")?;
    writeln!(stdin, "{line}").context("writing to the lab watchdog")?;
    stdin.flush().context("writing to the lab watchdog")
}

/// Asks watchdog `id` to delete namespace `name` if this process dies.
pub(crate) fn watch_ns(id: u64, name: &str) -> Result<()> {
    tell(id, &format!("ns {name}"))
}

/// Asks watchdog `id` to remove directory `path` (named `xl-lab-*`) if
/// this process dies.
pub(crate) fn watch_dir(id: u64, path: &Path) -> Result<()> {
    tell(id, &format!("dir {}", path.display()))
}

/// Runs `teardown` (the orderly one) while holding the registry, so a
/// signal handler's [`teardown_all`] cannot run at the same time, then
/// dismisses watchdog `id`. If the watchdog already fired (the process is
/// being torn down by a signal), `teardown` is not run.
pub(crate) fn disarm_after(id: u64, teardown: impl FnOnce()) {
    let mut armed = armed();
    let Some(pos) = armed.iter().position(|w| w.id == id) else { return };
    teardown();
    let mut w = armed.remove(pos);
    if let Some(stdin) = w.stdin.as_mut() {
        let _ = writeln!(stdin, "done");
    }
    w.close_and_wait(Duration::from_secs(5));
}

/// Tears down every lab of this process through its watchdog and waits
/// (bounded) until they are gone. For signal handlers: the caller should
/// exit right after. Keeps the registry locked, so no lab can be built or
/// torn down again by another thread meanwhile.
pub fn teardown_all() {
    FIRED.store(true, Ordering::SeqCst);
    let mut guard = armed();
    for w in guard.iter_mut() {
        w.close_and_wait(FIRE_TIMEOUT);
    }
    guard.clear();
    // Held until the process exits.
    std::mem::forget(guard);
}
