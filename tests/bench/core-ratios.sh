#!/usr/bin/env bash
# Runs the xlat-core criterion benchmarks and prints, for each direction and
# packet size, translate time / copy time (both measured in this run).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench -p xlat-core --bench translate -- --warm-up-time 1 --measurement-time "${MEASURE_SECS:-3}" >/dev/null
python3 - <<'PY'
import json, pathlib
root = pathlib.Path("target/criterion")
def est(dir, kind, size):
    p = root / dir / kind / str(size) / "new" / "estimates.json"
    return json.loads(p.read_text())["median"]["point_estimate"]
print(f"{'direction':10} {'bytes':>6} {'translate/copy':>15}")
for d in ("v4_to_v6", "v6_to_v4"):
    for s in (64, 576, 1500):
        print(f"{d:10} {s:>6} {est(d, 'translate', s) / est(d, 'copy', s):>15.2f}")
PY
