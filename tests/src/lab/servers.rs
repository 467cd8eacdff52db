//! The lab's servers and translators: configuration files and start-up of
//! the HTTP servers (python3), the DNS servers (unbound), iperf3, the TCP
//! echo and UDP reflector (python3) and TAYGA (the PLAT or the stand-in
//! CLAT, optionally).

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
        self.url_at(t::SERVER)
    }

    /// `http://HOST/NAME`, an IPv6 `host` in brackets; `host` may carry a
    /// port (`203.0.113.128:8080`).
    #[must_use]
    pub fn url_at(&self, host: &str) -> String {
        if host.parse::<std::net::Ipv6Addr>().is_ok() {
            format!("http://[{host}]/{}", self.name)
        } else {
            format!("http://{host}/{}", self.name)
        }
    }
}

/// What the lab calls the HTTP server in `internet`.
pub const HTTP_SERVER: &str = "HTTP server (python3)";
/// What the lab calls host6b's IPv6-only HTTP server.
pub const HTTP6_SERVER: &str = "IPv6-only HTTP server (python3, host6b)";
/// What the lab calls the TCP echo and UDP reflector in `internet`.
pub const ECHO_SERVER_NAME: &str = "TCP echo and UDP reflector (python3)";

/// The TCP echo (RFC 862) and UDP reflector server: `python3 -c
/// ECHO_SERVER ADDR ECHO_PORT REFLECTOR_PORT`. The echo accepts thousands
/// of concurrent connections (its file limit raised, a deep backlog); the
/// reflector answers each datagram with `ADDR PORT`, the source it saw.
pub const ECHO_SERVER: &str = r#"
import asyncio, resource, sys
host, echo_port, udp_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()

class Reflector(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, addr):
        self.transport.sendto(("%s %d" % (addr[0], addr[1])).encode(), addr)

async def main():
    server = await asyncio.start_server(echo, host, echo_port, backlog=4096)
    await asyncio.get_running_loop().create_datagram_endpoint(Reflector, local_addr=(host, udp_port))
    print("listening", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"#;

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
