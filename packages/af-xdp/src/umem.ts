// SPDX-License-Identifier: Apache-2.0
// UMEM: the packet memory shared by the kernel and this process. One mmap for its
// whole life, exposed as an ArrayBuffer; packets are views into it by offset.
import { native, type NativeUmem } from './binding.js';
import { closedError, fromNative, invalidArgument } from './errors.js';
import { normaliseUmemOptions, type NormalisedUmemOptions, type UmemOptions } from './options.js';

export class Umem {
  readonly frameCount: number;
  readonly frameSize: number;
  readonly headroom: number;
  readonly fillSize: number;
  readonly compSize: number;
  /** The whole UMEM; stays valid (mapped) as long as any view of it is reachable. */
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  /** @internal */
  readonly native: NativeUmem;
  /** @internal `${ifname}:${queueId}` of the sockets bound over this UMEM. */
  readonly bindings = new Set<string>();
  #destroyed = false;

  private constructor(handle: NativeUmem, options: NormalisedUmemOptions) {
    this.native = handle;
    this.frameCount = options.frameCount;
    this.frameSize = options.frameSize;
    this.headroom = options.headroom;
    this.fillSize = options.fillSize;
    this.compSize = options.compSize;
    this.buffer = handle.buffer;
    this.bytes = new Uint8Array(this.buffer);
  }

  static create(options: UmemOptions = {}): Umem {
    const normalised = normaliseUmemOptions(options);
    try {
      return new Umem(new native.NativeUmem(normalised), normalised);
    } catch (error) {
      throw fromNative(error);
    }
  }

  /** Frames not lent to any socket's fill ring, TX ring or caller. */
  get freeFrames(): number {
    return this.native.freeFrames;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** A view of `length` bytes at UMEM offset `offset` (no copy). */
  view(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.buffer.byteLength) {
      throw invalidArgument('Umem.view', `Umem.view: [${offset}, ${offset + length}) is outside the UMEM (${this.buffer.byteLength} bytes)`);
    }
    return new Uint8Array(this.buffer, offset, length);
  }

  /**
   * Releases the UMEM's kernel registration once its sockets are closed. The memory
   * itself is unmapped when the buffer is garbage-collected, so old views stay safe.
   */
  destroy(): void {
    if (this.#destroyed) return;
    try {
      this.native.destroy();
    } catch (error) {
      throw fromNative(error);
    }
    this.#destroyed = true;
  }

  /** @internal */
  assertUsable(operation: string): void {
    if (this.#destroyed) throw closedError(operation, 'the UMEM');
  }
}
