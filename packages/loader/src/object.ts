// SPDX-License-Identifier: Apache-2.0
// BpfObject: one BPF ELF object — open, verify and load, then its programs and
// maps by name. The native handle owns every fd; dropping the JS object lets the
// garbage collector release them (the addon's finalizer closes the libbpf object).
import { existsSync } from 'node:fs';
import { native, type NativeObjectHandle } from './binding.js';
import { BpfError, closedError, fromNative, invalidArgument } from './errors.js';
import { BpfMap } from './map.js';
import { BpfProgram } from './program.js';

/**
 * One BPF ELF object: open and load it, then get its programs and maps by name. Its fds are owned
 * by a native handle, closed by close() or, failing that, by the garbage collector.
 */
export class BpfObject {
  /** The ELF file this object was opened from. */
  readonly path: string;
  #handle: NativeObjectHandle | null;
  #loaded = false;
  #programs = new Map<string, BpfProgram>();
  #maps = new Map<string, BpfMap>();

  private constructor(path: string, handle: NativeObjectHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /** Parses the ELF object (no kernel work yet). */
  static open(path: string): BpfObject {
    if (typeof path !== 'string' || path.length === 0) throw invalidArgument('open', 'path must be a non-empty string');
    if (!existsSync(path)) {
      throw new BpfError(`open: no BPF object at ${path}`, {
        code: 'STOQ_ERR_BPF_NOT_FOUND', operation: 'open', errno: 2, hint: 'build the object first (clang -target bpf -O2 -g -c prog.bpf.c)',
      });
    }
    try {
      return new BpfObject(path, new native.ObjectHandle(path));
    } catch (error) {
      throw fromNative(error, 'STOQ_ERR_BPF_OPEN', { path });
    }
  }

  /** open() then load(): the common case. */
  static async load(path: string): Promise<BpfObject> {
    const object = BpfObject.open(path);
    try {
      await object.load();
    } catch (error) {
      object.close();
      throw error;
    }
    return object;
  }

  /** Whether load() has succeeded; programs and maps are available only then. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * Creates the maps and verifies and loads every program (off the main thread).
   * A verifier rejection is a BpfError with code STOQ_ERR_BPF_VERIFIER and `verifierLog`.
   */
  async load(): Promise<this> {
    const handle = this.#live('load');
    if (this.#loaded) throw invalidArgument('load', `${this.path} is already loaded`);
    try {
      await handle.load();
    } catch (error) {
      throw fromNative(error, 'STOQ_ERR_BPF_LOAD', { path: this.path });
    }
    this.#loaded = true;
    // The fds stay valid until close(); the closures refuse them afterwards.
    for (const info of handle.programs()) this.#programs.set(info.name, new BpfProgram(info, this.#fdGuard('program', info.name, info.fd)));
    for (const info of handle.maps()) this.#maps.set(info.name, new BpfMap(info, this.#fdGuard('map', info.name, info.fd)));
    return this;
  }

  /** Every program of the object (empty until loaded). Throws STOQ_ERR_CLOSED after close(). */
  programs(): BpfProgram[] {
    this.#live('programs');
    return [...this.#programs.values()];
  }

  /** Every map of the object (empty until loaded). Throws STOQ_ERR_CLOSED after close(). */
  maps(): BpfMap[] {
    this.#live('maps');
    return [...this.#maps.values()];
  }

  /**
   * The program named `name`; throws STOQ_ERR_BPF_NOT_FOUND (listing the names it has),
   * STOQ_ERR_INVALID_ARGUMENT before load() or STOQ_ERR_CLOSED after close().
   */
  program(name: string): BpfProgram {
    this.#requireLoaded('program');
    const program = this.#programs.get(name);
    if (!program) throw notFound('program', name, [...this.#programs.keys()]);
    return program;
  }

  /**
   * The map named `name`; throws STOQ_ERR_BPF_NOT_FOUND (listing the names it has),
   * STOQ_ERR_INVALID_ARGUMENT before load() or STOQ_ERR_CLOSED after close().
   */
  map(name: string): BpfMap {
    this.#requireLoaded('map');
    const map = this.#maps.get(name);
    if (!map) throw notFound('map', name, [...this.#maps.keys()]);
    return map;
  }

  /**
   * Closes every program and map fd of this object. XDP links made from its
   * programs keep the program alive in the kernel until they are detached.
   * Idempotent. Throws STOQ_ERR_BPF_LOAD (EBUSY) while load() is still running.
   */
  close(): void {
    if (!this.#handle) return;
    try {
      this.#handle.close();
    } catch (error) {
      const e = fromNative(error, 'STOQ_ERR_BPF_LOAD', { path: this.path });
      const hint = e.errnoCode === 'EBUSY' ? 'a load() is still running on a worker thread: await it (or its rejection), then close()' : undefined;
      throw new BpfError(e.message, { code: e.code, operation: 'close', errno: e.errno, cause: error, ...(hint ? { hint } : {}) });
    }
    this.#handle = null;
  }

  /** The fd for `operation` (e.g. `map.lookup`); STOQ_ERR_CLOSED naming it once the object is closed. */
  #fdGuard(kind: 'program' | 'map', name: string, fd: number): (operation: string) => number {
    return (operation) => {
      if (!this.#handle || fd < 0) throw closedError(operation, `${kind} ${name} (its object was closed)`);
      return fd;
    };
  }

  #requireLoaded(operation: string): void {
    this.#live(operation);
    if (!this.#loaded) throw invalidArgument(operation, `${this.path} is not loaded yet: await object.load() first`);
  }

  #live(operation: string): NativeObjectHandle {
    if (!this.#handle) throw closedError(operation, `object ${this.path}`);
    return this.#handle;
  }
}

function notFound(kind: string, name: string, known: string[]): BpfError {
  return new BpfError(`no ${kind} named ${JSON.stringify(name)} (has: ${known.join(', ') || 'none'})`, {
    code: 'STOQ_ERR_BPF_NOT_FOUND', operation: kind, errno: 2,
  });
}
