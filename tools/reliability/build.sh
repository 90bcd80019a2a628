#!/usr/bin/env bash
# Compiles the fault injector into build/ (the tests and scripts attach it with tc)
# and the spoofed Initial flood tool (run inside a lab namespace).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p build
clang -g -O2 -target bpf -mcpu=v3 -Wall -I/usr/include/x86_64-linux-gnu -c bpf/faults.bpf.c -o build/faults.bpf.o
cc -O2 -Wall -Wextra -o build/initial_flood src/initial_flood.c
tsc -p tsconfig.build.json
