// SPDX-License-Identifier: Apache-2.0
// The seam between the QUIC endpoint and the wire. A datapath only moves UDP payloads;
// all protocol decisions live in the endpoint. Two implementations are planned:
// DgramDatapath (node:dgram, everywhere) and XdpDatapath (AF_XDP rings, UMEM views).
// The endpoint may be fed by several datapaths at once (the XDP path keeps a dgram
// socket for whatever the XDP program passes to the kernel).
import type { SocketAddress } from '../address.js';

export interface OutgoingDatagram {
  /** UDP payload. The datapath must not keep a reference after `send` calls its callback. */
  readonly data: Uint8Array;
  readonly to: SocketAddress;
}

export interface ReceivedDatagram {
  /**
   * UDP payload. May be a view into ring memory (UMEM) that is reused as soon as the
   * batch callback returns: consume or copy it synchronously.
   */
  readonly data: Uint8Array;
  readonly from: SocketAddress;
}

/** Called with every batch of datagrams received; the batch is only valid during the call. */
export type ReceiveHandler = (batch: readonly ReceivedDatagram[], source: Datapath) => void;

export interface DatapathStats {
  readonly kind: DatapathKind;
  rxDatagrams: number;
  rxBytes: number;
  /** Datagrams discarded by the datapath itself (e.g. from source port 0, which cannot be answered). */
  rxDropped: number;
  txDatagrams: number;
  txBytes: number;
  /** Sends the OS refused (each one is also reported through onError). */
  txErrors: number;
  /** Receive batches delivered (rxDatagrams / rxBatches = mean batch size). */
  rxBatches: number;
  txBatches: number;
  /** Datagrams copied between kernel and user space (every one, for dgram). */
  memcpyOps: number;
  /** Datagrams that crossed without a copy (zero-copy AF_XDP only). */
  zeroCopyOps: number;
}

export type DatapathKind = 'dgram' | 'xdp';

export interface Datapath {
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
  stats(): DatapathStats;
  close(): Promise<void>;
}
