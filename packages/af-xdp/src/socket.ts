// SPDX-License-Identifier: Apache-2.0
// XskSocket: one AF_XDP socket on (interface, queue). Policy lives here (mode
// choice, UMEM sharing rules, batch ownership); ring mechanics live in native/.
import { EventEmitter } from 'node:events';
import { RxBatch, TxBatch } from './batch.js';
import { native, type NativeSocket, type NativeStatistics } from './binding.js';
import { closedError, errnoName, fromNative, invalidArgument, XskError, type ErrorContext } from './errors.js';
import { rxQueueCount } from './interface-info.js';
import { normaliseSocketOptions, type NormalisedSocketOptions, type SocketOptionsBase } from './options.js';
import { Umem } from './umem.js';

/** Options of `XskSocket.open()`. */
export interface XskSocketOptions extends SocketOptionsBase {
  /** Share this UMEM (one socket per queue). Without it the socket creates and owns one. */
  umem?: Umem;
}

/** The mode the kernel actually bound, read back with getsockopt(XDP_OPTIONS). */
export type BoundMode = 'zerocopy' | 'copy';

/** What `XskSocket.statistics()` returns: the kernel's and the socket's counters, and the bound mode. */
export interface XskStatistics extends NativeStatistics {
  /** The mode the kernel bound. */
  mode: BoundMode;
}

/**
 * One AF_XDP socket on (interface, queue). Emits `'readable'` when the RX ring has
 * packets (polled only while a listener is attached), `'error'` on a poll error and
 * `'close'` once closed.
 */
export class XskSocket extends EventEmitter {
  /** Interface the socket is bound to. */
  readonly ifname: string;
  /** RX queue the socket is bound to. */
  readonly queueId: number;
  /** The UMEM holding this socket's frames (its own or a shared one). */
  readonly umem: Umem;
  /** The mode the kernel bound, read back with getsockopt(XDP_OPTIONS), not assumed. */
  readonly mode: BoundMode;
  /** Why 'auto' did not get zero-copy, when it did not. */
  readonly fallbackReason: string | undefined;
  readonly #native: NativeSocket;
  readonly #rx: RxBatch;
  readonly #tx: TxBatch;
  readonly #ownsUmem: boolean;
  readonly #context: ErrorContext;
  readonly #fd: number;
  readonly #capacity: number;
  #closed = false;
  #polling = false;

  private constructor(native: NativeSocket, umem: Umem, o: NormalisedSocketOptions, owns: boolean, fallback?: string) {
    super();
    this.#native = native;
    this.umem = umem;
    this.ifname = o.ifname;
    this.queueId = o.queueId;
    this.#ownsUmem = owns;
    this.#fd = native.fd;
    this.fallbackReason = fallback;
    this.#context = { ifname: o.ifname, queueId: o.queueId };
    this.mode = this.#call('getsockopt(XDP_OPTIONS)', () => native.zeroCopy()) ? 'zerocopy' : 'copy';
    umem.bindings.set(`${o.ifname}:${o.queueId}`, this.mode);
    const n = (this.#capacity = o.batchSize);
    const arrays = this.#call('createBatchArrays', () => native.createBatchArrays(n));
    this.#rx = new RxBatch(umem, new Uint32Array(arrays, 0, n), new Uint32Array(arrays, 4 * n, n), () => this.release());
    this.#tx = new TxBatch(umem, new Uint32Array(arrays, 8 * n, n), new Uint32Array(arrays, 12 * n, n));
    // Poll the fd only while someone listens for 'readable'.
    this.on('newListener', (event: string | symbol) => {
      if (event === 'readable' && !this.#polling && !this.#closed) this.#startPoll();
    });
    this.on('removeListener', (event: string | symbol) => {
      if (event === 'readable' && this.listenerCount('readable') === 0 && this.#polling) {
        this.#native.stopPoll();
        this.#polling = false;
      }
    });
  }

  /**
   * Creates and binds a socket (creating a UMEM unless `options.umem` is given).
   * Throws `XskError`: bad interface, queue, size or mode, missing privileges, a busy queue.
   */
  static open(options: XskSocketOptions): XskSocket {
    const op = 'XskSocket.open';
    const o = normaliseSocketOptions(options);
    const queues = rxQueueCount(o.ifname, op);
    if (o.queueId >= queues) {
      throw new XskError('STOQ_ERR_XSK_BAD_QUEUE', `${op}: ${o.ifname} has ${queues} RX queue(s); queue ${o.queueId} does not exist`, {
        operation: op,
        hint: 'queues are numbered from 0 (see /sys/class/net/IF/queues); veth has one unless created with numrxqueues',
      });
    }
    const umem = options.umem ?? Umem.create({ frameCount: (o.fillSize ?? 2048) + o.txSize, fillSize: o.fillSize, compSize: o.compSize });
    const owns = options.umem === undefined;
    const key = `${o.ifname}:${o.queueId}`;
    if (!owns) XskSocket.#checkShared(op, umem, o, key);
    const primary = umem.bindings.size === 0;

    if (!primary && o.mode === 'zerocopy') XskSocket.#checkSharedZeroCopy(op, umem, key);
    if (umem.layout === 'staggered' && o.mode === 'zerocopy') {
      throw invalidArgument(op, `${op}: a staggered UMEM binds in copy mode only`, "zero-copy drivers reject frames that cross a page; use layout 'aligned' for zero-copy, or mode 'copy' or 'auto'");
    }
    let rxFrames: number;
    try {
      rxFrames = XskSocket.#rxFrames(op, umem, o, owns);
    } catch (error) {
      if (owns) XskSocket.#destroyAfterFailure(umem, error as Error);
      throw error;
    }
    let zeroCopy = o.mode === 'zerocopy';
    let fallback: string | undefined;
    if (o.mode === 'auto' && primary && umem.layout === 'staggered') {
      fallback = `staggered UMEM on ${key}: copy mode (zero-copy needs aligned frames)`;
    } else if (o.mode === 'auto' && primary) {
      // Sockets sharing a UMEM inherit its mode; only the first one chooses.
      const errno = native.probeZeroCopy(o.ifname, o.queueId);
      zeroCopy = errno === 0;
      if (!zeroCopy) fallback = `zero-copy bind on ${key} failed (${errnoName(errno) ?? errno}); using copy mode`;
    }
    let handle: NativeSocket;
    try {
      // The redirect program's XSKMAP covers every queue that exists now, and at least
      // 64 (libxdp's default) so queues added later with `ethtool -L` still fit.
      handle = new native.NativeSocket(umem.native, { ...o, zeroCopy, rxFrames, xskMapEntries: Math.max(64, queues) });
    } catch (error) {
      const typed = fromNative(error, { ifname: o.ifname, queueId: o.queueId, mode: zeroCopy ? 'zerocopy' : 'copy' });
      if (owns) XskSocket.#destroyAfterFailure(umem, typed);
      throw typed;
    }
    return new XskSocket(handle, umem, o, owns, fallback);
  }

  /**
   * The frames to lend to the kernel for receiving: `rxFrames`, or by default the fill
   * ring (own UMEM) or half the free frames (shared). Refused, instead of silently
   * clamped, when the socket could not receive (none lent while the redirect program
   * steers the queue to it), could not send (no free frame left for allocTx), or when
   * the fill ring or the UMEM's free frames cannot hold them.
   */
  static #rxFrames(op: string, umem: Umem, o: NormalisedSocketOptions, owns: boolean): number {
    const free = umem.freeFrames;
    const rxFrames = o.rxFrames ?? (owns ? umem.fillSize : Math.min(umem.fillSize, Math.floor(free / 2)));
    const which = owns ? "the socket's own" : 'the';
    const sizing = 'lend fewer frames (rxFrames), or create the UMEM with more frames (frameCount)';
    if (rxFrames > umem.fillSize) {
      throw invalidArgument(op, `${op}: rxFrames (${rxFrames}) exceeds the fill ring (${umem.fillSize})`, `rxFrames is at most the UMEM's fillSize; ${sizing}`);
    }
    if (rxFrames === 0 && (o.rxFrames === undefined || !o.inhibitProgramLoad)) {
      const why = o.rxFrames === undefined
        ? `${which} UMEM has ${free} free frame(s) of ${umem.frameCount}, and a socket lends half the free frames by default`
        : 'rxFrames is 0 and the redirect program would steer the queue to it';
      throw invalidArgument(
        op,
        `${op}: the socket on ${o.ifname}:${o.queueId} could not receive: ${why}`,
        o.rxFrames === undefined
          ? 'create the UMEM with more frames (frameCount), or pass rxFrames'
          : 'a socket without RX frames drops every packet sent to it; rxFrames: 0 (send only) needs inhibitProgramLoad, so no XSKMAP points at it unless you put it there',
      );
    }
    if (rxFrames >= free) {
      const what = rxFrames > free ? 'exceeds the' : 'leaves no frame to send from: it takes all';
      throw invalidArgument(
        op,
        `${op}: rxFrames ${rxFrames} ${what} ${free} free frame(s) of ${which} UMEM (${umem.frameCount} frames)`,
        `allocTx() sends from the frames no socket has lent for receiving; ${sizing}`,
      );
    }
    return rxFrames;
  }

  static #checkShared(op: string, umem: Umem, o: NormalisedSocketOptions, key: string): void {
    umem.assertUsable(op);
    if (umem.bindings.has(key)) {
      throw invalidArgument(op, `${op}: this UMEM already has a socket on ${key}`, 'one socket per queue; open the other queues with the same UMEM');
    }
    for (const [name, size] of [['fillSize', o.fillSize], ['compSize', o.compSize]] as const) {
      if (size !== undefined && size !== umem[name]) {
        throw invalidArgument(op, `${op}: ${name} ${size} differs from the shared UMEM's ${umem[name]}`, 'ring sizes of fill/completion rings are set when the UMEM is created');
      }
    }
  }

  // A socket sharing a UMEM binds with XDP_SHARED_UMEM alone (libxdp), and the kernel
  // gives it the mode the UMEM was first bound in: 'zerocopy' over a copy-mode UMEM
  // would silently be copy mode.
  static #checkSharedZeroCopy(op: string, umem: Umem, key: string): void {
    const [first, mode] = umem.bindings.entries().next().value!;
    if (mode === 'copy') {
      throw invalidArgument(
        op,
        `${op}: 'zerocopy' on ${key} over a UMEM bound in copy mode (by its socket on ${first}); sockets sharing a UMEM get the mode of its first binding`,
        "use mode 'copy' or 'auto' for this socket, open it with its own UMEM, or bind the UMEM's first socket in zero-copy",
      );
    }
  }

  static #destroyAfterFailure(umem: Umem, typed: Error): void {
    try {
      umem.destroy();
    } catch (cleanupError) {
      // Keep the original failure as the error, and the cleanup failure visible on it.
      Object.assign(typed, { cleanupError });
    }
  }

  /**
   * The socket's fd, e.g. to put into the caller's XSKMAP; -1 once closed (the number
   * may already belong to another file by then).
   */
  get fd(): number {
    return this.#closed ? -1 : this.#fd;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Takes up to `max` received packets off the RX ring into the reusable batch.
   * The previous batch must have been released.
   */
  receive(max = this.#capacity): RxBatch {
    this.#assertOpen('receive');
    this.#assertAttached('receive');
    if (max !== this.#capacity) max = this.#checkMax('receive', max);
    // Hot path: no closure per call, only the reused batch.
    try {
      this.#rx.count = this.#native.receive(max);
    } catch (error) {
      throw fromNative(error, this.#context);
    }
    return this.#rx;
  }

  /**
   * `release()` then `receive(max)` in one call into native code: the held batch's
   * frames go back to the fill ring and the next packets land in the same batch.
   * Works with no batch held too. For tight drain loops.
   */
  releaseAndReceive(max = this.#capacity): RxBatch {
    this.#assertOpen('receive');
    this.#assertAttached('releaseAndReceive');
    if (max !== this.#capacity) max = this.#checkMax('releaseAndReceive', max);
    try {
      this.#rx.count = this.#native.receive(max, true);
    } catch (error) {
      throw fromNative(error, this.#context);
    }
    return this.#rx;
  }

  /** Returns the current RX batch's frames to the fill ring (one ring submit). */
  release(): void {
    this.#assertOpen('release');
    try {
      this.#native.releaseRx();
    } catch (error) {
      throw fromNative(error, this.#context);
    }
    this.#rx.count = 0;
  }

  /**
   * Reserves up to `max` free frames for sending (fewer when UMEM or TX ring are short).
   * Frames still reserved by an earlier call, neither sent nor cancelled, go back to the
   * UMEM first (the batch object is reused, so they were out of reach anyway).
   */
  allocTx(max = this.#capacity): TxBatch {
    this.#assertOpen('allocTx');
    this.#assertAttached('allocTx');
    if (max !== this.#capacity) max = this.#checkMax('allocTx', max);
    try {
      this.#tx.count = this.#native.allocTx(max);
    } catch (error) {
      throw fromNative(error, this.#context);
    }
    return this.#tx;
  }

  /**
   * Puts the first `count` frames of the TX batch on the TX ring and kicks the kernel
   * if it asks (need_wakeup). Returns how many were queued; frames that did not fit
   * go back to the UMEM (counted in txRingFullDrops), and so do frames past `count`.
   * Throws STOQ_ERR_INVALID_ARGUMENT, sending nothing, if `batch.offsets` was changed.
   * When the kick fails after frames were queued, the error carries `queued` and the
   * batch is empty (its frames belong to the kernel now).
   */
  send(batch: TxBatch = this.#tx, count = batch.count): number {
    this.#assertOpen('send');
    if (batch !== this.#tx) throw invalidArgument('send', 'send: the batch belongs to another socket');
    if (!Number.isInteger(count) || count < 0 || count > batch.count) {
      throw invalidArgument('send', `send: count ${count} must be in [0, ${batch.count}]`);
    }
    let queued: number;
    try {
      queued = this.#native.submitTx(count);
    } catch (error) {
      const typed = fromNative(error, this.#context);
      const sent = (error as { queued?: unknown }).queued;
      if (typeof sent === 'number') {
        batch.count = 0;
        Object.assign(typed, { queued: sent });
      }
      throw typed;
    }
    // The native side gave the frames beyond `queued` back to the UMEM.
    batch.count = 0;
    return queued;
  }

  /** Gives back frames reserved by allocTx() and not sent. */
  cancelTx(): void {
    this.#assertOpen('cancelTx');
    this.#native.cancelTx();
    this.#tx.count = 0;
  }

  /** Collects completed transmissions so their frames can be reused; returns how many. */
  reap(): number {
    this.#assertOpen('reap');
    return this.#call('reap', () => this.#native.reap());
  }

  /** The kernel's XDP_STATISTICS plus this socket's own counters. */
  statistics(): XskStatistics {
    this.#assertOpen('statistics');
    return { mode: this.mode, ...this.#call('statistics', () => this.#native.statistics()) };
  }

  /**
   * For inhibitProgramLoad users: insert this socket into their XSKMAP at this queue id.
   * `mapFd` must be an open XSKMAP fd (e.g. from `openPinnedMap()`): anything else is
   * STOQ_ERR_INVALID_ARGUMENT.
   */
  updateXskMap(mapFd: number): void {
    this.#assertOpen('updateXskMap');
    if (typeof mapFd !== 'number' || !Number.isInteger(mapFd) || mapFd < 0 || mapFd > 2 ** 31 - 1) {
      throw invalidArgument('updateXskMap', `updateXskMap: mapFd must be a file descriptor (an integer in [0, ${2 ** 31 - 1}]), got ${String(mapFd)}`);
    }
    this.#call('xsk_socket__update_xskmap', () => this.#native.updateXskMap(mapFd));
  }

  /** Let the process exit while this socket is polled (like socket.unref()). */
  unref(): this {
    this.#native.setRef(false);
    return this;
  }

  /** Let a polled socket keep the process alive again (the default). */
  ref(): this {
    this.#native.setRef(true);
    return this;
  }

  /**
   * Closes the socket (safe with frames in flight); idempotent. Frames reserved by
   * `allocTx()` and not sent go back to the UMEM, so the TX batch is emptied.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#polling = false;
    this.#native.close();
    this.#tx.count = 0;
    this.umem.bindings.delete(`${this.ifname}:${this.queueId}`);
    if (this.#ownsUmem && this.umem.bindings.size === 0) this.umem.destroy();
    this.emit('close');
  }

  #startPoll(): void {
    this.#call('startPoll', () =>
      this.#native.startPoll((errno: number) => {
        if (errno === 0) this.emit('readable');
        else this.emit('error', fromNative(Object.assign(new Error(`poll on ${this.ifname} failed`), { errno, operation: 'uv_poll' }), this.#context));
      }),
    );
    this.#polling = true;
  }

  /**
   * The four batch arrays share one natively allocated buffer. postMessage and
   * structuredClone copy it, but ArrayBuffer.prototype.transfer() (Node ≥ 22) detaches
   * it; native code keeps its own pointer (the memory stays alive), but the JS views
   * would then read nothing, so refuse rather than hand out empty or wrong views. The
   * same goes for the UMEM's buffer.
   */
  #assertAttached(operation: string): void {
    if (this.#rx.offsets.byteLength === 0) {
      throw invalidArgument(operation, `${operation}: the batch arrays were detached (ArrayBuffer.prototype.transfer); this socket's batches can no longer be read`);
    }
    this.umem.assertAttached(operation);
  }

  // Only for a `max` other than the default, so the usual call pays one comparison.
  #checkMax(operation: string, max: unknown): number {
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) {
      throw invalidArgument(operation, `${operation}: max must be a non-negative integer, got ${String(max)}`);
    }
    return Math.min(max, this.#capacity);
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw closedError(operation, `the AF_XDP socket on ${this.ifname}:${this.queueId}`);
  }

  #call<T>(operation: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw fromNative(error, this.#context);
    }
  }
}
