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
  readonly fd: number;
  close(): void;
}

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

export interface ByNameSourceOptions<T, M extends OpenedMap> {
  /** The source's name (`xdp_stats`, `conntrack`). */
  readonly name: string;
  readonly mapName: string;
  readonly open: OpenMapsByName<M>;
  /** Which map when several share the name (kernel map id, as `bpftool map show` prints it). */
  readonly mapId?: number;
  /** Builds the reading source over the opened map. */
  readonly over: (map: M) => MetricSource<T>;
}

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
        return await options.over(selected.map).collect();
      } finally {
        for (const map of opened) map.close();
      }
    },
  };
}
