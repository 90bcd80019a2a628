// SPDX-License-Identifier: Apache-2.0
/** Frames for each stoq_xdp verdict the tests drive, and the readers for the real object's maps. */
import { CONNTRACK_STATES, CT_VALUE_LAYOUT, decodeStats, SIZE_BUCKET_LIMITS } from '@stoq/bpf-programs';
import { conntrackSource, xdpStatsSource } from '../../src/index.js';
import { arp, fd00, ipv4Udp, quicPayload, tcp6, udp6 } from './frames.js';
import type { StoqXdp } from './stoq-xdp.js';

export const QUIC_PORT = 9292;

/** One frame per verdict counter; each frame's expected counter is its key. */
export const VERDICT_FRAMES = {
  non_ip_passed: arp(),
  ipv4_dropped: ipv4Udp(),
  ipv6_non_udp_passed: tcp6(fd00(0x100)),
  udp_non_quic_passed: udp6(fd00(0x101), 40000, 53, Buffer.alloc(32)),
  initial_too_small_dropped: udp6(fd00(0x102), 40000, QUIC_PORT, quicPayload('initial', 100)),
  quic_passed: udp6(fd00(0x103), 40000, QUIC_PORT, quicPayload('short', 200)),
} as const;

/** A QUIC packet of `kind` from peer fd00::<peer>:<port> to our QUIC port. */
export function quicFrame(kind: 'initial' | 'handshake' | 'short', peer: number, port = 40000): Buffer {
  return udp6(fd00(peer), port, QUIC_PORT, quicPayload(kind, kind === 'initial' ? 1200 : 300));
}

export const statsSourceOf = (prog: StoqXdp) =>
  xdpStatsSource({ map: prog.statsMap, decode: decodeStats, sizeBucketLimits: SIZE_BUCKET_LIMITS });

const STATE_NAMES = new Map(Object.entries(CONNTRACK_STATES).map(([name, value]) => [value as number, name]));

/** Reads only the state field, by the layout @stoq/bpf-programs publishes: the state is all the collector counts. */
export function conntrackStateOf(_key: Buffer, value: Buffer): { state: string } {
  const raw = value.readUInt32LE(CT_VALUE_LAYOUT.offsets.state);
  const state = STATE_NAMES.get(raw);
  if (state === undefined) throw new RangeError(`stoq_conntrack value has unknown state ${raw}`);
  return { state };
}

export const conntrackSourceOf = (prog: StoqXdp) => conntrackSource({ map: prog.conntrackMap, decode: conntrackStateOf });
