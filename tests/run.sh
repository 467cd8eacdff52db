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
cargo test --workspace --locked --exclude xlat-container
# The image builder's own tests; `container/test.sh` builds the RouterOS
# images (release, cross) and tests them (structure, qemu, docker).
cargo test --locked -p xlat-container --lib --bins
