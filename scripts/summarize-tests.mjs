// Sums the vitest JSON reports of every package into one closing line,
// "N passed, N failed, N skipped", and lists every failed test with the first line of its
// error (the closing lines are what a truncated CI log still shows) and every skipped
// test with its package and, when the test recorded one, why (meta.skipReason: vitest's JSON report keeps a test's
// meta, not the note of ctx.skip(note)).
// With STOQ_REQUIRE_ALL_TESTS=1 (CI, as root) a skipped test fails the run too: there,
// every test must run.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'test-results';
const requireAll = process.env.STOQ_REQUIRE_ALL_TESTS === '1';
let passed = 0, failed = 0, skipped = 0, files = 0;
const skips = [];
const failedFiles = [];
const failedTests = [];
for (const name of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
  const report = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  files += 1;
  for (const file of report.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      if (t.status === 'passed') passed += 1;
      else if (t.status === 'failed') {
        failed += 1;
        const why = String(t.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300);
        failedTests.push(`${name.replace(/\.json$/, '')}: ${t.fullName}${why ? ` (${why})` : ''}`);
      }
      else {
        skipped += 1;
        const reason = t.meta?.skipReason ? `: ${t.meta.skipReason}` : ` (${t.status}, no reason recorded)`;
        skips.push(`${name.replace(/\.json$/, '')}: ${t.fullName}${reason}`);
      }
    }
    // A failed file is a failure whatever its tests say: one that failed to load has no
    // assertions, a failing beforeAll leaves its tests "skipped", a failing afterAll
    // leaves them "passed".
    if (file.status === 'failed' && !(file.assertionResults ?? []).some((t) => t.status === 'failed')) {
      failed += 1;
      failedFiles.push(`${name.replace(/\.json$/, '')}: ${file.name}${file.message ? ` (${String(file.message).split('\n')[0]})` : ''}`);
    }
  }
  // vitest's own verdict for the package, in case a failure is recorded nowhere above.
  if (report.success === false && report.numFailedTests === 0 && !report.testResults?.some((f) => f.status === 'failed')) {
    failed += 1;
    failedFiles.push(`${name.replace(/\.json$/, '')}: the run failed (success: false)`);
  }
}
if (files === 0) {
  console.error('no test reports found in', dir);
  process.exit(1);
}
for (const s of skips) console.log(`skipped: ${s}`);
for (const f of failedFiles) console.log(`failed file: ${f}`);
for (const f of failedTests) console.log(`failed: ${f}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
if (requireAll && skipped > 0) console.log(`STOQ_REQUIRE_ALL_TESTS=1: ${skipped} skipped test${skipped === 1 ? '' : 's'} fail the run (listed above)`);
process.exit(failed > 0 || passed === 0 || (requireAll && skipped > 0) ? 1 : 0);
