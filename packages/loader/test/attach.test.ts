import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createLab, type Lab } from '@stoq/netlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfError, BpfObject, probe, type XdpLink } from '../src/index.ts';
import { CHILD_SCRIPT, u32, VERDICTS_OBJECT } from './support/fixtures.ts';

const PINGS = 20;

/** What `ip` (not the loader) says is attached: mode 'xdp' (native) / 'xdpgeneric', program id. */
function xdpOnInterface(ifname: string, netns?: string | null): { mode: number; id: number } | null {
  const argv = [...(netns ? ['-n', netns] : []), '-j', '-d', 'link', 'show', 'dev', ifname];
  const [info] = JSON.parse(execFileSync('ip', argv, { encoding: 'utf8' })) as Array<{ xdp?: { mode: number; prog?: { id: number } } }>;
  return info?.xdp?.prog ? { mode: info.xdp.mode, id: info.xdp.prog.id } : null;
}
const XDP_ATTACHED_DRV = 1;
const XDP_ATTACHED_SKB = 2;

describe('XDP attach on a lab veth (real packets from the peer namespace)', () => {
  let lab: Lab;
  let object: BpfObject;
  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true, timeoutMs: 120_000 });
    object = await BpfObject.load(VERDICTS_OBJECT);
  });
  afterAll(async () => {
    object?.close();
    await lab?.destroy();
  });

  /** Frames counted under the first byte of side A's MAC (every frame sent to A starts with it). */
  function framesToA(): bigint {
    const first = Number.parseInt(lab.a.mac.slice(0, 2), 16);
    return object.map('by_first_byte').lookup(u32(first))?.readBigUInt64LE() ?? 0n;
  }

  async function pingAFromB(): Promise<void> {
    // Kernel-made MACs are locally administered unicast, so they never start with 'D' (0x44) or 'A' (0x41): these pings pass.
    await lab.exec(lab.b, 'ping', ['-6', '-c', String(PINGS), '-i', '0.01', '-W', '2', lab.a.address], 30_000);
  }

  for (const mode of ['native', 'generic'] as const) {
    it(`${mode} mode counts the packets sent from the peer, and detach removes it`, async () => {
      const before = framesToA();
      const link = object.program('verdicts').attachXdp(lab.a.ifname, { mode });
      try {
        expect(link.mode).toBe(mode);
        expect(link.ifindex).toBe(lab.a.ifindex);
        expect(xdpOnInterface(lab.a.ifname)).toEqual({ mode: mode === 'native' ? XDP_ATTACHED_DRV : XDP_ATTACHED_SKB, id: link.programId });
        await pingAFromB();
        const counted = framesToA() - before;
        expect(counted).toBeGreaterThanOrEqual(BigInt(PINGS)); // every echo request ...
        expect(counted).toBeLessThanOrEqual(BigInt(PINGS + 10)); // ... and little else (static neighbours: no NDP storm)
      } finally {
        link.detach();
      }
      expect(link.attached).toBe(false);
      link.detach(); // idempotent
      expect(xdpOnInterface(lab.a.ifname)).toBeNull();
    });
  }

  it("'auto' picks native on veth and records no fallback", () => {
    const link = object.program('verdicts').attachXdp(lab.a.ifindex);
    try {
      expect([link.mode, link.fallbacks.length, link.ifname]).toEqual(['native', 0, lab.a.ifname]);
    } finally {
      link.detach();
    }
  });

  it('an interface that already carries XDP is a clear STOQ_ERR_XDP_BUSY, whoever attached it', async () => {
    const link = object.program('verdicts').attachXdp(lab.a.ifname, { mode: 'native' });
    let error: unknown;
    try {
      object.program('verdicts').attachXdp(lab.a.ifname, { mode: 'generic' });
    } catch (e) {
      error = e;
    } finally {
      link.detach();
    }
    expect(error).toBeInstanceOf(BpfError);
    expect(error).toMatchObject({ code: 'STOQ_ERR_XDP_BUSY', errnoCode: 'EBUSY', operation: 'attachXdp' });
    expect((error as BpfError).hint).toMatch(/xdp off/);

    // A program attached by another tool over netlink.
    await lab.exec(lab.b, 'ip', ['link', 'set', 'dev', lab.b.ifname, 'xdpgeneric', 'obj', VERDICTS_OBJECT, 'sec', 'xdp']);
    try {
      const child = spawnChild(['attach-and-wait', VERDICTS_OBJECT, lab.b.ifname], lab.b.netns);
      const line = await firstLine(child);
      child.kill('SIGKILL');
      expect(line).toMatch(/STOQ_ERR_XDP_BUSY/);
    } finally {
      await lab.exec(lab.b, 'ip', ['link', 'set', 'dev', lab.b.ifname, 'xdpgeneric', 'off']);
    }
  });

  it('a bad interface is STOQ_ERR_NO_SUCH_DEVICE, a bad mode an argument error', () => {
    const program = object.program('verdicts');
    expect(() => program.attachXdp('stoq-nope0')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_NO_SUCH_DEVICE' }));
    expect(() => program.attachXdp(999_999)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_NO_SUCH_DEVICE' }));
    expect(() => program.attachXdp(lab.a.ifname, { mode: 'turbo' as never })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT' }));
    // null options are no options ('auto'; a TypeError before); a string is not taken for a mode.
    const link = program.attachXdp(lab.a.ifname, null as never);
    try {
      expect(link.mode).toBe('native');
    } finally {
      link.detach();
    }
    expect(() => program.attachXdp(lab.a.ifname, 'generic' as never)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/options must be an object, got "generic"/) }));
  });

  it('killing a process that attached leaves no XDP program on the interface', async () => {
    const child = spawnChild(['attach-and-wait', VERDICTS_OBJECT, lab.a.ifname]);
    const attached = JSON.parse(await firstLine(child)) as { step: string; mode: string; programId: number };
    expect(attached).toMatchObject({ step: 'attached', mode: 'native' });
    expect(xdpOnInterface(lab.a.ifname)?.id).toBe(attached.programId);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 5_000; // the kernel releases the link with the process' files
    while (xdpOnInterface(lab.a.ifname) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(xdpOnInterface(lab.a.ifname)).toBeNull();
  });

  it('works inside `ip netns exec`, where /sys is fresh and bpffs is not mounted', async () => {
    const child = spawnChild(['netns', VERDICTS_OBJECT, lab.b.ifname], lab.b.netns, true);
    const result = JSON.parse(await firstLine(child)) as { step: string; mode: string; bpffs: { mountPoint: string; mounted: boolean } };
    expect(result).toMatchObject({ step: 'netns', mode: 'generic', bpffs: { mountPoint: '/sys/fs/bpf', mounted: true } });
    expect(await exitCode(child)).toBe(0);
  });

  it('probe() tries both modes on the interface for real', () => {
    const report = probe({ ifname: lab.a.ifname });
    expect(report.interface).toMatchObject({ ifname: lab.a.ifname, native: { ok: true }, generic: { ok: true } });
    expect(report.fastPathPossible).toBe(true);
    expect(xdpOnInterface(lab.a.ifname)).toBeNull(); // the probe's program is gone again
  });
});

describe('least privilege', () => {
  async function asNobodyWith(caps: string, ifname: string): Promise<Array<Record<string, any>>> {
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, '--',
      process.execPath, CHILD_SCRIPT, 'least-privilege', VERDICTS_OBJECT, ifname], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 30_000 });
    const lines: Array<Record<string, any>> = [];
    for await (const line of createInterface({ input: child.stdout! })) lines.push(JSON.parse(line));
    return lines;
  }

  it('a non-root user with only CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON loads, test-runs and attaches; AF_XDP also needs CAP_NET_RAW', async () => {
    const lab = await createLab({ hostSide: true, timeoutMs: 60_000 });
    try {
      const three = await asNobodyWith('+bpf,+net_admin,+perfmon', lab.a.ifname);
      const probed = three.find((l) => l.step === 'probe')!;
      expect(probed.uid).toBe(65534);
      expect(probed.report.capabilities).toMatchObject({ sysAdmin: false, missingForXdp: [], missingForAfXdp: ['CAP_NET_RAW'] });
      expect(probed.report.afXdp).toMatchObject({ ok: false, errno: 'EPERM', hint: expect.stringMatching(/CAP_NET_RAW/) });
      expect(probed.report.fastPathPossible).toBe(false);
      expect(three.find((l) => l.step === 'attached')).toMatchObject({ mode: 'native', action: 'PASS' });

      // Finding maps by name walks BPF map ids: CAP_SYS_ADMIN, which the hint must say.
      const byName = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=+bpf,+net_admin,+perfmon,+net_raw', '--ambient-caps=+bpf,+net_admin,+perfmon,+net_raw', '--',
        process.execPath, '--input-type=module', '-e',
        `import { BpfMap } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}; try { BpfMap.openByName('stoq_stats'); console.log('{}'); } catch (e) { console.log(JSON.stringify({ code: e.code, hint: e.hint })); }`],
        { encoding: 'utf8', timeout: 30_000 });
      expect(JSON.parse(byName.stdout)).toEqual({ code: 'STOQ_ERR_BPF_PERMISSION', hint: expect.stringMatching(/CAP_SYS_ADMIN/) });

      const four = await asNobodyWith('+bpf,+net_admin,+perfmon,+net_raw', lab.a.ifname);
      expect(four.find((l) => l.step === 'probe')!.report).toMatchObject({ fastPathPossible: true, afXdp: { ok: true } });
      expect(four.find((l) => l.step === 'attached')).toMatchObject({ mode: 'native' });
    } finally {
      await lab.destroy();
    }
  });
});

describe('without capabilities', () => {
  it('a child with every capability dropped gets typed EPERM errors and a probe that says why', async () => {
    const child = spawn('setpriv', ['--inh-caps=-all', '--bounding-set=-all', '--', process.execPath, CHILD_SCRIPT, 'unprivileged', VERDICTS_OBJECT], {
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 30_000,
    });
    const lines: Array<Record<string, any>> = [];
    for await (const line of createInterface({ input: child.stdout! })) lines.push(JSON.parse(line));
    const report = lines.find((l) => l.step === 'probe')!.report;
    expect(report.capabilities.effective).toEqual([]);
    expect(report.capabilities.missingForXdp).toEqual(['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN']);
    expect(report.bpfSyscall).toMatchObject({ ok: false, errno: 'EPERM' });
    expect(report.fastPathPossible).toBe(false);
    expect(report.hints.join('\n')).toMatch(/missing CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_RAW: .*setcap cap_bpf,cap_net_admin,cap_perfmon,cap_net_raw\+ep/);
    const load = lines.find((l) => l.step === 'load')!;
    expect(load.ok).toBe(false);
    expect(load.error).toMatchObject({ name: 'BpfError', code: 'STOQ_ERR_BPF_PERMISSION', errnoCode: 'EPERM' });
    expect(load.error.hint).toMatch(/missing CAP_BPF/);
  });
});

function spawnChild(args: string[], netns?: string | null, viaNetnsExec = Boolean(netns)) {
  const argv = [process.execPath, CHILD_SCRIPT, ...args];
  const [cmd, ...rest] = viaNetnsExec && netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => { (child as unknown as { errText: string }).errText = ((child as unknown as { errText?: string }).errText ?? '') + chunk; });
  return child;
}

/** The child's first stdout line, or its stderr when it dies first (bounded). */
async function firstLine(child: ReturnType<typeof spawn>): Promise<string> {
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    for await (const line of createInterface({ input: child.stdout! })) return line;
    await exitCode(child);
    return (child as unknown as { errText?: string }).errText ?? '';
  } finally {
    clearTimeout(timer);
  }
}

function exitCode(child: ReturnType<typeof spawn>): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
