#!/usr/bin/env bash
# The main job (README): builds our CLAT and PLAT, then the namespace lab
# that mirrors a RouterOS 464XLAT deployment (IPv4-only LAN host, router
# with srcnat, the CLAT in its container namespace, an IPv6-only provider
# router with our PLAT in its container namespace, IPv4 servers), sends
# real traffic from the LAN host (ping, HTTP, DNS, traceroute, iperf3),
# prints one line per check with its figure and the CLAT's and the PLAT's
# /metrics counters, and tears everything down, also on Ctrl-C. Needs root (exits 2 without). Extra arguments go to
# `xlat-lab demo` (e.g. --clat tayga, --plat tayga, --server-mtu 1280;
# --help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p clat -p plat
exec cargo run -q -p xlat-lab --bin xlat-lab -- demo "$@"
