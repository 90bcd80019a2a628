// SPDX-License-Identifier: Apache-2.0
// One AF_XDP socket per receive queue of an interface, all sharing one UMEM, all in
// the same mode (sockets sharing a UMEM inherit the first one's mode anyway).
import type { Umem, XskSocket } from '@stoq/af-xdp';
import type { NativeModules } from './native-modules.js';

export type XskBindMode = 'zerocopy' | 'copy';

/** Frames each queue lends to the kernel for receiving, and frames kept for transmit. */
const RX_FRAMES_PER_QUEUE = 1024;
const TX_FRAMES = 2048;
/** stoq_xsks has 64 slots. */
export const MAX_QUEUES = 64;

export class XskSet {
  readonly ifname: string;
  readonly mode: XskBindMode;
  readonly umem: Umem;
  readonly sockets: XskSocket[];
  private constructor(ifname: string, mode: XskBindMode, umem: Umem, sockets: XskSocket[]) {
    this.ifname = ifname;
    this.mode = mode;
    this.umem = umem;
    this.sockets = sockets;
  }

  /** Opens sockets on queues 0..queues-1 in `mode`; on any failure closes what it opened and throws. */
  static open(m: NativeModules, ifname: string, queues: number, mode: XskBindMode): XskSet {
    const umem = m.afXdp.Umem.create({ frameCount: queues * RX_FRAMES_PER_QUEUE + TX_FRAMES, fillSize: 2048, compSize: 2048 });
    const sockets: XskSocket[] = [];
    try {
      for (let queue = 0; queue < queues; queue++) sockets.push(XskSet.#openOne(m, ifname, queue, mode, umem));
    } catch (error) {
      for (const s of sockets) s.close();
      umem.destroy();
      throw error;
    }
    return new XskSet(ifname, mode, umem, sockets);
  }

  static #openOne(m: NativeModules, ifname: string, queueId: number, mode: XskBindMode, umem: Umem): XskSocket {
    return m.afXdp.XskSocket.open({
      ifname,
      queueId,
      mode,
      umem,
      inhibitProgramLoad: true,
      rxFrames: RX_FRAMES_PER_QUEUE,
      // QUIC traffic rarely queues more than a few packets, so the RX batch does not
      // show: 100 MiB streams ran 127-147 MB/s with 128 and 123-144 MB/s with 256
      // (package default), three alternating runs each (bench/xdp-vs-dgram.mjs).
      batchSize: 128,
    });
  }

  socket(queue: number): XskSocket | undefined {
    return this.sockets.find((s) => s.queueId === queue);
  }

  close(): void {
    for (const s of this.sockets) s.close();
    this.umem.destroy();
  }
}
