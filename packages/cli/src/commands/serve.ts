// `stoq serve`: a STOQ endpoint that accepts connections, stores or hashes the
// files clients send (answering each with a receipt) and echoes echo streams.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { Duplex, type Readable } from 'node:stream';
import { createSelfSignedCertificate, formatAddress, type StoqConnection } from '@stoq/transport';
import { ExitCode, type Command } from '../command.js';
import { KIND_ECHO, KIND_FILE, type Receipt } from '../net/file-protocol.js';
import { datapathOf, portOption, readPem, stringOption, TRANSPORT_USAGE, transportOptions, UsageError } from '../net/options.js';
import { createTransport, describeStatus } from '../net/transport.js';
import { checkOutputFile, PartialFile } from '../output-file.js';
import { drained } from '../drained.js';
import { stdoutClosed, StdoutClosedError, writeStdout } from '../stdout.js';

interface Served {
  kind: 'file' | 'echo';
  peer: string;
  bytes: number;
  sha256?: string;
}

/** The --output file, written by one file transfer at a time (two would interleave in it). */
interface OutputFile {
  readonly path: string | undefined;
  busy: boolean;
  /** The transfer being written (under its temporary name), to be removed if serve stops meanwhile. */
  active: PartialFile | null;
}

async function handleStream(stream: Duplex, output: OutputFile): Promise<Omit<Served, 'peer'>> {
  const hash = createHash('sha256');
  let kind: number | null = null;
  let bytes = 0;
  let file: PartialFile | null = null;
  let toStdout = false;
  let owned = false;
  try {
    for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      let data = chunk;
      if (kind === null) {
        kind = data[0] ?? null;
        data = data.subarray(1);
        if (kind === KIND_FILE && output.path) {
          if (output.busy) throw new Error(`--output ${output.path} is being written by another transfer (one at a time)`);
          output.busy = true;
          owned = true;
          if (output.path === '-') toStdout = true;
          else output.active = file = new PartialFile(output.path);
        } else if (kind !== KIND_FILE && kind !== KIND_ECHO) throw new Error(`unknown stream kind 0x${kind?.toString(16)}`);
      }
      bytes += data.byteLength;
      if (kind === KIND_ECHO) {
        if (!stream.write(data)) await drained(stream, 'the stream');
        continue;
      }
      hash.update(data);
      if (file) await file.write(data);
      else if (toStdout) await writeStdout(data);
    }
    if (kind === KIND_ECHO) {
      stream.end();
      return { kind: 'echo', bytes };
    }
    const receipt: Receipt = { bytes, sha256: hash.digest('hex') };
    // FILE appears (atomically) only once the whole transfer is on disk, before the receipt says so.
    await file?.commit();
    file = null;
    stream.end(JSON.stringify(receipt));
    return { kind: 'file', ...receipt };
  } finally {
    file?.discard();
    if (owned) {
      output.busy = false;
      output.active = null;
    }
  }
}

function peerClosed(conn: StoqConnection, limitMs: number): Promise<void> {
  if (conn.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, limitMs);
    conn.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export const serve: Command = {
  name: 'serve',
  summary: 'accept STOQ connections: receive files (with a sha256 receipt) and echo',
  usage: [
    'usage: stoq serve (--cert FILE --key FILE | --self-signed [--cert-out FILE]) [options]',
    '',
    '  --address A       IPv6 address to listen on (default ::)',
    '  --port N          UDP port (default 9292; 0 picks one)',
    '  --cert, --key     certificate chain and private key (PEM)',
    '  --self-signed     make a throwaway certificate for --name (clients trust it with --ca)',
    '  --cert-out FILE   where --self-signed writes its certificate (default ./stoq-self-signed.pem)',
    '  --name N          host name for --self-signed (default localhost)',
    '  --output FILE     write received files to FILE (- for stdout, not with --json); otherwise they',
    '                    are only hashed. A transfer is written to .FILE.<pid>.<random>.partial beside',
    '                    it and renamed over FILE once complete (FILE keeps its mode and owner; a new',
    '                    one is 0600); a failed one leaves FILE as it was. A symlink\'s target is',
    '                    replaced (the link stays); a device or FIFO is written to directly',
    '  --once            exit after the first file or echo stream has completed',
    ...TRANSPORT_USAGE,
    '',
    'Streams start with one byte: F (file; answered with {"bytes","sha256"}) or E (echo).',
    'exit code: 0 stopped (SIGINT/SIGTERM/SIGHUP, --once done, or stdout closed by its reader),',
    '           1 failure (also stdout that cannot be written, e.g. a full disk), 2 usage,',
    '           3 --datapath xdp not possible here',
  ].join('\n'),
  options: {
    ...transportOptions,
    address: { type: 'string' },
    port: { type: 'string', short: 'p' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'self-signed': { type: 'boolean' },
    'cert-out': { type: 'string' },
    name: { type: 'string' },
    output: { type: 'string', short: 'o' },
    once: { type: 'boolean' },
  },
  async run(values) {
    const json = values['json'] === true;
    const log = (event: Record<string, unknown>, text: string) => (json ? console.log(JSON.stringify(event)) : console.error(text));
    // Options first: a usage error must not leave a certificate file behind.
    const port = portOption(values, 9292);
    const datapath = datapathOf(values);
    const listenAddress = stringOption(values, 'address') ?? '::';
    if (!isIPv6(listenAddress.replace(/^\[(.*)\]$/, '$1'))) throw new UsageError(`--address must be an IPv6 address (STOQ is IPv6-only), got ${listenAddress}`);
    let cert = readPem(values, 'cert');
    let key = readPem(values, 'key');
    const outputPath = stringOption(values, 'output');
    // File bytes and JSON events on the same stdout could not be told apart.
    if (outputPath === '-' && json) throw new UsageError('--output - writes the files to stdout, where --json writes its events: use one of them');
    if (outputPath !== undefined && outputPath !== '-') checkOutputFile('output', outputPath);
    let certOut: string | undefined;
    const name = stringOption(values, 'name') ?? 'localhost';
    if (values['self-signed']) {
      if (cert || key) throw new UsageError('--self-signed and --cert/--key exclude each other');
      ({ cert, key } = await createSelfSignedCertificate({ hostnames: [name] }));
      certOut = stringOption(values, 'cert-out') ?? 'stoq-self-signed.pem';
    } else if (!cert || !key) {
      throw new UsageError('give --cert and --key, or --self-signed');
    }
    const ifname = stringOption(values, 'interface');
    const transport = await createTransport({
      address: listenAddress,
      port,
      datapath,
      ...(ifname ? { interface: ifname } : {}),
      tls: { cert, key },
    });
    const output: OutputFile = { path: outputPath, busy: false, active: null };
    // A transfer cut short by a signal (or anything that ends the process) leaves no partial file.
    const discardActive = () => output.active?.discard();
    process.on('exit', discardActive);
    if (certOut !== undefined) {
      // Written only once bound: a port in use (or any other failure to listen) leaves no file behind.
      try {
        writeFileSync(certOut, cert, { mode: 0o644 });
      } catch (error) {
        process.off('exit', discardActive);
        await transport.close();
        throw new UsageError(`--cert-out ${certOut}: cannot write there (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      log({ type: 'certificate', path: certOut, name }, `self-signed certificate for ${name} written to ${certOut} (clients: --ca ${certOut} --server-name ${name})`);
    }
    const once = values['once'] === true;
    let finish: (code: number) => void = () => undefined;
    const finished = new Promise<number>((resolve) => (finish = resolve));
    const onSignal = () => finish(ExitCode.OK);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('SIGHUP', onSignal); // terminal closed: stop the same way, so no partial file stays
    // Nobody reads stdout any more (`stoq serve --json | head -1`): stop cleanly.
    const onStdoutClosed = () => finish(ExitCode.OK);
    stdoutClosed.addEventListener('abort', onStdoutClosed);
    if (stdoutClosed.aborted) onStdoutClosed();

    const onStream = (conn: StoqConnection, stream: Duplex | Readable) => {
      if (!(stream instanceof Duplex)) return void stream.resume();
      const peer = formatAddress(conn.remoteAddress);
      handleStream(stream, output).then(
        (r) => {
          const served: Served = { peer, ...r };
          log({ type: 'served', ...served }, `${peer}: ${r.kind} stream, ${r.bytes} bytes${r.sha256 ? `, sha256 ${r.sha256}` : ''}`);
          // Let the client read the receipt and close first; closing now would cut it off.
          if (once) void peerClosed(conn, 5_000).then(() => finish(ExitCode.OK));
        },
        (err: Error) => {
          if (err instanceof StdoutClosedError) return void stream.destroy(); // serve is stopping
          log({ type: 'error', peer, message: err.message }, `${peer}: stream failed: ${err.message}`);
          stream.destroy();
          if (once) finish(ExitCode.FAILURE);
        },
      );
    };
    transport.on('connection', (conn) => {
      log({ type: 'connection', peer: formatAddress(conn.remoteAddress), alpn: conn.alpn }, `connection from ${formatAddress(conn.remoteAddress)}`);
      conn.on('stream', (stream: Duplex | Readable) => onStream(conn, stream));
    });
    transport.on('datapathError', (err) => log({ type: 'datapathError', message: err.message }, `datapath error: ${err.message}`));
    const status = transport.getEbpfStatus();
    const address = transport.address();
    log({ type: 'listening', address: address.address, port: address.port, status }, `listening on ${formatAddress(address)} over ${describeStatus(status)}`);
    try {
      return await finished;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      stdoutClosed.removeEventListener('abort', onStdoutClosed);
      discardActive();
      process.off('exit', discardActive);
      await transport.close();
    }
  },
};
