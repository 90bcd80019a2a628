// SPDX-License-Identifier: Apache-2.0
// Every public call answers a wrong argument with a StoqError (STOQ_ERR_INVALID_CONFIG),
// not a TypeError from property access or a napi type or TLS failure from quiche.
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoqConnection, StoqTransport } from '../src/index.js';
import { closeAll, connectedPair, loopbackPair, within } from './helpers.js';

afterEach(closeAll);

const invalid = (message: RegExp) => expect.objectContaining({ code: 'STOQ_ERR_INVALID_CONFIG', message: expect.stringMatching(message) });

describe('connect() options', () => {
  it.each([
    ['x', /options must be an object, got string "x"/],
    [5, /options must be an object, got number 5/],
    [['stoq.test'], /options must be an object, got an array/],
    [{ serverName: 42 }, /serverName must be a host name .* got number 42/],
    [{ serverName: '' }, /serverName must be a host name .* got string ""/],
    [{ serverName: 'a'.repeat(256) }, /serverName must be a host name/],
  ])('connect(target, %j) rejects with STOQ_ERR_INVALID_CONFIG and opens nothing', async (options, message) => {
    const { client, target } = await loopbackPair();
    const connect = client.connect as (t: string, o: unknown) => Promise<StoqConnection>;
    await expect(within(connect.call(client, target, options), 3000, 'connect')).rejects.toEqual(invalid(message));
    expect(client.stats().connections).toBe(0);
  });

  it('takes null options as none, like the config does', async () => {
    const { client, target } = await loopbackPair();
    const connect = client.connect as (t: string, o: unknown) => Promise<StoqConnection>;
    const conn = await within(connect.call(client, target, null), 3000, 'connect(target, null)');
    expect(conn.closed).toBe(false);
  });
});

describe('openStream() and send() arguments', () => {
  it.each([['x'], [5], [{ unidirectional: 'yes' }], [{ unidirectional: 1 }]])('openStream(%j) rejects with STOQ_ERR_INVALID_CONFIG', async (options) => {
    const { conn } = await connectedPair();
    const open = conn.openStream as (o: unknown) => Promise<Duplex>;
    await expect(open.call(conn, options)).rejects.toEqual(invalid(/openStream: (options must be an object|unidirectional must be true or false)/));
  });

  it('openStream(null) opens a bidirectional stream', async () => {
    const { conn } = await connectedPair();
    const stream = await (conn.openStream as (o: unknown) => Promise<Duplex>).call(conn, null);
    expect(stream.readable && stream.writable).toBe(true);
    stream.destroy();
  });

  it.each([[null], [{}], ['conn']])('send(%j, bytes) rejects with STOQ_ERR_INVALID_CONFIG', async (conn) => {
    const { client } = await loopbackPair();
    const send = client.send as (c: unknown, d: Buffer) => ReturnType<StoqTransport['send']>;
    await expect(send.call(client, conn, Buffer.from('x'))).rejects.toEqual(invalid(/send: conn must be a StoqConnection/));
  });
});
