#!/usr/bin/env node
// Pending changesets must not hand a breaking change to users in a compatible release.
// Changesets itself bumps a dependent by `updateInternalDependencies` (patch) when a
// dependency leaves its range, but a package whose API exposes another's types (the
// transport returns @stoq/metrics snapshots from getEbpfMetrics()) breaks with it: a
// breaking metrics release needs a breaking transport release beside it.
//   node scripts/check-changesets.mjs [changeset-dir]   exits 1 and says which, or 0
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dependent → the packages whose types its public API exposes. */
export const EXPOSES = { '@stoq/transport': ['@stoq/metrics'] };
const RANK = { none: 0, patch: 1, minor: 2, major: 3 };

/** The bump each package gets from the changesets in `dir` (the highest one named). */
export function pendingBumps(dir) {
  const bumps = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md')) {
    // `changeset add --empty` writes "---\n---": no packages, nothing to check.
    const front = /^---\r?\n([\s\S]*?)^---/m.exec(readFileSync(join(dir, file), 'utf8'));
    if (!front) throw new Error(`${file}: no front matter`);
    for (const line of front[1].split('\n').filter((l) => l.trim())) {
      const m = /^\s*['"]?([^'":]+)['"]?\s*:\s*(patch|minor|major)\s*$/.exec(line);
      if (!m) throw new Error(`${file}: cannot read "${line}"`);
      if (RANK[m[2]] > RANK[bumps[m[1]] ?? 'none']) bumps[m[1]] = m[2];
    }
  }
  return bumps;
}

/** Whether `bump` breaks a caret range at `version` (0.x: minor breaks too). */
export function isBreaking(version, bump) {
  return bump === 'major' || (bump === 'minor' && version.startsWith('0.'));
}

/** One message per exposed package whose breaking bump has no breaking bump of its dependent. */
export function checkExposedBumps(bumps, versions) {
  const problems = [];
  for (const [dependent, exposed] of Object.entries(EXPOSES)) {
    for (const dep of exposed) {
      if (!isBreaking(versions[dep], bumps[dep])) continue;
      if (isBreaking(versions[dependent], bumps[dependent])) continue;
      const needed = versions[dependent].startsWith('0.') ? 'minor' : 'major';
      problems.push(
        `${dep} gets a breaking ${bumps[dep]} (from ${versions[dep]}) but ${dependent}, whose API exposes its types, ` +
          `gets ${bumps[dependent] ?? 'no bump'}: add a changeset with '${dependent}': ${needed} saying what changes for its users`,
      );
    }
  }
  return problems;
}

function workspaceVersions(root) {
  const versions = {};
  for (const group of ['packages', 'tools']) {
    for (const name of readdirSync(join(root, group))) {
      try {
        const pkg = JSON.parse(readFileSync(join(root, group, name, 'package.json'), 'utf8'));
        versions[pkg.name] = pkg.version;
      } catch {}
    }
  }
  return versions;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const problems = checkExposedBumps(pendingBumps(process.argv[2] ?? join(root, '.changeset')), workspaceVersions(root));
  for (const p of problems) console.error(`changesets: ${p}`);
  process.exit(problems.length ? 1 : 0);
}
