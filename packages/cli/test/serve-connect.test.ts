// `stoq serve` and `stoq connect` move a file intact (sha256 receipt, bytes compared
// on disk) over loopback and across the lab veth, echo stdin, and fail with the
// documented exit codes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withLab, type Lab, type LabSide } from '@stoq/netlab';
import { finish, needsRoot, run, start, STOQ } from './support/run.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-cli-serve-'));
const payload = randomBytes(5 * 1024 * 1024 + 17);
const input = join(dir, 'in.bin');
writeFileSync(input, payload);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function startServer(args: string[], where?: { lab: Lab; side: LabSide }) {
  const child = start([STOQ, 'serve', '--self-signed', '--port', '0', '--json', ...args], where);
  // Read stdout from the start: the certificate and listening lines may arrive in one chunk
  // (serve writes the certificate right after binding), so a listener added after the
  // first line would never see the second.
  let buf = '';
  const lines = new Promise<{ certificate: { type: string }; listening: { port: number } }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('serve printed no listening line within 20 s')), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const json = buf.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; port: number });
      const listening = json.find((j) => j.type === 'listening');
      if (!listening) return;
      clearTimeout(timer);
      resolve({ certificate: json[0]!, listening });
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening`)));
  });
  const done = finish(child, 60_000);
  const { certificate, listening } = await lines;
  expect(certificate.type).toBe('certificate'); // the certificate line comes first
  return { child, done, port: listening.port };
}

describe('stoq serve / stoq connect over loopback', () => {
  it('moves a file intact: receipt matches and the bytes on disk are equal', async () => {
    const output = join(dir, 'out-loopback.bin');
    const cert = join(dir, 'loopback.pem');
    const server = await startServer(['--address', '::1', '--once', '--output', output, '--cert-out', cert]);
    const client = await run([STOQ, 'connect', `[::1]:${server.port}`, '--file', input, '--ca', cert, '--json']);
    expect(client.code, client.stderr).toBe(0);
    expect(JSON.parse(client.stdout)).toMatchObject({ bytes: payload.length, intact: true, datapath: 'dgram' });
    expect((await server.done).code).toBe(0);
    expect(readFileSync(output).equals(payload)).toBe(true);
  });

  it('echoes stdin back to stdout; refuses an unknown certificate; --datapath xdp without XDP exits 3', async () => {
    const cert = join(dir, 'echo.pem');
    const server = await startServer(['--address', '::1', '--cert-out', cert]);
    try {
      const echo = await run([STOQ, 'connect', `[::1]:${server.port}`, '--echo', '--ca', cert], { input: 'hello over QUIC\n' });
      expect([echo.code, echo.stdout]).toEqual([0, 'hello over QUIC\n']);
      const untrusted = await run([STOQ, 'connect', `[::1]:${server.port}`, '--file', input, '--timeout', '5']);
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(/STOQ_ERR_TLS/);
      // An interface where XDP cannot run (here: none by that name); without --interface it is a usage error.
      const xdp = await run([STOQ, 'connect', `[::1]:${server.port}`, '--datapath', 'xdp', '--interface', 'stoq-nope0', '--ca', cert], { input: '' });
      expect(xdp.code).toBe(3);
      expect(xdp.stderr).toMatch(/hint:/);
    } finally {
      server.child.kill('SIGINT');
      expect((await server.done).code).toBe(0);
    }
  });

  it('usage errors exit 2', async () => {
    expect((await run([STOQ, 'serve'])).code).toBe(2);
    expect((await run([STOQ, 'connect'])).code).toBe(2);
    expect((await run([STOQ, 'connect', '[::1]:9', '--ca', join(dir, 'missing.pem')])).code).toBe(2);
  });
});

describe('stoq serve / stoq connect across the lab veth', needsRoot('serve/connect across a lab veth'), () => {
  it('moves a file from namespace b to a server in namespace a', async () => {
    await withLab({ staticNeighbours: true, timeoutMs: 2 * 60_000 }, async (lab) => {
      const output = join(dir, 'out-lab.bin');
      const cert = join(dir, 'lab.pem');
      const server = await startServer(
        ['--address', lab.a.address, '--interface', lab.a.ifname, '--name', 'stoq.test', '--once', '--output', output, '--cert-out', cert],
        { lab, side: lab.a },
      );
      const client = await run([STOQ, 'connect', `[${lab.a.address}]:${server.port}`, '--file', input, '--ca', cert, '--server-name', 'stoq.test', '--json'], { where: { lab, side: lab.b } });
      expect(client.code, client.stderr).toBe(0);
      expect(JSON.parse(client.stdout)).toMatchObject({ bytes: payload.length, intact: true });
      expect((await server.done).code).toBe(0);
      expect(readFileSync(output).equals(payload)).toBe(true);
    });
  });
});

describe('stoq serve --output with two clients at once', () => {
  it('refuses the second file transfer while the first writes the file, then serves the next', async () => {
    const output = join(dir, 'out-shared.bin');
    const cert = join(dir, 'shared.pem');
    const server = await startServer(['--address', '::1', '--output', output, '--cert-out', cert]);
    try {
      // The first transfer stays open (its stdin is ours) while the second arrives.
      const first = start([STOQ, 'connect', `[::1]:${server.port}`, '--ca', cert, '--json']);
      const firstDone = finish(first, 60_000);
      first.stdin!.write('first part, ');
      // Until the server has taken the first transfer (its partial file exists): starting
      // the CLI takes 0.4 s idle and up to 3.6 s on a loaded VM, so a fixed pause could let
      // the second client arrive first.
      const partials = () => readdirSync(dir).filter((f) => f.startsWith('.out-shared.bin.') && f.endsWith('.partial'));
      for (let i = 0; i < 300 && partials().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(partials(), 'the first transfer is being written').toHaveLength(1);
      const second = await run([STOQ, 'connect', `[::1]:${server.port}`, '--file', input, '--ca', cert]);
      expect(second.code).toBe(1);
      first.stdin!.end('the end\n');
      const done = await firstDone;
      expect(done.code, done.stderr).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({ intact: true });
      expect(readFileSync(output, 'utf8')).toBe('first part, the end\n');
      // Free again afterwards.
      const third = await run([STOQ, 'connect', `[::1]:${server.port}`, '--file', input, '--ca', cert]);
      expect(third.code, third.stderr).toBe(0);
      expect(readFileSync(output).equals(payload)).toBe(true);
    } finally {
      server.child.kill('SIGINT');
      await server.done;
    }
  });
});

describe('stoq connect against a server that answers wrongly', () => {
  it('--echo exits 1 when what comes back differs; a file without a receipt exits 1 with a message', async () => {
    const { StoqTransport, createSelfSignedCertificate } = await import('@stoq/transport');
    const { cert, key } = await createSelfSignedCertificate({ hostnames: ['localhost'] });
    const certFile = join(dir, 'liar.pem');
    writeFileSync(certFile, cert);
    const server = await StoqTransport.create({ address: '::1', port: 0, tls: { cert, key } });
    // Echo streams (first byte 'E') come back upper-cased; file streams get no receipt.
    server.on('connection', (conn) => conn.on('stream', (stream) => {
      stream.on('error', () => {});
      if (!('write' in stream)) return void stream.resume();
      let first = true;
      let echo = false;
      stream.on('data', (chunk: Buffer) => {
        const body = first ? chunk.subarray(1) : chunk; // the stream's kind byte stays here
        if (first ? chunk[0] === 0x45 : echo) stream.write(Buffer.from(body.toString('latin1').toUpperCase(), 'latin1'));
        if (first) echo = chunk[0] === 0x45;
        first = false;
      });
      stream.on('end', () => stream.end());
    }));
    try {
      const target = `[::1]:${server.address().port}`;
      const echo = await run([STOQ, 'connect', target, '--echo', '--ca', certFile], { input: 'hello\n' });
      expect([echo.code, echo.stdout]).toEqual([1, 'HELLO\n']);
      expect(echo.stderr).toMatch(/MISMATCH: sent 6 bytes, 6 came back different/);
      const file = await run([STOQ, 'connect', target, '--file', input, '--ca', certFile]);
      expect(file.code).toBe(1);
      expect(file.stderr).toMatch(/no receipt from \[::1\]:\d+/);
      expect(file.stderr).not.toMatch(/SyntaxError|\n\s+at /);
    } finally {
      await server.close();
    }
  });
});
