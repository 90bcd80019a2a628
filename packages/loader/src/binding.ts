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
  iterLinkCreate(progFd: number, mapFd: number): number;
  iterRead(linkFd: number, maxBytes: number): Buffer;
}

const require = createRequire(import.meta.url);
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
// node-gyp-build's search order: a local build wins over the shipped prebuild.
const searched = ['build/Release', 'build/Debug', `prebuilds/${process.platform}-${process.arch}`];

function load(): NativeBinding {
  let path: string;
  try {
    path = (require('node-gyp-build') as { path(dir: string): string }).path(packageRoot);
  } catch (error) {
    throw Object.assign(
      new Error(
        `@stoq/loader: no native addon for ${process.platform}-${process.arch} ` +
          `(searched ${searched.map((dir) => `${packageRoot}/${dir}`).join(', ')}). ` +
          'Prebuilt binaries exist for linux-x64 (glibc); elsewhere build from source with `npm rebuild @stoq/loader` ' +
          '(needs cmake, g++, pkg-config and libbpf-dev; npm >= 11 first: `npm install-scripts approve @stoq/loader`), ' +
          'or in the repository run `pnpm --filter @stoq/loader build`.',
        { cause: error },
      ),
      { code: 'STOQ_ERR_NATIVE_MISSING' },
    );
  }
  try {
    return require(path) as NativeBinding;
  } catch (error) {
    // The binary exists but does not load: name the runtime library when that is the cause.
    if (!/libbpf\.so/.test(String((error as Error).message))) throw error;
    throw Object.assign(
      new Error(`@stoq/loader: ${path} needs libbpf.so.1 at run time: install libbpf1 (Debian/Ubuntu) or your distribution's libbpf 1.x`, {
        cause: error,
      }),
      { code: 'STOQ_ERR_NATIVE_LOAD' },
    );
  }
}

export const native: NativeBinding = load();
