// SPDX-License-Identifier: Apache-2.0
// The XDP datapath's public types, apart from its implementation: the implementation
// imports @stoq/loader, @stoq/af-xdp and @stoq/bpf-programs, optional dependencies that
// are absent on macOS and Windows, and the declarations users compile against must
// not import them (TS2307 in every consumer without skipLibCheck there).
import type { DatapathStats } from '../datapath.js';
import type { LatencySummary } from './latency.js';

/** How stoq_xdp is attached: 'native' (in the driver) or 'generic' (skb mode, any interface, slower). */
export type XdpAttachMode = 'native' | 'generic';

/** One rung of the XDP fallback ladder that was tried (native+zerocopy → native+copy → generic+copy). */
export interface RungOutcome {
  /** e.g. 'native+zerocopy' */
  rung: string;
  /** 'used': this rung gave the XDP datapath; 'failed': see `reason`. */
  outcome: 'used' | 'failed';
  /** Why the rung failed. */
  reason?: string;
}

/** Counters of the XDP datapath: {@link DatapathStats} plus the AF_XDP specifics. */
export interface XdpDatapathStats extends DatapathStats {
  /** The interface stoq_xdp is attached to. */
  readonly interface: string;
  /** How stoq_xdp is attached. */
  readonly xdpMode: XdpAttachMode;
  /** The AF_XDP bind mode the kernel reports for the sockets. */
  readonly afXdpMode: 'zerocopy' | 'copy';
  /** Datagrams this datapath handed to the kernel socket (next hop unresolved or expired, larger than the path MTU, TX ring full, a failed send). */
  txViaKernel: number;
  /**
   * Of those, datagrams whose IPv6 packet would exceed the next hop's MTU (the
   * interface's, or the route's / a learnt path MTU when smaller): AF_XDP frames are
   * never fragmented, the kernel fragments them or honours the path MTU.
   */
  txViaKernelMtu: number;
  /**
   * Times the kernel was asked to re-validate a STALE neighbour entry of a next hop in
   * use (RTM_NEWNEIGH with NTF_USE, af-xdp `touchNeighbour6`; at most one per refresh,
   * 2 s, per destination and source: bound to '::', one hop per address peers sent to): AF_XDP traffic does not move the kernel's neighbour state
   * machine, this does (DELAY, a unicast solicitation, REACHABLE or FAILED). No datagram
   * is sent for it; not part of `txViaKernel` (only if the kernel refuses the request,
   * the hop's next datagram goes through the kernel socket instead).
   */
  neighbourProbes: number;
  /**
   * Of `neighbourProbes`, the requests the kernel refused (e.g. EPERM without
   * CAP_NET_ADMIN); the first of each kind is reported as a `datapathError`.
   */
  neighbourProbeErrors: number;
  /**
   * Of `txViaKernel`, datagrams whose next hop had not been refreshed for too long (6 s)
   * to be trusted.
   */
  hopsExpired: number;
  /**
   * Bound to '::': of `txViaKernel`, datagrams to peers that sent to another address than
   * the route's preferred source. They leave from the preferred source (the kernel socket
   * cannot choose), i.e. from another address than the peer sent to. Peers whose hop was
   * never resolved (resolution budget spent) are not counted.
   */
  txViaKernelOtherSource: number;
  /** Of `txViaKernel`, frames that did not fit the TX ring and were resent through the kernel. */
  txRingFull: number;
  /**
   * Times transmit stalled on a link that was down (administratively or without
   * carrier), each reported once as a `datapathError` (a `StoqLinkDownError`, code
   * `STOQ_ERR_LINK_DOWN`, errnoCode 'ENETDOWN'); the frames wait on the TX ring and go
   * out when the link is back.
   */
  linkDown: number;
  /**
   * Bound to '::': the host's IPv6 addresses in stoq_xdp's stoq_host_addrs, re-read on the
   * kernel's address and link notifications (within milliseconds of a change; every 2 s
   * where they cannot be had, reported once as a datapathError); QUIC to any other
   * destination (traffic the host forwards) is left to the kernel.
   * null when bound to one address (only its QUIC is taken), or when the host has more
   * addresses than the map holds (1024; the check is off then, reported as a datapathError).
   */
  hostAddresses: number | null;
  /**
   * Peers (address, port) the datapath keeps a record for (the address replies leave
   * from, bound to '::'; the next hop): at most 4096. At the limit a new peer pushes out
   * the oldest record of a peer without an established connection (a peer heard from
   * moves back once a second), so a flood of new sources shows here as 4096.
   */
  peers: number;
  /**
   * Peers with an established connection (handshake complete): their records go only when
   * every record is one. An Initial alone does not count, since a spoofed source never
   * completes the handshake.
   */
  connectedPeers: number;
  /** Frames received on AF_XDP that were not IPv6/UDP to our port (counted in rxDropped too). */
  rxUnparsed: number;
  /** Kernel→user latency from the program's metadata timestamps, null before the first sample. */
  latency: LatencySummary | null;
}

/** Which datapath a transport runs on and why ({@link StoqTransport.getEbpfStatus}). */
export interface EbpfStatus {
  /** stoq_xdp is attached (in `xdpMode`). */
  xdpAvailable: boolean;
  /** AF_XDP sockets are open (in `afXdpMode`). */
  afXdpAvailable: boolean;
  /** Interfaces stoq_xdp is attached to (empty on dgram). */
  xdpAttached: string[];
  /** Sockets the kernel really bound in zero-copy mode (none on veth). */
  zeroCopySockets: Array<{
    /** Interface name. */
    interface: string;
    /** RX queue index. */
    queue: number;
  }>;
  /** The datapath QUIC runs on. */
  datapath: 'dgram' | 'xdp';
  /** Why the transport runs over dgram (every failed rung, or the reason XDP was not tried or was lost); absent on XDP. */
  fallbackReason?: string;
  /** The XDP attach mode in use. */
  xdpMode?: 'native' | 'generic';
  /** The AF_XDP bind mode the kernel reports for the sockets. */
  afXdpMode?: 'zerocopy' | 'copy';
  /** Every AF_XDP socket with the mode the kernel bound. */
  sockets: Array<{
    /** Interface name. */
    interface: string;
    /** RX queue index. */
    queue: number;
    /** AF_XDP bind mode of this socket. */
    mode: 'zerocopy' | 'copy';
  }>;
  /** Each rung of the fallback ladder that was tried, in order, with why it failed. */
  ladder: RungOutcome[];
}
