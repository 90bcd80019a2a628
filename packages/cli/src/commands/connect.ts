// `stoq connect`: sends a file (or stdin) to a `stoq serve` and checks the server's
// sha256 receipt, or echoes stdin through the server with --echo.
import { createHash } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import { formatAddress, parseTarget } from '@stoq/transport';
import { ExitCode, type Command } from '../command.js';
import { KIND_ECHO, KIND_FILE, type Receipt } from '../net/file-protocol.js';
import { datapathOf, numberOption, openInputFile, readPem, stringOption, TRANSPORT_USAGE, transportOptions, UsageError } from '../net/options.js';
import { createTransport, describeStatus } from '../net/transport.js';
import { drained } from '../drained.js';
import { StdoutClosedError, writeStdout } from '../stdout.js';

/** A failure to read what is being sent (e.g. EIO from --file), told apart from network errors. */
class SourceError extends Error {
  readonly code: string | undefined;
  constructor(label: string, cause: NodeJS.ErrnoException) {
    super(`cannot read ${label}: ${cause.message}`);
    this.code = cause.code;
  }
}

async function pump(source: Readable, label: string, stream: Duplex, onChunk: (b: Buffer) => void): Promise<void> {
  const chunks = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await chunks.next();
    } catch (error) {
      throw new SourceError(label, error as NodeJS.ErrnoException);
    }
    if (next.done) break;
    onChunk(next.value);
    if (!stream.write(next.value)) await drained(stream, 'the stream');
  }
  stream.end();
}

async function collect(stream: Readable, onChunk?: (b: Buffer) => Promise<void>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (onChunk) await onChunk(chunk);
    else parts.push(chunk);
  }
  return Buffer.concat(parts);
}


export const connect: Command = {
  name: 'connect',
  summary: 'send a file or stdin to a stoq serve (sha256-checked), or echo through it',
  usage: [
    'usage: stoq connect [ADDRESS]:PORT [--file FILE] [--echo] [options]',
    '',
    '  TARGET            e.g. [::1]:9292 or [fd00::2]:9292',
    '  --file FILE       send FILE (default: stdin)',
    '  --echo            send stdin (or --file) on an echo stream, write what comes back to stdout, exit 1 unless it is what was sent',
    '  --server-name N   TLS server name the certificate must match (default localhost)',
    '  --ca FILE         trust this CA / self-signed certificate (PEM)',
    '  --insecure        do not verify the server certificate at all (throwaway tests only)',
    '  --timeout S       give up connecting after S seconds (default 10)',
    ...TRANSPORT_USAGE,
    '',
    'exit code: 0 delivered and the sha256 receipt matches (or echo completed), 1 failure or mismatch,',
    '           2 usage, 3 --datapath xdp not possible here',
  ].join('\n'),
  options: {
    ...transportOptions,
    file: { type: 'string', short: 'f' },
    echo: { type: 'boolean' },
    'server-name': { type: 'string' },
    ca: { type: 'string' },
    insecure: { type: 'boolean' },
    timeout: { type: 'string' },
  },
  positionals: true,
  async run(values, positionals) {
    const [target, ...extra] = positionals;
    if (!target || extra.length > 0) throw new UsageError('give exactly one target, e.g. [::1]:9292');
    try {
      parseTarget(target);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const json = values['json'] === true;
    const ca = readPem(values, 'ca');
    const insecure = values['insecure'] === true;
    if (insecure && ca) throw new UsageError('--insecure and --ca exclude each other');
    if (insecure) console.error('stoq connect: WARNING: --insecure: the server certificate is not verified; anyone on the path can impersonate it');
    // At most a day: setTimeout() fires at once beyond 2^31 - 1 ms.
    const timeoutS = numberOption(values, 'timeout', { min: 0.001, max: 86_400, fractional: true }) ?? 10;
    const file = stringOption(values, 'file');
    const source: Readable = file ? openInputFile(file) : process.stdin;
    const ifname = stringOption(values, 'interface');
    const transport = await createTransport({
      address: '::',
      port: 0,
      datapath: datapathOf(values),
      ...(ifname ? { interface: ifname } : {}),
      tls: ca ? { ca } : {},
      ...(insecure ? { dangerouslySkipPeerVerification: true } : {}),
    });
    try {
      let timer: NodeJS.Timeout | undefined;
      const conn = await Promise.race([
        transport.connect(target, { serverName: stringOption(values, 'server-name') ?? 'localhost' }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error(`no handshake with ${target} within ${timeoutS} s`), { code: 'STOQ_ERR_TIMEOUT', hint: 'is `stoq serve` running there, and is UDP to that port allowed?' })), timeoutS * 1000);
        }),
      ]).finally(() => clearTimeout(timer));
      const stream = await conn.openStream();
      const started = performance.now();
      const hash = createHash('sha256');
      let bytes = 0;
      stream.write(Buffer.from([values['echo'] ? KIND_ECHO : KIND_FILE]));
      const sending = pump(source, file ? `--file ${file}` : 'stdin', stream, (b) => {
        hash.update(b);
        bytes += b.byteLength;
      });
      // An echo is checked like a file: what comes back must be what went out.
      const echoHash = createHash('sha256');
      let echoedBytes = 0;
      const echoChunk = (b: Buffer) => {
        echoHash.update(b);
        echoedBytes += b.byteLength;
        return writeStdout(b);
      };
      let answer: Buffer;
      try {
        // Both at once: whichever fails first (the source, the connection, stdout) ends the transfer.
        [answer] = await Promise.all([collect(stream, values['echo'] ? echoChunk : undefined), sending]);
      } catch (error) {
        // Stop reading: an open stdin would otherwise keep the process alive after the server went away.
        source.destroy();
        stream.destroy();
        if (error instanceof StdoutClosedError) return ExitCode.FAILURE; // stdout failed: quiet if its reader went away (EPIPE), else stdout.ts said why
        throw error;
      }
      const seconds = (performance.now() - started) / 1000;
      const sha256 = hash.digest('hex');
      const status = transport.getEbpfStatus();
      await conn.close();
      const summary = { target: formatAddress(conn.remoteAddress), datapath: status.datapath, status, bytes, seconds, bitsPerSecond: (bytes * 8) / seconds, sha256 };
      if (values['echo']) {
        const intact = echoedBytes === bytes && echoHash.digest('hex') === sha256;
        if (json) console.error(JSON.stringify({ ...summary, echoed: true, echoedBytes, intact }));
        else if (!intact) console.error(`MISMATCH: sent ${bytes} bytes, ${echoedBytes} came back${echoedBytes === bytes ? ' different' : ''}`);
        return intact ? ExitCode.OK : ExitCode.FAILURE;
      }
      let receipt: Receipt;
      try {
        receipt = JSON.parse(answer.toString('utf8')) as Receipt;
      } catch {
        // A server that closed without its receipt (or something that is not stoq serve).
        console.error(`no receipt from ${summary.target}: the stream ended with ${answer.byteLength} bytes that are not one`);
        return ExitCode.FAILURE;
      }
      const intact = receipt.bytes === bytes && receipt.sha256 === sha256;
      if (json) console.log(JSON.stringify({ ...summary, receipt, intact }));
      else {
        console.error(`sent ${bytes} bytes to ${summary.target} in ${seconds.toFixed(2)} s over ${describeStatus(status)}`);
        console.error(intact ? `server receipt matches: sha256 ${sha256}` : `MISMATCH: server got ${receipt.bytes} bytes, sha256 ${receipt.sha256}; sent sha256 ${sha256}`);
      }
      return intact ? ExitCode.OK : ExitCode.FAILURE;
    } finally {
      await transport.close();
    }
  },
};
