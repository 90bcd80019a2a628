// SPDX-License-Identifier: Apache-2.0
// The one door to the native addon. Everything native is declared here; options
// arrive already validated and normalised (see options.ts).
import { loadNativeAddon } from '@stoq/native-support';

/** Options for `new NativeUmem()`; validated in umem.ts. */
export interface NativeUmemOptions {
  /** Number of frames. */
  frameCount: number;
  /** Bytes per frame. */
  frameSize: number;
  /** Bytes between frame starts; not frameSize means unaligned chunk mode. */
  frameStride: number;
  /** Extra headroom per frame. */
  headroom: number;
  /** Fill ring entries. */
  fillSize: number;
  /** Completion ring entries. */
  compSize: number;
  /** 2 MiB-aligned mapping advised MADV_HUGEPAGE. */
  hugePages: boolean;
}

/** The addon's UMEM object (wrapped by `Umem`). */
export interface NativeUmem {
  /** The whole UMEM mapping; its finalizer unmaps it when the last view is gone. */
  readonly buffer: ArrayBuffer;
  /** Frames on no ring and held by nobody. */
  readonly freeFrames: number;
  /** The UMEM's fd (also the first socket's fd), -1 once destroyed. */
  readonly fd: number;
  /** Bytes of the mapping on huge pages now (AnonHugePages in /proc/self/smaps). */
  readonly hugePageBytes: number;
  /** Closes the UMEM fd; throws EBUSY while sockets still use it. */
  destroy(): void;
}

/** Options for `new NativeSocket()`; validated in options.ts. */
export interface NativeSocketOptions {
  /** Interface name. */
  ifname: string;
  /** RX queue. */
  queueId: number;
  /** Bind with XDP_ZEROCOPY (else XDP_COPY). */
  zeroCopy: boolean;
  /** Bind with XDP_USE_NEED_WAKEUP. */
  needWakeup: boolean;
  /** RX ring entries. */
  rxSize: number;
  /** TX ring entries. */
  txSize: number;
  /** The caller's program owns the XSKMAP; otherwise the socket joins its interface's redirect program (bpf_link). */
  inhibitProgramLoad: boolean;
  /** Slots of the redirect program's XSKMAP when this socket creates it (at least the queue count). */
  xskMapEntries: number;
  /** 0 = no busy polling. */
  busyPollUsecs: number;
  /** SO_BUSY_POLL_BUDGET (with busyPollUsecs > 0). */
  busyPollBudget: number;
  /** Frames lent to the kernel's fill ring at open. */
  rxFrames: number;
}

/** Counters of one socket, as `XskSocket.statistics()` returns them (nested, camelCase). */
export interface NativeStatistics {
  /** The kernel's own counters (`getsockopt(XDP_STATISTICS)`). */
  kernel: {
    /** Frames dropped for reasons other than invalid descriptors (`rx_dropped`). */
    rxDropped: number;
    /** Invalid descriptors on the RX ring (`rx_invalid_descs`). */
    rxInvalidDescs: number;
    /** Invalid descriptors on the TX ring (`tx_invalid_descs`). */
    txInvalidDescs: number;
    /** Frames dropped because the RX ring was full (`rx_ring_full`). */
    rxRingFull: number;
    /** Times the kernel found the fill ring empty (`rx_fill_ring_empty_descs`). */
    rxFillRingEmptyDescs: number;
    /** Times the kernel found the TX ring empty (`tx_ring_empty_descs`). */
    txRingEmptyDescs: number;
  };
  /** Counters kept by the addon for this socket. */
  socket: {
    /** Frames taken off the RX ring. */
    rxPackets: number;
    /** Bytes of those frames. */
    rxBytes: number;
    /** `receive()` calls that returned at least one frame. */
    rxBatches: number;
    /** Frames put on the TX ring. */
    txPackets: number;
    /** Bytes of those frames. */
    txBytes: number;
    /** `submitTx()` calls that put at least one frame on the TX ring. */
    txBatches: number;
    /** TX frames the kernel reported done on the completion ring. */
    txCompleted: number;
    /** Frames returned to the UMEM because the TX ring had no free slot. */
    txRingFullDrops: number;
    /** Submits of released RX frames to the fill ring. */
    fillRingRefills: number;
    /** Syscalls made only to wake the kernel (need_wakeup or busy polling). */
    wakeups: number;
    /** TX kicks that failed with a retryable errno (EAGAIN, EBUSY, ENOBUFS, ENETDOWN). */
    transientKickErrors: number;
    /** Frames on the TX ring not yet completed. */
    txOutstanding: number;
    /** UMEM frames free for allocation (on no ring, held by nobody). */
    umemFreeFrames: number;
  };
}

/** The addon's socket object (wrapped by `XskSocket`); calls throw `{ errno, operation }` errors. */
export interface NativeSocket {
  /** The XSK fd. */
  readonly fd: number;
  /** XDP_OPTIONS_ZEROCOPY as reported by getsockopt. */
  zeroCopy(): boolean;
  /** XDP_STATISTICS plus the addon's counters. */
  statistics(): NativeStatistics;
  /** xsk_socket__update_xskmap: puts this socket into the map at its queue id. */
  updateXskMap(mapFd: number): void;
  /** Stops polling, deletes the socket; idempotent. */
  close(): void;
  /** Allocates the batch arrays the ring calls read and write (once): rxOffsets, rxLengths, txOffsets, txLengths, `capacity` Uint32 each. Not detachable. */
  createBatchArrays(capacity: number): ArrayBuffer;
  /** Fills rxOffsets/rxLengths; EBUSY while the previous batch is held, unless `releaseHeld` returns it first. */
  receive(max: number, releaseHeld?: boolean): number;
  /** Returns the held RX batch to the fill ring. */
  releaseRx(): void;
  /** Reserves up to `max` free frames, their offsets in txOffsets (first returning any frames still reserved). */
  allocTx(max: number): number;
  /** Puts the first `count` reserved frames (txLengths) on the TX ring; returns how many fit; the rest of the reservation goes back to the UMEM. EINVAL when an offset was changed; a failed kick after queueing throws with `queued` set. */
  submitTx(count: number): number;
  /** Returns the reserved frames to the UMEM. */
  cancelTx(): void;
  /** Reaps the completion ring (and kicks while frames are queued). */
  reap(): number;
  /** uv_poll on the fd; `onReadable(0)` when readable, `onReadable(errno)` on a poll error. */
  startPoll(onReadable: (errno: number) => void): void;
  /** Stops polling (the handle stays for a later startPoll). */
  stopPoll(): void;
  /** Whether the poll handle keeps the event loop alive. */
  setRef(ref: boolean): void;
}

/** The kernel's answer to RTM_GETROUTE. */
export interface NativeRoute6 {
  /** rtm_type (RTN_UNICAST 1, RTN_LOCAL 2, …). */
  type: number;
  ifindex: number;
  /** '' when the index has no name here. */
  ifname: string;
  gateway: Uint8Array | null;
  prefsrc: Uint8Array | null;
  /** RTAX_MTU of the route or of its cached PMTU exception; null when neither sets one. */
  mtu: number | null;
}

/** The kernel's answer to RTM_GETNEIGH. */
export interface NativeNeighbour6 {
  /** ndm_state (NUD_* bits). */
  state: number;
  lladdr: Uint8Array | null;
}

/** The addon's IPv6 address watch (wrapped by `watchIpv6Addresses`). */
export interface NativeAddressWatch {
  /** Stops watching and closes the netlink socket; idempotent. */
  close(): void;
}

/** Everything the `.node` file exports. */
export interface NativeAddon {
  /** Maps and registers a UMEM. */
  NativeUmem: new (options: NativeUmemOptions) => NativeUmem;
  /** Creates and binds an AF_XDP socket over a UMEM. */
  NativeSocket: new (umem: NativeUmem, options: NativeSocketOptions) => NativeSocket;
  /** Binds a throwaway zero-copy socket: 0 when zero-copy works, else the errno. */
  probeZeroCopy(ifname: string, queueId: number): number;
  /** bpf_obj_get: fd of a pinned BPF map or program. */
  openPinned(path: string): number;
  /** RTM_GETROUTE for one IPv6 destination (oif 0 = any); throws errno errors (ENETUNREACH, …). */
  routeGet6(dst: Uint8Array, oif: number, src: Uint8Array | null): NativeRoute6;
  /** Single-entry RTM_GETNEIGH; null when the table has no entry. */
  neighbourGet6(ifindex: number, dst: Uint8Array): NativeNeighbour6 | null;
  /** RTM_NEWNEIGH with NTF_USE (and NLM_F_CREATE): the kernel re-validates or resolves the entry; throws errno errors. */
  neighbourUse6(ifindex: number, dst: Uint8Array): void;
  /**
   * A NETLINK_ROUTE socket in RTMGRP_IPV6_IFADDR and RTMGRP_LINK, polled unref'd:
   * `onChange(0)` once per burst of notifications (or a kernel overrun), `onChange(errno)`
   * once when the socket fails (it stops watching). Throws `{ errno, operation }` errors.
   */
  NativeAddressWatch: new (onChange: (errno: number) => void) => NativeAddressWatch;
  /** if_nametoindex(); 0 when there is no such interface. */
  interfaceIndex(name: string): number;
}

/** The loaded addon (build/Release, build/Debug, then the prebuild). */
export const native: NativeAddon = loadNativeAddon<NativeAddon>({
  packageDir: new URL('..', import.meta.url),
  packageName: '@stoq/af-xdp',
  sourceBuildNeeds: 'cmake, g++, pkg-config, libxdp-dev and libbpf-dev',
  // The binary exists but does not load: name the runtime libraries when that is the cause.
  loadHints: [{ match: /lib(xdp|bpf)\.so/, hint: 'it needs libxdp.so.1 and libbpf.so.1 at run time: install libxdp1 and libbpf1 (Debian/Ubuntu)' }],
});
