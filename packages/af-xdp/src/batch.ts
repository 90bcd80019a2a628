// SPDX-License-Identifier: Apache-2.0
// Reusable batch objects: one RX and one TX batch per socket, backed by typed
// arrays over memory the native side allocated and writes into (postMessage and
// structuredClone copy it; transfer() can detach the JS views, never the memory). Receiving N packets allocates nothing per packet.
import { invalidArgument } from './errors.js';
import type { Umem } from './umem.js';

/**
 * receive()/allocTx() already refuse a detached UMEM once per batch; a view made after
 * umem.buffer was detached mid-batch fails with V8's TypeError, typed here on that rare
 * path instead of checked on every packet.
 */
function detachedOr(umem: Umem, operation: string, error: unknown): unknown {
  umem.assertAttached(operation);
  return error;
}

/** Received packets: `count` entries of UMEM offset + length, valid until release(). */
export class RxBatch {
  /** Packets in this batch; entries past it in the arrays are stale. */
  count = 0;
  /** UMEM offset of each packet's first byte (index into `umem.bytes`). */
  readonly offsets: Uint32Array;
  /** Length in bytes of each packet. */
  readonly lengths: Uint32Array;
  readonly #umem: Umem;
  readonly #metadata: DataView;
  readonly #release: () => void;

  /** @internal */
  constructor(umem: Umem, offsets: Uint32Array, lengths: Uint32Array, release: () => void) {
    this.#umem = umem;
    this.offsets = offsets;
    this.lengths = lengths;
    this.#metadata = new DataView(umem.buffer);
    this.#release = release;
  }

  /** View of packet i (Ethernet frame) inside UMEM: no copy, valid until release(). */
  packet(i: number): Uint8Array {
    this.#check(i);
    try {
      return new Uint8Array(this.#umem.buffer, this.offsets[i]!, this.lengths[i]!);
    } catch (error) {
      throw detachedOr(this.#umem, 'RxBatch.packet', error);
    }
  }

  /**
   * The 8 bytes of XDP metadata right before packet i, as written by an XDP program
   * with `timestamp_meta` on (bpf_ktime_get_ns, host byte order). Meaningless when no
   * program writes metadata; there is always room for it (XDP_PACKET_HEADROOM).
   */
  metadataTimestamp(i: number): bigint {
    this.#check(i);
    try {
      return this.#metadata.getBigUint64(this.offsets[i]! - 8, true);
    } catch (error) {
      throw detachedOr(this.#umem, 'RxBatch.metadataTimestamp', error);
    }
  }

  /** Returns every frame of this batch to the fill ring in one go. */
  release(): void {
    this.#release();
  }

  #check(i: number): void {
    // offsets.length: 0 once the arrays are detached (transfer()), never a view at undefined.
    if (!Number.isInteger(i) || i < 0 || i >= this.count || i >= this.offsets.length) {
      throw invalidArgument('RxBatch.packet', `RxBatch: index ${i} outside the batch of ${this.count}`);
    }
  }
}

/** Frames reserved for sending: write into frame(i), setLength(i, n), then socket.send(). */
export class TxBatch {
  /** Frames reserved by the last `allocTx()`. */
  count = 0;
  /** UMEM offset of each reserved frame. */
  readonly offsets: Uint32Array;
  /** Packet length to send from each frame (set with `setLength`). */
  readonly lengths: Uint32Array;
  readonly #umem: Umem;

  /** @internal */
  constructor(umem: Umem, offsets: Uint32Array, lengths: Uint32Array) {
    this.#umem = umem;
    this.offsets = offsets;
    this.lengths = lengths;
  }

  /** The whole frame i (frameSize bytes) to write a packet into. */
  frame(i: number): Uint8Array {
    this.#check(i);
    try {
      return new Uint8Array(this.#umem.buffer, this.offsets[i]!, this.#umem.frameSize);
    } catch (error) {
      throw detachedOr(this.#umem, 'TxBatch.frame', error);
    }
  }

  /** Sets how many bytes of frame i to send (1..frameSize). */
  setLength(i: number, length: number): void {
    this.#check(i);
    if (!Number.isInteger(length) || length < 1 || length > this.#umem.frameSize) {
      throw invalidArgument('TxBatch.setLength', `TxBatch: length ${length} must be in [1, ${this.#umem.frameSize}]`);
    }
    this.lengths[i] = length;
  }

  #check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count || i >= this.offsets.length) {
      throw invalidArgument('TxBatch.frame', `TxBatch: index ${i} outside the batch of ${this.count}`);
    }
  }
}
