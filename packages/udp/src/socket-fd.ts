// SPDX-License-Identifier: Apache-2.0
// The fd of a node:dgram socket. Node does not expose it: it lives on the socket's
// internal state (`socket[kStateSymbol].handle.fd`, lib/internal/dgram.js), so every
// step is checked and anything unexpected becomes STOQ_ERR_UDP_FD_UNAVAILABLE rather than
// a crash or a setsockopt on the wrong fd.
import * as dgram from 'node:dgram';
import { StoqUdpError, invalidArgument } from './errors.js';

const BIND_STATE_BOUND = 2; // lib/internal/dgram.js

function unavailable(operation: string, what: string): StoqUdpError {
  return new StoqUdpError('STOQ_ERR_UDP_FD_UNAVAILABLE', `${operation}: cannot reach the fd of a node:dgram socket on Node ${process.version} (${what})`, {
    operation,
    hint: 'UDP GSO is unavailable on this Node version; send one datagram per call instead',
  });
}

/** Node's internal state object of a dgram socket, found by its symbol's description. */
function internalState(socket: dgram.Socket, operation: string): { handle?: unknown; bindState?: unknown } {
  const symbol = Object.getOwnPropertySymbols(socket).find((s) => String(s) === 'Symbol(state symbol)');
  if (symbol === undefined) throw unavailable(operation, 'no state symbol on the socket');
  const state = (socket as unknown as Record<symbol, unknown>)[symbol];
  if (typeof state !== 'object' || state === null || !('handle' in state)) throw unavailable(operation, 'no handle in the socket state');
  return state as { handle?: unknown; bindState?: unknown };
}

/**
 * The OS fd of a bound node:dgram socket. Throws STOQ_ERR_INVALID_ARGUMENT (not a
 * dgram socket), STOQ_ERR_CLOSED, STOQ_ERR_NOT_BOUND or STOQ_ERR_UDP_FD_UNAVAILABLE.
 */
export function socketFd(socket: dgram.Socket, operation: string): number {
  if (!(socket instanceof dgram.Socket)) throw invalidArgument(operation, 'socket must be a node:dgram Socket');
  const state = internalState(socket, operation);
  const handle = state.handle;
  if (handle === null) {
    throw new StoqUdpError('STOQ_ERR_CLOSED', `${operation}: the socket is closed`, { operation, hint: 'create and bind a new socket' });
  }
  if (typeof handle !== 'object' || handle === undefined) throw unavailable(operation, 'the socket handle is not an object');
  let fd: unknown;
  try {
    fd = (handle as { fd?: unknown }).fd;
  } catch (error) {
    throw Object.assign(unavailable(operation, `reading handle.fd threw: ${String(error)}`), { cause: error });
  }
  if (typeof fd !== 'number' || !Number.isInteger(fd)) throw unavailable(operation, 'handle.fd is not a number');
  if (fd >= 0) return fd;
  // libuv creates the OS socket at bind time: before that handle.fd is UV_EBADF (-9).
  if (state.bindState === BIND_STATE_BOUND) throw unavailable(operation, `handle.fd is ${fd} on a bound socket`);
  throw new StoqUdpError('STOQ_ERR_NOT_BOUND', `${operation}: the socket is not bound yet`, {
    operation,
    hint: "bind the socket first (call it from the bind() callback or on 'listening'); the OS socket only exists once bound",
  });
}
