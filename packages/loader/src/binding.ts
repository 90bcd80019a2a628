// SPDX-License-Identifier: Apache-2.0
// The one door to the native addon: loads the .node file and declares its surface.
// Everything here is mechanics on fds; validation and error policy live in TS.
import { loadNativeAddon } from '@stoq/native-support';

export interface NativeProgramInfo {
  name: string;
  section: string;
  fd: number;
  type: string;
}

export interface NativeMapInfo {
  name: string;
  fd: number;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

export interface NativeObjectHandle {
  /** Verifies and loads every program and creates every map (off the main thread). */
  load(): Promise<void>;
  programs(): NativeProgramInfo[];
  maps(): NativeMapInfo[];
  /** Closes every fd the object owns. Idempotent. */
  close(): void;
}

export interface NativeOutcome {
  ok: boolean;
  errno: number;
}

export interface NativeBinding {
  ObjectHandle: new (path: string) => NativeObjectHandle;
  testRun(fd: number, data: Buffer, repeat: number, dataSizeOut: number, ctxIn?: Buffer): { retval: number; data: Buffer; durationNs: number };
  xdpLinkCreate(progFd: number, ifindex: number, flags: number): number;
  closeFd(fd: number): void;
  programId(fd: number): number;
  xdpQuery(ifindex: number): { driverProgId: number; skbProgId: number; attachMode: number };
  mapLookup(fd: number, key: Buffer, valueLength: number): Buffer | null;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapNextKey(fd: number, key: Buffer | null, keySize: number): Buffer | null;
  mapLookupBatch(fd: number, keySize: number, valueLength: number, batchSize: number): { keys: Buffer; values: Buffer; count: number };
  objPin(fd: number, path: string): void;
  possibleCpus(): number;
  openMapsByName(name: string): Array<NativeMapInfo & { id: number }>;
  effectiveCapabilities(): bigint;
  probeBpfSyscall(): NativeOutcome;
  probeAfXdp(): NativeOutcome;
  probeXdpMode(ifindex: number, flags: number): NativeOutcome;
  mountBpffs(path: string): void;
  iterLinkCreate(progFd: number, mapFd: number): number;
  iterRead(linkFd: number, maxBytes: number): Buffer;
}

/** The loaded addon (build/Release, build/Debug, then the prebuild). */
export const native: NativeBinding = loadNativeAddon<NativeBinding>({
  packageDir: new URL('..', import.meta.url),
  packageName: '@stoq/loader',
  sourceBuildNeeds: 'cmake, g++, pkg-config and libbpf-dev',
  // The binary exists but does not load: name the runtime library when that is the cause.
  loadHints: [{ match: /libbpf\.so/, hint: "it needs libbpf.so.1 at run time: install libbpf1 (Debian/Ubuntu) or your distribution's libbpf 1.x" }],
});
