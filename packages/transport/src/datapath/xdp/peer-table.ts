// SPDX-License-Identifier: Apache-2.0
// The XDP datapath's records per peer (address, port), bound to '::': the address the
// peer sent to, its next-hop entry and frame spec (see xdp-datapath.ts). At most
// MAX_PEERS are kept, and which one a new peer pushes out decides whether a flood of
// spoofed sources can push out the peers in use:
// - records of peers with an established connection are kept in an order of their own and
//   go only when every record is one (oldest first then);
// - the others go oldest first, and a peer heard from (or sent to) moves to the end of its
//   order at most once per epoch (the datapath ticks one every second): one number compared
//   per datagram, two map operations per peer and second.
// An evicted record is flagged; whoever holds it takes the current one (or adds a new one).
import type { Udp6FrameSpec } from '@stoq/af-xdp';
import type { HopRef, NextHop } from './next-hop.js';

/** Peers whose record is kept. */
export const MAX_PEERS = 4096;

/** What the datapath keeps per peer (address, port). */
export interface PeerRecord {
  /** `address|port`. */
  readonly key: string;
  /** Bound to '::': the destination of the peer's last AF_XDP frame (our source for it); null: the route's. */
  local: string | null;
  /** The epoch in which the record last moved to the end of its eviction order. */
  epoch: number;
  /** No longer in the table: take the current record with get(), or add() one. */
  evicted: boolean;
  /** Its next-hop entry (for `local`), taken on the first send. */
  ref: HopRef | null;
  /** The hop `spec` was built from. */
  specHop: NextHop | null;
  spec: Udp6FrameSpec | null;
}

export class PeerTable {
  /** Every record, by key: the one lookup per datagram. */
  readonly #records = new Map<string, PeerRecord>();
  /** Eviction order (oldest first) of the records of peers without an established connection. */
  readonly #unconnected = new Map<string, PeerRecord>();
  /** Eviction order of the records of peers with one: used only when #unconnected is empty. */
  readonly #connectedOrder = new Map<string, PeerRecord>();
  /** Established connections per peer key, record or not (a record added later is kept as connected). */
  readonly #connections = new Map<string, number>();
  #epoch = 0;

  /** Records kept. */
  get size(): number {
    return this.#records.size;
  }

  /** Peers with an established connection (a record or not). */
  get connectedPeers(): number {
    return this.#connections.size;
  }

  get(key: string): PeerRecord | undefined {
    return this.#records.get(key);
  }

  /** A new record at the end of its eviction order; at MAX_PEERS, one record goes first. */
  add(key: string, local: string | null): PeerRecord {
    const existing = this.#records.get(key);
    if (existing) this.#evict(existing);
    else if (this.#records.size >= MAX_PEERS) this.#evictOne();
    const peer: PeerRecord = { key, local, epoch: this.#epoch, evicted: false, ref: null, specHop: null, spec: null };
    this.#records.set(key, peer);
    this.#orderOf(key).set(key, peer);
    return peer;
  }

  /** The peer was heard from or sent to: to the end of its eviction order, once per epoch. */
  heard(peer: PeerRecord): void {
    if (peer.epoch === this.#epoch || peer.evicted) return;
    peer.epoch = this.#epoch;
    const order = this.#orderOf(peer.key);
    order.delete(peer.key);
    order.set(peer.key, peer);
  }

  /** Starts a new epoch: each peer heard from from now on moves once more. */
  tick(): void {
    this.#epoch++;
  }

  /** A connection to the peer `key` was established: its record is kept until the last one closes. */
  connectionUp(key: string): void {
    const open = (this.#connections.get(key) ?? 0) + 1;
    this.#connections.set(key, open);
    if (open === 1) this.#move(key, this.#unconnected, this.#connectedOrder);
  }

  /** An established connection to `key` closed: after the last one, the record goes in turn (from the end). */
  connectionDown(key: string): void {
    const open = (this.#connections.get(key) ?? 0) - 1;
    if (open > 0) {
      this.#connections.set(key, open);
      return;
    }
    if (!this.#connections.delete(key)) return;
    this.#move(key, this.#connectedOrder, this.#unconnected);
  }

  #orderOf(key: string): Map<string, PeerRecord> {
    return this.#connections.has(key) ? this.#connectedOrder : this.#unconnected;
  }

  #move(key: string, from: Map<string, PeerRecord>, to: Map<string, PeerRecord>): void {
    const peer = from.get(key);
    if (peer === undefined) return;
    from.delete(key);
    to.set(key, peer);
  }

  /** The oldest record of a peer without a connection, else the oldest of all. */
  #evictOne(): void {
    const order = this.#unconnected.size > 0 ? this.#unconnected : this.#connectedOrder;
    const oldest = order.values().next().value;
    if (oldest !== undefined) this.#evict(oldest);
  }

  #evict(peer: PeerRecord): void {
    peer.evicted = true;
    this.#records.delete(peer.key);
    this.#unconnected.delete(peer.key);
    this.#connectedOrder.delete(peer.key);
  }
}
