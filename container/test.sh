#!/usr/bin/env bash
# The image tests (tests/run.sh calls this before `cargo test`): builds the
# RouterOS images with container/build.sh, then runs the xlat-container
# tests, which check every tar's structure, run the foreign binaries under
# qemu-user against the native one, and `docker load`/`run` the amd64 image
# where a Docker daemon answers.
#
#   XLAT_CONTAINER_ARCHS  architectures to build and test [default:
#                         amd64,arm64]; `all` adds arm (ARMv7) and armv5,
#                         which need the nightly toolchain (-Zbuild-std)
#                         and take about 3 more minutes each on 2 cores.
#
# As root, the Debian cross linkers, qemu-user-static and the rustup
# targets are installed first. Without them (not root), the missing
# architectures are SKIPPED with a message; with CI=true, a missing amd64
# or arm64 image fails the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

args=(--arch "${XLAT_CONTAINER_ARCHS:-amd64,arm64}")
if [ "$(id -u)" = 0 ]; then
  args+=(--install-deps)
else
  echo "note: not root: container/build.sh will not install cross linkers or qemu-user-static"
fi

echo "== container images"
container/build.sh "${args[@]}"
echo "== container image tests"
cargo test --locked -p xlat-container
echo "== container images built and tested in $(( $(date +%s) - start )) s"
