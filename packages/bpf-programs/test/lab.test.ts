// SPDX-License-Identifier: Apache-2.0
// The program attached to a veth end (native, then generic mode), with real traffic from the
// peer namespace: IPv4 dropped, QUIC to 9292 delivered to a kernel udp6 socket when
// no AF_XDP socket is registered, neighbour discovery untouched.
import { createSocket, type Socket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import type { XdpLink, XdpMode } from '@stoq/loader';
import { COUNTER_NAMES, MAP_NAMES, PROGRAM_NAME, diffStats, ipv6ToBytes } from '../src/index.js';
import { LoadedStoqProgram, isRoot } from './support/kernel.js';


const sender = fileURLToPath(new URL('./support/peer-send.mjs', import.meta.url));
const QUIC_SHORT_HEX = '41' + '5a'.repeat(40);

function listen(type: 'udp4' | 'udp6', address: string, port: number): Promise<{ socket: Socket; received: Buffer[] }> {
  const socket = createSocket(type);
  const received: Buffer[] = [];
  socket.on('message', (msg) => received.push(msg));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve({ socket, received }));
  });
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

describe.each(['native', 'generic'] as XdpMode[])('stoq_xdp on a veth, %s mode, real traffic', skipUnless(isRoot, 'needs root: veth lab and XDP attach (native and generic)'), (mode) => {
  let lab: Lab;
  let prog: LoadedStoqProgram;
  let xdp: XdpLink | undefined;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    lab = await createLab({ hostSide: true, ipv4: true });
    prog = await LoadedStoqProgram.load();
    xdp = prog.attachXdp(lab.a.ifname, mode);
    console.log(`lab: ${PROGRAM_NAME} attached to ${lab.a.ifname} in ${mode} mode, prog id ${xdp.programId}`);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    try {
      xdp?.detach();
    } finally {
      prog?.close();
      await lab?.destroy();
    }
  });

  const send = (address: string, port: number, count: number) =>
    lab.exec(lab.b, process.execPath, [sender, address, String(port), String(count), QUIC_SHORT_HEX]);

  it('the link is in the mode asked for, and ip link shows the program by name', () => {
    expect(xdp!.mode).toBe(mode);
    expect(xdp!.programId).toBe(prog.program.id);
    const show = execFileSync('ip', ['-d', 'link', 'show', 'dev', lab.a.ifname], { encoding: 'utf8' });
    expect(show).toMatch(mode === 'generic' ? /xdpgeneric/ : /\bxdp\b.*prog\/xdp id/s);
    expect(show).toMatch(new RegExp(`prog/xdp id ${xdp!.programId} name ${PROGRAM_NAME}\\b`));
    expect(prog.map(MAP_NAMES.conntrack).type).toBe('lru_hash');
  });

  it('IPv4 UDP from the peer is dropped before any socket sees it', async () => {
    const l = await listen('udp4', lab.a.address4!, 9393);
    sockets.push(l.socket);
    const before = prog.readStats();
    await send(lab.a.address4!, 9393, 5);
    await new Promise((r) => setTimeout(r, 300));
    const d = diffStats(before, prog.readStats());
    expect(l.received).toHaveLength(0);
    expect(d.counters.ipv4_dropped).toBeGreaterThanOrEqual(5);
  });

  it('IPv6 QUIC to 9292 reaches a kernel udp6 socket when no AF_XDP socket is registered', async () => {
    const l = await listen('udp6', lab.a.address, 9292);
    sockets.push(l.socket);
    const before = prog.readStats();
    await send(lab.a.address, 9292, 5);
    await until(() => l.received.length >= 5, 3000);
    const d = diffStats(before, prog.readStats());
    expect(l.received).toHaveLength(5);
    expect(l.received[0]!.toString('hex')).toBe(QUIC_SHORT_HEX);
    expect(d.counters.quic_passed).toBe(5);
    expect(d.counters.quic_redirected).toBe(0);
    const flows = prog.conntrack();
    // Compared as bytes: the lab's address text need not be in canonical (RFC 5952) form.
    const peer = ipv6ToBytes(lab.b.address);
    expect(flows.some((e) => ipv6ToBytes(e.peerAddress).equals(peer) && e.localPort === 9292 && e.state === 'established'), JSON.stringify(flows, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).toBe(true);
  });

  it('operators see program, maps and flow by name with bpftool (prog show, map dump name stoq_conntrack)', () => {
    const bpftool = (...args: string[]) => JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8', maxBuffer: 512 << 20 })) as unknown;
    const info = bpftool('prog', 'show', 'id', String(xdp!.programId)) as { name: string; type: string; map_ids: number[] };
    expect(info).toMatchObject({ name: PROGRAM_NAME, type: 'xdp' });
    const named = bpftool('map', 'show', 'name', MAP_NAMES.conntrack) as Array<{ id: number; name: string; type: string }> | { id: number; name: string; type: string };
    const ours = (Array.isArray(named) ? named : [named]).find((m) => info.map_ids.includes(m.id));
    expect(ours).toMatchObject({ name: MAP_NAMES.conntrack, type: 'lru_hash' });
    type Element = { formatted: { key: { local_port: number }; value: { state: number; packets: number } } };
    // The operators' command. With several STOQ objects loaded (other tests, other users)
    // it prints [{ id, elements }] for each, which can be large: hence the big buffer.
    const dump = bpftool('map', 'dump', 'name', MAP_NAMES.conntrack) as Array<Element> | Array<{ id: number; elements: Element[] }>;
    const mine = dump.length > 0 && 'elements' in dump[0]!
      ? (dump as Array<{ id: number; elements: Element[] }>).find((d) => d.id === ours!.id)
      : { elements: dump as Element[] };
    expect(mine?.elements.map((e) => e.formatted)).toContainEqual(
      expect.objectContaining({ key: expect.objectContaining({ local_port: 9292 }), value: expect.objectContaining({ state: 3, packets: 5 }) }),
    );
  });

  it('neighbour discovery still works: ping -6 without static neighbours', async () => {
    const before = prog.readStats();
    await lab.exec(lab.b, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', lab.a.address]);
    const d = diffStats(before, prog.readStats());
    expect(d.counters.ipv6_non_udp_passed).toBeGreaterThanOrEqual(3);
    const total = COUNTER_NAMES.slice(2).reduce((n, c) => n + d.counters[c], 0);
    expect(total).toBe(d.counters.rx_packets);
  });
});
