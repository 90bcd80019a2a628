// SPDX-License-Identifier: Apache-2.0
// stoq_conntrack codec. Userspace writes `closing` (encodeConntrackValue) when a
// connection closes and deletes the entry after draining; the program never
// overwrites `closing`.
import { StoqCodecError } from './errors.js';
import { ipv6FromBytes, ipv6ToBytes } from './ipv6.js';
import { CONNTRACK_STATES, CT_KEY_LAYOUT as K, CT_VALUE_LAYOUT as V, LITTLE_ENDIAN, type ConntrackState } from './layout.js';

/** A stoq_conntrack key: one QUIC peer (address and port) talking to one local port. */
export interface ConntrackKey {
  /** The peer's IPv6 address, in RFC 5952 text form when decoded. */
  peerAddress: string;
  /** The peer's UDP port. */
  peerPort: number;
  /** Our UDP port. */
  localPort: number;
}

/** A stoq_conntrack value: the flow's state and counters. */
export interface ConntrackValue {
  /** How far the flow has got (the program only moves it forward; `closing` is written by user space). */
  state: ConntrackState;
  /** bpf_ktime_get_ns() (CLOCK_MONOTONIC, ns) of the first packet. */
  firstSeenNs: bigint;
  /** bpf_ktime_get_ns() (CLOCK_MONOTONIC, ns) of the latest packet. */
  lastSeenNs: bigint;
  /** Packets seen from the peer. */
  packets: number;
  /** Frame bytes seen from the peer. */
  bytes: number;
}

/** One decoded stoq_conntrack entry: key and value fields together. */
export type ConntrackEntry = ConntrackKey & ConntrackValue;

const STATE_BY_VALUE = new Map<number, ConntrackState>(
  Object.entries(CONNTRACK_STATES).map(([name, value]) => [value, name as ConntrackState]),
);

function viewOf(buf: Uint8Array, layout: { name: string; size: number }): DataView {
  if (buf.byteLength < layout.size) {
    throw new StoqCodecError('STOQ_ERR_INVALID_LAYOUT', layout.name, `${buf.byteLength} bytes, expected ${layout.size}`);
  }
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function checkPort(field: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new StoqCodecError('STOQ_ERR_INVALID_CONFIG', field, `expected a port in 0..65535, got ${port}`);
  }
}

/**
 * The 20-byte stoq_ct_key for a peer. Throws StoqCodecError for an invalid address
 * (STOQ_ERR_INVALID_ADDRESS) or port (STOQ_ERR_INVALID_CONFIG).
 */
export function encodeConntrackKey({ peerAddress, peerPort, localPort }: ConntrackKey): Buffer {
  checkPort('peerPort', peerPort);
  checkPort('localPort', localPort);
  const buf = Buffer.alloc(K.size);
  ipv6ToBytes(peerAddress).copy(buf, K.offsets.peer_addr);
  const view = viewOf(buf, K);
  view.setUint16(K.offsets.peer_port, peerPort, LITTLE_ENDIAN);
  view.setUint16(K.offsets.local_port, localPort, LITTLE_ENDIAN);
  return buf;
}

/** Decodes a stoq_ct_key. Throws StoqCodecError STOQ_ERR_INVALID_LAYOUT if it is shorter than 20 bytes. */
export function decodeConntrackKey(key: Uint8Array): ConntrackKey {
  const view = viewOf(key, K);
  return {
    peerAddress: ipv6FromBytes(key.subarray(K.offsets.peer_addr, K.offsets.peer_addr + 16)),
    peerPort: view.getUint16(K.offsets.peer_port, LITTLE_ENDIAN),
    localPort: view.getUint16(K.offsets.local_port, LITTLE_ENDIAN),
  };
}

/**
 * The 40-byte stoq_ct_value, e.g. to mark a flow `closing`. Throws StoqCodecError
 * STOQ_ERR_INVALID_CONFIG for an unknown state.
 */
export function encodeConntrackValue(value: ConntrackValue): Buffer {
  // Own keys only: indexing would find 'toString' and the other Object.prototype names.
  const known = typeof value.state === 'string' && Object.hasOwn(CONNTRACK_STATES, value.state);
  const state = known ? CONNTRACK_STATES[value.state] : undefined;
  if (state === undefined) throw new StoqCodecError('STOQ_ERR_INVALID_CONFIG', 'state', `unknown state ${String(value.state)}`);
  const buf = Buffer.alloc(V.size);
  const view = viewOf(buf, V);
  view.setUint32(V.offsets.state, state, LITTLE_ENDIAN);
  view.setBigUint64(V.offsets.first_seen_ns, value.firstSeenNs, LITTLE_ENDIAN);
  view.setBigUint64(V.offsets.last_seen_ns, value.lastSeenNs, LITTLE_ENDIAN);
  view.setBigUint64(V.offsets.packets, BigInt(value.packets), LITTLE_ENDIAN);
  view.setBigUint64(V.offsets.bytes, BigInt(value.bytes), LITTLE_ENDIAN);
  return buf;
}

/**
 * Decodes a stoq_ct_value. Throws StoqCodecError STOQ_ERR_INVALID_LAYOUT if it is shorter than 40
 * bytes or its state is unknown.
 */
export function decodeConntrackValue(value: Uint8Array): ConntrackValue {
  const view = viewOf(value, V);
  const raw = view.getUint32(V.offsets.state, LITTLE_ENDIAN);
  const state = STATE_BY_VALUE.get(raw);
  if (!state) throw new StoqCodecError('STOQ_ERR_INVALID_LAYOUT', 'stoq_ct_value.state', `unknown state ${raw}`);
  return {
    state,
    firstSeenNs: view.getBigUint64(V.offsets.first_seen_ns, LITTLE_ENDIAN),
    lastSeenNs: view.getBigUint64(V.offsets.last_seen_ns, LITTLE_ENDIAN),
    packets: Number(view.getBigUint64(V.offsets.packets, LITTLE_ENDIAN)),
    bytes: Number(view.getBigUint64(V.offsets.bytes, LITTLE_ENDIAN)),
  };
}

/**
 * Decodes a key and its value into one entry (see decodeConntrackKey and decodeConntrackValue for
 * errors).
 */
export function decodeConntrack(key: Uint8Array, value: Uint8Array): ConntrackEntry {
  return { ...decodeConntrackKey(key), ...decodeConntrackValue(value) };
}
