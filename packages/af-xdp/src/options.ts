// SPDX-License-Identifier: Apache-2.0
// Policy: every option is validated and defaulted here, and the native side gets
// one complete, trusted object.
import { invalidArgument } from './errors.js';

/** Requested bind mode: zero-copy, copy, or zero-copy with fallback to copy. */
export type XskMode = 'auto' | 'zerocopy' | 'copy';

/** Options of `Umem.create()`. */
export interface UmemOptions {
  /** Number of frames (default 4096). */
  frameCount?: number;
  /** Bytes per frame: 2048 or 4096 (default 4096). */
  frameSize?: 2048 | 4096;
  /** Extra bytes the kernel leaves free before each received packet (default 0). */
  headroom?: number;
  /** Fill ring entries, power of two (default 2048), at most max(2048, frameCount rounded up to a power of two). */
  fillSize?: number;
  /** Completion ring entries, power of two (default 2048), at most max(2048, frameCount rounded up to a power of two). */
  compSize?: number;
  /**
   * Back the UMEM with transparent huge pages (2 MiB-aligned, `MADV_HUGEPAGE`; default
   * false). Fewer TLB misses when a receive loop walks a large UMEM; advice only: check
   * `umem.hugePageBytes` for what the kernel gave (0 with THP set to "never").
   */
  hugePages?: boolean;
  /**
   * Where frames start (default 'aligned'). 'aligned': every frameSize bytes, the
   * kernel's default chunk mode, any driver and bind mode. 'staggered': each frame one
   * cache line further (frameSize + 64 bytes apart, unaligned chunk mode), so packet
   * heads spread over all L1 cache sets instead of two (with 2048-byte frames) or one
   * (4096). Faster for a `receive()` loop that reads every packet's head (see the
   * README's benchmark); copy mode only, since zero-copy drivers reject frames that cross a page.
   */
  layout?: UmemLayout;
}

/** Frame placement in a UMEM: see `UmemOptions.layout`. */
export type UmemLayout = 'aligned' | 'staggered';

/** One cache line: the extra distance between staggered frames. */
export const STAGGER_BYTES = 64;

/** UMEM options with every default filled in, as the native side gets them. */
export type NormalisedUmemOptions = Required<UmemOptions> & {
  /** Bytes from one frame's start to the next. */
  frameStride: number;
};

/** Tuning of the opt-in busy polling (`XskSocket.open({ busyPoll })`). */
export interface BusyPollOptions {
  /** SO_BUSY_POLL: microseconds to spin in the driver per receive (default 20). */
  usecs?: number;
  /** SO_BUSY_POLL_BUDGET: packets per busy-poll round (default 64). */
  budget?: number;
}

/**
 * The largest ring: 2^18 = 262,144 entries, four times the deepest rings anything here
 * uses (the drain benchmark's 65,536-entry fill and RX rings, bench/config.mjs). The
 * kernel allocates a ring whole when the socket or UMEM is set up, 8 bytes per
 * fill/completion entry and 16 per RX/TX descriptor: at most 2 MiB and 4 MiB per ring.
 * The kernel's own limit is only that the allocation succeeds (`fillSize: 2 ** 30` took
 * 8 GiB of unswappable kernel memory).
 */
export const MAX_RING_SIZE = 2 ** 18;

/** The default size of every ring, and the fill/completion size any UMEM may have. */
export const DEFAULT_RING_SIZE = 2048;

/** True for integer powers of two up to MAX_RING_SIZE (valid ring sizes). */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0 && n <= MAX_RING_SIZE;
}

/**
 * The largest fill/completion ring a UMEM of `frameCount` frames can use: each entry is
 * one frame, so a ring never holds more than frameCount of them. The frame count rounded
 * up to a power of two, and never less than the default (2048 entries, 16 KiB).
 */
export function maxFrameRingSize(frameCount: number): number {
  let size = 1;
  while (size < frameCount) size *= 2;
  return Math.max(DEFAULT_RING_SIZE, Math.min(size, MAX_RING_SIZE));
}

function integer(op: string, name: string, value: unknown, fallback: number, min: number, max: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArgument(op, `${op}: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return v;
}

/** `value` (or `fallback` when undefined) as a ring size; throws unless a power of two. */
export function ringSize(op: string, name: string, value: unknown, fallback: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !isPowerOfTwo(v)) {
    throw invalidArgument(op, `${op}: ${name} must be a power of two up to ${MAX_RING_SIZE}, got ${String(value)}`, `ring sizes are powers of two from 1 to 2^18 (${MAX_RING_SIZE}), e.g. 512, 2048, 4096`);
  }
  return v;
}

/** A fill/completion ring size for a UMEM of `frameCount` frames (see maxFrameRingSize). */
function frameRingSize(op: string, name: string, value: unknown, frameCount: number): number {
  const size = ringSize(op, name, value, DEFAULT_RING_SIZE);
  const max = maxFrameRingSize(frameCount);
  if (size > max) {
    throw invalidArgument(
      op,
      `${op}: ${name} ${size} is far above what ${frameCount} frame(s) can use (at most ${max})`,
      `a ${name === 'fillSize' ? 'fill' : 'completion'} ring entry holds one frame: size it at most frameCount rounded up to a power of two (or ${DEFAULT_RING_SIZE}), or add frames`,
    );
  }
  return size;
}

/** Validates `Umem.create()` options and fills in defaults; throws `STOQ_ERR_INVALID_ARGUMENT`. */
export function normaliseUmemOptions(options: UmemOptions = {}): NormalisedUmemOptions {
  const op = 'Umem.create';
  if (typeof options !== 'object' || options === null) throw invalidArgument(op, `${op}: options must be an object, got ${String(options)}`);
  const frameSize = options.frameSize ?? 4096;
  if (frameSize !== 2048 && frameSize !== 4096) {
    throw invalidArgument(op, `${op}: frameSize must be 2048 or 4096, got ${String(options.frameSize)}`, 'aligned UMEM chunks are a power of two between 2048 and the page size');
  }
  const layout = options.layout ?? 'aligned';
  if (layout !== 'aligned' && layout !== 'staggered') {
    throw invalidArgument(op, `${op}: layout must be 'aligned' or 'staggered', got ${String(options.layout)}`);
  }
  const frameStride = layout === 'staggered' ? frameSize + STAGGER_BYTES : frameSize;
  // Offsets travel in Uint32Arrays: keep the whole UMEM under 4 GiB.
  const frameCount = integer(op, 'frameCount', options.frameCount, 4096, 1, Math.floor((2 ** 32 - 1) / frameStride));
  // The kernel reserves XDP_PACKET_HEADROOM (256) in each frame and needs room for a packet.
  const headroom = integer(op, 'headroom', options.headroom, 0, 0, frameSize - 256 - 1514);
  return {
    frameCount,
    frameSize,
    headroom,
    fillSize: frameRingSize(op, 'fillSize', options.fillSize, frameCount),
    compSize: frameRingSize(op, 'compSize', options.compSize, frameCount),
    hugePages: flag(op, 'hugePages', options.hugePages),
    layout,
    frameStride,
  };
}

function flag(op: string, name: string, value: unknown, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArgument(op, `${op}: ${name} must be a boolean, got ${String(value)}`);
  return value;
}

/** Options of `XskSocket.open()` (besides `umem`); the README's table gives the details. */
export interface SocketOptionsBase {
  /** Interface name; it must exist in this process's network namespace. */
  ifname: string;
  /** RX queue to bind (default 0); must be below the interface's real queue count. */
  queueId?: number;
  /** 'auto' (default): zero-copy when the driver supports it, else copy. */
  mode?: XskMode;
  /** XDP_USE_NEED_WAKEUP: enter the kernel only when it asks (default true). */
  needWakeup?: boolean;
  /** RX ring entries, power of two up to 2^18 (default 2048). */
  rxSize?: number;
  /** TX ring entries, power of two up to 2^18 (default 2048). */
  txSize?: number;
  /** Fill ring entries when the socket creates its own UMEM (power of two, default 2048). */
  fillSize?: number;
  /** Completion ring entries when the socket creates its own UMEM (power of two, default 2048). */
  compSize?: number;
  /**
   * Attach no XDP program: the caller's own program owns the XSKMAP (put `socket.fd` in it,
   * e.g. with `updateXskMap`). Without it (default false) the socket joins its interface's
   * redirect program, attached through a bpf_link that the kernel removes when the last
   * process holding it exits (the README's "Standalone mode").
   */
  inhibitProgramLoad?: boolean;
  /** Opt-in busy polling (SO_PREFER_BUSY_POLL + SO_BUSY_POLL) for the lowest latency. */
  busyPoll?: boolean | BusyPollOptions;
  /** Packets per receive()/allocTx() batch (default 256; receive() also prefetches the heads of up to two batches queued behind it). */
  batchSize?: number;
  /** Frames this socket lends to the kernel for receiving (default min(fillSize, half the free frames)). */
  rxFrames?: number;
}

/** Socket options with defaults filled in and busy polling flattened, as the native side gets them. */
export interface NormalisedSocketOptions {
  ifname: string;
  queueId: number;
  mode: XskMode;
  needWakeup: boolean;
  rxSize: number;
  txSize: number;
  fillSize: number | undefined;
  compSize: number | undefined;
  inhibitProgramLoad: boolean;
  busyPollUsecs: number;
  busyPollBudget: number;
  batchSize: number;
  rxFrames: number | undefined;
}

/** Validates `XskSocket.open()` options and fills in defaults; throws `STOQ_ERR_INVALID_ARGUMENT`. */
export function normaliseSocketOptions(options: SocketOptionsBase): NormalisedSocketOptions {
  const op = 'XskSocket.open';
  if (typeof options !== 'object' || options === null) throw invalidArgument(op, `${op}: options object required`);
  const { ifname } = options;
  if (typeof ifname !== 'string' || ifname.length === 0 || ifname.length > 15 || /[/\s]/.test(ifname)) {
    throw invalidArgument(op, `${op}: ifname must be an interface name (1-15 characters, no '/' or spaces), got ${JSON.stringify(ifname)}`);
  }
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'zerocopy' && mode !== 'copy') {
    throw invalidArgument(op, `${op}: mode must be 'auto', 'zerocopy' or 'copy', got ${JSON.stringify(mode)}`);
  }
  const { busyPoll } = options;
  if (busyPoll !== undefined && typeof busyPoll !== 'boolean' && (typeof busyPoll !== 'object' || busyPoll === null)) {
    throw invalidArgument(op, `${op}: busyPoll must be a boolean or { usecs, budget }, got ${String(busyPoll)}`);
  }
  const busy = busyPoll === true ? {} : busyPoll || null;
  return {
    ifname,
    queueId: integer(op, 'queueId', options.queueId, 0, 0, 2 ** 31 - 1),
    mode,
    needWakeup: flag(op, 'needWakeup', options.needWakeup, true),
    rxSize: ringSize(op, 'rxSize', options.rxSize, 2048),
    txSize: ringSize(op, 'txSize', options.txSize, 2048),
    fillSize: options.fillSize === undefined ? undefined : ringSize(op, 'fillSize', options.fillSize, 2048),
    compSize: options.compSize === undefined ? undefined : ringSize(op, 'compSize', options.compSize, 2048),
    inhibitProgramLoad: flag(op, 'inhibitProgramLoad', options.inhibitProgramLoad),
    busyPollUsecs: busy ? integer(op, 'busyPoll.usecs', busy.usecs, 20, 1, 1_000_000) : 0,
    busyPollBudget: busy ? integer(op, 'busyPoll.budget', busy.budget, 64, 1, 65535) : 0,
    batchSize: integer(op, 'batchSize', options.batchSize, 256, 1, 65536),
    rxFrames: options.rxFrames === undefined ? undefined : integer(op, 'rxFrames', options.rxFrames, 0, 0, 2 ** 30),
  };
}
