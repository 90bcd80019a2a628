#!/usr/bin/env bash
# The test command: set up whatever is missing, build, type-check and build the API
# docs, run every package's tests (real kernel, real sockets), then print one summary line.
# Not as root the kernel tests skip themselves (the summary lists them, with the reason
# where the test records one); with STOQ_REQUIRE_ALL_TESTS=1, which .ci/run sets, any
# skipped test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
bash scripts/setup.sh
ensure_pnpm_on_path
rm -rf test-results && mkdir -p test-results
status=0
# Type errors in tests and undocumented public symbols fail the run too (tests still run).
pnpm_cmd exec turbo run lint --output-logs=errors-only || { echo "lint (tsc --noEmit) failed" >&2; status=1; }
node scripts/check-changesets.mjs || status=1
pnpm_cmd run docs >/dev/null || { echo "docs (TypeDoc, warnings are errors) failed" >&2; status=1; }
pnpm_cmd exec turbo run test --concurrency=1 --continue --output-logs=full "$@" || status=$?
node scripts/summarize-tests.mjs test-results || status=1
exit $status
