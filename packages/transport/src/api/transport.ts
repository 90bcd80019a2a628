// SPDX-License-Identifier: Apache-2.0
// StoqTransport: one QUIC endpoint (client and server) wired to its datapath(s).
// This is the only place with I/O policy: it feeds received batches and the clock to
// the sans-IO core, dispatches the core's events to connections, pushes the core's
// transmits to the datapath with backpressure, and keeps one timer for the whole heap.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { parseTarget, type SocketAddress } from '../address.js';
import { normaliseConfig, type NormalisedConfig, type TransportConfig } from '../config.js';
import { EndpointCore, type CoreConnection } from '../core/endpoint-core.js';
import { closeReason } from '../core/close-reason.js';
import type { EndpointStats } from '../core/counters.js';
import type { Datapath, DatapathStats, ReceivedDatagram } from '../datapath/datapath.js';
import type { DgramDatapath } from '../datapath/dgram-datapath.js';
import type { GsoState } from '../datapath/udp-gso.js';
import { dgramStatus, selectDatapath, tryXdp, xdpStatus, xdpUnavailableError } from '../datapath/select.js';
import type { XdpDatapath } from '../datapath/xdp/xdp-datapath.js';
import type { EbpfStatus, XdpDatapathStats } from '../datapath/xdp/public-types.js';
import { channels } from '../diagnostics.js';
import { StoqClosedError, StoqConnectionLimitError, StoqInvalidConfigError, StoqXdpUnavailableError, type StoqError } from '../errors.js';
import { StoqConnection } from './connection.js';
import { connectServerName } from './arguments.js';
import { TransportMetrics, type MetricsInputs } from './ebpf-metrics.js';
import type { EbpfMetrics } from '@stoq/metrics';

/** Options of {@link StoqTransport.connect}. */
export interface ConnectOptions {
  /** TLS server name (SNI) and the name the certificate must match. */
  serverName?: string;
}

/** Counters of a transport ({@link StoqTransport.stats}). */
export interface TransportStats {
  /** The QUIC endpoint's counters. */
  endpoint: EndpointStats;
  /** Each datapath's counters: the dgram socket first, then the XDP datapath if any. */
  datapaths: DatapathStats[];
  /** Live connections (refused ones excluded). */
  connections: number;
  /** Whether the dgram socket sends with UDP GSO (segment size), or why not. */
  udpGso: GsoState;
  /** The XDP datapath's view (modes, latency) and stoq_xdp's counters, when XDP is in use. */
  xdp?: XdpDatapathStats & {
    /** stoq_xdp's counters, summed over CPUs. */
    programCounters: XdpProgramCounters;
  };
}

/** stoq_xdp's counters (DESIGN.md classification table), summed over CPUs. */
export type XdpProgramCounters = Record<
  | 'rx_packets' | 'rx_bytes' | 'malformed_passed' | 'non_ip_passed' | 'ipv4_dropped' | 'ipv4_passed' | 'ipv6_non_udp_passed'
  | 'ipv6_fragment_passed' | 'udp_non_quic_passed' | 'malformed_dropped' | 'initial_too_small_dropped'
  | 'initial_rate_limited_dropped' | 'quic_redirected' | 'quic_passed',
  number
>;

/** Settings of stoq_xdp that can change while it is attached; omitted fields keep their value. */
export interface XdpRuntimeConfig {
  /** Redirect QUIC to the AF_XDP sockets (the transport attaches with true); false sends it through the kernel socket. */
  redirect?: boolean;
  /** Stamp bpf_ktime_get_ns() into XDP metadata for the latency summary (the transport attaches with true). */
  timestampMeta?: boolean;
  /** IPv4 frames: 'drop' or 'pass' to the kernel (initially `xdp.ipv4Policy`). */
  ipv4Policy?: 'drop' | 'pass';
  /** Datagrams carrying a QUIC Initial with a smaller UDP payload are dropped, bytes (default 1200). */
  initialMinSize?: number;
  /** Initials per second allowed per source /64 (default 0). */
  initialRate?: number;
  /** Token-bucket size per source /64 for Initials; 0 = no limit (default 0). */
  initialBurst?: number;
}

/** The fields of {@link XdpRuntimeConfig}: the only ones updateXdpConfig() passes to stoq_xdp. */
const RUNTIME_FIELDS: ReadonlySet<string> = new Set<keyof XdpRuntimeConfig>(['redirect', 'timestampMeta', 'ipv4Policy', 'initialMinSize', 'initialRate', 'initialBurst']);

/** The transport moved between the XDP and the dgram datapath while running. */
export interface DatapathChange {
  /** The datapath QUIC runs on now. */
  datapath: 'xdp' | 'dgram';
  /** The datapath it ran on before. */
  previous: 'xdp' | 'dgram';
  /** Why it left XDP (e.g. stoq_xdp detached from outside); absent when it returned to XDP. */
  reason?: string;
  /** The status after the change. */
  status: EbpfStatus;
}

/** Events of a {@link StoqTransport} (listener arguments per event name). */
export interface StoqTransportEvents {
  /** A client's connection completed its handshake on this (server) transport. */
  connection: [connection: StoqConnection];
  /**
   * stoq_xdp was detached from outside (connections continue over the kernel socket),
   * or attachXdpToInterface() brought the transport back onto AF_XDP.
   */
  datapathChange: [change: DatapathChange];
  /** An I/O error on a datapath (e.g. a send the OS refused). The endpoint keeps running. */
  datapathError: [error: Error];
}

/** Datagrams taken from the core per round, and rounds per event-loop turn before yielding. */
const TRANSMIT_BUDGET = 256;
const TRANSMIT_ROUNDS = 4;
/**
 * How long close() waits for every connection's CONNECTION_CLOSE to go out. Normally a
 * few ms (sending needs no answer); the margin is for a stalled process (a loaded CI
 * machine once took over 1 s, and the connection's streams then failed as forced).
 */
const CLOSE_SEND_LIMIT_MS = 3000;
/** setTimeout() fires at once beyond this; a later deadline is simply re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Why a connection whose closing state was given up (its CONNECTION_CLOSE never went out) ended. */
function closeTimedOutError(core: CoreConnection): StoqError {
  return closeReason(core.quiche, core.established) ?? new StoqClosedError('closed without telling the peer: quiche could not send the CONNECTION_CLOSE (the handshake was not confirmed yet)', {
    operation: 'close',
    hint: 'the peer notices at its idle timeout',
  });
}

interface PendingConnect {
  resolve(conn: StoqConnection): void;
  reject(error: StoqError): void;
}

/**
 * One QUIC endpoint over IPv6, client and server at once, bound to one UDP port. It
 * runs over AF_XDP when stoq_xdp can be attached to the configured interface and over
 * a node:dgram socket otherwise (see {@link StoqTransport.getEbpfStatus}). Emits the
 * {@link StoqTransportEvents}.
 */
export class StoqTransport extends EventEmitter<StoqTransportEvents> {
  readonly #config: NormalisedConfig;
  readonly #core: EndpointCore;
  readonly #datapaths: Datapath[];
  readonly #dgram: DgramDatapath;
  #xdp: XdpDatapath | null;
  #status: EbpfStatus;
  #attaching: Promise<EbpfStatus> | null = null;
  /** The interface #attaching is for. */
  #attachingTo: string | null = null;
  /** Closing an XDP datapath whose program was detached from outside. */
  #retiring: Promise<void> | null = null;
  /** updateXdpConfig() settings, re-applied when XDP is attached again. */
  #xdpOverrides: XdpRuntimeConfig = {};
  readonly #pendingConnects = new Map<CoreConnection, PendingConnect>();
  readonly #handedOut = new WeakSet<CoreConnection>();
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #driveQueued = false;
  #yieldQueued = false;
  #blocked = false;
  #closing = false;
  #closingDone: Promise<void> | null = null;
  #closed = false;
  #metrics: TransportMetrics | null = null;

  private constructor(config: NormalisedConfig, dgram: DgramDatapath, xdp: XdpDatapath | null, status: EbpfStatus) {
    super();
    this.#config = config;
    this.#dgram = dgram;
    this.#xdp = xdp;
    this.#datapaths = xdp ? [dgram, xdp] : [dgram];
    this.#status = status;
    this.#core = new EndpointCore(config, dgram.localAddress());
  }

  /**
   * Binds the endpoint (IPv6 only, port 9292 unless told otherwise) and picks its datapath.
   *
   * @throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`) or {@link StoqInvalidAddressError}
   *   (`STOQ_ERR_INVALID_ADDRESS`) for a bad config; {@link StoqTlsConfigError} (`STOQ_ERR_TLS_CONFIG`)
   *   when quiche rejects the TLS material; {@link StoqBindError} (`STOQ_ERR_BIND`) when the port
   *   cannot be bound; {@link StoqXdpUnavailableError} (`STOQ_ERR_XDP_UNAVAILABLE`, every rung's
   *   reason) with `datapath: 'xdp'` when XDP cannot be used.
   */
  static async create(config: TransportConfig = {}): Promise<StoqTransport> {
    const normalised = normaliseConfig(config);
    const { dgram, xdp, status } = await selectDatapath(normalised);
    let transport: StoqTransport;
    try {
      transport = new StoqTransport(normalised, dgram, xdp, status);
    } catch (error) {
      await Promise.all([xdp?.close(), dgram.close()]);
      throw error;
    }
    for (const datapath of transport.#datapaths) transport.#startDatapath(datapath);
    channels.datapathSelected.publish({ transport, datapath: status.datapath, fallbackReason: status.fallbackReason });
    try {
      transport.#metrics = await TransportMetrics.create(transport.#metricsInputs());
    } catch (error) {
      // Metrics must not take the transport down: getEbpfMetrics() stays null and the error is published.
      transport.#onMetricsError(error);
    }
    return transport;
  }

  /** The bound local address. */
  address(): SocketAddress {
    return this.#dgram.localAddress();
  }

  /**
   * Opens a connection to '[addr]:port' (or 'addr', port 9292) and resolves once the handshake
   * completed. A failed handshake rejects with the typed close reason (e.g. {@link StoqTlsVerifyError},
   * {@link StoqAlpnError}, or {@link StoqIdleTimeoutError} when nobody answers).
   *
   * @throws {@link StoqInvalidAddressError} (`STOQ_ERR_INVALID_ADDRESS`) for a target that is not IPv6.
   * @throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`) when `options` is not an object or
   *   `serverName` not a non-empty string of at most 255 bytes.
   * @throws {@link StoqConnectionLimitError} (`STOQ_ERR_CONNECTION_LIMIT`) at `limits.maxConnections`,
   *   or when the server refuses the connection.
   * @throws {@link StoqClosedError} (`STOQ_ERR_CLOSED`) when the transport is closed.
   */
  async connect(target: string, options?: ConnectOptions): Promise<StoqConnection> {
    if (this.#closing) throw new StoqClosedError('connect: the transport is closed', { operation: 'connect' });
    const remote = parseTarget(target);
    const serverName = connectServerName(options);
    if (this.#core.connectionCount >= this.#config.maxConnections) {
      throw new StoqConnectionLimitError(`connect: already at limits.maxConnections (${this.#config.maxConnections})`, {
        operation: 'connect',
      });
    }
    const core = this.#core.connect(remote, serverName, performance.now());
    this.#xdp?.connectionOpened(remote);
    this.#adopt(core);
    const established = new Promise<StoqConnection>((resolve, reject) => this.#pendingConnects.set(core, { resolve, reject }));
    this.#drive();
    return established;
  }

  /**
   * Sends one message on `conn` (the bytes of any ArrayBufferView); it arrives as a
   * 'message' event, reliably and in order with other send()s. Rejects like
   * {@link StoqConnection.sendMessage}, and with {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`)
   * when `conn` is not a connection.
   */
  async send(conn: StoqConnection, data: ArrayBufferView): Promise<void> {
    if (!(conn instanceof StoqConnection)) {
      throw new StoqInvalidConfigError(`send: conn must be a StoqConnection, got ${conn === null ? 'null' : typeof conn}`, {
        operation: 'send',
        hint: 'pass the connection from connect() or the connection event',
      });
    }
    await conn.sendMessage(data);
  }

  /** Which datapath is in use, with the XDP/AF_XDP modes, sockets and fallback reasons (a copy). */
  getEbpfStatus(): EbpfStatus {
    return structuredClone(this.#status);
  }

  /**
   * The DESIGN.md metrics shape from @stoq/metrics, at most a second old (collected in
   * the background, unref'd). On dgram the kernel sections (packets, conntrack, latency)
   * say `available: false` with the fallback reason; QUIC, copy counts and CPU are real.
   * Null after close() (or if the collector could not be built; see diagnosticsChannels.metricsError).
   */
  getEbpfMetrics(): EbpfMetrics | null {
    return this.#closed ? null : (this.#metrics?.snapshot() ?? null);
  }

  /** Collects now and returns the same shape as getEbpfMetrics(), fresh. */
  async collectEbpfMetrics(): Promise<EbpfMetrics | null> {
    return this.#closed ? null : ((await this.#metrics?.refresh()) ?? null);
  }

  /** Open QUIC connections (handed out to the application or being established), each with stats(). */
  connections(): StoqConnection[] {
    const open: StoqConnection[] = [];
    for (const core of this.#core.connections()) {
      const conn = core.owner as StoqConnection | null;
      if (conn && !conn.closed && !core.closed) open.push(conn);
    }
    return open;
  }

  /**
   * Attaches stoq_xdp to `ifname` and moves this transport onto AF_XDP (climbing the
   * fallback ladder); resolves with the new status. Already attached there: the
   * current status. Throws StoqXdpUnavailableError with every rung's reason.
   */
  async attachXdpToInterface(ifname: string): Promise<EbpfStatus> {
    const operation = `attachXdpToInterface(${ifname})`;
    if (this.#closing) throw new StoqClosedError(`${operation}: the transport is closed`, { operation });
    // An attach to another interface in progress: its outcome decides (one interface per transport).
    while (this.#attaching && this.#attachingTo !== ifname) await this.#attaching.catch(() => {});
    if (this.#closing) throw new StoqClosedError(`${operation}: the transport is closed`, { operation });
    if (this.#attaching) return this.#attaching;
    if (this.#xdp?.ifname === ifname) return this.getEbpfStatus();
    if (this.#xdp) {
      throw new StoqInvalidConfigError(`${operation}: this transport already runs XDP on ${this.#xdp.ifname}`, {
        operation, hint: 'one interface per transport: create another transport for the other interface',
      });
    }
    this.#attachingTo = ifname;
    this.#attaching = (async () => {
      await this.#retiring;
      const { xdp, rungs, summary } = await tryXdp(this.#config, ifname, this.#dgram);
      if (!xdp) throw xdpUnavailableError(summary, rungs, operation);
      if (this.#closing) {
        await xdp.close();
        throw new StoqClosedError(`${operation}: the transport closed meanwhile`, { operation });
      }
      try {
        xdp.updateProgramConfig(this.#xdpOverrides);
      } catch (error) {
        await xdp.close();
        throw error;
      }
      const previous = this.#status.datapath;
      this.#xdp = xdp;
      // Connections established before this datapath existed count too: their peers are
      // evicted last, and closing one does not uncount a later one to the same peer.
      for (const core of this.#core.connections()) {
        if (!core.refused && !core.closed && core.established) xdp.connectionEstablished(core.remote);
      }
      this.#datapaths.push(xdp);
      this.#startDatapath(xdp);
      this.#status = xdpStatus(xdp, rungs);
      channels.datapathSelected.publish({ transport: this, datapath: 'xdp', fallbackReason: undefined });
      await this.#metrics?.rebuild(this.#metricsInputs()).catch((error: unknown) => this.#onMetricsError(error));
      this.emit('datapathChange', { datapath: 'xdp', previous, status: this.getEbpfStatus() });
      return this.getEbpfStatus();
    })().finally(() => {
      this.#attaching = null;
      this.#attachingTo = null;
    });
    return this.#attaching;
  }

  /**
   * The AF_XDP socket of `queue` on `ifname` (attaching there first if needed), with
   * the mode the kernel really bound: 'copy' where the driver has no zero-copy (veth).
   * Every RX queue gets a socket when XDP attaches; this reports it.
   */
  async createZeroCopySocket(ifname: string, queue: number): Promise<{
    /** Interface name. */
    interface: string;
    /** RX queue index. */
    queue: number;
    /** AF_XDP bind mode the kernel reports. */
    mode: 'zerocopy' | 'copy';
  }> {
    await this.attachXdpToInterface(ifname);
    const found = this.#status.sockets.find((s) => s.interface === ifname && s.queue === queue);
    if (!found) {
      throw new StoqXdpUnavailableError(`createZeroCopySocket: ${ifname} has no RX queue ${queue} (queues: ${this.#status.sockets.map((s) => s.queue).join(', ')})`, {
        operation: `createZeroCopySocket(${ifname}, ${queue})`,
        hint: 'queues are numbered from 0; see /sys/class/net/IF/queues',
      });
    }
    return { ...found };
  }

  /**
   * Changes stoq_xdp's settings while attached (stoq_config, no reload): e.g.
   * `{ redirect: false }` sends QUIC through the kernel socket, `true` back to AF_XDP.
   *
   * @throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`) for a field that is not
   *   an {@link XdpRuntimeConfig} field (quicPorts, maxRedirectPayload, … are fixed at attach)
   *   or a value stoq_xdp refuses.
   * @throws {@link StoqXdpUnavailableError} (`STOQ_ERR_XDP_UNAVAILABLE`) when no XDP datapath runs.
   */
  updateXdpConfig(partial: XdpRuntimeConfig): void {
    if (typeof partial !== 'object' || partial === null) {
      throw new StoqInvalidConfigError(`updateXdpConfig: expected an object of XdpRuntimeConfig fields, got ${partial === null ? 'null' : typeof partial}`, {
        operation: 'updateXdpConfig',
        hint: `pass the fields to change, e.g. { redirect: false }; the fields are ${[...RUNTIME_FIELDS].join(', ')}`,
      });
    }
    for (const field of Object.keys(partial)) {
      // localAddress has its own refusal in the program (the bound address cannot change).
      if (RUNTIME_FIELDS.has(field) || field === 'localAddress') continue;
      throw new StoqInvalidConfigError(`updateXdpConfig: ${field} cannot be changed at run time`, {
        operation: 'updateXdpConfig',
        hint: `the fields are ${[...RUNTIME_FIELDS].join(', ')}; the others are fixed when XDP attaches`,
      });
    }
    if (!this.#xdp) {
      throw new StoqXdpUnavailableError(`updateXdpConfig: no XDP datapath (${this.#status.fallbackReason ?? 'not attached'})`, {
        operation: 'updateXdpConfig',
        hint: 'attach first: create the transport with interface and datapath: \'xdp\', or call attachXdpToInterface(ifname)',
      });
    }
    this.#xdp.updateProgramConfig(partial);
    this.#xdpOverrides = { ...this.#xdpOverrides, ...partial };
  }

  /** The state stoq_conntrack holds for `peer` on our port (null: no entry, or no XDP datapath). */
  conntrackState(peer: SocketAddress): string | null {
    return this.#xdp && !this.#closed ? this.#xdp.conntrackState(peer) : null;
  }

  /** Counters of the endpoint, the datapaths and, when XDP is in use, stoq_xdp. */
  stats(): TransportStats {
    const stats: TransportStats = {
      endpoint: this.#core.counters.snapshot(),
      datapaths: this.#datapaths.map((d) => d.stats()),
      connections: this.#core.connectionCount,
      udpGso: this.#dgram.gso(),
    };
    if (this.#xdp && !this.#closed) stats.xdp = { ...this.#xdp.stats(), programCounters: this.#xdp.programCounters() };
    return stats;
  }

  /**
   * Closes every connection, waits (bounded) until each has sent its CONNECTION_CLOSE,
   * then closes the datapaths. Draining is cut short: once the endpoint is gone there
   * is nobody left to absorb stray packets anyway.
   */
  async close(): Promise<void> {
    // Every caller resolves when closing is done, not just the first.
    this.#closingDone ??= this.#close();
    return this.#closingDone;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    // A connect() still handshaking fails as closed by us, not with quiche's close code.
    for (const [core, pending] of this.#pendingConnects) {
      this.#pendingConnects.delete(core);
      pending.reject(new StoqClosedError('connect: the transport was closed before the handshake completed', { operation: 'connect' }));
    }
    for (const core of [...this.#core.connections()]) {
      const owner = core.owner as StoqConnection | null;
      if (owner) {
        void owner.close(0, 'transport closing');
      } else {
        try {
          core.quiche.close(false, 0, Buffer.alloc(0));
        } catch {
          // already closing
        }
      }
      this.#core.wake(core);
    }
    this.#drive();
    const deadline = Date.now() + CLOSE_SEND_LIMIT_MS;
    const pending = () => [...this.#core.connections()].filter((c) => !c.quiche.isDraining() && !c.quiche.isClosed());
    while (pending().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const core of [...this.#core.connections()]) {
      // Draining (our close went out) or already closed (its real reason is known to
      // quiche, e.g. the peer closed first): only a close that never got out is forced.
      const clean = core.quiche.isDraining() || core.quiche.isClosed();
      this.#closeOwner(core, clean ? undefined : new StoqClosedError('the transport closed before the connection could send its close', { operation: 'close' }));
    }
    this.#clearTimer();
    this.#closed = true;
    await this.#attaching?.catch(() => {});
    await this.#retiring;
    this.#metrics?.close();
    await Promise.all(this.#datapaths.map((d) => d.close()));
  }

  #metricsInputs(): MetricsInputs {
    return {
      // Not this.stats(): that also reads stoq_stats, which the collector reads itself.
      transport: { stats: () => ({ datapaths: this.#datapaths.map((d) => d.stats()) }), connections: () => this.connections() },
      xdp: this.#xdp,
      noXdpReason: this.#status.fallbackReason ?? `datapath: ${this.#status.datapath} (no XDP program attached)`,
      onError: (error) => this.#onMetricsError(error),
    };
  }

  #onMetricsError(error: unknown): void {
    channels.metricsError.publish({ transport: this, error });
  }

  #adopt(core: CoreConnection): StoqConnection {
    const conn = new StoqConnection(core, {
      wake: (c) => {
        this.#core.wake(c);
        this.#queueDrive();
      },
      maxMessageBytes: this.#config.maxMessageBytes,
      datagrams: this.#config.datagrams,
      datagramRefused: () => this.#core.counters.datagramsRefused++,
    });
    core.owner = conn;
    return conn;
  }

  #startDatapath(datapath: Datapath): void {
    datapath.start((batch, source) => this.#onBatch(batch, source), (error) => this.#onDatapathError(error));
    datapath.onDrain(() => {
      this.#blocked = false;
      this.#drive();
    });
    const xdp = this.#xdp;
    if (datapath === xdp) xdp.watchAttachment((reason) => this.#onXdpDetached(xdp, reason));
  }

  /**
   * stoq_xdp was detached from outside: QUIC now reaches the kernel socket, so the
   * endpoint continues over dgram alone (same connections, same port) and the XDP
   * datapath is closed. attachXdpToInterface() climbs the ladder again.
   */
  #onXdpDetached(xdp: XdpDatapath, reason: string): void {
    if (this.#xdp !== xdp || this.#closing) return;
    this.#xdp = null;
    this.#datapaths.splice(this.#datapaths.indexOf(xdp), 1);
    const fallbackReason = `${reason}; running over the kernel dgram socket until attachXdpToInterface('${xdp.ifname}')`;
    this.#status = dgramStatus(fallbackReason, this.#status.ladder);
    // The metrics collector reads the program's maps: point it elsewhere before closing them.
    this.#retiring = (async () => {
      await this.#metrics?.rebuild(this.#metricsInputs()).catch((error: unknown) => this.#onMetricsError(error));
      await xdp.close().catch((error: unknown) => this.#onDatapathError(error as Error));
    })().finally(() => {
      this.#retiring = null;
    });
    channels.datapathSelected.publish({ transport: this, datapath: 'dgram', fallbackReason });
    this.emit('datapathChange', { datapath: 'dgram', previous: 'xdp', reason: fallbackReason, status: this.getEbpfStatus() });
  }

  #onBatch(batch: readonly ReceivedDatagram[], source: Datapath): void {
    if (this.#closed) return;
    // QUIC on the kernel socket is what a detached program looks like: check the link (throttled).
    if (source === this.#dgram) this.#xdp?.checkAttachment();
    const now = performance.now();
    for (const { data, from } of batch) this.#core.receive(data, from, now);
    this.#drive();
  }

  #onDatapathError(error: Error): void {
    channels.datapathError.publish({ transport: this, error });
    this.emit('datapathError', error);
  }

  #queueDrive(): void {
    if (this.#driveQueued) return;
    this.#driveQueued = true;
    queueMicrotask(() => this.#drive());
  }

  /** One turn of the endpoint: timers, events, transmits, re-arm the timer. */
  #drive(): void {
    this.#driveQueued = false;
    if (this.#closed) return;
    const now = performance.now();
    this.#core.handleTimeouts(now);
    this.#dispatch();
    this.#flush(now);
    this.#dispatch();
    this.#armTimer(now);
  }

  #dispatch(): void {
    for (const event of this.#core.pollEvents()) {
      const core = event.conn;
      switch (event.type) {
        case 'accepted':
          this.#xdp?.connectionOpened(core.remote);
          if (!this.#closing) {
            this.#adopt(core);
            break;
          }
          try {
            core.quiche.close(false, 0x2, Buffer.from('transport closing'));
          } catch {
            // quiche already closed it (Done): nothing left to refuse.
          }
          break;
        case 'established': {
          this.#xdp?.connectionEstablished(core.remote);
          const conn = core.owner as StoqConnection | null;
          if (!conn) break;
          channels.connectionEstablished.publish({ connection: conn });
          const pending = this.#pendingConnects.get(core);
          if (pending && (core.quiche.peerError() || core.quiche.localError())) {
            // The same flight that completed the handshake also closed it (e.g. a server
            // at its connection limit): the caller gets the reason, not a dead connection.
            this.#pendingConnects.delete(core);
            pending.reject(closeReason(core.quiche, true) ?? new StoqClosedError('connection closed during the handshake', { operation: 'connect' }));
          } else if (pending) {
            this.#pendingConnects.delete(core);
            pending.resolve(conn);
            // Let the caller's await continue before stream events for this connection.
            setImmediate(() => {
              this.#handedOut.add(core);
              if (!core.closed) conn.handleActivity();
              this.#drive();
            });
          } else if (core.role === 'server') {
            this.#handedOut.add(core);
            this.emit('connection', conn);
          }
          break;
        }
        case 'activity':
          if (this.#handedOut.has(core)) (core.owner as StoqConnection).handleActivity();
          break;
        case 'closed':
          this.#xdp?.connectionClosed(core.remote, core.established);
          this.#closeOwner(core, core.closeTimedOut ? closeTimedOutError(core) : undefined);
          break;
      }
    }
  }

  #closeOwner(core: CoreConnection, forced?: StoqError): void {
    const conn = core.owner as StoqConnection | null;
    if (!conn) return;
    conn.handleClosed(forced);
    const pending = this.#pendingConnects.get(core);
    if (pending) {
      this.#pendingConnects.delete(core);
      pending.reject(conn.closeError ?? new StoqClosedError('connection closed during the handshake', { operation: 'connect' }));
    }
  }

  #flush(now: number): void {
    const datapath: Datapath = this.#xdp ?? this.#dgram;
    for (let round = 0; round < TRANSMIT_ROUNDS && !this.#blocked; round++) {
      const transmits = this.#core.pollTransmits(now, TRANSMIT_BUDGET);
      if (transmits.length === 0) return;
      if (!datapath.send(transmits)) this.#blocked = true;
    }
    // More to send: yield to the event loop first so received ACKs get processed.
    if (!this.#blocked && !this.#yieldQueued && this.#core.hasPendingTransmits) {
      this.#yieldQueued = true;
      setImmediate(() => {
        this.#yieldQueued = false;
        this.#drive();
      });
    }
  }

  #armTimer(now: number): void {
    const deadline = this.#core.nextDeadline();
    if (deadline === null) {
      this.#clearTimer();
      return;
    }
    if (this.#timer && deadline >= this.#timerAt) return;
    this.#clearTimer();
    this.#timerAt = deadline;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      this.#drive();
    }, Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(deadline - now))));
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }
}
