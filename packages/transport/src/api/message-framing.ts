// SPDX-License-Identifier: Apache-2.0
// send() messages travel on one unidirectional stream per direction: the stream starts
// with MESSAGE_STREAM_PREFACE, then each message is prefixed with its length as a
// 32-bit big-endian integer. The preface lets a peer that is not STOQ (an HTTP/3
// client's control stream, say) use its first unidirectional stream as a plain stream.
import { StoqInvalidConfigError, StoqMessageTooLargeError, type StoqError } from '../errors.js';

export const MESSAGE_STREAM_PREFACE = Buffer.from('STOQmsg1', 'latin1');

/**
 * The bytes of any ArrayBufferView (a Float32Array's 4 bytes per element, not its
 * elements truncated to bytes), as a Uint8Array over the same memory.
 */
export function asBytes(data: unknown, operation: string): Uint8Array {
  if (!ArrayBuffer.isView(data)) {
    const what = data === null ? 'null' : typeof data === 'object' ? (data.constructor?.name ?? 'object') : typeof data;
    throw new StoqInvalidConfigError(`${operation}: data must be a Buffer, a TypedArray or a DataView, got ${what}`, {
      operation,
      hint: typeof data === 'string' ? 'encode strings first, e.g. Buffer.from(text)' : undefined,
    });
  }
  // Buffers and Uint8Arrays are their bytes already (the common case: no view per datagram).
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Length prefix + the bytes of `view`; every byte of the frame is written, so allocUnsafe leaks nothing. */
export function frameMessage(view: ArrayBufferView, maxBytes: number): Buffer {
  const data = asBytes(view, 'send');
  if (data.byteLength > maxBytes) {
    throw new StoqMessageTooLargeError(`message of ${data.byteLength} bytes exceeds limits.maxMessageBytes (${maxBytes})`, {
      operation: 'send',
    });
  }
  const frame = Buffer.allocUnsafe(4 + data.byteLength);
  frame.writeUInt32BE(data.byteLength, 0);
  frame.set(data, 4);
  return frame;
}

/** Reassembles messages from arbitrary chunk boundaries. */
export class MessageDeframer {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failure: StoqError | null = null;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Set once a header announced a message over the limit; nothing after it is parsed. */
  get failure(): StoqError | null {
    return this.#failure;
  }

  /**
   * Adds a chunk and returns every message now complete. At a header announcing an
   * oversized message it stops, still returning the messages before it, and sets `failure`.
   */
  push(chunk: Buffer): Buffer[] {
    const messages: Buffer[] = [];
    if (this.#failure) return messages;
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    for (;;) {
      if (this.#buffered < 4) return messages;
      const head = this.#peek(4);
      const length = head.readUInt32BE(0);
      if (length > this.#maxBytes) {
        this.#failure = new StoqMessageTooLargeError(`the peer announced a ${length}-byte message; limits.maxMessageBytes is ${this.#maxBytes}`, {
          operation: 'receive message',
          hint: 'raise limits.maxMessageBytes on this side, or send smaller messages',
        });
        this.#chunks = [];
        this.#buffered = 0;
        return messages;
      }
      if (this.#buffered < 4 + length) return messages;
      messages.push(this.#take(4 + length).subarray(4));
    }
  }

  get bufferedBytes(): number {
    return this.#buffered;
  }

  #peek(n: number): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.byteLength >= n) return first;
    this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0] as Buffer;
  }

  #take(n: number): Buffer {
    const all = this.#peek(n);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.byteLength > 0 ? [rest, ...this.#chunks.slice(1)] : this.#chunks.slice(1);
    this.#buffered -= n;
    return out;
  }
}
