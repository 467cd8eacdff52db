//! The cost of the NAT64 state at 10 k, 100 k and 1 M sessions, each next
//! to a plain `std::collections::HashMap` doing the same with the same keys
//! in the same run (the reference `tests/bench/nat64-ratios.sh` divides
//! by):
//!
//! - `create`: N UDP sessions from empty tables (each with its own BIB
//!   entry: the worst case) vs N `HashMap<Tuple6, Tuple4>` inserts into a
//!   map of capacity N;
//! - `lookup_v6_to_v4`: `Nat64::v6_to_v4` of an existing session (lookup,
//!   timer refresh, counters) vs `get` of the IPv6 tuple;
//! - `lookup_v4_to_v6`: `Nat64::v4_to_v6` of a reply vs `get` of the IPv4
//!   tuple in a `HashMap<Tuple4, Tuple6>`;
//! - `expire`: `Nat64::expire` of N sessions whose lifetime ran out vs N
//!   `remove`s from the `HashMap<Tuple6, Tuple4>`.
//!
//! Lookups take the keys in a shuffled order (the same for both), stored
//! in that order so that fetching the key costs no cache miss. The
//! reference does less than the state (one direction per map, no timers,
//! no policy, no port allocation): the ratios say what that costs.
//!
//! Bytes per session are measured too, each in a fresh child process (the
//! growth of its resident memory while building and filling the table,
//! divided by N), and printed as `nat64-memory ...` lines before the
//! timings.
//!
//! The default run is short (10 samples, 1 s each); criterion's flags
//! (`--measurement-time`, `--warm-up-time`, a filter) override it. `cargo
//! test --benches` runs each benchmark once at 10 k sessions.

#![allow(missing_docs)] // the criterion harness items are undocumented

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use xlat_nat64::{
    ClientGranularity, Nat64, Nat64Config, Pool4Entry, Proto, TcpFlags, Timestamp, Tuple4, Tuple6, V4Verdict, V6Verdict,
};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
/// Sessions per client (each with its own source port and BIB entry).
const PER_CLIENT: usize = 64;
/// pool4 addresses: 32 x 64512 UDP ports, about half used at 1 M.
const POOL4: u32 = 32;
/// The child process mode of the memory probe: `nat64:N` or `hashmap:N`.
const PROBE_ENV: &str = "XLAT_NAT64_BENCH_MEMORY";

const NOW: Timestamp = Timestamp::from_secs(1);

fn config(n: usize) -> Nat64Config {
    let pool4 =
        (0..POOL4).map(|i| Pool4Entry::new(Ipv4Addr::from(u32::from(Ipv4Addr::new(192, 0, 2, 1)) + i))).collect();
    let mut c = Nat64Config::new(
        "64:ff9b::/96".parse().expect("pool6"),
        pool4,
        vec!["2001:db8::/32".parse().expect("clients")],
    );
    c.max_sessions = u32::try_from(n).expect("size");
    c.max_sessions_per_client = 4096;
    c.client_granularity = ClientGranularity::Host;
    c.seed = 0x5eed;
    c
}

/// Session `i`: client `i / PER_CLIENT` (a /128 of its own), its own
/// source port, toward a global IPv4 server spread over 8.0.0.0/8.
fn key(i: usize) -> Tuple6 {
    let client = (i / PER_CLIENT) as u32;
    let server = Ipv4Addr::from(0x0800_0000 | ((i as u32).wrapping_mul(2_654_435_761) >> 8));
    let [a, b, c, d] = server.octets();
    Tuple6 {
        src: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, (client >> 16) as u16, client as u16),
        src_port: 10_000 + (i % PER_CLIENT) as u16,
        dst: Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])),
        dst_port: if i.is_multiple_of(2) { 53 } else { 443 },
        proto: Proto::Udp,
    }
}

/// A xorshift permutation of `0..n` (the same for every run).
fn shuffled(n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

/// Creates the sessions of `keys`, draining the mapping-log events every
/// 1024 (as the daemon does on its maintenance tick); returns the reply
/// tuples (server -> pool4).
fn fill(nat: &mut Nat64, keys: &[Tuple6]) -> Vec<Tuple4> {
    let mut replies = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        match nat.v6_to_v4(NOW, *k, TcpFlags::NONE) {
            Ok(V6Verdict::Translate(out)) => replies.push(out.reversed()),
            other => panic!("session {i} ({k}) not created: {other:?}"),
        }
        if i % 1024 == 1023 {
            while nat.poll_event().is_some() {}
        }
    }
    replies
}

/// The state filled with `keys`, and the replies.
fn filled(n: usize, keys: &[Tuple6]) -> (Nat64, Vec<Tuple4>) {
    let mut nat = Nat64::new(&config(n)).expect("config");
    let replies = fill(&mut nat, keys);
    while nat.poll_event().is_some() {}
    (nat, replies)
}

fn bench(c: &mut Criterion, sizes: &[usize]) {
    for &n in sizes {
        let keys: Vec<Tuple6> = (0..n).map(key).collect();
        // The lookup keys in a shuffled order, laid out in that order: the
        // key itself streams from memory (as a packet's tuple would be at
        // hand), the table accesses are random.
        let order = shuffled(n);
        let (nat, replies) = filled(n, &keys);
        let map6: HashMap<Tuple6, Tuple4> = keys.iter().copied().zip(replies.iter().map(|r| r.reversed())).collect();
        let map4: HashMap<Tuple4, Tuple6> = replies.iter().copied().zip(keys.iter().map(|k| k.reversed())).collect();
        let elements = Throughput::Elements(n as u64);

        let mut g = c.benchmark_group("create");
        g.sampling_mode(SamplingMode::Flat).throughput(elements.clone());
        let cfg = config(n);
        g.bench_function(BenchmarkId::new("nat64", n), |b| {
            b.iter_batched(
                || Nat64::new(&cfg).expect("config"),
                |mut nat| {
                    black_box(fill(&mut nat, &keys));
                    nat
                },
                BatchSize::PerIteration,
            );
        });
        g.bench_function(BenchmarkId::new("hashmap", n), |b| {
            b.iter_batched(
                || HashMap::<Tuple6, Tuple4>::with_capacity(n),
                |mut map| {
                    for (k, r) in keys.iter().zip(&replies) {
                        map.insert(*k, r.reversed());
                    }
                    map
                },
                BatchSize::PerIteration,
            );
        });
        g.finish();

        let probes6: Vec<Tuple6> = order.iter().map(|&i| keys[i]).collect();
        let probes4: Vec<Tuple4> = order.iter().map(|&i| replies[i]).collect();
        let mut g = c.benchmark_group("lookup_v6_to_v4");
        g.throughput(Throughput::Elements(1));
        let mut state = nat.clone();
        g.bench_function(BenchmarkId::new("nat64", n), |b| {
            let mut i = 0;
            b.iter(|| {
                let k = probes6[i];
                i = if i + 1 == n { 0 } else { i + 1 };
                black_box(state.v6_to_v4(NOW, black_box(k), TcpFlags::NONE))
            });
        });
        g.bench_function(BenchmarkId::new("hashmap", n), |b| {
            let mut i = 0;
            b.iter(|| {
                let k = probes6[i];
                i = if i + 1 == n { 0 } else { i + 1 };
                black_box(map6.get(&black_box(k)).copied())
            });
        });
        g.finish();

        let mut g = c.benchmark_group("lookup_v4_to_v6");
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("nat64", n), |b| {
            let mut i = 0;
            b.iter(|| {
                let k = probes4[i];
                i = if i + 1 == n { 0 } else { i + 1 };
                let v = state.v4_to_v6(NOW, black_box(k), TcpFlags::NONE);
                debug_assert!(matches!(v, Ok(V4Verdict::Translate(_))));
                black_box(v)
            });
        });
        g.bench_function(BenchmarkId::new("hashmap", n), |b| {
            let mut i = 0;
            b.iter(|| {
                let k = probes4[i];
                i = if i + 1 == n { 0 } else { i + 1 };
                black_box(map4.get(&black_box(k)).copied())
            });
        });
        g.finish();
        drop(state);

        // Every session of `nat` was created at NOW on the UDP lifetime.
        let after = NOW + Duration::from_secs(24 * 3600);
        let mut g = c.benchmark_group("expire");
        g.sampling_mode(SamplingMode::Flat).throughput(elements);
        g.bench_function(BenchmarkId::new("nat64", n), |b| {
            b.iter_batched(
                || nat.clone(),
                |mut nat| {
                    let events = nat.expire(after).count();
                    assert_eq!(nat.stats().total_sessions(), 0);
                    black_box(events);
                    nat
                },
                BatchSize::PerIteration,
            );
        });
        g.bench_function(BenchmarkId::new("hashmap", n), |b| {
            b.iter_batched(
                || map6.clone(),
                |mut map| {
                    for k in &keys {
                        black_box(map.remove(k));
                    }
                    map
                },
                BatchSize::PerIteration,
            );
        });
        g.finish();
    }
}

/// Resident memory of this process, bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// The child process: builds one table of N sessions and prints its
/// resident growth per session.
fn probe(spec: &str) {
    let (kind, n) = spec.split_once(':').expect("KIND:N");
    let n: usize = n.parse().expect("N");
    let keys: Vec<Tuple6> = (0..n).map(key).collect();
    let before = rss();
    let (measured, extra) = match kind {
        "nat64" => {
            let (nat, replies) = filled(n, &keys);
            let grown = rss().saturating_sub(before).saturating_sub(replies.capacity() * size_of::<Tuple4>());
            let m = nat.memory();
            let extra = format!(
                "table_bytes_per_session={:.1} session_entry={} bib_entry={} client_entry={} pool4_bytes={}",
                m.table_bytes_per_session(),
                m.session_entry,
                m.bib_entry,
                m.client_entry,
                m.pool4_bytes
            );
            black_box(&nat);
            (grown, extra)
        }
        _ => {
            let mut map = HashMap::<Tuple6, Tuple4>::with_capacity(n);
            let t4 = Tuple4 {
                src: Ipv4Addr::UNSPECIFIED,
                src_port: 0,
                dst: Ipv4Addr::UNSPECIFIED,
                dst_port: 0,
                proto: Proto::Udp,
            };
            for k in &keys {
                map.insert(*k, t4);
            }
            let grown = rss().saturating_sub(before);
            black_box(&map);
            (grown, format!("map_capacity={}", map.capacity()))
        }
    };
    println!("nat64-memory kind={kind} sessions={n} rss_bytes_per_session={:.1} {extra}", measured as f64 / n as f64);
}

/// Runs [`probe`] in a child process for each size and kind.
fn print_memory() {
    let Ok(exe) = std::env::current_exe() else { return };
    for n in SIZES {
        for kind in ["nat64", "hashmap"] {
            match Command::new(&exe).env(PROBE_ENV, format!("{kind}:{n}")).output() {
                Ok(out) if out.status.success() => print!("{}", String::from_utf8_lossy(&out.stdout)),
                Ok(out) => eprintln!("memory probe {kind}:{n} failed: {}", String::from_utf8_lossy(&out.stderr)),
                Err(e) => eprintln!("memory probe {kind}:{n} failed: {e}"),
            }
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var(PROBE_ENV) {
        probe(&spec);
        return;
    }
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    // `cargo bench` passes --bench; without it (`cargo test --benches`)
    // criterion runs each benchmark once as a test: the smallest size
    // only, no memory probes.
    if std::env::args().any(|a| a == "--bench") {
        print_memory();
        bench(&mut c, &SIZES);
    } else {
        bench(&mut c, &SIZES[..1]);
    }
    c.final_summary();
}
