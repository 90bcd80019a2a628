#!/usr/bin/env bash
# Builds the benchmark traffic tools into build/ with the system C compiler.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build
cc -O2 -Wall -Wextra -o build/udp6_flood src/udp6_flood.c
cc -O2 -Wall -Wextra -o build/xsk_count src/xsk_count.c $(pkg-config --cflags --libs libxdp libbpf)
