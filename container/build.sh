#!/usr/bin/env bash
# Builds the static binaries and the RouterOS images (docker save tars,
# one per role and architecture) into target/images/. No Docker daemon is
# needed.
#
#   container/build.sh [--arch LIST] [--opt-level s|z] [--install-deps]
#
#   --arch LIST      comma-separated: amd64, arm64, arm (ARMv7), armv5, or
#                    all [default: $XLAT_CONTAINER_ARCHS, else amd64,arm64]
#   --opt-level L    override opt-level of [profile.container] (measuring)
#   --install-deps   (root) install what the requested architectures need:
#                    Debian cross compilers, musl for ARM, qemu-user-static,
#                    rustup targets, nightly rust-src
#
# Outputs, per architecture: target/images/xlat-<version>-<arch>.tar (the
# CLAT image RouterOS imports), xlat-plat-<version>-<arch>.tar (the PLAT
# image, when crates/plat is in the workspace), and
# target/images/rootfs/<amd64|arm64|armv7|armv5>/ (the Dockerfile's build
# context for docker buildx). One role per image, its binary the
# entrypoint: both binaries together would not fit the 5 MB budget.
#
# An architecture whose toolchain is missing is SKIPPED with a message
# saying what to install; one that fails to compile, or whose image is over
# the budget, makes the script exit 1 after the others are done.
#
# The cross configuration lives here, in environment variables, so that a
# plain `cargo build` of the workspace is untouched:
#   amd64  stable, x86_64-unknown-linux-musl, rustc's self-contained musl
#   arm64  stable, aarch64-unknown-linux-musl, linker aarch64-linux-gnu-gcc
#   arm    nightly -Zbuild-std, armv7-unknown-linux-musleabihf: no rust-std
#          can be downloaded for it here, so std is built from rust-src and
#          linked by Debian's arm-linux-musleabihf-gcc (musl-dev:armhf)
#   armv5  same, armv5te-unknown-linux-musleabi, arm-linux-musleabi-gcc
#          (musl-dev:armel)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$TARGET_DIR/images
PROFILE=container
ARCHS=${XLAT_CONTAINER_ARCHS:-amd64,arm64}
INSTALL=0

while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCHS=$2; shift 2 ;;
    --arch=*) ARCHS=${1#--arch=}; shift ;;
    --opt-level) export CARGO_PROFILE_CONTAINER_OPT_LEVEL=$2; shift 2 ;;
    --install-deps) INSTALL=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$ARCHS" = all ] && ARCHS=amd64,arm64,arm,armv5
IFS=, read -r -a REQUESTED <<<"$ARCHS"

# Per architecture (keep in sync with container/src/arch.rs): Rust target,
# toolchain, linker (and C compiler for crates with C code), the rootfs
# directory named like buildx's ${TARGETARCH}${TARGETVARIANT}, the Debian
# packages that provide the linker.
triple() {
  case "$1" in
    amd64) echo x86_64-unknown-linux-musl ;;
    arm64) echo aarch64-unknown-linux-musl ;;
    arm) echo armv7-unknown-linux-musleabihf ;;
    armv5) echo armv5te-unknown-linux-musleabi ;;
    *) echo "build.sh: unknown architecture $1: use amd64, arm64, arm, armv5 or all" >&2; exit 2 ;;
  esac
}
toolchain() { case "$1" in arm|armv5) echo nightly ;; *) echo stable ;; esac; }
linker() {
  case "$1" in
    amd64) echo gcc ;;
    arm64) echo aarch64-linux-gnu-gcc ;;
    arm) echo arm-linux-musleabihf-gcc ;;
    armv5) echo arm-linux-musleabi-gcc ;;
  esac
}
repository() { case "$1" in clat) echo xlat ;; *) echo "xlat-$1" ;; esac; }
rootfs_dir() { case "$1" in arm) echo armv7 ;; *) echo "$1" ;; esac; }
debian_packages() {
  case "$1" in
    amd64) echo gcc ;;
    arm64) echo gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
    arm) echo gcc-arm-linux-gnueabihf musl-dev:armhf ;;
    armv5) echo gcc-arm-linux-gnueabi musl-dev:armel ;;
  esac
}

# The default toolchain is the project's (stable); nightly only for build-std.
rustc_of() { if [ "$1" = nightly ]; then echo "rustup run nightly rustc"; else echo rustc; fi; }
cargo_of() { if [ "$1" = nightly ]; then echo "cargo +nightly"; else echo cargo; fi; }

has_nightly() { rustup run nightly rustc -V >/dev/null 2>&1; }
has_rust_src() { [ -d "$(rustup run nightly rustc --print sysroot 2>/dev/null)/lib/rustlib/src/rust/library" ]; }
has_std() { [ -d "$(rustc --print sysroot)/lib/rustlib/$1/lib" ]; }

install_deps() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || {
    echo "build.sh: --install-deps needs root and apt-get; skipping installation" >&2
    return 0
  }
  local pkgs=(qemu-user-static) foreign=() a p
  for a in "${REQUESTED[@]}"; do
    # shellcheck disable=SC2207
    pkgs+=($(debian_packages "$a"))
    case "$a" in arm) foreign+=(armhf) ;; armv5) foreign+=(armel) ;; esac
  done
  for p in "${foreign[@]}"; do
    dpkg --print-foreign-architectures | grep -qx "$p" || dpkg --add-architecture "$p"
  done
  local missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A foreign architecture's index can be briefly out of sync on the
    # mirror; what is needed usually still installs, and apt-get install
    # below fails loudly when it does not.
    apt-get update -qq || echo "build.sh: warning: apt-get update reported errors" >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  for a in "${REQUESTED[@]}"; do
    case "$a" in
      amd64|arm64) has_std "$(triple "$a")" || rustup target add "$(triple "$a")" ;;
      arm|armv5) if has_nightly && ! has_rust_src; then rustup component add rust-src --toolchain nightly || true; fi ;;
    esac
  done
}

# Why an architecture cannot be built here (empty: it can).
missing_for() {
  local a=$1 t
  t=$(triple "$a")
  command -v "$(linker "$a")" >/dev/null ||
    { echo "no linker $(linker "$a") (apt-get install $(debian_packages "$a"))"; return; }
  case "$a" in
    amd64|arm64) has_std "$t" || echo "no Rust std for $t (rustup target add $t)" ;;
    arm|armv5)
      if ! has_nightly; then
        echo "no nightly toolchain: $t has no downloadable rust-std here, std is built with -Zbuild-std"
      elif ! has_rust_src; then
        echo "no rust-src for nightly (rustup component add rust-src --toolchain nightly)"
      fi ;;
  esac
}

[ "$INSTALL" = 1 ] && install_deps

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
ROLES=(clat)
BINS=(-p clat --bin clat)
if cargo metadata --no-deps --format-version 1 2>/dev/null | grep -q '"name":"plat"'; then
  ROLES+=(plat)
  BINS+=(-p plat --bin plat)
fi

# Group the buildable architectures by toolchain: one cargo invocation per
# group builds all its targets in one job graph (both cores busy while one
# target is in its single-threaded fat-LTO link).
declare -a STABLE=() NIGHTLY=() SKIPPED=() FAILED=() BUILT=()
for a in "${REQUESTED[@]}"; do
  triple "$a" >/dev/null
  why=$(missing_for "$a")
  if [ -n "$why" ]; then
    echo "SKIP $a: $why" >&2
    SKIPPED+=("$a: $why")
  elif [ "$(toolchain "$a")" = nightly ]; then
    NIGHTLY+=("$a")
  else
    STABLE+=("$a")
  fi
done

# Cross linker, C compiler and rustflags, for the target only (build
# scripts and proc macros are still built for the host by the default).
cross_env() {
  local a=$1 t T env_t shim
  t=$(triple "$a")
  T=$(echo "$t" | tr 'a-z-' 'A-Z_')
  env_t=${t//-/_}
  export "CARGO_TARGET_${T}_LINKER=$(linker "$a")"
  case "$a" in
    amd64)
      # Crates with C code: musl-gcc when musl-tools is installed, else
      # gcc (freestanding code such as ring's needs no libc headers).
      if command -v musl-gcc >/dev/null; then export "CC_${env_t}=musl-gcc"; else export "CC_${env_t}=gcc"; fi ;;
    arm64) export "CC_${env_t}=aarch64-linux-gnu-gcc" "AR_${env_t}=aarch64-linux-gnu-ar" ;;
    arm|armv5)
      # musl's libc.a comes from Debian's musl-dev:<arch>, through its gcc
      # wrapper (specs); rustc's own self-contained CRT does not exist for
      # these targets. std's `unwind` links -lunwind: libgcc_eh provides
      # the _Unwind_* symbols (panic=abort never unwinds; backtraces only).
      shim=$TARGET_DIR/container-shim/$t
      mkdir -p "$shim"
      ln -sf "$($(linker "$a") -print-file-name=libgcc_eh.a)" "$shim/libunwind.a"
      export "CC_${env_t}=$(linker "$a")"
      export "CARGO_TARGET_${T}_RUSTFLAGS=-C link-self-contained=no -C relocation-model=static -L $shim"
      ;;
  esac
}

build_group() {
  local tc=$1; shift
  local arches=("$@") targets=() a start
  [ ${#arches[@]} -gt 0 ] || return 0
  for a in "${arches[@]}"; do targets+=(--target "$(triple "$a")"); cross_env "$a"; done
  local cargo extra=()
  cargo=$(cargo_of "$tc")
  [ "$tc" = nightly ] && extra=(-Zbuild-std=std,panic_abort)
  echo "== building ${arches[*]} ($tc, profile $PROFILE, opt-level ${CARGO_PROFILE_CONTAINER_OPT_LEVEL:-from Cargo.toml})"
  start=$(date +%s)
  # shellcheck disable=SC2086
  if $cargo build --locked --profile "$PROFILE" "${extra[@]}" "${targets[@]}" "${BINS[@]}"; then
    echo "== built ${arches[*]} in $(( $(date +%s) - start )) s"
    for a in "${arches[@]}"; do stage "$a"; done
  else
    echo "FAILED ${arches[*]}: cargo build failed (output above)" >&2
    FAILED+=("${arches[@]}")
    # No stale image of an earlier build may pass for this one.
    for a in "${arches[@]}"; do rm -f "$OUT"/*-"$VERSION"-"$a".tar; done
  fi
}

# Copies the binaries into the rootfs directory: clat, plat.
stage() {
  local a=$1 bin dir r
  bin=$TARGET_DIR/$(triple "$a")/$PROFILE
  dir=$OUT/rootfs/$(rootfs_dir "$a")
  rm -rf "$dir"
  mkdir -p "$dir"
  for r in "${ROLES[@]}"; do cp "$bin/$r" "$dir/$r"; done
  BUILT+=("$a")
}

total_start=$(date +%s)
build_group stable "${STABLE[@]+"${STABLE[@]}"}"
# One invocation per nightly target: ARMv5 failing (no 64-bit atomics)
# must not take ARMv7 down with it.
for a in "${NIGHTLY[@]+"${NIGHTLY[@]}"}"; do build_group nightly "$a"; done

if [ ${#BUILT[@]} -gt 0 ]; then
  echo "== writing images to $OUT"
  cargo build --locked -q -p xlat-container --bin xlat-image
  for a in "${BUILT[@]}"; do
    for r in "${ROLES[@]}"; do
      rm -f "$OUT/$(repository "$r")-$VERSION-$a.tar"
      if ! "$TARGET_DIR/debug/xlat-image" --arch "$a" --role "$r" --version "$VERSION" \
           --rootfs "$OUT/rootfs/$(rootfs_dir "$a")" --out "$OUT"; then
        FAILED+=("$a/$r")
      fi
    done
  done
fi

echo "== summary (${SECONDS}s in all, $(( $(date +%s) - total_start )) s building)"
for a in "${BUILT[@]+"${BUILT[@]}"}"; do
  for r in "${ROLES[@]}"; do
    f=$OUT/$(repository "$r")-$VERSION-$a.tar
    [ -f "$f" ] && printf '  %-6s %s %9d bytes  %s\n' "$a" "$r" "$(stat -c %s "$f")" "$f"
  done
done
for s in "${SKIPPED[@]+"${SKIPPED[@]}"}"; do echo "  SKIPPED $s"; done
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "  FAILED ${FAILED[*]}"
  exit 1
fi
