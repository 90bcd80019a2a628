// SPDX-License-Identifier: Apache-2.0
// probe(): what this process on this kernel can do with BPF and XDP, each missing
// piece with a one-line fix. Every check is done for real (create a map, open an
// AF_XDP socket, attach a pass-through program), not guessed from versions.
import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { release } from 'node:os';
import { native, type NativeOutcome } from './binding.js';
import { bpffsMountPoint } from './bpffs.js';
import { effectiveCapabilities, GRANT_HINT, missingForAfXdp, missingForXdp, type CapabilityName } from './capabilities.js';
import { errnoName, fromNative, optionsObject } from './errors.js';
import { resolveInterface } from './interfaces.js';

/** bpf_link-based XDP attach needs 5.9; CAP_BPF/CAP_PERFMON split came in 5.8. */
export const MIN_KERNEL = [5, 9] as const;

/** The outcome of one probe check. */
export interface Check {
  /** Whether the check passed. */
  ok: boolean;
  /** errno name when a syscall failed. */
  errno?: string;
  /** Why it is not ok, and the fix. */
  hint?: string;
}

/** Which XDP attach modes work on one interface (`ProbeOptions.ifname`). */
export interface InterfaceProbe {
  /** The interface probed. */
  ifname: string;
  /** Its index. */
  ifindex: number;
  /** Attaching a pass-through program in native (driver) mode; EBUSY if a program is already attached. */
  native: Check;
  /** Attaching a pass-through program in generic (skb) mode; EBUSY if a program is already attached. */
  generic: Check;
}

/** What probe() found; every failed check carries a hint with the fix (an unknown JIT state excepted). */
export interface ProbeReport {
  /** `uname -r`. */
  kernelRelease: string;
  /** Whether the kernel is at least MIN_KERNEL (5.9). */
  kernelRecentEnough: Check;
  /** Whether bpf() accepts creating a map from this process. */
  bpfSyscall: Check;
  /** Whether the kernel exposes its BTF (needed by CO-RE programs). */
  btf: Check & {
    /** Where the kernel BTF is expected: /sys/kernel/btf/vmlinux. */
    path: string;
  };
  /** Whether a bpffs is mounted (pinning needs one). */
  bpffs: Check & {
    /** Where it is mounted, or null. */
    mountPoint: string | null;
  };
  /** The capabilities this process holds, by name and as flags. */
  capabilities: {
    /** Every capability of CAPABILITY_BITS in the effective set. */
    effective: CapabilityName[];
    /** CAP_BPF held. */
    bpf: boolean;
    /** CAP_NET_ADMIN held. */
    netAdmin: boolean;
    /** CAP_NET_RAW held. */
    netRaw: boolean;
    /** CAP_PERFMON held. */
    perfmon: boolean;
    /** CAP_SYS_ADMIN held. */
    sysAdmin: boolean;
    /** Needed to load BPF programs and attach XDP. */
    missingForXdp: CapabilityName[];
    /** Needed to open AF_XDP sockets. */
    missingForAfXdp: CapabilityName[];
  };
  /**
   * Whether the BPF JIT is enabled (net.core.bpf_jit_enable > 0). Inside a network namespace
   * other than the initial one the sysctl does not exist: the state is unknown, reported as
   * `{ ok: false, value: null, errno: 'ENOENT' }` without a hint.
   */
  jit: Check & {
    /** The sysctl's value, or null if it could not be read. */
    value: number | null;
  };
  /** Whether this process can open an AF_XDP socket. */
  afXdp: Check;
  /** Whether BPF programs can be built here (not needed to load the prebuilt objects). */
  toolchain: {
    /** Path of the clang found on PATH, or null. */
    clang: string | null;
    /** Whether libbpf's headers are installed (/usr/include/bpf/bpf_helpers.h). */
    libbpfHeaders: boolean;
    /** How to install what is missing. */
    hint?: string;
  };
  /** Attach modes on `ProbeOptions.ifname`, when one was given. */
  interface?: InterfaceProbe;
  /** Load + attach + AF_XDP all possible (on `interface` in some mode, when given). */
  fastPathPossible: boolean;
  /** Every failed check's hint, in order (an unknown JIT state has none). */
  hints: string[];
}

/** Options of probe(). */
export interface ProbeOptions {
  /** Also try attaching a pass-through XDP program in native and generic mode (detached at once). */
  ifname?: string;
}

const BTF_PATH = '/sys/kernel/btf/vmlinux';

/**
 * Checks for real what this process on this kernel can do with BPF, XDP and AF_XDP
 * (creates a map, opens an AF_XDP socket, with `ifname` attaches and detaches a
 * pass-through program). Never throws for a failed check; throws STOQ_ERR_NO_SUCH_DEVICE
 * if `ifname` does not exist, and a BpfError if reading the interface's XDP state fails.
 */
export function probe(probeOptions: ProbeOptions = {}): ProbeReport {
  const options = optionsObject('probe', probeOptions);
  const held = effectiveCapabilities();
  const missing = missingForXdp(held);
  const missingSocket = missingForAfXdp(held);
  const allMissing = [...new Set([...missing, ...missingSocket])];
  const capHint = allMissing.length ? `missing ${allMissing.join(', ')}: ${GRANT_HINT}` : undefined;

  const kernelRelease = release();
  const kernelRecentEnough = kernelCheck(kernelRelease);
  const bpfSyscall = outcome(native.probeBpfSyscall(), capHint ?? 'bpf() is refused: check kernel.unprivileged_bpf_disabled and seccomp/LSM policy');
  const btf: ProbeReport['btf'] = existsSync(BTF_PATH)
    ? { ok: true, path: BTF_PATH }
    : { ok: false, path: BTF_PATH, hint: 'kernel built without CONFIG_DEBUG_INFO_BTF: CO-RE programs cannot relocate; use a distribution kernel with BTF' };
  const mountPoint = bpffsMountPoint();
  const bpffs: ProbeReport['bpffs'] = mountPoint
    ? { ok: true, mountPoint }
    : { ok: false, mountPoint: null, hint: 'bpffs not mounted (normal inside `ip netns exec`): pinning mounts it when allowed, or run `mount -t bpf bpf /sys/fs/bpf`' };
  const jit = jitCheck();
  const afXdp = outcome(
    native.probeAfXdp(),
    missingSocket.length
      ? `AF_XDP sockets need ${missingSocket.join(' and ')} (the kernel checks CAP_NET_RAW at socket())`
      : 'AF_XDP sockets unavailable: the kernel needs CONFIG_XDP_SOCKETS=y',
  );
  const toolchain = toolchainCheck();

  const report: ProbeReport = {
    kernelRelease,
    kernelRecentEnough,
    bpfSyscall,
    btf,
    bpffs,
    capabilities: {
      effective: [...held],
      bpf: held.has('CAP_BPF'),
      netAdmin: held.has('CAP_NET_ADMIN'),
      netRaw: held.has('CAP_NET_RAW'),
      perfmon: held.has('CAP_PERFMON'),
      sysAdmin: held.has('CAP_SYS_ADMIN'),
      missingForXdp: missing,
      missingForAfXdp: missingSocket,
    },
    jit,
    afXdp,
    toolchain,
    fastPathPossible: false,
    hints: [],
  };
  if (options.ifname !== undefined) report.interface = interfaceCheck(options.ifname);

  const attachable = report.interface ? report.interface.native.ok || report.interface.generic.ok : missing.length === 0;
  report.fastPathPossible = kernelRecentEnough.ok && bpfSyscall.ok && afXdp.ok && attachable;
  report.hints = [
    kernelRecentEnough.hint,
    capHint,
    bpfSyscall.ok ? undefined : bpfSyscall.hint,
    btf.hint,
    bpffs.hint,
    jit.hint,
    afXdp.hint,
    toolchain.hint,
    report.interface?.native.hint,
    report.interface?.generic.hint,
  ].filter((hint, i, all): hint is string => hint !== undefined && all.indexOf(hint) === i);
  return report;
}

function outcome(result: NativeOutcome, hint: string): Check {
  return result.ok ? { ok: true } : { ok: false, errno: errnoName(result.errno), hint };
}

function kernelCheck(kernelRelease: string): Check {
  const [major = 0, minor = 0] = kernelRelease.split(/[.-]/).map(Number);
  const ok = major > MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor >= MIN_KERNEL[1]);
  return ok ? { ok } : { ok, hint: `kernel ${kernelRelease} is too old: XDP through bpf_link needs ${MIN_KERNEL.join('.')}+` };
}

function jitCheck(): ProbeReport['jit'] {
  try {
    const value = Number(readFileSync('/proc/sys/net/core/bpf_jit_enable', 'utf8').trim());
    return value > 0 ? { ok: true, value } : { ok: false, value, hint: 'BPF JIT is off (interpreted programs are slow): sysctl -w net.core.bpf_jit_enable=1' };
  } catch (error) {
    // The sysctl exists only in the initial network namespace: elsewhere the state is unknown, not broken.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && existsSync('/proc/sys/net/core')) return { ok: false, value: null, errno: 'ENOENT' };
    return { ok: false, value: null, hint: '/proc/sys/net/core/bpf_jit_enable unreadable: is /proc mounted?' };
  }
}

function toolchainCheck(): ProbeReport['toolchain'] {
  const clang = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'clang')).find(isExecutable) ?? null;
  const libbpfHeaders = existsSync('/usr/include/bpf/bpf_helpers.h');
  const fix = 'to build BPF programs: apt-get install clang llvm libbpf-dev (prebuilt objects load without them)';
  return clang && libbpfHeaders ? { clang, libbpfHeaders } : { clang, libbpfHeaders, hint: fix };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function interfaceCheck(ifname: string): InterfaceProbe {
  const { ifindex } = resolveInterface(ifname, 'probe');
  let present;
  try {
    present = native.xdpQuery(ifindex);
  } catch (error) {
    throw fromNative(error, 'STOQ_ERR_XDP_ATTACH', { ifname });
  }
  const busyId = present.driverProgId || present.skbProgId;
  if (busyId) {
    const busy: Check = { ok: false, errno: 'EBUSY', hint: `${ifname} already carries XDP program id ${busyId}: \`ip link set dev ${ifname} xdp off\` or share it through libxdp's dispatcher` };
    return { ifname, ifindex, native: busy, generic: busy };
  }
  return {
    ifname,
    ifindex,
    native: outcome(native.probeXdpMode(ifindex, 1 << 2), `${ifname}: no native XDP in this driver: use generic mode (slower, same semantics) or an XDP-capable NIC`),
    generic: outcome(native.probeXdpMode(ifindex, 1 << 1), `${ifname}: generic XDP attach failed (capabilities? see above)`),
  };
}
