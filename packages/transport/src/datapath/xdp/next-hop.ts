// SPDX-License-Identifier: Apache-2.0
// Destination MACs for AF_XDP transmit, from the kernel's own route and neighbour
// tables, read over rtnetlink (@stoq/af-xdp lookupRoute6 / lookupNeighbour6: one
// request each, answered from kernel memory in microseconds). Lookups on the send path
// are synchronous cache reads; misses and stale entries are resolved right after
// (setImmediate), off the send path. A miss means "send through the kernel socket": the
// kernel then does neighbour discovery, and the next refresh finds the entry. We never
// guess a MAC.
//
// AF_XDP frames bypass the kernel's neighbour state machine: a STALE entry stays STALE
// however much we send through it, so a peer whose MAC changed would never be probed.
// For a hop whose entry is STALE, the refresh that reads it asks the kernel to
// re-validate it (af-xdp touchNeighbour6: RTM_NEWNEIGH with NTF_USE, at most once per
// refresh period), as a packet sent through the kernel would: DELAY, PROBE (a unicast
// solicitation), then REACHABLE, or FAILED and re-resolution when the old MAC no longer
// answers. No datagram goes through the kernel for it: every datagram stays a frame.
// DELAY and PROBE entries are not touched: the kernel is re-validating them already.
// Only if the kernel refuses the request (it needs CAP_NET_ADMIN, which attaching XDP
// needs too) does the hop's next datagram go through the kernel socket instead.
//
// Bound to '::', a reply should come from the address the peer sent to (the datapath
// passes it as `source`); the kernel socket can only send from the route's preferred
// source. A hop for a source not known to be the preferred source of the route to THAT
// destination is therefore resolved at once on its first lookup (the first reply must
// not go through the kernel) and is checked to be an address of this host; one whose
// source is the preferred source the last route lookup for that destination returned
// is resolved off the send path like any other.
// On the spot, the interface's MAC/MTU are taken from the last read if it is younger
// than a refresh period, and a STALE neighbour's re-validation (touchNeighbour6) runs on
// the next turn: one route lookup, one local check and one neighbour read stay on the
// send path.
//
// The datapath keeps the entry a peer uses (ref()) and asks it for the hop per datagram
// (use()): no key string is built per datagram. An entry dropped from the table is
// marked `evicted` and the holder takes a new one.
import { isLinkLocal } from '../../address.js';
import { StoqXdpUnavailableError } from '../../errors.js';
import { FirstErrors } from './first-errors.js';
import { interfaceMac, interfaceMtu } from './interface-info.js';
import type { NativeModules } from './native-modules.js';

type RouteLookups = Pick<NativeModules['afXdp'], 'lookupRoute6' | 'lookupNeighbour6' | 'touchNeighbour6' | 'ipv6ToBytes' | 'macToBytes'>;

export interface NextHop {
  readonly dstMac: Uint8Array;
  /** Our interface's MAC when the hop was read (it can change while attached). */
  readonly srcMac: Uint8Array;
  readonly srcAddress: Uint8Array;
  /** The largest IPv6 packet (header included) for this path: the interface MTU, or the route's/PMTU's when smaller. */
  readonly mtu: number;
  /** The kernel socket would send from another address than `srcAddress` (so datagrams must not go through it). */
  readonly otherSource: boolean;
}

/** Our interface's MAC and MTU, as sysfs reports them. */
export interface InterfaceFacts {
  mac: Uint8Array;
  mtu: number;
}

/** A destination's entry; held by the datapath per peer (see ref() and use()). */
export interface HopRef {
  readonly address: string;
  /** The table's key for it. */
  readonly key: string;
  /** Dropped from the table (oldest first, or closed): take a new one with ref(). */
  evicted: boolean;
  /** The last resolution found the source not to be the route's preferred one (the kernel socket would send from another address). */
  otherSource: boolean;
  /** The source the last successful resolution's hop uses (text), or null. */
  resolvedSource: string | null;
}

interface Entry extends HopRef {
  /** The source asked for (the address the peer sent to), or null: the bound address or the route's. */
  readonly source: string | null;
  hop: NextHop | null;
  /** Why there is no hop (for diagnostics). */
  reason: string;
  /** When the next refresh is due. */
  freshUntil: number;
  /** The hop is not used past this (its refreshes could not run): datagrams go through the kernel. */
  usableUntil: number;
  resolving: boolean;
  /** The kernel refused to re-validate the neighbour: the next datagram goes through the kernel socket. */
  probeViaKernel: boolean;
  /** No neighbour probe before this (one per refresh period). */
  probeAt: number;
}

export interface NextHopOptions {
  ifname: string;
  /** The transport's bound address, or null when bound to '::' (the route's source is used). */
  boundAddress: string | null;
  /** Loopback interfaces have no neighbours: frames go to their own MAC. */
  loopback: boolean;
  /** The rtnetlink lookups (and touchNeighbour6) and address codec of @stoq/af-xdp. */
  lookups: RouteLookups;
  /** How long a resolved entry is used before it is re-read (default 2000 ms). */
  refreshMs?: number;
  /** How soon an unresolved entry is tried again, and how old the interface's MAC/MTU may be (default 100 ms). */
  retryMs?: number;
  /** A hop not refreshed for this long is no longer used (default 3 × refreshMs). */
  maxAgeMs?: number;
  /** Reads our interface's MAC and MTU (default: sysfs). */
  readInterface?: (ifname: string) => InterfaceFacts;
  /** The clock, ms (default performance.now). */
  now?: () => number;
  /**
   * Called with the first failure of each kind (route/neighbour lookup, neighbour
   * re-validation; per error code) so it is not swallowed; later ones are only counted
   * (resolveErrors, neighbourProbeErrors). Default: none (set later with `onError`).
   */
  onError?: ((error: Error) => void) | null;
}

const MAX_ENTRIES = 4096;
/**
 * A flood of Initials from spoofed sources asks for a new destination per packet (our
 * replies). Each resolution is two rtnetlink requests (~40 µs), so these bounds keep a
 * flood to a few per cent of a CPU; past them the lookup just misses and the datagram
 * goes through the kernel socket, which resolves (or drops) it itself. New destinations
 * (and entries still without a hop) get half of each bound: the other half is kept for
 * refreshing the hops in use, so a flood cannot freeze route or MAC changes of the
 * peers we already talk to.
 */
const MAX_PENDING = 64;
const MAX_RESOLUTIONS_PER_SECOND = 1000;
const MAX_PENDING_NEW = MAX_PENDING / 2;
const MAX_NEW_PER_SECOND = MAX_RESOLUTIONS_PER_SECOND / 2;
/** Neighbour states the kernel has confirmed (or never checks): re-read at the normal refresh. */
const CONFIRMED = new Set(['REACHABLE', 'PERMANENT', 'NOARP']);
/**
 * An unconfirmed entry is re-read at least this often: once the kernel gives up on the
 * old MAC (FAILED), datagrams must stop going to it soon, not a whole refresh later.
 */
const UNCONFIRMED_REFRESH_MS = 500;
/** Destinations whose route's preferred source is remembered (the last lookup's). */
const MAX_PREFERRED = MAX_ENTRIES;

function readInterfaceFromSysfs(lookups: RouteLookups, ifname: string): InterfaceFacts {
  return { mac: lookups.macToBytes(interfaceMac(ifname)), mtu: interfaceMtu(ifname) };
}

export class NextHopTable {
  readonly #o: Required<Omit<NextHopOptions, 'onError'>>;
  readonly #entries = new Map<string, Entry>();
  #closed = false;
  /** Lookups that found a usable MAC / that did not. */
  hits = 0;
  misses = 0;
  resolveErrors = 0;
  /** Resolutions not started because MAX_PENDING / MAX_RESOLUTIONS_PER_SECOND were reached. */
  resolveDeferred = 0;
  /** Times the kernel was asked to re-validate a STALE neighbour entry (touchNeighbour6). */
  neighbourProbes = 0;
  /** Of those requests, the ones the kernel refused (counted in resolveErrors too). */
  neighbourProbeErrors = 0;
  /** Lookups whose hop was past maxAgeMs without a refresh. */
  expired = 0;
  #pending = 0;
  #windowStart = -Infinity;
  #windowCount = 0;
  #windowNew = 0;
  #iface: (InterfaceFacts & { readAt: number }) | null = null;
  /**
   * Per destination, the preferred source its last route lookup returned: a hop to it
   * from that source needs no resolution on the send path (from any other, it does).
   */
  readonly #preferred = new Map<string, string>();
  /** Failure kinds already reported through onError (never forgotten: see first-errors.ts). */
  readonly #reported = new FirstErrors();
  /** Receives the first failure of each kind (see NextHopOptions.onError). */
  onError: ((error: Error) => void) | null;

  constructor(options: NextHopOptions) {
    const refreshMs = options.refreshMs ?? 2000;
    this.#o = {
      refreshMs,
      retryMs: 100,
      maxAgeMs: 3 * refreshMs,
      readInterface: (ifname) => readInterfaceFromSysfs(options.lookups, ifname),
      now: () => performance.now(),
      ...options,
    };
    this.onError = options.onError ?? null;
  }

  /**
   * The next hop for `address` if it may be used now; starts a background refresh when
   * due. Null means "send this one through the kernel socket". `source` (ignored when
   * bound) is the address the peer sent to: the hop's source, resolved on this first
   * lookup rather than after it unless it is known to be a route's preferred source.
   */
  lookup(address: string, source: string | null = null): NextHop | null {
    const entry = this.ref(address, source);
    return entry === null ? null : this.use(entry);
  }

  /**
   * The entry for `address` from `source` (created, and its resolution started, when
   * new), to keep and pass to use() per datagram; null (a miss) when a new entry's
   * resolution cannot start (the budget is spent).
   */
  ref(address: string, source: string | null = null): HopRef | null {
    if (this.#o.boundAddress !== null) source = null;
    const key = source === null ? address : `${address}|${source}`;
    const found = this.#entries.get(key);
    if (found) return found;
    // No entry unless its resolution can start: a flood of new destinations then
    // cannot push the entries in use out of the table faster than the budget allows.
    const now = this.#o.now();
    if (!this.#mayResolve(false, now)) {
      this.misses++;
      return null;
    }
    if (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.values().next().value as Entry;
      oldest.evicted = true;
      this.#entries.delete(oldest.key);
    }
    const entry: Entry = {
      address, key, source, evicted: false, otherSource: false, resolvedSource: null, hop: null, reason: 'not resolved yet', freshUntil: 0, usableUntil: 0,
      resolving: false, probeViaKernel: false, probeAt: 0,
    };
    this.#entries.set(key, entry);
    // Through the kernel the first datagram would leave from another address than
    // `source`, unless `source` is the preferred source of the route to `address`
    // (unknown until a route to it was read: then resolved on the spot too).
    if (source !== null && this.#preferred.get(address) !== source) this.#resolve(entry, true);
    else this.#schedule(entry);
    return entry;
  }

  /** The hop of an entry from ref() if it may be used now (null: through the kernel socket); starts its refresh when due. */
  use(ref: HopRef): NextHop | null {
    const entry = ref as Entry;
    const now = this.#o.now();
    if (!entry.resolving && !entry.evicted && now >= entry.freshUntil && this.#mayResolve(entry.hop !== null, now)) {
      if (entry.hop) {
        // A hop in use moves to the end of the eviction order.
        this.#entries.delete(entry.key);
        this.#entries.set(entry.key, entry);
      }
      this.#schedule(entry);
    }
    const hop = entry.hop;
    if (!hop) {
      this.misses++;
      return null;
    }
    if (now >= entry.usableUntil) {
      this.expired++;
      this.misses++;
      return null;
    }
    if (entry.probeViaKernel) {
      // The kernel refused touchNeighbour6: a datagram sent through it moves the entry on.
      entry.probeViaKernel = false;
      this.misses++;
      return null;
    }
    this.hits++;
    return hop;
  }

  /** Why `address` (from `source`) has no next hop (or null when it has one). */
  reason(address: string, source: string | null = null): string | null {
    const entry = this.#entries.get(source === null || this.#o.boundAddress !== null ? address : `${address}|${source}`);
    return entry?.hop ? null : (entry?.reason ?? 'not looked up yet (or the resolution budget was spent)');
  }

  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) entry.evicted = true;
    this.#entries.clear();
  }

  /** Refreshes of hops in use may use the whole budget; new destinations half of it. */
  #mayResolve(refresh: boolean, now: number): boolean {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowCount = 0;
      this.#windowNew = 0;
    }
    const ok = refresh
      ? this.#pending < MAX_PENDING && this.#windowCount < MAX_RESOLUTIONS_PER_SECOND
      : this.#pending < MAX_PENDING_NEW && this.#windowNew < MAX_NEW_PER_SECOND && this.#windowCount < MAX_RESOLUTIONS_PER_SECOND;
    if (!ok) {
      this.resolveDeferred++;
      return false;
    }
    this.#windowCount++;
    if (!refresh) this.#windowNew++;
    return true;
  }

  #schedule(entry: Entry): void {
    entry.resolving = true;
    this.#pending++;
    setImmediate(() => {
      this.#pending--;
      if (!this.#closed) this.#resolve(entry);
    });
  }

  /** Reads the entry's route and neighbour; `onTheSpot`: on the send path (a STALE neighbour's touch is deferred). */
  #resolve(entry: Entry, onTheSpot = false): void {
    const now = this.#o.now();
    let confirmed = false;
    let stale: { ifname: string; via: string } | null = null;
    entry.otherSource = false;
    try {
      const result = this.#query(entry, now, onTheSpot);
      entry.hop = result.hop;
      entry.reason = result.reason;
      confirmed = result.confirmed;
      stale = result.stale;
    } catch (error) {
      this.resolveErrors++;
      entry.hop = null;
      entry.reason = `route/neighbour lookup failed: ${(error as Error).message.split('\n')[0]}`;
      this.#report('lookup', error, `route/neighbour lookup for ${entry.address} on ${this.#o.ifname} failed: ${(error as Error).message.split('\n')[0]}; its datagrams go through the kernel socket until a lookup succeeds (resolveErrors counts further failures)`);
    } finally {
      entry.resolving = false;
      if (!entry.hop || confirmed) entry.probeViaKernel = false;
      // One re-validation per refresh period, however often the entry is re-read meanwhile.
      if (entry.hop && stale !== null && now >= entry.probeAt) {
        entry.probeAt = now + this.#o.refreshMs;
        if (onTheSpot) {
          const { ifname, via } = stale;
          setImmediate(() => {
            if (!this.#closed) this.#probe(entry, ifname, via);
          });
        } else {
          this.#probe(entry, stale.ifname, stale.via);
        }
      }
      const refreshMs = confirmed ? this.#o.refreshMs : Math.min(this.#o.refreshMs, UNCONFIRMED_REFRESH_MS);
      entry.freshUntil = now + (entry.hop ? refreshMs : this.#o.retryMs);
      entry.usableUntil = entry.hop ? now + this.#o.maxAgeMs : 0;
    }
  }

  /** Asks the kernel to re-validate the STALE neighbour entry of `entry`'s hop (no datagram is sent). */
  #probe(entry: Entry, ifname: string, via: string): void {
    this.neighbourProbes++;
    try {
      this.#o.lookups.touchNeighbour6(ifname, via);
    } catch (error) {
      this.neighbourProbeErrors++;
      this.resolveErrors++;
      this.#report('touch', error, `asking the kernel to re-validate neighbour ${via} on ${ifname} (touchNeighbour6) failed: ${(error as Error).message.split('\n')[0]}; a hop whose neighbour is STALE sends its next datagram through the kernel socket instead (neighbourProbeErrors counts further failures)`);
      // The kernel socket can only send from the route's preferred source.
      entry.probeViaKernel = entry.hop !== null && !entry.hop.otherSource;
    }
  }

  /** The first failure of each kind and error code goes to onError, with its errno and hint. */
  #report(kind: string, error: unknown, message: string): void {
    if (this.onError === null || !this.#reported.first(kind, error)) return;
    const e = error as { errno?: unknown; hint?: unknown };
    this.onError(new StoqXdpUnavailableError(message, {
      operation: kind === 'touch' ? 'touchNeighbour6' : 'nextHopLookup',
      ...(typeof e.errno === 'number' ? { errno: e.errno } : {}),
      hint: typeof e.hint === 'string' ? e.hint : `check: ip -6 route get ADDRESS; ip -6 neigh show dev ${this.#o.ifname}`,
      cause: error,
    }));
  }

  /**
   * Our MAC and MTU, re-read when older than retryMs (the interface can change while
   * attached); on the send path (`onTheSpot`), the last read is used while younger than
   * a refresh period.
   */
  #interface(now: number, onTheSpot: boolean): InterfaceFacts {
    if (this.#iface === null || now - this.#iface.readAt >= (onTheSpot ? this.#o.refreshMs : this.#o.retryMs)) {
      this.#iface = { ...this.#o.readInterface(this.#o.ifname), readAt: now };
    }
    return this.#iface;
  }

  /** Remembers `address`'s preferred source (null: none), the oldest destination going past MAX_PREFERRED. */
  #learnPreferred(address: string, prefsrc: string | null): void {
    if (this.#preferred.get(address) === prefsrc) return;
    this.#preferred.delete(address);
    if (prefsrc === null) return;
    if (this.#preferred.size >= MAX_PREFERRED) this.#preferred.delete(this.#preferred.keys().next().value as string);
    this.#preferred.set(address, prefsrc);
  }

  #query(entry: Entry, now: number, onTheSpot: boolean): { hop: NextHop | null; reason: string; confirmed: boolean; stale: { ifname: string; via: string } | null } {
    const { address, source } = entry;
    const { lookupRoute6, lookupNeighbour6, ipv6ToBytes } = this.#o.lookups;
    const none = (reason: string) => ({ hop: null, reason, confirmed: false, stale: null });
    const zone = (a: string) => (isLinkLocal(a) ? { oif: this.#o.ifname } : {});
    // A link-local peer only exists on our interface: that is its zone. The source
    // (bound address, or the one the peer sent to) goes with the lookup: policy
    // routing (ip rule from …) picks by it.
    const chosen = this.#o.boundAddress ?? source;
    const route = lookupRoute6(address, { ...zone(address), ...(chosen !== null ? { src: chosen } : {}) });
    if (!route) return none(`no route to ${address}${chosen !== null ? ` from ${chosen}` : ''}`);
    this.#learnPreferred(address, route.prefsrc ?? null);
    const src = chosen ?? route.prefsrc;
    // Bound to '::', stoq_xdp takes our port's datagrams whatever their destination: we
    // answer from it only if it is ours (a datagram routed through this host is not).
    const otherSource = this.#o.boundAddress === null && src !== route.prefsrc;
    entry.otherSource = otherSource;
    if (route.ifname !== this.#o.ifname) return none(`route to ${address} leaves through ${route.ifname}, not ${this.#o.ifname}`);
    if (!src) return none(`no source address for ${address} on ${this.#o.ifname}`);
    if (otherSource && lookupRoute6(src, zone(src))?.type !== 'local') return none(`${src} (the peer's destination) is not an address of this host`);
    const srcAddress = ipv6ToBytes(src);
    entry.resolvedSource = src;
    if (this.#o.loopback) {
      const facts = this.#interface(now, onTheSpot);
      const mtu = Math.min(facts.mtu, route.mtu ?? Infinity);
      return { hop: { dstMac: facts.mac, srcMac: facts.mac, srcAddress, mtu, otherSource }, reason: '', confirmed: true, stale: null };
    }
    const via = route.gateway ?? address;
    const neighbour = lookupNeighbour6(route.ifname, via);
    if (!neighbour?.usable || !neighbour.lladdr) {
      return none(`no usable neighbour entry for ${via} on ${route.ifname} (${neighbour?.states.join(',') || 'none'})`);
    }
    const facts = this.#interface(now, onTheSpot);
    const mtu = Math.min(facts.mtu, route.mtu ?? Infinity);
    return {
      hop: { dstMac: neighbour.lladdr, srcMac: facts.mac, srcAddress, mtu, otherSource },
      reason: '',
      confirmed: neighbour.states.some((s) => CONFIRMED.has(s)),
      stale: neighbour.states.includes('STALE') ? { ifname: route.ifname, via } : null,
    };
  }
}
