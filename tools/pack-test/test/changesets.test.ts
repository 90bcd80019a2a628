// scripts/check-changesets.mjs: a breaking @stoq/metrics bump without a breaking
// @stoq/transport bump is refused (the transport exposes metrics types), in-range
// bumps pass, and the repository's own pending changesets pass.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../../scripts/check-changesets.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function check(changesets: Record<string, string>): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-changesets-'));
  dirs.push(dir);
  for (const [name, front] of Object.entries(changesets)) writeFileSync(join(dir, name), `---\n${front}\n---\n\nWhat changed.\n`);
  const r = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('check-changesets', () => {
  it('refuses a breaking metrics bump that leaves the transport compatible', () => {
    const r = check({ 'a.md': "'@stoq/metrics': major", 'b.md': "'@stoq/transport': patch" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/@stoq\/transport.*'@stoq\/transport': minor/);
    // At 0.x a minor is breaking for caret ranges too.
    expect(check({ 'a.md': "'@stoq/metrics': minor" }).status).toBe(1);
  });

  it('accepts it with a breaking transport bump in any changeset, and compatible metrics bumps alone', () => {
    expect(check({ 'a.md': "'@stoq/metrics': major", 'b.md': '"@stoq/transport": minor\n"@stoq/cli": patch' }).status).toBe(0);
    expect(check({ 'a.md': "'@stoq/metrics': patch" }).status).toBe(0);
  });

  it('takes an empty changeset (changeset add --empty) as naming no package', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stoq-changesets-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'empty.md'), '---\n---\n');
    writeFileSync(join(dir, 'b.md'), "---\n'@stoq/metrics': patch\n---\n\nx\n");
    const r = spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  it('passes on the repository as it is', () => {
    expect(() => execFileSync(process.execPath, [script], { encoding: 'utf8' })).not.toThrow();
  });
});
