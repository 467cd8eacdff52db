//! Processes of the lab: long-running daemons with their logs, short
//! commands whose exit status is a result rather than an error (a `ping`
//! that lost every packet still has output worth reading), and helpers a
//! test talks to line by line while they hold connections open.

use std::io::{BufRead as _, BufReader, Read};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::netns::wait_until;

/// How much of a daemon's output is kept (the newest bytes win).
const LOG_CAP: usize = 1 << 20;

/// A shared, capped log buffer fed by reader threads.
#[derive(Debug, Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    fn append(&self, bytes: &[u8]) {
        let mut log = self.0.lock().unwrap_or_else(|e| e.into_inner());
        log.extend_from_slice(bytes);
        if log.len() > LOG_CAP {
            let cut = log.len() - LOG_CAP / 2;
            log.drain(..cut);
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Starts a thread copying `pipe` into the log until EOF.
    fn follow(&self, pipe: impl Read + Send + 'static) {
        let log = self.clone();
        std::thread::spawn(move || {
            let mut pipe = pipe;
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                log.append(&buf[..n]);
            }
        });
    }
}

/// A daemon started by the lab (in one of its namespaces). It runs in its
/// own process group, so a Ctrl-C at the terminal reaches the lab, which
/// stops it in order, rather than the daemon itself. Dropping the guard
/// stops it (SIGTERM, then SIGKILL).
#[derive(Debug)]
pub struct Daemon {
    what: String,
    child: Child,
    log: Log,
    status: Option<ExitStatus>,
}

impl Daemon {
    /// Spawns `cmd` with its stdout and stderr captured. `what` names it in
    /// messages.
    pub fn spawn(what: &str, mut cmd: Command) -> Result<Self> {
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {what}: {shown}"))?;
        let log = Log::default();
        if let Some(p) = child.stdout.take() {
            log.follow(p);
        }
        if let Some(p) = child.stderr.take() {
            log.follow(p);
        }
        Ok(Self { what: what.to_owned(), child, log, status: None })
    }

    /// What this daemon is (e.g. `"tayga (PLAT)"`).
    #[must_use]
    pub fn what(&self) -> &str {
        &self.what
    }

    /// Its process id (`ip netns exec` execs in place: this is the daemon).
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed so far (the last MiB at most).
    #[must_use]
    pub fn log(&self) -> String {
        self.log.text()
    }

    /// Its exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Fails (with its log) if it has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.exited() {
            None => Ok(()),
            Some(status) => anyhow::bail!("{} exited ({status}); its output:\n{}", self.what, self.log()),
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for it to exit; then
    /// SIGKILLs it and fails. Returns its exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus> {
        if let Some(status) = self.exited() {
            return Ok(status);
        }
        let pid = Pid::from_raw(i32::try_from(self.pid()).context("pid out of range")?);
        let _ = kill(pid, Signal::SIGTERM);
        let waited = wait_until(timeout, &format!("{} to exit after SIGTERM", self.what), || {
            self.child.try_wait().ok().flatten()
        });
        match waited {
            Ok(status) => {
                self.status = Some(status);
                Ok(status)
            }
            Err(e) => {
                let _ = self.child.kill();
                self.status = self.child.wait().ok();
                Err(e)
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.terminate(Duration::from_secs(5));
    }
}

/// A helper process a test talks to: it writes lines on stdout (read with a
/// bounded wait each), and closing its stdin tells it to finish. Its stderr
/// is kept for messages. Killed (SIGKILL) if still running when dropped.
#[derive(Debug)]
pub struct Interactive {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Log,
}

impl Interactive {
    /// Spawns `cmd` with its stdin, stdout and stderr piped.
    pub fn spawn(what: &str, mut cmd: Command) -> Result<Self> {
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {what}: {shown}"))?;
        let (tx, lines) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(std::io::Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = Log::default();
        if let Some(p) = child.stderr.take() {
            stderr.follow(p);
        }
        Ok(Self { what: what.to_owned(), stdin: child.stdin.take(), child, lines, stderr })
    }

    /// Its stderr so far.
    #[must_use]
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// The next line of its stdout, waiting at most `timeout`.
    pub fn read_line(&mut self, timeout: Duration) -> Result<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                anyhow::bail!("{} printed nothing within {timeout:?}; its stderr:\n{}", self.what, self.stderr())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = self.child.try_wait().ok().flatten();
                anyhow::bail!("{} closed its output (exit {status:?}); its stderr:\n{}", self.what, self.stderr())
            }
        }
    }

    /// Closes its stdin (its signal to finish).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Closes its stdin and waits at most `timeout` for it to exit;
    /// returns its exit status and the lines it printed meanwhile.
    pub fn finish(&mut self, timeout: Duration) -> Result<(ExitStatus, Vec<String>)> {
        self.close_stdin();
        let deadline = Instant::now() + timeout;
        let status = wait_until(timeout, &format!("{} to exit", self.what), || self.child.try_wait().ok().flatten());
        let status = status.with_context(|| format!("its stderr:\n{}", self.stderr()))?;
        let mut rest = Vec::new();
        // The reader thread ends at EOF, right after the exit.
        while let Ok(line) = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            rest.push(line);
        }
        Ok((status, rest))
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `cmd` to completion within `timeout` (killed otherwise, which is an
/// error) and returns its output whatever its exit status.
pub fn run_any(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawning {shown}"))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = match wait_until(timeout, &shown, || child.try_wait().transpose()) {
        Ok(status) => status.with_context(|| format!("waiting for {shown}"))?,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    Ok(Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() })
}
