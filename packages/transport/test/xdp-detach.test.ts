// SPDX-License-Identifier: Apache-2.0
// stoq_xdp detached from outside mid-transfer (BPF_LINK_DETACH through `bpftool link
// detach`, the one way to take a bpf_link program off an interface without the
// owner): the transport notices, reports it, carries on over the kernel socket with
// the same connection, and attachXdpToInterface() brings it back onto AF_XDP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createHash, randomBytes } from 'node:crypto';
import * as diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { DatapathChange, StoqConnection, StoqTransport } from '../src/index.js';
import { isRoot, sha256, waitFor } from './helpers.js';
import { createXdpLab, echo, type Peer, type XdpLab } from './xdp-lab.js';

const MiB = 1024 * 1024;

/** Writes `bytes` of random data in 256 KiB chunks, hashing as it goes. */
async function write(stream: Writable, hash: ReturnType<typeof createHash>, bytes: number): Promise<void> {
  for (let sent = 0; sent < bytes; sent += 256 * 1024) {
    const chunk = randomBytes(256 * 1024);
    hash.update(chunk);
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
}

describe('stoq_xdp detached from outside', skipUnless(isRoot, 'needs root: XDP attach and detaching its link from outside on a veth lab'), () => {
  let x: XdpLab;
  let peer: Peer;

  beforeAll(async () => {
    x = await createXdpLab();
    peer = await x.startPeer({});
  });
  afterAll(async () => {
    await x?.destroy();
  });

  /** The XDP program id on side A, and the id of the bpf_link that holds it there. */
  async function attachedLink(): Promise<{ programId: number; linkId: number } | null> {
    const { stdout } = await x.lab.exec(x.lab.a, 'bpftool', ['-j', 'net', 'show', 'dev', x.lab.a.ifname]);
    const programId = (JSON.parse(stdout) as Array<{ xdp: Array<{ id: number }> }>)[0]?.xdp[0]?.id;
    if (programId === undefined) return null;
    const links = JSON.parse((await x.lab.exec(x.lab.a, 'bpftool', ['-j', 'link', 'show'])).stdout) as Array<{ id: number; type: string; prog_id: number }>;
    const link = links.find((l) => l.type === 'xdp' && l.prog_id === programId);
    if (!link) throw new Error(`program ${programId} on ${x.lab.a.ifname} is not held by a bpf_link: ${stdout}`);
    return { programId, linkId: link.id };
  }

  it('mid-transfer: noticed, reported, the connection continues over the kernel socket, and re-attach returns to AF_XDP', async () => {
    const t = await x.client({ interface: x.lab.a.ifname });
    expect(t.getEbpfStatus().datapath).toBe('xdp');
    const changes: DatapathChange[] = [];
    t.on('datapathChange', (c) => changes.push(c));
    const published: Array<{ datapath: string; fallbackReason?: string }> = [];
    const onSelected = (m: unknown) => {
      const msg = m as { transport: unknown; datapath: string; fallbackReason?: string };
      if (msg.transport === t) published.push({ datapath: msg.datapath, fallbackReason: msg.fallbackReason });
    };
    diagnostics.subscribe('stoq:transport:datapath:selected', onSelected);
    try {
      const conn = await t.connect(x.target(peer), { serverName: 'stoq.test' });
      let closed = false;
      conn.on('close', () => (closed = true));
      const stream = await conn.openStream();
      const reply: Buffer[] = [];
      stream.on('data', (c: Buffer) => reply.push(c));
      const ended = once(stream, 'end');
      const hash = createHash('sha256');
      let total = 0;

      // 1. On AF_XDP.
      await write(stream, hash, 8 * MiB);
      total += 8 * MiB;
      expect(await echo(t, conn, 256 * 1024)).toBe(true);
      const before = t.stats().xdp!;
      expect(before.rxDatagrams).toBeGreaterThan(100);
      const first = await attachedLink();
      expect(first).not.toBeNull();

      // 2. Detached from outside while data flows. netlink cannot do it (the link owns the hook).
      await expect(x.lab.exec(x.lab.a, 'ip', ['link', 'set', 'dev', x.lab.a.ifname, 'xdp', 'off'])).rejects.toThrow(/active BPF XDP link/);
      const writing = write(stream, hash, 8 * MiB);
      const detachedAt = performance.now();
      await x.lab.exec(x.lab.a, 'bpftool', ['link', 'detach', 'id', String(first!.linkId)]);
      expect(await attachedLink()).toBeNull();
      await waitFor(() => changes.length === 1, 5000, 'datapathChange after the detach');
      const noticedMs = performance.now() - detachedAt;
      await writing;
      total += 8 * MiB;
      const status = t.getEbpfStatus();
      expect(status.datapath).toBe('dgram');
      expect(status.xdpAttached).toEqual([]);
      expect(status.fallbackReason).toMatch(/detached from outside/);
      expect(changes[0]).toMatchObject({ datapath: 'dgram', previous: 'xdp' });
      expect(published.at(-1)).toEqual({ datapath: 'dgram', fallbackReason: status.fallbackReason });
      expect(t.stats().xdp).toBeUndefined();
      const kernelRx = () => t.stats().datapaths.find((d) => d.kind === 'dgram')!.rxDatagrams;
      const kernelBefore = kernelRx();
      await write(stream, hash, 8 * MiB);
      total += 8 * MiB;
      expect(await echo(t, conn, 256 * 1024)).toBe(true);
      const onKernel = kernelRx() - kernelBefore;
      expect(onKernel).toBeGreaterThan(100);

      // 3. Re-attached: back on AF_XDP (a new program, the same connection).
      const again = await t.attachXdpToInterface(x.lab.a.ifname);
      expect(again.datapath).toBe('xdp');
      expect(again.fallbackReason).toBeUndefined();
      expect(changes[1]).toMatchObject({ datapath: 'xdp', previous: 'dgram' });
      expect(published.at(-1)?.datapath).toBe('xdp');
      const second = await attachedLink();
      expect(second?.programId).not.toBe(first!.programId);
      const kernelAfterAttach = kernelRx();
      await write(stream, hash, 8 * MiB);
      total += 8 * MiB;
      expect(await echo(t, conn, 256 * 1024)).toBe(true);
      stream.end();
      await ended;
      const after = t.stats().xdp!;
      expect(after.programCounters.quic_redirected).toBeGreaterThan(100);
      expect(after.rxDatagrams).toBeGreaterThan(100);
      expect(kernelRx() - kernelAfterAttach).toBeLessThan(after.rxDatagrams / 10);

      expect(Buffer.concat(reply).toString()).toBe(`${total} ${hash.digest('hex')}`);
      expect(closed).toBe(false);
      expect(conn.closeError ?? null).toBeNull();
      console.log(
        `detach noticed after ${noticedMs.toFixed(0)} ms; ${total / MiB} MiB intact; on the kernel path ${onKernel} datagrams received; ` +
        `after re-attach ${after.rxDatagrams} over AF_XDP (quic_redirected ${after.programCounters.quic_redirected}); QUIC lost ${conn.stats().lost}`,
      );
      await conn.close();
    } finally {
      diagnostics.unsubscribe('stoq:transport:datapath:selected', onSelected);
      await t.close();
    }
  }, 60_000);

  it('with no traffic the 1 s check notices it alone; an idle connection then works over the kernel path', async () => {
    const t = await x.client({ interface: x.lab.a.ifname });
    expect(t.getEbpfStatus().datapath).toBe('xdp');
    const conn = await t.connect(x.target(peer), { serverName: 'stoq.test' });
    const changed = once(t, 'datapathChange') as Promise<[DatapathChange]>;
    const link = await attachedLink();
    const detachedAt = performance.now();
    await x.lab.exec(x.lab.a, 'bpftool', ['link', 'detach', 'id', String(link!.linkId)]);
    const [change] = await changed;
    const noticedMs = performance.now() - detachedAt;
    console.log(`idle: detach noticed by the periodic check after ${noticedMs.toFixed(0)} ms`);
    expect(change.datapath).toBe('dgram');
    expect(noticedMs).toBeLessThan(2500);
    expect(await echo(t, conn, 64 * 1024)).toBe(true);
    expect((await t.attachXdpToInterface(x.lab.a.ifname)).datapath).toBe('xdp');
    expect(await echo(t, conn, 64 * 1024)).toBe(true);
    expect(t.stats().xdp!.rxDatagrams).toBeGreaterThan(0);
    await conn.close();
    await t.close();
  }, 30_000);
});
