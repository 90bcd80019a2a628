// SPDX-License-Identifier: Apache-2.0
// UMEM: the packet memory shared by the kernel and this process. One mmap for its
// whole life, exposed as an ArrayBuffer; packets are views into it by offset.
import { native, type NativeUmem } from './binding.js';
import { closedError, fromNative, invalidArgument } from './errors.js';
import { normaliseUmemOptions, type NormalisedUmemOptions, type UmemLayout, type UmemOptions } from './options.js';

/**
 * The packet memory shared with the kernel: one anonymous mapping registered as an
 * AF_XDP UMEM, split into equal frames. Several sockets (one per queue) may share it.
 */
export class Umem {
  /** Number of frames. */
  readonly frameCount: number;
  /** Bytes per frame (2048 or 4096). */
  readonly frameSize: number;
  /** 'aligned' or 'staggered' (see `UmemOptions.layout`). */
  readonly layout: UmemLayout;
  /** Bytes from one frame's start to the next: frameSize, plus 64 when staggered. */
  readonly frameStride: number;
  /** Bytes the kernel leaves free before each received packet (beyond XDP_PACKET_HEADROOM). */
  readonly headroom: number;
  /** Entries of the fill ring (frames that can be lent to the kernel for RX at once). */
  readonly fillSize: number;
  /** Entries of the completion ring. */
  readonly compSize: number;
  /** Whether huge pages were asked for (`hugePageBytes` says what the kernel gave). */
  readonly hugePages: boolean;
  /**
   * The whole UMEM; stays valid (mapped) as long as any view of it or the UMEM is
   * reachable. Detaching it (`buffer.transfer()`) leaves the memory mapped, but
   * `receive()`, `allocTx()`, `view()` and the batch views then throw
   * `STOQ_ERR_INVALID_ARGUMENT`: they can no longer reach the packets through it.
   */
  readonly buffer: ArrayBuffer;
  /** A byte view of the whole buffer: `bytes[offset]` reads a packet byte without a per-packet view. */
  readonly bytes: Uint8Array;
  /** @internal */
  readonly native: NativeUmem;
  /**
   * @internal `${ifname}:${queueId}` of the sockets bound over this UMEM, with the mode
   * the kernel bound them in (one for all of them: later sockets inherit the first's).
   */
  readonly bindings = new Map<string, 'zerocopy' | 'copy'>();
  #destroyed = false;

  private constructor(handle: NativeUmem, options: NormalisedUmemOptions) {
    this.native = handle;
    this.frameCount = options.frameCount;
    this.frameSize = options.frameSize;
    this.layout = options.layout;
    this.frameStride = options.frameStride;
    this.headroom = options.headroom;
    this.fillSize = options.fillSize;
    this.compSize = options.compSize;
    this.hugePages = options.hugePages;
    this.buffer = handle.buffer;
    this.bytes = new Uint8Array(this.buffer);
  }

  /** Maps and registers a UMEM; throws `XskError` (e.g. `STOQ_ERR_XSK_NO_MEMORY` when it cannot be pinned). */
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

  /**
   * Bytes of the UMEM on huge pages now, as the kernel reports them (/proc/self/smaps;
   * a diagnostic, not for hot paths). All of it with `hugePages` and THP available.
   */
  get hugePageBytes(): number {
    return this.native.hugePageBytes;
  }

  /** True after `destroy()`. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** A view of `length` bytes at UMEM offset `offset` (no copy). */
  view(offset: number, length: number): Uint8Array {
    this.assertAttached('Umem.view');
    if (!Number.isInteger(offset) || !Number.isInteger(length)) {
      throw invalidArgument('Umem.view', `Umem.view: offset and length must be integers, got ${String(offset)} and ${String(length)}`);
    }
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

  /**
   * @internal ArrayBuffer.prototype.transfer() (Node >= 22) detaches `buffer`: the
   * native side keeps the memory mapped, but views of it would be empty or throw a
   * TypeError, so refuse with a typed error instead. A UMEM is never 0 bytes long.
   */
  assertAttached(operation: string): void {
    if (this.buffer.byteLength === 0) {
      throw invalidArgument(operation, `${operation}: umem.buffer was detached (ArrayBuffer.prototype.transfer); the packets in this UMEM can no longer be read or written`, 'leave umem.buffer in place; copy packets out (packet.slice()) to hand them elsewhere');
    }
  }
}
