// SPDX-License-Identifier: Apache-2.0
// BpfProgram: one loaded program — test runs (BPF_PROG_TEST_RUN) and XDP attach
// through bpf_link with native/generic/auto modes.
import { constants } from 'node:os';
import { native, type NativeProgramInfo } from './binding.js';
import { BpfError, fromNative, invalidArgument, optionsObject } from './errors.js';
import { resolveInterface } from './interfaces.js';
import { BpfIterator } from './iterator.js';
import { XdpLink, type XdpMode } from './link.js';
import type { BpfMap } from './map.js';

/** XDP verdicts (enum xdp_action), as an XDP program returns them. */
export const XdpAction = {
  /** An error: the frame is dropped and the xdp_exception tracepoint fires. */
  ABORTED: 0,
  /** The frame is dropped. */
  DROP: 1,
  /** The frame goes on to the kernel network stack. */
  PASS: 2,
  /** The frame is sent back out of the interface it arrived on. */
  TX: 3,
  /** The frame goes where a bpf_redirect* helper sent it (another interface, a CPU, an AF_XDP socket). */
  REDIRECT: 4,
} as const;
/** The name of an XDP verdict: `'ABORTED'`, `'DROP'`, `'PASS'`, `'TX'` or `'REDIRECT'`. */
export type XdpActionName = keyof typeof XdpAction;
const ACTION_NAMES = Object.fromEntries(Object.entries(XdpAction).map(([k, v]) => [v, k])) as Record<number, XdpActionName>;

// XDP_FLAGS_* from <linux/if_link.h>
const XDP_FLAGS_SKB_MODE = 1 << 1;
const XDP_FLAGS_DRV_MODE = 1 << 2;
const MODE_FLAGS: Record<XdpMode, number> = { native: XDP_FLAGS_DRV_MODE, generic: XDP_FLAGS_SKB_MODE };
const MAX_REPEAT = 100_000_000;
// Iterator targets that need a map (bpf_iter_link_info.map): the kernel refuses them without one (EBADF).
const MAP_ITERATOR = /^iter(\.s)?\/(bpf_map_elem|bpf_sk_storage_map|sockmap)$/;
// The largest test-run input and dataSizeOut: far above any frame the kernel test-runs, small
// enough that the output buffer is never a large allocation. native/program.cc has the same.
const MAX_TEST_RUN_BYTES = 16 * 1024 * 1024;

/** Options of BpfProgram.testRun(). */
export interface TestRunOptions {
  /** Run the program this many times (the kernel averages durationNs). Default 1. */
  repeat?: number;
  /** Room for the output frame, 1..16 MiB; default the input length + 512 (programs may grow frames). */
  dataSizeOut?: number;
  /** XDP context fields, as if the frame arrived on this interface/queue. */
  ingressIfindex?: number;
  /** The RX queue index the XDP context reports (u32); XDP programs only. */
  rxQueueIndex?: number;
}

/** What one BPF_PROG_TEST_RUN returned. */
export interface TestRunResult {
  /** The program's return value (the verdict for XDP programs). */
  retval: number;
  /** The verdict's name for XDP programs (retval as XDP action), undefined for other values. */
  action: XdpActionName | undefined;
  /** The frame as the program left it. */
  data: Buffer;
  /** Average run time per repetition, as measured by the kernel. */
  durationNs: number;
}

/** Options of BpfProgram.attachXdp(). */
export interface AttachXdpOptions {
  /** 'auto' tries native first and falls back to generic. Default 'auto'. */
  mode?: XdpMode | 'auto';
}

/**
 * One program of a loaded BpfObject: run it on test input (BPF_PROG_TEST_RUN), attach it to an
 * interface (XDP) or bind it as an iterator.
 */
export class BpfProgram {
  /** The program's function name in the ELF object. */
  readonly name: string;
  /** The ELF section it came from, e.g. `xdp` or `iter/bpf_map_elem`. */
  readonly section: string;
  /** The program type as libbpf names it, e.g. `xdp` or `tracing` (iterators). */
  readonly type: string;
  /** The fd, or STOQ_ERR_CLOSED naming `operation` once the object is closed. */
  readonly #fd: (operation: string) => number;

  /** @internal Programs come from BpfObject.program(). */
  constructor(info: NativeProgramInfo, fd: (operation: string) => number) {
    this.name = info.name;
    this.section = info.section;
    this.type = info.type;
    this.#fd = fd;
  }

  /** The program's fd; throws STOQ_ERR_CLOSED once its object is closed. */
  get fd(): number {
    return this.#fd('program.fd');
  }

  /** The kernel's id for this program (as shown by `bpftool prog`). */
  get id(): number {
    try {
      return native.programId(this.#fd('program.id'));
    } catch (error) {
      throw fromNative(error, 'STOQ_ERR_BPF_LOAD');
    }
  }

  /** Runs the program on `data` in the kernel without any interface (BPF_PROG_TEST_RUN). */
  testRun(data: Uint8Array, testOptions: TestRunOptions = {}): TestRunResult {
    const options = optionsObject('testRun', testOptions);
    if (!(data instanceof Uint8Array) || data.byteLength === 0) throw invalidArgument('testRun', 'data must be a non-empty Uint8Array');
    if (data.byteLength > MAX_TEST_RUN_BYTES) throw invalidArgument('testRun', `data must be at most ${MAX_TEST_RUN_BYTES} bytes, got ${data.byteLength}`);
    const repeat = options.repeat ?? 1;
    if (!Number.isInteger(repeat) || repeat < 1 || repeat > MAX_REPEAT) throw invalidArgument('testRun', `repeat must be an integer 1..${MAX_REPEAT}`);
    const dataSizeOut = options.dataSizeOut ?? Math.min(data.byteLength + 512, MAX_TEST_RUN_BYTES);
    if (!Number.isInteger(dataSizeOut) || dataSizeOut < 1 || dataSizeOut > MAX_TEST_RUN_BYTES) {
      throw invalidArgument('testRun', `dataSizeOut must be an integer 1..${MAX_TEST_RUN_BYTES}, got ${String(dataSizeOut)}`);
    }
    const ctx = this.#xdpContext(data.byteLength, options);
    const input = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      const result = native.testRun(this.#fd('testRun'), input, repeat, dataSizeOut, ctx);
      const action = this.type === 'xdp' ? ACTION_NAMES[result.retval] : undefined;
      return { ...result, action };
    } catch (error) {
      const e = fromNative(error, 'STOQ_ERR_BPF_TEST_RUN');
      if (e.errno === constants.errno.ENOSPC) {
        throw new BpfError(`${e.message}: the output frame is larger than dataSizeOut (${dataSizeOut})`, { code: e.code, operation: 'testRun', errno: e.errno, hint: 'pass a larger dataSizeOut' });
      }
      if (e.errno === constants.errno.EINVAL && e.code === 'STOQ_ERR_BPF_TEST_RUN') {
        throw new BpfError(e.message, { code: e.code, operation: 'testRun', errno: e.errno, hint: 'XDP test runs need at least a 14-byte Ethernet header; ingressIfindex/rxQueueIndex must name a real interface and queue' });
      }
      throw e;
    }
  }

  /**
   * Attaches this XDP program to an interface through a bpf_link. The program
   * stays attached until link.detach() or until this process exits.
   */
  attachXdp(iface: string | number, options: AttachXdpOptions = {}): XdpLink {
    const requested = optionsObject('attachXdp', options).mode ?? 'auto';
    if (!['native', 'generic', 'auto'].includes(requested)) throw invalidArgument('attachXdp', "mode must be 'native', 'generic' or 'auto'");
    if (this.type !== 'xdp') throw invalidArgument('attachXdp', `${this.name} is a ${this.type} program, not xdp`);
    const { ifname, ifindex } = resolveInterface(iface, 'attachXdp');
    this.#refuseIfBusy(ifname, ifindex);

    const rungs: XdpMode[] = requested === 'auto' ? ['native', 'generic'] : [requested];
    const fallbacks: Array<{ mode: XdpMode; reason: string }> = [];
    for (const [i, mode] of rungs.entries()) {
      try {
        const fd = native.xdpLinkCreate(this.#fd('attachXdp'), ifindex, MODE_FLAGS[mode]);
        return new XdpLink({ fd, ifname, ifindex, mode, programId: this.id, fallbacks });
      } catch (error) {
        const e = fromNative(error, 'STOQ_ERR_XDP_ATTACH', { ifname, mode });
        if (e.code !== 'STOQ_ERR_XDP_UNSUPPORTED' || i === rungs.length - 1) throw e;
        fallbacks.push({ mode, reason: `${e.errnoCode}: ${e.message}` });
      }
    }
    throw new Error('unreachable');
  }

  /**
   * Binds an iterator program (SEC("iter/bpf_map_elem") and friends) to its target:
   * `map` for map-element iterators, nothing for task/… iterators. The kernel checks
   * that the program's accesses fit the map's key and value sizes.
   */
  attachIterator(options: { map?: BpfMap } = {}): BpfIterator {
    const { map } = optionsObject('attachIterator', options);
    if (this.type !== 'tracing') throw invalidArgument('attachIterator', `${this.name} is a ${this.type} program, not an iterator (SEC("iter/…"))`);
    if (map !== undefined && (typeof map !== 'object' || map === null || !('fd' in map))) {
      throw invalidArgument('attachIterator', `map must be a BpfMap, got ${map === null ? 'null' : typeof map}`);
    }
    if (map === undefined && MAP_ITERATOR.test(this.section)) {
      throw invalidArgument('attachIterator', `${this.name} (SEC("${this.section}")) iterates over a map's elements: pass attachIterator({ map })`);
    }
    try {
      return new BpfIterator(this.name, native.iterLinkCreate(this.#fd('attachIterator'), map ? map.fd : -1));
    } catch (error) {
      throw fromNative(error, 'STOQ_ERR_BPF_ITERATOR', map ? { mapName: map.name } : {});
    }
  }

  #refuseIfBusy(ifname: string, ifindex: number): void {
    let present;
    try {
      present = native.xdpQuery(ifindex);
    } catch (error) {
      throw fromNative(error, 'STOQ_ERR_XDP_ATTACH', { ifname });
    }
    const id = present.driverProgId || present.skbProgId;
    if (id) {
      throw fromNative(Object.assign(new Error(`attachXdp: program id ${id} is already attached`), { errno: constants.errno.EBUSY, operation: 'attachXdp' }), 'STOQ_ERR_XDP_ATTACH', { ifname });
    }
  }

  #xdpContext(length: number, options: TestRunOptions): Buffer | undefined {
    const { ingressIfindex, rxQueueIndex } = options;
    if (ingressIfindex === undefined && rxQueueIndex === undefined) return undefined;
    if (this.type !== 'xdp') throw invalidArgument('testRun', 'ingressIfindex/rxQueueIndex apply to XDP programs only');
    for (const [name, value] of [['ingressIfindex', ingressIfindex], ['rxQueueIndex', rxQueueIndex]] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > 0xffffffff)) throw invalidArgument('testRun', `${name} must be a u32`);
    }
    // struct xdp_md { data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex }
    const ctx = Buffer.alloc(24);
    ctx.writeUInt32LE(0, 0);
    ctx.writeUInt32LE(length, 4);
    ctx.writeUInt32LE(0, 8);
    ctx.writeUInt32LE(ingressIfindex ?? 0, 12);
    ctx.writeUInt32LE(rxQueueIndex ?? 0, 16);
    return ctx;
  }
}
