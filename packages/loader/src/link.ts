// SPDX-License-Identifier: Apache-2.0
// XdpLink: an XDP program attached to an interface through a bpf_link. The
// attachment lives exactly as long as the link fd: detach() closes it, and so does
// the kernel when the process exits or crashes, so nothing is left on the interface.
import { native } from './binding.js';
import { fromNative } from './errors.js';

/**
 * How an XDP program runs: `native` in the driver (XDP_FLAGS_DRV_MODE), `generic` in the kernel
 * stack after skb allocation (XDP_FLAGS_SKB_MODE), slower but supported by every driver.
 */
export type XdpMode = 'native' | 'generic';

/**
 * An XDP program attached to an interface through a bpf_link. The attachment lasts as long as the
 * link fd: detach() closes it, and so does the kernel when the process exits.
 */
export class XdpLink {
  /** The interface's name. */
  readonly ifname: string;
  /** The interface's index. */
  readonly ifindex: number;
  /** The mode the kernel accepted (read from the attach flags that succeeded). */
  readonly mode: XdpMode;
  /** The kernel id of the attached program (as `bpftool prog` shows it). */
  readonly programId: number;
  /** Rungs tried before this mode was accepted (mode 'auto'), each with its reason. */
  readonly fallbacks: ReadonlyArray<{
    /** The mode the kernel refused. */
    mode: XdpMode;
    /** Its errno name and message. */
    reason: string;
  }>;
  #fd: number;

  /** @internal Made by BpfProgram.attachXdp(). */
  constructor(init: { fd: number; ifname: string; ifindex: number; mode: XdpMode; programId: number; fallbacks: Array<{ mode: XdpMode; reason: string }> }) {
    this.#fd = init.fd;
    this.ifname = init.ifname;
    this.ifindex = init.ifindex;
    this.mode = init.mode;
    this.programId = init.programId;
    this.fallbacks = init.fallbacks;
  }

  /** False once detach() has run. */
  get attached(): boolean {
    return this.#fd >= 0;
  }

  /** The link's fd (e.g. to pin it); -1 once detached. */
  get fd(): number {
    return this.#fd;
  }

  /** Removes the program from the interface. Idempotent. */
  detach(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    try {
      native.closeFd(fd);
    } catch (error) {
      throw fromNative(error, 'STOQ_ERR_XDP_ATTACH', { ifname: this.ifname });
    }
  }
}
