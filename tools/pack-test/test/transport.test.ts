// SPDX-License-Identifier: Apache-2.0
// @stoq/transport installed alone from its tarball (its optional native packages come
// from their tarballs too): the README example completes a QUIC handshake over dgram
// and echoes a stream, a message and a datagram.
import { createSocket } from 'node:dgram';
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
