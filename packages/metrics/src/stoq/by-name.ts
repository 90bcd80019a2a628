// SPDX-License-Identifier: Apache-2.0
/**
 * Reading maps another process created (`stoq top` next to a running transport).
 * The map is looked up by name on every collection and closed right after reading:
 * a restarted transport's new maps are picked up, and this reader never keeps an
 * unloaded program's maps alive (which an fd held across collections would do).
 */
import { unavailable, type MetricSource } from '../source.js';
import { describe } from './codecs.js';
import { mapIdOf } from './map-id.js';
import { selectMap } from './select-map.js';

/** A map opened by name: `@stoq/loader`'s BpfMap from `BpfMap.openByName` fits. */
export interface OpenedMap {
  /** The map's fd (its kernel id is read from /proc/self/fdinfo). */
  readonly fd: number;
  /** Closes the fd; called right after each collection. */
  close(): void;
}

/** Opens every map with this name on the host, e.g. `BpfMap.openByName`; the caller closes them. */
export type OpenMapsByName<M extends OpenedMap> = (name: string) => M[];

interface LoaderModule<M extends OpenedMap> {
  BpfMap: { openByName: OpenMapsByName<M> };
}

/** `BpfMap.openByName` of @stoq/loader (an optional peer), or why it cannot be had. */
export async function loadOpenByName<M extends OpenedMap>(): Promise<OpenMapsByName<M> | { unavailable: string }> {
  try {
    const loader = (await import('@stoq/loader')) as unknown as LoaderModule<M>;
    return (name) => loader.BpfMap.openByName(name);
  } catch (error) {
    return { unavailable: `@stoq/loader cannot be loaded (${describe(error)}): install it next to @stoq/metrics to read maps by name` };
  }
}

/** Options of byNameSource(). */
export interface ByNameSourceOptions<T, M extends OpenedMap> {
  /** The source's name (`xdp_stats`, `conntrack`). */
  readonly name: string;
  /** The map name to look up, e.g. `stoq_stats`. */
  readonly mapName: string;
  /** How to open maps by name (loadOpenByName() gives `@stoq/loader`'s). */
  readonly open: OpenMapsByName<M>;
  /** Which map when several share the name (kernel map id, as `bpftool map show` prints it). */
  readonly mapId?: number;
  /** Builds the reading source over the opened map, given its kernel id (a new id is a restarted program). */
  readonly over: (map: M, id: number) => MetricSource<T>;
}

/**
 * A source that, on every collection, opens the maps named `mapName`, picks one (selectMap), reads
 * it through `over(map)` and closes them all. Missing privileges read as unavailable with the fix.
 */
export function byNameSource<T, M extends OpenedMap>(options: ByNameSourceOptions<T, M>): MetricSource<T> {
  return {
    name: options.name,
    async collect() {
      let opened: M[];
      try {
        opened = options.open(options.mapName);
      } catch (error) {
        // Missing privileges are how this host is set up, not a failed collection: say how to fix it.
        const e = error as { code?: string; message?: string; hint?: string };
        if (e?.code === 'STOQ_ERR_BPF_PERMISSION') return unavailable<T>(`cannot open ${options.mapName}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
        throw error;
      }
      try {
        const selected = selectMap(options.mapName, opened.map((map) => ({ id: mapIdOf(map), map })), options.mapId);
        if ('unavailable' in selected) return unavailable<T>(selected.unavailable);
        return await options.over(selected.map, selected.id).collect();
      } finally {
        for (const map of opened) map.close();
      }
    },
  };
}
