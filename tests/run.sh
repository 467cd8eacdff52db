#!/usr/bin/env bash
# The test command (README): installs the Debian packages the tests use
# when run as root, then runs format, lint and every test of the workspace.
# Tests that need root or a tool skip with a message on a laptop, but fail
# when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(tayga tshark iproute2 iputils-ping iperf3 curl dnsutils traceroute tcpdump unbound iptables python3 python3-venv)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A mirror in the middle of a sync can fail one index: retry once,
    # then go on with the lists we have rather than fail the run.
    apt-get update -qq || apt-get update -qq || echo "warning: apt-get update failed; using the package lists already here"
    # tshark asks whether non-root users may capture: answer no.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "note: not root: the namespace and TAYGA tests will skip (they run in CI as root)"
fi

echo "== rustfmt"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
# Our daemons in the labs run with TUN offloads and two workers (queues)...
XLAT_LAB_OFFLOAD=on XLAT_LAB_WORKERS=2 cargo test --workspace --locked --exclude xlat-container
# ... and the namespace labs once more without offloads, one worker: both
# I/O paths carry the same traffic checks.
echo "== namespace labs again, offloads off"
XLAT_LAB_OFFLOAD=off XLAT_LAB_WORKERS=1 cargo test --locked -p xlat-lab --test lab_464xlat --test lab_e2e
# The RouterOS images: container/test.sh builds them (static musl, amd64
# and arm64 always, ARMv7 and ARMv5 when the nightly toolchain is there)
# and runs every xlat-container test: the builder's own, the structure of
# each tar, the foreign binaries under qemu-user, docker load/run and the
# 464XLAT lab in Docker where an engine answers.
container/test.sh
