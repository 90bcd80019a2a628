// Options `serve` and `connect` share: datapath choice, interface, TLS files.
// Files are read here so a missing one is a clear usage error, not a TLS failure.
import { readFileSync } from 'node:fs';
import type { DatapathChoice } from '@stoq/transport';
import type { OptionSpec } from '../command.js';

export const transportOptions: OptionSpec = {
  datapath: { type: 'string' },
  interface: { type: 'string', short: 'i' },
  json: { type: 'boolean' },
};

export const TRANSPORT_USAGE = [
  '  --datapath D      auto (default: XDP + AF_XDP when possible, else node:dgram), xdp (fail if not possible), dgram',
  '  --interface IF    network interface for the XDP datapath',
  '  --json            machine-readable output on stdout',
];

export class UsageError extends Error {
  readonly usage = true;
}

export function datapathOf(values: Record<string, unknown>): DatapathChoice {
  const d = values['datapath'] ?? 'auto';
  if (d !== 'auto' && d !== 'xdp' && d !== 'dgram') throw new UsageError(`--datapath must be auto, xdp or dgram, got ${String(d)}`);
  return d;
}

export function readPem(values: Record<string, unknown>, name: string): string | undefined {
  const path = values[name];
  if (typeof path !== 'string') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--${name} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export function stringOption(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function portOption(values: Record<string, unknown>, fallback: number): number {
  const raw = values['port'];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be 0..65535, got ${String(raw)}`);
  return n;
}
