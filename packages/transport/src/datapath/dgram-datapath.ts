// SPDX-License-Identifier: Apache-2.0
// Datapath over a node:dgram udp6 socket. Node delivers one 'message' per datagram;
// we gather the ones that arrive in the same event-loop turn into one batch so the
// endpoint processes them together and answers with one coalesced burst of sends.
// node:dgram has no sendmmsg, so with UDP GSO on (via @stoq/udp) a run of full-size
// datagrams to one peer goes out as one gathered send the kernel splits again: one
// syscall per run instead of one per datagram.
import * as dgram from 'node:dgram';
import type { SocketAddress } from '../address.js';
import { assertIPv6 } from '../address.js';
import { StoqBindError } from '../errors.js';
import { nextDatapathId, type Datapath, type DatapathStats, type OutgoingDatagram, type ReceivedDatagram, type ReceiveHandler } from './datapath.js';
import { gsoRunEnd } from './gso-runs.js';
import { enableUdpGso, type GsoState, type UdpGso } from './udp-gso.js';

/** Options of {@link DgramDatapath.bind}. */
export interface DgramDatapathOptions {
  /** Local IPv6 address literal to bind ('::' for all). */
  address: string;
  /** Local UDP port (0 picks a free port). */
  port: number;
  /** SO_RCVBUF in bytes (the kernel caps at rmem_max). */
  recvBufferSize: number;
  /** SO_SNDBUF in bytes (the kernel caps at wmem_max). */
  sendBufferSize: number;
  /** Stop producing when this many bytes wait in libuv's send queue (default 4 MiB). */
  sendHighWaterMark?: number;
  /**
   * UDP GSO segment size: the largest datagram the endpoint sends (0 or absent: GSO off).
   * Needs @stoq/udp; without it, or if the kernel refuses, sends stay one per datagram.
   */
  gsoSegmentSize?: number;
}

/** {@link DgramDatapath} counters: the common ones plus how sends reached the kernel. */
export interface DgramDatapathStats extends DatapathStats {
  readonly kind: 'dgram';
  /** Sends handed to the kernel: one per datagram, or one per run of datagrams with GSO. */
  txSendCalls: number;
  /** UDP GSO segment size in use (bytes); 0 when GSO is off (see {@link DgramDatapath.gso}). */
  gsoSegmentSize: number;
}

// The kernel refuses a GSO send with these when the path cannot carry the segment size
// (EMSGSIZE on this 6.18 kernel, EINVAL on older ones: route MTU below headers + segment; EIO: no checksum offload).
const GSO_REFUSALS = new Set(['EINVAL', 'EIO', 'EMSGSIZE']);

const MAX_BATCH = 256;
/** How long close() waits for sends node:dgram has not handed to the kernel yet. */
const CLOSE_FLUSH_LIMIT_MS = 200;

/**
 * Datapath over a node:dgram udp6 socket (IPv6 only). Datagrams that arrive in the same
 * event-loop turn are delivered as one batch (at most 256); send() reports backpressure
 * from libuv's send queue.
 */
export class DgramDatapath implements Datapath {
  readonly kind = 'dgram' as const;
  readonly #socket: dgram.Socket;
  readonly #highWater: number;
  readonly #stats: Omit<DgramDatapathStats, 'gsoSegmentSize'>;
  readonly #gso: UdpGso;
  #batch: ReceivedDatagram[] = [];
  #flushScheduled = false;
  #handler: ReceiveHandler | null = null;
  #onError: (error: Error) => void = () => {};
  #drainCallback: (() => void) | null = null;
  #waitingForDrain = false;
  #closed = false;
  /** socket.send() calls whose callback has not run yet. */
  #inFlight = 0;
  #flushed: (() => void) | null = null;

  private constructor(socket: dgram.Socket, highWater: number, gso: UdpGso) {
    this.#socket = socket;
    this.#highWater = highWater;
    this.#gso = gso;
    this.#stats = {
      kind: 'dgram', id: nextDatapathId(), rxDatagrams: 0, rxBytes: 0, rxDropped: 0, txDatagrams: 0, txBytes: 0, txErrors: 0,
      rxBatches: 0, txBatches: 0, memcpyOps: 0, zeroCopyOps: 0, txSendCalls: 0,
    };
  }

  /**
   * Creates the socket and binds it exclusively.
   *
   * @throws {@link StoqInvalidAddressError} (`STOQ_ERR_INVALID_ADDRESS`) when `address` is not an IPv6 literal.
   * @throws {@link StoqBindError} (`STOQ_ERR_BIND`, with `errno`) when the bind fails, e.g. EADDRINUSE.
   */
  static async bind(options: DgramDatapathOptions): Promise<DgramDatapath> {
    const address = assertIPv6(options.address, 'bind');
    // Buffer sizes are set after the bind, not through createSocket(): node:dgram applies
    // those inside its bind callback, where a refusal is an uncaught exception.
    const socket = dgram.createSocket({ type: 'udp6', ipv6Only: true });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        socket.close();
        reject(
          new StoqBindError(`cannot bind UDP [${address}]:${options.port}: ${error.code ?? error.message}`, {
            operation: 'bind',
            errno: typeof error.errno === 'number' ? error.errno : undefined,
            hint: error.code === 'EADDRINUSE' ? 'another socket holds this port; pass port: 0 for a free one' :
              error.code === 'EADDRNOTAVAIL' ? 'the address is not configured on any interface' : undefined,
            cause: error,
          }),
        );
      };
      socket.once('error', onError);
      socket.bind({ address, port: options.port, exclusive: true }, () => {
        socket.off('error', onError);
        try {
          socket.setRecvBufferSize(options.recvBufferSize);
          socket.setSendBufferSize(options.sendBufferSize);
        } catch (error) {
          onError(error as NodeJS.ErrnoException);
          return;
        }
        resolve();
      });
    });
    const gso = await enableUdpGso(socket, options.gsoSegmentSize ?? 0);
    return new DgramDatapath(socket, options.sendHighWaterMark ?? 4 * 1024 * 1024, gso);
  }

  /** Whether sends use UDP GSO, with the segment size, or why not. */
  gso(): GsoState {
    return this.#gso.state;
  }

  localAddress(): SocketAddress {
    const { address, port } = this.#socket.address();
    return { address, port };
  }

  /** Effective kernel buffer sizes (Linux reports twice what was asked, capped by rmem_max/wmem_max). */
  bufferSizes(): {
    /** SO_RCVBUF, bytes. */
    recv: number;
    /** SO_SNDBUF, bytes. */
    send: number;
  } {
    return { recv: this.#socket.getRecvBufferSize(), send: this.#socket.getSendBufferSize() };
  }

  start(handler: ReceiveHandler, onError: (error: Error) => void): void {
    this.#handler = handler;
    this.#onError = onError;
    this.#socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    this.#socket.on('error', (error) => onError(error));
  }

  send(batch: readonly OutgoingDatagram[]): boolean {
    if (this.#closed || batch.length === 0) return !this.#closed;
    this.#stats.txBatches++;
    const { segmentSize, maxSegments } = this.#gso.state;
    for (let start = 0; start < batch.length; ) {
      const end = gsoRunEnd(batch, start, segmentSize, maxSegments);
      // One drain check per batch is enough: callbacks run in send order.
      this.#sendRun(batch, start, end, { gsoOn: segmentSize > 0, checkDrain: end === batch.length, resend: false });
      start = end;
    }
    if (this.#socket.getSendQueueSize() > this.#highWater) {
      this.#waitingForDrain = true;
      return false;
    }
    return true;
  }

  /** One send of batch[start..end): a single datagram, or a run the kernel splits with GSO. */
  #sendRun(batch: readonly OutgoingDatagram[], start: number, end: number, how: { gsoOn: boolean; checkDrain: boolean; resend: boolean }): void {
    const { to, data } = batch[start] as OutgoingDatagram;
    const payload = end - start === 1 ? data : batch.slice(start, end).map((d) => d.data);
    try {
      this.#socket.send(payload, to.port, to.address, (error) => {
        this.#sendDone();
        if (error) this.#runFailed(error, batch, start, end, how.gsoOn);
        if (how.checkDrain) this.#checkDrain();
      });
      this.#inFlight++;
    } catch (error) {
      // node:dgram throws synchronously for some destinations (port 0, say): one bad
      // datagram must not take the endpoint down.
      this.#sendFailed(error as Error);
      return;
    }
    this.#stats.txSendCalls++;
    if (how.resend) return; // counted when first queued
    for (let i = start; i < end; i++) {
      this.#stats.txDatagrams++;
      this.#stats.txBytes += (batch[i] as OutgoingDatagram).data.byteLength;
      this.#stats.memcpyOps++;
    }
  }

  #runFailed(error: NodeJS.ErrnoException, batch: readonly OutgoingDatagram[], start: number, end: number, gsoOn: boolean): void {
    if (!gsoOn || this.#closed || !GSO_REFUSALS.has(error.code ?? '')) {
      this.#sendFailed(error);
      return;
    }
    // With UDP_SEGMENT set the kernel checks every send against the path (even a
    // single datagram), so one refusal means this socket cannot use GSO: turn it off
    // and send the refused datagrams again one by one, nothing is lost.
    const { to } = batch[start] as OutgoingDatagram;
    this.#gso.off(`the kernel refused a GSO send to [${to.address}]:${to.port} (${error.code}); sending one datagram per syscall`);
    for (let i = start; i < end; i++) this.#sendRun(batch, i, i + 1, { gsoOn: false, checkDrain: false, resend: true });
  }

  onDrain(callback: () => void): void {
    this.#drainCallback = callback;
  }

  stats(): DgramDatapathStats {
    return { ...this.#stats, gsoSegmentSize: this.#gso.state.segmentSize };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // node:dgram resolves the destination on a later tick: closing now would drop the
    // last sends (a transport's CONNECTION_CLOSEs). Wait for them, bounded.
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_FLUSH_LIMIT_MS);
        this.#flushed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  #sendDone(): void {
    if (--this.#inFlight === 0) this.#flushed?.();
  }

  #sendFailed(error: Error): void {
    this.#stats.txErrors++;
    if (!this.#closed) this.#onError(error);
  }

  #checkDrain(): void {
    if (this.#waitingForDrain && this.#socket.getSendQueueSize() <= this.#highWater / 2) {
      this.#waitingForDrain = false;
      this.#drainCallback?.();
    }
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (rinfo.port === 0) {
      // Source port 0 cannot be answered (and node:dgram refuses to try): drop it here.
      this.#stats.rxDropped++;
      return;
    }
    this.#stats.rxDatagrams++;
    this.#stats.rxBytes += msg.byteLength;
    this.#stats.memcpyOps++;
    this.#batch.push({ data: msg, from: { address: rinfo.address, port: rinfo.port } });
    if (this.#batch.length >= MAX_BATCH) {
      this.#deliver();
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#deliver());
    }
  }

  #deliver(): void {
    this.#flushScheduled = false;
    if (this.#batch.length === 0 || this.#closed) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#stats.rxBatches++;
    this.#handler?.(batch, this);
  }
}
