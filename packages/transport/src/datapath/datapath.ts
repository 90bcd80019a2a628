// SPDX-License-Identifier: Apache-2.0
// The seam between the QUIC endpoint and the wire. A datapath only moves UDP payloads;
// all protocol decisions live in the endpoint. Two implementations are planned:
// DgramDatapath (node:dgram, everywhere) and XdpDatapath (AF_XDP rings, UMEM views).
// The endpoint may be fed by several datapaths at once (the XDP path keeps a dgram
// socket for whatever the XDP program passes to the kernel).
import type { SocketAddress } from '../address.js';

/** One UDP datagram handed to {@link Datapath.send}. */
export interface OutgoingDatagram {
  /** UDP payload. The datapath must not keep a reference after `send` calls its callback. */
  readonly data: Uint8Array;
  /** Destination. */
  readonly to: SocketAddress;
}

/** One UDP datagram in a batch delivered to a {@link ReceiveHandler}. */
export interface ReceivedDatagram {
  /**
   * UDP payload. May be a view into ring memory (UMEM) that is reused as soon as the
   * batch callback returns: consume or copy it synchronously.
   */
  readonly data: Uint8Array;
  /** Sender. */
  readonly from: SocketAddress;
}

/** Called with every batch of datagrams received; the batch is only valid during the call. */
export type ReceiveHandler = (batch: readonly ReceivedDatagram[], source: Datapath) => void;

/** Counters of one datapath since it was opened (returned as a copy). */
export interface DatapathStats {
  /** Which datapath these counters belong to. */
  readonly kind: DatapathKind;
  /** Unique per datapath in this process (a replacement of the same kind gets a new one), so collectors can tell them apart. */
  readonly id: number;
  /** Datagrams delivered to the endpoint. */
  rxDatagrams: number;
  /** UDP payload bytes delivered to the endpoint. */
  rxBytes: number;
  /** Datagrams discarded by the datapath itself (e.g. from source port 0, which cannot be answered). */
  rxDropped: number;
  /** Datagrams queued for sending. */
  txDatagrams: number;
  /** UDP payload bytes queued for sending. */
  txBytes: number;
  /** Sends the OS refused (each one is also reported through onError). */
  txErrors: number;
  /** Receive batches delivered (rxDatagrams / rxBatches = mean batch size). */
  rxBatches: number;
  /** Non-empty send() batches. */
  txBatches: number;
  /** Datagrams copied between kernel and user space (every one, for dgram). */
  memcpyOps: number;
  /** Datagrams that crossed without a copy (zero-copy AF_XDP only). */
  zeroCopyOps: number;
}

/** 'dgram': a node:dgram UDP socket; 'xdp': AF_XDP sockets fed by the stoq_xdp program. */
export type DatapathKind = 'dgram' | 'xdp';

/**
 * The seam between the QUIC endpoint and the wire: a datapath only moves UDP payloads;
 * every protocol decision lives in the endpoint.
 */
export interface Datapath {
  /** Which implementation this is. */
  readonly kind: DatapathKind;
  /** The address the datapath receives on (port resolved after bind). */
  localAddress(): SocketAddress;
  /** Starts delivering batches to `handler`. */
  start(handler: ReceiveHandler, onError: (error: Error) => void): void;
  /**
   * Sends a batch. Returns false when the datapath's send queue is above its high-water
   * mark: the caller should stop producing until `onDrain` fires.
   */
  send(batch: readonly OutgoingDatagram[]): boolean;
  /** Registers the callback for "send queue below the low-water mark again". */
  onDrain(callback: () => void): void;
  /** A copy of the counters. */
  stats(): DatapathStats;
  /** Stops receiving and releases the socket(s); idempotent. */
  close(): Promise<void>;
}

let lastDatapathId = 0;
/** The next {@link DatapathStats.id}. */
export function nextDatapathId(): number {
  return ++lastDatapathId;
}
