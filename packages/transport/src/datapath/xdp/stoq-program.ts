// SPDX-License-Identifier: Apache-2.0
// The stoq_xdp object as this transport uses it: loaded once, configured through
// stoq_config (changeable while attached), attached through a bpf_link (so it goes
// away with the process), sockets registered in stoq_xsks, conntrack entries closed.
import type { BpfMap, BpfObject, XdpLink } from '@stoq/loader';
import type { CounterName, StoqConfig } from '@stoq/bpf-programs';
import { StoqInvalidConfigError } from '../../errors.js';
import type { NativeModules } from './native-modules.js';
import type { XdpAttachMode } from './public-types.js';

export type { XdpAttachMode } from './public-types.js';


const ZERO_KEY = Buffer.alloc(4);

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

export class StoqXdpProgram {
  readonly #m: NativeModules;
  readonly #object: BpfObject;
  readonly #config: BpfMap;
  readonly #stats: BpfMap;
  readonly #conntrack: BpfMap;
  readonly #xsks: BpfMap;
  readonly #hostAddrs: BpfMap;
  /** What stoq_host_addrs holds: key hex → address text. */
  readonly #hostKeys = new Map<string, string>();
  #current: StoqConfig;
  #link: XdpLink | null = null;

  private constructor(m: NativeModules, object: BpfObject, config: StoqConfig) {
    this.#m = m;
    this.#object = object;
    const names = m.programs.MAP_NAMES;
    this.#config = object.map(names.config);
    this.#stats = object.map(names.stats);
    this.#conntrack = object.map(names.conntrack);
    this.#xsks = object.map(names.xsks);
    this.#hostAddrs = object.map(names.hostAddrs);
    this.#current = config;
  }

  /** Loads (verifies) stoq_xdp and writes its config; nothing is attached yet. */
  static async load(m: NativeModules, config: Partial<StoqConfig>): Promise<StoqXdpProgram> {
    const object = await m.loader.BpfObject.load(m.programs.objectPath);
    try {
      const program = new StoqXdpProgram(m, object, m.programs.normalizeConfig(config));
      program.updateConfig({});
      return program;
    } catch (error) {
      object.close();
      throw error;
    }
  }

  /** The loaded object, for readers of its maps (@stoq/metrics); this class keeps owning it. */
  get object(): BpfObject {
    return this.#object;
  }

  get link(): XdpLink | null {
    return this.#link?.attached ? this.#link : null;
  }

  attach(ifname: string, mode: XdpAttachMode): XdpLink {
    this.detach();
    this.#link = this.#object.program(this.#m.programs.PROGRAM_NAME).attachXdp(ifname, { mode });
    return this.#link;
  }

  detach(): void {
    const link = this.#link;
    this.#link = null;
    link?.detach();
  }

  config(): StoqConfig {
    return structuredClone(this.#current);
  }

  /**
   * Merges `partial` into the running config; takes effect on the next packet. A field
   * given as undefined keeps its value (as if omitted). `localAddress` is fixed at load:
   * it is the address the transport is bound to, and changing it (to '::' above all) would
   * let the program take datagrams another socket on the same port is bound for.
   * `checkLocalAddrs` is not the caller's either: syncHostAddresses() turns it on and off
   * with the contents of stoq_host_addrs (on with an incomplete map would send QUIC for
   * our own addresses to the kernel; off, the host's forwarded QUIC is taken and lost).
   */
  updateConfig(partial: Partial<StoqConfig>): StoqConfig {
    const given = Object.fromEntries(Object.entries(partial ?? {}).filter(([, value]) => value !== undefined));
    const next = this.#m.programs.normalizeConfig({ ...this.#current, ...given });
    if (next.localAddress !== this.#current.localAddress) {
      throw new StoqInvalidConfigError(
        `updateXdpConfig: localAddress is the transport's bound address (${this.#current.localAddress}) and cannot change to ${next.localAddress}`,
        { operation: 'updateXdpConfig', hint: 'create a transport bound to the other address (StoqTransport.create({ address }))' },
      );
    }
    if (next.checkLocalAddrs !== this.#current.checkLocalAddrs) {
      throw new StoqInvalidConfigError(
        `updateXdpConfig: checkLocalAddrs follows the host's addresses (bound to '::', on while they fit stoq_host_addrs) and cannot be set to ${String(next.checkLocalAddrs)}`,
        { operation: 'updateXdpConfig', hint: "omit checkLocalAddrs (the transport sets it); to take only one address's QUIC, bind the transport to that address" },
      );
    }
    checkInitialLimit(next);
    this.#write(next);
    return this.config();
  }

  #write(next: StoqConfig): void {
    this.#config.update(ZERO_KEY, this.#m.programs.encodeConfig(next));
    this.#current = next;
  }

  /**
   * Bound to '::': makes stoq_host_addrs hold `addresses` (the host's own; add/remove
   * diffs) and check_local_addrs on, so QUIC to any other destination (forwarded) goes to
   * the kernel. More addresses than the map holds: the check goes off (every destination
   * is taken again, as before the map existed) rather than sending some of our own
   * addresses' QUIC to the kernel; it comes back on once they fit. Entries are added
   * before the check goes on and it goes off before any is missing, so a host address is
   * never checked against an incomplete map. Not for a transport bound to one address
   * (local_addr decides there).
   */
  syncHostAddresses(addresses: readonly string[]): HostAddressSync {
    if (this.#current.localAddress !== '::') throw new Error(`syncHostAddresses: bound to ${this.#current.localAddress}, local_addr decides`);
    const wanted = new Map<string, { key: Buffer; address: string }>();
    for (const address of addresses) {
      const key = this.#m.programs.encodeHostAddrKey(address);
      wanted.set(key.toString('hex'), { key, address });
    }
    const capacity = this.#hostAddrs.maxEntries;
    if (wanted.size > capacity) {
      if (this.#current.checkLocalAddrs) this.#write({ ...this.#current, checkLocalAddrs: false });
      return { addresses: wanted.size, capacity, checking: false, added: 0, removed: 0 };
    }
    let removed = 0;
    let added = 0;
    for (const [hex, address] of this.#hostKeys) {
      if (wanted.has(hex)) continue;
      this.#hostAddrs.delete(this.#m.programs.encodeHostAddrKey(address));
      this.#hostKeys.delete(hex);
      removed++;
    }
    for (const [hex, { key, address }] of wanted) {
      if (this.#hostKeys.has(hex)) continue;
      this.#hostAddrs.update(key, this.#m.programs.HOST_ADDR_VALUE);
      this.#hostKeys.set(hex, address);
      added++;
    }
    if (!this.#current.checkLocalAddrs) this.#write({ ...this.#current, checkLocalAddrs: true });
    return { addresses: wanted.size, capacity, checking: true, added, removed };
  }

  registerSocket(queue: number, fd: number): void {
    this.#xsks.update(u32(queue), u32(fd));
  }

  unregisterSocket(queue: number): void {
    this.#xsks.delete(u32(queue));
  }

  /** Counters summed over CPUs. */
  counters(): Record<CounterName, number> {
    const values = this.#stats.lookupPerCpu(ZERO_KEY);
    if (!values) throw new Error('stoq_stats has no entry 0');
    return this.#m.programs.decodeStats(values).counters;
  }

  /** Marks the peer's conntrack entry `closing`; false when the program never saw it. */
  markClosing(peerAddress: string, peerPort: number, localPort: number): boolean {
    const key = this.#m.programs.encodeConntrackKey({ peerAddress, peerPort, localPort });
    const raw = this.#conntrack.lookup(key);
    if (!raw) return false;
    const value = this.#m.programs.decodeConntrackValue(raw);
    try {
      this.#conntrack.update(key, this.#m.programs.encodeConntrackValue({ ...value, state: 'closing' }), 'exist');
    } catch (error) {
      // LRU eviction between lookup and update: nothing left to mark.
      if ((error as { errnoCode?: string }).errnoCode === 'ENOENT') return false;
      throw error;
    }
    return true;
  }

  conntrackState(peerAddress: string, peerPort: number, localPort: number): string | null {
    const raw = this.#conntrack.lookup(this.#m.programs.encodeConntrackKey({ peerAddress, peerPort, localPort }));
    return raw ? this.#m.programs.decodeConntrackValue(raw).state : null;
  }

  deleteConntrack(peerAddress: string, peerPort: number, localPort: number): boolean {
    return this.#conntrack.delete(this.#m.programs.encodeConntrackKey({ peerAddress, peerPort, localPort }));
  }

  close(): void {
    try {
      this.detach();
    } finally {
      this.#object.close();
    }
  }
}

/** What syncHostAddresses() did. */
export interface HostAddressSync {
  /** The host's addresses it was given (duplicates removed). */
  addresses: number;
  /** stoq_host_addrs' max_entries. */
  capacity: number;
  /** check_local_addrs is on (false: more addresses than fit). */
  checking: boolean;
  /** Entries added to and removed from stoq_host_addrs. */
  added: number;
  removed: number;
}

/**
 * The Initial token bucket needs both numbers. Set alone, either one is a trap: a burst
 * without a rate never refills (each /64 is shut out for good once it has spent it), and
 * a rate without a burst limits nothing (burst 0 turns the limiter off). The program
 * accepts both forms (tests use the no-refill bucket); an application gets told.
 */
function checkInitialLimit(config: StoqConfig): void {
  if ((config.initialBurst === 0) === (config.initialRate === 0)) return;
  const [set, unset] = config.initialBurst === 0 ? ['initialRate', 'initialBurst'] : ['initialBurst', 'initialRate'];
  throw new StoqInvalidConfigError(
    `updateXdpConfig: ${set} is set but ${unset} is 0; the Initial limit needs both (a burst alone never refills, a rate alone limits nothing), or both 0 for no limit`,
    { operation: 'updateXdpConfig' },
  );
}
