// Bad options are usage errors (exit 2, a message naming the option), never a stack
// dump; doctor and `serve --datapath xdp` apply the same checks and agree.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { needsRoot, STOQ } from './support/run.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stoq(args: string[], timeout = 20_000) {
  const result = spawnSync(process.execPath, [STOQ, ...args], { encoding: 'utf8', timeout, cwd: dir });
  const timedOut = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return { code: result.status, signal: result.signal, timedOut, stdout: result.stdout, stderr: result.stderr };
}

describe('usage errors exit 2 with a clear message', () => {
  it.each([
    [['connect', '[::1]:9', '--file', '/nonexistent/file'], /--file \/nonexistent\/file: ENOENT/],
    [['connect', '[::1]:9', '--file', '/tmp'], /--file \/tmp: EISDIR/],
    [['connect', '[::1]:9', '--timeout', ''], /--timeout must be a number/],
    [['top', '--interval', '0'], /--interval must be a number from 0\.1 to 3600, got "0"/],
    [['top', '--count', 'abc'], /--count must be a whole number/],
    [['serve', '--self-signed', '--port', ''], /--port must be a whole number from 0 to 65535, got ""/],
    [['serve', '--self-signed', '--port', ' '], /--port must be a whole number/],
    [['demo', '--megabytes', ''], /--megabytes must be a whole number/],
    [['connect', '127.0.0.1:19393'], /is not an IPv6 address literal/],
    [['connect', '[::1]:99999'], /invalid UDP port 99999/],
    [['connect', '[::1]:9292', '--datapath', 'xdp'], /--datapath xdp needs --interface IF/],
    [['maps', 'extra'], /unexpected argument 'extra'/],
    [['doctor', 'extra'], /unexpected argument 'extra'/],
    [['serve', '--self-signed', '--address', '127.0.0.1'], /--address must be an IPv6 address/],
    [['bench', '--quick', '--json', '/nonexistent/dir/x.json'], /--json \/nonexistent\/dir\/x\.json: cannot write there \(ENOENT\)/],
    [['bench', '--quick', '--markdown', '/tmp'], /--markdown \/tmp: EISDIR/], // before the run, not after it
    [['serve', '--self-signed', '--address', '::1', '--port', '0', '--output', '/nonexistent/dir/out.bin'], /--output \/nonexistent\/dir\/out\.bin: cannot write there \(ENOENT\)/],
    [['serve', '--self-signed', '--address', '::1', '--port', '0', '--output', '/proc/version'], /--output \/proc\/version: cannot write there \(E[A-Z]+\)/],
    [['serve', '--self-signed', '--address', '::1', '--port', '0', '--output', '/tmp'], /--output \/tmp: EISDIR/],
    [['serve', '--self-signed', '--address', '::1', '--port', '0', '--output', '-', '--json'], /--output - writes the files to stdout, where --json writes its events/],
  ])('stoq %j', (args, message) => {
    const { code, stderr } = stoq(args);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(code).toBe(2);
  });

  it('an output that is a pipe (/dev/stdout, /dev/fd/N) is written directly, not refused', () => {
    // /dev/stdout on a pipe resolves to 'pipe:[N]', which realpath cannot follow; this was
    // refused as 'cannot write there (ENOENT)'. Here stdout is a pipe: serve must listen
    // (until the timeout's SIGTERM) instead of exiting 2.
    const serve = stoq(['serve', '--self-signed', '--cert-out', join(dir, 'pipe.pem'), '--address', '::1', '--port', '0', '--output', '/dev/stdout'], 8_000);
    expect(serve.stderr).not.toMatch(/cannot write there/);
    expect(serve.stderr).toMatch(/^listening on \[::1\]:\d+/m);
    expect(serve.timedOut).toBe(true);
  });

  it('serve does not write its self-signed certificate when an option is bad', () => {
    stoq(['serve', '--self-signed', '--port', '', '--cert-out', 'cert.pem']);
    stoq(['serve', '--self-signed', '--address', '127.0.0.1', '--cert-out', 'cert.pem']);
    stoq(['serve', '--self-signed', '--datapath', 'xdp', '--cert-out', 'cert.pem']);
    expect(spawnSync('ls', [join(dir, 'cert.pem')]).status).not.toBe(0);
  });
});

function groOn(ifname: string): boolean {
  try {
    return /generic-receive-offload:\s*on/.test(execFileSync('ethtool', ['-k', ifname], { encoding: 'utf8' }));
  } catch {
    return false;
  }
}

describe('doctor applies the transport ladder checks', needsRoot('doctor and serve --datapath xdp attach XDP on lo'), () => {
  it('doctor --interface lo and serve --interface lo --datapath xdp give the same verdict', () => {
    const doctor = stoq(['doctor', '--interface', 'lo']);
    // Two outcomes only: serve refuses (exit 3, saying why), or it listens over XDP until the
    // timeout's SIGTERM stops it cleanly (exit 0). Anything else (a crash: exit 1) fails here.
    const serve = stoq(['serve', '--self-signed', '--cert-out', join(dir, 's.pem'), '--address', '::1', '--port', '0', '--interface', 'lo', '--datapath', 'xdp'], 8_000);
    const outcome = serve.timedOut ? 'listened until stopped' : `exit ${serve.code}${serve.signal ? ` (${serve.signal})` : ''}`;
    expect(['exit 3', 'listened until stopped'], serve.stderr).toContain(outcome);
    const serveRefused = outcome === 'exit 3';
    if (serveRefused) expect(serve.stderr).toMatch(/^stoq serve: XDP datapath unavailable on lo: /m);
    else {
      expect(serve.code, serve.stderr).toBe(0);
      expect(serve.stderr).toMatch(/^listening on \[::1\]:\d+ over XDP \(\w+\) \+ AF_XDP( \(\w+\))? on lo$/m);
    }
    expect(doctor.code, doctor.stdout).toBe(serveRefused ? 3 : 0);
    if (groOn('lo')) {
      // The case the review found: generic XDP attaches on lo, the transport refuses it for GRO.
      expect(serve.stderr).toMatch(/GRO is on for lo/);
      expect(doctor.stdout).toMatch(/lo generic XDP.*fix: ethtool -K lo gro off/);
      expect(doctor.stdout).toMatch(/eBPF fast path: not possible here/);
    }
  });
});
