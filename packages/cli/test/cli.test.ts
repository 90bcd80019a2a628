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
    const report = JSON.parse(stdout) as {
      fastPathPossible: boolean;
      interface: { native: { ok: boolean; errno?: string; hint?: string }; generic: { ok: boolean; hint?: string; errno?: string; refusedBy?: string } };
      udpGso: { supported: boolean };
      ladderRefusals: { all: string | null; generic: string | null };
    };
    expect(report.udpGso).toEqual({ supported: true }); // Linux 6.18 has UDP_SEGMENT
    expect(report.interface.native).toMatchObject({ ok: false, errno: 'EOPNOTSUPP' }); // loopback has no native XDP
    // Generic XDP attaches on lo (the kernel says nothing: no errno), but the transport
    // refuses it while GRO is on, and says so in refusedBy.
    expect(report.interface.generic.errno).toBeUndefined();
    expect(report.interface.generic.ok).toBe(report.ladderRefusals.generic === null);
    if (report.ladderRefusals.generic) {
      expect(report.interface.generic).toMatchObject({ refusedBy: report.ladderRefusals.generic, hint: 'ethtool -K lo gro off' });
      expect(report.interface.native.hint).toContain('ethtool -K lo gro off');
    }
    expect(code).toBe(report.fastPathPossible ? 0 : 3);
  });

  it('doctor lists UDP GSO for the dgram path, outside the fast-path verdict', () => {
    const { stdout } = stoq(['doctor']);
    expect(stdout).toMatch(/UDP GSO \(dgram path\)\s+UDP_SEGMENT/);
  });

  it('doctor names a missing interface as an error, not a crash', () => {
    const { code, stderr } = stoq(['doctor', '--interface', 'stoq-nope0']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no interface stoq-nope0.*STOQ_ERR_NO_SUCH_DEVICE/);
  });

  it('demo --json: QUIC over the XDP + AF_XDP fast path in the lab, data intact, the IPv4 flood dropped and counted', () => {
    const { code, stdout, stderr } = stoq(['demo', '--megabytes', '4', '--rounds', '50', '--json'], 120_000);
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.environment).toBe('lab');
    expect(summary.server.status.datapath).toBe('xdp');
    expect(summary.server.xdp.mode).toBe('native XDP, copy-mode AF_XDP'); // what veth supports, read back
    expect(summary.bulk).toMatchObject({ bytes: 4 * 1024 * 1024, intact: true });
    expect(summary.latencyUs.samples).toBe(50);
    const counters = summary.server.xdp.counters;
    expect(counters.ipv4_dropped).toBe(summary.flood.sent);
    expect(counters.quic_redirected).toBeGreaterThan((4 * 1024 * 1024) / 1500); // the bulk came in through AF_XDP
    expect(summary.server.xdp.conntrack.established).toBe(1);
    expect(summary.server.xdp.latency.samples).toBeGreaterThan(0);
  });

  it('demo without capabilities runs the same transfer on [::1] over the kernel socket and says why', () => {
    const result = spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-all', '--', process.execPath, STOQ, 'demo', '--megabytes', '2', '--rounds', '20', '--json'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.environment).toBe('loopback');
    expect(summary.whyNotLab).toMatch(/missing CAP_SYS_ADMIN, CAP_NET_ADMIN/);
    expect(summary.server.status.datapath).toBe('dgram');
    expect(summary.server.xdp).toBeNull();
    expect(summary.bulk).toMatchObject({ bytes: 2 * 1024 * 1024, intact: true });
  });
});
