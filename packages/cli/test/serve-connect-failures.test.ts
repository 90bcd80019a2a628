// `stoq serve` and `stoq connect` when something goes wrong: stdout closed by its reader,
// an --output that cannot be written, a transfer cut short, a server that goes away,
// a source that cannot be read. No stack traces, no hangs, no partial files.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { finish, run, start, STOQ, type Outcome } from './support/run.js';

const dir = mkdtempSync(join(tmpdir(), 'stoq-cli-failures-'));
const payload = randomBytes(1024 * 1024 + 3);
const input = join(dir, 'in.bin');
writeFileSync(input, payload);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NO_STACK = /\n\s+at |EPIPE|Unhandled|SyntaxError/;

interface Server {
  child: ChildProcess;
  done: Promise<Outcome>;
  port: number;
  /** Resolves with the first JSON event of `type` (serve runs with --json). */
  event(type: string): Promise<Record<string, unknown>>;
}

function startServer(args: string[]): Promise<Server> {
  const child = start([STOQ, 'serve', '--self-signed', '--address', '::1', '--port', '0', '--json', ...args]);
  const done = finish(child, 90_000);
  const events: Record<string, unknown>[] = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  const event = (type: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${type}' event from serve`)), 20_000);
      const check = () => {
        const found = events.find((e) => e['type'] === type);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else waiters.push(check);
      };
      check();
    });
  return event('listening').then((l) => ({ child, done, port: l['port'] as number, event }));
}

async function stop(server: Server): Promise<Outcome> {
  server.child.kill('SIGINT');
  return server.done;
}

const partials = (where: string) => readdirSync(where).filter((f) => f.endsWith('.partial'));

describe('stdout closed by its reader (EPIPE)', () => {
  it('serve --json stops cleanly (exit 0, no stack trace) and the client does not hang', async () => {
    const cert = join(dir, 'epipe.pem');
    const server = await startServer(['--cert-out', cert]);
    server.child.stdout!.destroy(); // like `stoq serve --json | head -2`
    const client = await run([STOQ, 'connect', `[::1]:${server.port}`, '--file', input, '--ca', cert, '--timeout', '5'], { timeoutMs: 30_000 });
    expect(client.signal, 'connect hung').toBeNull();
    const served = await server.done;
    expect([served.code, served.signal], served.stderr).toEqual([0, null]);
    expect(served.stderr).not.toMatch(NO_STACK);
  });

  it('connect --echo stops (exit 1, no stack trace) when its stdout is closed', async () => {
    const cert = join(dir, 'echo-epipe.pem');
    const server = await startServer(['--cert-out', cert]);
    try {
      const client = start([STOQ, 'connect', `[::1]:${server.port}`, '--echo', '--ca', cert]);
      const done = finish(client, 30_000);
      client.stdout!.destroy();
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const feed = setInterval(() => client.stdin!.writable && client.stdin!.write(chunk), 20);
      client.stdin!.on('error', () => undefined);
      const outcome = await done;
      clearInterval(feed);
      expect([outcome.code, outcome.signal], outcome.stderr).toEqual([1, null]);
      expect(outcome.stderr).not.toMatch(NO_STACK);
    } finally {
      await stop(server);
    }
  });
});

describe('serve --output', () => {
  it('a directory that disappears after startup fails that transfer only; the server keeps serving', async () => {
    const sub = join(dir, 'vanishing');
    mkdirSync(sub);
    const cert = join(dir, 'vanish.pem');
    const server = await startServer(['--cert-out', cert, '--output', join(sub, 'out.bin')]);
    try {
      rmSync(sub, { recursive: true });
      const failed = await run([STOQ, 'connect', `[::1]:${server.port}`, '--file', input, '--ca', cert]);
      expect(failed.code).toBe(1);
      expect(await server.event('error')).toMatchObject({ message: expect.stringMatching(/ENOENT/) });
      const echo = await run([STOQ, 'connect', `[::1]:${server.port}`, '--echo', '--ca', cert], { input: 'still here\n' });
      expect([echo.code, echo.stdout]).toEqual([0, 'still here\n']);
    } finally {
      const outcome = await stop(server);
      expect(outcome.code, outcome.stderr).toBe(0);
      expect(outcome.stderr).not.toMatch(NO_STACK);
    }
  });

  it('a transfer cut off by the client leaves neither FILE nor a partial file; the next one lands', async () => {
    const { StoqTransport } = await import('@stoq/transport');
    const where = join(dir, 'cut');
    mkdirSync(where);
    const output = join(where, 'out.bin');
    const cert = join(dir, 'cut.pem');
    const server = await startServer(['--cert-out', cert, '--output', output]);
    try {
      const client = await StoqTransport.create({ address: '::1', port: 0, tls: { ca: readFileSync(cert, 'utf8') } });
      const clientPeer = `[::1]:${client.address().port}`;
      try {
        const conn = await client.connect(`[::1]:${server.port}`, { serverName: 'localhost' });
        const stream = await conn.openStream();
        stream.on('error', () => undefined);
        stream.write(Buffer.from('F'));
        stream.write(payload.subarray(0, 200_000));
        for (let i = 0; i < 100 && partials(where).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
        expect(partials(where)).toHaveLength(1); // being written under its temporary name
      } finally {
        await client.close(); // mid-transfer: no end of stream, no receipt
      }
      // What ended the stream is the client's close (StoqTransport.close(): application code 0,
      // reason 'transport closing'), not some other failure of serve's.
      expect(await server.event('error')).toEqual({
        type: 'error',
        peer: clientPeer,
        message: 'connection closed by the peer with application code 0: transport closing',
      });
      expect(existsSync(output)).toBe(false);
      expect(partials(where)).toEqual([]);
      const next = await run([STOQ, 'connect', `[::1]:${server.port}`, '--file', input, '--ca', cert]);
      expect(next.code, next.stderr).toBe(0);
      expect(readFileSync(output).equals(payload)).toBe(true);
      expect(partials(where)).toEqual([]);
    } finally {
      await stop(server);
    }
  });

  it.each(['SIGTERM', 'SIGHUP'] as const)('%s in the middle of a transfer stops serve cleanly: no FILE, no partial file', async (signal) => {
    const where = join(dir, signal);
    mkdirSync(where);
    const output = join(where, 'out.bin');
    const cert = join(dir, `${signal}.pem`);
    const server = await startServer(['--cert-out', cert, '--output', output]);
    const client = start([STOQ, 'connect', `[::1]:${server.port}`, '--ca', cert]);
    const clientDone = finish(client, 30_000);
    client.stdin!.on('error', () => undefined);
    client.stdin!.write(payload.subarray(0, 100_000)); // stdin stays open: the transfer is not over
    for (let i = 0; i < 100 && partials(where).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    // pid plus a random part (two serves in two containers can both be pid 1)
    expect(partials(where)).toEqual([expect.stringMatching(/^\.out\.bin\.\d+\.[0-9a-f]{12}\.partial$/)]);
    server.child.kill(signal);
    const outcome = await server.done;
    expect([outcome.code, outcome.signal], outcome.stderr).toEqual([0, null]);
    expect(existsSync(output)).toBe(false);
    expect(partials(where)).toEqual([]);
    const c = await clientDone; // and the client, its server gone, stops although stdin is open
    expect(c.signal, 'connect hung with stdin open').toBeNull();
    expect(c.code).toBe(1);
  });
});

describe('serve echo', () => {
  // A client that stops reading holds serve's echo writes back (flow control); its
  // connection then closing while serve waits for room must end that stream, not park it.
  it('an echo stream whose connection closes under backpressure fails (serve --once exits 1)', async () => {
    const { StoqTransport } = await import('@stoq/transport');
    const cert = join(dir, 'echo-stall.pem');
    const server = await startServer(['--cert-out', cert, '--once']);
    try {
      const client = await StoqTransport.create({ address: '::1', port: 0, tls: { ca: readFileSync(cert, 'utf8') } });
      try {
        const conn = await client.connect(`[::1]:${server.port}`, { serverName: 'localhost' });
        const stream = await conn.openStream();
        stream.on('error', () => undefined);
        stream.write(Buffer.from('E')); // and never read what comes back
        const chunk = randomBytes(64 * 1024);
        for (let i = 0; i < 128; i++) stream.write(chunk); // 8 MiB
        // serve reads until its echo writes are held back, then stops: what the client still
        // holds shrinks, then stays put.
        const sent = stream.writableLength;
        let held = sent;
        let still = 0;
        for (let i = 0; i < 100 && still < 3; i++) {
          await new Promise((r) => setTimeout(r, 100));
          still = stream.writableLength === held && held < sent ? still + 1 : 0;
          held = stream.writableLength;
        }
        expect(still, `client still holds ${held} of ${sent} bytes, and that keeps changing`).toBe(3);
        expect(held).toBeGreaterThan(0);
      } finally {
        await client.close();
      }
      expect(await server.event('error')).toMatchObject({ message: 'connection closed by the peer with application code 0: transport closing' });
      const outcome = await Promise.race([server.done, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
      expect(outcome, 'serve --once still waiting on a closed stream').not.toBeNull();
      expect([outcome!.code, outcome!.signal], outcome!.stderr).toEqual([1, null]);
      expect(outcome!.stderr).not.toMatch(NO_STACK);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

describe('serve --output: what FILE is, and who may read it', () => {
  const transfer = (port: number, cert: string) => run([STOQ, 'connect', `[::1]:${port}`, '--file', input, '--ca', cert]);

  it('a symlink FILE stays a symlink; its target gets the bytes', async () => {
    const where = join(dir, 'link');
    mkdirSync(where);
    writeFileSync(join(where, 'real.bin'), 'old');
    const link = join(where, 'out.bin');
    symlinkSync('real.bin', link);
    const cert = join(dir, 'link.pem');
    const server = await startServer(['--cert-out', cert, '--output', link]);
    try {
      const sent = await transfer(server.port, cert);
      expect(sent.code, sent.stderr).toBe(0);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(where, 'real.bin')).equals(payload)).toBe(true);
      expect(partials(where)).toEqual([]);
    } finally {
      await stop(server);
    }
  });

  it('a FIFO FILE is written through, not replaced by a regular file', async () => {
    const where = join(dir, 'fifo');
    mkdirSync(where);
    const fifo = join(where, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const cert = join(dir, 'fifo.pem');
    const server = await startServer(['--cert-out', cert, '--output', fifo]);
    // The reader: cat blocks until serve opens the FIFO; killed if that never happens.
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (d: Buffer) => chunks.push(d));
    const read = new Promise<void>((resolve) => {
      const timer = setTimeout(() => reader.kill('SIGKILL'), 20_000);
      reader.once('close', () => (clearTimeout(timer), resolve()));
    });
    try {
      const sent = await transfer(server.port, cert);
      expect(sent.code, sent.stderr).toBe(0);
      await read;
      expect(Buffer.concat(chunks).equals(payload)).toBe(true);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
      expect(partials(where)).toEqual([]);
    } finally {
      reader.kill('SIGKILL');
      await stop(server);
    }
  });

  it('an existing FILE keeps its mode (0600, 0640) after a transfer', async () => {
    const where = join(dir, 'mode');
    mkdirSync(where);
    const output = join(where, 'out.bin');
    writeFileSync(output, 'secret');
    const cert = join(dir, 'mode.pem');
    const server = await startServer(['--cert-out', cert, '--output', output]);
    try {
      for (const mode of [0o600, 0o640]) {
        chmodSync(output, mode);
        const sent = await transfer(server.port, cert);
        expect(sent.code, sent.stderr).toBe(0);
        expect(readFileSync(output).equals(payload)).toBe(true);
        expect((statSync(output).mode & 0o777).toString(8)).toBe(mode.toString(8));
      }
    } finally {
      await stop(server);
    }
  });
});

describe('stdout that cannot be written (not EPIPE: /dev/full, ENOSPC)', () => {
  /** Runs stoq with stdout on /dev/full, like `stoq ... > /dev/full`. */
  const toFull = (args: string[], input?: string) => {
    const fd = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, [STOQ, ...args], { stdio: ['pipe', fd, 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      if (input !== undefined) child.stdin!.end(input);
      return new Promise<Outcome>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('close', (code, signal) => (clearTimeout(timer), resolve({ code, signal, stdout: '', stderr })));
      });
    } finally {
      closeSync(fd);
    }
  };

  it('serve --json fails (exit 1) and says why', async () => {
    const cert = join(dir, 'full.pem');
    const outcome = await toFull(['serve', '--self-signed', '--address', '::1', '--port', '0', '--json', '--cert-out', cert]);
    expect([outcome.code, outcome.signal]).toEqual([1, null]);
    expect(outcome.stderr).toMatch(/^stoq: cannot write to stdout: ENOSPC$/m);
    expect(outcome.stderr).not.toMatch(NO_STACK);
  });

  it('connect --echo fails (exit 1) and says why', async () => {
    const cert = join(dir, 'full-echo.pem');
    const server = await startServer(['--cert-out', cert]);
    try {
      const outcome = await toFull(['connect', `[::1]:${server.port}`, '--echo', '--ca', cert], 'echo me\n');
      expect([outcome.code, outcome.signal]).toEqual([1, null]);
      expect(outcome.stderr).toMatch(/^stoq: cannot write to stdout: ENOSPC$/m);
      expect(outcome.stderr).not.toMatch(NO_STACK);
    } finally {
      await stop(server);
    }
  });
});

describe('serve --self-signed on a port in use', () => {
  it('fails (exit 1) without leaving its certificate behind', async () => {
    const cert = join(dir, 'holder.pem');
    const server = await startServer(['--cert-out', cert]);
    try {
      const second = join(dir, 'second.pem');
      const failed = await run([STOQ, 'serve', '--self-signed', '--address', '::1', '--port', String(server.port), '--cert-out', second]);
      expect(failed.code, failed.stderr).toBe(1);
      expect(failed.stderr).toMatch(/EADDRINUSE/);
      // The hint once, in the CLI's terms (the library's says `port: 0`).
      expect(failed.stderr).toMatch(/^hint: another socket holds this port; pass --port 0 for a free one$/m);
      expect(failed.stderr.match(/another socket holds this port/g)).toHaveLength(1);
      expect(existsSync(second)).toBe(false);
    } finally {
      await stop(server);
    }
  });
});

describe('connect', () => {
  it('exits 1 when the server goes away although stdin stays open', async () => {
    const cert = join(dir, 'gone.pem');
    const server = await startServer(['--cert-out', cert]);
    const client = start([STOQ, 'connect', `[::1]:${server.port}`, '--ca', cert]);
    const clientDone = finish(client, 30_000);
    client.stdin!.on('error', () => undefined);
    client.stdin!.write('some bytes, and more to come\n');
    await server.event('connection');
    await stop(server);
    const c = await clientDone;
    client.stdin!.destroy();
    expect(c.signal, 'connect hung with stdin open').toBeNull();
    expect(c.code, c.stderr).toBe(1);
    expect(c.stderr).not.toMatch(NO_STACK);
  });

  it('a source that fails to read (EIO) is a clear error, exit 1, not an unhandled rejection', async () => {
    const cert = join(dir, 'eio.pem');
    const server = await startServer(['--cert-out', cert]);
    try {
      const c = await run([STOQ, 'connect', `[::1]:${server.port}`, '--file', '/proc/self/mem', '--ca', cert], { timeoutMs: 30_000 });
      expect(c.signal, 'connect hung').toBeNull();
      expect(c.code).toBe(1);
      expect(c.stderr).toMatch(/cannot read --file \/proc\/self\/mem: .*EIO/);
      expect(c.stderr).not.toMatch(NO_STACK);
    } finally {
      await stop(server);
    }
  });
});
