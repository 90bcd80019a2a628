// SPDX-License-Identifier: Apache-2.0
// Real node:dgram sockets on loopback, closed after each test.
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { afterEach } from 'vitest';

export type Family = 'udp4' | 'udp6';
export const LOOPBACK: Record<Family, string> = { udp4: '127.0.0.1', udp6: '::1' };

const open: dgram.Socket[] = [];
afterEach(() => {
  for (const socket of open.splice(0)) socket.close();
});

/** An unbound socket, closed after the test unless the test closes it. */
export function createSocket(family: Family): dgram.Socket {
  const socket = dgram.createSocket(family);
  open.push(socket);
  socket.on('close', () => open.splice(open.indexOf(socket), 1));
  return socket;
}

/** A socket bound to an ephemeral port on loopback. */
export async function boundSocket(family: Family): Promise<dgram.Socket> {
  const socket = createSocket(family);
  socket.bind(0, LOOPBACK[family]);
  await once(socket, 'listening');
  return socket;
}

/** A bound receiver that records every datagram it gets. */
export async function receiver(family: Family): Promise<{ socket: dgram.Socket; port: number; messages: Buffer[]; waitFor(count: number): Promise<Buffer[]> }> {
  const socket = await boundSocket(family);
  const messages: Buffer[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (message) => {
    messages.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    socket,
    port: socket.address().port,
    messages,
    async waitFor(count) {
      const deadline = Date.now() + 5_000;
      while (messages.length < count && Date.now() < deadline) {
        await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), new Promise((resolve) => setTimeout(resolve, 100))]);
      }
      return messages;
    },
  };
}

/** socket.send with a promise: resolves with the send callback's error (or null). */
export function send(socket: dgram.Socket, data: Buffer | Buffer[], port: number, address: string): Promise<Error | null> {
  return new Promise((resolve) => socket.send(data, port, address, (error) => resolve(error ?? null)));
}

/** `count` buffers of `size` bytes, each filled with its own index (checks order and content). */
export function segments(count: number, size: number, lastSize = size): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(i === count - 1 ? lastSize : size, i & 0xff));
}

/** Waits a little for datagrams that must not arrive. */
export const settle = (ms = 150): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
