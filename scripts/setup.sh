#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: system packages, pnpm (via corepack),
# dependencies, then the native + BPF + TypeScript builds (turbo caches them).
# Safe to run again: with nothing changed it only checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# Debian packages the builds and tests need (name → why).
REQUIRED_DEBS=(
  clang            # compiles bpf/*.bpf.c to BPF objects
  llvm             # llvm-strip, llvm-objdump for BPF objects
  libbpf-dev       # @stoq/loader links libbpf via pkg-config
  libxdp-dev       # @stoq/af-xdp links libxdp's xsk API via pkg-config
  libelf-dev       # libbpf's ELF parsing
  zlib1g-dev       # libbpf dependency
  pkg-config       # finds libbpf/libxdp for cmake
  cmake            # cmake-js drives the native builds
  make g++         # native toolchain
  iproute2 iputils-ping  # ip netns / veth and reachability checks for the network lab
  ethtool          # GRO and queue settings on lab interfaces
  bpftool          # operators' view; tests cross-check objects with it
  libcap2-bin      # capsh/setcap for least-privilege tests
  util-linux       # setpriv for dropping capabilities in tests
  ngtcp2-client ngtcp2-server  # interop peers for the QUIC tests
)

ensure_debs "${REQUIRED_DEBS[@]}"
ensure_bpffs
ensure_pnpm
ensure_pnpm_on_path

stamp_step "dependencies" "pnpm-lock.yaml package.json pnpm-workspace.yaml packages/*/package.json tools/*/package.json" \
  pnpm_cmd install --frozen-lockfile --prefer-offline

log "building (turbo caches unchanged packages)"
pnpm_cmd exec turbo run build --output-logs=errors-only
log "set-up complete"
