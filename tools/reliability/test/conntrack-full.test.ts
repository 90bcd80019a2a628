// stoq_conntrack is an LRU hash of 65,536 entries: 70,000 distinct peers (real
// stoq_xdp, frames through BPF_PROG_TEST_RUN) must evict the oldest, never fail a
// packet, and keep tracking the newest peers.
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { buildUdp6Frame, ipv6ToBytes, macToBytes } from '@stoq/af-xdp';
import { BpfObject } from '@stoq/loader';
import { decodeConntrack, decodeStats, encodeConntrackKey, MAP_NAMES, objectPath, PROGRAM_NAME } from '@stoq/bpf-programs';
import { isRoot } from './helpers.ts';

const PEERS = 70_000;

function peerAddress(i: number): string {
  return `fd00:77::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
}

describe('stoq_conntrack full', skipUnless(isRoot, 'needs root: loading stoq_xdp and filling stoq_conntrack (BPF)'), () => {
  it(`${PEERS} distinct peers: LRU eviction, every packet still classified, newest peers tracked`, async () => {
    const object = await BpfObject.load(objectPath);
    try {
      const program = object.program(PROGRAM_NAME);
      const frame = Buffer.alloc(128);
      const payload = Buffer.alloc(40, 0x41); // a QUIC short header (0x41: fixed bit set)
      const verdicts = new Map<string, number>();
      for (let i = 0; i < PEERS; i++) {
        const len = buildUdp6Frame(frame, {
          srcMac: macToBytes('02:00:00:00:00:02'), dstMac: macToBytes('02:00:00:00:00:01'),
          srcAddress: ipv6ToBytes(peerAddress(i)), dstAddress: ipv6ToBytes('fd00:77::1'),
          srcPort: 40000 + (i % 1000), dstPort: 9292,
        }, payload);
        const { action, retval } = program.testRun(frame.subarray(0, len));
        const verdict = action ?? `retval ${retval}`; // an unknown XDP action keeps its number
        verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      }
      const conntrack = object.map(MAP_NAMES.conntrack);
      const entries = [...conntrack.keys()].length;
      const stats = decodeStats(object.map(MAP_NAMES.stats).lookupPerCpu(Buffer.alloc(4)) ?? []);
      let newestTracked = 0;
      for (let i = PEERS - 1000; i < PEERS; i++) {
        const key = encodeConntrackKey({ peerAddress: peerAddress(i), peerPort: 40000 + (i % 1000), localPort: 9292 });
        const value = conntrack.lookup(key);
        if (value && decodeConntrack(key, value).state === 'established') newestTracked++;
      }
      console.log(`conntrack after ${PEERS} peers: ${entries} entries, verdicts ${JSON.stringify(Object.fromEntries(verdicts))}, ` +
        `quic_passed ${stats.counters.quic_passed}, newest 1000 peers tracked: ${newestTracked}`);
      expect(Object.fromEntries(verdicts)).toEqual({ PASS: PEERS });
      expect(stats.counters.quic_passed).toBe(PEERS);
      expect(entries).toBeLessThanOrEqual(65_536);
      expect(entries).toBeGreaterThan(60_000);
      expect(newestTracked).toBeGreaterThanOrEqual(990);
    } finally {
      object.close();
    }
  }, 120_000);
});
