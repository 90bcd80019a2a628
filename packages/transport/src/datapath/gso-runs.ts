// SPDX-License-Identifier: Apache-2.0
// Groups a send batch into runs the kernel can split with UDP GSO: consecutive
// datagrams to one destination, every one but the last exactly `segmentSize` bytes,
// the last at most that. One run is one sendmsg(); the kernel cuts it back into the
// original datagrams at `segmentSize` boundaries, so a shorter datagram can only end a run.
import type { OutgoingDatagram } from './datapath.js';

/** Largest UDP payload of one sendmsg() over IPv6 (64 KiB minus the UDP header, RFC 8200 jumbograms aside). */
export const MAX_GSO_RUN_BYTES = 65_527;

/**
 * Returns the end index (exclusive) of the run that starts at `start`: at least
 * `start + 1`, so a datagram that cannot be coalesced is a run of its own.
 */
export function gsoRunEnd(batch: readonly OutgoingDatagram[], start: number, segmentSize: number, maxSegments: number): number {
  const first = batch[start] as OutgoingDatagram;
  // Only a full-size datagram can be followed by another one in the same run.
  if (segmentSize <= 0 || first.data.byteLength !== segmentSize) return start + 1;
  const { address, port } = first.to;
  let bytes = segmentSize;
  let end = start + 1;
  while (end < batch.length && end - start < maxSegments) {
    const next = batch[end] as OutgoingDatagram;
    const size = next.data.byteLength;
    if (next.to.port !== port || next.to.address !== address) break;
    if (size > segmentSize || size === 0 || bytes + size > MAX_GSO_RUN_BYTES) break;
    bytes += size;
    end++;
    if (size < segmentSize) break; // a short datagram ends the run
  }
  return end;
}
