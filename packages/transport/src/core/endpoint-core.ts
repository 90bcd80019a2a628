// SPDX-License-Identifier: Apache-2.0
// The sans-IO QUIC endpoint: routes datagrams to quiche connections by connection ID,
// answers version negotiation and Retry statelessly, enforces the connection limit and
// keeps one timer heap for every connection. It never touches a socket or a timer:
// callers feed it datagrams and the clock, then drain events and transmits.
import { randomBytes } from 'node:crypto';
import type { SocketAddress } from '../address.js';
import type { NormalisedConfig } from '../config.js';
import { buildQuicheConfig, quiche, type QuicheConfig, type QuicheConnection } from './quiche.js';
import { RetryTokens } from './retry-token.js';
import { TimerHeap } from './timer-heap.js';
import { EndpointCounters } from './counters.js';
import { CLOSING_BURST, closingLimitMs } from './closing.js';
import { StoqInvalidConfigError } from '../errors.js';

/** Length of every connection ID we issue; short headers are parsed with it. */
export const CID_LEN = 16;
const MIN_INITIAL_SIZE = 1200;
const SLAB_SIZE = 256 * 1024;
const CONNECTION_REFUSED = 0x2;

/** One UDP datagram the endpoint wants sent. */
export interface Transmit {
  /** UDP payload; a view into a buffer the endpoint reuses later, so send or copy it before the next pollTransmits. */
  readonly data: Uint8Array;
  /** Destination. */
  readonly to: SocketAddress;
}

/** One quiche connection as the endpoint core tracks it (the public wrapper is {@link StoqConnection}). */
export class CoreConnection {
  static #nextId = 1;
  /** Process-wide sequence number, starting at 1. */
  readonly id = CoreConnection.#nextId++;
  /** The handshake completed. */
  established = false;
  /** quiche closed the connection and the core forgot it. */
  closed = false;
  /** When the closing state is given up if quiche's CONNECTION_CLOSE has not gone out by then (null: not closing). */
  closingDeadline: number | null = null;
  /** The core gave up the closing state: the CONNECTION_CLOSE never went out, so the peer was not told. */
  closeTimedOut = false;
  /** A 1-RTT (short-header) packet arrived from the peer. */
  oneRttSeen = false;
  /**
   * An application close was asked for. Only such a close can get stuck (closing.ts); a
   * transport-level one goes out in any packet space. pollTransmits paces and bounds the
   * connections with this flag instead of asking quiche (localError(), a native call) on
   * every visit of every connection.
   */
  closeRequested = false;
  /** An application close waiting for the server's first 1-RTT packet (see {@link CoreConnection.closeApplication}). */
  deferredClose: {
    /** Application error code. */
    readonly code: number;
    /** Reason bytes. */
    readonly reason: Uint8Array;
  } | null = null;
  /** Server-side connection refused for the connection limit: never surfaced to the user. */
  readonly refused: boolean;
  /** Set by the layer above (the public connection object). */
  owner: unknown = null;
  /** The peer address in quiche's shape, built once instead of per packet. */
  readonly remoteHost: {
    /** IPv6 address. */
    host: string;
    /** UDP port. */
    port: number;
  };
  /** @param refused - Accepted only to be closed for the connection limit. */
  constructor(
    /** 'client' if this endpoint connected, 'server' if it accepted. */
    readonly role: 'client' | 'server',
    /** The quiche connection (napi binding). */
    readonly quiche: QuicheConnection,
    /** The peer's address. */
    readonly remote: SocketAddress,
    /** Hex connection IDs that route incoming packets to this connection. */
    readonly cids: string[],
    refused = false,
  ) {
    this.refused = refused;
    this.remoteHost = { host: remote.address, port: remote.port };
  }

  /**
   * Closes with an application error. quiche drops every packet once closing, and sends
   * an application close only when the handshake is confirmed: a client closing before
   * the server's HANDSHAKE_DONE arrived could never send it. Such a client waits for the
   * server's first 1-RTT packet (the server sends none before confirming, and
   * HANDSHAKE_DONE comes first), within the closing deadline.
   *
   * @returns false when quiche was already closing (Done).
   */
  closeApplication(code: number, reason: Uint8Array): boolean {
    if (this.deferredClose || this.quiche.localError() !== null) return false;
    if (this.role === 'client' && this.established && !this.oneRttSeen && !this.quiche.isDraining()) {
      this.deferredClose = { code, reason };
      this.closeRequested = true;
      return true;
    }
    return this.closeApplicationNow(code, reason);
  }

  /** Hands an application close to quiche at once (no deferral); false when quiche was already closing. */
  closeApplicationNow(code: number, reason: Uint8Array): boolean {
    this.closeRequested = true;
    return this.quiche.close(true, code, reason) !== null;
  }
}

/**
 * What {@link EndpointCore.pollEvents} reports: a server connection was accepted, a
 * handshake completed, a connection received packets (once per batch), or a connection
 * closed. Connections refused for the connection limit never appear.
 */
export type CoreEvent =
  | {
    /** A client's Initial created a new server connection. */
    readonly type: 'accepted';
    /** The connection. */
    readonly conn: CoreConnection;
  }
  | {
    /** The handshake completed. */
    readonly type: 'established';
    /** The connection. */
    readonly conn: CoreConnection;
  }
  | {
    /** Packets arrived since the last pollEvents. */
    readonly type: 'activity';
    /** The connection. */
    readonly conn: CoreConnection;
  }
  | {
    /** quiche closed the connection (drained, timed out or never established). */
    readonly type: 'closed';
    /** The connection. */
    readonly conn: CoreConnection;
  };

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const host = (a: SocketAddress) => ({ host: a.address, port: a.port });

/**
 * The sans-IO QUIC endpoint over quiche: routes datagrams to connections by connection
 * ID, answers version negotiation and Retry statelessly, enforces the connection limit
 * and keeps one timer heap. It never touches a socket or a timer: feed it datagrams
 * ({@link EndpointCore.receive}) and the clock (`now`, milliseconds, any monotonic
 * origin), then drain {@link EndpointCore.pollEvents} and {@link EndpointCore.pollTransmits}.
 */
export class EndpointCore {
  /** Endpoint-wide counters (live; see {@link EndpointCounters.snapshot}). */
  readonly counters = new EndpointCounters();
  readonly #config: NormalisedConfig;
  readonly #local: SocketAddress;
  readonly #localHost: { host: string; port: number };
  readonly #clientConfig: QuicheConfig;
  readonly #serverConfig: QuicheConfig | null;
  readonly #byCid = new Map<string, CoreConnection>();
  readonly #connections = new Set<CoreConnection>();
  readonly #timers = new TimerHeap<CoreConnection>();
  readonly #dirty = new Set<CoreConnection>();
  readonly #stateless: Transmit[] = [];
  readonly #events: CoreEvent[] = [];
  /** Connections that received packets since the last pollEvents (one 'activity' each per batch). */
  readonly #active = new Set<CoreConnection>();
  readonly #tokens: RetryTokens;
  #slab = Buffer.allocUnsafe(SLAB_SIZE);
  #slabOffset = 0;

  /**
   * @param config - Normalised transport config; with `tls.cert` the endpoint also accepts connections.
   * @param local - The address the datapath is bound to (quiche's local path).
   * @throws {@link StoqTlsConfigError} (`STOQ_ERR_TLS_CONFIG`) when quiche rejects the TLS material.
   */
  constructor(config: NormalisedConfig, local: SocketAddress) {
    this.#config = config;
    this.#local = local;
    this.#localHost = host(local);
    this.#clientConfig = buildQuicheConfig(config, 'client');
    this.#serverConfig = config.tls.certChain.length > 0 ? buildQuicheConfig(config, 'server') : null;
    this.#tokens = new RetryTokens(config.retryTokenTtlMs);
  }

  /** True when the config has a certificate, so incoming Initials are accepted. */
  get acceptsConnections(): boolean {
    return this.#serverConfig !== null;
  }

  /** Live connections the user can see (refused ones are excluded). */
  get connectionCount(): number {
    let n = 0;
    for (const c of this.#connections) if (!c.refused) n++;
    return n;
  }

  /**
   * Starts a client connection; its first flight comes out of the next pollTransmits.
   *
   * @param serverName - TLS SNI and the name the server certificate is verified against.
   * @param now - Current time, milliseconds.
   * @throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`) when quiche refuses to start it (a server name BoringSSL rejects).
   */
  connect(remote: SocketAddress, serverName: string | undefined, now: number): CoreConnection {
    const scid = randomBytes(CID_LEN);
    let qc: QuicheConnection;
    try {
      qc = quiche.Connection.connect(serverName ?? null, scid, host(this.#local), host(remote), this.#clientConfig);
    } catch (cause) {
      throw new StoqInvalidConfigError(`connect: quiche could not start the connection: ${(cause as Error).message}`, {
        operation: 'connect',
        hint: 'check serverName: a host name such as localhost or example.com',
        cause,
      });
    }
    const conn = this.#register('client', qc, remote, [hex(scid)]);
    this.#schedule(conn, now);
    this.#dirty.add(conn);
    return conn;
  }

  /** Feeds one received UDP payload. `data` may be a view that is reused after this call returns. */
  receive(data: Uint8Array, from: SocketAddress, now: number): void {
    this.counters.rxDatagrams++;
    this.counters.rxBytes += data.byteLength;
    // Fast path: a short-header packet (bit 7 clear, fixed bit set) carries our
    // fixed-length DCID right after the first byte; no need to call into quiche to parse.
    const first = data[0];
    if (first !== undefined && (first & 0xc0) === 0x40 && data.byteLength > CID_LEN) {
      const conn = this.#byCid.get(hex(data.subarray(1, 1 + CID_LEN)));
      if (conn) {
        conn.oneRttSeen = true;
        this.#recv(conn, data, from, now);
        return;
      }
    }
    let header;
    try {
      header = quiche.Header.fromSlice(data, CID_LEN);
    } catch {
      this.counters.rxUnparseable++;
      return;
    }
    const conn = this.#byCid.get(hex(header.dcid));
    if (conn) {
      this.#recv(conn, data, from, now);
      return;
    }
    if (header.ty !== quiche.Type.Initial) {
      this.counters.rxUnroutable++;
      return;
    }
    this.#acceptInitial(data, header, from, now);
  }

  /** Runs quiche's timers that are due, and gives up closing states that are over (see closing.ts). */
  handleTimeouts(now: number): void {
    for (const conn of this.#timers.popExpired(now)) {
      if (conn.closingDeadline !== null && now >= conn.closingDeadline && !conn.quiche.isDraining()) {
        conn.closeTimedOut = true;
        this.#forget(conn);
        continue;
      }
      conn.quiche.onTimeout();
      this.#dirty.add(conn);
      this.#afterIo(conn, now);
    }
  }

  /** Earliest timer deadline (same clock as `now`), or null. */
  nextDeadline(): number | null {
    return this.#timers.peek();
  }

  /** Marks a connection as having something to send (stream write, close, …). */
  wake(conn: CoreConnection): void {
    if (!conn.closed) this.#dirty.add(conn);
  }

  /** Takes the events queued since the last call, in order, then one 'activity' per connection that received packets. */
  pollEvents(): CoreEvent[] {
    const events = this.#events.splice(0);
    for (const conn of this.#active) if (!conn.closed) events.push({ type: 'activity', conn });
    this.#active.clear();
    return events;
  }

  /** Collects up to `budget` datagrams from stateless replies and dirty connections. */
  pollTransmits(now: number, budget: number): Transmit[] {
    const out = this.#stateless.splice(0, budget);
    for (const conn of [...this.#dirty]) {
      if (out.length >= budget) break;
      let drained = false;
      // A closing connection sends a few datagrams per wake-up, not whatever quiche
      // produces: without its CONNECTION_CLOSE those would be an endless packet storm.
      const cap = this.#noteClosing(conn, now) ? out.length + CLOSING_BURST : Infinity;
      while (out.length < budget) {
        if (out.length >= cap) {
          drained = true;
          break;
        }
        if (SLAB_SIZE - this.#slabOffset < quiche.MAX_DATAGRAM_SIZE) {
          this.#slab = Buffer.allocUnsafe(SLAB_SIZE);
          this.#slabOffset = 0;
        }
        const view = this.#slab.subarray(this.#slabOffset, this.#slabOffset + quiche.MAX_DATAGRAM_SIZE);
        let result;
        try {
          result = conn.quiche.send(view);
        } catch {
          // quiche closes the connection itself on a fatal send error; report it below.
          drained = true;
          break;
        }
        if (result === null) {
          drained = true;
          break;
        }
        const [written, info] = result;
        const to = info.to.port === conn.remote.port && info.to.host === conn.remote.address ? conn.remote : { address: info.to.host, port: info.to.port };
        out.push({ data: view.subarray(0, written), to });
        this.#slabOffset += written;
        this.counters.txDatagrams++;
        this.counters.txBytes += written;
      }
      if (drained) this.#dirty.delete(conn);
      this.#afterIo(conn, now);
    }
    return out;
  }

  /** True while some connection still has packets queued for pollTransmits. */
  get hasPendingTransmits(): boolean {
    return this.#dirty.size > 0 || this.#stateless.length > 0;
  }

  /** Every connection the core holds, refused ones included. */
  connections(): IterableIterator<CoreConnection> {
    return this.#connections.values();
  }

  #recv(conn: CoreConnection, data: Uint8Array, from: SocketAddress, now: number): void {
    try {
      const peer = from.port === conn.remote.port && from.address === conn.remote.address ? conn.remoteHost : host(from);
      // `to` is always the bound address ('::' when unbound): only AF_XDP frames carry
      // their real destination, and one connection's packets can also come in over the
      // kernel socket, so a changing local address would be a new path to quiche.
      conn.quiche.recv(data, { from: peer, to: this.#localHost });
    } catch {
      // A packet quiche could not use (undecryptable, duplicate, …) is dropped by quiche;
      // fatal protocol errors close the connection, which #afterIo reports.
      this.counters.rxRejected++;
    }
    if (conn.deferredClose && conn.oneRttSeen) this.#closeDeferred(conn);
    // Re-arming the timer waits for pollTransmits (every received-on connection is dirty):
    // once per batch instead of once per packet.
    this.#dirty.add(conn);
    this.#afterIo(conn, now, false);
    if (!conn.closed) this.#active.add(conn);
  }

  #acceptInitial(
    data: Uint8Array,
    header: { version: number; dcid: Uint8Array; scid: Uint8Array; token?: Uint8Array },
    from: SocketAddress,
    now: number,
  ): void {
    if (!this.#serverConfig) {
      this.counters.rxUnroutable++;
      return;
    }
    if (!quiche.versionIsSupported(header.version)) {
      const out = this.#statelessBuffer();
      const n = quiche.negotiateVersion(header.scid, header.dcid, out);
      this.#stateless.push({ data: out.subarray(0, n), to: from });
      this.counters.versionNegotiations++;
      return;
    }
    if (data.byteLength < MIN_INITIAL_SIZE) {
      this.counters.rxUnroutable++;
      return;
    }
    let odcid: Uint8Array | null = null;
    let scid: Uint8Array;
    if (this.#config.retry) {
      if (!header.token || header.token.byteLength === 0) {
        const newScid = randomBytes(CID_LEN);
        const token = this.#tokens.mint(from.address, from.port, header.dcid, Date.now());
        const out = this.#statelessBuffer();
        const n = quiche.retry(header.scid, header.dcid, newScid, token, header.version, out);
        this.#stateless.push({ data: out.subarray(0, n), to: from });
        this.counters.retriesSent++;
        return;
      }
      odcid = this.#tokens.validate(header.token, from.address, from.port, Date.now());
      if (!odcid || header.dcid.byteLength !== CID_LEN) {
        this.counters.retryTokensRejected++;
        return;
      }
      // After Retry the client addresses us by the SCID we chose in the Retry packet.
      scid = Buffer.from(header.dcid);
    } else {
      scid = randomBytes(CID_LEN);
    }
    const refused = this.connectionCount >= this.#config.maxConnections;
    if (refused && this.#connections.size >= 2 * this.#config.maxConnections) {
      this.counters.connectionsRefused++;
      return; // even the refusal budget is spent: stay silent
    }
    const qc = quiche.Connection.accept(scid, odcid, host(this.#local), host(from), this.#serverConfig);
    const cids = [hex(scid)];
    if (!this.#config.retry) cids.push(hex(header.dcid)); // retransmitted Initials still carry it
    const conn = this.#register('server', qc, from, cids, refused);
    if (refused) {
      this.counters.connectionsRefused++;
    } else {
      this.counters.connectionsAccepted++;
      this.#events.push({ type: 'accepted', conn });
    }
    this.#recv(conn, data, from, now);
    if (refused && !conn.closed) {
      // Send our first flight before closing: quiche puts the CONNECTION_CLOSE in the
      // Handshake space, which the client can only decrypt after our ServerHello.
      for (let i = 0; i < 8; i++) {
        const out = this.#statelessBuffer();
        const result = conn.quiche.send(out);
        if (result === null) break;
        this.#stateless.push({ data: out.subarray(0, result[0]), to: from });
      }
      try {
        conn.quiche.close(false, CONNECTION_REFUSED, Buffer.from('connection limit'));
      } catch {
        // already closing
      }
      this.#dirty.add(conn);
    }
  }

  #register(role: 'client' | 'server', qc: QuicheConnection, remote: SocketAddress, cids: string[], refused = false) {
    const conn = new CoreConnection(role, qc, remote, cids, refused);
    for (const cid of cids) this.#byCid.set(cid, conn);
    this.#connections.add(conn);
    return conn;
  }

  #closeDeferred(conn: CoreConnection): void {
    const { code, reason } = conn.deferredClose!;
    conn.deferredClose = null;
    try {
      conn.closeApplicationNow(code, reason);
    } catch {
      // Closed meanwhile (e.g. by the peer): #afterIo reports it.
    }
    this.#dirty.add(conn);
  }

  /** True when `conn` is closing (a local close is pending or going out); the first time, starts its closing deadline. */
  #noteClosing(conn: CoreConnection, now: number): boolean {
    if (conn.closingDeadline !== null) return true;
    if (!conn.closeRequested) return false;
    conn.closingDeadline = now + closingLimitMs(conn.quiche);
    return true;
  }

  /** After any recv/send/timeout: notice the handshake finishing or the connection closing, and re-arm its timer. */
  #afterIo(conn: CoreConnection, now: number, reschedule = true): void {
    if (conn.closed) return;
    if (conn.quiche.isClosed()) {
      this.#forget(conn);
      return;
    }
    if (!conn.established && conn.quiche.isEstablished()) {
      conn.established = true;
      if (!conn.refused) this.#events.push({ type: 'established', conn });
    }
    if (reschedule) this.#schedule(conn, now);
  }

  /** The connection is gone (closed by quiche, or its closing state given up): drop it and report it. */
  #forget(conn: CoreConnection): void {
    conn.closed = true;
    // An application close still waiting for HANDSHAKE_DONE never reached quiche, so
    // whatever ended the connection (its idle timer) did not tell the peer either.
    if (conn.deferredClose) conn.closeTimedOut = true;
    for (const cid of conn.cids) this.#byCid.delete(cid);
    this.#connections.delete(conn);
    this.#dirty.delete(conn);
    this.#timers.set(conn, null);
    if (conn.quiche.isTimedOut()) this.counters.idleTimeouts++;
    this.counters.connectionsClosed++;
    if (!conn.refused) this.#events.push({ type: 'closed', conn });
  }

  #schedule(conn: CoreConnection, now: number): void {
    const ms = conn.quiche.timeout();
    let at = ms === null ? null : now + ms;
    // Once draining (the close went out), quiche's own draining timer ends the connection.
    const giveUp = conn.closingDeadline;
    if (giveUp !== null && (at === null || giveUp < at) && !conn.quiche.isDraining()) at = giveUp;
    this.#timers.set(conn, at);
  }

  #statelessBuffer(): Uint8Array {
    return Buffer.alloc(quiche.MAX_DATAGRAM_SIZE);
  }
}
