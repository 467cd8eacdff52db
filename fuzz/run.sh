#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each).
# Needs nightly and cargo-fuzz: `rustup toolchain install nightly && cargo install cargo-fuzz`.
# Not part of CI by default; the corpus is seeded from the unit-test vectors
# by `cargo test -p xlat-core` (none needed: the targets start from empty).
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
for t in translate_v4 translate_v6 roundtrip_4_6_4 checksum_incremental parse_config offload; do
  echo "== $t (${secs}s)"
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -max_len=4096
done
