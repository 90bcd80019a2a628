// Where the benchmark's helpers live: the C traffic tools (tools/pktgen) and the
// per-package benchmark modules this suite reuses. They ship with the repository,
// not with the npm packages, so each lookup says what is missing and how to get it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export class MissingTool extends Error {}

function packageFile(pkg: string, file: string): string {
  const path = join(dirname(require.resolve(`${pkg}/package.json`)), file);
  if (!existsSync(path)) throw new MissingTool(`${pkg}/${file} not found (it ships with the STOQ repository, not the npm package)`);
  return path;
}

export function pktgen(tool: 'udp6_flood' | 'xsk_count'): string {
  const path = process.env['STOQ_PKTGEN_DIR']
    ? join(process.env['STOQ_PKTGEN_DIR'], tool)
    : fileURLToPath(new URL(`../../../../tools/pktgen/build/${tool}`, import.meta.url));
  if (!existsSync(path)) throw new MissingTool(`${path} not found: run \`pnpm --filter @stoq/pktgen build\` (or set STOQ_PKTGEN_DIR)`);
  return path;
}

/** @stoq/af-xdp's benchmark receivers (node:dgram and AF_XDP in Node), one child per run. */
export const afXdpReceivers = () => packageFile('@stoq/af-xdp', 'bench/receivers.mjs');

/** @stoq/transport's in-memory quiche ceiling. */
export const transportInMemory = () => packageFile('@stoq/transport', 'bench/in-memory.mjs');
