// SPDX-License-Identifier: Apache-2.0
// UDP GSO end to end over loopback with real sockets: one send of a run, many datagrams.
import { describe, expect, it } from 'vitest';
import { UDP_MAX_PAYLOAD, UDP_MAX_SEGMENTS, getUdpSegmentSize, probeUdpGso, setUdpSegmentSize, udpGsoSupported } from '../src/index.ts';
import { LOOPBACK, boundSocket, receiver, segments, send, settle, type Family } from './helpers.ts';

it('exports the safe limits', () => {
  expect(UDP_MAX_SEGMENTS).toBe(64);
  expect(UDP_MAX_PAYLOAD).toBe(65_507);
});

it('probes support on this host (Linux >= 4.18, Node with a reachable dgram fd)', () => {
  expect(probeUdpGso()).toEqual({ supported: true });
  expect(udpGsoSupported()).toBe(true);
  expect(probeUdpGso()).toBe(probeUdpGso()); // cached
});

describe.each<Family>(['udp6', 'udp4'])('%s', (family) => {
  const address = LOOPBACK[family];

  it('sends 10 segments with one send: they arrive as 10 datagrams, in order, the last one shorter', async () => {
    const rx = await receiver(family);
    const tx = await boundSocket(family);
    setUdpSegmentSize(tx, 1200);
    const run = segments(10, 1200, 345);
    expect(await send(tx, run, rx.port, address)).toBeNull();
    const got = await rx.waitFor(10);
    await settle();
    expect(got.map((m) => m.length)).toEqual([...Array(9).fill(1200), 345]);
    got.forEach((message, i) => expect(message.equals(run[i]!), `datagram ${i}`).toBe(true));
    expect(rx.messages).toHaveLength(10);
  });

  it('reads the segment size back, and 0 turns GSO off (a large send is one datagram again)', async () => {
    const rx = await receiver(family);
    const tx = await boundSocket(family);
    expect(getUdpSegmentSize(tx)).toBe(0);
    setUdpSegmentSize(tx, 1000);
    expect(getUdpSegmentSize(tx)).toBe(1000);

    // While set, even a single buffer larger than the segment size is cut.
    expect(await send(tx, Buffer.alloc(2500, 7), rx.port, address)).toBeNull();
    expect((await rx.waitFor(3)).map((m) => m.length)).toEqual([1000, 1000, 500]);

    setUdpSegmentSize(tx, 0);
    expect(getUdpSegmentSize(tx)).toBe(0);
    rx.messages.length = 0;
    expect(await send(tx, segments(5, 1000), rx.port, address)).toBeNull();
    await rx.waitFor(1);
    await settle();
    expect(rx.messages.map((m) => m.length)).toEqual([5000]);
  });

  it(`sends exactly UDP_MAX_SEGMENTS (${UDP_MAX_SEGMENTS}) segments`, async () => {
    const rx = await receiver(family);
    const tx = await boundSocket(family);
    setUdpSegmentSize(tx, 100);
    expect(await send(tx, segments(UDP_MAX_SEGMENTS, 100), rx.port, address)).toBeNull();
    expect(await rx.waitFor(UDP_MAX_SEGMENTS)).toHaveLength(UDP_MAX_SEGMENTS);
  });

  it("reports a run beyond the kernel's segment limit as EINVAL in the send callback, and the socket keeps working", async () => {
    const rx = await receiver(family);
    const tx = await boundSocket(family);
    setUdpSegmentSize(tx, 100);
    // 129 exceeds the limit of every kernel (64 before the 2024 change, 128 after).
    const error = (await send(tx, segments(129, 100), rx.port, address)) as NodeJS.ErrnoException | null;
    expect(error).toBeInstanceOf(Error);
    expect(error!.code).toBe('EINVAL');
    expect(error!.syscall).toBe('send');
    await settle();
    expect(rx.messages).toHaveLength(0);
    // Nothing is broken: the next run goes through.
    expect(await send(tx, segments(3, 100), rx.port, address)).toBeNull();
    expect(await rx.waitFor(3)).toHaveLength(3);
  });
});
