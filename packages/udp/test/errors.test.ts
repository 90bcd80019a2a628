// SPDX-License-Identifier: Apache-2.0
// Every misuse gives a typed StoqUdpError with a stable code; nothing crashes.
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StoqUdpError, getUdpSegmentSize, setUdpSegmentSize } from '../src/index.ts';
import { fromNative } from '../src/errors.ts';
import { boundSocket, createSocket } from './helpers.ts';

function thrown(fn: () => unknown): StoqUdpError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StoqUdpError);
    return error as StoqUdpError;
  }
  throw new Error('expected a throw');
}

describe('setUdpSegmentSize', () => {
  it.each([-1, 65_508, 1.5, Number.NaN, Infinity, '1200', undefined])('rejects segmentSize %s with STOQ_ERR_INVALID_ARGUMENT', async (size) => {
    const socket = await boundSocket('udp6');
    const error = thrown(() => setUdpSegmentSize(socket, size as number));
    expect(error.code).toBe('STOQ_ERR_INVALID_ARGUMENT');
    expect(error.operation).toBe('setUdpSegmentSize');
    expect(error.message).toMatch(/^setUdpSegmentSize: segmentSize must be an integer from 0 to 65507/);
    expect(error.errno).toBeUndefined();
  });

  it('accepts the bounds 0 and 65507', async () => {
    const socket = await boundSocket('udp4');
    setUdpSegmentSize(socket, 65_507);
    expect(getUdpSegmentSize(socket)).toBe(65_507);
    setUdpSegmentSize(socket, 0);
    expect(getUdpSegmentSize(socket)).toBe(0);
  });

  it('rejects a socket that is not bound yet: bind it first', () => {
    const socket = createSocket('udp6');
    for (const call of [() => setUdpSegmentSize(socket, 1200), () => getUdpSegmentSize(socket)]) {
      const error = thrown(call);
      expect(error.code).toBe('STOQ_ERR_NOT_BOUND');
      expect(error.message).toContain('not bound');
      expect(error.hint).toMatch(/^bind the socket first/);
    }
  });

  it('rejects a socket while bind() is still in progress', async () => {
    const socket = createSocket('udp6');
    socket.bind(0, '::1');
    expect(thrown(() => setUdpSegmentSize(socket, 1200)).code).toBe('STOQ_ERR_NOT_BOUND');
    await once(socket, 'listening');
    setUdpSegmentSize(socket, 1200); // and works from 'listening' on
  });

  it('rejects a closed socket with STOQ_ERR_CLOSED', async () => {
    const socket = dgram.createSocket('udp6');
    socket.bind(0, '::1');
    await once(socket, 'listening');
    socket.close();
    for (const call of [() => setUdpSegmentSize(socket, 1200), () => getUdpSegmentSize(socket)]) {
      const error = thrown(call);
      expect(error.code).toBe('STOQ_ERR_CLOSED');
      expect(error.message).toContain('the socket is closed');
    }
  });

  it('rejects what is not a node:dgram socket', () => {
    const error = thrown(() => setUdpSegmentSize({} as dgram.Socket, 1200));
    expect(error.code).toBe('STOQ_ERR_INVALID_ARGUMENT');
    expect(error.message).toContain('node:dgram Socket');
  });

  it('says GSO is unavailable on this Node when the internal fd cannot be reached', async () => {
    const socket = await boundSocket('udp6');
    const symbol = Object.getOwnPropertySymbols(socket).find((s) => String(s) === 'Symbol(state symbol)')!;
    const state = (socket as unknown as Record<symbol, { handle: unknown }>)[symbol]!;
    const handle = state.handle;
    try {
      state.handle = { fd: 'x' }; // as a future Node might look
      const error = thrown(() => setUdpSegmentSize(socket, 1200));
      expect(error.code).toBe('STOQ_ERR_UDP_FD_UNAVAILABLE');
      expect(error.message).toContain(`on Node ${process.version}`);
      expect(error.hint).toMatch(/UDP GSO is unavailable on this Node version/);
    } finally {
      state.handle = handle;
    }
  });

  it('refuses an fd that is not a UDP socket instead of misreporting "no GSO"', async () => {
    const socket = await boundSocket('udp6');
    const symbol = Object.getOwnPropertySymbols(socket).find((s) => String(s) === 'Symbol(state symbol)')!;
    const state = (socket as unknown as Record<symbol, { handle: unknown }>)[symbol]!;
    const handle = state.handle;
    const file = openSync('/dev/null', 'r');
    try {
      state.handle = { fd: file }; // a file, not a socket
      const error = thrown(() => setUdpSegmentSize(socket, 1200));
      expect(error.code).toBe('STOQ_ERR_UDP_FD_UNAVAILABLE');
      expect(error.errnoCode).toBe('ENOTSOCK');
    } finally {
      state.handle = handle;
      closeSync(file);
    }
  });
});

describe('kernel errors', () => {
  it('maps ENOPROTOOPT (kernel < 4.18) to STOQ_ERR_UDP_GSO_UNSUPPORTED with errno, code and hint', () => {
    const native = Object.assign(new Error('setsockopt(UDP_SEGMENT) failed: Protocol not available'), { errno: 92, operation: 'setsockopt(UDP_SEGMENT)' });
    const error = fromNative(native, 'setUdpSegmentSize') as StoqUdpError;
    expect(error).toBeInstanceOf(StoqUdpError);
    expect(error.code).toBe('STOQ_ERR_UDP_GSO_UNSUPPORTED');
    expect(error.errno).toBe(92);
    expect(error.errnoCode).toBe('ENOPROTOOPT');
    expect(error.operation).toBe('setsockopt(UDP_SEGMENT)');
    expect(error.message).toMatch(/^setUdpSegmentSize: setsockopt\(UDP_SEGMENT\) failed: Protocol not available \(hint: .*Linux >= 4\.18/);
    expect(error.cause).toBe(native);
  });

  it('brands errors so instanceof holds across copies of the package', () => {
    const foreign = { [Symbol.for('@stoq/udp.StoqUdpError')]: true };
    expect(foreign).toBeInstanceOf(StoqUdpError);
    expect(new Error('x')).not.toBeInstanceOf(StoqUdpError);
  });
});
