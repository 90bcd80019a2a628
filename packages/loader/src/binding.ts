// SPDX-License-Identifier: Apache-2.0
// The one door to the native addon: loads the .node file and declares its surface.
// Everything here is mechanics on fds; validation and error policy live in TS.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

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
}

const require = createRequire(import.meta.url);
const candidates = ['../build/Release/stoq_loader.node', '../build/Debug/stoq_loader.node'];

function load(): NativeBinding {
  const tried: string[] = [];
  for (const candidate of candidates) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    try {
      return require(path) as NativeBinding;
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      // Only "not there" moves on; a binary that exists but fails to load is a real problem.
      if (e.code !== 'MODULE_NOT_FOUND') throw error;
      tried.push(path);
    }
  }
  throw Object.assign(
    new Error(
      `@stoq/loader: native addon not found (tried ${tried.join(', ')}). ` +
        'Build it with `pnpm --filter @stoq/loader build` (needs clang, cmake, pkg-config and libbpf-dev).',
    ),
    { code: 'STOQ_ERR_NATIVE_MISSING' },
  );
}

export const native: NativeBinding = load();
