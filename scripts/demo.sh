#!/usr/bin/env bash
# The demo command: set up whatever is missing, build, then run `stoq demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
bash scripts/setup.sh
exec node packages/cli/dist/main.js demo "$@"
