// SPDX-License-Identifier: Apache-2.0
// Typed errors with stable codes and hints. The brand is a global symbol so
// `instanceof StoqUdpError` holds across two copies of this package in one process.
import { constants } from 'node:os';
import { StoqNativeError } from '@stoq/native-support';

// What a StoqUdpError is built from besides its code and message (operation, hint, errno, cause).
export { errnoName, type StoqNativeErrorDetails as StoqUdpErrorDetails } from '@stoq/native-support';

const E = constants.errno;

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

/**
 * Every error this package throws, `new StoqUdpError(code, message, details)`: the message
 * gets the hint appended, `errnoCode` is derived from `details.errno`. `instanceof
 * StoqUdpError` also holds for errors from another copy of the package in the same process
 * (branded with `Symbol.for('@stoq/udp.StoqUdpError')`).
 */
export class StoqUdpError extends StoqNativeError<StoqUdpErrorCode> {
  /** The cross-copy brand `instanceof` looks for. */
  protected static override readonly brand: symbol = Symbol.for('@stoq/udp.StoqUdpError');
}

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
