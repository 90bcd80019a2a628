// SPDX-License-Identifier: Apache-2.0
// Destination MACs for AF_XDP transmit, from the kernel's own route and neighbour
// tables (`ip -j -6 route get` / `ip -j -6 neigh show`). Lookups on the send path are
// synchronous cache reads; misses and stale entries are resolved in the background.
// A miss means "send through the kernel socket": the kernel then does neighbour
// discovery, and the next refresh finds the entry. We never guess a MAC.
import { execFile } from 'node:child_process';

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
  toBytes(address: string): Uint8Array;
  /** How long a resolved entry is used before it is re-read (default 2000 ms). */
  refreshMs?: number;
  /** How soon an unresolved entry is tried again (default 100 ms). */
  retryMs?: number;
}

const MAX_ENTRIES = 4096;
/**
 * Each resolution runs `ip` twice. A flood of Initials from spoofed sources asks for
 * a new destination per packet (our replies): without a bound that is a fork storm.
 * Past these limits the lookup just misses and the datagram goes through the kernel
 * socket, which resolves (or drops) it itself.
 */
const MAX_RESOLVING = 4;
const MAX_RESOLUTIONS_PER_SECOND = 50;
const USABLE_STATES = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);

function ipJson(args: string[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['-j', '-6', ...args], { timeout: 2000 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.trim() === '' ? [] : (JSON.parse(stdout) as unknown[]));
    });
  });
}

export class NextHopTable {
  readonly #o: Required<NextHopOptions>;
  readonly #entries = new Map<string, Entry>();
  #closed = false;
  /** Lookups that found a usable MAC / that did not. */
  hits = 0;
  misses = 0;
  resolveErrors = 0;
  /** Resolutions not started because MAX_RESOLVING / MAX_RESOLUTIONS_PER_SECOND were reached. */
  resolveDeferred = 0;
  #resolving = 0;
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
    if (!entry.resolving && performance.now() >= entry.freshUntil && this.#mayResolve()) void this.#resolve(address, entry);
    if (entry.hop) this.hits++;
    else this.misses++;
    return entry.hop;
  }

  /** Resolves `address` now (e.g. before the first send) and returns the result. */
  async resolve(address: string): Promise<NextHop | null> {
    const entry = this.#entries.get(address) ?? { hop: null, reason: 'not resolved yet', freshUntil: 0, resolving: false };
    this.#entries.set(address, entry);
    await this.#resolve(address, entry);
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
    if (this.#resolving >= MAX_RESOLVING || this.#windowCount >= MAX_RESOLUTIONS_PER_SECOND) {
      this.resolveDeferred++;
      return false;
    }
    this.#windowCount++;
    return true;
  }

  async #resolve(address: string, entry: Entry): Promise<void> {
    entry.resolving = true;
    this.#resolving++;
    try {
      const { hop, reason } = await this.#query(address);
      entry.hop = hop;
      entry.reason = reason;
    } catch (error) {
      this.resolveErrors++;
      entry.hop = null;
      entry.reason = `ip route/neigh lookup failed: ${(error as Error).message.split('\n')[0]}`;
    } finally {
      this.#resolving--;
      entry.resolving = false;
      entry.freshUntil = performance.now() + (entry.hop ? this.#o.refreshMs : this.#o.retryMs);
    }
  }

  async #query(address: string): Promise<{ hop: NextHop | null; reason: string }> {
    const [route] = (await ipJson(['route', 'get', address])) as Array<{ dev?: string; gateway?: string; prefsrc?: string; type?: string }>;
    if (this.#closed) return { hop: null, reason: 'closed' };
    if (!route?.dev) return { hop: null, reason: `no route to ${address}` };
    if (route.dev !== this.#o.ifname) return { hop: null, reason: `route to ${address} leaves through ${route.dev}, not ${this.#o.ifname}` };
    const src = this.#o.boundAddress ?? route.prefsrc;
    if (!src) return { hop: null, reason: `no source address for ${address} on ${this.#o.ifname}` };
    const srcAddress = this.#o.toBytes(src);
    if (this.#o.loopback) return { hop: { dstMac: this.#o.srcMac, srcAddress }, reason: '' };
    const via = route.gateway ?? address;
    const neighbours = (await ipJson(['neigh', 'show', 'to', via, 'dev', route.dev])) as Array<{ dst?: string; lladdr?: string; state?: string[] }>;
    const n = neighbours.find((e) => e.lladdr && (e.state ?? []).some((s) => USABLE_STATES.has(s)));
    if (!n?.lladdr) return { hop: null, reason: `no usable neighbour entry for ${via} on ${route.dev} (${neighbours[0]?.state?.join(',') ?? 'none'})` };
    return { hop: { dstMac: Uint8Array.from(n.lladdr.split(':').map((h) => parseInt(h, 16))), srcAddress }, reason: '' };
  }
}
