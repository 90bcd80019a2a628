// SPDX-License-Identifier: Apache-2.0
// Typed errors with stable codes and hints. The brand is a global symbol so
// `instanceof StoqUdpError` holds across two copies of this package in one process.
import { constants } from 'node:os';

const brand = Symbol.for('@stoq/udp.StoqUdpError');

/** Stable codes of `StoqUdpError` (the README's Errors table says when each occurs). */
export type StoqUdpErrorCode =
  | 'STOQ_ERR_INVALID_ARGUMENT'
  | 'STOQ_ERR_NOT_BOUND'
  | 'STOQ_ERR_CLOSED'
  | 'STOQ_ERR_UDP_GSO_UNSUPPORTED'
  | 'STOQ_ERR_UDP_FD_UNAVAILABLE'
  | 'STOQ_ERR_NATIVE_MISSING'
  | 'STOQ_ERR_NATIVE_LOAD'
  | 'STOQ_ERR_UDP_SYSCALL';

/** What a `StoqUdpError` is built from besides its code and message. */
export interface StoqUdpErrorDetails {
  /** The failing call, e.g. `'setUdpSegmentSize'` or `'setsockopt(UDP_SEGMENT)'`. */
  operation: string;
  /** What to do about it; appended to the message. */
  hint?: string;
  /** Positive OS errno, when a system call failed. */
  errno?: number;
  /** The underlying error (becomes `error.cause`). */
  cause?: unknown;
}

/**
 * Every error this package throws. `instanceof StoqUdpError` also holds for errors from
 * another copy of the package in the same process (branded with `Symbol.for`).
 */
export class StoqUdpError extends Error {
  /** Stable machine-readable code. */
  readonly code: StoqUdpErrorCode;
  /** The failing call. */
  readonly operation: string;
  /** What to do about it, when known. */
  readonly hint: string | undefined;
  /** Positive OS errno when a system call failed. */
  readonly errno: number | undefined;
  /** Symbolic errno, e.g. `'ENOPROTOOPT'`. */
  readonly errnoCode: string | undefined;

  /** The message gets the hint appended; `errnoCode` is derived from `details.errno`. */
  constructor(code: StoqUdpErrorCode, message: string, details: StoqUdpErrorDetails) {
    super(details.hint ? `${message} (hint: ${details.hint})` : message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'StoqUdpError';
    this.code = code;
    this.operation = details.operation;
    this.hint = details.hint;
    this.errno = details.errno;
    this.errnoCode = details.errno === undefined ? undefined : errnoName(details.errno);
  }

  /** The cross-copy brand `instanceof` looks for. */
  get [brand](): true {
    return true;
  }

  /** True for any object carrying the brand, whichever copy of the package made it. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && brand in value;
  }
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));

/** Symbolic name of a positive errno (e.g. 92 → `'ENOPROTOOPT'`), undefined when unknown. */
export function errnoName(errno: number): string | undefined {
  return errnoNames.get(errno);
}

const E = constants.errno;

/** The hint for a kernel without UDP GSO (also used by the probe). */
export const NO_GSO_HINT = 'the kernel has no UDP GSO (UDP_SEGMENT needs Linux >= 4.18); send one datagram per call instead';

/** Turns an error thrown by the native addon (`{ errno, operation }`) into a StoqUdpError. */
export function fromNative(error: unknown, operation: string): unknown {
  if (error instanceof StoqUdpError || typeof error !== 'object' || error === null) return error;
  const { errno, operation: syscall } = error as { errno?: unknown; operation?: unknown };
  if (typeof errno !== 'number' || typeof syscall !== 'string') return error;
  const message = `${operation}: ${(error as Error).message}`;
  const details = { operation: syscall, errno, cause: error };
  switch (errno) {
    case E.ENOPROTOOPT:
    case E.EINVAL:
      return new StoqUdpError('STOQ_ERR_UDP_GSO_UNSUPPORTED', message, { ...details, hint: NO_GSO_HINT });
    case E.EBADF:
      return new StoqUdpError('STOQ_ERR_CLOSED', message, { ...details, hint: 'the socket was closed' });
    case E.ENOTSOCK:
    case E.EPROTOTYPE:
      return new StoqUdpError('STOQ_ERR_UDP_FD_UNAVAILABLE', message, {
        ...details,
        hint: 'the fd found inside the node:dgram socket is not a UDP socket; this Node version is not supported',
      });
    default:
      return new StoqUdpError('STOQ_ERR_UDP_SYSCALL', message, { ...details, hint: 'system call failed' });
  }
}

/** A `STOQ_ERR_INVALID_ARGUMENT` error for `operation`. */
export function invalidArgument(operation: string, message: string, hint?: string): StoqUdpError {
  return new StoqUdpError('STOQ_ERR_INVALID_ARGUMENT', `${operation}: ${message}`, { operation, ...(hint ? { hint } : {}) });
}
