// Options `serve` and `connect` share: datapath choice, interface, TLS files.
// Files are read here so a missing one is a clear usage error, not a TLS failure.
import { closeSync, createReadStream, fstatSync, openSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
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
  // XDP is only ever attached to an interface named on purpose.
  if (d === 'xdp' && typeof values['interface'] !== 'string') throw new UsageError('--datapath xdp needs --interface IF');
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

/**
 * A numeric option as a number in [min, max] (integers only unless `fractional`).
 * Blank text is refused: Number('') is 0, which would mean "any port" or "no wait".
 */
export function numberOption(
  values: Record<string, unknown>,
  name: string,
  range: { min: number; max: number; fractional?: boolean },
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  const n = text === '' ? NaN : Number(text);
  const kind = range.fractional ? 'a number' : 'a whole number';
  if (!Number.isFinite(n) || (!range.fractional && !Number.isInteger(n)) || n < range.min || n > range.max) {
    throw new UsageError(`--${name} must be ${kind} from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export function portOption(values: Record<string, unknown>, fallback: number): number {
  return numberOption(values, 'port', { min: 0, max: 65535 }) ?? fallback;
}

/** Opens `--file` now, so a missing file or a directory is a usage error before anything connects. */
export function openInputFile(path: string): Readable {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new UsageError(`--file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new UsageError(`--file ${path}: EISDIR (a directory; give a file)`);
  }
  return createReadStream('', { fd });
}
