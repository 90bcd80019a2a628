import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const STOQ = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function stoq(args: string[], timeout = 60_000) {
  const result = spawnSync(process.execPath, [STOQ, ...args], { encoding: 'utf8', timeout });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('stoq', () => {
  it('usage errors exit 2 with help, --help exits 0', () => {
    expect(stoq([]).code).toBe(2);
    const unknown = stoq(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(stoq(['doctor', '--bogus']).code).toBe(2);
    const help = stoq(['demo', '--help']);
    expect([help.code, help.stdout]).toEqual([0, expect.stringMatching(/usage: stoq demo/)]);
  });

  it('doctor --json reports the real probe and exits 0 when the fast path is possible', () => {
    const { code, stdout } = stoq(['doctor', '--interface', 'lo', '--json']);
    const report = JSON.parse(stdout) as { fastPathPossible: boolean; interface: { native: { ok: boolean; errno?: string }; generic: { ok: boolean } } };
    expect(report.interface.native).toMatchObject({ ok: false, errno: 'EOPNOTSUPP' }); // loopback has no native XDP
    expect(report.interface.generic.ok).toBe(true);
    expect(code).toBe(report.fastPathPossible ? 0 : 3);
  });

  it('doctor names a missing interface as an error, not a crash', () => {
    const { code, stderr } = stoq(['doctor', '--interface', 'stoq-nope0']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no interface stoq-nope0.*STOQ_ERR_NO_SUCH_DEVICE/);
  });

  it('demo --json: data intact over the lab, the IPv4 flood dropped by XDP and counted', () => {
    const { code, stdout, stderr } = stoq(['demo', '--megabytes', '4', '--rounds', '50', '--json'], 120_000);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.bulk).toMatchObject({ bytes: 4 * 1024 * 1024, intact: true });
    expect(summary.latencyUs.samples).toBe(50);
    expect(summary.server.xdp.mode).toBe('native');
    expect(summary.server.xdp.counters.ipv4_dropped).toBe(summary.flood.sent);
    expect(summary.server.xdp.counters.quic_passed + summary.server.xdp.counters.quic_redirected).toBeGreaterThan(4 * 1024 * 1024 / 1500);
    expect(summary.server.xdp.conntrack.established).toBe(1);
  });
});
