// SPDX-License-Identifier: Apache-2.0
/**
 * Which of the maps sharing a name to read. Several STOQ programs may be loaded (two
 * transports, a test, a leftover): guessing would mix their numbers, so more than one
 * candidate without an explicit id is "unavailable" with the ids to choose from.
 */
export type Selection<M> =
  | {
      /** The map to read. */
      readonly map: M;
      /** Its kernel id. */
      readonly id: number;
    }
  | {
      /** Why no single map could be chosen (none, or several without an id), with the ids found. */
      readonly unavailable: string;
    };

/**
 * The candidate with `wantedId`, or the only candidate when no id is given; otherwise
 * why not (no map of that name, that id gone, or several to choose from).
 */

export function selectMap<M>(name: string, candidates: readonly { readonly id: number; readonly map: M }[], wantedId?: number): Selection<M> {
  if (wantedId !== undefined) {
    const match = candidates.find((c) => c.id === wantedId);
    if (match) return { map: match.map, id: match.id };
    const others = candidates.length ? ` (maps named ${name} now: ids ${ids(candidates)})` : '';
    return { unavailable: `no map ${name} with id ${wantedId}: its program was unloaded or never existed${others}` };
  }
  const [only, ...rest] = candidates;
  if (only === undefined) return { unavailable: `no map named ${name} on this host: no STOQ program with XDP is loaded` };
  if (rest.length > 0) {
    return { unavailable: `${candidates.length} maps named ${name} (ids ${ids(candidates)}): several STOQ programs are loaded; choose one by id (bpftool map show name ${name})` };
  }
  return { map: only.map, id: only.id };
}

function ids(candidates: readonly { readonly id: number }[]): string {
  return candidates.map((c) => c.id).sort((a, b) => a - b).join(', ');
}
