// What the demo's processes say to each other. Children print one JSON object per
// line on stdout; the parent reads them. Streams on the QUIC connection start with
// one byte that says what they are for.
export const STREAM_BULK = 0x42; // 'B': client sends N bytes, server answers {bytes, sha256}
export const STREAM_ECHO = 0x45; // 'E': server echoes every byte back

export type ChildMessage =
  | { type: 'listening'; address: string; port: number; certPath: string; status: unknown }
  | { type: 'progress'; bytes: number }
  | { type: 'bulk-done'; bytes: number; seconds: number; sha256: string; serverSha256: string; serverBytes: number }
  | { type: 'latency-done'; samplesUs: number[] }
  | { type: 'server-report'; report: ServerReport }
  | { type: 'error'; message: string; code?: string };

export interface ServerReport {
  status: unknown;
  xdp: null | {
    mode: string;
    counters: Record<string, number>;
    conntrack: Record<string, number>;
    /** Kernel→user latency from the XDP metadata timestamps (µs), null before the first sample. */
    latency: { samples: number; p50Us: number; p99Us: number } | null;
  };
  xdpSkippedReason?: string;
  connectionsAccepted: number;
}

export function emit(message: ChildMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Splits a child's stdout into messages. */
export function onMessages(stream: NodeJS.ReadableStream, handler: (m: ChildMessage) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      try {
        handler(JSON.parse(line) as ChildMessage);
      } catch {
        // not one of ours (e.g. a library's log line): ignore
      }
    }
  });
}

/** TLS name of the demo server: a DNS name, because quiche verifies the SNI as a host name, not an IP literal. */
export const DEMO_SERVER_NAME = 'stoq-demo.test';
