// SPDX-License-Identifier: Apache-2.0
// BpfMap: typed access to one map by fd. Sizes are checked here so a wrong key or
// value is a clear error, never a kernel read past a buffer.
import { unlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { onBpffs } from '@stoq/native-support';
import { native, type NativeMapInfo } from './binding.js';
import { ensureBpffs } from './bpffs.js';
import { BpfError, closedError, fromNative, invalidArgument, optionsObject } from './errors.js';

/**
 * When BpfMap.update() may write: `any` creates or replaces (BPF_ANY), `noexist` only
 * creates (BPF_NOEXIST, EEXIST if the key is there), `exist` only replaces (BPF_EXIST,
 * ENOENT if it is not).
 */
export type UpdateFlag = 'any' | 'noexist' | 'exist';
const UPDATE_FLAGS: Readonly<Record<UpdateFlag, number>> = { any: 0, noexist: 1, exist: 2 };

const PER_CPU_TYPES = new Set(['percpu_array', 'percpu_hash', 'lru_percpu_hash', 'percpu_cgroup_storage']);

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * One BPF map, by fd: lookups, updates, deletes and iteration with key and value sizes checked here
 * (a wrong size throws STOQ_ERR_INVALID_ARGUMENT); kernel failures throw BpfError STOQ_ERR_BPF_MAP.
 */
export class BpfMap {
  /** The map's name (truncated by the kernel to 15 characters). */
  readonly name: string;
  /** The map type as libbpf names it, e.g. `hash`, `percpu_array`, `xskmap`. */
  readonly type: string;
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  readonly valueSize: number;
  /** The most entries the map can hold. */
  readonly maxEntries: number;
  /**
   * Whether values are per CPU (percpu_array, percpu_hash, lru_percpu_hash, percpu_cgroup_storage):
   * use lookupPerCpu() and entriesPerCpu() for those.
   */
  readonly isPerCpu: boolean;
  /** How lookupBatch() got its entries the last time: the kernel's batch op or key iteration. */
  lastBatchMethod: 'batch' | 'iteration' | null = null;
  /** The fd, or STOQ_ERR_CLOSED naming `operation` once the map (or its object) is closed. */
  readonly #fd: (operation: string) => number;
  readonly #possibleCpus: number;
  #pinnedAt: string | null = null;

  /** @internal Maps come from BpfObject.map() or BpfMap.openByName(). */
  constructor(info: NativeMapInfo, fd: (operation: string) => number) {
    this.name = info.name;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.isPerCpu = PER_CPU_TYPES.has(info.type);
    this.#fd = fd;
    this.#possibleCpus = native.possibleCpus();
  }

  /** Opens maps another process created, by name (like `bpftool map show name X`). Caller closes them. */
  static openByName(name: string): BpfMap[] {
    if (typeof name !== 'string' || name === '') {
      throw invalidArgument('openByName', `name must be a non-empty string, got ${typeof name === 'string' ? '""' : String(name)}`);
    }
    let found;
    try {
      found = native.openMapsByName(name);
    } catch (error) {
      throw fromNative(error, 'STOQ_ERR_BPF_MAP', { mapName: name });
    }
    return found.map((info) => {
      let fd = info.fd;
      const map = new BpfMap(info, (operation) => {
        if (fd < 0) throw closedError(operation, `map ${name}`);
        return fd;
      });
      map.close = () => {
        if (fd >= 0) native.closeFd(fd);
        fd = -1;
      };
      return map;
    });
  }

  /** The map's fd; throws STOQ_ERR_CLOSED once the map (or its object) is closed. */
  get fd(): number {
    return this.#fd('map.fd');
  }

  /** Releases a map opened with openByName(); maps of a BpfObject close with it. */
  close(): void {}

  /**
   * The value stored at `key`, or null if there is none. Per-CPU maps throw
   * STOQ_ERR_INVALID_ARGUMENT (use lookupPerCpu()).
   */
  lookup(key: Uint8Array): Buffer | null {
    if (this.isPerCpu) throw invalidArgument('map.lookup', `${this.name} is per-CPU: use lookupPerCpu()`);
    return this.#call('map.lookup', () => native.mapLookup(this.#fd('map.lookup'), this.#key(key, 'map.lookup'), this.valueSize));
  }

  /** One value per possible CPU (the kernel pads each to 8 bytes; the padding is dropped). */
  lookupPerCpu(key: Uint8Array): Buffer[] | null {
    if (!this.isPerCpu) throw invalidArgument('map.lookupPerCpu', `${this.name} is not a per-CPU map`);
    const stride = this.#stride();
    const all = this.#call('map.lookupPerCpu', () => native.mapLookup(this.#fd('map.lookupPerCpu'), this.#key(key, 'map.lookupPerCpu'), stride * this.#possibleCpus));
    if (!all) return null;
    return Array.from({ length: this.#possibleCpus }, (_, cpu) => all.subarray(cpu * stride, cpu * stride + this.valueSize));
  }

  /**
   * Writes `value` at `key`. Per-CPU maps take one value per possible CPU, or a single value copied
   * to every CPU. `flags` defaults to `any`.
   */
  update(key: Uint8Array, value: Uint8Array | readonly Uint8Array[], flags: UpdateFlag = 'any'): void {
    // Own keys only: `in` would take 'toString' and the other Object.prototype names.
    if (typeof flags !== 'string' || !Object.hasOwn(UPDATE_FLAGS, flags)) throw invalidArgument('map.update', `flags must be one of ${Object.keys(UPDATE_FLAGS).join(', ')}`);
    const bytes = this.isPerCpu ? this.#perCpuValue(value) : this.#value(value);
    this.#call('map.update', () => native.mapUpdate(this.#fd('map.update'), this.#key(key, 'map.update'), bytes, UPDATE_FLAGS[flags]));
  }

  /** Removes `key`; true if it was present, false if there was no such key. */
  delete(key: Uint8Array): boolean {
    return this.#call('map.delete', () => native.mapDelete(this.#fd('map.delete'), this.#key(key, 'map.delete')));
  }

  /**
   * Walks the keys with BPF_MAP_GET_NEXT_KEY; keys added or removed meanwhile may be missed or seen
   * twice. Stops after twice maxEntries keys at most.
   */
  *keys(): IterableIterator<Buffer> {
    let current: Buffer | null = null;
    // Bounded: a map never yields more keys than it can hold (plus churn while iterating).
    for (let i = 0; i <= this.maxEntries * 2; i++) {
      const previous: Buffer | null = current;
      const next: Buffer | null = this.#call('map.keys', () => native.mapNextKey(this.#fd('map.keys'), previous, this.keySize));
      if (!next) return;
      current = next;
      yield next;
    }
  }

  /**
   * Key/value pairs, key by key (entries deleted during the walk are skipped). Per-CPU maps throw
   * STOQ_ERR_INVALID_ARGUMENT (use entriesPerCpu()).
   */
  *entries(): IterableIterator<[Buffer, Buffer]> {
    if (this.isPerCpu) throw invalidArgument('map.entries', `${this.name} is per-CPU: use entriesPerCpu()`);
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value) yield [key, value]; // deleted between next_key and lookup: skip
    }
  }

  /**
   * Key and per-CPU values, key by key (entries deleted during the walk are skipped); per-CPU maps
   * only (others throw STOQ_ERR_INVALID_ARGUMENT: use entries()).
   */
  *entriesPerCpu(): IterableIterator<[Buffer, Buffer[]]> {
    if (!this.isPerCpu) throw invalidArgument('map.entriesPerCpu', `${this.name} is not a per-CPU map: use entries()`);
    for (const key of this.keys()) {
      const values = this.lookupPerCpu(key);
      if (values) yield [key, values];
    }
  }

  /**
   * Every entry, with BPF_MAP_LOOKUP_BATCH where the kernel supports it for this
   * map type (hash maps), else by key iteration; `lastBatchMethod` says which.
   * Per-CPU maps return their raw per-CPU values concatenated (8-byte stride).
   */
  lookupBatch(options: { batchSize?: number } = {}): Array<[Buffer, Buffer]> {
    const batchSize = optionsObject('map.lookupBatch', options).batchSize ?? 256;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 65536) throw invalidArgument('map.lookupBatch', 'batchSize must be 1..65536');
    const valueLength = this.isPerCpu ? this.#stride() * this.#possibleCpus : this.valueSize;
    try {
      const { keys, values, count } = native.mapLookupBatch(this.#fd('map.lookupBatch'), this.keySize, valueLength, batchSize);
      this.lastBatchMethod = 'batch';
      return Array.from({ length: count }, (_, i) => [
        keys.subarray(i * this.keySize, (i + 1) * this.keySize),
        values.subarray(i * valueLength, (i + 1) * valueLength),
      ]);
    } catch (error) {
      const errno = (error as { errno?: number }).errno;
      if (errno !== 22 && errno !== 524 && errno !== 95) throw fromNative(error, 'STOQ_ERR_BPF_MAP', { mapName: this.name });
    }
    this.lastBatchMethod = 'iteration';
    const out: Array<[Buffer, Buffer]> = [];
    for (const key of this.keys()) {
      const value = this.isPerCpu ? this.#rawPerCpu(key) : this.lookup(key);
      if (value) out.push([key, value]);
    }
    return out;
  }

  /**
   * Pins the map in bpffs (mounting it if this namespace has none). Pinned maps are 0600 by bpffs' mode.
   * A BpfMap holds one pin of its own: pinning again before unpin() throws STOQ_ERR_BPF_PIN (the
   * first pin would otherwise outlive unpin()). A path outside any bpf filesystem is
   * STOQ_ERR_BPF_PIN saying so (the kernel answers EPERM there, even for root).
   */
  pin(path: string): void {
    if (typeof path !== 'string' || !path.startsWith('/')) throw invalidArgument('map.pin', 'path must be absolute');
    const fd = this.#fd('map.pin');
    if (this.#pinnedAt !== null) {
      throw new BpfError(`pin: map ${this.name} is already pinned at ${this.#pinnedAt} by this BpfMap`, {
        code: 'STOQ_ERR_BPF_PIN', operation: 'pin', errno: constants.errno.EEXIST,
        hint: `unpin() first to move the pin; other processes open the map by that path (${this.#pinnedAt})`,
      });
    }
    const bpffs = ensureBpffs();
    if (!bpffs.mountPoint) {
      throw new BpfError(`cannot pin ${this.name}: no bpffs`, { code: 'STOQ_ERR_BPF_PIN', operation: 'pin', hint: bpffs.reason ?? 'mount -t bpf bpf /sys/fs/bpf' });
    }
    try {
      native.objPin(fd, path);
    } catch (error) {
      const errno = (error as { errno?: unknown }).errno;
      if (typeof errno === 'number' && onBpffs(path) === false) {
        throw new BpfError(`pin: ${path} is not on a bpf filesystem`, {
          code: 'STOQ_ERR_BPF_PIN', operation: 'pin', errno, cause: error,
          hint: `pin paths must be on a bpf filesystem, e.g. ${bpffs.mountPoint}/${this.name}`,
        });
      }
      if (errno === constants.errno.ENOENT) {
        throw new BpfError(`pin: ${dirname(path)} does not exist`, {
          code: 'STOQ_ERR_BPF_PIN', operation: 'pin', errno, cause: error, hint: `create the directory first (mkdir -p ${dirname(path)}): bpffs pins need their parent directory`,
        });
      }
      throw fromNative(error, 'STOQ_ERR_BPF_PIN', { path });
    }
    this.#pinnedAt = path;
  }

  /** Where pin() pinned this map, or null (never pinned, or unpinned since). */
  get pinnedAt(): string | null {
    return this.#pinnedAt;
  }

  /**
   * Removes the pin made by pin() from bpffs; does nothing if this object did not pin the map.
   * Throws STOQ_ERR_BPF_PIN if the pin cannot be removed; if it was already gone (ENOENT),
   * later calls do nothing.
   */
  unpin(): void {
    const path = this.#pinnedAt;
    if (!path) return;
    try {
      unlinkSync(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      const gone = code === 'ENOENT';
      if (gone) this.#pinnedAt = null; // nothing is left to remove
      throw new BpfError(`unpin: cannot remove ${path}: ${code || String(error)}`, {
        code: 'STOQ_ERR_BPF_PIN', operation: 'unpin', errno: Math.abs((error as NodeJS.ErrnoException).errno ?? 0), cause: error,
        hint: gone ? 'the pin was already removed by something else (rm, another process)' : 'removing a pin needs write access to its bpffs directory',
      });
    }
    this.#pinnedAt = null;
  }

  #rawPerCpu(key: Buffer): Buffer | null {
    return this.#call('map.lookupBatch', () => native.mapLookup(this.#fd('map.lookupBatch'), key, this.#stride() * this.#possibleCpus));
  }

  #stride(): number {
    return Math.ceil(this.valueSize / 8) * 8;
  }

  #key(key: Uint8Array, operation: string): Buffer {
    if (!(key instanceof Uint8Array) || key.byteLength !== this.keySize) {
      throw invalidArgument(operation, `${this.name} keys are ${this.keySize} bytes, got ${key instanceof Uint8Array ? key.byteLength : typeof key}`);
    }
    return toBuffer(key);
  }

  #value(value: Uint8Array | readonly Uint8Array[]): Buffer {
    if (!(value instanceof Uint8Array) || value.byteLength !== this.valueSize) {
      throw invalidArgument('map.update', `${this.name} values are ${this.valueSize} bytes`);
    }
    return toBuffer(value);
  }

  #perCpuValue(value: Uint8Array | readonly Uint8Array[]): Buffer {
    const values = value instanceof Uint8Array ? Array.from({ length: this.#possibleCpus }, () => value) : value;
    if (values.length !== this.#possibleCpus || values.some((v) => !(v instanceof Uint8Array) || v.byteLength !== this.valueSize)) {
      throw invalidArgument('map.update', `${this.name} is per-CPU: pass ${this.#possibleCpus} values of ${this.valueSize} bytes (or one to copy to every CPU)`);
    }
    const stride = this.#stride();
    const out = Buffer.alloc(stride * this.#possibleCpus);
    values.forEach((v, cpu) => out.set(v, cpu * stride));
    return out;
  }

  #call<T>(operation: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof BpfError) throw error;
      throw fromNative(error, 'STOQ_ERR_BPF_MAP', { mapName: this.name });
    }
  }
}
