// SPDX-License-Identifier: Apache-2.0
// BpfIterator: an iterator program (SEC("iter/…")) bound to its target through a
// bpf_link. Every read() is one complete pass in the kernel; the program decides
// what to write (bpf_seq_write), e.g. a summary of a 64k-entry map in a few bytes.
import { native } from './binding.js';
import { closedError, fromNative, invalidArgument } from './errors.js';

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
// native/iterator.cc has the same bound; a larger value used to wrap in the addon (2**32 → 0).
const MAX_READ_BYTES = 1024 * 1024 * 1024;

/**
 * An iterator program (SEC("iter/…")) bound to its target through a bpf_link. Each read() is one
 * complete pass in the kernel, returning what the program wrote with bpf_seq_write/bpf_seq_printf.
 */
export class BpfIterator {
  /** The name of the iterator program. */
  readonly programName: string;
  #fd: number;

  /** @internal Made by BpfProgram.attachIterator(). */
  constructor(programName: string, linkFd: number) {
    this.programName = programName;
    this.#fd = linkFd;
  }

  /** False once close() has run. */
  get attached(): boolean {
    return this.#fd >= 0;
  }

  /**
   * Runs the iterator once over its target and returns everything it wrote, up to
   * `maxBytes` (default 64 MiB, at most 1 GiB). Throws STOQ_ERR_INVALID_ARGUMENT for a bad
   * maxBytes, STOQ_ERR_CLOSED after close(), STOQ_ERR_BPF_ITERATOR if the kernel read fails.
   */
  read(maxBytes = DEFAULT_MAX_BYTES): Buffer {
    if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_READ_BYTES) {
      throw invalidArgument('iterator.read', `maxBytes must be an integer 1..${MAX_READ_BYTES}, got ${String(maxBytes)}`);
    }
    if (this.#fd < 0) throw closedError('iterator.read', `iterator ${this.programName}`);
    try {
      return native.iterRead(this.#fd, maxBytes);
    } catch (error) {
      throw fromNative(error, 'STOQ_ERR_BPF_ITERATOR');
    }
  }

  /** Releases the link. Idempotent; a failing close(2) throws STOQ_ERR_BPF_ITERATOR. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    try {
      native.closeFd(fd);
    } catch (error) {
      throw fromNative(error, 'STOQ_ERR_BPF_ITERATOR');
    }
  }
}
