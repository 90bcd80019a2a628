// SPDX-License-Identifier: Apache-2.0
// @stoq/loader: load, verify, attach and inspect eBPF programs from Node (libbpf).
export { BpfObject } from './object.js';
export { BpfProgram, XdpAction, type XdpActionName, type TestRunOptions, type TestRunResult, type AttachXdpOptions } from './program.js';
export { XdpLink, type XdpMode } from './link.js';
export { BpfIterator } from './iterator.js';
export { BpfMap, type UpdateFlag } from './map.js';
export { BpfError, type BpfErrorCode, type BpfErrorOptions } from './errors.js';
export { probe, MIN_KERNEL, type ProbeReport, type ProbeOptions, type Check, type InterfaceProbe } from './probe.js';
export { effectiveCapabilities, missingForAfXdp, missingForXdp, CAPABILITY_BITS, GRANT_HINT, type CapabilityName } from './capabilities.js';
export { ensureBpffs, bpffsMountPoint, DEFAULT_BPFFS, type BpffsStatus } from './bpffs.js';
export { resolveInterface, type InterfaceRef } from './interfaces.js';

import { native } from './binding.js';
/** Number of possible CPUs: the length of every per-CPU map value array. */
export function possibleCpus(): number {
  return native.possibleCpus();
}
