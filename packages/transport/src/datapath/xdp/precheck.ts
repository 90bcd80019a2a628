// SPDX-License-Identifier: Apache-2.0
// What the fallback ladder refuses on an interface before attaching anything. Shared
// with `stoq doctor`, so the probe and the transport cannot disagree.
import { release } from 'node:os';
import { groEnabled, interfaceExists, rxQueueCount } from './interface-info.js';
import { MAX_QUEUES } from './xsk-set.js';

/**
 * stoq_xdp updates shared map values with BPF atomics (compare-and-swap; @stoq/bpf-programs
 * builds it with -mcpu=v3), which the kernel has from 5.12: older ones reject the program
 * with a verifier error, so say why first.
 */
export const STOQ_XDP_MIN_KERNEL: readonly [number, number] = [5, 12];

/** A reason stoq_xdp cannot load on kernel `kernelRelease` (e.g. '5.10.0-21-amd64'), or null. */
export function kernelRefusal(kernelRelease: string = release()): string | null {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return null; // unknown format: let the load decide
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const [needMajor, needMinor] = STOQ_XDP_MIN_KERNEL;
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return null;
  return `stoq_xdp needs Linux >= ${needMajor}.${needMinor} (BPF atomics); this kernel is ${kernelRelease}`;
}

/** Why the XDP fallback ladder would refuse rungs on an interface, read without attaching (null: no objection). */
export interface XdpInterfaceRefusals {
  /** A reason that fails every rung (kernel too old for stoq_xdp, no such interface, too many RX queues). */
  all: string | null;
  /** A reason that fails the generic (skb) XDP rung only, with its fix (GRO on). */
  generic: string | null;
}

/**
 * The checks the XDP fallback ladder applies to `ifname` before trying a rung (in the
 * caller's network namespace). Native support itself is only known by attaching.
 */
export function xdpInterfaceRefusals(ifname: string, kernelRelease: string = release()): XdpInterfaceRefusals {
  const kernel = kernelRefusal(kernelRelease);
  if (kernel) return { all: kernel, generic: null };
  if (!interfaceExists(ifname)) return { all: `no interface ${ifname} in this network namespace (see ip link)`, generic: null };
  const queues = rxQueueCount(ifname);
  if (queues > MAX_QUEUES) return { all: `${ifname} has ${queues} RX queues; stoq_xsks holds ${MAX_QUEUES}`, generic: null };
  const gro = groEnabled(ifname) === true;
  return {
    all: null,
    generic: gro ? `GRO is on for ${ifname}: generic XDP would see merged QUIC datagrams (turn it off: ethtool -K ${ifname} gro off)` : null,
  };
}
