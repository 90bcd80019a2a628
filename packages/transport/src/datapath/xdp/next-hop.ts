// SPDX-License-Identifier: Apache-2.0
// Destination MACs for AF_XDP transmit, from the kernel's own route and neighbour
// tables, read over rtnetlink (@stoq/af-xdp lookupRoute6 / lookupNeighbour6: one
// request each, answered from kernel memory in microseconds). Lookups on the send path
// are synchronous cache reads; misses and stale entries are resolved right after
// (setImmediate), off the send path. A miss means "send through the kernel socket": the
// kernel then does neighbour discovery, and the next refresh finds the entry. We never
// guess a MAC.
import type { NativeModules } from './native-modules.js';

type RouteLookups = Pick<NativeModules['afXdp'], 'lookupRoute6' | 'lookupNeighbour6' | 'ipv6ToBytes'>;

export interface NextHop {
  readonly dstMac: Uint8Array;
  readonly srcAddress: Uint8Array;
}

interface Entry {
  hop: NextHop | null;
  /** Why there is no hop (for diagnostics). */
  reason: string;
  freshUntil: number;
  resolving: boolean;
}

export interface NextHopOptions {
  ifname: string;
  srcMac: Uint8Array;
  /** The transport's bound address, or null when bound to '::' (the route's source is used). */
  boundAddress: string | null;
  /** Loopback interfaces have no neighbours: frames go to their own MAC. */
  loopback: boolean;
  /** The rtnetlink lookups and address codec of @stoq/af-xdp. */
  lookups: RouteLookups;
  /** How long a resolved entry is used before it is re-read (default 2000 ms). */
  refreshMs?: number;
  /** How soon an unresolved entry is tried again (default 100 ms). */
  retryMs?: number;
}

const MAX_ENTRIES = 4096;
/**
 * A flood of Initials from spoofed sources asks for a new destination per packet (our
 * replies). Each resolution is two rtnetlink requests (~40 µs), so these bounds keep a
 * flood to a few per cent of a CPU; past them the lookup just misses and the datagram
 * goes through the kernel socket, which resolves (or drops) it itself.
 */
const MAX_PENDING = 64;
const MAX_RESOLUTIONS_PER_SECOND = 1000;
export class NextHopTable {
  readonly #o: Required<NextHopOptions>;
  readonly #entries = new Map<string, Entry>();
  #closed = false;
  /** Lookups that found a usable MAC / that did not. */
  hits = 0;
  misses = 0;
  resolveErrors = 0;
  /** Resolutions not started because MAX_PENDING / MAX_RESOLUTIONS_PER_SECOND were reached. */
  resolveDeferred = 0;
  #pending = 0;
  #windowStart = 0;
  #windowCount = 0;

  constructor(options: NextHopOptions) {
    this.#o = { refreshMs: 2000, retryMs: 100, ...options };
  }

  /** The next hop for `address` if known now; starts a background refresh when due. */
  lookup(address: string): NextHop | null {
    let entry = this.#entries.get(address);
    if (!entry) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value as string);
      entry = { hop: null, reason: 'not resolved yet', freshUntil: 0, resolving: false };
      this.#entries.set(address, entry);
    }
    if (!entry.resolving && performance.now() >= entry.freshUntil && this.#mayResolve()) this.#schedule(address, entry);
    if (entry.hop) this.hits++;
    else this.misses++;
    return entry.hop;
  }

  /** Why `address` has no next hop (or null when it has one). */
  reason(address: string): string | null {
    const entry = this.#entries.get(address);
    return entry?.hop ? null : (entry?.reason ?? 'never looked up');
  }

  close(): void {
    this.#closed = true;
    this.#entries.clear();
  }

  #mayResolve(): boolean {
    const now = performance.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowCount = 0;
    }
    if (this.#pending >= MAX_PENDING || this.#windowCount >= MAX_RESOLUTIONS_PER_SECOND) {
      this.resolveDeferred++;
      return false;
    }
    this.#windowCount++;
    return true;
  }

  #schedule(address: string, entry: Entry): void {
    entry.resolving = true;
    this.#pending++;
    setImmediate(() => {
      this.#pending--;
      if (!this.#closed) this.#resolve(address, entry);
    });
  }

  #resolve(address: string, entry: Entry): void {
    try {
      const { hop, reason } = this.#query(address);
      entry.hop = hop;
      entry.reason = reason;
    } catch (error) {
      this.resolveErrors++;
      entry.hop = null;
      entry.reason = `route/neighbour lookup failed: ${(error as Error).message.split('\n')[0]}`;
    } finally {
      entry.resolving = false;
      entry.freshUntil = performance.now() + (entry.hop ? this.#o.refreshMs : this.#o.retryMs);
    }
  }

  #query(address: string): { hop: NextHop | null; reason: string } {
    const { lookupRoute6, lookupNeighbour6, ipv6ToBytes } = this.#o.lookups;
    // A link-local peer only exists on our interface: that is its zone.
    const route = lookupRoute6(address, /^fe[89ab]/i.test(address) ? { oif: this.#o.ifname } : {});
    if (!route) return { hop: null, reason: `no route to ${address}` };
    if (route.ifname !== this.#o.ifname) return { hop: null, reason: `route to ${address} leaves through ${route.ifname}, not ${this.#o.ifname}` };
    const src = this.#o.boundAddress ?? route.prefsrc;
    if (!src) return { hop: null, reason: `no source address for ${address} on ${this.#o.ifname}` };
    const srcAddress = ipv6ToBytes(src);
    if (this.#o.loopback) return { hop: { dstMac: this.#o.srcMac, srcAddress }, reason: '' };
    const via = route.gateway ?? address;
    const neighbour = lookupNeighbour6(route.ifname, via);
    if (!neighbour?.usable || !neighbour.lladdr) {
      return { hop: null, reason: `no usable neighbour entry for ${via} on ${route.ifname} (${neighbour?.states.join(',') || 'none'})` };
    }
    return { hop: { dstMac: neighbour.lladdr, srcAddress }, reason: '' };
  }
}
