// stoq_xdp's Initial token bucket is one map value per source /64, and every CPU that
// receives an Initial from that /64 updates it. A flood from one /64 sent from both
// CPUs at once (veth runs native XDP on the sending CPU) must get exactly `burst`
// Initials through with no refill: an unlocked read-modify-write lets two CPUs spend
// the same token, and the limit then grows with the number of CPUs. A veth RX queue
// is one NAPI instance, polled by one CPU at a time, so the lab has two queues and the
// sender side steers CPU i's packets to queue i (XPS): XDP runs on both CPUs at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import { BpfObject, type BpfMap, type XdpLink } from '@stoq/loader';
import { decodeStats, diffStats, encodeConfig, MAP_NAMES, objectPath, PROGRAM_NAME, type StoqStats } from '@stoq/bpf-programs';
import { udp6Flood } from '../src/xsk-rings.ts';
import { isRoot } from './helpers.ts';

const BURST = 20_000;
const PER_CPU = 40_000; // Initials each CPU sends: enough that both still send after the bucket is empty
const KEY0 = Buffer.alloc(4);

describe('Initial token bucket under two CPUs', skipUnless(isRoot, 'needs root: stoq_xdp on a lab veth under two CPUs (network namespaces, BPF)'), () => {
  let lab: Lab;
  let object: BpfObject;
  let link: XdpLink | undefined;
  let stats: BpfMap;
  const read = (): StoqStats => decodeStats(stats.lookupPerCpu(KEY0) ?? []);

  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true, queues: 2, timeoutMs: 2 * 60_000 });
    for (const q of [0, 1]) {
      await lab.exec(lab.b, 'sh', ['-c', `echo ${1 << q} > /sys/class/net/${lab.b.ifname}/queues/tx-${q}/xps_cpus`]);
    }
    object = await BpfObject.load(objectPath);
    stats = object.map(MAP_NAMES.stats);
    // No refill (rate 0): the bucket holds BURST Initials for the whole test.
    object.map(MAP_NAMES.config).update(KEY0, encodeConfig({ initialBurst: BURST, initialRate: 0 }));
    link = object.program(PROGRAM_NAME).attachXdp(lab.a.ifname, { mode: 'native' });
  });
  afterAll(async () => {
    try {
      link?.detach();
    } finally {
      object?.close();
      await lab?.destroy();
    }
  });

  it(`lets exactly ${BURST} Initials from one /64 through when both CPUs flood it`, async () => {
    const before = read();
    const floods = await Promise.all(['0', '1'].map((cpu) =>
      lab.exec(lab.b, 'taskset', ['-c', cpu, udp6Flood, lab.a.address, '9292', '1200', String(PER_CPU), '10', 'initial'], 30_000)));
    const d = diffStats(before, read()).counters;
    const passed = d.quic_passed + d.quic_redirected;
    console.log(`sent ${floods.map((f) => JSON.parse(f.stdout.trim()).sent).join(' + ')}; seen by XDP ${passed + d.initial_rate_limited_dropped}: passed ${passed}, rate-limited ${d.initial_rate_limited_dropped}, too small ${d.initial_too_small_dropped}`);
    expect(d.initial_too_small_dropped).toBe(0);
    // Enough arrived for the limit to bite on both CPUs.
    expect(d.initial_rate_limited_dropped).toBeGreaterThan(BURST / 2);
    expect(passed).toBe(BURST);
  }, 60_000);

  it('with a refill, never lets more through than burst + rate × elapsed', async () => {
    // The bucket of the first case is empty by now (burst spent, no refill then); this
    // config refills it from its last_ns, so the first packets may find it partly full.
    const RATE = 20_000; // Initials per second per /64
    const SMALL_BURST = 1_000;
    object.map(MAP_NAMES.config).update(KEY0, encodeConfig({ initialBurst: SMALL_BURST, initialRate: RATE }));
    const before = read();
    const started = performance.now();
    await Promise.all(['0', '1'].map((cpu) =>
      lab.exec(lab.b, 'taskset', ['-c', cpu, udp6Flood, lab.a.address, '9292', '1200', String(PER_CPU), '10', 'initial'], 30_000)));
    const seconds = (performance.now() - started) / 1000;
    const d = diffStats(before, read()).counters;
    const passed = d.quic_passed + d.quic_redirected;
    const ceiling = SMALL_BURST + RATE * seconds;
    console.log(`refill ${RATE}/s, burst ${SMALL_BURST}: ${passed} passed, ${d.initial_rate_limited_dropped} limited in ${seconds.toFixed(3)} s (ceiling ${Math.round(ceiling)})`);
    expect(d.initial_rate_limited_dropped).toBeGreaterThan(0);
    // The floods start after `started` and end before the clock is read, so this bounds from above.
    expect(passed).toBeLessThanOrEqual(ceiling);
    // And the refill works: more than the burst alone got through.
    expect(passed).toBeGreaterThan(SMALL_BURST);
  }, 60_000);
});
