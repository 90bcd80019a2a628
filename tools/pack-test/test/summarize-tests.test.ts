// scripts/summarize-tests.mjs, the test command's verdict: a file whose beforeAll or
// afterAll failed is a failure even though vitest records its tests as skipped or passed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../../scripts/summarize-tests.mjs', import.meta.url));
// vitest's bin (its package exports do not include it).
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));

it('counts files with a failing beforeAll or afterAll as failed, names failed tests, and exits 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-summarize-'));
  try {
    writeFileSync(join(dir, 'package.json'), '{"name":"fixture","type":"module","private":true}');
    const file = (name: string, hook: string) =>
      writeFileSync(join(dir, name), `import { ${hook ? `${hook}, ` : ''}it, expect } from 'vitest';\n${hook ? `${hook}(() => { throw new Error('${hook} failed'); });\n` : ''}it('t', () => expect(1).toBe(1));\n`);
    file('before.test.mjs', 'beforeAll');
    file('after.test.mjs', 'afterAll');
    file('fine.test.mjs', '');
    writeFileSync(join(dir, 'failing.test.mjs'), `import { it, expect } from 'vitest';\nit('breaks', () => expect(1).toBe(2));\n`);
    mkdirSync(join(dir, 'out'));
    const run = spawnSync(process.execPath, [vitest, 'run', '--root', dir, '--reporter=json', '--outputFile=out/fixture.json'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.status).toBe(1); // vitest itself fails the run
    const summary = spawnSync(process.execPath, [script, join(dir, 'out')], { encoding: 'utf8' });
    expect(summary.stdout).toMatch(/failed file: fixture: .*before\.test\.mjs \(beforeAll failed\)/);
    expect(summary.stdout).toMatch(/failed file: fixture: .*after\.test\.mjs \(afterAll failed\)/);
    // A failed test is named with its error's first line: the closing lines are what a
    // truncated CI log still shows.
    expect(summary.stdout).toMatch(/^failed: fixture: breaks \(AssertionError: expected 1 to be 2.*\)$/m);
    expect(summary.stdout).toMatch(/^2 passed, 3 failed, 1 skipped$/m);
    expect(summary.status).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
