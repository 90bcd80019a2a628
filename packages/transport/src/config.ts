// SPDX-License-Identifier: Apache-2.0
// Public configuration and its normalisation. Everything is validated here, once;
// the core and the datapaths receive a complete, frozen object.
import { constants as bufferConstants } from 'node:buffer';
import { assertIPv6, assertPort, DEFAULT_PORT } from './address.js';
import { StoqInvalidConfigError } from './errors.js';
import { optionalObject } from './value-checks.js';

/** PEM text, as a string or its UTF-8 bytes; one value may hold several PEM blocks. */
export type Pem = string | Buffer | Uint8Array;
/** Which datapath a transport uses; see {@link TransportConfig.datapath}. */
export type DatapathChoice = 'auto' | 'xdp' | 'dgram';
/** quiche's congestion-control algorithm. */
export type CongestionControl = 'cubic' | 'reno' | 'bbr';

/** TLS 1.3 settings (certificates, trust, ALPN) for {@link TransportConfig.tls}. */
export interface TlsConfig {
  /** Certificate chain (PEM). Required to accept connections. */
  cert?: Pem | Pem[];
  /** Private key (PEM) matching `cert`. */
  key?: Pem;
  /** Trusted CA certificate(s) (PEM) for verifying the peer. */
  ca?: Pem | Pem[];
  /** Verify the peer's certificate (default true). Turning it off needs `dangerouslySkipPeerVerification`. */
  verifyPeer?: boolean;
  /** Servers: ask clients for a certificate and verify it against `ca` (default false). */
  requireClientCertificate?: boolean;
  /** ALPN protocol ids, most preferred first (default ['stoq']). */
  alpn?: string[];
}

/**
 * Resource limits for {@link TransportConfig.limits}; each must be an integer in its range:
 * byte limits up to `Number.MAX_SAFE_INTEGER`, stream counts up to 2^60 (RFC 9000),
 * messages up to 2^32 - 1 bytes (their length prefix).
 */
export interface LimitsConfig {
  /** Concurrent connections this endpoint holds, both directions (default 1024). */
  maxConnections?: number;
  /** Bidirectional streams the peer may open (initial_max_streams_bidi, default 100). */
  maxStreamsBidi?: number;
  /** Unidirectional streams the peer may open (initial_max_streams_uni, default 100; one carries send() messages). */
  maxStreamsUni?: number;
  /** Connection-level receive window in bytes (initial_max_data, default 16 MiB). */
  maxData?: number;
  /** Per-stream receive window in bytes (default 4 MiB). */
  maxStreamData?: number;
  /** Largest message accepted by send()/'message' (default 16 MiB). */
  maxMessageBytes?: number;
}

/** Options of the XDP datapath for {@link TransportConfig.xdp}. */
export interface XdpConfig {
  /**
   * What stoq_xdp does with IPv4 on the interface: 'drop' (default, the contract's
   * policy: STOQ is IPv6 only) or 'pass' (leave IPv4 to the kernel, e.g. on a host
   * reached over IPv4).
   */
  ipv4Policy?: 'drop' | 'pass';
}

/**
 * Options of a {@link StoqTransport}. Everything is optional and validated once at
 * creation: an invalid value throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`),
 * an IPv4 or malformed address or port throws {@link StoqInvalidAddressError} (`STOQ_ERR_INVALID_ADDRESS`).
 */
export interface TransportConfig {
  /** Local IPv6 address to bind (default '::'). */
  address?: string;
  /** Local UDP port (default 9292; 0 picks a free port). */
  port?: number;
  /** 'auto' (default) tries XDP and falls back to dgram; 'xdp' insists; 'dgram' never tries XDP. */
  datapath?: DatapathChoice;
  /** Network interface for the XDP datapath; without one the transport runs over dgram. */
  interface?: string;
  /** XDP datapath options. */
  xdp?: XdpConfig;
  /** TLS settings; `cert` and `key` are needed to accept connections. */
  tls?: TlsConfig;
  /** Accept any certificate from the peer. For tests against throwaway peers only. */
  dangerouslySkipPeerVerification?: boolean;
  /** Connection, stream, flow-control and message limits. */
  limits?: LimitsConfig;
  /** Close a connection after this long without packets (default 30 000 ms; at most 2^31 - 1). */
  idleTimeoutMs?: number;
  /** Servers: validate client addresses with a stateless Retry before accepting (default false). */
  retry?: boolean;
  /** How long a Retry token stays valid (default 10 000 ms). */
  retryTokenTtlMs?: number;
  /** RFC 9221 unreliable datagrams (default true). */
  datagrams?: boolean;
  /** SO_RCVBUF for the UDP socket in bytes (default 8 MiB, at most 2^31 - 1; the kernel caps at rmem_max). */
  recvBufferSize?: number;
  /** SO_SNDBUF for the UDP socket in bytes (default 8 MiB, at most 2^31 - 1; the kernel caps at wmem_max). */
  sendBufferSize?: number;
  /**
   * UDP GSO on the dgram socket (default true): runs of full-size packets to one peer
   * leave in one syscall. Needs the optional @stoq/udp package and Linux ≥ 4.18; turns
   * itself off (see `stats().udpGso`) where the kernel refuses it.
   */
  udpGso?: boolean;
  /** Congestion control of every connection (default 'cubic'). */
  congestionControl?: CongestionControl;
}

/** {@link TlsConfig} after validation: PEM split into blocks, defaults applied. */
export interface NormalisedTls {
  /** Each PEM certificate block of `tls.cert`, in order (empty: this endpoint cannot accept connections). */
  readonly certChain: Uint8Array[];
  /** The PEM private key, or null without `tls.cert`. */
  readonly key: Uint8Array | null;
  /** Every `tls.ca` block concatenated, or null without `tls.ca`. */
  readonly ca: Uint8Array | null;
  /** Clients verify the server's certificate (false only with `dangerouslySkipPeerVerification`). */
  readonly verifyServer: boolean;
  /** Servers ask clients for a certificate and verify it against `ca`. */
  readonly requireClientCertificate: boolean;
  /** ALPN protocol ids, most preferred first. */
  readonly alpn: readonly string[];
}

/**
 * A {@link TransportConfig} after validation, with every default applied and `limits`
 * flattened; frozen. This is what {@link EndpointCore} and the datapaths receive.
 */
export interface NormalisedConfig {
  /** IPv6 address to bind, without brackets. */
  readonly address: string;
  /** UDP port to bind (0: any free port). */
  readonly port: number;
  /** See {@link TransportConfig.datapath}. */
  readonly datapath: DatapathChoice;
  /** Interface for the XDP datapath, or null (dgram only). */
  readonly interface: string | null;
  /** See {@link XdpConfig.ipv4Policy}. */
  readonly xdpIpv4Policy: 'drop' | 'pass';
  /** Validated TLS material and settings. */
  readonly tls: NormalisedTls;
  /** See {@link LimitsConfig.maxConnections}. */
  readonly maxConnections: number;
  /** See {@link LimitsConfig.maxStreamsBidi}. */
  readonly maxStreamsBidi: number;
  /** See {@link LimitsConfig.maxStreamsUni}. */
  readonly maxStreamsUni: number;
  /** See {@link LimitsConfig.maxData}; bytes. */
  readonly maxData: number;
  /** See {@link LimitsConfig.maxStreamData}; bytes. */
  readonly maxStreamData: number;
  /** See {@link LimitsConfig.maxMessageBytes}; bytes. */
  readonly maxMessageBytes: number;
  /** See {@link TransportConfig.idleTimeoutMs}; milliseconds. */
  readonly idleTimeoutMs: number;
  /** See {@link TransportConfig.retry}. */
  readonly retry: boolean;
  /** See {@link TransportConfig.retryTokenTtlMs}; milliseconds. */
  readonly retryTokenTtlMs: number;
  /** See {@link TransportConfig.datagrams}. */
  readonly datagrams: boolean;
  /** SO_RCVBUF requested for the UDP socket, bytes. */
  readonly recvBufferSize: number;
  /** SO_SNDBUF requested for the UDP socket, bytes. */
  readonly sendBufferSize: number;
  /** See {@link TransportConfig.udpGso}. */
  readonly udpGso: boolean;
  /** See {@link TransportConfig.congestionControl}. */
  readonly congestionControl: CongestionControl;
}

const MiB = 1024 * 1024;
/** Byte limits: exact in a JS number, and below 2^62 (QUIC varints; quiche aborts the process above). */
const MAX_BYTES = Number.MAX_SAFE_INTEGER;
/** RFC 9000 §4.6: a stream count above 2^60 is a TRANSPORT_PARAMETER_ERROR in every handshake. */
const MAX_STREAMS = 2 ** 60;
/** Durations end up in setTimeout(), which fires at once (with a warning) beyond 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** SO_RCVBUF/SO_SNDBUF are C ints; node:dgram throws from its bind callback beyond. */
const MAX_SOCKET_BUFFER = 2 ** 31 - 1;
/** Messages carry a 32-bit length and must fit one Buffer with it. */
const MAX_MESSAGE = Math.min(2 ** 32 - 1, bufferConstants.MAX_LENGTH - 4);

function intIn(value: unknown, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const got = typeof value === 'number' ? String(value) : `${typeof value} ${JSON.stringify(value) ?? String(value)}`;
    throw new StoqInvalidConfigError(`${name} must be an integer in ${min}..${max === MAX_STREAMS ? '2^60' : max}, got ${got}`, { operation: 'create' });
  }
  return value;
}

function bool(value: unknown, name: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw new StoqInvalidConfigError(`${name} must be true or false, got ${typeof value} ${String(value)}`, { operation: 'create' });
}

function isPem(item: unknown): item is Pem {
  return typeof item === 'string' || item instanceof Uint8Array;
}

function pemList(value: Pem | Pem[] | undefined, name: string): Uint8Array[] {
  if (value === undefined) return [];
  const items: unknown[] = Array.isArray(value) ? value : [value];
  const blocks: Uint8Array[] = [];
  for (const item of items) {
    if (!isPem(item)) {
      throw new StoqInvalidConfigError(`tls.${name} must be PEM text (a string or Buffer), got ${typeof item}`, { operation: 'create' });
    }
    const text = typeof item === 'string' ? item : Buffer.from(item).toString('utf8');
    const found = text.match(/-----BEGIN [^-]+-----[\s\S]+?-----END [^-]+-----/g);
    if (!found) {
      throw new StoqInvalidConfigError(`tls.${name} is not PEM`, { operation: 'create', hint: 'pass the text that starts with -----BEGIN' });
    }
    for (const block of found) blocks.push(Buffer.from(`${block}\n`, 'utf8'));
  }
  return blocks;
}

function normaliseTls(config: TransportConfig): NormalisedTls {
  const tls = optionalObject<TlsConfig>(config.tls, 'tls', 'create');
  const skip = bool(config.dangerouslySkipPeerVerification, 'dangerouslySkipPeerVerification') === true;
  bool(tls.requireClientCertificate, 'tls.requireClientCertificate');
  if (bool(tls.verifyPeer, 'tls.verifyPeer') === false && !skip) {
    throw new StoqInvalidConfigError('tls.verifyPeer: false needs dangerouslySkipPeerVerification: true as well', {
      operation: 'create',
      hint: 'peer verification is only turned off on purpose; give tls.ca instead to trust your own CA',
    });
  }
  const certChain = pemList(tls.cert, 'cert');
  const keys = pemList(tls.key, 'key');
  if ((certChain.length > 0) !== (keys.length > 0)) {
    throw new StoqInvalidConfigError('tls.cert and tls.key go together', { operation: 'create' });
  }
  const ca = pemList(tls.ca, 'ca');
  const alpn = tls.alpn ?? ['stoq'];
  if (!Array.isArray(alpn) || alpn.length === 0 || alpn.some((p) => typeof p !== 'string' || p.length === 0 || Buffer.byteLength(p) > 255)) {
    throw new StoqInvalidConfigError(`tls.alpn must be a non-empty array of 1..255-byte protocol ids, got ${JSON.stringify(alpn)}`, {
      operation: 'create',
      hint: "e.g. alpn: ['stoq']",
    });
  }
  if (tls.requireClientCertificate && ca.length === 0) {
    throw new StoqInvalidConfigError('tls.requireClientCertificate needs tls.ca to verify clients against', { operation: 'create' });
  }
  return Object.freeze({
    certChain,
    key: keys[0] ?? null,
    ca: ca.length > 0 ? Buffer.concat(ca) : null,
    verifyServer: !skip,
    requireClientCertificate: tls.requireClientCertificate === true,
    alpn: Object.freeze([...alpn]),
  });
}

/**
 * Validates `config` (types and ranges) and applies the defaults.
 *
 * @throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`) naming the field and its allowed range.
 * @throws {@link StoqInvalidAddressError} (`STOQ_ERR_INVALID_ADDRESS`) for the address or port.
 */
export function normaliseConfig(input: TransportConfig = {}): NormalisedConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new StoqInvalidConfigError(`the transport config must be an object, got ${input === null ? 'null' : typeof input}`, { operation: 'create' });
  }
  const config: TransportConfig = input;
  const datapath = config.datapath ?? 'auto';
  if (!['auto', 'xdp', 'dgram'].includes(datapath)) {
    throw new StoqInvalidConfigError(`datapath must be 'auto', 'xdp' or 'dgram', got ${String(datapath)}`, { operation: 'create' });
  }
  const xdpIpv4Policy = optionalObject<XdpConfig>(config.xdp, 'xdp', 'create').ipv4Policy ?? 'drop';
  if (xdpIpv4Policy !== 'drop' && xdpIpv4Policy !== 'pass') {
    throw new StoqInvalidConfigError(`xdp.ipv4Policy must be 'drop' or 'pass', got ${String(xdpIpv4Policy)}`, { operation: 'create' });
  }
  const iface: unknown = config.interface;
  // null means "not set", like limits: null and tls: null.
  if (iface !== undefined && iface !== null && (typeof iface !== 'string' || !/^[^\s/:]{1,15}$/.test(iface))) {
    throw new StoqInvalidConfigError(`interface must be an interface name (1..15 characters, e.g. 'eth0'), got ${JSON.stringify(iface)}`, { operation: 'create' });
  }
  const limits = optionalObject<LimitsConfig>(config.limits, 'limits', 'create');
  const cc = config.congestionControl ?? 'cubic';
  if (!['cubic', 'reno', 'bbr'].includes(cc)) {
    throw new StoqInvalidConfigError(`congestionControl must be cubic, reno or bbr, got ${String(cc)}`, { operation: 'create' });
  }
  return Object.freeze({
    address: assertIPv6(config.address ?? '::', 'bind'),
    port: assertPort(config.port ?? DEFAULT_PORT, 'bind'),
    datapath,
    interface: (iface as string | null | undefined) ?? null,
    xdpIpv4Policy,
    tls: normaliseTls(config),
    maxConnections: intIn(limits.maxConnections, 1024, 'limits.maxConnections', 1, 2 ** 32),
    maxStreamsBidi: intIn(limits.maxStreamsBidi, 100, 'limits.maxStreamsBidi', 0, MAX_STREAMS),
    maxStreamsUni: intIn(limits.maxStreamsUni, 100, 'limits.maxStreamsUni', 1, MAX_STREAMS),
    maxData: intIn(limits.maxData, 16 * MiB, 'limits.maxData', 1, MAX_BYTES),
    maxStreamData: intIn(limits.maxStreamData, 4 * MiB, 'limits.maxStreamData', 1, MAX_BYTES),
    maxMessageBytes: intIn(limits.maxMessageBytes, 16 * MiB, 'limits.maxMessageBytes', 1, MAX_MESSAGE),
    idleTimeoutMs: intIn(config.idleTimeoutMs, 30_000, 'idleTimeoutMs', 1, MAX_TIMER_MS),
    retry: bool(config.retry, 'retry') === true,
    retryTokenTtlMs: intIn(config.retryTokenTtlMs, 10_000, 'retryTokenTtlMs', 1, MAX_TIMER_MS),
    datagrams: bool(config.datagrams, 'datagrams') !== false,
    recvBufferSize: intIn(config.recvBufferSize, 8 * MiB, 'recvBufferSize', 1, MAX_SOCKET_BUFFER),
    sendBufferSize: intIn(config.sendBufferSize, 8 * MiB, 'sendBufferSize', 1, MAX_SOCKET_BUFFER),
    udpGso: bool(config.udpGso, 'udpGso') !== false,
    congestionControl: cc,
  });
}
