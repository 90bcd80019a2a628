// SPDX-License-Identifier: Apache-2.0
// Datapath over AF_XDP: stoq_xdp redirects QUIC for our port into one socket per RX
// queue; we strip Ethernet/IPv6/UDP and hand the payload view (in UMEM) to the
// endpoint. Sends are framed straight into UMEM when the next hop's MAC is known
// and the packet fits the path's MTU, and go through the kernel's dgram socket otherwise
// (which makes the kernel resolve the neighbour, or fragment and honour the path MTU).
// What the program passes to the kernel reaches the endpoint through that dgram
// socket, which the transport keeps as a datapath of its own.
//
// Bound to '::', replies leave from the address each peer sent to: the IPv6 destination
// of the last AF_XDP frame from that peer (address, port) is kept and is the source of
// the frames built for it. Datagrams that reach us through the kernel socket (what the
// program passes) do not update it, and what goes out through the kernel socket leaves
// from the route's preferred source (node:dgram cannot choose): see next-hop.ts
// (stats txViaKernelOtherSource counts those for peers answered from another address).
//
// One record per peer (address, port) holds that address, the next-hop entry and the
// frame spec built from it: a datagram to a known peer costs one key string and one map
// lookup. peer-table.ts decides which record a new peer pushes out (active and connected
// peers last), so a flood of new sources pushes out neither.
import { constants } from 'node:os';
import type { Ipv6AddressWatch, ParsedUdp6Frame, Udp6FrameSpec, XskSocket } from '@stoq/af-xdp';
import type { CounterName, StoqConfig } from '@stoq/bpf-programs';
import type { SocketAddress } from '../../address.js';
import { StoqLinkDownError, StoqXdpUnavailableError } from '../../errors.js';
import { nextDatapathId, type Datapath, type DatapathStats, type OutgoingDatagram, type ReceivedDatagram, type ReceiveHandler } from '../datapath.js';
import type { DgramDatapath } from '../dgram-datapath.js';
import { AttachmentWatch } from './attachment.js';
import { FirstErrors } from './first-errors.js';
import { hostIpv6Addresses } from './host-addresses.js';
import { linkDownReason } from './interface-info.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import { describeError, type NativeModules } from './native-modules.js';
import type { NextHopTable } from './next-hop.js';
import { PeerTable, type PeerRecord } from './peer-table.js';
import type { StoqXdpProgram } from './stoq-program.js';
import type { XdpAttachMode, XdpDatapathStats } from './public-types.js';
import type { XskSet } from './xsk-set.js';

export type { XdpDatapathStats } from './public-types.js';

/** Receive batches drained per 'readable' before yielding to the event loop. */
const RX_ROUNDS = 16;
/**
 * Copy-mode AF_XDP transmits at most 32 frames per sendto() kick (the kernel's
 * TX_BATCH_SIZE) and leaves the rest queued; reap() completes and kicks again. Kicks
 * per send() before the rest is left to a deferred flush.
 */
const TX_KICKS = 128;
/** How long a closed connection's conntrack entry stays `closing` before it is deleted. */
const CONNTRACK_DRAIN_MS = 2000;
/** How often the bpf_link is checked for a detach from outside (one /proc read). */
const ATTACH_CHECK_MS = 1000;
/** Receive-path hints check the link at most this often. */
const ATTACH_HINT_GAP_MS = 100;
/**
 * TX frames the device does not take (interface down, no carrier) stay on the ring: the
 * flush is retried on the next turn while it makes progress, then on a timer backing
 * off from 1 to 100 ms, and the link is checked once the back-off reaches 8 ms.
 */
const TX_RETRY_MIN_MS = 1;
const TX_RETRY_MAX_MS = 100;
const TX_STALL_CHECK_MS = 8;
/** IPv6 and UDP headers: a UDP payload of n bytes is an IPv6 packet of n + 48 (the MTU's measure). */
const IPV6_UDP_HEADERS = 48;
/** An active peer's record moves to the end of the eviction order at most this often (PeerTable's epoch). */
const PEER_REFRESH_MS = 1000;
/**
 * Bound to '::', stoq_host_addrs is brought up to date with the host's addresses (one
 * getifaddrs) on every address or link change the kernel announces (an rtnetlink watch;
 * a burst is one refresh), and every HOST_ADDRS_SAFETY_MS besides, a safety net for a
 * change that was somehow not announced (none is known). Without
 * the watch, every HOST_ADDRS_REFRESH_MS: an address added meanwhile is missing from the
 * map for up to that long (its QUIC goes to the kernel, which hands it to our dgram
 * socket: slower, not lost), and one removed stays (its QUIC is still taken over AF_XDP).
 */
const HOST_ADDRS_SAFETY_MS = 30_000;
const HOST_ADDRS_REFRESH_MS = 2000;
/**
 * Least time between two refreshes driven by notifications: a link that flaps, or a
 * container host creating veths, announces changes without end, and each refresh is a
 * getifaddrs and a map sync on the event loop. A change is then followed within this long.
 */
const HOST_ADDRS_MIN_GAP_MS = 100;


export interface XdpDatapathParts {
  modules: NativeModules;
  program: StoqXdpProgram;
  xdpMode: XdpAttachMode;
  sockets: XskSet;
  dgram: DgramDatapath;
  nextHops: NextHopTable;
}

export class XdpDatapath implements Datapath {
  readonly kind = 'xdp' as const;
  readonly ifname: string;
  readonly xdpMode: XdpAttachMode;
  readonly #m: NativeModules;
  readonly #program: StoqXdpProgram;
  readonly #sockets: XskSet;
  readonly #dgram: DgramDatapath;
  readonly #nextHops: NextHopTable;
  readonly #port: number;
  readonly #parsed: ParsedUdp6Frame;
  readonly #latency = new LatencyRecorder();
  /**
   * Per peer (`address|port`): the address it sent to, its next-hop entry and frame spec;
   * its established connections (evicted last). The transport seeds the ones already
   * established when this datapath starts (attachXdpToInterface), so the counts match closes.
   */
  readonly #peers = new PeerTable();
  /** Starts a PeerTable epoch every PEER_REFRESH_MS (unref'd). */
  #epochTimer: NodeJS.Timeout | null = null;
  readonly #drainTimers = new Map<string, NodeJS.Timeout>();
  readonly #stats: XdpDatapathStats;
  #handler: ReceiveHandler | null = null;
  #onError: (error: Error) => void = () => {};
  readonly #srcText: AddressText;
  readonly #dstText: AddressText;
  /** Bound to '::': replies leave from the destination each peer last sent to over AF_XDP. */
  readonly #anyAddress: boolean;
  /** The last peer recorded (and its frame's destination), to skip the map on repeats. */
  #recorded: { address: string; port: number; local: string; peer: PeerRecord | null } = { address: '', port: 0, local: '', peer: null };
  readonly #drainQueued = new Set<XskSocket>();
  #txFlushQueued = false;
  #txRetry: NodeJS.Timeout | null = null;
  /** 0: the next retry runs on the next turn; else the timer's delay, ms. */
  #txBackoffMs = 0;
  /** A stalled transmit was reported (once per outage). */
  #linkDownReported = false;
  /** stoq_config.timestamp_meta: without it a frame's metadata holds a stale stamp. */
  #timestampMeta: boolean;
  #watch: AttachmentWatch | null = null;
  /** Bound to '::': the stoq_host_addrs refresh, and what it last found. */
  #hostRefresh: NodeJS.Timeout | null = null;
  /** Bound to '::': the kernel's address notifications (null when they cannot be had). */
  #hostWatch: Ipv6AddressWatch | null = null;
  /** A refresh is queued for this turn (a burst of notifications is one refresh). */
  #hostRefreshQueued = false;
  /** When the last notification-driven refresh ran (Date.now()). */
  #hostRefreshedAt = -Infinity;
  #hostAddresses: { count: number; checking: boolean } | null = null;
  /** The check is off for too many addresses, and that was reported. */
  #hostOverflowReported = false;
  /** Failed stoq_host_addrs refreshes already reported, per error code (forgotten on a successful one). */
  readonly #hostSyncErrors = new FirstErrors();
  #closed = false;

  constructor(parts: XdpDatapathParts) {
    this.#m = parts.modules;
    this.#program = parts.program;
    this.#sockets = parts.sockets;
    this.#dgram = parts.dgram;
    this.#nextHops = parts.nextHops;
    this.#timestampMeta = parts.program.config().timestampMeta;
    this.#port = parts.dgram.localAddress().port;
    this.#anyAddress = parts.dgram.localAddress().address === '::';
    this.#parsed = new parts.modules.afXdp.ParsedUdp6Frame();
    this.#srcText = new AddressText(parts.modules.afXdp.bytesToIpv6);
    this.#dstText = new AddressText(parts.modules.afXdp.bytesToIpv6);
    this.ifname = parts.sockets.ifname;
    this.xdpMode = parts.xdpMode;
    this.#stats = {
      kind: 'xdp', id: nextDatapathId(), interface: this.ifname, xdpMode: parts.xdpMode, afXdpMode: parts.sockets.mode,
      rxDatagrams: 0, rxBytes: 0, rxDropped: 0, txDatagrams: 0, txBytes: 0, txErrors: 0, rxBatches: 0, txBatches: 0,
      memcpyOps: 0, zeroCopyOps: 0, txViaKernel: 0, txViaKernelMtu: 0, txViaKernelOtherSource: 0, neighbourProbes: 0, neighbourProbeErrors: 0,
      hopsExpired: 0, txRingFull: 0, peers: 0, connectedPeers: 0,
      linkDown: 0, rxUnparsed: 0, hostAddresses: null, latency: null,
    };
  }

  get afXdpMode(): 'zerocopy' | 'copy' {
    return this.#sockets.mode;
  }

  queues(): Array<{ queue: number; mode: 'zerocopy' | 'copy' }> {
    return this.#sockets.sockets.map((s) => ({ queue: s.queueId, mode: s.mode }));
  }

  localAddress(): SocketAddress {
    return this.#dgram.localAddress();
  }

  start(handler: ReceiveHandler, onError: (error: Error) => void): void {
    this.#handler = handler;
    this.#onError = onError;
    this.#nextHops.onError = (error) => this.#onError(error);
    if (this.#epochTimer === null && !this.#closed) {
      this.#epochTimer = setInterval(() => this.#peers.tick(), PEER_REFRESH_MS);
      this.#epochTimer.unref();
    }
    if (this.#anyAddress && this.#hostRefresh === null && !this.#closed) {
      // Watching first: a change between the two is then not missed until the next tick.
      this.#watchHostAddresses();
      this.#refreshHostAddresses();
    }
    for (const socket of this.#sockets.sockets) {
      socket.on('readable', () => this.#drain(socket));
      socket.on('error', (error: Error) => this.#onError(error));
    }
  }

  /**
   * Calls `onLost` once if stoq_xdp's bpf_link is detached or replaced from outside
   * (checked every second on an unref'd timer, and on checkAttachment() hints). The
   * datapath keeps running; the caller decides to move to the kernel path.
   */
  watchAttachment(onLost: (reason: string) => void): void {
    const link = this.#program.link;
    if (!link || this.#closed) return;
    this.#watch?.stop();
    this.#watch = new AttachmentWatch(link, ATTACH_CHECK_MS, onLost);
  }

  /**
   * A hint from the receive path (QUIC for our port reached the kernel socket, which
   * is what a detached program looks like): checks the link now, at most every 100 ms
   * (a /proc read). True when it is gone.
   */
  checkAttachment(): boolean {
    return this.#watch?.check(ATTACH_HINT_GAP_MS) ?? false;
  }

  send(batch: readonly OutgoingDatagram[]): boolean {
    if (this.#closed || batch.length === 0) return !this.#closed;
    const socket = this.#sockets.sockets[0] as XskSocket;
    const viaKernel: OutgoingDatagram[] = [];
    /** Batch indexes of the frames built in the current chunk. */
    const frameOf: number[] = [];
    let reserved = false;
    let i = 0;
    this.#stats.txBatches++;
    try {
      while (i < batch.length) {
        const tx = socket.allocTx(batch.length - i);
        if (tx.count === 0) break;
        reserved = true;
        let n = 0;
        for (; n < tx.count && i < batch.length; i++) {
          const datagram = batch[i] as OutgoingDatagram;
          const spec = this.#specFor(datagram);
          if (!spec) {
            viaKernel.push(datagram);
            continue;
          }
          tx.setLength(n, this.#m.afXdp.buildUdp6Frame(tx.frame(n), spec, datagram.data));
          frameOf.push(i);
          n++;
        }
        const queued = n > 0 ? socket.send(tx, n) : (socket.cancelTx(), 0);
        reserved = false;
        this.#settleChunk(batch, frameOf, queued, viaKernel, true);
        if (queued < n) break;
      }
    } catch (error) {
      this.#stats.txErrors++;
      // The chunk's frames the ring took (a kick that failed after queueing says how
      // many) are sent; the others go through the kernel, and so does the datagram that
      // failed and everything after it (below). Frames still reserved go back to the UMEM.
      const queued = (error as { queued?: unknown }).queued;
      this.#settleChunk(batch, frameOf, typeof queued === 'number' ? queued : 0, viaKernel, false);
      if (reserved && !socket.closed) {
        try {
          socket.cancelTx();
        } catch {
          // allocTx() gives them back at the next send anyway
        }
      }
      this.#onError(error as Error);
    }
    this.#flushTx(socket, false);
    // Whatever the ring could not take (or failed) goes through the kernel.
    for (; i < batch.length; i++) {
      const datagram = batch[i] as OutgoingDatagram;
      this.#countOtherSource(datagram);
      viaKernel.push(datagram);
    }
    if (viaKernel.length === 0) return true;
    this.#stats.txViaKernel += viaKernel.length;
    return this.#dgram.send(viaKernel);
  }

  /** Counts the first `queued` frames of a chunk as sent; the rest go to `viaKernel`. Empties `frameOf`. */
  #settleChunk(batch: readonly OutgoingDatagram[], frameOf: number[], queued: number, viaKernel: OutgoingDatagram[], ringFull: boolean): void {
    for (let f = 0; f < frameOf.length; f++) {
      const datagram = batch[frameOf[f] as number] as OutgoingDatagram;
      if (f < queued) this.#countTx(datagram.data.byteLength);
      else {
        if (ringFull) this.#stats.txRingFull++;
        this.#countOtherSource(datagram);
        viaKernel.push(datagram);
      }
    }
    frameOf.length = 0;
  }

  onDrain(_callback: () => void): void {
    // Sends that cannot go to the TX ring go through the dgram datapath, whose drain
    // the transport already listens to.
  }

  /**
   * A new connection to `peer` (an accepted Initial, or connect()): an entry still draining
   * from an earlier connection on the same addresses is removed now, so the program tracks
   * the new one from scratch (it never moves an entry out of `closing`).
   */
  connectionOpened(peer: SocketAddress): void {
    const key = `${peer.address}|${peer.port}`;
    const timer = this.#drainTimers.get(key);
    if (timer === undefined || this.#closed) return;
    clearTimeout(timer);
    this.#drainTimers.delete(key);
    try {
      this.#program.deleteConntrack(peer.address, peer.port, this.#port);
    } catch (error) {
      this.#onError(error as Error);
    }
  }

  /**
   * A connection to `peer` completed its handshake: the peer's record is evicted last
   * until it closes. Not on the accepted Initial: a spoofed source never completes a
   * handshake, so a flood of them cannot take the place of the peers really connected.
   */
  connectionEstablished(peer: SocketAddress): void {
    if (!this.#closed) this.#peers.connectionUp(`${peer.address}|${peer.port}`);
  }

  /**
   * The endpoint closed a connection (`established`: it had completed its handshake, i.e.
   * connectionEstablished() counted it): its conntrack entry is `closing`, then deleted
   * after draining.
   */
  connectionClosed(peer: SocketAddress, established: boolean): void {
    if (this.#closed) return;
    const key = `${peer.address}|${peer.port}`;
    if (established) this.#peers.connectionDown(key);
    try {
      if (!this.#program.markClosing(peer.address, peer.port, this.#port)) return;
    } catch (error) {
      this.#onError(error as Error);
      return;
    }
    clearTimeout(this.#drainTimers.get(key));
    const timer = setTimeout(() => {
      this.#drainTimers.delete(key);
      if (this.#closed) return;
      try {
        this.#program.deleteConntrack(peer.address, peer.port, this.#port);
      } catch (error) {
        this.#onError(error as Error);
      }
    }, CONNTRACK_DRAIN_MS);
    timer.unref();
    this.#drainTimers.set(key, timer);
  }

  conntrackState(peer: SocketAddress): string | null {
    return this.#program.conntrackState(peer.address, peer.port, this.#port);
  }

  programConfig(): StoqConfig {
    return this.#program.config();
  }

  /**
   * Changes stoq_config while attached (e.g. redirect off: QUIC takes the kernel path);
   * omitted or undefined fields keep their value, and localAddress cannot change.
   */
  updateProgramConfig(partial: Partial<StoqConfig>): StoqConfig {
    const next = this.#program.updateConfig(partial);
    this.#timestampMeta = next.timestampMeta;
    return next;
  }

  programCounters(): Record<CounterName, number> {
    return this.#program.counters();
  }

  /** What @stoq/metrics reads: the stoq_xdp object (owned here) and the AF_XDP sockets. */
  metricsParts(): { object: StoqXdpProgram['object']; sockets: readonly XskSocket[]; latency: { summary(): LatencySummary | null } } {
    return { object: this.#program.object, sockets: this.#sockets.sockets, latency: this.#latency };
  }

  programId(): number | null {
    return this.#program.link?.programId ?? null;
  }

  stats(): XdpDatapathStats {
    return {
      ...this.#stats,
      hostAddresses: this.#hostAddresses?.checking ? this.#hostAddresses.count : null,
      neighbourProbes: this.#nextHops.neighbourProbes,
      neighbourProbeErrors: this.#nextHops.neighbourProbeErrors,
      hopsExpired: this.#nextHops.expired,
      peers: this.#peers.size,
      connectedPeers: this.#peers.connectedPeers,
      latency: this.#latency.summary(),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.stop();
    if (this.#hostRefresh) clearInterval(this.#hostRefresh);
    this.#hostWatch?.close();
    this.#hostWatch = null;
    if (this.#epochTimer) clearInterval(this.#epochTimer);
    if (this.#txRetry) clearTimeout(this.#txRetry);
    for (const timer of this.#drainTimers.values()) clearTimeout(timer);
    this.#drainTimers.clear();
    this.#nextHops.close();
    // Unregister before closing so the program passes (not drops) QUIC meanwhile.
    const errors: unknown[] = [];
    for (const s of this.#sockets.sockets) {
      try {
        this.#program.unregisterSocket(s.queueId);
      } catch (error) {
        errors.push(error);
      }
    }
    try {
      this.#program.close();
    } catch (error) {
      errors.push(error);
    }
    this.#sockets.close();
    if (errors.length > 0) throw errors[0];
  }

  /**
   * Kicks until the TX ring is empty. What the device refuses now is retried: on the
   * next turn while flushes make progress, else on a timer backing off to 100 ms (a
   * downed interface must not spin the event loop); a stall on a link that is down is
   * reported once per outage.
   */
  #flushTx(socket: XskSocket, retried: boolean): void {
    try {
      let completed = 0;
      for (let k = 0; k < TX_KICKS; k++) {
        const n = socket.reap();
        completed += n;
        if (n === 0) break;
      }
      const outstanding = socket.statistics().socket.txOutstanding;
      if (completed > 0 || outstanding === 0) {
        this.#txBackoffMs = 0;
        this.#linkDownReported = false;
      } else if (retried) {
        this.#txBackoffMs = Math.min(TX_RETRY_MAX_MS, Math.max(TX_RETRY_MIN_MS, this.#txBackoffMs * 2));
        if (this.#txBackoffMs >= TX_STALL_CHECK_MS && !this.#linkDownReported) this.#checkLink(outstanding);
      }
      if (outstanding === 0 || this.#txFlushQueued) return;
      this.#txFlushQueued = true;
      const retry = () => {
        this.#txFlushQueued = false;
        this.#txRetry = null;
        if (!this.#closed && !socket.closed) this.#flushTx(socket, true);
      };
      if (this.#txBackoffMs === 0) setImmediate(retry);
      else this.#txRetry = setTimeout(retry, this.#txBackoffMs).unref();
    } catch (error) {
      this.#stats.txErrors++;
      this.#onError(error as Error);
    }
  }

  /**
   * Bound to '::': refreshes stoq_host_addrs when the kernel announces an address change,
   * and on a timer (HOST_ADDRS_SAFETY_MS). When the watch cannot be opened, or fails
   * later, the timer runs every HOST_ADDRS_REFRESH_MS instead, and that is reported once.
   */
  #watchHostAddresses(): void {
    try {
      this.#hostWatch = this.#m.afXdp.watchIpv6Addresses((error) => {
        if (this.#closed) return;
        if (error) this.#hostWatchLost(error);
        this.#queueHostRefresh();
      });
    } catch (error) {
      this.#hostWatchLost(error);
      return;
    }
    this.#setHostRefresh(HOST_ADDRS_SAFETY_MS);
  }

  #hostWatchLost(error: unknown): void {
    this.#hostWatch?.close();
    this.#hostWatch = null;
    this.#setHostRefresh(HOST_ADDRS_REFRESH_MS);
    this.#onError(new StoqXdpUnavailableError(
      `cannot follow this host's IPv6 addresses as they change (${describeError(error)}): stoq_host_addrs is brought up to date every ${HOST_ADDRS_REFRESH_MS / 1000} s instead, so for up to that long QUIC to an address added on the host goes through the kernel (slower), and QUIC to one removed is still taken over AF_XDP`,
      { operation: 'hostAddresses', hint: 'the cause says why the kernel\'s address notifications cannot be had; a transport bound to one address needs no list of the host\'s addresses', cause: error },
    ));
  }

  #setHostRefresh(periodMs: number): void {
    if (this.#hostRefresh) clearInterval(this.#hostRefresh);
    this.#hostRefresh = setInterval(() => this.#refreshHostAddresses(), periodMs);
    this.#hostRefresh.unref();
  }

  #queueHostRefresh(): void {
    if (this.#hostRefreshQueued) return;
    this.#hostRefreshQueued = true;
    const run = () => {
      this.#hostRefreshQueued = false;
      this.#hostRefreshedAt = Date.now();
      this.#refreshHostAddresses();
    };
    const wait = this.#hostRefreshedAt + HOST_ADDRS_MIN_GAP_MS - Date.now();
    if (wait <= 0) setImmediate(run);
    else setTimeout(run, wait).unref();
  }

  /**
   * Bound to '::': brings stoq_host_addrs up to date (the ladder filled it before attaching).
   * Too many addresses turn the check off, reported once per episode as a datapathError.
   */
  #refreshHostAddresses(): void {
    if (this.#closed) return;
    try {
      const sync = this.#program.syncHostAddresses(hostIpv6Addresses(this.ifname));
      this.#hostAddresses = { count: sync.addresses, checking: sync.checking };
      this.#hostSyncErrors.reset();
      if (sync.checking) {
        this.#hostOverflowReported = false;
      } else if (!this.#hostOverflowReported) {
        this.#hostOverflowReported = true;
        this.#onError(new StoqXdpUnavailableError(
          `this host has ${sync.addresses} IPv6 addresses, more than stoq_host_addrs holds (${sync.capacity}): stoq_xdp's local-address check is off, so QUIC-port datagrams on ${this.ifname} to any destination, including ones the host only forwards, are taken over AF_XDP (forwarded ones are lost) until the addresses fit again`,
          { operation: 'hostAddresses', hint: "bind the transport to the address clients use (only that address's QUIC is taken then)" },
        ));
      }
    } catch (error) {
      // Retried on the next change or tick: each error code is reported once until a refresh succeeds.
      if (this.#hostSyncErrors.first('hostAddresses', error)) this.#onError(error as Error);
    }
  }

  /** Transmit stalls: if the link is down, say so once (the frames wait on the ring). */
  #checkLink(outstanding: number): void {
    const reason = linkDownReason(this.ifname);
    if (reason === null) return;
    this.#linkDownReported = true;
    this.#stats.linkDown++;
    this.#onError(new StoqLinkDownError(
      `AF_XDP transmit on ${this.ifname} stalled: ${reason} (ENETDOWN); ${outstanding} frames wait on the TX ring and go out once the link is up`,
      { operation: 'send', interface: this.ifname, errno: -constants.errno.ENETDOWN, hint: `check: ip link show ${this.ifname}` },
    ));
  }

  #countTx(bytes: number): void {
    this.#stats.txDatagrams++;
    this.#stats.txBytes += bytes;
    if (this.#sockets.mode === 'zerocopy') this.#stats.zeroCopyOps++;
    else this.#stats.memcpyOps++;
  }

  /** The frame spec for `datagram`, or null when it goes through the kernel (no usable next hop, or larger than the path's MTU). */
  #specFor(datagram: OutgoingDatagram): Udp6FrameSpec | null {
    const to = datagram.to;
    const key = `${to.address}|${to.port}`;
    const peer = this.#peers.get(key) ?? this.#peers.add(key, null);
    this.#peers.heard(peer);
    let ref = peer.ref;
    if (ref === null || ref.evicted) {
      ref = peer.ref = this.#nextHops.ref(to.address, peer.local);
      if (ref === null) return null;
    }
    const hop = this.#nextHops.use(ref);
    if (!hop) {
      // Bound to '::' only: the kernel socket sends it from the route's preferred source.
      if (ref.otherSource) this.#stats.txViaKernelOtherSource++;
      return null;
    }
    if (datagram.data.byteLength + IPV6_UDP_HEADERS > hop.mtu) {
      // Raw frames are never fragmented and never learn a smaller path MTU: the kernel does both.
      this.#stats.txViaKernelMtu++;
      if (ref.otherSource) this.#stats.txViaKernelOtherSource++;
      return null;
    }
    if (peer.specHop !== hop || peer.spec === null) {
      peer.specHop = hop;
      peer.spec = {
        srcMac: hop.srcMac, dstMac: hop.dstMac, srcAddress: hop.srcAddress,
        dstAddress: this.#m.afXdp.ipv6ToBytes(to.address), srcPort: this.#port, dstPort: to.port,
      };
    }
    return peer.spec;
  }

  /**
   * Bound to '::': counts a kernel-path datagram that had a frame spec (or never got to
   * #specFor: ring full, send error) to a peer answered from another address than the
   * route's preferred one. #specFor counts the ones it turns away itself.
   */
  #countOtherSource(datagram: OutgoingDatagram): void {
    if (!this.#anyAddress) return;
    const peer = this.#peers.get(`${datagram.to.address}|${datagram.to.port}`);
    if (peer?.ref?.otherSource) this.#stats.txViaKernelOtherSource++;
  }

  /** Bound to '::': keeps the destination `from` sent this frame to (our source for it). */
  #recordLocal(frame: Uint8Array, offset: number, from: SocketAddress): void {
    const local = this.#dstText.of(frame, offset);
    const r = this.#recorded;
    let peer = r.peer;
    if (peer === null || peer.evicted || r.local !== local || r.port !== from.port || r.address !== from.address) {
      const key = `${from.address}|${from.port}`;
      peer = this.#peers.get(key) ?? null;
      if (peer === null) peer = this.#peers.add(key, local);
      else if (peer.local !== local) {
        // A hop already resolved to this source (an outbound connection's first reply
        // arrives at our preferred source) stays: the next datagram remains a frame.
        if (peer.ref !== null && peer.ref.resolvedSource !== local) peer.ref = null;
        peer.local = local;
      }
      this.#recorded = { address: from.address, port: from.port, local, peer };
    }
    this.#peers.heard(peer);
  }

  #drain(socket: XskSocket): void {
    this.#drainQueued.delete(socket);
    if (this.#closed || socket.closed) return;
    const parsed = this.#parsed;
    const out: ReceivedDatagram[] = [];
    for (let round = 0; round < RX_ROUNDS; round++) {
      const batch = socket.receive();
      if (batch.count === 0) return;
      const now = process.hrtime.bigint();
      out.length = 0;
      try {
        for (let i = 0; i < batch.count; i++) {
          const frame = batch.packet(i);
          if (!this.#m.afXdp.parseUdp6Frame(frame, parsed) || parsed.dstPort !== this.#port || parsed.srcPort === 0) {
            this.#stats.rxUnparsed++;
            this.#stats.rxDropped++;
            continue;
          }
          // Without timestamp_meta the metadata holds whatever an earlier frame left there.
          if (this.#timestampMeta) this.#latency.record(batch.metadataTimestamp(i), now);
          const data = frame.subarray(parsed.payloadOffset, parsed.payloadOffset + parsed.payloadLength);
          const from = { address: this.#srcText.of(frame, parsed.srcAddressOffset), port: parsed.srcPort };
          if (this.#anyAddress) this.#recordLocal(frame, parsed.dstAddressOffset, from);
          out.push({ data, from });
          this.#stats.rxDatagrams++;
          this.#stats.rxBytes += data.byteLength;
          if (this.#sockets.mode === 'zerocopy') this.#stats.zeroCopyOps++;
          else this.#stats.memcpyOps++;
        }
        if (out.length > 0) {
          this.#stats.rxBatches++;
          this.#handler?.(out, this);
        }
      } finally {
        // The payload views die here: the endpoint consumed them synchronously.
        batch.release();
      }
    }
    // Still more on the ring: let timers and the other sockets run first.
    if (!this.#drainQueued.has(socket)) {
      this.#drainQueued.add(socket);
      setImmediate(() => this.#drain(socket));
    }
  }
}

/**
 * The text of a 16-byte address in received frames, converted only when it differs from
 * the previous frame's: a batch mostly comes from one peer to one address.
 */
class AddressText {
  readonly #bytes = new Uint8Array(16);
  #text = '';
  readonly #toText: (bytes: Uint8Array, offset: number) => string;

  constructor(toText: (bytes: Uint8Array, offset: number) => string) {
    this.#toText = toText;
  }

  of(frame: Uint8Array, offset: number): string {
    let same = this.#text !== '';
    for (let b = 0; same && b < 16; b++) same = frame[offset + b] === this.#bytes[b];
    if (!same) {
      this.#bytes.set(frame.subarray(offset, offset + 16));
      this.#text = this.#toText(frame, offset);
    }
    return this.#text;
  }
}
