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

async function bind(gsoSegmentSize = 0): Promise<DgramDatapath> {
  const d = await DgramDatapath.bind({ address: '::1', port: 0, recvBufferSize: MiB, sendBufferSize: MiB, gsoSegmentSize });
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

  it('with UDP GSO sends a run of full-size datagrams in one syscall; the peer receives each datagram intact, in order', async () => {
    const receiver = await bind();
    const sender = await bind(1350);
    expect(sender.gso()).toEqual({ segmentSize: 1350, maxSegments: 64 });
    const got: Buffer[] = [];
    receiver.start((batch) => batch.forEach((d) => got.push(Buffer.from(d.data))), (error) => {
      throw error;
    });
    sender.start(() => {}, (error) => {
      throw error;
    });
    const to = receiver.localAddress();
    // 100 full datagrams, a short one, then 3 more full ones: runs of 48, 48, 5 and 3.
    const sizes = [...Array<number>(100).fill(1350), 77, 1350, 1350, 1350];
    const sent = sizes.map((size, i) => Buffer.alloc(size, i));
    expect(sender.send(sent.map((data) => ({ data, to })))).toBe(true);
    await waitFor(() => got.length === sent.length, 5000, `${sent.length} datagrams`);
    expect(got.map((d) => d.length)).toEqual(sizes);
    expect(got.every((d, i) => d.equals(sent[i] as Buffer))).toBe(true);
    expect(sender.stats()).toMatchObject({ txDatagrams: 104, txSendCalls: 4, txErrors: 0, gsoSegmentSize: 1350 });
    expect(receiver.stats()).toMatchObject({ rxDatagrams: 104, txSendCalls: 0, gsoSegmentSize: 0 });
  });

  it('without GSO sends one datagram per syscall and says why GSO is off', async () => {
    const d = await bind(0);
    expect(d.gso()).toMatchObject({ segmentSize: 0, reason: expect.stringContaining('disabled') });
    const peer = await bind();
    let received = 0;
    peer.start((batch) => (received += batch.length), () => {});
    d.start(() => {}, () => {});
    d.send(Array.from({ length: 10 }, () => ({ data: Buffer.alloc(1350), to: peer.localAddress() })));
    await waitFor(() => received === 10, 2000, '10 datagrams');
    expect(d.stats()).toMatchObject({ txDatagrams: 10, txSendCalls: 10 });
  });
});
