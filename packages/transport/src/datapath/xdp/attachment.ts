// SPDX-License-Identifier: Apache-2.0
// Is our bpf_link still attached? Someone outside can detach it (`bpftool link
// detach id N`, BPF_LINK_DETACH) or delete the interface; the link fd stays open and
// valid, but the kernel clears the link's device. /proc/self/fdinfo of the link fd
// shows that (`ifindex: 0`) and which program the link runs (`prog_id`): one small
// file read, no syscall into BPF and no netlink dump, so it is cheap to poll.
import { readFileSync } from 'node:fs';

/** Where the link stands; `reason` says what changed when it is no longer ours on the interface. */
export type LinkState = { attached: true } | { attached: false; reason: string };

export interface LinkRef {
  readonly fd: number;
  readonly ifname: string;
  readonly ifindex: number;
  readonly programId: number;
}

function field(info: string, name: string): number | null {
  const m = new RegExp(`^${name}:\\s*(\\d+)$`, 'm').exec(info);
  return m ? Number(m[1]) : null;
}

export function linkState(link: LinkRef): LinkState {
  if (link.fd < 0) return { attached: false, reason: 'the bpf_link was closed' };
  let info: string;
  try {
    info = readFileSync(`/proc/self/fdinfo/${link.fd}`, 'utf8');
  } catch (error) {
    return { attached: false, reason: `the bpf_link fd ${link.fd} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  const ifindex = field(info, 'ifindex');
  // A kernel whose XDP links print no ifindex gives us nothing to watch: assume attached.
  if (ifindex === null) return { attached: true };
  if (ifindex === 0) {
    return {
      attached: false,
      reason: `stoq_xdp's bpf_link on ${link.ifname} was detached from outside the process (e.g. bpftool link detach, or the interface was deleted)`,
    };
  }
  if (ifindex !== link.ifindex) return { attached: false, reason: `the bpf_link moved from ${link.ifname} (ifindex ${link.ifindex}) to ifindex ${ifindex}` };
  const programId = field(info, 'prog_id');
  if (programId !== null && programId !== link.programId) {
    return { attached: false, reason: `the bpf_link on ${link.ifname} now runs program id ${programId}, not stoq_xdp (id ${link.programId}): replaced from outside` };
  }
  return { attached: true };
}

/** Polls linkState every `intervalMs` on an unref'd timer and reports the first loss, once. */
export class AttachmentWatch {
  readonly #link: LinkRef;
  readonly #onLost: (reason: string) => void;
  #timer: NodeJS.Timeout | null;
  #lastCheck = 0;

  constructor(link: LinkRef, intervalMs: number, onLost: (reason: string) => void) {
    this.#link = link;
    this.#onLost = onLost;
    this.#timer = setInterval(() => this.check(), intervalMs);
    this.#timer.unref();
  }

  /**
   * Checks now (at most once per `minGapMs`; e.g. on a receive-path hint) and reports
   * a loss; returns true when the link is gone.
   */
  check(minGapMs = 0): boolean {
    if (this.#timer === null) return true;
    const now = Date.now();
    if (minGapMs > 0 && now - this.#lastCheck < minGapMs) return false;
    this.#lastCheck = now;
    const state = linkState(this.#link);
    if (state.attached) return false;
    this.stop();
    this.#onLost(state.reason);
    return true;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
