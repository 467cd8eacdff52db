#!/usr/bin/env bash
# Runs the xlat-nat64 criterion benchmarks (crates/xlat-nat64/benches/state.rs)
# and prints, for session creation, lookup in both directions and expiry at
# 10k, 100k and 1M sessions, the time per session of the NAT64 state, of a
# plain std HashMap doing the same with the same keys (measured in the same
# run), and their ratio (ours / HashMap); then the measured bytes per
# session. Not run in CI. MEASURE_SECS sets criterion's measurement time.
set -euo pipefail
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo bench -p xlat-nat64 --bench state -- --warm-up-time 1 --measurement-time "${MEASURE_SECS:-2}" >"$log"
python3 - "$log" <<'PY'
import json, pathlib, sys
root = pathlib.Path("target/criterion")
sizes = (10_000, 100_000, 1_000_000)
# Per-iteration medians; create and expire iterate over N sessions at once.
per_session = {"create": True, "lookup_v6_to_v4": False, "lookup_v4_to_v6": False, "expire": True}
def est(group, fn, n):
    p = root / group / fn / str(n) / "new" / "estimates.json"
    return json.loads(p.read_text())["median"]["point_estimate"]
print(f"{'operation':16} {'sessions':>9} {'nat64 ns':>10} {'HashMap ns':>11} {'ours/HashMap':>13}")
for group, batch in per_session.items():
    for n in sizes:
        ours, ref = est(group, "nat64", n), est(group, "hashmap", n)
        if batch:
            ours, ref = ours / n, ref / n
        print(f"{group:16} {n:>9} {ours:>10.1f} {ref:>11.1f} {ours / ref:>13.2f}")
print()
print("bytes per session (resident memory growth / sessions, each in a fresh process):")
rows = {}
for line in open(sys.argv[1]):
    if line.startswith("nat64-memory "):
        kv = dict(w.split("=", 1) for w in line.split()[1:])
        rows[(kv["kind"], int(kv["sessions"]))] = kv
print(f"{'sessions':>9} {'nat64 RSS':>10} {'of which pool4':>15} {'nat64 tables':>13} {'HashMap RSS':>12}")
for n in sizes:
    ours, ref = rows.get(("nat64", n), {}), rows.get(("hashmap", n), {})
    pool4 = float(ours.get("pool4_bytes", "nan")) / n
    print(f"{n:>9} {ours.get('rss_bytes_per_session', '?'):>10} {pool4:>15.1f} "
          f"{ours.get('table_bytes_per_session', '?'):>13} {ref.get('rss_bytes_per_session', '?'):>12}")
print("(nat64 RSS: sessions with their own BIB entries, 64 per client, both directions, plus the fixed")
print(" pool4 port bitmaps of 32 addresses; nat64 tables: the allocated worst case, one client per session;")
print(" HashMap: one direction, Tuple6 -> Tuple4)")
PY
