// SPDX-License-Identifier: Apache-2.0
// stoq_config codec: validation and defaults live here, the program only reads bytes.
import { isIPv6 } from 'node:net';
import { StoqCodecError } from './errors.js';
import { ipv6FromBytes, ipv6ToBytes } from './ipv6.js';
import {
  CONFIG_LAYOUT as L, CONFIG_MAGIC, IPV4_POLICIES, LITTLE_ENDIAN, MAX_QUIC_PORTS, type Ipv4Policy,
} from './layout.js';

/**
 * The stoq_xdp configuration as user space sees it (stoq_config, key 0); encodeConfig() writes it,
 * decodeConfig() reads it.
 */
export interface StoqConfig {
  /** UDP ports treated as QUIC (1..65535, at most 8, no duplicates). */
  quicPorts: number[];
  /** What to do with IPv4 frames: `drop` or `pass` to the kernel stack. */
  ipv4Policy: Ipv4Policy;
  /** Redirect QUIC to the AF_XDP socket of the receive queue when one is registered. */
  redirect: boolean;
  /** Put bpf_ktime_get_ns() as 8 bytes of XDP metadata in front of QUIC packets. */
  timestampMeta: boolean;
  /** Datagrams carrying an Initial with a smaller UDP payload are dropped (RFC 9000 §14.1). */
  initialMinSize: number;
  /**
   * Initials per second allowed per source /64 (the bucket's refill). 0 with a burst set: the
   * bucket never refills, each /64 gets `initialBurst` Initials until its bucket is evicted.
   * Accepted here because the program defines it and tests need its exact counts; an
   * application wants both or neither (the transport's updateXdpConfig() refuses either alone).
   */
  initialRate: number;
  /** Token-bucket size per /64; 0 = no limit, whatever `initialRate` says. */
  initialBurst: number;
  /**
   * QUIC with a longer UDP payload goes to the kernel instead of AF_XDP (0 = no limit).
   * Set it to the largest datagram the endpoint accepts: under generic XDP a local
   * sender's GSO run arrives as one oversized frame that only the kernel can split.
   */
  maxRedirectPayload: number;
  /**
   * The endpoint's bound IPv6 address; `'::'` = any destination. When set, QUIC-port
   * datagrams to another destination go to the kernel (`quic_passed`), which hands them
   * to whichever socket owns that address and port, or refuses them. Canonical RFC 5952
   * text after normalizeConfig; no scope id, and no IPv4-mapped address (an IPv6 packet
   * never carries one as its destination, so nothing would be redirected).
   */
  localAddress: string;
  /**
   * With localAddress '::': QUIC-port datagrams whose destination is not in stoq_host_addrs
   * (the host's own addresses, kept by user space) go to the kernel (`quic_passed`): the host
   * only forwards them (a router; pods or VMs behind a bridge or veth on the same port). Off
   * (the default), every destination is judged. Ignored while localAddress is set.
   */
  checkLocalAddrs: boolean;
}

/** What the program does while stoq_config has never been written. */
export const DEFAULT_CONFIG: Readonly<StoqConfig> = Object.freeze({
  quicPorts: [9292],
  ipv4Policy: 'drop',
  redirect: true,
  timestampMeta: false,
  initialMinSize: 1200,
  initialRate: 0,
  initialBurst: 0,
  maxRedirectPayload: 0,
  localAddress: '::',
  checkLocalAddrs: false,
});

const U32_MAX = 0xffff_ffff;

function invalid(field: string, message: string): never {
  throw new StoqCodecError('STOQ_ERR_INVALID_CONFIG', field, message);
}

function checkInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(field, `expected an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function checkLocalAddress(value: unknown): string {
  if (typeof value !== 'string' || value.includes('%') || !isIPv6(value)) {
    invalid('localAddress', `expected an IPv6 address without brackets or scope id, such as 'fd00::2' or '::' (any), got ${String(value)}`);
  }
  const bytes = ipv6ToBytes(value);
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    invalid('localAddress', `${value} is IPv4-mapped: no IPv6 packet is sent to one, so every datagram would go to the kernel`);
  }
  return ipv6FromBytes(bytes);
}

function checkBool(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') invalid(field, `expected a boolean, got ${String(value)}`);
  return value;
}

/**
 * Validates a partial config and fills the rest from DEFAULT_CONFIG; a field set to `undefined`
 * counts as not given.
 */
export function normalizeConfig(partial: Partial<StoqConfig> = {}): StoqConfig {
  // `{ redirect: undefined }` (e.g. an optional CLI flag passed through) must not erase the default.
  const given = Object.fromEntries(Object.entries(partial ?? {}).filter(([, value]) => value !== undefined));
  const merged: StoqConfig = { ...DEFAULT_CONFIG, ...given };
  if (!Array.isArray(merged.quicPorts)) invalid('quicPorts', 'expected an array of ports');
  if (merged.quicPorts.length > MAX_QUIC_PORTS) invalid('quicPorts', `at most ${MAX_QUIC_PORTS} ports`);
  const ports = merged.quicPorts.map((p, i) => checkInt(`quicPorts[${i}]`, p, 1, 65535));
  if (new Set(ports).size !== ports.length) invalid('quicPorts', 'duplicate port');
  // Own keys only: `in` would accept 'toString' and the other Object.prototype names.
  if (typeof merged.ipv4Policy !== 'string' || !Object.hasOwn(IPV4_POLICIES, merged.ipv4Policy)) invalid('ipv4Policy', `expected 'drop' or 'pass', got ${String(merged.ipv4Policy)}`);
  return {
    quicPorts: ports,
    ipv4Policy: merged.ipv4Policy,
    redirect: checkBool('redirect', merged.redirect),
    timestampMeta: checkBool('timestampMeta', merged.timestampMeta),
    initialMinSize: checkInt('initialMinSize', merged.initialMinSize, 0, 65535),
    initialRate: checkInt('initialRate', merged.initialRate, 0, U32_MAX),
    initialBurst: checkInt('initialBurst', merged.initialBurst, 0, U32_MAX),
    maxRedirectPayload: checkInt('maxRedirectPayload', merged.maxRedirectPayload, 0, 65535),
    localAddress: checkLocalAddress(merged.localAddress),
    checkLocalAddrs: checkBool('checkLocalAddrs', merged.checkLocalAddrs),
  };
}

/** The stoq_config value for key 0. Unset fields take their defaults. */
export function encodeConfig(partial?: Partial<StoqConfig>): Buffer {
  const cfg = normalizeConfig(partial);
  const buf = Buffer.alloc(L.size);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setUint32(L.offsets.magic, CONFIG_MAGIC, LITTLE_ENDIAN);
  cfg.quicPorts.forEach((port, i) => view.setUint16(L.offsets.quic_ports + 2 * i, port, LITTLE_ENDIAN));
  view.setUint8(L.offsets.ipv4_policy, IPV4_POLICIES[cfg.ipv4Policy]);
  view.setUint8(L.offsets.redirect, cfg.redirect ? 1 : 0);
  view.setUint8(L.offsets.timestamp_meta, cfg.timestampMeta ? 1 : 0);
  view.setUint8(L.offsets.check_local_addrs, cfg.checkLocalAddrs ? 1 : 0);
  view.setUint16(L.offsets.initial_min_size, cfg.initialMinSize, LITTLE_ENDIAN);
  view.setUint32(L.offsets.initial_rate, cfg.initialRate, LITTLE_ENDIAN);
  view.setUint32(L.offsets.initial_burst, cfg.initialBurst, LITTLE_ENDIAN);
  view.setUint16(L.offsets.max_redirect_payload, cfg.maxRedirectPayload, LITTLE_ENDIAN);
  ipv6ToBytes(cfg.localAddress).copy(buf, L.offsets.local_addr);
  return buf;
}

/** The stoq_host_addrs value stored for every address (the program only looks at presence). */
export const HOST_ADDR_VALUE: Buffer = Buffer.from([1]);

/**
 * The stoq_host_addrs key of an address: its 16 bytes in network order. Any IPv6 text
 * without a scope id (strip `%eth0` from a link-local address first: the map holds addresses).
 */
export function encodeHostAddrKey(address: string): Buffer {
  if (typeof address !== 'string' || address.includes('%') || !isIPv6(address)) {
    throw new StoqCodecError('STOQ_ERR_INVALID_ADDRESS', 'hostAddrs', `expected an IPv6 address without brackets or scope id, got ${String(address)}`);
  }
  return ipv6ToBytes(address);
}

/** The address of a stoq_host_addrs key, in canonical text. */
export function decodeHostAddrKey(key: Uint8Array): string {
  if (key.byteLength !== 16) throw new StoqCodecError('STOQ_ERR_INVALID_LAYOUT', 'stoq_host_addrs', `key is ${key.byteLength} bytes, expected 16`);
  return ipv6FromBytes(key);
}

/** Reads a stoq_config value; a never-written (no magic) entry reads as the defaults, as in the program. */
export function decodeConfig(buf: Uint8Array): StoqConfig {
  if (buf.byteLength < L.size) {
    throw new StoqCodecError('STOQ_ERR_INVALID_LAYOUT', 'stoq_config', `value is ${buf.byteLength} bytes, expected ${L.size}`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(L.offsets.magic, LITTLE_ENDIAN) !== CONFIG_MAGIC) return { ...DEFAULT_CONFIG, quicPorts: [...DEFAULT_CONFIG.quicPorts] };
  const quicPorts: number[] = [];
  for (let i = 0; i < 8; i++) {
    const port = view.getUint16(L.offsets.quic_ports + 2 * i, LITTLE_ENDIAN);
    if (port !== 0) quicPorts.push(port);
  }
  return {
    quicPorts,
    ipv4Policy: view.getUint8(L.offsets.ipv4_policy) === IPV4_POLICIES.pass ? 'pass' : 'drop',
    redirect: view.getUint8(L.offsets.redirect) !== 0,
    timestampMeta: view.getUint8(L.offsets.timestamp_meta) !== 0,
    initialMinSize: view.getUint16(L.offsets.initial_min_size, LITTLE_ENDIAN),
    initialRate: view.getUint32(L.offsets.initial_rate, LITTLE_ENDIAN),
    initialBurst: view.getUint32(L.offsets.initial_burst, LITTLE_ENDIAN),
    maxRedirectPayload: view.getUint16(L.offsets.max_redirect_payload, LITTLE_ENDIAN),
    localAddress: ipv6FromBytes(buf.subarray(L.offsets.local_addr, L.offsets.local_addr + 16)),
    checkLocalAddrs: view.getUint8(L.offsets.check_local_addrs) !== 0,
  };
}
