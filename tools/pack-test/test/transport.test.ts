// SPDX-License-Identifier: Apache-2.0
// @stoq/transport installed alone from its tarball (its optional native packages come
// from their tarballs too): the README example completes a QUIC handshake over dgram
// and echoes a stream, a message and a datagram.
import { createSocket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { installAlone, readmeExample, resolvedStoq, type Scratch } from '../src/scratch.ts';

let scratch: Scratch;
beforeAll(async () => {
  scratch = await installAlone('@stoq/transport', inject('packed'));
});
afterAll(() => scratch?.remove());

/** A UDP port free on [::1] right now (the example's 9292 may be busy on a shared host). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp6');
  socket.bind(0, '::1');
  await once(socket, 'listening');
  const { port } = socket.address();
  socket.close();
  return port;
}

it('installs with every @stoq dependency from its local tarball', () => {
  const resolved = resolvedStoq(scratch);
  expect(Object.keys(resolved).sort()).toEqual(['@stoq/af-xdp', '@stoq/bpf-programs', '@stoq/loader', '@stoq/metrics', '@stoq/native-support', '@stoq/transport', '@stoq/udp']);
  for (const from of Object.values(resolved)) expect(from).toMatch(/^file:.*\.tgz$/);
});

it('runs the README example: handshake, stream, message and datagram over dgram', async () => {
  const example = readmeExample(scratch, '@stoq/transport');
  expect(example).toContain('9292');
  scratch.write('transport-example.mjs', example.replaceAll('9292', String(await freeUdpPort())));
  const out = await scratch.run(process.execPath, ['transport-example.mjs'], { timeoutMs: 60_000 });
  expect(out.code, out.stderr).toBe(0);
  expect(out.stdout).toContain('stream: hello');
  expect(out.stdout).toContain('message: reliable, ordered');
  expect(out.stdout).toContain('datagram: unreliable');
});

it('the installed transport sends with UDP GSO through the packed @stoq/udp prebuild', async () => {
  scratch.write(
    'gso-check.mjs',
    "import { StoqTransport } from '@stoq/transport';\n" +
      "const t = await StoqTransport.create({ address: '::1', port: 0 });\n" +
      'console.log(JSON.stringify(t.stats().udpGso));\n' +
      'await t.close();\n',
  );
  const out = await scratch.run(process.execPath, ['gso-check.mjs'], { timeoutMs: 30_000 });
  expect(out.code, out.stderr).toBe(0);
  expect(JSON.parse(out.stdout.trim())).toEqual({ segmentSize: 1350, maxSegments: 64 });
});

// Last: it removes packages from the scratch install.
it('type-checks and runs where its optional native packages are absent (macOS, Windows)', async () => {
  // They declare os: linux, so npm skips them there: remove them as npm would not have installed them.
  for (const pkg of ['loader', 'af-xdp', 'bpf-programs', 'udp']) rmSync(join(scratch.dir, 'node_modules/@stoq', pkg), { recursive: true, force: true });
  scratch.write(
    'consumer.ts',
    "import { StoqTransport, type EbpfStatus, type XdpDatapathStats, type RungOutcome, type XdpAttachMode, type TransportStats } from '@stoq/transport';\n" +
      "const t = await StoqTransport.create({ address: '::1', port: 0 });\n" +
      'const status: EbpfStatus = t.getEbpfStatus();\n' +
      'export type Public = [XdpDatapathStats, RungOutcome, XdpAttachMode, TransportStats];\n' +
      'console.log(status.datapath, status.fallbackReason);\n' +
      'await t.close();\n',
  );
  const require = createRequire(import.meta.url);
  const tsc = require.resolve('typescript/bin/tsc');
  const typeRoots = dirname(dirname(require.resolve('@types/node/package.json')));
  const check = await scratch.run(process.execPath, [
    tsc, '--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
    '--typeRoots', typeRoots, '--types', 'node', 'consumer.ts',
  ], { timeoutMs: 60_000 });
  expect(check.code, check.stdout + check.stderr).toBe(0);
  scratch.write('consumer.mjs', "import { StoqTransport } from '@stoq/transport';\nconst t = await StoqTransport.create({ address: '::1', port: 0 });\nconsole.log(t.getEbpfStatus().datapath);\nawait t.close();\n");
  const run = await scratch.run(process.execPath, ['consumer.mjs'], { timeoutMs: 30_000 });
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout.trim()).toBe('dgram');
});
