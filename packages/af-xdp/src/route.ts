// SPDX-License-Identifier: Apache-2.0
// Next hops for frames built here: the kernel's IPv6 route and neighbour tables over
// rtnetlink (no `ip` process, no privilege). Each lookup is one synchronous request the
// kernel answers from memory, in microseconds. touchNeighbour6 asks the kernel to
// re-validate (or resolve) an entry, which frames sent past it never do.
import { isIPv6 } from 'node:net';
import { constants } from 'node:os';
import { native } from './binding.js';
import { fromNative, invalidArgument, XskError } from './errors.js';
import { bytesToIpv6, ipv6ToBytes } from './frame/address.js';

const E = constants.errno;

/** What kind of route the kernel chose (rtm_type, as `ip route` spells it). */
export type RouteType =
  | 'unspec' | 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast'
  | 'blackhole' | 'unreachable' | 'prohibit' | 'throw' | 'nat' | 'xresolve' | `type ${number}`;
/** rtm_type values 0..11 (linux/rtnetlink.h). */
const ROUTE_TYPES: readonly RouteType[] = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve'];

/** One state of a neighbour entry, as `ip neigh` spells it. */
export type NeighbourState = 'INCOMPLETE' | 'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE' | 'FAILED' | 'NOARP' | 'PERMANENT';
/** NUD_* states (linux/neighbour.h): bit i of ndm_state. */
const NEIGHBOUR_STATES: readonly NeighbourState[] = ['INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'FAILED', 'NOARP', 'PERMANENT'];
/** States whose link-layer address may be used to send (as the kernel itself does). */
const USABLE: ReadonlySet<NeighbourState> = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);

/** The route the kernel would use for a destination (`ip -6 route get`). */
export interface Ipv6Route {
  /** 'unicast' for ordinary routes, 'local' for this host's own addresses. */
  type: RouteType;
  /** Outgoing interface. */
  ifname: string;
  /** Its index. */
  ifindex: number;
  /** The router to send through, or null when the destination is on-link. */
  gateway: string | null;
  /** The source address the kernel would pick, when it has one. */
  prefsrc: string | null;
  /**
   * The path MTU the kernel holds for this destination: the route's `mtu` attribute, or
   * a cached PMTU exception learnt from an ICMPv6 Packet Too Big (`ip -6 route get`
   * prints either as `mtu N`). Null when neither is set: the interface MTU applies.
   */
  mtu: number | null;
}

/** Options of lookupRoute6(). */
export interface LookupRoute6Options {
  /** Only routes through this interface (and the zone of a link-local destination). */
  oif?: string;
  /**
   * The source address the packets will carry (`ip -6 route get DST from SRC`): sent to
   * the kernel as RTA_SRC, so `ip -6 rule add from SRC …` policy routing and
   * source-specific routes apply. Any IPv6 text form; a `%zone` suffix is ignored.
   */
  src?: string;
}

/** A neighbour table entry (`ip -6 neigh show to ADDRESS dev IF`). */
export interface Ipv6Neighbour {
  /** Link-layer address, or null while unresolved (INCOMPLETE, FAILED). */
  lladdr: Uint8Array | null;
  /** The entry's NUD states (usually one). */
  states: NeighbourState[];
  /** True when `lladdr` may be used to send now. */
  usable: boolean;
}

const isLinkLocal = (bytes: Uint8Array): boolean => bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80;

function interfaceIndex(op: string, ifname: string, name = 'ifname'): number {
  if (typeof ifname !== 'string' || ifname === '') throw invalidArgument(op, `${op}: ${name} must be a non-empty interface name, got ${String(ifname)}`);
  const index = native.interfaceIndex(ifname);
  if (index === 0) {
    throw fromNative(Object.assign(new Error(`${op}: no interface ${ifname}`), { errno: E.ENODEV, operation: op }), { ifname });
  }
  return index;
}

/**
 * The route the kernel would use to send to `address`, or null when it has none
 * (ENETUNREACH/EHOSTUNREACH). A link-local destination needs its zone: `oif`, or
 * `fe80::1%eth0`; for others `oif` restricts the lookup to routes through that
 * interface. `src` is the source address the packets will carry, so policy routing
 * (`ip rule from`) picks the table it would for them. Other failures throw `XskError`.
 */
export function lookupRoute6(address: string, options: LookupRoute6Options = {}): Ipv6Route | null {
  const op = 'lookupRoute6';
  if (typeof options !== 'object' || options === null) throw invalidArgument(op, `${op}: options must be an object, got ${String(options)}`);
  const dst = ipv6ToBytes(address);
  let src: Uint8Array | null = null;
  if (options.src !== undefined && options.src !== null) {
    if (typeof options.src !== 'string' || !isIPv6(options.src.replace(/^\[|\]$/g, '').split('%')[0]!)) {
      throw invalidArgument(op, `${op}: src must be an IPv6 address, got ${typeof options.src === 'string' ? JSON.stringify(options.src) : String(options.src)}`);
    }
    src = ipv6ToBytes(options.src);
  }
  const zone = typeof address === 'string' && address.includes('%') ? address.slice(address.indexOf('%') + 1).replace(/\]$/, '') : undefined;
  const oifName = options.oif ?? zone;
  if (isLinkLocal(dst) && oifName === undefined) {
    throw invalidArgument(op, `${op}: ${address} is link-local: say which interface (oif, or ${address}%IFNAME)`);
  }
  const oif = oifName === undefined ? 0 : interfaceIndex(op, oifName, 'oif');
  let route;
  try {
    route = native.routeGet6(dst, oif, src);
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    if (errno === E.ENETUNREACH || errno === E.EHOSTUNREACH) return null;
    throw fromNative(error, { ifname: oifName });
  }
  return {
    type: ROUTE_TYPES[route.type] ?? `type ${route.type}`,
    ifname: route.ifname,
    ifindex: route.ifindex,
    gateway: route.gateway ? bytesToIpv6(route.gateway) : null,
    prefsrc: route.prefsrc ? bytesToIpv6(route.prefsrc) : null,
    mtu: route.mtu,
  };
}

/** The neighbour entry for `address` on `ifname`, or null when there is none. */
export function lookupNeighbour6(ifname: string, address: string): Ipv6Neighbour | null {
  const op = 'lookupNeighbour6';
  const dst = ipv6ToBytes(address);
  const ifindex = interfaceIndex(op, ifname);
  let entry;
  try {
    entry = native.neighbourGet6(ifindex, dst);
  } catch (error) {
    throw fromNative(error, { ifname });
  }
  if (!entry) return null;
  const states = NEIGHBOUR_STATES.filter((_, bit) => (entry.state & (1 << bit)) !== 0);
  return { lladdr: entry.lladdr, states, usable: entry.lladdr !== null && entry.lladdr.length > 0 && states.some((s) => USABLE.has(s)) };
}

/** Entries the kernel never validates; NTF_USE would demote them (see touchNeighbour6). */
const STATIC: ReadonlySet<NeighbourState> = new Set(['PERMANENT', 'NOARP']);

/**
 * Asks the kernel to re-validate the neighbour entry for `address` on `ifname` as if it
 * were sending a packet to it, without sending one: an RTM_NEWNEIGH with `NTF_USE`
 * (`ip -6 neigh replace ADDRESS dev IFNAME use`). Frames sent past the kernel (AF_XDP)
 * never move its neighbour state machine; this does:
 *
 * - STALE: DELAY, then after `delay_first_probe_time` PROBE (unicast Neighbor
 *   Solicitations to the known MAC): REACHABLE when the neighbour answers, FAILED when not;
 * - no entry, or FAILED: a new resolution (INCOMPLETE, multicast solicitations);
 * - REACHABLE, DELAY, PROBE, INCOMPLETE: nothing (the kernel is already on it).
 *
 * PERMANENT and NOARP entries are left alone (returns false): the kernel (6.18) would
 * demote a PERMANENT entry to an INCOMPLETE one and lose its static MAC. Otherwise
 * returns true once the kernel has accepted the request; the discovery itself runs
 * afterwards, read its outcome with {@link lookupNeighbour6}. Unlike the lookups this
 * needs CAP_NET_ADMIN (`STOQ_ERR_XSK_PERMISSION` without it). Other failures throw
 * `XskError` (`STOQ_ERR_NO_SUCH_DEVICE`, `STOQ_ERR_INVALID_ARGUMENT`, …).
 */
export function touchNeighbour6(ifname: string, address: string): boolean {
  const op = 'touchNeighbour6';
  const dst = ipv6ToBytes(address);
  const ifindex = interfaceIndex(op, ifname);
  try {
    const entry = native.neighbourGet6(ifindex, dst);
    if (entry && NEIGHBOUR_STATES.some((state, bit) => STATIC.has(state) && (entry.state & (1 << bit)) !== 0)) return false;
    native.neighbourUse6(ifindex, dst);
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    if (errno === E.EPERM || errno === E.EACCES) {
      throw new XskError('STOQ_ERR_XSK_PERMISSION', (error as Error).message, {
        operation: (error as { operation?: string }).operation ?? op,
        hint: 'asking the kernel to re-validate a neighbour (RTM_NEWNEIGH) needs CAP_NET_ADMIN',
        errno,
        cause: error,
      });
    }
    throw fromNative(error, { ifname });
  }
  return true;
}
