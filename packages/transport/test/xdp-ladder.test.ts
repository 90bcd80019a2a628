// SPDX-License-Identifier: Apache-2.0
// The fallback ladder for real: a child without capabilities, a loopback interface
// (no native XDP: generic mode, refused while GRO is on, also when ethtool is not on
// PATH), an L3 interface (tun: refused before anything is opened), a rung failing after
// its sockets opened (closed again), and a kill -9 that must leave no XDP program and no
// AF_XDP socket behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DgramDatapath } from '../src/datapath/dgram-datapath.js';
import { groEnabled } from '../src/datapath/xdp/interface-info.js';
import { climbLadder } from '../src/datapath/xdp/ladder.js';
import { loadNativeModules, type NativeModules } from '../src/datapath/xdp/native-modules.js';
import { groRefusal } from '../src/datapath/xdp/precheck.js';
import type { EbpfStatus, XdpInterfaceRefusals } from '../src/index.js';
import { isRoot } from './helpers.js';
import { createXdpLab, type XdpLab } from './xdp-lab.js';

const probe = join(import.meta.dirname, 'fixtures', 'ladder-probe.mjs');
const dist = join(import.meta.dirname, '..', 'dist', 'index.js');

/** Open socket fds of this process (AF_XDP sockets among them). */
function socketFds(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}
const run = promisify(execFile);

interface Exchange {
  echoedBytes: number; rx: number; tx: number; txViaKernel: number; redirected: number; passed: number; clientDatagrams: number; clientSends: number;
}

interface ProbeResult {
  status?: EbpfStatus;
  exchange?: Exchange | null;
  gsoExchange?: Exchange | null;
  error?: { name: string; code: string; message: string; reasons: string[] };
}

describe('fallback ladder', skipUnless(isRoot, 'needs root: lab namespaces and capabilities to drop'), () => {
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

  it('the GRO check does not depend on PATH (ethtool is looked for in the sbin directories too); an unknown GRO state refuses generic mode', async () => {
    await x.lab.exec(x.lab.b, 'ethtool', ['-K', 'lo', 'gro', 'on']);
    const script = `import(${JSON.stringify(dist)}).then((m) => console.log(JSON.stringify(m.xdpInterfaceRefusals('lo'))))`;
    const { stdout } = await x.lab.exec(x.lab.b, '/usr/bin/env', ['PATH=/nonexistent', process.execPath, '--input-type=module', '-e', script], 30_000);
    const refusals = JSON.parse(stdout.trim()) as XdpInterfaceRefusals;
    expect(refusals.all).toBeNull();
    expect(refusals.generic).toMatch(/GRO is on for lo.*ethtool -K lo gro off/);
    // No ethtool anywhere: unknown, which refuses generic mode and says how to check.
    expect(groEnabled('lo', ['/nonexistent/ethtool'])).toBeNull();
    expect(groRefusal('eth9', null)).toMatch(/GRO state of eth9 is unknown.*ethtool -k eth9.*ethtool -K eth9 gro off/);
    expect(groRefusal('eth9', false)).toBeNull();
  }, 40_000);

  it('an L3 interface (tun: no MAC, link type 65534) is refused before anything is opened, on every climb', async () => {
    await x.lab.exec(x.lab.b, 'ip', ['tuntap', 'add', 'dev', 'sqtun0', 'mode', 'tun']);
    await x.lab.exec(x.lab.b, 'ip', ['link', 'set', 'sqtun0', 'up']);
    const reason = /^sqtun0 is not an Ethernet interface \(link type 65534: an L3 device such as tun or WireGuard\)/;
    const auto = await inLabB(['sqtun0', 'auto']);
    expect(auto.status!.datapath).toBe('dgram');
    expect(auto.status!.ladder).toHaveLength(3);
    for (const rung of auto.status!.ladder) expect(rung.reason).toMatch(reason);
    const xdp = await inLabB(['sqtun0', 'xdp']);
    expect(xdp.error).toMatchObject({ code: 'STOQ_ERR_XDP_UNAVAILABLE' });
    for (const r of xdp.error!.reasons) expect(r).toMatch(/: sqtun0 is not an Ethernet interface/);
  }, 40_000);

  it('a rung failing after its AF_XDP sockets opened closes them and the UMEM: nothing leaks, the next climb binds the same queue', async () => {
    const native = await loadNativeModules();
    if (!native.ok) throw new Error(native.reason);
    // The datapath cannot be built (after XskSet.open and registerSocket).
    const failing: NativeModules = {
      ...native.modules,
      afXdp: {
        ...native.modules.afXdp,
        ParsedUdp6Frame: class {
          constructor() {
            throw new Error('injected: the datapath could not be built');
          }
        } as unknown as NativeModules['afXdp']['ParsedUdp6Frame'],
      },
    };
    const dgram = await DgramDatapath.bind({ address: '::', port: 0, recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
    try {
      const options = { ifname: x.lab.a.ifname, dgram, boundAddress: null, programConfig: { quicPorts: [dgram.localAddress().port] } };
      const before = socketFds();
      const failed = await climbLadder({ modules: failing, ...options });
      expect(failed.datapath).toBeNull();
      // veth: no zero-copy; then native+copy and generic+copy both get as far as the datapath.
      expect(failed.rungs.map((r) => r.reason)).toEqual([
        expect.stringMatching(/ZEROCOPY|EOPNOTSUPP/),
        expect.stringMatching(/injected: the datapath could not be built/),
        expect.stringMatching(/injected: the datapath could not be built/),
      ]);
      expect(socketFds()).toBe(before);
      const ok = await climbLadder({ modules: native.modules, ...options });
      expect(ok.rungs[1]).toEqual({ rung: 'native+copy', outcome: 'used' });
      await ok.datapath!.close();
      expect(socketFds()).toBe(before);
    } finally {
      await dgram.close();
    }
  }, 30_000);

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
