// SPDX-License-Identifier: Apache-2.0
// A QUIC stream as a Node Duplex with backpressure in both directions:
// - write: the callback fires only once quiche has taken every byte, so a writer that
//   awaits drain is paced by the peer's flow-control window and our congestion window;
// - read: we call streamRecv only while Node wants data, so a slow consumer leaves the
//   bytes in quiche, its window stops growing and the peer stops sending.
import { Duplex } from 'node:stream';
import { StoqClosedError, StoqStreamResetError, type StoqError } from '../errors.js';
import type { QuicheConnection } from '../core/quiche.js';

export type StreamKind = 'bidi' | 'local-uni' | 'peer-uni';

/** What a stream needs from its connection. */
export interface StreamHost {
  readonly quiche: QuicheConnection;
  /** Something was written or read: let the endpoint flush. */
  wake(): void;
  forget(stream: QuicStream): void;
}

const READ_CHUNK = 64 * 1024;
/** quiche's default stream urgency (RFC 9218 range 0..7 is for HTTP/3; quiche uses 0..255, default 127). */
const DEFAULT_URGENCY = 127;
// streamRecv writes here; what it read is copied out at its exact size. One scratch
// buffer serves every stream because reads are synchronous on one thread.
const scratch = Buffer.allocUnsafe(READ_CHUNK);
const EMPTY = new Uint8Array(0);
/** Activities (packet batches received) that offer a bare FIN again after a loss; see #guardBareFin. */
const BARE_FIN_OFFERS = 3;

interface PendingWrite {
  chunk: Uint8Array;
  offset: number;
  callback: (error?: Error | null) => void;
}

/** Packets quiche declared lost on this connection so far. */
function lostPackets(q: QuicheConnection): number {
  try {
    return q.stats().lost;
  } catch {
    return 0;
  }
}

/** The stream's send capacity, or null once quiche no longer holds it (InvalidStreamState after collection, or stopped). */
function streamCapacity(q: QuicheConnection, id: number): number | null {
  try {
    return q.streamCapacity(id);
  } catch {
    return null;
  }
}

export class QuicStream extends Duplex {
  readonly id: number;
  readonly kind: StreamKind;
  readonly #host: StreamHost;
  #pending: PendingWrite | null = null;
  #pendingFin: ((error?: Error | null) => void) | null = null;
  #wantRead = false;
  #readEnded = false;
  /** The peer's FIN has been seen (possibly before its data was handed to the reader). */
  #peerFinished = false;
  /** A write accepted early (its callback already called) and not yet given to quiche; see _write. */
  #held: { chunk: Uint8Array; offset: number } | null = null;
  /** True while #held waits for the next turn of the event loop or for end(). */
  #holding = false;
  /** The FIN went out with the last data: _final has nothing left to send. */
  #finSent = false;
  /** quiche's lost-packet count when a bare FIN was last offered; null when no bare FIN was sent. */
  #bareFinLost: number | null = null;
  /** How many more activities offer the bare FIN again (see #guardBareFin). */
  #bareFinOffers = 0;
  /** Destroyed by the connection closing (abort), not by the application. */
  #aborted = false;
  /** Destroyed only for a write after end(): what end() flushed and the FIN still go out (see #finishAfterDestroy). */
  #finishing = false;

  constructor(host: StreamHost, id: number, kind: StreamKind) {
    super({ allowHalfOpen: true, readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 });
    this.#host = host;
    this.id = id;
    this.kind = kind;
    if (kind === 'local-uni') {
      this.#readEnded = true;
      this.push(null);
    }
    if (kind === 'peer-uni') this.end();
    // A stream whose bare FIN is still guarded stays with its connection after 'close'
    // (see #guardBareFin): the application is done with it, quiche may not be.
    this.once('close', () => {
      if (this.#bareFinLost === null && !this.#finishing) host.forget(this);
    });
  }

  /** Called by the connection when quiche may have data or credit for this stream. */
  poke(): void {
    if (this.destroyed) {
      if (this.#finishing) this.#pumpWrite();
      if (this.#bareFinLost !== null) this.#guardBareFin();
      return;
    }
    if (this.#wantRead) this.#pumpRead();
    this.#pumpWrite();
    if (this.#bareFinLost !== null) this.#guardBareFin();
  }

  /** The connection is gone: fail whatever is still pending. */
  abort(error: StoqError | null): void {
    this.#aborted = true;
    if (!this.destroyed) {
      this.destroy(error ?? undefined);
      return;
    }
    if (!this.#finishing) return;
    // Still sending what end() flushed: it cannot go out any more.
    this.#finishing = false;
    const pending = this.#pending;
    this.#pending = null;
    this.#held = null;
    pending?.callback(error ?? this.#destroyedError());
  }

  override _read(): void {
    this.#wantRead = true;
    this.#pumpRead();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // Once the peer has finished, a reply is usually followed by end() (pipe() does so
    // on 'end'). Hold the chunk for one turn of the event loop so its FIN can travel
    // with it: a FIN sent on its own can be left unsent by quiche (see #pumpWrite).
    // Only when quiche can take the whole chunk now, so nothing is buffered beyond its
    // window and backpressure is unchanged.
    if (this.#peerFinished && !this.#pending && !this.#held && this.#capacity() >= chunk.byteLength) {
      this.#held = { chunk, offset: 0 };
      this.#holding = true;
      callback();
      setImmediate(() => {
        this.#holding = false;
        if (!this.destroyed) this.#pumpWrite();
      });
      return;
    }
    this.#holding = false; // another write: the held bytes go first, without a FIN
    this.#pending = { chunk, offset: 0, callback };
    this.#pumpWrite();
  }

  /**
   * Gives quiche as much of `part` as it takes, with the FIN on the last bytes when
   * `withFin` (quiche drops the flag itself when it cannot take them all; the rest goes
   * later with it). Returns the error quiche threw, or null; `part.offset` says how far it got.
   */
  #send(q: QuicheConnection, part: { chunk: Uint8Array; offset: number }, withFin: boolean): Error | null {
    while (part.offset < part.chunk.byteLength) {
      let written: number | null;
      try {
        written = q.streamSend(this.id, part.chunk.subarray(part.offset), withFin);
      } catch (error) {
        this.#host.wake();
        return this.#streamError(error, 'streamSend');
      }
      if (written === null || written === 0) break; // no credit now: poke() resumes us
      part.offset += written;
      if (withFin && part.offset === part.chunk.byteLength) this.#finSent = true;
    }
    this.#host.wake();
    return null;
  }

  /** Sends the held bytes (with the FIN when end() came and nothing else waits). False while some remain. */
  #sendHeld(q: QuicheConnection): boolean {
    const held = this.#held;
    if (!held) return true;
    const error = this.#send(q, held, this.#pendingFin !== null && !this.#pending);
    if (error) {
      this.#held = null;
      this.destroy(error);
      return false;
    }
    if (held.offset < held.chunk.byteLength) return false;
    this.#held = null;
    return true;
  }

  #capacity(): number {
    return streamCapacity(this.#host.quiche, this.id) ?? 0;
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.kind === 'peer-uni') {
      callback();
      return;
    }
    this.#pendingFin = callback;
    this.#pumpWrite();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Tell the peer we are gone from whichever directions are still open.
    const q = this.#host.quiche;
    const code = error ? 1 : 0;
    if (!this.#readEnded && this.kind !== 'local-uni') this.#shutdown(q, 0, code);
    if (this.#finishAfterDestroy(error)) {
      this.#host.wake();
      callback(error);
      return;
    }
    if (!this.writableFinished && this.kind !== 'peer-uni') this.#shutdown(q, 1, code);
    this.#host.wake();
    const pending = this.#pending;
    this.#pending = null;
    pending?.callback(error ?? this.#destroyedError());
    callback(error);
  }

  /**
   * Node destroys a stream written to after end() (ERR_STREAM_WRITE_AFTER_END). That
   * write is the mistake, not what end() flushed: when every ended byte has reached
   * _write (Node's own buffer is empty, else Node fails those writes), keep sending them
   * and the FIN instead of resetting, and stay with the connection until the FIN is out.
   */
  #finishAfterDestroy(error: Error | null): boolean {
    if ((error as NodeJS.ErrnoException | null)?.code !== 'ERR_STREAM_WRITE_AFTER_END') return false;
    if (this.kind === 'peer-uni' || this.#aborted || !this.writableEnded || this.writableFinished || this.#finSent) return false;
    // writableLength counts Node's buffer plus the chunk now in _write (ours to finish).
    if (this.writableLength > (this.#pending?.chunk.byteLength ?? 0)) return false;
    this.#finishing = true;
    // Node calls no _final after destroy; stand in for it (or keep the one already waiting).
    const final = this.#pendingFin;
    this.#pendingFin = (finalError) => {
      this.#finishing = false;
      final?.(finalError);
      if (this.#bareFinLost === null) this.#host.forget(this);
    };
    this.#holding = false;
    this.#pumpWrite();
    return true;
  }

  /** A write cut off by destroy() without an error, or by the connection closing cleanly. */
  #destroyedError(): StoqError {
    const why = this.#aborted ? 'the connection closed' : 'the stream was destroyed';
    return new StoqClosedError(`stream ${this.id}: ${why} before this write was sent`, { operation: 'write' });
  }

  #shutdown(q: QuicheConnection, direction: 0 | 1, code: number): void {
    try {
      q.streamShutdown(this.id, direction, code);
    } catch {
      // The stream may already be collected by quiche or the connection closed: nothing to tell.
    }
  }

  #pumpRead(): void {
    const q = this.#host.quiche;
    let readAny = false;
    while (this.#wantRead && !this.#readEnded) {
      let result: [number, boolean] | null;
      try {
        result = q.streamRecv(this.id, scratch);
      } catch (error) {
        this.destroy(this.#streamError(error, 'streamRecv'));
        return;
      }
      if (result === null) break;
      readAny = true;
      const [n, fin] = result;
      if (fin) this.#peerFinished = true;
      if (n > 0) {
        this.#wantRead = this.push(Buffer.from(scratch.subarray(0, n)));
      }
      if (fin) {
        this.#readEnded = true;
        this.push(null);
      }
    }
    // Reading freed receive window: quiche may want to send MAX_STREAM_DATA.
    if (readAny) this.#host.wake();
  }

  #scheduleBareFin(q: QuicheConnection): void {
    try {
      q.streamPriority(this.id, DEFAULT_URGENCY, false);
    } catch {
      // The stream is already gone from quiche (reset or collected): streamSend reports it.
    }
  }

  #pumpWrite(): void {
    const q = this.#host.quiche;
    if (this.#holding && !this.#pendingFin) return; // released by _write's setImmediate or by end()
    if (!this.#sendHeld(q)) return;
    const pending = this.#pending;
    if (pending) {
      const error = this.#send(q, pending, this.#pendingFin !== null);
      if (error) {
        this.#pending = null;
        pending.callback(error);
        return;
      }
      if (pending.offset < pending.chunk.byteLength) return;
      this.#pending = null;
      pending.callback();
    }
    const fin = this.#pendingFin;
    if (fin && !this.#pending && this.#finSent) {
      this.#pendingFin = null;
      this.#host.wake();
      fin();
      return;
    }
    if (fin && !this.#pending) {
      try {
        // quiche's incremental round-robin can drop a stream whose only pending frame is
        // a bare FIN from its send queue (seen with several connections × streams: the
        // peer never gets the FIN and the stream stalls until the idle timeout). With
        // no data left, making it non-incremental changes no fairness and gets the FIN
        // scheduled. Same urgency as quiche's default.
        this.#scheduleBareFin(q);
        // quiche answers Done (null) when the connection has no send capacity right
        // now, even for a bare FIN: keep it pending and retry on the next poke().
        if (q.streamSend(this.id, EMPTY, true) === null) return;
      } catch (error) {
        this.#pendingFin = null;
        fin(this.#streamError(error, 'streamSend'));
        return;
      }
      // After a loss on this connection a retransmission of ours may be queued, which
      // would make quiche forget this FIN (see #guardBareFin): offer it again.
      const lost = lostPackets(q);
      this.#bareFinLost = lost;
      this.#bareFinOffers = lost > 0 ? BARE_FIN_OFFERS : 0;
      this.#pendingFin = null;
      this.#host.wake();
      fin();
    }
  }

  /**
   * quiche (0.18) forgets a bare FIN — one sent on its own after the data — when the
   * stream is already queued with a retransmission at the moment the FIN is written or
   * declared lost: it re-queues a lost zero-length FIN only for a stream not yet queued,
   * and the queued retransmission (a middle range, ending before the final offset)
   * carries no FIN. Typically an earlier data packet and the FIN's packet are declared
   * lost in the same pass; the peer then waits for the FIN until the idle timeout
   * (test/bare-fin-loss.test.ts). A FIN that rides with data is safe: its range is
   * retransmitted with it. So after each new loss, offer the bare FIN again on the next
   * few activities: once the retransmission has gone out (the stream is no longer
   * queued) quiche queues it; a FIN the peer already has costs one duplicate frame.
   * This outlives the Duplex: a pipe() echo closes as soon as its FIN is handed to
   * quiche, so the guard runs until quiche has collected the stream (FIN acknowledged,
   * reads done: streamCapacity throws), and only then is the stream forgotten.
   */
  #guardBareFin(): void {
    const q = this.#host.quiche;
    if (this.destroyed && streamCapacity(q, this.id) === null) {
      this.#stopGuarding();
      return;
    }
    const lost = lostPackets(q);
    if (lost > this.#bareFinLost!) {
      this.#bareFinLost = lost;
      this.#bareFinOffers = BARE_FIN_OFFERS;
    }
    if (this.#bareFinOffers === 0) return;
    this.#bareFinOffers--;
    try {
      q.streamSend(this.id, EMPTY, true);
    } catch {
      this.#stopGuarding(); // the stream is gone from quiche (complete or reset): nothing to guard
      return;
    }
    this.#host.wake();
  }

  #stopGuarding(): void {
    this.#bareFinLost = null;
    if (this.destroyed) this.#host.forget(this);
  }

  #streamError(error: unknown, operation: string): Error {
    const message = error instanceof Error ? error.message : String(error);
    const match = /Stream(Reset|Stopped)\((\d+)\)/.exec(message);
    if (match) {
      const code = Number(match[2]);
      const what = match[1] === 'Reset' ? 'reset by the peer' : 'stopped by the peer (STOP_SENDING)';
      return new StoqStreamResetError(`stream ${this.id} ${what} with code ${code}`, { operation, quicCode: code, cause: error });
    }
    return new StoqStreamResetError(`stream ${this.id}: quiche ${operation} failed: ${message}`, { operation, cause: error });
  }
}
