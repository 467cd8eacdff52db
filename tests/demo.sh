#!/usr/bin/env bash
# The main job (README). Until the namespace lab lands, it translates the
# sample capture shipped in the repo and prints, per packet, what went in
# and what came out, then the translator's counters.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo build -q -p clat
target/debug/clat translate --config tests/data/sample.toml \
  --in tests/data/sample-v4.pcap --out "$out/sample-v6.pcap"
if command -v tshark >/dev/null; then
  echo
  echo "== the translated capture, as tshark reads it"
  tshark -r "$out/sample-v6.pcap" 2>/dev/null
fi
