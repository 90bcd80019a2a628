// SPDX-License-Identifier: Apache-2.0
// Bad input and policy limits: the endpoint must answer with typed errors, never
// crash, and never keep connections it should not have.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  createSelfSignedCertificate, StoqAlpnError, StoqConnectionLimitError, StoqError, StoqInvalidAddressError,
  StoqInvalidConfigError, StoqStreamLimitError, StoqTlsVerifyError, StoqTransport, StoqXdpUnavailableError, type EndpointStats,
} from '../src/index.js';
import { closeAll, devCertificate, loopbackPair, transport, waitFor, within } from './helpers.js';

afterEach(closeAll);

/** Opens a raw udp6 socket on [::1]; closed by the caller. */
async function rawSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp6', ipv6Only: true });
  await new Promise<void>((resolve) => socket.bind(0, '::1', resolve));
  return socket;
}

/** A genuine client Initial, captured by pointing a client at a raw socket. */
async function captureInitial(): Promise<Buffer> {
  const { cert } = await devCertificate();
  const sink = await rawSocket();
  const client = await transport({ tls: { ca: cert }, idleTimeoutMs: 300 });
  const captured = once(sink, 'message') as Promise<[Buffer]>;
  const attempt = client.connect(`[::1]:${sink.address().port}`, { serverName: 'localhost' });
  const [initial] = await captured;
  await expect(attempt).rejects.toMatchObject({ code: 'STOQ_ERR_IDLE_TIMEOUT' });
  sink.close();
  return initial;
}

/** RFC 9000 §14.1: a server drops a client Initial in a datagram shorter than this. */
const MIN_INITIAL_SIZE = 1200;

/** QUIC variable-length integer (RFC 9000 §16) at `offset`: its value and where the next field starts. */
function readVarint(buf: Buffer, offset: number): [value: number, next: number] {
  const len = 1 << ((buf[offset] as number) >> 6);
  let value = (buf[offset] as number) & 0x3f;
  for (let i = 1; i < len; i++) value = value * 256 + (buf[offset + i] as number);
  return [value, offset + len];
}

/** Where a long-header Initial's Length field and packet number start and where the packet ends (the datagram may be padded past it). */
function initialLayout(datagram: Buffer): { lengthOffset: number; pnOffset: number; packetEnd: number } {
  let o = 5; // first byte, version
  o += 1 + (datagram[o] as number); // DCID
  o += 1 + (datagram[o] as number); // SCID
  const [tokenLength, afterTokenLength] = readVarint(datagram, o);
  const lengthOffset = afterTokenLength + tokenLength;
  const [length, pnOffset] = readVarint(datagram, lengthOffset);
  return { lengthOffset, pnOffset, packetEnd: pnOffset + length };
}

async function roundTrip(client: StoqTransport, target: string): Promise<void> {
  const conn = await client.connect(target, { serverName: 'localhost' });
  await conn.close();
}

describe('configuration errors are typed', () => {
  it('refuses IPv4 binds and targets with STOQ_ERR_INVALID_ADDRESS', async () => {
    await expect(StoqTransport.create({ address: '0.0.0.0' })).rejects.toBeInstanceOf(StoqInvalidAddressError);
    await expect(StoqTransport.create({ address: '127.0.0.1', port: 0 })).rejects.toMatchObject({
      code: 'STOQ_ERR_INVALID_ADDRESS',
      operation: 'bind',
    });
    const t = await transport({});
    await expect(t.connect('192.0.2.1:9292')).rejects.toBeInstanceOf(StoqInvalidAddressError);
    await expect(t.connect('[::ffff:192.0.2.1]:9292')).rejects.toBeInstanceOf(StoqInvalidAddressError);
    await expect(t.connect('[::FFFF:c000:0201]:9292'), 'IPv4-mapped written in hex').rejects.toBeInstanceOf(StoqInvalidAddressError);
    await expect(t.connect('example.com:9292')).rejects.toMatchObject({ code: 'STOQ_ERR_INVALID_ADDRESS' });
  });

  it("reports why XDP is unavailable: 'xdp' refuses with every reason, 'auto' explains, attach throws typed", async () => {
    const noInterface = await StoqTransport.create({ datapath: 'xdp', port: 0, address: '::1' }).catch((e: unknown) => e);
    expect(noInterface).toBeInstanceOf(StoqXdpUnavailableError);
    expect((noInterface as Error).message).toMatch(/no interface given/);
    const missing = 'stoqnosuch0';
    const refused = await StoqTransport.create({ datapath: 'xdp', port: 0, address: '::1', interface: missing }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'STOQ_ERR_XDP_UNAVAILABLE' });
    expect((refused as InstanceType<typeof StoqXdpUnavailableError>).reasons).toEqual([
      `native+zerocopy: no interface ${missing} in this network namespace (see ip link)`,
      `native+copy: no interface ${missing} in this network namespace (see ip link)`,
      `generic+copy: no interface ${missing} in this network namespace (see ip link)`,
    ]);
    const t = await transport({ interface: missing });
    const status = t.getEbpfStatus();
    expect(status.datapath).toBe('dgram');
    expect(status.ladder.map((r) => [r.rung, r.outcome])).toEqual([['native+zerocopy', 'failed'], ['native+copy', 'failed'], ['generic+copy', 'failed']]);
    expect(status.fallbackReason).toMatch(new RegExp(`^XDP datapath unavailable on ${missing}: native\\+zerocopy: no interface`));
    await expect(t.attachXdpToInterface(missing)).rejects.toBeInstanceOf(StoqXdpUnavailableError);
    await expect(t.createZeroCopySocket(missing, 0)).rejects.toBeInstanceOf(StoqXdpUnavailableError);
    expect(() => t.updateXdpConfig({ redirect: false })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_XDP_UNAVAILABLE', hint: expect.stringMatching(/attachXdpToInterface/) }));
    const d = await transport({ datapath: 'dgram' });
    expect(d.getEbpfStatus().fallbackReason).toBe("datapath 'dgram' requested");
  });

  it('only turns peer verification off through the loudly named option', async () => {
    await expect(StoqTransport.create({ port: 0, address: '::1', tls: { verifyPeer: false } })).rejects.toBeInstanceOf(
      StoqInvalidConfigError,
    );
    await expect(StoqTransport.create({ port: 0, address: '::1', tls: { cert: 'not pem', key: 'nope' } })).rejects.toMatchObject({
      code: 'STOQ_ERR_INVALID_CONFIG',
    });
    const { server } = await loopbackPair();
    const loose = await transport({ dangerouslySkipPeerVerification: true, tls: { verifyPeer: false } });
    await roundTrip(loose, `[::1]:${server.address().port}`);
  });

  it('gives a typed bind error with the errno when the port is taken', async () => {
    const t = await transport({});
    const error = await StoqTransport.create({ address: '::1', port: t.address().port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoqError);
    expect(error).toMatchObject({ code: 'STOQ_ERR_BIND', operation: 'bind' });
    expect((error as StoqError).errno).toBeLessThan(0);
  });
});

describe('handshake failures are typed and leave nothing behind', () => {
  it('rejects an untrusted certificate with STOQ_ERR_TLS_VERIFY', async () => {
    const { server, target } = await loopbackPair();
    const other = await createSelfSignedCertificate({ hostnames: ['localhost'] });
    const client = await transport({ tls: { ca: other.cert } });
    const error = await client.connect(target, { serverName: 'localhost' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoqTlsVerifyError);
    expect(error).toMatchObject({ code: 'STOQ_ERR_TLS_VERIFY', operation: 'handshake' });
    expect(client.stats().connections).toBe(0);
    await waitFor(() => server.stats().connections === 0, 5000, 'server to drop the failed handshake');
  });

  it('rejects a certificate for another name with STOQ_ERR_TLS_VERIFY', async () => {
    const { client, target } = await loopbackPair();
    await expect(client.connect(target, { serverName: 'not-localhost.example' })).rejects.toMatchObject({ code: 'STOQ_ERR_TLS_VERIFY' });
  });

  it('rejects an ALPN mismatch with STOQ_ERR_ALPN', async () => {
    const { server, target } = await loopbackPair({ tls: { ...(await devCertificate()), alpn: ['stoq-v2'] } });
    const { cert } = await devCertificate();
    const client = await transport({ tls: { ca: cert, alpn: ['stoq'] } });
    const error = await client.connect(target, { serverName: 'localhost' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoqAlpnError);
    await waitFor(() => server.stats().connections === 0, 5000, 'server to drop the failed handshake');
  });

  it('refuses connections over limits.maxConnections with STOQ_ERR_CONNECTION_LIMIT', async () => {
    const { server, client, target } = await loopbackPair({ limits: { maxConnections: 2 } });
    const first = await client.connect(target, { serverName: 'localhost' });
    await client.connect(target, { serverName: 'localhost' });
    await expect(client.connect(target, { serverName: 'localhost' })).rejects.toBeInstanceOf(StoqConnectionLimitError);
    expect(server.stats().connections).toBe(2);
    expect(server.stats().endpoint.connectionsRefused).toBe(1);
    await first.close();
    await waitFor(() => server.stats().connections === 1, 5000, 'a free slot');
    await client.connect(target, { serverName: 'localhost' });
    const local = await transport({ limits: { maxConnections: 1 }, tls: { ca: (await devCertificate()).cert } });
    await local.connect(target, { serverName: 'localhost' }).catch(() => {});
    await expect(local.connect(target)).rejects.toMatchObject({ code: 'STOQ_ERR_CONNECTION_LIMIT', operation: 'connect' });
  });

  it('enforces the stream limit: openStream beyond the peer limit throws STOQ_ERR_STREAM_LIMIT', async () => {
    const { server, client, target } = await loopbackPair({ limits: { maxStreamsBidi: 3 } });
    // The streams stay open until closeAll(); a close that cannot be sent cleanly in time
    // destroys them with STOQ_ERR_CLOSED, which is theirs to report, not this test's.
    server.on('connection', (peer) => peer.on('stream', (s) => s.on('error', () => {}).resume()));
    const conn = await client.connect(target, { serverName: 'localhost' });
    const streams = [await conn.openStream(), await conn.openStream(), await conn.openStream()];
    for (const s of streams) s.on('error', () => {});
    await expect(conn.openStream()).rejects.toBeInstanceOf(StoqStreamLimitError);
    for (const s of streams) s.write('still fine');
    expect(conn.closed).toBe(false);
  });
});

describe('garbage on the wire', () => {
  it('reads and counts every malformed, random, truncated and corrupted datagram, keeps nothing, and still echoes', async () => {
    const { server, client, target } = await loopbackPair({ idleTimeoutMs: 600 });
    server.on('connection', (peer) => peer.on('stream', (s) => (s as Duplex).pipe(s as Duplex)));
    const initial = await captureInitial();
    const layout = initialLayout(initial);
    const raw = await rawSocket();
    const port = server.address().port;
    const send = (b: Uint8Array) => new Promise<void>((resolve) => raw.send(b, port, '::1', () => resolve()));
    let sent = 0;
    /** Sends one kind of junk, waits until the server has read every datagram of it, and returns how the endpoint counters moved. */
    async function feed(datagrams: Buffer[], what: string): Promise<Partial<EndpointStats>> {
      const before = server.stats().endpoint;
      for (const d of datagrams) await send(d);
      sent += datagrams.length;
      await waitFor(() => server.stats().endpoint.rxDatagrams === sent, 5000, `the server to read the ${what} (${sent} datagrams in all)`);
      const after = server.stats().endpoint;
      const moved = Object.entries(after)
        .map(([k, v]) => [k, v - before[k as keyof EndpointStats]] as const)
        .filter(([k, d]) => d !== 0 && k !== 'rxDatagrams' && k !== 'rxBytes');
      return Object.fromEntries(moved);
    }

    const shortHeader = Buffer.concat([Buffer.from([0x40]), randomBytes(16 + 20)]); // a connection ID nobody issued
    expect(await feed([Buffer.alloc(0), Buffer.from([0x40]), Buffer.from([0xc0]), shortHeader], 'malformed datagrams')).toEqual({
      rxUnparseable: 3, // empty, a short header without its connection ID, a long header without its version
      rxUnroutable: 1,
    });

    // Random bytes are unparseable, unroutable, or an Initial of an unknown version (Version
    // Negotiation) by chance, never anything more; the 1-byte one is always unparseable.
    const random = await feed(Array.from({ length: 200 }, (_, i) => randomBytes(1 + ((i * 97) % 1400))), 'random datagrams');
    expect((random.rxUnparseable ?? 0) + (random.rxUnroutable ?? 0) + (random.versionNegotiations ?? 0)).toBe(200);
    expect(random.rxUnparseable).toBeGreaterThanOrEqual(1);
    const unexpected = Object.keys(random).filter((k) => !['rxUnparseable', 'rxUnroutable', 'versionNegotiations'].includes(k));
    expect(unexpected).toEqual([]);

    // Cut before the Length field: no header; cut after it: a header, but too short to be an Initial.
    // (A cut inside the Length field itself could go either way, so there is none.)
    const cuts = Array.from({ length: Math.ceil(MIN_INITIAL_SIZE / 37) }, (_, i) => i * 37)
      .filter((n) => n < layout.lengthOffset || n >= layout.pnOffset);
    const headerless = cuts.filter((n) => n < layout.lengthOffset).length;
    expect(await feed(cuts.map((n) => initial.subarray(0, n)), 'truncated Initials')).toEqual({
      rxUnparseable: headerless,
      rxUnroutable: cuts.length - headerless,
    });

    // One byte flipped in the protected part of the packet (not in the padding after it): each
    // opens a connection that fails to decrypt its first packet and closes at once, unanswered.
    const corrupted = Array.from({ length: 50 }, (_, i) => {
      const copy = Buffer.from(initial);
      copy[layout.pnOffset + 4 + ((i * 37) % (layout.packetEnd - layout.pnOffset - 4))]! ^= 0xff;
      return copy;
    });
    expect(await feed(corrupted, 'corrupted Initials')).toEqual({ rxRejected: 50, connectionsAccepted: 50, connectionsClosed: 50 });
    expect(server.stats().connections).toBe(0);

    // And a real handshake and echo still work.
    const conn = await client.connect(target, { serverName: 'localhost' });
    const stream = (await conn.openStream()) as Duplex;
    stream.end('still here');
    const readAll = async () => {
      let text = '';
      for await (const chunk of stream) text += String(chunk);
      return text;
    };
    const echoed = await within(readAll(), 5000, 'the echo');
    expect(echoed).toBe('still here');
    expect(server.stats().endpoint.connectionsAccepted).toBe(51);
    await conn.close();
    raw.close();
  });

  it('answers an unknown QUIC version with Version Negotiation', async () => {
    const { server } = await loopbackPair();
    const initial = Buffer.from(await captureInitial());
    initial.writeUInt32BE(0x1a2a3a4a, 1); // reserved "greasing" version
    const raw = await rawSocket();
    const reply = once(raw, 'message') as Promise<[Buffer]>;
    raw.send(initial, server.address().port, '::1');
    const [vn] = await reply;
    expect(vn.readUInt32BE(1)).toBe(0); // version 0 = Version Negotiation
    expect(server.stats().endpoint.versionNegotiations).toBe(1);
    expect(server.stats().connections).toBe(0);
    raw.close();
  });
});
