// SPDX-License-Identifier: Apache-2.0
// The one door to the native addon. It is loaded on first use, not at import, so that
// `probeUdpGso()` can answer "no" with a reason on a host where the binary does not load.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoqUdpError } from './errors.js';

/** Everything the `.node` file exports. Calls throw `{ errno, operation }` errors. */
export interface NativeAddon {
  /** setsockopt(SOL_UDP, UDP_SEGMENT) on a UDP socket fd; 0 turns GSO off. */
  setUdpSegment(fd: number, segmentSize: number): void;
  /** getsockopt(SOL_UDP, UDP_SEGMENT) on a UDP socket fd. */
  getUdpSegment(fd: number): number;
  /** Sets UDP_SEGMENT on a throwaway socket: 0 when the kernel accepts it, else the errno. */
  probeUdpSegment(): number;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
// node-gyp-build's search order: a local build wins over the shipped prebuild.
const searched = ['build/Release', 'build/Debug', `prebuilds/${process.platform}-${process.arch}`].map((dir) => join(packageRoot, dir));

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = (require('node-gyp-build') as { path(dir: string): string }).path(packageRoot);
  } catch (error) {
    throw new StoqUdpError(
      'STOQ_ERR_NATIVE_MISSING',
      `@stoq/udp native addon not found for ${process.platform}-${process.arch}; searched:\n  ${searched.join('\n  ')}`,
      {
        operation: 'load',
        hint:
          'prebuilt binaries exist for linux-x64 (glibc); elsewhere build from source with `npm rebuild @stoq/udp` ' +
          '(needs cmake and g++; npm >= 11 first: `npm install-scripts approve @stoq/udp`), or in the repository run `pnpm --filter @stoq/udp build`',
        cause: error,
      },
    );
  }
  try {
    return require(path) as NativeAddon;
  } catch (error) {
    throw new StoqUdpError('STOQ_ERR_NATIVE_LOAD', `@stoq/udp: ${path} does not load: ${(error as Error).message.split('\n')[0]}`, {
      operation: 'load',
      hint: 'the binary does not fit this host (libc, architecture or Node-API version); rebuild it with `npm rebuild @stoq/udp`',
      cause: error,
    });
  }
}

let loaded: NativeAddon | StoqUdpError | undefined;

/** The addon (build/Release, build/Debug, then the prebuild), loaded once; throws the load error every time it failed. */
export function native(): NativeAddon {
  loaded ??= (() => {
    try {
      return load();
    } catch (error) {
      return error as StoqUdpError;
    }
  })();
  if (loaded instanceof Error) throw loaded;
  return loaded;
}
