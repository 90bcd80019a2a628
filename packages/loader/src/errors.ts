// SPDX-License-Identifier: Apache-2.0
// BpfError: every failure of the loader, typed with a stable code, the errno, the
// operation and an actionable hint. Native errors are converted here (policy in TS).
import { constants } from 'node:os';
import { GRANT_HINT, missingForXdp } from './capabilities.js';

/** The stable codes of BpfError (`err.code`). */
export type BpfErrorCode =
  | 'STOQ_ERR_BPF_PERMISSION'
  | 'STOQ_ERR_BPF_VERIFIER'
  | 'STOQ_ERR_BPF_NOT_FOUND'
  | 'STOQ_ERR_BPF_OPEN'
  | 'STOQ_ERR_BPF_LOAD'
  | 'STOQ_ERR_BPF_MAP'
  | 'STOQ_ERR_BPF_TEST_RUN'
  | 'STOQ_ERR_BPF_PIN'
  | 'STOQ_ERR_BPF_ITERATOR'
  | 'STOQ_ERR_XDP_BUSY'
  | 'STOQ_ERR_XDP_UNSUPPORTED'
  | 'STOQ_ERR_XDP_ATTACH'
  | 'STOQ_ERR_NO_SUCH_DEVICE'
  | 'STOQ_ERR_INVALID_ARGUMENT'
  | 'STOQ_ERR_CLOSED';

const brand = Symbol.for('stoq.loader.BpfError');

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? (errno === 524 ? 'ENOTSUPP' : `E${errno}`);
}

/** What a BpfError is built from. */
export interface BpfErrorOptions {
  /** The stable error code. */
  code: BpfErrorCode;
  /** The operation that failed, e.g. `load`, `attachXdp`, `map.update`. */
  operation: string;
  /** The errno the kernel or libbpf returned; 0 when none. */
  errno?: number;
  /** What the user can do about it. */
  hint?: string;
  /** The verifier's log, for STOQ_ERR_BPF_VERIFIER. */
  verifierLog?: string;
  /** The underlying error (becomes `err.cause`). */
  cause?: unknown;
}

/**
 * Every failure of the loader: a stable `code`, the errno, the failing operation and an actionable
 * hint. `instanceof` works across copies of the package (Symbol.for brand).
 */
export class BpfError extends Error {
  /** The stable error code, e.g. `STOQ_ERR_BPF_VERIFIER`. */
  readonly code: BpfErrorCode;
  /** The errno (0 when the error did not come from a syscall). */
  readonly errno: number;
  /** The errno's name, e.g. `EPERM` (empty when errno is 0). */
  readonly errnoCode: string;
  /** The operation that failed, e.g. `load`, `attachXdp`, `map.update`. */
  readonly operation: string;
  /** What to do about it, e.g. which capabilities to grant. */
  readonly hint?: string;
  /**
   * The verifier's log without libbpf's framing (STOQ_ERR_BPF_VERIFIER); its last lines say which
   * instruction failed.
   */
  readonly verifierLog?: string;

  constructor(message: string, options: BpfErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BpfError';
    this.code = options.code;
    this.errno = options.errno ?? 0;
    this.errnoCode = this.errno ? errnoName(this.errno) : '';
    this.operation = options.operation;
    if (options.hint !== undefined) this.hint = options.hint;
    if (options.verifierLog !== undefined) this.verifierLog = options.verifierLog;
    Object.defineProperty(this, brand, { value: true });
  }

  /** True for any BpfError, also one made by another copy of this package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

export function invalidArgument(operation: string, what: string): BpfError {
  return new BpfError(`${operation}: ${what}`, { code: 'STOQ_ERR_INVALID_ARGUMENT', operation, errno: constants.errno.EINVAL });
}

export function closedError(operation: string, what: string): BpfError {
  return new BpfError(`${operation}: the ${what} is closed`, { code: 'STOQ_ERR_CLOSED', operation, errno: constants.errno.EBADF });
}

function permissionHint(): string {
  const missing = missingForXdp();
  const unprivileged = missing.length ? `missing ${missing.join(', ')}; ` : '';
  return `${unprivileged}${GRANT_HINT}`;
}

/** The verifier's output, without libbpf's own framing lines. */
function verifierLogOf(log: string): string | undefined {
  const begin = log.indexOf('-- BEGIN PROG LOAD LOG --');
  if (begin < 0) return /processed \d+ insns|invalid|R\d+ /.test(log) ? log.trim() : undefined;
  const end = log.indexOf('-- END PROG LOAD LOG --', begin);
  return log.slice(begin + '-- BEGIN PROG LOAD LOG --'.length, end < 0 ? undefined : end).trim();
}

type Context = { ifname?: string; path?: string; mapName?: string; mode?: string };

/** Turns an error thrown by the addon into a BpfError; anything else is rethrown as is. */
export function fromNative(error: unknown, fallback: BpfErrorCode, context: Context = {}): BpfError {
  if (error instanceof BpfError) return error;
  const e = error as { errno?: number; operation?: string; log?: string; message?: string };
  if (typeof e?.errno !== 'number') throw error;
  const { errno: n, operation = 'bpf' } = e;
  const E = constants.errno;
  const where = context.ifname ? ` on ${context.ifname}` : context.mapName ? ` (map ${context.mapName})` : context.path ? ` (${context.path})` : '';
  const base = { operation, errno: n, cause: error };
  const log = e.log ?? '';

  const verifierLog = operation === 'load' ? verifierLogOf(log) : undefined;
  if (verifierLog && (n === E.EACCES || n === E.EINVAL || n === E.E2BIG || n === E.EPERM && !missingForXdp().length)) {
    const last = verifierLog.split('\n').filter((line) => line && !/^(processed|verification time|stack depth) /.test(line)).slice(-2).join(' | ');
    return new BpfError(`the kernel verifier rejected the program: ${last}`, {
      ...base, code: 'STOQ_ERR_BPF_VERIFIER', verifierLog,
      hint: 'read err.verifierLog: the last lines say which instruction failed and why',
    });
  }
  if (operation === 'attachIterator' && n === E.EACCES && !missingForXdp().length) {
    return new BpfError(`${e.message}${where}`, {
      ...base, code: fallback, hint: "the iterator program reads more of the key or value than this map's elements have",
    });
  }
  if (n === E.EPERM || n === E.EACCES) {
    return new BpfError(`${e.message}${where}`, { ...base, code: 'STOQ_ERR_BPF_PERMISSION', hint: permissionHint() });
  }
  if (n === E.ENODEV) {
    return new BpfError(`${e.message}${where}`, {
      ...base, code: 'STOQ_ERR_NO_SUCH_DEVICE', hint: 'check the interface name with `ip link` (and the network namespace you run in)',
    });
  }
  if (operation === 'attachXdp' && (n === E.EBUSY || n === E.EEXIST)) {
    return new BpfError(`another XDP program is already attached${where}`, {
      ...base, code: 'STOQ_ERR_XDP_BUSY',
      hint: `see it with \`ip link show dev ${context.ifname ?? 'IF'}\` / \`bpftool net\`; remove it (\`ip link set dev ${context.ifname ?? 'IF'} xdp off\`) or share the interface through libxdp's dispatcher`,
    });
  }
  if (operation === 'attachXdp' && (n === E.EOPNOTSUPP || n === E.EINVAL || n === 524)) {
    return new BpfError(`${context.mode ?? 'this'} XDP mode is not supported${where}: ${e.message}`, {
      ...base, code: 'STOQ_ERR_XDP_UNSUPPORTED',
      hint: "the driver has no native XDP: use mode 'generic' (or 'auto'), or a NIC/driver with XDP support",
    });
  }
  const hint = fallback === 'STOQ_ERR_BPF_OPEN' ? 'is it a BPF ELF object built with clang -target bpf?' : undefined;
  return new BpfError(`${e.message}${where}${log && fallback !== 'STOQ_ERR_BPF_MAP' ? `\n${log.trim()}` : ''}`, {
    ...base, code: fallback, ...(hint ? { hint } : {}),
  });
}
