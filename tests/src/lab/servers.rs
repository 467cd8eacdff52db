//! The lab's servers and translators: configuration files and start-up of
//! the HTTP server (python3), the DNS servers (unbound), iperf3 and TAYGA
//! (the PLAT, and optionally the stand-in CLAT).

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use sha2::{Digest as _, Sha256};

use super::topology::{self as t};
use crate::netns::find_tool;

/// A file the HTTP server serves, with what a client must receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedFile {
    /// Name under the server's root (`/NAME` in the URL).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
}

impl ServedFile {
    /// `http://198.51.100.7/NAME`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}/{}", t::SERVER, self.name)
    }
}

/// The 10 MB file of random bytes.
pub const FILE_10M: &str = "10M.bin";
/// The 1 MB file of random bytes.
pub const FILE_1M: &str = "1M.bin";

/// Lowercase hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Writes `size` random bytes (from the kernel's generator) to
/// `dir/name` and returns its description.
pub fn random_file(dir: &Path, name: &str, size: u64) -> Result<ServedFile> {
    let path = dir.join(name);
    let mut urandom = std::fs::File::open("/dev/urandom").context("opening /dev/urandom")?;
    let mut content = Vec::with_capacity(usize::try_from(size)?);
    (&mut urandom).take(size).read_to_end(&mut content).context("reading /dev/urandom")?;
    anyhow::ensure!(content.len() as u64 == size, "short read from /dev/urandom");
    std::fs::write(&path, &content).with_context(|| format!("writing {}", path.display()))?;
    Ok(ServedFile { name: name.to_owned(), size, sha256: hex(&Sha256::digest(&content)) })
}

/// The Python interpreter for the HTTP server: Debian's, not a user's
/// shim, so `ip netns exec` finds the same one as root's shell.
#[must_use]
pub fn python3() -> PathBuf {
    ["/usr/bin/python3"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| find_tool("python3"))
        .unwrap_or_else(|| "python3".into())
}

/// `unbound.conf` for an authoritative-only server on `listen` that
/// answers the `records` of the static `zones` and refuses everything
/// else (no recursion: the lab has no Internet).
#[must_use]
pub fn unbound_conf(dir: &Path, listen: &str, zones: &[&str], records: &[String]) -> String {
    let ipv6 = listen.contains(':');
    let mut s = format!(
        "server:\n  verbosity: 1\n  interface: {listen}\n  port: 53\n  do-ip4: {}\n  do-ip6: {}\n  \
         do-udp: yes\n  do-tcp: yes\n  num-threads: 1\n  so-reuseport: no\n  \
         access-control: 0.0.0.0/0 allow\n  access-control: ::/0 allow\n  \
         username: \"\"\n  chroot: \"\"\n  directory: \"{dir}\"\n  pidfile: \"\"\n  \
         use-syslog: no\n  logfile: \"\"\n  module-config: \"iterator\"\n  \
         local-zone: \".\" refuse\n",
        if ipv6 { "no" } else { "yes" },
        if ipv6 { "yes" } else { "no" },
        dir = dir.display(),
    );
    for zone in zones {
        let _ = writeln!(s, "  local-zone: \"{zone}\" static");
    }
    for r in records {
        let _ = writeln!(s, "  local-data: \"{r}\"");
    }
    s.push_str("remote-control:\n  control-enable: no\n");
    s
}

/// The zones the Internet's DNS server answers for.
pub const INTERNET_ZONES: [&str; 2] = ["example.test.", "ipv4only.arpa."];

/// The records of the Internet's DNS server.
#[must_use]
pub fn internet_records() -> Vec<String> {
    vec![
        format!("{}. 60 IN A {}", t::SERVER_NAME, t::SERVER),
        // RFC 7050: ipv4only.arpa's well-known addresses 192.0.0.170 and
        // 192.0.0.171 synthesized with the PLAT prefix.
        "ipv4only.arpa. 60 IN AAAA 2001:db8:64::c000:aa".to_owned(),
        "ipv4only.arpa. 60 IN AAAA 2001:db8:64::c000:ab".to_owned(),
    ]
}

/// TAYGA's configuration as the PLAT: stateless NAT64 with a dynamic pool.
#[must_use]
pub fn tayga_plat_conf(data_dir: &Path) -> String {
    format!(
        "tun-device {}\nipv4-addr {}\nprefix {}\ndynamic-pool {}\ndata-dir {}\n",
        t::PLAT_TUN,
        t::PLAT_IPV4,
        t::PLAT_PREFIX,
        t::PLAT_POOL,
        data_dir.display()
    )
}

/// TAYGA's configuration as a CLAT (the stand-in): the CLAT's IPv4 address
/// mapped one to one to its IPv6 address, the PLAT prefix for the rest.
#[must_use]
pub fn tayga_clat_conf(data_dir: &Path) -> String {
    format!(
        "tun-device {}\nipv4-addr {}\nprefix {}\nmap {} {}\ndata-dir {}\n",
        t::CLAT_TUN,
        t::TAYGA_CLAT_IPV4,
        t::PLAT_PREFIX,
        t::CLAT_IPV4,
        t::CLAT_IPV6,
        data_dir.display()
    )
}

/// How long a server may take to start listening.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbound_conf_declares_zones_and_records() {
        let conf = unbound_conf(Path::new("/tmp/x"), "198.51.100.7", &INTERNET_ZONES, &internet_records());
        assert_eq!(conf.matches("local-zone: \"example.test.\" static").count(), 1, "{conf}");
        assert_eq!(conf.matches("local-zone: \"ipv4only.arpa.\" static").count(), 1, "{conf}");
        assert!(
            conf.contains("do-ip6: no")
                && conf.contains("local-data: \"ipv4only.arpa. 60 IN AAAA 2001:db8:64::c000:ab\"")
        );
    }

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0, 0xab, 0x0f]), "00ab0f");
    }
}
