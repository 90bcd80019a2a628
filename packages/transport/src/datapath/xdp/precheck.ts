// SPDX-License-Identifier: Apache-2.0
// What the fallback ladder refuses on an interface before attaching anything. Shared
// with `stoq doctor`, so the probe and the transport cannot disagree.
import { groEnabled, interfaceExists, rxQueueCount } from './interface-info.js';
import { MAX_QUEUES } from './xsk-set.js';

/** Why the XDP fallback ladder would refuse rungs on an interface, read without attaching (null: no objection). */
export interface XdpInterfaceRefusals {
  /** A reason that fails every rung (no such interface, too many RX queues). */
  all: string | null;
  /** A reason that fails the generic (skb) XDP rung only, with its fix (GRO on). */
  generic: string | null;
}

/**
 * The checks the XDP fallback ladder applies to `ifname` before trying a rung (in the
 * caller's network namespace). Native support itself is only known by attaching.
 */
export function xdpInterfaceRefusals(ifname: string): XdpInterfaceRefusals {
  if (!interfaceExists(ifname)) return { all: `no interface ${ifname} in this network namespace (see ip link)`, generic: null };
  const queues = rxQueueCount(ifname);
  if (queues > MAX_QUEUES) return { all: `${ifname} has ${queues} RX queues; stoq_xsks holds ${MAX_QUEUES}`, generic: null };
  const gro = groEnabled(ifname) === true;
  return {
    all: null,
    generic: gro ? `GRO is on for ${ifname}: generic XDP would see merged QUIC datagrams (turn it off: ethtool -K ${ifname} gro off)` : null,
  };
}
