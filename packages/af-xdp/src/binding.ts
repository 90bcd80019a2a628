// SPDX-License-Identifier: Apache-2.0
// The one door to the native addon. Everything native is declared here; options
// arrive already validated and normalised (see options.ts).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options for `new NativeUmem()`; validated in umem.ts. */
export interface NativeUmemOptions {
  frameCount: number;
  frameSize: number;
  headroom: number;
  fillSize: number;
  compSize: number;
}

export interface NativeUmem {
  /** The whole UMEM mapping; its finalizer unmaps it when the last view is gone. */
  readonly buffer: ArrayBuffer;
  readonly freeFrames: number;
  /** The UMEM's fd (also the first socket's fd), -1 once destroyed. */
  readonly fd: number;
  /** Closes the UMEM fd; throws EBUSY while sockets still use it. */
  destroy(): void;
}

/** Options for `new NativeSocket()`; validated in options.ts. */
export interface NativeSocketOptions {
  ifname: string;
  queueId: number;
  zeroCopy: boolean;
  needWakeup: boolean;
  rxSize: number;
  txSize: number;
  inhibitProgramLoad: boolean;
  /** 0 = no busy polling. */
  busyPollUsecs: number;
  busyPollBudget: number;
  /** Frames lent to the kernel's fill ring at open. */
  rxFrames: number;
}

export interface NativeStatistics {
  kernel: {
    rxDropped: number;
    rxInvalidDescs: number;
    txInvalidDescs: number;
    rxRingFull: number;
    rxFillRingEmptyDescs: number;
    txRingEmptyDescs: number;
  };
  socket: {
    rxPackets: number;
    rxBytes: number;
    rxBatches: number;
    txPackets: number;
    txBytes: number;
    txBatches: number;
    txCompleted: number;
    txRingFullDrops: number;
    fillRingRefills: number;
    wakeups: number;
    transientKickErrors: number;
    txOutstanding: number;
    umemFreeFrames: number;
  };
}

export interface NativeSocket {
  readonly fd: number;
  /** XDP_OPTIONS_ZEROCOPY as reported by getsockopt. */
  zeroCopy(): boolean;
  statistics(): NativeStatistics;
  updateXskMap(mapFd: number): void;
  close(): void;
  /** Binds the JS batch arrays the ring calls read and write. */
  bindArrays(rxOffsets: Uint32Array, rxLengths: Uint32Array, txOffsets: Uint32Array, txLengths: Uint32Array): void;
  /** Fills rxOffsets/rxLengths; EBUSY while the previous batch is held. */
  receive(max: number): number;
  /** Returns the held RX batch to the fill ring. */
  releaseRx(): void;
  /** Writes up to `max` free frame offsets to txOffsets. */
  allocTx(max: number): number;
  /** Puts the first `count` txOffsets/txLengths on the TX ring; returns how many fit. */
  submitTx(count: number): number;
  cancelTx(count: number): void;
  /** Reaps the completion ring (and kicks while frames are queued). */
  reap(): number;
  startPoll(onReadable: (errno: number) => void): void;
  stopPoll(): void;
  setRef(ref: boolean): void;
}

export interface NativeAddon {
  NativeUmem: new (options: NativeUmemOptions) => NativeUmem;
  NativeSocket: new (umem: NativeUmem, options: NativeSocketOptions) => NativeSocket;
  /** Binds a throwaway zero-copy socket: 0 when zero-copy works, else the errno. */
  probeZeroCopy(ifname: string, queueId: number): number;
  /** bpf_obj_get: fd of a pinned BPF map or program. */
  openPinned(path: string): number;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const candidates = [join(packageRoot, 'build', 'Release', 'stoq_af_xdp.node')];

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const path of candidates) {
    try {
      return require(path) as NativeAddon;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Only a missing file moves on; a broken binary (bad symbol, wrong ABI) is the real error.
      if (code !== 'MODULE_NOT_FOUND' || !String((error as Error).message).includes(path)) throw error;
      tried.push(path);
    }
  }
  throw Object.assign(
    new Error(`@stoq/af-xdp native addon not found; tried:\n  ${tried.join('\n  ')}\nbuild it with: pnpm --filter @stoq/af-xdp build`),
    { code: 'MODULE_NOT_FOUND' },
  );
}

export const native: NativeAddon = load();
