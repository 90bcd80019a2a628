import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { withLab } from '@stoq/netlab';
import { describe, expect, it } from 'vitest';

const FLOOD = fileURLToPath(new URL('../build/udp6_flood', import.meta.url));
const XSK_COUNT = fileURLToPath(new URL('../build/xsk_count', import.meta.url));

describe('udp6_flood', () => {
  it('sends exactly COUNT datagrams of the asked size across a lab veth', async () => {
    await withLab({ hostSide: true, staticNeighbours: true, timeoutMs: 60_000 }, async (lab) => {
      const socket = createSocket({ type: 'udp6', recvBufferSize: 8 << 20 });
      const sizes: number[] = [];
      socket.on('message', (msg) => sizes.push(msg.length));
      await new Promise<void>((resolve) => socket.bind(9400, lab.a.address, resolve));
      try {
        const { stdout } = await lab.exec(lab.b, FLOOD, [lab.a.address, '9400', '256', '500', '5']);
        const report = JSON.parse(stdout) as { sent: number; payload: number; sendErrors: number };
        expect(report).toMatchObject({ sent: 500, payload: 256, sendErrors: 0 });
        const deadline = Date.now() + 3000;
        while (sizes.length < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(sizes.length).toBe(500);
        expect(new Set(sizes)).toEqual(new Set([256]));
      } finally {
        socket.close();
      }
    });
  });

  it("the 'initial' shape sends QUIC v1 Initials, each with its own DCID", async () => {
    await withLab({ hostSide: true, staticNeighbours: true, timeoutMs: 60_000 }, async (lab) => {
      const socket = createSocket({ type: 'udp6', recvBufferSize: 8 << 20 });
      const received: Buffer[] = [];
      socket.on('message', (msg) => received.push(msg));
      await new Promise<void>((resolve) => socket.bind(9401, lab.a.address, resolve));
      try {
        const { stdout } = await lab.exec(lab.b, FLOOD, [lab.a.address, '9401', '1200', '100', '5', 'initial']);
        expect(JSON.parse(stdout)).toMatchObject({ sent: 100, payload: 1200, shape: 'initial' });
        const deadline = Date.now() + 3000;
        while (received.length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(received).toHaveLength(100);
        for (const [i, datagram] of received.entries()) {
          expect(datagram.subarray(0, 6).toString('hex')).toBe('c30000000108'); // long header Initial, v1, DCID length 8
          expect(datagram.readBigUInt64LE(6)).toBe(BigInt(i)); // DCID = sequence number
          expect(datagram[6 + 8]).toBe(0); // no SCID
          expect(datagram.readUInt16BE(16) & 0x3fff).toBe(1200 - 18); // length varint covers the rest
        }
      } finally {
        socket.close();
      }
    });
  });

  it('refuses bad arguments with a usage error', async () => {
    await withLab({ timeoutMs: 30_000 }, async (lab) => {
      await expect(lab.exec(lab.b, FLOOD, ['not-an-address', '9400', '64', '1', '1'])).rejects.toThrow(/bad IPv6 address/);
      await expect(lab.exec(lab.b, FLOOD, [lab.a.address, '9400', '4', '1', '1'])).rejects.toThrow(/payload must be 8..1400/);
      await expect(lab.exec(lab.b, FLOOD, [lab.a.address, '9400', '64', '1', '1', 'tcp'])).rejects.toThrow(/shape must be raw or initial/);
    });
  });
});

describe('xsk_count', () => {
  // Besides the flood, the receiver's queue gets the few frames side B's kernel sends by
  // itself in the first seconds of a veth (MLD reports, router solicitations, DAD of its
  // link-local address; the lab's static neighbours spare ND): 2 to 5 seen per run.
  const FLOOD_FRAMES = 2000;
  const STRAY_FRAMES_MAX = 10;

  it.each([
    [['batch=16'], 'aligned'],
    [['stagger', 'batch=16', 'thp'], 'staggered'],
  ])('receives the flood through a copy-mode AF_XDP socket on the lab veth (%j)', async (options, layout) => {
    await withLab({ hostSide: true, staticNeighbours: true, timeoutMs: 60_000 }, async (lab) => {
      const receiver = lab.spawn(lab.a, XSK_COUNT, [lab.a.ifname, '0', '10', '1', ...options]);
      let out = '';
      let err = '';
      receiver.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => receiver.once('exit', resolve));
      // xsk_count prints "ready" once its socket is bound, libxdp's redirect program attached
      // and the fill ring stocked: only then does the flood start.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`xsk_count not ready within 10 s; stderr: ${err}`)), 10_000);
        receiver.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (/^ready$/m.test(out)) (clearTimeout(timer), resolve());
        });
        void exited.then((code) => (clearTimeout(timer), reject(new Error(`xsk_count exited (${code}) before ready; stderr: ${err}`))));
      });
      await lab.exec(lab.b, FLOOD, [lab.a.address, '9400', '64', String(FLOOD_FRAMES), '5']);
      expect(await exited, err).toBe(0);
      const report = JSON.parse(out.trim().split('\n').pop()!) as { packets: number; rxDropped: number; mode?: string; layout?: string };
      // Every flood frame (nothing dropped) plus at most STRAY_FRAMES_MAX strays.
      expect(report.rxDropped).toBe(0);
      expect(report.packets, JSON.stringify(report)).toBeGreaterThanOrEqual(FLOOD_FRAMES);
      expect(report.packets, JSON.stringify(report)).toBeLessThanOrEqual(FLOOD_FRAMES + STRAY_FRAMES_MAX);
      expect(report.mode).toBe('copy');
      expect(report.layout).toBe(layout);
    });
  });

  it('refuses a batch outside 1..1024 before touching any interface', async () => {
    for (const bad of ['batch=0', 'batch=1025', 'batch=12x']) {
      const result = spawnSync(XSK_COUNT, ['no-such-if', '0', '1', '1', bad], { encoding: 'utf8' });
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/batch must be an integer in \[1, 1024\]/);
    }
  });
});
