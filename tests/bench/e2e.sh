#!/usr/bin/env bash
# The end-to-end benchmark of issue 7, from one command on a fresh Debian
# machine (root):
#
#   sudo tests/bench/e2e.sh                 # full run: 3 rounds, 5 s per test, 1 M sessions
#   sudo tests/bench/e2e.sh --smoke         # 1 round, 2 s per test, 100,000 sessions
#   sudo tests/bench/e2e.sh --scenarios clat,tayga-clat,kernel4 --tests tcp,udp --rounds 5
#   sudo XLAT_OFFLOAD=false XLAT_WORKERS=1 tests/bench/e2e.sh
#
# It installs the Debian packages it needs (iperf3, tayga, iproute2,
# iputils-ping, nftables, procps; gcc to link if missing), builds release
# binaries of clat, plat and xlat-lab (as the user who ran sudo, in
# $CARGO_TARGET_DIR, default target/), then runs `xlat-lab bench`: four
# network namespaces, our CLAT, PLAT and CLAT+PLAT chain, TAYGA in the
# same places and plain kernel forwarding, interleaved over the rounds,
# then plat's RSS with 1 M sessions. The Markdown report goes to stdout
# and to $CARGO_TARGET_DIR/bench/e2e-DATE.md; progress goes to stderr.
# Every option is also an environment variable (XLAT_BENCH_ROUNDS,
# XLAT_BENCH_SECS, XLAT_BENCH_SCENARIOS, XLAT_BENCH_TESTS,
# XLAT_BENCH_SESSIONS, XLAT_WORKERS, ...: `xlat-lab bench --help`);
# XLAT_OFFLOAD is passed to our daemons as is. tests/bench/README.md says
# what every number means. Namespaces are removed on exit, failure and
# Ctrl-C. Exit status: 0 when everything was measured, 1 when something
# failed (the report lists it), 2 when the machine cannot run it.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" != 0 ]; then
  echo "tests/bench/e2e.sh needs root (network namespaces, TUN devices): sudo tests/bench/e2e.sh" >&2
  exit 2
fi

PACKAGES=(iperf3 tayga iproute2 iputils-ping nftables procps)
command -v cc >/dev/null || PACKAGES+=(gcc libc6-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "missing packages ${missing[*]} and no apt-get: install them first" >&2
    exit 2
  fi
  echo "== installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || apt-get update -qq || echo "warning: apt-get update failed; using the package lists already here" >&2
  # iperf3 asks whether to start a system-wide daemon: no.
  echo "iperf3 iperf3/start_daemon boolean false" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Build as the user who ran sudo (their rustup toolchain, files they own).
target=${CARGO_TARGET_DIR:-$PWD/target}
build=(cargo build --release --locked -p clat -p plat -p xlat-lab)
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  home=$(getent passwd "$SUDO_USER" | cut -d: -f6)
  echo "== building release binaries as $SUDO_USER in $target" >&2
  sudo -u "$SUDO_USER" env "PATH=$home/.cargo/bin:$PATH" "CARGO_TARGET_DIR=$target" "${build[@]}" >&2
else
  if ! command -v cargo >/dev/null; then
    [ -x "$HOME/.cargo/bin/cargo" ] && PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs), then rerun" >&2; exit 2; }
  echo "== building release binaries in $target" >&2
  CARGO_TARGET_DIR=$target "${build[@]}" >&2
fi

export CARGO_TARGET_DIR=$target
exec "$target/release/xlat-lab" bench --clat-bin "$target/release/clat" --plat-bin "$target/release/plat" "$@"
