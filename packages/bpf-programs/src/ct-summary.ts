// SPDX-License-Identifier: Apache-2.0
// Decoder for struct stoq_ct_summary, the one record the stoq_ct_states iterator
// writes per pass over stoq_conntrack.
import { StoqCodecError } from './errors.js';
import { CONNTRACK_STATES, CT_SUMMARY_LAYOUT as S, LITTLE_ENDIAN, type ConntrackState } from './layout.js';

/** What one pass of the stoq_ct_states iterator counted over stoq_conntrack. */
export interface ConntrackSummary {
  /** Entries in the map. */
  entries: number;
  /** Entries per conntrack state. */
  byState: Record<ConntrackState, number>;
  /** Entries whose state is outside enum stoq_ct_state (0 unless something wrote garbage). */
  unknownState: number;
  /** Packets and bytes summed over the entries present now (an evicted entry leaves the sum). */
  packets: number;
  /** Frame bytes summed over the entries present now. */
  bytes: number;
}

/** Decodes the iterator's output: exactly one record (an empty map still yields one, all zero). */
export function decodeConntrackSummary(record: Uint8Array): ConntrackSummary {
  if (record.byteLength !== S.size) {
    throw new StoqCodecError('STOQ_ERR_INVALID_LAYOUT', S.name, `${record.byteLength} bytes, expected exactly one ${S.size}-byte record`);
  }
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const u64 = (offset: number) => Number(view.getBigUint64(offset, LITTLE_ENDIAN));
  const slot = (state: number) => u64(S.offsets.by_state + state * 8);
  const byState = Object.fromEntries(
    Object.entries(CONNTRACK_STATES).map(([name, value]) => [name, slot(value)]),
  ) as Record<ConntrackState, number>;
  return { entries: u64(S.offsets.entries), byState, unknownState: slot(0), packets: u64(S.offsets.packets), bytes: u64(S.offsets.bytes) };
}
