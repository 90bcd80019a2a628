// SPDX-License-Identifier: Apache-2.0
// The public QUIC connection: streams, messages, datagrams, close and stats over one
// quiche connection owned by the endpoint core.
import { EventEmitter } from 'node:events';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { SocketAddress } from '../address.js';
import type { CoreConnection } from '../core/endpoint-core.js';
import { closeReason } from '../core/close-reason.js';
import {
  StoqClosedError, StoqDatagramError, StoqError, StoqQuicError, StoqStreamLimitError,
} from '../errors.js';
import { closeCode, closeReasonBytes, openStreamUnidirectional } from './arguments.js';
import { asBytes, frameMessage, MESSAGE_STREAM_PREFACE, MessageDeframer } from './message-framing.js';
import { QuicStream, type StreamHost } from './stream.js';
import { connectionStats, type ConnectionStats } from './stats.js';
import { channels } from '../diagnostics.js';

/** What a connection needs from its transport. */
export interface ConnectionHost {
  /** Something is queued on `core` (stream data, datagram, close): flush it. */
  wake(core: CoreConnection): void;
  /** Largest message sendMessage() sends and 'message' delivers, bytes. */
  readonly maxMessageBytes: number;
  /** RFC 9221 datagrams are enabled: deliver 'datagram' events. */
  readonly datagrams: boolean;
  /** sendDatagram() was refused for a full send queue (counted in the endpoint's stats). */
  datagramRefused(): void;
}

/** Options of {@link StoqConnection.openStream}. */
export interface OpenStreamOptions {
  /** Open a send-only stream (a Writable) instead of a bidirectional Duplex (default false). */
  unidirectional?: boolean;
}

/** Events of a {@link StoqConnection} (listener arguments per event name). */
export interface StoqConnectionEvents {
  /** The peer opened a stream: a Duplex (bidirectional) or a Readable (unidirectional). */
  stream: [stream: Duplex | Readable];
  /** One whole message the peer sent with sendMessage(), reliably and in order. */
  message: [message: Buffer];
  /** One RFC 9221 datagram from the peer (unreliable, unordered). */
  datagram: [datagram: Buffer];
  /** `error` is null after a clean local close; otherwise it says why (peer close, idle timeout, TLS…). */
  close: [error: StoqError | null];
}

// Stream id bits (RFC 9000 §2.1): bit 0 = server-initiated, bit 1 = unidirectional.
const SERVER_BIT = 1;
const UNI_BIT = 2;
/** Application close code when the peer announces a message over limits.maxMessageBytes. */
const MESSAGE_TOO_LARGE_CODE = 0x10;

/**
 * A QUIC connection: streams, messages, datagrams, close and stats. Obtained from
 * `transport.connect()` or the transport's 'connection' event; emits the
 * {@link StoqConnectionEvents} and 'close' exactly once.
 */
export class StoqConnection extends EventEmitter<StoqConnectionEvents> {
  /** The endpoint core's view of this connection (quiche handle, role, peer). */
  readonly core: CoreConnection;
  readonly #host: ConnectionHost;
  readonly #streams = new Map<number, QuicStream>();
  readonly #streamHost: StreamHost;
  #nextBidi: number;
  #nextUni: number;
  #messageWriter: QuicStream | null = null;
  #closeError: StoqError | null = null;
  /** Why we closed, when it was not the application (e.g. an oversized message): becomes closeError. */
  #closeCause: StoqError | null = null;
  /** close() was called: no new streams, messages or datagrams. */
  #closing = false;
  #closed = false;
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  /** Created by the transport; applications do not construct connections. */
  constructor(core: CoreConnection, host: ConnectionHost) {
    super();
    this.core = core;
    this.#host = host;
    const own = core.role === 'server' ? SERVER_BIT : 0;
    this.#nextBidi = own;
    // The first unidirectional stream of each side carries send() messages.
    this.#nextUni = own | UNI_BIT;
    this.#nextUni += 4;
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#streamHost = {
      quiche: core.quiche,
      wake: () => host.wake(core),
      forget: (stream) => this.#streams.delete(stream.id),
    };
  }

  /** 'client' if this side connected, 'server' if it accepted. */
  get role(): 'client' | 'server' {
    return this.core.role;
  }

  /** The peer's IPv6 address and UDP port. */
  get remoteAddress(): SocketAddress {
    return this.core.remote;
  }

  /** The ALPN protocol both sides agreed on. */
  get alpn(): string {
    return Buffer.from(this.core.quiche.applicationProto()).toString('utf8');
  }

  /** True once the connection is gone ('close' was emitted). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Why the connection closed (null while open or after a clean local close). */
  get closeError(): StoqError | null {
    return this.#closeError;
  }

  /**
   * Opens a bidirectional stream (a Duplex) or, with `unidirectional`, a send-only Writable.
   *
   * @throws {@link StoqStreamLimitError} (`STOQ_ERR_STREAM_LIMIT`) when the peer allows no more streams of that kind right now.
   * @throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`) when `options` is not an object or `unidirectional` not a boolean.
   * @throws {@link StoqClosedError} (`STOQ_ERR_CLOSED`) when the connection is closed or closing.
   */
  async openStream(options?: { unidirectional?: false }): Promise<Duplex>;
  async openStream(options: { unidirectional: true }): Promise<Writable>;
  async openStream(options?: OpenStreamOptions): Promise<Duplex | Writable> {
    const uni = openStreamUnidirectional(options);
    this.#assertOpen('openStream');
    const q = this.core.quiche;
    const left = uni ? q.peerStreamsLeftUni() : q.peerStreamsLeftBidi();
    if (left === 0) {
      throw new StoqStreamLimitError(`the peer allows no more ${uni ? 'unidirectional' : 'bidirectional'} streams right now`, {
        operation: 'openStream',
        hint: "raise the peer's limits.maxStreams* or close finished streams first",
      });
    }
    const id = uni ? this.#nextUni : this.#nextBidi;
    this.#prime(id);
    if (uni) this.#nextUni += 4;
    else this.#nextBidi += 4;
    const stream = new QuicStream(this.#streamHost, id, uni ? 'local-uni' : 'bidi');
    this.#streams.set(id, stream);
    return stream;
  }

  /**
   * Sends one message; messages arrive as 'message' events on the peer, reliably and in order.
   * Resolves once quiche has taken the whole frame.
   *
   * @param data - Any ArrayBufferView (Buffer, Uint8Array, Float32Array, DataView…); its bytes are sent.
   * @throws {@link StoqMessageTooLargeError} (`STOQ_ERR_MESSAGE_TOO_LARGE`) above `limits.maxMessageBytes`.
   * @throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`) when `data` is not an ArrayBufferView.
   * @throws {@link StoqClosedError} (`STOQ_ERR_CLOSED`) when the connection is closed or closing.
   */
  async sendMessage(data: ArrayBufferView): Promise<void> {
    this.#assertOpen('send');
    const frame = frameMessage(data, this.#host.maxMessageBytes);
    if (!this.#messageWriter) {
      const id = (this.core.role === 'server' ? SERVER_BIT : 0) | UNI_BIT;
      this.#prime(id);
      this.#messageWriter = new QuicStream(this.#streamHost, id, 'local-uni');
      this.#messageWriter.write(MESSAGE_STREAM_PREFACE);
      this.#messageWriter.on('error', () => {
        // Each send() sees the failure through its write callback.
      });
      this.#streams.set(id, this.#messageWriter);
    }
    const writer = this.#messageWriter;
    await new Promise<void>((resolve, reject) => writer.write(frame, (error) => (error ? reject(this.#sendError(error)) : resolve())));
  }

  /** A failed send() as a StoqError: Node fails writes queued behind a destroyed stream with its own ERR_STREAM_DESTROYED. */
  #sendError(error: Error): StoqError {
    if (error instanceof StoqError) return error;
    return this.#closeError ?? new StoqClosedError('send: the message stream closed before the message was sent', { operation: 'send', cause: error });
  }

  /**
   * Queues an RFC 9221 datagram: unreliable, unordered, at most one QUIC packet.
   *
   * @param data - Any ArrayBufferView; its bytes are sent.
   * @returns true when queued; false when quiche's send queue (1024 datagrams) is full and
   *   this one was dropped, as an unreliable datagram may be: nothing is sent, and
   *   `stats().endpoint.datagramsRefused` counts it (send more slowly, or retry later).
   * @throws {@link StoqDatagramError} (`STOQ_ERR_DATAGRAM`) when the peer does not accept datagrams
   *   (or the handshake is not done), the datagram is too large, or quiche refuses it otherwise.
   * @throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`) when `data` is not an ArrayBufferView.
   * @throws {@link StoqClosedError} (`STOQ_ERR_CLOSED`) when the connection is closed or closing.
   */
  sendDatagram(data: ArrayBufferView): boolean {
    this.#assertOpen('sendDatagram');
    const bytes = asBytes(data, 'sendDatagram');
    const q = this.core.quiche;
    const max = q.dgramMaxWritableLen();
    if (max === null) {
      throw new StoqDatagramError('the peer does not accept datagrams (or the handshake is not done)', {
        operation: 'sendDatagram',
        hint: 'both sides need datagrams: true',
      });
    }
    if (bytes.byteLength > max) {
      throw new StoqDatagramError(`datagram of ${bytes.byteLength} bytes exceeds the current maximum of ${max}`, { operation: 'sendDatagram' });
    }
    let queued: void | null;
    try {
      queued = q.dgramSend(bytes);
    } catch (cause) {
      throw new StoqDatagramError(`quiche refused the datagram: ${(cause as Error).message}`, { operation: 'sendDatagram', cause });
    }
    // null is quiche's Done: its send queue is full and the datagram was not taken. Not an
    // exception: an echo in a 'datagram' listener would otherwise crash under a burst.
    if (queued === null) this.#host.datagramRefused();
    this.#host.wake(this.core);
    return queued !== null;
  }

  /**
   * Closes with an application error code (0 = no error) and a reason the peer sees; resolves
   * once the connection is gone: after draining (3×PTO) once the CONNECTION_CLOSE went out.
   * A client closing right after connect(), before the server's HANDSHAKE_DONE arrived, waits
   * for it (quiche cannot send an application close before); if the close still cannot go
   * out, it is given up after 3×PTO (1..3 s) and `closeError` is `STOQ_ERR_CLOSED`.
   *
   * @param code - Application error code, an integer in 0..2^62−1.
   * @param reason - Text for the peer; cut to its first 1024 UTF-8 bytes (whole characters) so the close fits one packet.
   * @throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`) when `code` or `reason` is out of range or of the wrong type.
   */
  async close(code = 0, reason = ''): Promise<void> {
    const errorCode = closeCode(code);
    const reasonBytes = closeReasonBytes(reason);
    if (!this.#closed) {
      this.#closing = true;
      try {
        // False (quiche's Done) when it is already closing: the close event still comes.
        this.core.closeApplication(errorCode, reasonBytes);
      } catch (cause) {
        throw new StoqQuicError(`close: quiche refused to close: ${(cause as Error).message}`, { operation: 'close', cause });
      }
      this.#host.wake(this.core);
    }
    await this.#closedPromise;
  }

  /** Current QUIC statistics of this connection (quiche's counters and the active path). */
  stats(): ConnectionStats {
    return connectionStats(this.core.quiche);
  }

  /** Endpoint → connection: packets arrived; deliver stream data, messages and datagrams. */
  handleActivity(): void {
    const q = this.core.quiche;
    for (const stream of this.#streams.values()) stream.poke();
    // readable() costs ~60× isReadable(): only walk it when something is left unread
    // (a new peer stream, or a stream whose consumer is paused).
    if (q.isReadable()) {
      for (const id of q.readable()) {
        if (!this.#streams.has(id)) this.#acceptStream(id)?.poke();
      }
    }
    for (let i = 0; this.#host.datagrams && i < 1024; i++) {
      const datagram = q.dgramRecvVec();
      if (datagram === null) break;
      this.emit('datagram', Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength));
    }
  }

  /** Endpoint → connection: quiche closed the connection (drained, timed out or never established). */
  handleClosed(forced?: StoqError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = this.#closeCause ?? forced ?? closeReason(this.core.quiche, this.core.established);
    // A clean local close ends open streams quietly (like socket.destroy()); any other
    // reason is an error on every stream still open.
    for (const stream of [...this.#streams.values()]) stream.abort(this.#closeError);
    this.#streams.clear();
    channels.connectionClosed.publish({ connection: this, error: this.#closeError });
    this.#resolveClosed();
    this.emit('close', this.#closeError);
  }

  #acceptStream(id: number): QuicStream | null {
    const own = this.core.role === 'server' ? SERVER_BIT : 0;
    if ((id & SERVER_BIT) === own) return null; // ours, already finished and forgotten
    const uni = (id & UNI_BIT) !== 0;
    const stream = new QuicStream(this.#streamHost, id, uni ? 'peer-uni' : 'bidi');
    this.#streams.set(id, stream);
    if (uni && id >> 2 === 0) {
      this.#classifyFirstUniStream(stream);
    } else {
      this.emit('stream', stream);
    }
    return stream;
  }

  /** The peer's first unidirectional stream carries messages if it starts with the preface. */
  #classifyFirstUniStream(stream: QuicStream): void {
    let head = Buffer.alloc(0);
    // Until it is classified nobody else listens: keep a reset from crashing the process.
    const onError = () => {};
    stream.on('error', onError);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, MESSAGE_STREAM_PREFACE.length);
      if (!head.subarray(0, n).equals(MESSAGE_STREAM_PREFACE.subarray(0, n))) {
        // Not ours: hand it over as an ordinary stream, bytes intact.
        stream.off('data', onData).off('end', onEnd).off('error', onError);
        stream.pause();
        stream.unshift(head);
        this.emit('stream', stream);
      } else if (head.length >= MESSAGE_STREAM_PREFACE.length) {
        stream.off('data', onData).off('end', onEnd).off('error', onError);
        this.#readMessages(stream, head.subarray(MESSAGE_STREAM_PREFACE.length));
      }
    };
    const onEnd = () => {
      stream.off('error', onError);
      if (head.length > 0) {
        stream.unshift(head);
        this.emit('stream', stream);
      }
    };
    stream.on('data', onData).on('end', onEnd);
  }

  #readMessages(stream: QuicStream, first: Buffer): void {
    const reader = new MessageDeframer(this.#host.maxMessageBytes);
    const deliver = (chunk: Buffer) => {
      // The messages complete before an oversized header still arrive; then the connection closes.
      for (const m of reader.push(chunk)) this.emit('message', m);
      const tooLarge = reader.failure;
      if (!tooLarge || stream.destroyed) return;
      stream.destroy(tooLarge);
      if (this.#closing || this.#closed) return;
      this.#closeCause = tooLarge;
      void this.close(MESSAGE_TOO_LARGE_CODE, 'message too large');
    };
    stream.on('error', () => {
      // The connection's close event carries the reason.
    });
    if (first.length > 0) deliver(first);
    stream.on('data', deliver);
  }

  /** Creates the stream in quiche now so limits are checked at open time, not at first write. */
  #prime(id: number): void {
    try {
      this.core.quiche.streamSend(id, new Uint8Array(0), false);
    } catch (cause) {
      if ((cause as Error).message === 'StreamLimit') {
        throw new StoqStreamLimitError('the peer allows no more streams of this kind', { operation: 'openStream', cause });
      }
      throw new StoqClosedError(`cannot open stream ${id}: ${(cause as Error).message}`, { operation: 'openStream', cause });
    }
  }

  #assertOpen(operation: string): void {
    if (this.#closed || this.#closing || this.core.quiche.isClosed() || this.core.quiche.isDraining()) {
      throw new StoqClosedError(`${operation}: the connection is closed`, { operation });
    }
  }
}
