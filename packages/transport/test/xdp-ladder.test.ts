// SPDX-License-Identifier: Apache-2.0
// The fallback ladder for real: a child without capabilities, a loopback interface
// (no native XDP: generic mode, refused while GRO is on), and a kill -9 that must
// leave no XDP program and no AF_XDP socket behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EbpfStatus } from '../src/index.js';
import { isRoot } from './helpers.js';
import { createXdpLab, type XdpLab } from './xdp-lab.js';

const probe = join(import.meta.dirname, 'fixtures', 'ladder-probe.mjs');
const run = promisify(execFile);
if (!isRoot) console.log('XDP ladder tests skipped: they need root to create namespaces and to drop capabilities from');

interface Exchange {
  echoedBytes: number; rx: number; tx: number; txViaKernel: number; redirected: number; passed: number; clientDatagrams: number; clientSends: number;
}

interface ProbeResult {
  status?: EbpfStatus;
  exchange?: Exchange | null;
  gsoExchange?: Exchange | null;
  error?: { name: string; code: string; message: string; reasons: string[] };
}

describe.skipIf(!isRoot)('fallback ladder', () => {
  let x: XdpLab;
  beforeAll(async () => {
    x = await createXdpLab();
  });
  afterAll(async () => {
    await x?.destroy();
  });

  async function inLabB(args: string[]): Promise<ProbeResult> {
    const { stdout } = await x.lab.exec(x.lab.b, process.execPath, [probe, ...args], 30_000);
    return JSON.parse(stdout.trim().split('\n').pop()!) as ProbeResult;
  }

  it("without capabilities: 'auto' runs over dgram and says why on every rung; 'xdp' throws the typed error", async () => {
    const drop = ['--inh-caps=-all', '--bounding-set=-all', process.execPath, probe, x.lab.a.ifname];
    const auto = JSON.parse((await run('setpriv', [...drop, 'auto'], { timeout: 30_000 })).stdout.trim()) as ProbeResult;
    expect(auto.status).toMatchObject({ datapath: 'dgram', xdpAvailable: false, afXdpAvailable: false, xdpAttached: [] });
    expect(auto.status!.ladder.map((r) => r.outcome)).toEqual(['failed', 'failed', 'failed']);
    for (const rung of auto.status!.ladder) expect(rung.reason).toMatch(/STOQ_ERR_BPF_PERMISSION.*CAP_BPF/);
    expect(auto.status!.fallbackReason).toMatch(/^XDP datapath unavailable on sq\w+: native\+zerocopy: loading stoq_xdp failed: STOQ_ERR_BPF_PERMISSION/);
    console.log('unprivileged fallbackReason:', auto.status!.fallbackReason);

    const xdp = JSON.parse((await run('setpriv', [...drop, 'xdp'], { timeout: 30_000 })).stdout.trim()) as ProbeResult;
    expect(xdp.error).toMatchObject({ name: 'StoqXdpUnavailableError', code: 'STOQ_ERR_XDP_UNAVAILABLE' });
    expect(xdp.error!.reasons).toHaveLength(3);
    expect(xdp.error!.reasons[0]).toMatch(/^native\+zerocopy: loading stoq_xdp failed: STOQ_ERR_BPF_PERMISSION/);
  }, 40_000);

  it('on loopback (no native XDP): generic mode is refused while GRO is on, and used with copy-mode AF_XDP once it is off', async () => {
    await x.lab.exec(x.lab.b, 'ethtool', ['-K', 'lo', 'gro', 'on']);
    const refused = await inLabB(['lo', 'auto']);
    expect(refused.status!.datapath).toBe('dgram');
    const [nz, nc, gc] = refused.status!.ladder;
    expect(nz!.reason).toMatch(/native XDP|EOPNOTSUPP|XDP_UNSUPPORTED/);
    expect(nc!.reason).toMatch(/native XDP|EOPNOTSUPP|XDP_UNSUPPORTED/);
    expect(gc!.reason).toMatch(/GRO is on for lo.*ethtool -K lo gro off/);

    await x.lab.exec(x.lab.b, 'ethtool', ['-K', 'lo', 'gro', 'off']);
    const used = await inLabB(['lo', 'xdp']);
    expect(used.error).toBeUndefined();
    expect(used.status).toMatchObject({ datapath: 'xdp', xdpMode: 'generic', afXdpMode: 'copy', xdpAttached: ['lo'], zeroCopySockets: [] });
    expect(used.status!.ladder.map((r) => r.outcome)).toEqual(['failed', 'failed', 'used']);
    console.log('loopback exchange over generic XDP:', JSON.stringify(used.exchange));
    expect(used.exchange!.echoedBytes).toBe(200_000);
    expect(used.exchange!.rx).toBeGreaterThan(100);
    expect(used.exchange!.redirected).toBeGreaterThanOrEqual(used.exchange!.rx);
    // Loopback needs no neighbour: frames go out through AF_XDP from the start.
    expect(used.exchange!.tx).toBeGreaterThan(100);
    // A GSO sender on the same host: its runs arrive whole (max_redirect_payload sends
    // them to the kernel, which splits them), nothing is lost.
    console.log('same with a UDP GSO client:', JSON.stringify(used.gsoExchange));
    expect(used.gsoExchange!.echoedBytes).toBe(200_000);
    expect(used.gsoExchange!.clientSends).toBeLessThan(used.gsoExchange!.clientDatagrams / 2);
    expect(used.gsoExchange!.passed).toBeGreaterThan(0);
  }, 40_000);

  it('kill -9 of an XDP server leaves no XDP program behind (bpf_link), and the program itself is gone', async () => {
    const peer = await x.startPeer({ STOQ_INTERFACE: x.lab.b.ifname });
    expect(peer.status.datapath).toBe('xdp');
    const linkWith = (await x.lab.exec(x.lab.b, 'ip', ['-d', 'link', 'show', 'dev', x.lab.b.ifname])).stdout;
    const id = /prog\/xdp id (\d+)/.exec(linkWith)?.[1];
    expect(id).toBeDefined();
    peer.child.kill('SIGKILL');
    await once(peer.child, 'exit');
    const deadline = Date.now() + 5000;
    let link = '';
    let programAlive = true;
    while (Date.now() < deadline) {
      link = (await x.lab.exec(x.lab.b, 'ip', ['-d', 'link', 'show', 'dev', x.lab.b.ifname])).stdout;
      programAlive = await run('bpftool', ['prog', 'show', 'id', id!]).then(() => true, () => false);
      if (!/prog\/xdp/.test(link) && !programAlive) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(link).not.toMatch(/prog\/xdp/);
    expect(programAlive).toBe(false);
  }, 30_000);
});
