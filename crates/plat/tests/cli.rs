//! `plat translate` on small generated captures: the NAT64 state runs on
//! the capture's clock (mappings, replies, refusals, held SYNs timing out,
//! sessions expiring), the output verifies; and configuration errors are
//! one line with exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TransportSlice};
use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};

const CLIENT: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5];
const OUTSIDER: [u8; 16] = [0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const SERVER4: [u8; 4] = [8, 8, 8, 8];
const POOL4: [u8; 4] = [203, 0, 113, 1];

fn server6() -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0, 0x64, 0xff, 0x9b]);
    a[12..].copy_from_slice(&SERVER4);
    a
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plat-cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn plat() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_plat"));
    // The environment of the test runner must not leak into the settings.
    for (k, _) in std::env::vars() {
        if k.starts_with("XLAT_") {
            c.env_remove(k);
        }
    }
    c
}

const BASE: [&str; 6] = ["--pool6", "64:ff9b::/96", "--pool4", "203.0.113.1", "--clients", "2001:db8::/32"];

fn translate(input: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut c = plat();
    c.arg("translate").arg("--in").arg(input).arg("--out").arg(out).args(BASE).args(extra);
    c.output().unwrap()
}

fn write_pcap(path: &Path, packets: &[(f64, Vec<u8>)]) {
    let file = std::fs::File::create(path).unwrap();
    let header = pcap_file::pcap::PcapHeader { datalink: pcap_file::DataLink::RAW, ..Default::default() };
    let mut w = PcapWriter::with_header(file, header).unwrap();
    for (t, p) in packets {
        w.write_packet(&PcapPacket::new(Duration::from_secs_f64(*t), p.len() as u32, p)).unwrap();
    }
}

fn read_pcap(path: &Path) -> Vec<(Duration, Vec<u8>)> {
    let mut r = PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        out.push((p.timestamp, p.data.into_owned()));
    }
    out
}

fn udp6(src: [u8; 16], sport: u16, dst: [u8; 16], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    PacketBuilder::ipv6(src, dst, 64).udp(sport, dport).write(&mut p, payload).unwrap();
    p
}

fn udp4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    PacketBuilder::ipv4(src, dst, 64).udp(sport, dport).write(&mut p, payload).unwrap();
    p
}

fn syn4(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Vec<u8> {
    let mut p = Vec::new();
    PacketBuilder::ipv4(src, dst, 64).tcp(sport, dport, 1, 1000).syn().write(&mut p, &[]).unwrap();
    p
}

/// One's complement sum.
fn sum(mut acc: u32, data: &[u8]) -> u32 {
    for c in data.chunks(2) {
        acc += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    acc
}

fn verifies(mut acc: u32) -> bool {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc == 0xffff
}

/// Asserts the IPv4 header and the transport checksum (with its
/// pseudo-header) verify.
fn assert_checksums(p: &[u8]) {
    let s = SlicedPacket::from_ip(p).unwrap();
    let l4 = s.ip_payload().unwrap().payload;
    let pseudo = match s.net.as_ref().unwrap() {
        NetSlice::Ipv4(h) => {
            let hdr = h.header();
            assert!(verifies(sum(0, hdr.slice())), "IPv4 header checksum");
            if hdr.protocol().0 == 1 {
                0
            } else {
                sum(sum(0, &hdr.source()), &hdr.destination()) + u32::from(hdr.protocol().0) + l4.len() as u32
            }
        }
        NetSlice::Ipv6(h) => {
            let hdr = h.header();
            let next = s.ip_payload().unwrap().ip_number.0;
            sum(sum(0, &hdr.source()), &hdr.destination()) + u32::from(next) + l4.len() as u32
        }
        _ => panic!("not IP"),
    };
    assert!(verifies(sum(pseudo, l4)), "transport checksum of {p:02x?}");
}

fn udp_ports(p: &[u8]) -> (u16, u16) {
    match SlicedPacket::from_ip(p).unwrap().transport.unwrap() {
        TransportSlice::Udp(u) => (u.source_port(), u.destination_port()),
        other => panic!("not UDP: {other:?}"),
    }
}

fn addrs(p: &[u8]) -> (String, String) {
    match SlicedPacket::from_ip(p).unwrap().net.unwrap() {
        NetSlice::Ipv4(h) => (h.header().source_addr().to_string(), h.header().destination_addr().to_string()),
        NetSlice::Ipv6(h) => (h.header().source_addr().to_string(), h.header().destination_addr().to_string()),
        _ => panic!("not IP"),
    }
}

/// The pool4 port the capture's clock and the fixed seed give the client's
/// first flow: learnt from a first run, so the reply can be built.
fn mapped_port() -> u16 {
    let (input, out) = (scratch("learn.pcap"), scratch("learn-out.pcap"));
    write_pcap(&input, &[(1.0, udp6(CLIENT, 5000, server6(), 53, b"query"))]);
    let o = translate(&input, &out, &["--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let packets = read_pcap(&out);
    assert_eq!(packets.len(), 1);
    udp_ports(&packets[0].1).0
}

#[test]
fn translate_runs_the_nat64_state_on_the_capture_clock() {
    let port = mapped_port();
    let input = scratch("flows.pcap");
    let out = scratch("flows-out.pcap");
    write_pcap(
        &input,
        &[
            (1.0, udp6(CLIENT, 5000, server6(), 53, b"query")),
            (1.5, udp4(SERVER4, 53, POOL4, port, b"answer")),
            (2.0, udp6(OUTSIDER, 5000, server6(), 53, b"refused")),
            (3.0, syn4(SERVER4, 443, POOL4, 4000)),
            (4.0, udp4(SERVER4, 53, POOL4, port, b"still mapped")),
            // Past TCP_INCOMING_SYN: the held SYN is answered with the next frame.
            (10.0, udp6(CLIENT, 5001, server6(), 53, b"later")),
            // Past the UDP lifetime (5 min) of the first flow.
            (400.0, udp4(SERVER4, 53, POOL4, port, b"too late")),
        ],
    );
    let o = translate(&input, &out, &[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&o.stderr));
    let packets = read_pcap(&out);
    let at = |t: f64| -> Vec<&Vec<u8>> {
        packets.iter().filter(|(ts, _)| *ts == Duration::from_secs_f64(t)).map(|(_, p)| p).collect()
    };
    for (_, p) in &packets {
        assert_checksums(p);
    }
    // 1 s: out through pool4 with the mapped port.
    let q = at(1.0);
    assert_eq!(addrs(q[0]), ("203.0.113.1".into(), "8.8.8.8".into()));
    assert_eq!(udp_ports(q[0]), (port, 53));
    // 1.5 s and 4 s: the answers come back to the client's port.
    for t in [1.5, 4.0] {
        let a = at(t);
        assert_eq!(addrs(a[0]), ("64:ff9b::808:808".into(), "2001:db8:1::5".into()), "at {t}");
        assert_eq!(udp_ports(a[0]), (53, 5000));
    }
    // 2 s: default deny, ICMPv6 administratively prohibited to the outsider.
    let e = at(2.0);
    assert_eq!((e[0][6], e[0][40], e[0][41]), (58, 1, 1));
    assert_eq!(addrs(e[0]).1, "2001:db9::1");
    // 3 s: the unsolicited SYN is held (nothing); 10 s: the client's new
    // flow, and the ICMPv4 port unreachable for the SYN.
    assert!(at(3.0).is_empty(), "held");
    let ten = at(10.0);
    assert_eq!(ten.len(), 2, "{stdout}");
    let err = ten.iter().find(|p| p[0] >> 4 == 4 && p[9] == 1).expect("ICMPv4 error");
    assert_eq!((err[20], err[21]), (3, 3));
    assert_eq!(addrs(err), ("203.0.113.1".into(), "8.8.8.8".into()));
    // 400 s: the mapping is gone: ICMPv4 host unreachable (no BIB entry).
    let late = at(400.0);
    assert_eq!((late[0][9], late[0][20], late[0][21]), (1, 3, 1));
    assert!(stdout.contains("refused by the NAT64: client_not_allowed"), "{stdout}");
    assert!(stdout.contains("and originated IPv4 203.0.113.1 -> 8.8.8.8 ICMP dest-unreachable 3/3"), "{stdout}");
    assert!(stdout.contains("summary: 7 frames read, 0 skipped, 7 packets written"), "{stdout}");
    assert!(stdout.contains("refused no_bib: 1"), "{stdout}");
}

#[test]
fn translate_is_reproducible() {
    let input = scratch("repro.pcap");
    write_pcap(
        &input,
        &[
            (1.0, udp6(CLIENT, 5000, server6(), 53, b"a")),
            (1.0, udp6(CLIENT, 6000, server6(), 123, b"b")),
            (2.0, udp6([0x20, 0x01, 0x0d, 0xb8, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 7, server6(), 53, b"c")),
        ],
    );
    let (a, b) = (scratch("repro-a.pcap"), scratch("repro-b.pcap"));
    assert!(translate(&input, &a, &["-q"]).status.success());
    assert!(translate(&input, &b, &["-q"]).status.success());
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn per_client_limit_and_non_global_destination_in_a_capture() {
    let input = scratch("limits.pcap");
    let private = {
        let mut a = server6();
        a[12..].copy_from_slice(&[10, 0, 0, 1]);
        a
    };
    write_pcap(
        &input,
        &[
            (1.0, udp6(CLIENT, 1, server6(), 53, b"1")),
            (1.0, udp6(CLIENT, 2, server6(), 53, b"2")),
            (1.0, udp6(CLIENT, 3, server6(), 53, b"3")),
            (1.0, udp6(CLIENT, 4, private, 53, b"4")),
        ],
    );
    let out = scratch("limits-out.pcap");
    let o = translate(&input, &out, &["--max-sessions-per-client", "2"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    let p = read_pcap(&out);
    assert_eq!(p.len(), 4);
    assert_eq!((p[2].1[40], p[2].1[41]), (1, 3), "limit: address unreachable");
    assert_eq!((p[3].1[40], p[3].1[41]), (1, 1), "10.0.0.1: administratively prohibited");
    assert!(stdout.contains("refused client_session_limit: 1"), "{stdout}");
    assert!(stdout.contains("refused destination_not_global: 1"), "{stdout}");
}

fn one_line_error(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    e
}

#[test]
fn configuration_errors_are_one_line_with_exit_2() {
    let (i, o) = (scratch("none.pcap"), scratch("none-out.pcap"));
    write_pcap(&i, &[]);
    let run =
        |args: &[&str]| plat().arg("translate").arg("--in").arg(&i).arg("--out").arg(&o).args(args).output().unwrap();
    let e = one_line_error(&run(&["--pool4", "203.0.113.1", "--clients", "2001:db8::/32"]));
    assert!(e.contains("--pool6") && e.contains("PLAT prefix"), "{e}");
    let e = one_line_error(&run(&["--pool6", "64:ff9b::/96", "--pool4", "203.0.113.1"]));
    assert!(e.contains("client prefix"), "{e}");
    let e =
        one_line_error(&run(&["--pool6", "64:ff9b::/96", "--pool4", "203.0.113.1/24", "--clients", "2001:db8::/32"]));
    assert!(e.contains("--pool4 (XLAT_POOL4)") && e.contains("network address"), "{e}");
    let e = one_line_error(&run(&[
        "--pool6",
        "64:ff9b::/96",
        "--pool4",
        "203.0.113.1",
        "--clients",
        "2001:db8::/32",
        "--udp-timeout",
        "30",
    ]));
    assert!(e.contains("udp-timeout") && e.contains("minimum"), "{e}");
    let e = one_line_error(&run(&[
        "--pool6",
        "64:ff9b::/96",
        "--pool4",
        "203.0.113.1",
        "--clients",
        "2001:db8::/32",
        "--eam",
        "192.0.0.1/32=2001:db8:aaaa::1/128",
    ]));
    assert!(e.contains("--eam"), "{e}");
    // Environment and file, like the flags.
    let e = one_line_error(
        &plat()
            .arg("translate")
            .arg("--in")
            .arg(&i)
            .arg("--out")
            .arg(&o)
            .args(["--pool6", "64:ff9b::/96", "--pool4", "203.0.113.1"])
            .env("XLAT_CLIENTS", "2001:db8::1/32")
            .output()
            .unwrap(),
    );
    assert!(e.contains("XLAT_CLIENTS") && e.contains("2001:db8::1/32"), "{e}");
    let file = scratch("plat.toml");
    std::fs::write(&file, "pool6 = \"64:ff9b::/96\"\n[plat]\npool4 = [\"203.0.113.1\"]\nclients = \"2001:db8::/32\"\nfiltering = \"strict\"\n").unwrap();
    let e = one_line_error(&run(&["--config", file.to_str().unwrap()]));
    assert!(e.contains("filtering in") && e.contains("plat.toml") && e.contains("eif"), "{e}");
    std::fs::write(&file, "pool6 = \"64:ff9b::/96\"\n[plat]\npool-4 = 1\n").unwrap();
    let e = one_line_error(&run(&["--config", file.to_str().unwrap()]));
    assert!(e.contains("pool-4"), "{e}");
}

#[test]
fn settings_from_the_plat_table_of_the_config_file() {
    let file = scratch("good.toml");
    std::fs::write(
        &file,
        "pool6 = \"64:ff9b::/96\"\n[plat]\npool4 = [\"203.0.113.1\"]\nclients = [\"2001:db8::/32\"]\n\
         max-sessions-per-client = 1\nudp-timeout = \"3m\"\n",
    )
    .unwrap();
    let input = scratch("file.pcap");
    write_pcap(&input, &[(1.0, udp6(CLIENT, 1, server6(), 53, b"1")), (1.0, udp6(CLIENT, 2, server6(), 53, b"2"))]);
    let out = scratch("file-out.pcap");
    let o = plat()
        .arg("translate")
        .arg("--in")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = read_pcap(&out);
    assert_eq!(p[1].1[40], 1, "the second flow hit the per-client limit of the file");
    // A flag wins over the file.
    let o = plat()
        .arg("translate")
        .arg("--in")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .arg("--config")
        .arg(&file)
        .args(["--max-sessions-per-client", "5"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let p = read_pcap(&out);
    assert_eq!(p[1].1[0] >> 4, 4, "translated");
}
