// `stoq maps` and `stoq top` read a stoq_xdp that another process owns, attached
// natively on a lab veth, after real packets crossed it.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '@stoq/netlab';
import { finish, firstJsonLine, needsRoot, run, start, STOQ, support } from './support/run.js';

const INITIALS = 20;
/** '[fd00:ab:300::2]' for 'fd00:ab:0300::2': the form the CLI prints. */
const canonical = (address: string) => new URL(`http://[${address}]/`).hostname;

describe('stoq maps / stoq top on a real stoq_xdp (lab veth)', needsRoot('stoq maps/top read a stoq_xdp attached on a lab veth'), () => {
  let lab: Lab;
  let owner: ChildProcess;
  let sender: { sent: number; port: number };

  beforeAll(async () => {
    lab = await createLab({ staticNeighbours: true, timeoutMs: 3 * 60_000 });
    owner = start([support('xdp-owner.mjs'), lab.a.ifname], { lab, side: lab.a });
    expect(await firstJsonLine(owner, 20_000)).toMatchObject({ mode: 'native' });
    const sent = await run([support('send-initials.mjs'), lab.a.address, '9292', String(INITIALS)], { where: { lab, side: lab.b } });
    sender = JSON.parse(sent.stdout) as typeof sender;
  }, 60_000);

  afterAll(async () => {
    owner?.stdin?.end();
    await lab?.destroy();
  });

  it('maps --json decodes config, counters, histogram and the conntrack entry', async () => {
    const { code, stdout, stderr } = await run([STOQ, 'maps', '--interface', lab.a.ifname, '--json'], { where: { lab, side: lab.a } });
    expect(code, stderr).toBe(0);
    const [instance, ...others] = JSON.parse(stdout).instances;
    expect(others).toEqual([]);
    expect(instance.attachedTo).toEqual([{ ifname: lab.a.ifname, ifindex: lab.a.ifindex, mode: 'driver' }]);
    expect(instance.config).toMatchObject({ quicPorts: [9292, 4433], ipv4Policy: 'drop', initialMinSize: 1200 });
    const c = instance.stats.counters;
    expect(c.quic_passed + c.quic_redirected).toBe(INITIALS);
    // 1200 B payload + 62 B of headers falls in the ≤1518 bucket.
    expect(instance.stats.sizeHistogram[instance.stats.sizeBuckets.indexOf('≤1518')]).toBe(INITIALS);
    expect(instance.conntrack.entries).toEqual([
      expect.objectContaining({ peer: `${canonical(lab.b.address)}:${sender.port}`, localPort: 9292, state: 'initial', packets: INITIALS, bytes: INITIALS * 1262 }),
    ]);
  });

  it('maps prints a readable table', async () => {
    const { code, stdout } = await run([STOQ, 'maps'], { where: { lab, side: lab.a } });
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`stoq_xdp \\(program id \\d+\\) on ${lab.a.ifname} \\(native\\)`));
    expect(stdout).toMatch(/quic_ports\s+9292, 4433/);
    expect(stdout).toMatch(/local_addr\s+any \(::\)/);
    expect(stdout).toMatch(/check_local_addrs\s+off/);
    expect(stdout).toMatch(/stoq_conntrack: 1 of \d+ entries \(initial 1\)/);
  });

  it('maps says clearly when nothing is loaded on an interface, exit 1', async () => {
    const { code, stderr } = await run([STOQ, 'maps', '--interface', lab.b.ifname], { where: { lab, side: lab.b } });
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`no STOQ XDP program \\(stoq_xdp\\) is loaded on ${lab.b.ifname}.*STOQ_ERR_NOT_LOADED`));
    expect(stderr).toMatch(/hint: .*instance\(s\) run elsewhere/);
  });

  it('top --json counts exactly the packets sent while it runs, and exits 0 on SIGINT', async () => {
    const topChild = start([STOQ, 'top', '--interface', lab.a.ifname, '--interval', '0.5', '--json'], { lab, side: lab.a });
    const done = finish(topChild, 60_000);
    await firstJsonLine(topChild, 20_000); // running, with its SIGINT handler in place
    await run([support('send-initials.mjs'), lab.a.address, '4433', String(INITIALS)], { where: { lab, side: lab.b } });
    // Until a refresh has counted them all (bounded): top takes no last sample on SIGINT,
    // and a fixed pause is only "probably one refresh" on a loaded VM.
    type Sample = { rates: { seconds: number; verdicts: { quic_passed?: number } } };
    const counted = (text: string) => text.split('\n').slice(0, -1) // complete lines only
      .map((l) => JSON.parse(l) as Sample)
      .reduce((sum, s) => sum + Math.round((s.rates.verdicts.quic_passed ?? 0) * s.rates.seconds), 0);
    let live = '';
    topChild.stdout!.on('data', (d: Buffer) => (live += d.toString()));
    for (const deadline = Date.now() + 15_000; counted(live) < INITIALS && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 600)); // one more refresh: a late packet would show
    topChild.kill('SIGINT');
    const { code, signal, stdout, stderr } = await done;
    expect([code, signal], stderr).toEqual([0, null]);
    expect(stdout.endsWith('\n')).toBe(true); // every sample complete
    expect(counted(stdout)).toBe(INITIALS);
    const samples = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(samples.at(-1).conntrack).toEqual({ initial: 2 });
  });

  it('top --count bounds the human view', async () => {
    const { code, stdout } = await run([STOQ, 'top', '--interface', lab.a.ifname, '--interval', '0.2', '--count', '2'], { where: { lab, side: lab.a } });
    expect(code).toBe(0);
    expect(stdout.match(/verdicts \(per second\)/g)).toHaveLength(2);
  });

  it('top stops quietly, exit 0, when whatever reads its stdout goes away (EPIPE)', async () => {
    for (const json of [true, false]) {
      const topChild = start([STOQ, 'top', '--interface', lab.a.ifname, '--interval', '0.1', ...(json ? ['--json'] : [])], { lab, side: lab.a });
      const done = finish(topChild, 30_000);
      await new Promise((resolve) => topChild.stdout!.once('data', resolve)); // it has refreshed once
      topChild.stdout!.destroy(); // like `stoq top | head -1`
      const { code, signal, stderr } = await done;
      expect([code, signal], stderr).toEqual([0, null]);
      expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
    }
  });

  // Last: it ends the owner. top keeps the maps open, and maps outlive their program.
  it('top exits 1 when the program it watches is unloaded', async () => {
    const topChild = start([STOQ, 'top', '--interface', lab.a.ifname, '--interval', '0.2', '--json'], { lab, side: lab.a });
    const done = finish(topChild, 30_000);
    await firstJsonLine(topChild, 20_000);
    owner.stdin?.end(); // the owner detaches and closes stoq_xdp
    const { code, stderr } = await done;
    expect(code).toBe(1);
    expect(stderr).toMatch(/stoq_xdp \(program \d+\) went away/);
  });
});
