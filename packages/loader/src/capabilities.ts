// SPDX-License-Identifier: Apache-2.0
// Linux capability numbers STOQ cares about and their names.
import { native } from './binding.js';

/** Bit numbers (linux/capability.h) of the capabilities the fast path needs. */
export const CAPABILITY_BITS = {
  /** Attach XDP programs, bind AF_XDP sockets, configure interfaces. */
  CAP_NET_ADMIN: 12,
  /** Create AF_XDP sockets. */
  CAP_NET_RAW: 13,
  /** Everything; also stands in for CAP_BPF and CAP_PERFMON (pre-5.8 kernels). */
  CAP_SYS_ADMIN: 21,
  /** Pointer arithmetic and other "trusted" program features (with CAP_BPF), since Linux 5.8. */
  CAP_PERFMON: 38,
  /** Load programs and create maps, since Linux 5.8. */
  CAP_BPF: 39,
} as const;
/** One of the capabilities in CAPABILITY_BITS, e.g. `'CAP_BPF'`. */
export type CapabilityName = keyof typeof CAPABILITY_BITS;

/** Which of CAPABILITY_BITS this process holds in its effective set (capget). */
export function effectiveCapabilities(): Set<CapabilityName> {
  const bits = native.effectiveCapabilities();
  const held = new Set<CapabilityName>();
  for (const [name, bit] of Object.entries(CAPABILITY_BITS) as Array<[CapabilityName, number]>) {
    if ((bits >> BigInt(bit)) & 1n) held.add(name);
  }
  return held;
}

/**
 * Capabilities missing for loading BPF programs and attaching XDP. CAP_SYS_ADMIN
 * stands in for CAP_BPF and CAP_PERFMON (pre-5.8 semantics, still honoured).
 */
export function missingForXdp(held = effectiveCapabilities()): CapabilityName[] {
  const admin = held.has('CAP_SYS_ADMIN');
  const missing: CapabilityName[] = [];
  if (!held.has('CAP_BPF') && !admin) missing.push('CAP_BPF');
  if (!held.has('CAP_PERFMON') && !admin) missing.push('CAP_PERFMON');
  if (!held.has('CAP_NET_ADMIN')) missing.push('CAP_NET_ADMIN');
  return missing;
}

/** AF_XDP sockets: the kernel checks CAP_NET_RAW at socket() and CAP_NET_ADMIN at bind(). */
export function missingForAfXdp(held = effectiveCapabilities()): CapabilityName[] {
  return (['CAP_NET_RAW', 'CAP_NET_ADMIN'] as const).filter((cap) => !held.has(cap));
}

/** The least privilege for the whole fast path (XDP + AF_XDP), as one command. */
export const GRANT_HINT =
  'run as root, or grant the capabilities: sudo setcap cap_bpf,cap_net_admin,cap_perfmon,cap_net_raw+ep "$(command -v node)"';
