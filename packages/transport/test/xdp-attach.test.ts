// SPDX-License-Identifier: Apache-2.0
// attachXdpToInterface() called again before the first call settled: one interface per
// transport, so a second interface waits for the first attach and is refused when it
// succeeded (or gets its own try when it failed); the same interface shares the attach.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import { closeAll, isRoot, transport } from './helpers.js';


describe('attachXdpToInterface called concurrently', skipUnless(isRoot, 'needs root: XDP attach and AF_XDP sockets on a veth lab'), () => {
  let one: Lab;
  let two: Lab;

  beforeAll(async () => {
    one = await createLab({ hostSide: true, timeoutMs: 5 * 60_000 });
    two = await createLab({ hostSide: true, timeoutMs: 5 * 60_000 });
  });
  afterAll(async () => {
    try {
      await closeAll();
    } finally {
      await Promise.all([one?.destroy(), two?.destroy()]);
    }
  });

  const overDgram = () => transport({ address: '::', port: 0, datapath: 'dgram' });
  const xdpOn = async (lab: Lab) => /prog\/xdp/.test((await lab.exec(lab.a, 'ip', ['-d', 'link', 'show', 'dev', lab.a.ifname])).stdout);

  it('for two interfaces: the first attaches, the second is refused naming the first (not handed its status)', async () => {
    const t = await overDgram();
    const [first, second] = await Promise.allSettled([t.attachXdpToInterface(one.a.ifname), t.attachXdpToInterface(two.a.ifname)]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { datapath: 'xdp', xdpAttached: [one.a.ifname] } });
    expect(second.status).toBe('rejected');
    expect((second as PromiseRejectedResult).reason).toMatchObject({
      code: 'STOQ_ERR_INVALID_CONFIG',
      message: expect.stringContaining(`attachXdpToInterface(${two.a.ifname}): this transport already runs XDP on ${one.a.ifname}`),
    });
    expect(t.getEbpfStatus().xdpAttached).toEqual([one.a.ifname]);
    expect([await xdpOn(one), await xdpOn(two)]).toEqual([true, false]);
    await closeAll();
  }, 30_000);

  it('for one interface twice: one attach, both calls get its status', async () => {
    const t = await overDgram();
    const [a, b] = await Promise.all([t.attachXdpToInterface(two.a.ifname), t.attachXdpToInterface(two.a.ifname)]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ datapath: 'xdp', xdpAttached: [two.a.ifname] });
    expect(t.stats().datapaths.filter((d) => d.kind === 'xdp')).toHaveLength(1);
    await closeAll();
  }, 30_000);

  it('the first attach failing: the concurrent one for another interface gets its own try', async () => {
    const t = await overDgram();
    const [missing, real] = await Promise.allSettled([t.attachXdpToInterface('sqmissing0'), t.attachXdpToInterface(one.a.ifname)]);
    expect(missing.status).toBe('rejected');
    expect((missing as PromiseRejectedResult).reason).toMatchObject({ code: 'STOQ_ERR_XDP_UNAVAILABLE', message: expect.stringMatching(/no interface sqmissing0/) });
    expect(real).toMatchObject({ status: 'fulfilled', value: { datapath: 'xdp', xdpAttached: [one.a.ifname] } });
    await closeAll();
  }, 30_000);
});
