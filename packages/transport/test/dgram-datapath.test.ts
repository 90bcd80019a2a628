// SPDX-License-Identifier: Apache-2.0
// DgramDatapath on its own: IPv6 only, socket buffers applied, datagrams arriving in
// one event-loop turn delivered as one batch, batched sends.
import { afterEach, describe, expect, it } from 'vitest';
import { DgramDatapath, StoqInvalidAddressError, type ReceivedDatagram } from '../src/index.js';
import { waitFor } from './helpers.js';

const MiB = 1024 * 1024;
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function bind(): Promise<DgramDatapath> {
  const d = await DgramDatapath.bind({ address: '::1', port: 0, recvBufferSize: MiB, sendBufferSize: MiB });
  open.push(d);
  return d;
}

describe('DgramDatapath', () => {
  it('refuses IPv4 with a typed error', async () => {
    await expect(DgramDatapath.bind({ address: '0.0.0.0', port: 0, recvBufferSize: MiB, sendBufferSize: MiB })).rejects.toBeInstanceOf(
      StoqInvalidAddressError,
    );
  });

  it('applies the requested socket buffer sizes (Linux reports double)', async () => {
    const d = await bind();
    expect(d.bufferSizes().recv).toBeGreaterThanOrEqual(MiB);
    expect(d.bufferSizes().send).toBeGreaterThanOrEqual(MiB);
    expect(d.localAddress().address).toBe('::1');
  });

  it('delivers a burst as few batches and sends a batch in one call', async () => {
    const receiver = await bind();
    const sender = await bind();
    const batches: number[] = [];
    const payloads: string[] = [];
    receiver.start(
      (batch: readonly ReceivedDatagram[]) => {
        batches.push(batch.length);
        for (const d of batch) payloads.push(Buffer.from(d.data).toString());
      },
      (error) => {
        throw error;
      },
    );
    sender.start(() => {}, (error) => {
      throw error;
    });
    const to = receiver.localAddress();
    const burst = Array.from({ length: 200 }, (_, i) => ({ data: Buffer.from(`datagram ${i}`), to }));
    expect(sender.send(burst)).toBe(true);
    await waitFor(() => payloads.length === 200, 5000, '200 datagrams');
    expect(new Set(payloads).size).toBe(200);
    expect(batches.length).toBeLessThan(200); // batched, not one callback per datagram
    expect(sender.stats()).toMatchObject({ txDatagrams: 200, txBatches: 1, txErrors: 0, memcpyOps: 200, zeroCopyOps: 0 });
    expect(receiver.stats()).toMatchObject({ rxDatagrams: 200, rxBatches: batches.length });
  });

  it('reports send failures through onError and counts them', async () => {
    const d = await bind();
    const errors: Error[] = [];
    d.start(() => {}, (error) => errors.push(error));
    // Port 0 is not a valid destination (node:dgram throws synchronously); the rest of
    // the batch still goes out.
    const peer = await bind();
    const got: string[] = [];
    peer.start((batch) => batch.forEach((x) => got.push(Buffer.from(x.data).toString())), () => {});
    d.send([
      { data: Buffer.from('x'), to: { address: '::1', port: 0 } },
      { data: Buffer.from('after'), to: peer.localAddress() },
    ]);
    await waitFor(() => errors.length === 1 && got.length === 1, 2000, 'the send error and the good datagram');
    expect(d.stats().txErrors).toBe(1);
    expect(got).toEqual(['after']);
  });
});

