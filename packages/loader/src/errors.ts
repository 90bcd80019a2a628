// SPDX-License-Identifier: Apache-2.0
// BpfError: every failure of the loader, typed with a stable code, the errno, the
// operation and an actionable hint. Native errors are converted here (policy in TS).
import { constants } from 'node:os';
import { StoqNativeError, errnoName as knownErrnoName } from '@stoq/native-support';
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

/**
 * The errno's name; also for errnos Node does not know: 524 (the kernel's internal
 * ENOTSUPP, which BPF syscalls leak) and `E<number>` for the rest.
 */
export function errnoName(errno: number): string {
  return knownErrnoName(errno) ?? (errno === 524 ? 'ENOTSUPP' : `E${errno}`);
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
 * hint. `instanceof` works across copies of the package (Symbol.for brand). Unlike the other
 * native packages' errors, the message does not repeat the hint, and `errno` is 0 (with
 * `errnoCode` `''`) when the error did not come from a syscall.
 */
export class BpfError extends StoqNativeError<BpfErrorCode> {
  /** The cross-copy brand `instanceof` looks for. */
  protected static override readonly brand: symbol = Symbol.for('stoq.loader.BpfError');
  /** The errno (0 when the error did not come from a syscall). */
  declare readonly errno: number;
  /** The errno's name, e.g. `EPERM` (empty when errno is 0). */
  declare readonly errnoCode: string;
  /** What to do about it, e.g. which capabilities to grant. */
  declare readonly hint: string | undefined;
  /**
   * The verifier's log without libbpf's framing (STOQ_ERR_BPF_VERIFIER); its last lines say which
   * instruction failed.
   */
  readonly verifierLog?: string;

  constructor(message: string, options: BpfErrorOptions) {
    const errno = options.errno ?? 0;
    // No hint for the base: it would append it to the message.
    super(options.code, message, { operation: options.operation, errno, cause: options.cause });
    this.errnoCode = errno ? errnoName(errno) : '';
    this.hint = options.hint;
    if (options.verifierLog !== undefined) this.verifierLog = options.verifierLog;
  }
}

export function invalidArgument(operation: string, what: string): BpfError {
  return new BpfError(`${operation}: ${what}`, { code: 'STOQ_ERR_INVALID_ARGUMENT', operation, errno: constants.errno.EINVAL });
}

/**
 * An options argument as an object: undefined and null mean "no options" ({}); anything
 * else that is not an object is STOQ_ERR_INVALID_ARGUMENT instead of a TypeError later.
 */
export function optionsObject<T extends object>(operation: string, options: T | null | undefined): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw invalidArgument(operation, `options must be an object, got ${typeof options === 'string' ? JSON.stringify(options) : String(options)}`);
  return options;
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
  // Appended to the native message unless it names the same thing already (open and pin put the path in).
  const suffix = where && !String(e.message).includes(where.trim()) ? where : '';
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
    return new BpfError(`${e.message}${suffix}`, {
      ...base, code: fallback, hint: "the iterator program reads more of the key or value than this map's elements have",
    });
  }
  if (operation === 'attachIterator' && n === E.EBADF) {
    return new BpfError(`${e.message}${suffix}`, {
      ...base, code: fallback,
      hint: context.mapName
        ? `the fd of map ${context.mapName} is not an open BPF map (closed, or not a map)`
        : 'this iterator needs a target: map-element iterators (SEC("iter/bpf_map_elem")) take attachIterator({ map })',
    });
  }
  if ((n === E.EPERM || n === E.EACCES) && operation === 'openMapsByName') {
    // Walking BPF object ids (BPF_MAP_GET_NEXT_ID) needs CAP_SYS_ADMIN, whatever else is granted.
    return new BpfError(`${e.message}${suffix}`, {
      ...base, code: 'STOQ_ERR_BPF_PERMISSION',
      hint: `${permissionHint()}; finding maps by name also walks every BPF map id, which needs CAP_SYS_ADMIN (add cap_sys_admin)`,
    });
  }
  if (n === E.EPERM || n === E.EACCES) {
    return new BpfError(`${e.message}${suffix}`, { ...base, code: 'STOQ_ERR_BPF_PERMISSION', hint: permissionHint() });
  }
  if (n === E.ENODEV) {
    return new BpfError(`${e.message}${suffix}`, {
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
  const hint = fallback === 'STOQ_ERR_BPF_OPEN' ? 'is it a BPF ELF object built with clang -target bpf?' : mapWriteHint(operation, n);
  return new BpfError(`${e.message}${suffix}${log && fallback !== 'STOQ_ERR_BPF_MAP' ? `\n${log.trim()}` : ''}`, {
    ...base, code: fallback, ...(hint ? { hint } : {}),
  });
}

/** Why a map update or delete failed and what to do; every failed map write gets one (DESIGN). */
function mapWriteHint(operation: string, errno: number): string | undefined {
  const E = constants.errno;
  if (operation === 'map.update') {
    switch (errno) {
      case E.E2BIG: return 'the map is full (max_entries reached), or the key is an array index past max_entries: delete entries, raise max_entries or use an LRU hash';
      case E.EEXIST: return "flag 'noexist' only creates and the key is already there (an array holds every index): use 'any' or 'exist' to replace it";
      case E.ENOENT: return "flag 'exist' only replaces and the key is not there: use 'any' or 'noexist' to create it";
      case E.ENOMEM: return 'the kernel could not allocate the element: the memory cgroup (or RLIMIT_MEMLOCK before 5.11) limit is reached, or a preallocated map has no free element';
      case E.EINVAL: return "the kernel refused this key, value or flag for the map's type (maps of fds such as xskmap, devmap and prog_array take a valid fd or ifindex as value)";
      case E.EBUSY: return 'the element is locked by a BPF program running on this CPU: retry';
      default: return `BPF_MAP_UPDATE_ELEM failed with ${errnoName(errno)}: check the map's type and limits with \`bpftool map show\``;
    }
  }
  if (operation === 'map.delete') {
    if (errno === E.EINVAL) return 'array maps cannot delete entries (every index always exists): write a zeroed value instead';
    return `BPF_MAP_DELETE_ELEM failed with ${errnoName(errno)}: check the map's type with \`bpftool map show\``;
  }
  return undefined;
}
