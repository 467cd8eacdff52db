//! TUN device setup: validate a [`TunConfig`], make sure `/dev/net/tun`
//! exists, open one queue per worker, set the MTU and bring the link up.
//! Every failure is one [`TunError`] naming the cause and the fix.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use tun_rs::{AsyncDevice, DeviceBuilder, SyncDevice};

use crate::io::TunQueue;

/// Path of the TUN clone device.
pub const TUN_DEV_PATH: &str = "/dev/net/tun";
/// Major number of the TUN clone device (`misc`).
const TUN_MAJOR: u32 = 10;
/// Minor number of the TUN clone device (`TUN_MINOR`).
const TUN_MINOR: u32 = 200;
/// Mode given to a `/dev/net/tun` this crate creates.
const TUN_MODE: u32 = 0o666;
/// Where the kernel lists interfaces (when sysfs is mounted).
const SYS_NET: &str = "/sys/class/net";
/// Longest interface name the kernel accepts (`IFNAMSIZ` - 1).
const IFNAME_MAX: usize = 15;

/// Most queues one TUN interface can have (`MAX_TAP_QUEUES` in the kernel).
pub const MAX_QUEUES: usize = 256;
/// Smallest MTU accepted: the IPv6 minimum link MTU (RFC 8200 §5). Below it
/// the kernel disables IPv6 on the interface, and both translators need it.
pub const MIN_MTU: u16 = 1280;

/// How to create the TUN device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunConfig {
    /// Interface name (at most 15 bytes; may contain one `%d` for the kernel
    /// to number it). Empty: the kernel picks `tunN`.
    pub name: String,
    /// Interface MTU, [`MIN_MTU`]`..=65535`.
    pub mtu: u16,
    /// Number of queues to open (`IFF_MULTI_QUEUE`), one per worker,
    /// `1..=`[`MAX_QUEUES`].
    pub queues: usize,
    /// TUN offloads: `IFF_VNET_HDR` with checksum and TCP segmentation
    /// offload (`TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6`, and UDP
    /// segmentation where the kernel has it, 6.2+): the kernel hands over
    /// and accepts 64 KiB GSO super-packets, which the worker translates
    /// once ([`xlat_core::offload`]).
    pub offload: bool,
}

impl Default for TunConfig {
    fn default() -> Self {
        Self { name: String::new(), mtu: 1500, queues: 1, offload: false }
    }
}

impl TunConfig {
    /// A configuration with `name` and the defaults (MTU 1500, one queue,
    /// no offload).
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), ..Self::default() }
    }

    /// Checks the configuration without touching the system.
    pub fn validate(&self) -> Result<(), TunError> {
        if let Some(why) = name_problem(&self.name) {
            return Err(TunError::InvalidName { name: self.name.clone(), why });
        }
        if self.mtu < MIN_MTU {
            return Err(TunError::MtuTooSmall { mtu: self.mtu });
        }
        if !(1..=MAX_QUEUES).contains(&self.queues) {
            return Err(TunError::Queues { queues: self.queues });
        }
        Ok(())
    }
}

/// The kernel's `dev_valid_name` rules, as a reason when broken.
fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        None
    } else if name.len() > IFNAME_MAX {
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("'.' and '..' are reserved")
    } else if name.bytes().any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace()) {
        Some("contains '/', ':', NUL or whitespace")
    } else {
        None
    }
}

/// Why the TUN device could not be set up. One line each, naming the cause
/// and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TunError {
    /// The interface name breaks the kernel's rules.
    #[error("TUN name '{name}' is invalid: {why}; use at most 15 bytes without '/', ':' or spaces")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The MTU is below the IPv6 minimum.
    #[error("TUN mtu {mtu} is below {MIN_MTU}, the IPv6 minimum (the kernel would disable IPv6 on the TUN): use {MIN_MTU}..=65535")]
    MtuTooSmall {
        /// The MTU given.
        mtu: u16,
    },
    /// The queue count is out of range.
    #[error("TUN queues {queues} is out of range: use 1..={MAX_QUEUES} (one per worker)")]
    Queues {
        /// The count given.
        queues: usize,
    },
    /// The kernel refused the TUN offloads (`TUNSETOFFLOAD`).
    #[error(
        "the kernel refused TUN offloads (IFF_VNET_HDR, TSO) for '{name}': {} (set offload = false)",
        errno_text(source)
    )]
    OffloadUnsupported {
        /// Requested interface name (may be empty).
        name: String,
        /// The system error.
        source: io::Error,
    },
    /// [`open`](crate::open) or [`DetachedQueue::attach`] was called
    /// outside a tokio runtime.
    #[error("no tokio runtime: xlat_tun::open and DetachedQueue::attach must be called from inside a tokio runtime")]
    NoRuntime,
    /// An interface of that name already exists.
    #[error("interface '{name}' already exists (another xlat daemon?): pick another name, or delete it with 'ip link del {name}'")]
    Exists {
        /// The name.
        name: String,
    },
    /// `/dev/net/tun` is missing and could not be created.
    #[error("cannot create {}: {} ({hint})", path.display(), errno_text(source))]
    DevNode {
        /// The node path.
        path: PathBuf,
        /// The system error.
        source: io::Error,
        /// The likely fix.
        hint: &'static str,
    },
    /// `/dev/net/tun` exists but is not the TUN character device.
    #[error("{} exists but is not the TUN character device {TUN_MAJOR}:{TUN_MINOR}: remove it, or map the host's /dev/net/tun into the container", path.display())]
    DevNodeWrongType {
        /// The node path.
        path: PathBuf,
    },
    /// Opening `/dev/net/tun` or attaching the interface (`TUNSETIFF`) failed.
    #[error("cannot open {TUN_DEV_PATH} for TUN '{name}': {} ({hint})", errno_text(source))]
    Open {
        /// Requested interface name (may be empty).
        name: String,
        /// The system error.
        source: io::Error,
        /// The likely fix.
        hint: &'static str,
    },
    /// Opening an additional queue failed.
    #[error("cannot open queue {index} of TUN '{name}': {} ({hint})", errno_text(source))]
    Queue {
        /// Interface name.
        name: String,
        /// Index of the queue (the first one is 0).
        index: usize,
        /// The system error.
        source: io::Error,
        /// The likely fix.
        hint: &'static str,
    },
    /// Setting the MTU failed.
    #[error("cannot set the MTU of TUN '{name}' to {mtu}: {}", errno_text(source))]
    SetMtu {
        /// Interface name.
        name: String,
        /// The MTU.
        mtu: u16,
        /// The system error.
        source: io::Error,
    },
    /// Bringing the link up failed.
    #[error("cannot bring TUN '{name}' up: {}", errno_text(source))]
    Up {
        /// Interface name.
        name: String,
        /// The system error.
        source: io::Error,
    },
    /// Reading the interface's name or index back failed.
    #[error("cannot query the new TUN interface: {}", errno_text(source))]
    Query {
        /// The system error.
        source: io::Error,
    },
    /// Registering a queue with the tokio reactor failed.
    #[error("cannot register TUN '{name}' queue {index} with the tokio reactor: {}", errno_text(source))]
    Register {
        /// Interface name.
        name: String,
        /// Index of the queue.
        index: usize,
        /// The system error.
        source: io::Error,
    },
}

/// A short, lower-case description of a system error with its errno name.
fn errno_text(e: &io::Error) -> String {
    let Some(errno) = e.raw_os_error().map(Errno::from_raw_os_error) else {
        return e.to_string();
    };
    let text = match errno {
        Errno::PERM => "operation not permitted (EPERM)",
        Errno::ACCESS => "permission denied (EACCES)",
        Errno::NOENT => "no such file or directory (ENOENT)",
        Errno::NODEV => "no such device (ENODEV)",
        Errno::NXIO => "no such device or address (ENXIO)",
        Errno::BUSY => "device or resource busy (EBUSY)",
        Errno::INVAL => "invalid argument (EINVAL)",
        Errno::EXIST => "file exists (EEXIST)",
        Errno::ROFS => "read-only file system (EROFS)",
        Errno::NOMEM => "out of memory (ENOMEM)",
        Errno::TOOBIG => "too many queues (E2BIG)",
        _ => return e.to_string(),
    };
    text.to_owned()
}

/// The likely fix for an error opening or attaching a TUN queue.
fn open_hint(e: &io::Error) -> &'static str {
    match e.raw_os_error().map(Errno::from_raw_os_error) {
        Some(Errno::PERM | Errno::ACCESS) => "the container needs CAP_NET_ADMIN and read-write access to /dev/net/tun",
        Some(Errno::NOENT | Errno::NODEV | Errno::NXIO) => {
            "the kernel has no TUN driver behind /dev/net/tun: load the tun module or map the host's /dev/net/tun"
        }
        Some(Errno::BUSY) => "the TUN is already in use by another process: stop it or pick another name",
        Some(Errno::INVAL) => {
            "an interface of that name exists and is not a multi-queue TUN: pick another name or delete it"
        }
        Some(Errno::TOOBIG) => "the interface already has the kernel's maximum of 256 queues",
        _ => "see the system error",
    }
}

/// The likely fix for an error creating the device node.
fn dev_node_hint(e: &io::Error) -> &'static str {
    match e.raw_os_error().map(Errno::from_raw_os_error) {
        Some(Errno::PERM | Errno::ACCESS) => "the container needs CAP_MKNOD, or map the host's /dev/net/tun into it",
        Some(Errno::ROFS) => "/dev is read-only: map the host's /dev/net/tun into the container",
        _ => "map the host's /dev/net/tun into the container",
    }
}

/// Makes sure `path` is the TUN character device, creating it (mode 0666,
/// with its parent directory) if it is missing, as RouterOS containers may
/// lack it.
pub(crate) fn ensure_dev_node(path: &Path) -> Result<(), TunError> {
    let dev_node_err =
        |source: io::Error| TunError::DevNode { path: path.to_owned(), hint: dev_node_hint(&source), source };
    match std::fs::metadata(path) {
        Ok(meta) => {
            let rdev = meta.rdev();
            let is_tun = meta.file_type().is_char_device()
                && rustix::fs::major(rdev) == TUN_MAJOR
                && rustix::fs::minor(rdev) == TUN_MINOR;
            if is_tun {
                Ok(())
            } else {
                Err(TunError::DevNodeWrongType { path: path.to_owned() })
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(dev_node_err)?;
            }
            let made = rustix::fs::mknodat(
                rustix::fs::CWD,
                path,
                rustix::fs::FileType::CharacterDevice,
                rustix::fs::Mode::from_raw_mode(TUN_MODE),
                rustix::fs::makedev(TUN_MAJOR, TUN_MINOR),
            );
            match made {
                // Someone else created it meanwhile: check what they made.
                Err(Errno::EXIST) => return ensure_dev_node(path),
                Err(e) => return Err(dev_node_err(e.into())),
                Ok(()) => {}
            }
            // mknod applies the umask; set the mode the kernel's node has.
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(TUN_MODE)).map_err(dev_node_err)
        }
        Err(e) => Err(dev_node_err(e)),
    }
}

/// The default worker count: one per CPU the process may run on (what a
/// RouterOS container sees), at most 64.
#[must_use]
pub fn auto_workers() -> u16 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(64) as u16)
}

/// The operator's choice of TUN offloads (`XLAT_OFFLOAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffloadMode {
    /// Offloads when the kernel accepts them, else without (logged).
    #[default]
    Auto,
    /// Offloads, or fail at start.
    On,
    /// No offloads: one packet per read and write.
    Off,
}

impl std::str::FromStr for OffloadMode {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "on" | "true" | "yes" | "1" => Ok(Self::On),
            "off" | "false" | "no" | "0" => Ok(Self::Off),
            _ => Err("auto, on or off"),
        }
    }
}

/// Opens the TUN like [`open_detached`], with offloads as `mode` says;
/// with [`OffloadMode::Auto`] a kernel that refuses them gets a TUN
/// without (the returned flag says which). `cfg.offload` is ignored.
pub fn open_with(cfg: &TunConfig, mode: OffloadMode) -> Result<(DetachedTun, bool), TunError> {
    let with = |offload| TunConfig { offload, ..cfg.clone() };
    match mode {
        OffloadMode::Off => open_detached(&with(false)).map(|d| (d, false)),
        OffloadMode::On => open_detached(&with(true)).map(|d| (d, true)),
        OffloadMode::Auto => match open_detached(&with(true)) {
            Ok(d) => Ok((d, true)),
            Err(TunError::OffloadUnsupported { .. }) => open_detached(&with(false)).map(|d| (d, false)),
            Err(e) => Err(e),
        },
    }
}

/// An open TUN interface: its name, MTU and queues.
///
/// The interface lives as long as one of its queues is open; dropping the
/// last [`TunQueue`] removes it (it is not persistent).
#[derive(Debug)]
pub struct TunDevice {
    name: String,
    if_index: u32,
    mtu: u16,
    offload: bool,
    queues: Vec<TunQueue>,
}

impl TunDevice {
    /// The interface name (the kernel's choice when the configured name was
    /// empty or a `%d` pattern).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface index (for netlink).
    #[must_use]
    pub fn if_index(&self) -> u32 {
        self.if_index
    }

    /// The MTU set on the interface.
    #[must_use]
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// Whether the queues run with offloads (virtio-net headers, TSO).
    #[must_use]
    pub fn offload(&self) -> bool {
        self.offload
    }

    /// The open queues, in order.
    #[must_use]
    pub fn queues(&self) -> &[TunQueue] {
        &self.queues
    }

    /// Takes the queues, one per worker. The interface goes away when the
    /// last of them is dropped.
    #[must_use]
    pub fn into_queues(self) -> Vec<TunQueue> {
        self.queues
    }
}

/// Opens the TUN interface described by `cfg`: raw IP packets
/// (`IFF_NO_PI`), `IFF_MULTI_QUEUE` with `cfg.queues` queues, MTU set, link
/// up. Creates `/dev/net/tun` first if it is missing. Refuses a name that
/// an existing interface already has ([`TunError::Exists`]): attaching to
/// another process's multi-queue TUN would silently split its traffic.
///
/// Must be called inside a tokio runtime: the queues are registered with its
/// reactor. Performs blocking system calls; meant for start-up.
pub fn open(cfg: &TunConfig) -> Result<TunDevice, TunError> {
    cfg.validate()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(TunError::NoRuntime);
    }
    let d = open_detached(cfg)?;
    let queues = d.queues.into_iter().map(DetachedQueue::attach).collect::<Result<Vec<_>, _>>()?;
    Ok(TunDevice { name: d.name, if_index: d.if_index, mtu: d.mtu, offload: d.offload, queues })
}

/// Opens the TUN like [`open`], but leaves its queues unregistered: each
/// goes to its own worker thread, which attaches it to its own runtime
/// ([`DetachedQueue::attach`], [`crate::Workers`]). Needs no runtime.
pub fn open_detached(cfg: &TunConfig) -> Result<DetachedTun, TunError> {
    cfg.validate()?;
    // Attaching to an existing multi-queue TUN would succeed and silently
    // share its traffic with whoever holds it: refuse a taken name.
    if !cfg.name.is_empty() && !cfg.name.contains('%') && Path::new(SYS_NET).join(&cfg.name).exists() {
        return Err(TunError::Exists { name: cfg.name.clone() });
    }
    ensure_dev_node(Path::new(TUN_DEV_PATH))?;

    // Always multi-queue, even with one queue, so the layout is the same
    // for every worker count. Errors are mapped stage by stage, so the MTU
    // and the link state are set here rather than by the builder.
    let mut builder =
        DeviceBuilder::new().inherit_enable_state().packet_information(false).multi_queue(true).offload(cfg.offload);
    if !cfg.name.is_empty() {
        builder = builder.name(cfg.name.clone());
    }
    let first = builder.build_sync().map_err(|source| {
        // TUNSETIFF succeeded if the error is about the offload ioctl.
        if cfg.offload && source.raw_os_error() == Some(Errno::INVAL.raw_os_error()) {
            TunError::OffloadUnsupported { name: cfg.name.clone(), source }
        } else {
            TunError::Open { name: cfg.name.clone(), hint: open_hint(&source), source }
        }
    })?;
    let name = first.name().map_err(|source| TunError::Query { source })?;
    let if_index = first.if_index().map_err(|source| TunError::Query { source })?;
    first.set_mtu(cfg.mtu).map_err(|source| TunError::SetMtu { name: name.clone(), mtu: cfg.mtu, source })?;
    // No IPv6 link-local address on the TUN: the translator needs none, and
    // the kernel would otherwise send MLD reports and router solicitations
    // into it. Best effort: /proc/sys may be read-only.
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/addr_gen_mode"), "1\n");
    first.enabled(true).map_err(|source| TunError::Up { name: name.clone(), source })?;

    let mut sync: Vec<SyncDevice> = Vec::with_capacity(cfg.queues);
    for index in 1..cfg.queues {
        let queue = first.try_clone().map_err(|source| TunError::Queue {
            name: name.clone(),
            index,
            hint: open_hint(&source),
            source,
        })?;
        sync.push(queue);
    }
    sync.insert(0, first);
    let queues =
        sync.into_iter().enumerate().map(|(index, dev)| DetachedQueue { dev, index, name: name.clone() }).collect();
    Ok(DetachedTun { name, if_index, mtu: cfg.mtu, offload: cfg.offload, queues })
}

/// An open TUN whose queues are not registered with any runtime yet
/// ([`open_detached`]).
#[derive(Debug)]
pub struct DetachedTun {
    name: String,
    if_index: u32,
    mtu: u16,
    offload: bool,
    queues: Vec<DetachedQueue>,
}

impl DetachedTun {
    /// The interface name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface index (for netlink).
    #[must_use]
    pub fn if_index(&self) -> u32 {
        self.if_index
    }

    /// The MTU set on the interface.
    #[must_use]
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// Whether the queues run with offloads.
    #[must_use]
    pub fn offload(&self) -> bool {
        self.offload
    }

    /// Takes the queues, one per worker.
    #[must_use]
    pub fn into_queues(self) -> Vec<DetachedQueue> {
        self.queues
    }
}

/// One queue of a [`DetachedTun`], to be attached inside the runtime that
/// will drive it.
pub struct DetachedQueue {
    dev: SyncDevice,
    index: usize,
    name: String,
}

impl std::fmt::Debug for DetachedQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetachedQueue").field("name", &self.name).field("index", &self.index).finish_non_exhaustive()
    }
}

impl DetachedQueue {
    /// Index of this queue on its interface.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// Registers the queue with the current tokio runtime's reactor.
    pub fn attach(self) -> Result<TunQueue, TunError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TunError::NoRuntime);
        }
        let (name, index) = (self.name, self.index);
        let register = |source| TunError::Register { name: name.clone(), index, source };
        // A second descriptor of the same queue (same open file, so also
        // non-blocking once registered) for reads that skip the reactor.
        let direct = rustix::io::dup(&self.dev).map_err(|e| register(e.into()))?;
        let dev = AsyncDevice::new(self.dev).map_err(register)?;
        Ok(TunQueue::new(dev, direct, index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> TunConfig {
        TunConfig { name: "xlat0".into(), mtu: 1500, queues: 1, offload: false }
    }

    #[test]
    fn default_config_is_valid() {
        TunConfig::default().validate().unwrap();
        cfg().validate().unwrap();
        TunConfig { name: "clat%d".into(), ..cfg() }.validate().unwrap();
    }

    #[test]
    fn invalid_names_are_refused_with_the_reason() {
        for bad in ["a-name-longer-than-15", ".", "..", "a/b", "a:b", "a b"] {
            let err = TunConfig { name: bad.into(), ..cfg() }.validate().unwrap_err();
            assert!(matches!(err, TunError::InvalidName { .. }), "{bad}: {err}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn mtu_below_ipv6_minimum_is_refused() {
        let err = TunConfig { mtu: 1279, ..cfg() }.validate().unwrap_err();
        assert!(matches!(err, TunError::MtuTooSmall { mtu: 1279 }));
        assert!(err.to_string().contains("1280"), "{err}");
        TunConfig { mtu: 1280, ..cfg() }.validate().unwrap();
        TunConfig { mtu: u16::MAX, ..cfg() }.validate().unwrap();
    }

    #[test]
    fn queue_count_is_bounded() {
        for bad in [0, MAX_QUEUES + 1] {
            let err = TunConfig { queues: bad, ..cfg() }.validate().unwrap_err();
            assert!(matches!(err, TunError::Queues { .. }), "{err}");
        }
        TunConfig { queues: MAX_QUEUES, ..cfg() }.validate().unwrap();
    }

    #[test]
    fn offload_modes_parse() {
        assert_eq!("auto".parse(), Ok(OffloadMode::Auto));
        assert_eq!("ON".parse(), Ok(OffloadMode::On));
        assert_eq!("false".parse(), Ok(OffloadMode::Off));
        assert_eq!("maybe".parse::<OffloadMode>(), Err("auto, on or off"));
        assert_eq!(OffloadMode::default(), OffloadMode::Auto);
    }

    #[test]
    fn offload_is_a_valid_choice() {
        TunConfig { offload: true, ..cfg() }.validate().unwrap();
    }

    #[test]
    fn open_outside_a_runtime_is_an_error_not_a_panic() {
        assert!(matches!(open(&cfg()), Err(TunError::NoRuntime)));
    }

    #[test]
    fn errors_explain_the_errno_and_the_fix() {
        let err = TunError::Open {
            name: "clat".into(),
            hint: open_hint(&io::Error::from_raw_os_error(libc_eperm())),
            source: io::Error::from_raw_os_error(libc_eperm()),
        };
        assert_eq!(
            err.to_string(),
            "cannot open /dev/net/tun for TUN 'clat': operation not permitted (EPERM) \
             (the container needs CAP_NET_ADMIN and read-write access to /dev/net/tun)"
        );
    }

    fn libc_eperm() -> i32 {
        Errno::PERM.raw_os_error()
    }

    /// A scratch directory unique to this test process.
    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xlat-tun-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn dev_node_of_the_wrong_type_is_refused() {
        let dir = scratch("wrong");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tun");
        std::fs::write(&path, b"").unwrap();
        let err = ensure_dev_node(&path).unwrap_err();
        assert!(matches!(err, TunError::DevNodeWrongType { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_dev_node_is_created_as_char_10_200_mode_0666() {
        let dir = scratch("mknod");
        let path = dir.join("net").join("tun");
        match ensure_dev_node(&path) {
            Ok(()) => {
                let meta = std::fs::metadata(&path).unwrap();
                assert!(meta.file_type().is_char_device());
                assert_eq!(rustix::fs::major(meta.rdev()), TUN_MAJOR);
                assert_eq!(rustix::fs::minor(meta.rdev()), TUN_MINOR);
                assert_eq!(meta.permissions().mode() & 0o777, TUN_MODE);
                // A second call accepts the node it made.
                ensure_dev_node(&path).unwrap();
            }
            // Without CAP_MKNOD (not root, or a restricted container) the
            // error must say so; nothing more can be checked here.
            Err(TunError::DevNode { source, hint, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::PermissionDenied, "{source}");
                assert!(hint.contains("CAP_MKNOD"), "{hint}");
                eprintln!("note: mknod not permitted here; checked the error only");
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
