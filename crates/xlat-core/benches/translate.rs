//! Per-packet cost of translation, next to a plain `copy_from_slice` of the
//! same packet measured in the same run (the reference: a translator must
//! at least copy the packet once). `tests/bench/core-ratios.sh` turns the
//! criterion estimates into ratios.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use etherparse::PacketBuilder;
use std::hint::black_box;
use xlat_core::{rfc7757, Config, Translator, OUT_BUF_LEN};

const SIZES: [usize; 3] = [64, 576, 1500];
const CLAT4: [u8; 4] = [192, 0, 0, 1];
const SERVER4: [u8; 4] = [198, 51, 100, 7];
const CLAT6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const SERVER6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0x64, 0, 0, 0, 0, 0, 0, 198, 51, 100, 7];
const IPV4_UDP_HDRS: usize = 28;
const IPV6_UDP_HDRS: usize = 48;

fn translator() -> Translator {
    let cfg = Config {
        pool6: Some("2001:db8:64::/96".parse().expect("prefix")),
        eam: rfc7757::Table::new(["192.0.0.1/32=2001:db8:aaaa::1/128".parse().expect("eam")]).expect("table"),
        mtu_v6: 9000,
        mtu_v4: 9000,
        lowest_ipv6_mtu: 9000,
        ..Config::default()
    };
    Translator::new(cfg).expect("config")
}

fn udp_v4(total: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let payload = vec![0xa5; total - IPV4_UDP_HDRS];
    PacketBuilder::ipv4(CLAT4, SERVER4, 64).udp(40000, 443).write(&mut v, &payload).expect("build");
    v
}

fn udp_v6(total: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let payload = vec![0x5a; total.max(IPV6_UDP_HDRS) - IPV6_UDP_HDRS];
    PacketBuilder::ipv6(SERVER6, CLAT6, 64).udp(443, 40000).write(&mut v, &payload).expect("build");
    v
}

fn bench(c: &mut Criterion) {
    let mut t = translator();
    let mut out = vec![0u8; OUT_BUF_LEN];
    for (dir, build) in [("v4_to_v6", udp_v4 as fn(usize) -> Vec<u8>), ("v6_to_v4", udp_v6)] {
        let mut g = c.benchmark_group(dir);
        for size in SIZES {
            let pkt = build(size);
            assert!(t.translate(&pkt, &mut out).is_ok(), "bench packet must translate");
            g.throughput(Throughput::Bytes(pkt.len() as u64));
            g.bench_with_input(BenchmarkId::new("copy", size), &pkt, |b, pkt| {
                b.iter(|| {
                    out[..pkt.len()].copy_from_slice(black_box(pkt));
                    black_box(&out);
                })
            });
            g.bench_with_input(BenchmarkId::new("translate", size), &pkt, |b, pkt| {
                b.iter(|| black_box(t.translate(black_box(pkt), &mut out)))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
