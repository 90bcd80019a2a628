// A copy-mode AF_XDP socket with tiny rings (64 RX, 64 fill) on the lab veth, flooded
// by udp6_flood while nobody reads: the kernel must count the full RX ring and the
// empty fill ring, and once drained the socket must receive again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLab, type Lab } from '@stoq/netlab';
import { XskSocket } from '@stoq/af-xdp';
import { isRoot, skipReason, waitFor } from './helpers.ts';

skipReason('AF_XDP starvation test');
const flood = fileURLToPath(new URL('../../pktgen/build/udp6_flood', import.meta.url));

describe.skipIf(!isRoot)('AF_XDP ring starvation', () => {
  let lab: Lab;
  let socket: XskSocket | undefined;
  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true, timeoutMs: 2 * 60_000 });
  });
  afterAll(async () => {
    socket?.close();
    await lab?.destroy();
  });

  it('counts a full RX ring and an empty fill ring, then receives again after draining', async () => {
    expect(existsSync(flood), `${flood} is built by @stoq/pktgen`).toBe(true);
    socket = XskSocket.open({ ifname: lab.a.ifname, queueId: 0, mode: 'copy', rxSize: 64, txSize: 64, fillSize: 64, compSize: 64 });
    const sendFlood = async (count: number) =>
      JSON.parse((await lab.exec(lab.b, flood, [lab.a.address, '9400', '64', String(count), '10'])).stdout) as { sent: number };
    const first = await sendFlood(20_000); // nobody reads: 64 frames fit, the rest overflow
    const starved = socket.statistics();
    console.log(`flood of ${first.sent} into 64-entry rings, unread: ${JSON.stringify(starved.kernel)}`);
    // Fill ring (64) empties before the RX ring fills, so the kernel counts rx_dropped.
    expect(starved.kernel.rxDropped + starved.kernel.rxRingFull).toBeGreaterThan(0);
    expect(starved.kernel.rxFillRingEmptyDescs).toBeGreaterThan(0);

    let received = 0;
    const drain = () => {
      for (let b = socket!.receive(); b.count > 0; b = socket!.receive()) {
        received += b.count;
        b.release();
      }
    };
    socket.on('readable', drain);
    drain();
    const afterDrain = received;
    for (let i = 0; i < 10; i++) await sendFlood(20); // paced small bursts well under the ring size
    await waitFor(() => received - afterDrain >= 200, 5000, '200 packets after the drain');
    console.log(`drained ${afterDrain} stale frames, then received ${received - afterDrain}/200; final ${JSON.stringify(socket.statistics().kernel)}`);
    // libxdp's default program redirects the whole queue: an NDP/MLD packet may come along.
    expect(received - afterDrain).toBeGreaterThanOrEqual(200);
  }, 60_000);
});
