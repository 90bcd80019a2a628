#!/usr/bin/env node
// AF_XDP ring overflow (root): `pnpm xsk-rings -- --count 2000` — a copy-mode socket with
// a 64-entry RX ring flooded while unread, once with a 64-entry fill ring (the fill ring
// runs dry: rx_dropped) and once with 4,096 frames on the fill ring (the RX ring is full:
// rx_ring_full), then drained and checked to receive 200 paced packets intact.
import { createLab } from '@stoq/netlab';
import { overflowRxRing } from '../dist/xsk-rings.js';
import { arg, writeReport } from './report.mjs';

const count = arg('count', 2000);
const lab = await createLab({ hostSide: true, staticNeighbours: true, timeoutMs: 2 * 60_000 });
let small, large;
try {
  small = await overflowRxRing(lab, 64, count);
  large = await overflowRxRing(lab, 4096, count);
} finally {
  await lab.destroy();
}
const figures = (r) => ({
  [`fill ${r.fillSize} / RX 64: sent unread`]: r.sent,
  [`fill ${r.fillSize} / RX 64: rx_ring_full / rx_dropped / rx_fill_ring_empty_descs`]: `${r.overflowed.rxRingFull} / ${r.overflowed.rxDropped} / ${r.overflowed.rxFillRingEmptyDescs}`,
  [`fill ${r.fillSize} / RX 64: frames on the ring (first seq … last)`]: `${r.stale.length} (${r.stale[0]} … ${r.stale.at(-1)})`,
  [`fill ${r.fillSize} / RX 64: received intact after the drain`]: `${r.again.length} / 200`,
});
console.log(JSON.stringify({ small: figures(small), large: figures(large) }, null, 2));
writeReport('xsk-rings', { command: `pnpm xsk-rings -- --count ${count}`, summary: { ...figures(small), ...figures(large) } });
const ok = (r) => r.again.length === 200;
process.exit(large.overflowed.rxRingFull > 0 && ok(small) && ok(large) ? 0 : 1);
