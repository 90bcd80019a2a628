// SPDX-License-Identifier: Apache-2.0
/**
 * The stoq_ct_states iterator (@stoq/bpf-programs) loaded through @stoq/loader: it
 * counts stoq_conntrack per state in the kernel, so a collection copies one 64-byte
 * record instead of 64k keys and values. This is the only program this package loads;
 * it is attached to nothing but the map (a bpf_link of an iterator runs only when read).
 */
import type { ConntrackSummaryReader } from '../sources/conntrack.js';
import type { CtStatesCodec } from './codecs.js';

/** A map as the loader hands it out; the iterator binds to its fd. */
export interface MapWithFd {
  /** The map's fd; a map without one cannot be bound (TypeError). */
  readonly fd?: number;
}

interface IteratorLike {
  read(): Buffer;
  close(): void;
}
interface LoadedObject {
  program(name: string): { attachIterator(options: { map: MapWithFd }): IteratorLike };
  close(): void;
}
interface LoaderModule {
  BpfObject: { load(path: string): Promise<LoadedObject> };
}

/** The loaded stoq_ct_states program, ready to bind to a stoq_conntrack map. */
export interface CtStatesProgram {
  /** Binds to `map` once; the reader keeps the link until closed, and then closes the program too. */
  attached(map: MapWithFd): ConntrackSummaryReader | {
    /** Why the iterator could not attach to the map (the program is closed then). */
    unavailable: string;
  };
  /** Binds, reads and unbinds on every read: for maps opened per collection (by name). */
  perRead(map: MapWithFd): ConntrackSummaryReader;
  /** Closes the program (readers made by attached() close it too). */
  close(): void;
}

/**
 * Loads the stoq_ct_states iterator program through `@stoq/loader` (imported lazily).
 * Resolves to why not, instead of rejecting, when the codec has no iterator or the loader
 * or the program cannot be loaded.
 */
export async function loadCtStates(codec: CtStatesCodec | { readonly unavailable: string }): Promise<CtStatesProgram | {
  /** Why the iterator program is not available. */
  unavailable: string;
}> {
  if ('unavailable' in codec) return codec;
  let object: LoadedObject;
  try {
    const loader = (await import('@stoq/loader')) as unknown as LoaderModule;
    object = await loader.BpfObject.load(codec.objectPath);
  } catch (error) {
    return { unavailable: `stoq_ct_states cannot be loaded (${why(error)})` };
  }
  const attach = (map: MapWithFd): IteratorLike => {
    if (typeof map.fd !== 'number') throw new TypeError('the conntrack map has no fd to bind the iterator to');
    return object.program(codec.programName).attachIterator({ map });
  };
  return {
    attached(map) {
      let iterator: IteratorLike;
      try {
        iterator = attach(map);
      } catch (error) {
        object.close();
        return { unavailable: `stoq_ct_states cannot attach to stoq_conntrack (${why(error)})` };
      }
      return {
        read: () => codec.decode(iterator.read()),
        close() {
          iterator.close();
          object.close();
        },
      };
    },
    perRead(map) {
      return {
        read() {
          const iterator = attach(map);
          try {
            return codec.decode(iterator.read());
          } finally {
            iterator.close();
          }
        },
      };
    },
    close: () => object.close(),
  };
}

function why(error: unknown): string {
  const e = error as { code?: string; message?: string; hint?: string };
  const text = [e?.code, e?.message ?? String(error)].filter(Boolean).join(': ');
  return e?.hint ? `${text}; ${e.hint}` : text;
}
