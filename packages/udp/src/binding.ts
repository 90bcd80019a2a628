// SPDX-License-Identifier: Apache-2.0
// The one door to the native addon. It is loaded on first use, not at import, so that
// `probeUdpGso()` can answer "no" with a reason on a host where the binary does not load.
import { loadNativeAddon } from '@stoq/native-support';
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

function load(): NativeAddon {
  return loadNativeAddon<NativeAddon>({
    packageDir: new URL('..', import.meta.url),
    packageName: '@stoq/udp',
    sourceBuildNeeds: 'cmake and g++',
    // Any binary that does not load (it links nothing beyond libc and libstdc++).
    loadHints: [{ match: /^/, hint: 'the binary does not fit this host (libc, architecture or Node-API version); rebuild it with `npm rebuild @stoq/udp`' }],
    createError: (code, message, details) => new StoqUdpError(code, message, details),
  });
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
