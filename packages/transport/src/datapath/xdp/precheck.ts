// SPDX-License-Identifier: Apache-2.0
// What the fallback ladder refuses on an interface before attaching anything. Shared
// with `stoq doctor`, so the probe and the transport cannot disagree.
import { release } from 'node:os';
import { ARPHRD_ETHER, ARPHRD_LOOPBACK, groEnabled, interfaceExists, interfaceType, rxQueueCount } from './interface-info.js';
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
  /** A reason that fails every rung (kernel too old for stoq_xdp, no such interface, not Ethernet, too many RX queues). */
  all: string | null;
  /** A reason that fails the generic (skb) XDP rung only, with its fix (GRO on, or its state unknown). */
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
  const type = interfaceType(ifname);
  if (type !== ARPHRD_ETHER && type !== ARPHRD_LOOPBACK) {
    return {
      all: `${ifname} is not an Ethernet interface (link type ${type}${type === 65534 ? ': an L3 device such as tun or WireGuard' : ''}): stoq_xdp and AF_XDP frame Ethernet only`,
      generic: null,
    };
  }
  const queues = rxQueueCount(ifname);
  if (queues > MAX_QUEUES) return { all: `${ifname} has ${queues} RX queues; stoq_xsks holds ${MAX_QUEUES}`, generic: null };
  return { all: null, generic: groRefusal(ifname, groEnabled(ifname)) };
}

/**
 * Generic XDP runs after GRO: with GRO on it sees merged QUIC datagrams. An unknown
 * state (no ethtool found, or it said nothing) refuses too, saying how to check.
 */
export function groRefusal(ifname: string, gro: boolean | null): string | null {
  if (gro === false) return null;
  if (gro === true) return `GRO is on for ${ifname}: generic XDP would see merged QUIC datagrams (turn it off: ethtool -K ${ifname} gro off)`;
  return `the GRO state of ${ifname} is unknown (no ethtool found in PATH, /usr/sbin, /sbin or /usr/local/sbin, or it did not report generic-receive-offload): generic XDP is only safe with GRO off (install ethtool, check with ethtool -k ${ifname}, turn it off with ethtool -K ${ifname} gro off)`;
}
