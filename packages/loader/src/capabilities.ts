// SPDX-License-Identifier: Apache-2.0
// Linux capability numbers STOQ cares about and their names.
import { native } from './binding.js';

export const CAPABILITY_BITS = { CAP_NET_ADMIN: 12, CAP_NET_RAW: 13, CAP_SYS_ADMIN: 21, CAP_PERFMON: 38, CAP_BPF: 39 } as const;
export type CapabilityName = keyof typeof CAPABILITY_BITS;

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
