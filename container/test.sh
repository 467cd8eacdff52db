#!/usr/bin/env bash
# The image tests (tests/run.sh, hence CI, calls this after the workspace
# tests): builds the RouterOS images with container/build.sh, then runs the
# xlat-container tests, which check every tar's structure, run the foreign
# binaries under qemu-user against the native one, `docker load`/`run` the
# amd64 images, and run the 464XLAT lab in Docker (docker_lab.rs) where a
# Docker engine answers.
#
#   XLAT_CONTAINER_ARCHS  architectures to build and test. Default:
#                         amd64,arm64, plus arm (ARMv7) and armv5 when the
#                         nightly toolchain is installed (their std is
#                         built from rust-src with -Zbuild-std); `all` asks
#                         for all four.
#
# As root, the Debian cross linkers, qemu-user-static, busybox-static (the
# Docker lab's client, router and server), openssl, rust-src and the rustup
# targets are installed first. Without them (not root), the missing architectures
# are SKIPPED with a message; with CI=true, a missing amd64 or arm64 image
# fails the tests, and so does the Docker lab when the engine answers but
# the lab cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

if [ -n "${XLAT_CONTAINER_ARCHS:-}" ]; then
  archs=$XLAT_CONTAINER_ARCHS
elif rustup run nightly rustc -V >/dev/null 2>&1; then
  archs=amd64,arm64,arm,armv5
  echo "== container images: amd64, arm64, and arm (ARMv7) + armv5 (nightly toolchain found)"
  echo "   the two nightly builds add about 5 minutes cold; XLAT_CONTAINER_ARCHS=amd64,arm64 leaves them out"
else
  archs=amd64,arm64
  echo "== container images: amd64, arm64 only. arm (ARMv7) and armv5 SKIPPED: no nightly toolchain"
  echo "   (their std is built from source: rustup toolchain install nightly --component rust-src)"
fi

args=(--arch "$archs")
if [ "$(id -u)" = 0 ]; then
  args+=(--install-deps)
  # busybox-static: the Docker lab's client, router and server; openssl:
  # the TLS server the foreign CLATs self-provision against under qemu.
  missing=()
  for p in busybox-static openssl iproute2 iptables; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if command -v apt-get >/dev/null && [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      echo "warning: ${missing[*]} could not be installed; the tests that need them will say so"
  fi
else
  echo "note: not root: container/build.sh will not install cross linkers or qemu-user-static"
fi

echo "== container images"
container/build.sh "${args[@]}"
echo "== container image tests (structure, qemu, docker load/run, Docker lab)"
t=$(date +%s)
# The tests' SKIPPED and progress lines go to stderr uncaptured.
cargo test --locked -p xlat-container
echo "== container tests took $(( $(date +%s) - t )) s"
echo "== container images built and tested in $(( $(date +%s) - start )) s"
