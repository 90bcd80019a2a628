// SPDX-License-Identifier: Apache-2.0
// Regressions from review: bad input gives typed errors (never a crash or a silent
// drop), closes are orderly, and the README example survives misbehaving clients.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { StoqTransport, type StoqConnection, type TransportConfig } from '../src/index.js';
import { closeAll, devCertificate, loopbackPair, transport, waitFor } from './helpers.js';

afterEach(closeAll);

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

async function createError(config: unknown): Promise<{ code?: string; message: string }> {
  try {
    const t = await StoqTransport.create(config as TransportConfig);
    await t.close();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error(`created a transport with ${JSON.stringify(config)}`);
}

describe('configuration is validated by type and range', () => {
  it.each([
    // quiche's varint encoder aborts the process at 2^62; stream counts above 2^60 fail every handshake.
    [{ limits: { maxData: 2 ** 62 } }, 'STOQ_ERR_INVALID_CONFIG', /limits\.maxData must be an integer in 1\.\.9007199254740991/],
    [{ limits: { maxStreamData: 2 ** 62 } }, 'STOQ_ERR_INVALID_CONFIG', /limits\.maxStreamData .*9007199254740991/],
    [{ limits: { maxStreamsBidi: 2 ** 61 } }, 'STOQ_ERR_INVALID_CONFIG', /limits\.maxStreamsBidi must be an integer in 0\.\.2\^60/],
    [{ limits: { maxStreamsUni: 2 ** 60 + 2 ** 10 } }, 'STOQ_ERR_INVALID_CONFIG', /limits\.maxStreamsUni/],
    [{ limits: { maxMessageBytes: 2 ** 33 } }, 'STOQ_ERR_INVALID_CONFIG', /limits\.maxMessageBytes/],
    [{ limits: { maxConnections: '10' } }, 'STOQ_ERR_INVALID_CONFIG', /limits\.maxConnections .* got string/],
    [{ limits: 5 }, 'STOQ_ERR_INVALID_CONFIG', /limits must be an object, got number 5/],
    [{ idleTimeoutMs: 2 ** 60 }, 'STOQ_ERR_INVALID_CONFIG', /idleTimeoutMs must be an integer in 1\.\.2147483647/],
    [{ retryTokenTtlMs: 2 ** 40 }, 'STOQ_ERR_INVALID_CONFIG', /retryTokenTtlMs/],
    // node:dgram throws these from its bind callback, uncatchable by the caller.
    [{ recvBufferSize: 2 ** 31 }, 'STOQ_ERR_INVALID_CONFIG', /recvBufferSize must be an integer in 1\.\.2147483647/],
    [{ sendBufferSize: 2 ** 31 }, 'STOQ_ERR_INVALID_CONFIG', /sendBufferSize/],
    [{ retry: 'yes' }, 'STOQ_ERR_INVALID_CONFIG', /retry must be true or false/],
    [{ interface: 5 }, 'STOQ_ERR_INVALID_CONFIG', /interface must be an interface name/],
    [{ tls: { alpn: 'stoq' } }, 'STOQ_ERR_INVALID_CONFIG', /tls\.alpn must be a non-empty array/],
    [{ tls: { cert: 5, key: 5 } }, 'STOQ_ERR_INVALID_CONFIG', /tls\.cert must be PEM text/],
    [{ tls: 'x' }, 'STOQ_ERR_INVALID_CONFIG', /tls must be an object, got string "x"/],
    [{ xdp: ['pass'] }, 'STOQ_ERR_INVALID_CONFIG', /xdp must be an object, got an array/],
    [{ limits: function limitsFactory() { return { secret: 1 }; } }, 'STOQ_ERR_INVALID_CONFIG', /limits must be an object, got a function$/], // not its source
    [{ address: 123 }, 'STOQ_ERR_INVALID_ADDRESS', /address must be a string/],
    [{ address: 'fe80::1%lo' }, 'STOQ_ERR_INVALID_ADDRESS', /scope id/],
    [{ port: '0' }, 'STOQ_ERR_INVALID_ADDRESS', /port must be a number, got string "0"/],
  ])('%j → %s', async (extra, code, message) => {
    const error = await createError({ address: '::1', port: 0, ...extra });
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('takes interface: null as not set, like tls: null and limits: null', async () => {
    const t = await StoqTransport.create({ address: '::1', port: 0, interface: null as never, limits: null as never });
    try {
      expect(t.getEbpfStatus()).toMatchObject({ datapath: 'dgram', fallbackReason: expect.stringMatching(/no interface given/) });
    } finally {
      await t.close();
    }
  });

  it('refuses a config that is not an object', async () => {
    expect((await createError('hello')).code).toBe('STOQ_ERR_INVALID_CONFIG');
  });

  it('accepts the largest values and still completes handshakes and echoes', async () => {
    const limits = { maxData: Number.MAX_SAFE_INTEGER, maxStreamData: Number.MAX_SAFE_INTEGER, maxStreamsBidi: 2 ** 60, maxStreamsUni: 2 ** 60 };
    const big = { limits, idleTimeoutMs: 2 ** 31 - 1, recvBufferSize: 2 ** 31 - 1, sendBufferSize: 2 ** 31 - 1 };
    const { server, client, target } = await loopbackPair(big, big);
    server.on('connection', (c) => c.on('stream', (s) => s.pipe(s as Duplex)));
    const conn = await client.connect(target, { serverName: 'localhost' });
    const stream = await conn.openStream();
    stream.end('ping');
    let echoed = '';
    for await (const chunk of stream) echoed += String(chunk);
    expect(echoed).toBe('ping');
  });

  it('rejects scoped and non-string connect targets with STOQ_ERR_INVALID_ADDRESS', async () => {
    const { client } = await loopbackPair();
    await expect(client.connect('[fe80::1%eth0]:9292')).rejects.toMatchObject({ code: 'STOQ_ERR_INVALID_ADDRESS' });
    await expect(client.connect(42 as unknown as string)).rejects.toMatchObject({ code: 'STOQ_ERR_INVALID_ADDRESS' });
    expect(client.connections()).toHaveLength(0);
  });
});

async function connected(): Promise<{ server: StoqTransport; client: StoqTransport; conn: StoqConnection; peer: Promise<StoqConnection> }> {
  const { server, client, target } = await loopbackPair();
  const peer = once(server, 'connection').then(([c]) => c as StoqConnection);
  const conn = await client.connect(target, { serverName: 'localhost' });
  return { server, client, conn, peer };
}

describe('send() and sendDatagram() take bytes', () => {
  it('sends the bytes of any ArrayBufferView, not its elements', async () => {
    const { client, conn, peer } = await connected();
    const got: Buffer[] = [];
    (await peer).on('message', (m: Buffer) => got.push(m));
    const f32 = new Float32Array([1.5, 2.5]);
    const view = new DataView(new ArrayBuffer(24), 4, 16);
    view.setUint32(0, 0xdeadbeef);
    await client.send(conn, f32);
    await client.send(conn, view);
    await waitFor(() => got.length === 2, 5000, 'two messages');
    expect(got[0]?.toString('hex')).toBe(Buffer.from(f32.buffer).toString('hex'));
    expect(got[1]?.toString('hex')).toBe(`deadbeef${'00'.repeat(12)}`);
  });

  it('refuses strings, numbers and null with STOQ_ERR_INVALID_CONFIG', async () => {
    const { client, conn } = await connected();
    for (const bad of ['text', 42, null]) {
      await expect(client.send(conn, bad as unknown as Uint8Array)).rejects.toMatchObject({ code: 'STOQ_ERR_INVALID_CONFIG' });
      expect(() => conn.sendDatagram(bad as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_CONFIG' }));
    }
  });

  it('returns false (and counts it) when the send queue is full, instead of dropping silently', async () => {
    const { client, conn, peer } = await connected();
    let received = 0;
    (await peer).on('datagram', () => received++);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      if (conn.sendDatagram(Buffer.alloc(100, i))) accepted++;
      else refused++;
    }
    // quiche queues 1024; one synchronous burst of 3000 cannot all fit.
    expect(refused).toBeGreaterThan(0);
    expect(accepted + refused).toBe(3000);
    expect(client.stats().endpoint.datagramsRefused).toBe(refused);
    await waitFor(() => received >= accepted * 0.9, 5000, 'the accepted datagrams');
    expect(received).toBeLessThanOrEqual(accepted);
  });
});

describe('closing', () => {
  it('a local transport.close() ends streams quietly and its CONNECTION_CLOSE reaches the peer', async () => {
    const { client, conn, peer } = await connected();
    const serverConn = await peer;
    const stream = await conn.openStream();
    // The server has the stream (and the handshake is confirmed) before the close.
    const arrived = once(serverConn, 'stream');
    stream.write('open');
    const [serverStream] = (await arrived) as [NodeJS.EventEmitter];
    serverStream.on('error', () => {}); // open when the client closes: STOQ_ERR_PEER_CLOSED there, as documented
    const errors: unknown[] = [];
    stream.on('error', (e) => errors.push(e));
    const closed = once(stream, 'close');
    const peerClosed = once(serverConn, 'close');
    await client.close();
    await closed;
    expect(errors).toEqual([]);
    expect(conn.closeError).toBeNull();
    // node:dgram used to drop the last send when the socket closed right after it.
    const [error] = await peerClosed;
    expect(error).toMatchObject({ code: 'STOQ_ERR_PEER_CLOSED', quicCode: 0, message: expect.stringMatching(/transport closing/) });
  });

  it('every concurrent close() resolves only once the transport is closed', async () => {
    const { cert, key } = await devCertificate();
    const t = await StoqTransport.create({ address: '::1', port: 0, tls: { cert, key } });
    const port = t.address().port;
    let firstDone = false;
    const first = t.close().then(() => (firstDone = true));
    await t.close();
    expect(firstDone).toBe(true);
    // The port is free again: the socket really is closed when the second call resolves.
    const again = await transport({ port, tls: { cert, key } });
    expect(again.address().port).toBe(port);
    await first;
  });

  it('close() during a pending connect() rejects it with STOQ_ERR_CLOSED', async () => {
    const client = await transport({ tls: {} });
    // Nobody answers on the discard port: the handshake stays pending.
    const pending = client.connect('[::1]:9', { serverName: 'localhost' });
    const result = pending.catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await client.close();
    expect(await result).toMatchObject({ code: 'STOQ_ERR_CLOSED' });
  });
});

describe('the README example', () => {
  it('runs as pasted, and its server survives clients that close or reset with a stream open', async () => {
    const readme = await readFile(join(packageDir, 'README.md'), 'utf8');
    const example = /## Example\n\n```ts\n([\s\S]+?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const ending = 'await conn.close();\nawait client.close();\nawait server.close();\n';
    expect(example).toContain(ending);
    const abuse = `
for (const how of ['close', 'reset']) {
  const c = await client.connect('[::1]:9292', { serverName: 'localhost' });
  const s = await c.openStream();
  s.on('error', () => {});
  s.write('half a request');
  await new Promise((r) => setTimeout(r, 100));
  if (how === 'reset') s.destroy(new Error('client gives up'));
  else await c.close();
  await new Promise((r) => setTimeout(r, 300));
  console.log('server survived', how);
}
{
  // A datagram flood: the echo's sendDatagram() meets a full queue (it used to throw out of the listener).
  const c = await client.connect('[::1]:9292', { serverName: 'localhost' });
  let echoed = 0;
  c.on('datagram', () => echoed++);
  for (let burst = 0; burst < 20; burst++) {
    // 1000-byte datagrams: the echo's congestion window, not the loopback, sets its pace.
    for (let i = 0; i < 1000; i++) c.sendDatagram(Buffer.alloc(1000, i));
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  // Which queue overflows (the client's or the echo's) depends on timing; one of them does.
  const refused = server.stats().endpoint.datagramsRefused + client.stats().endpoint.datagramsRefused;
  console.log('server survived a datagram flood, echoed', echoed > 0, 'refused', refused > 0);
  await c.close();
}
`;
    const dir = await mkdtemp(join(tmpdir(), 'stoq-readme-'));
    try {
      // Port 0 instead of 9292, so parallel runs and other tests cannot collide.
      const code = example!
        .replace("from '@stoq/transport'", `from ${JSON.stringify(join(packageDir, 'dist/index.js'))}`)
        .replace('port: 9292', 'port: 0')
        .replaceAll("'[::1]:9292'", '`[::1]:${server.address().port}`')
        .replace(ending, abuse.replaceAll("'[::1]:9292'", '`[::1]:${server.address().port}`') + ending);
      await writeFile(join(dir, 'example.mjs'), code);
      const { stdout } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
        execFile(process.execPath, [join(dir, 'example.mjs')], { timeout: 20_000 }, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
        ),
      );
      expect(stdout).toContain('stream: hello');
      expect(stdout).toContain('message: reliable, ordered');
      expect(stdout).toContain('datagram: unreliable');
      expect(stdout).toContain('server survived close');
      expect(stdout).toContain('server survived reset');
      expect(stdout).toContain('server survived a datagram flood, echoed true refused true');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
