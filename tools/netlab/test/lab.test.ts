import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLab, run, withLab } from '../src/index.js';
import { chooseIpv4Subnet } from '../src/ipv4.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

async function namespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

async function linkExists(name: string): Promise<boolean> {
  return run('ip', ['link', 'show', 'dev', name]).then(() => true, () => false);
}

describe('network lab', () => {
  it('joins two namespaces with IPv6 that answers ping, then removes everything', async () => {
    const lab = await createLab({ staticNeighbours: true });
    try {
      expect(lab.a.address).toMatch(/^fd00:/);
      expect(lab.a.ifindex).toBeGreaterThan(0);
      expect(lab.b.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      const { stdout } = await lab.exec(lab.b, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', lab.a.address]);
      expect(stdout).toMatch(/2 received/);
      expect(await namespaces()).toEqual(expect.arrayContaining([lab.a.netns, lab.b.netns]));
    } finally {
      await lab.destroy();
    }
    expect(await namespaces()).not.toContain(lab.b.netns);
    expect(await namespaces()).not.toContain(lab.a.netns);
  });

  it('can keep side A in the caller namespace with several queues', async () => {
    const id = await withLab({ hostSide: true, queues: 2 }, async (lab) => {
      expect(lab.a.netns).toBeNull();
      expect(await linkExists(lab.a.ifname)).toBe(true);
      const { stdout } = await run('ls', [`/sys/class/net/${lab.a.ifname}/queues`]);
      expect(stdout.split('\n').filter((q) => q.startsWith('rx-'))).toHaveLength(2);
      return lab.a.ifname;
    });
    expect(await linkExists(id)).toBe(false);
  });

  it('adds IPv4 benchmarking addresses on request', async () => {
    await withLab({ ipv4: true }, async (lab) => {
      expect(lab.a.address4).toMatch(/^198\.1[89]\.\d+\.1$/);
      const { stdout } = await lab.exec(lab.b, 'ping', ['-4', '-c', '1', '-W', '2', lab.a.address4 ?? '']);
      expect(stdout).toMatch(/1 received/);
    });
  });

  it("a host-side IPv4 lab skips a /24 already on the caller's namespace", async () => {
    await withLab({ ipv4: true, hostSide: true }, async (lab) => {
      const taken = (lab.a.address4 ?? '').split('.').slice(0, 3).join('.');
      const [, second = 0, third = 0] = taken.split('.').map(Number);
      // An id whose own /24 is the one lab A holds on this namespace now.
      const clashingId = (((second - 18) << 8) | third).toString(16).padStart(4, '0') + '00';
      expect(await chooseIpv4Subnet(clashingId, false)).toBe(taken);
      const chosen = await chooseIpv4Subnet(clashingId, true);
      expect(chosen).not.toBe(taken);
      expect(chosen).toMatch(/^198\.1[89]\.\d+$/);
    });
  });

  it('tears down when fn throws', async () => {
    let ns: string | null = null;
    await expect(
      withLab({}, async (lab) => {
        ns = lab.b.netns;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await namespaces()).not.toContain(ns);
  });

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('tears down when the owning process gets %s', async (sig) => {
    const child = spawn(process.execPath, [cli, 'up'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`stoq-netlab exited early with ${code}`);
    });
    const [line] = (await Promise.race([once(child.stdout, 'data'), exited])) as [Buffer];
    const info = JSON.parse(line.toString()) as { b: { netns: string } };
    expect(await namespaces()).toContain(info.b.netns);
    child.kill(sig);
    const [code, signal] = await once(child, 'exit');
    expect(signal ?? code).toBe(sig);
    expect(await namespaces()).not.toContain(info.b.netns);
  });

  it('a burst of SIGINTs (Ctrl-C twice, a process-group signal) still tears everything down', async () => {
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, [cli, 'up'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const info = JSON.parse(line.toString()) as { id: string; a: { netns: string }; b: { netns: string } };
      const exited = once(child, 'exit');
      for (let i = 0; i < 40 && child.exitCode === null && child.signalCode === null; i++) {
        child.kill('SIGINT');
        await new Promise((r) => setTimeout(r, 2));
      }
      await exited;
      const left = await namespaces();
      expect(left).not.toContain(info.a.netns);
      expect(left).not.toContain(info.b.netns);
    }
  }, 60_000);

  it('a lab whose owner was SIGKILLed (no exit hooks ran) is reaped by the next lab', async () => {
    const child = spawn(process.execPath, [cli, 'up'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const info = JSON.parse(line.toString()) as { b: { netns: string } };
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await namespaces()).toContain(info.b.netns); // nothing could clean up
    const next = await createLab();
    try {
      expect(await namespaces()).not.toContain(info.b.netns);
    } finally {
      await next.destroy();
    }
  });

  it('addresses are in canonical text form (what the kernel and Node print)', async () => {
    for (let i = 0; i < 20; i++) {
      const lab = await createLab();
      try {
        for (const side of [lab.a, lab.b]) expect(side.address).toBe(new URL(`http://[${side.address}]/`).hostname.slice(1, -1));
        expect(lab.a.address).not.toMatch(/:0[0-9a-f]/); // no leading zero in any group
      } finally {
        await lab.destroy();
      }
    }
  });

  it('refuses a timeout Node would turn into 1 ms (NaN, Infinity, 2^31) before creating anything', async () => {
    const before = await namespaces();
    for (const timeoutMs of [Number.NaN, Infinity, 2 ** 31, 0]) {
      await expect(createLab({ timeoutMs })).rejects.toThrow(/timeoutMs must be an integer/);
    }
    expect(await namespaces()).toEqual(before);
  });

  it('leaves no namespace or veth behind when the build fails midway', async () => {
    const before = await namespaces();
    const links = async () => (await run('ip', ['-o', 'link'])).stdout.split('\n').filter((l) => / sq[0-9a-f]{6}[ab]@/.test(l)).length;
    const linksBefore = await links();
    // An MTU the veth refuses fails the build after the namespaces and the pair exist.
    await expect(createLab({ mtu: 1_000_000 })).rejects.toThrow(/mtu/i);
    // A failure before side A's end moves into its namespace (an `ip` that refuses that
    // one step) used to leave the pair in the host namespace.
    const bin = mkdtempSync(join(tmpdir(), 'stoq-netlab-ip-'));
    const ip = execFileSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).trim();
    writeFileSync(join(bin, 'ip'), `#!/bin/sh\ncase "$*" in "link set sq"*"a netns stoq-"*) echo refused >&2; exit 1;; esac\nexec ${ip} "$@"\n`, { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      await expect(createLab({})).rejects.toThrow(/refused/);
    } finally {
      process.env.PATH = path;
      rmSync(bin, { recursive: true, force: true });
    }
    expect(await namespaces()).toEqual(before);
    expect(await links()).toBe(linksBefore);
  });

  it('run() kills a command that ignores SIGTERM at its timeout', async () => {
    const started = Date.now();
    await expect(run('sh', ['-c', 'trap "" TERM; sleep 5'], 300)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('tears down by itself when its timeout passes', async () => {
    const lab = await createLab({ timeoutMs: 300 });
    await new Promise((r) => setTimeout(r, 600));
    expect(await namespaces()).not.toContain(lab.b.netns);
    await lab.destroy();
  });
});
