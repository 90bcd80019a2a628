// SPDX-License-Identifier: Apache-2.0
// A real copy-mode AF_XDP socket (@stoq/af-xdp) registered in this program's
// stoq_xsks at one queue: stoq_xdp owns the XSKMAP, so libxdp loads nothing.
import { XskSocket } from '@stoq/af-xdp';
import type { BpfMap } from '@stoq/loader';

export interface XskReceiver {
  /** Lengths of the frames received so far. */
  readonly received: number[];
  /** The 8 bytes in front of each frame (XDP metadata when timestamp_meta is on). */
  readonly metadata: bigint[];
  readonly mode: string;
  /** Resolves once `count` frames arrived, or after `timeoutMs` with what there is. */
  waitFor(count: number, timeoutMs: number): Promise<void>;
  /** Closing the socket also takes it out of the XSKMAP (the kernel does that). */
  close(): void;
}

/** The kernel frees a closed socket's queue asynchronously: retry EBUSY, bounded. */
async function openWhenFree(ifname: string, queueId: number): Promise<XskSocket> {
  const end = Date.now() + 3000;
  for (;;) {
    try {
      return XskSocket.open({ ifname, queueId, mode: 'copy', inhibitProgramLoad: true });
    } catch (err) {
      if ((err as { errno?: number }).errno !== 16 || Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export async function openXskReceiver(ifname: string, queueId: number, xsks: BpfMap): Promise<XskReceiver> {
  const socket = await openWhenFree(ifname, queueId);
  const received: number[] = [];
  const metadata: bigint[] = [];
  try {
    socket.updateXskMap(xsks.fd);
  } catch (err) {
    socket.close();
    throw err;
  }
  socket.on('readable', () => {
    for (let batch = socket.receive(); batch.count > 0; batch = socket.receive()) {
      for (let i = 0; i < batch.count; i++) {
        received.push(batch.lengths[i]!);
        metadata.push(batch.metadataTimestamp(i));
      }
      batch.release();
    }
  });
  return {
    received,
    metadata,
    mode: socket.mode,
    async waitFor(count, timeoutMs) {
      const end = Date.now() + timeoutMs;
      while (received.length < count && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    },
    close() {
      socket.removeAllListeners('readable');
      socket.close();
    },
  };
}
