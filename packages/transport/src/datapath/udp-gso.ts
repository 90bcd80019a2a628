// SPDX-License-Identifier: Apache-2.0
// UDP GSO for the dgram socket through @stoq/udp, an optional native dependency
// imported lazily like the XDP packages: where it cannot load (another OS, no binary)
// the datapath sends one datagram per syscall and says why.
import type * as dgram from 'node:dgram';
import { describeError, tryImport } from './xdp/native-modules.js';

type UdpModule = typeof import('@stoq/udp');

/** Whether a dgram socket sends with UDP GSO, and if not, why. */
export interface GsoState {
  /** Segment size set on the socket (bytes); 0 when GSO is off. */
  readonly segmentSize: number;
  /** Most datagrams one GSO send may carry (1 when off). */
  readonly maxSegments: number;
  /** Why GSO is off (absent when on). */
  readonly reason?: string;
}

/** GSO switch for one socket; `off()` is synchronous so no further send is coalesced. */
export interface UdpGso {
  readonly state: GsoState;
  off(reason: string): void;
}

let cached: Promise<UdpModule | string> | null = null;

function loadUdpModule(): Promise<UdpModule | string> {
  cached ??= tryImport<UdpModule>('@stoq/udp').then((r) => ('module' in r ? r.module : r.reason));
  return cached;
}

const off = (reason: string): GsoState => ({ segmentSize: 0, maxSegments: 1, reason });

/** Sets UDP_SEGMENT on a bound socket. Never throws: a failure becomes the reason and sends stay one per datagram. */
export async function enableUdpGso(socket: dgram.Socket, segmentSize: number): Promise<UdpGso> {
  const udp = await loadUdpModule();
  let state: GsoState;
  if (segmentSize <= 0) {
    state = off('udpGso disabled in the configuration');
  } else if (typeof udp === 'string') {
    state = off(udp);
  } else {
    try {
      udp.setUdpSegmentSize(socket, segmentSize);
      state = { segmentSize, maxSegments: udp.UDP_MAX_SEGMENTS };
    } catch (error) {
      state = off(describeError(error));
    }
  }
  return {
    get state() {
      return state;
    },
    off(reason: string) {
      if (state.segmentSize === 0 || typeof udp === 'string') return;
      state = off(reason);
      try {
        udp.setUdpSegmentSize(socket, 0);
      } catch {
        // The socket is closed: nothing is sent on it any more.
      }
    },
  };
}
