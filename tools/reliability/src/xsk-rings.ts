// Overflows the rings of a copy-mode AF_XDP socket (64-entry RX ring) on a lab veth with
// udp6_flood while nobody reads, then drains it and checks it receives again. Which
// counter the kernel bumps depends on which ring runs out first (net/xdp/xsk.c,
// __xsk_rcv in copy mode: it takes a UMEM frame from the fill ring first — rx_dropped
// and rx_fill_ring_empty_descs when there is none — and only then reserves an RX
// descriptor — rx_ring_full when there is none, the frame going back to the pool):
// - fill ring 64 = RX ring 64: both run out on the same packet and the fill ring is
//   checked first, so every overflow is rx_dropped;
// - fill ring stocked with 4,096 frames, RX ring 64: the RX ring is full long before
//   the fill ring is empty, so every overflow is rx_ring_full.
// Used by test/xsk-starvation.test.ts and scripts/xsk-rings.mjs.
import { fileURLToPath } from 'node:url';
import type { Lab } from '@stoq/netlab';
import { ParsedUdp6Frame, parseUdp6Frame, XskSocket, type NativeStatistics } from '@stoq/af-xdp';

export const udp6Flood = fileURLToPath(new URL('../../pktgen/build/udp6_flood', import.meta.url));
const PORT = 9400;
const PAYLOAD = 64;

export interface RingOverflowResult {
  /** Fill ring size (all of it lent to the kernel at open); the RX ring is 64. */
  fillSize: number;
  /** Flood packets udp6_flood sent while nobody read. */
  sent: number;
  /**
   * Packets side B's veth transmitted over the same window: the flood plus whatever the
   * fresh link sends on its own (MLD reports, router solicitations), which the socket's
   * redirect program takes off queue 0 like the flood.
   */
  arrived: number;
  /** XDP_STATISTICS after the unread flood. */
  overflowed: NativeStatistics['kernel'];
  /** udp6_flood sequence numbers found on the RX ring afterwards, in ring order. */
  stale: number[];
  /**
   * XDP_STATISTICS right after the drain. It can be ahead of `overflowed`: a packet the
   * fresh link sends on its own (an MLD report) may still meet the full ring after the
   * counters settled (one clean run in twenty counted 1,937 against 1,936).
   */
  drained: NativeStatistics['kernel'];
  /** Packets side B's veth transmitted from before the flood until right after the drain. */
  arrivedByDrain: number;
  /** Sequence numbers received after the drain: 10 paced bursts of 20 (0..19 each). */
  again: number[];
  /** XDP_STATISTICS at the end. */
  final: NativeStatistics['kernel'];
}

/** What udp6_flood sends: payload = 8-byte little-endian sequence number, then 0xa5 bytes. */
function floodSequence(frame: Uint8Array, parsed: ParsedUdp6Frame): number | null {
  // No checksum check: veth hands XDP the sender's CHECKSUM_PARTIAL skb, whose UDP
  // checksum field holds only the pseudo-header sum.
  if (!parseUdp6Frame(frame, parsed) || parsed.dstPort !== PORT) return null; // NDP/MLD etc.
  if (parsed.payloadLength !== PAYLOAD) throw new Error(`udp6_flood payload of ${parsed.payloadLength} bytes, expected ${PAYLOAD}`);
  const p = parsed.payloadOffset;
  for (let i = 8; i < PAYLOAD; i++) {
    if (frame[p + i] !== 0xa5) throw new Error(`udp6_flood payload byte ${i} is ${frame[p + i]}, expected 0xa5`);
  }
  return Number(new DataView(frame.buffer, frame.byteOffset + p, 8).getBigUint64(0, true));
}

/** Takes every frame off the RX ring; returns the udp6_flood sequence numbers in ring order. */
function drain(s: XskSocket): number[] {
  const parsed = new ParsedUdp6Frame();
  const seqs: number[] = [];
  for (let b = s.receive(); b.count > 0; b = s.receive()) {
    for (let i = 0; i < b.count; i++) {
      const seq = floodSequence(b.packet(i), parsed);
      if (seq !== null) seqs.push(seq);
    }
    b.release();
  }
  return seqs;
}

/** Opens the socket, retrying while a just-closed one still holds the queue (released asynchronously). */
async function open(lab: Lab, fillSize: number): Promise<XskSocket> {
  const options = { ifname: lab.a.ifname, queueId: 0, mode: 'copy', rxSize: 64, txSize: 64, fillSize, compSize: 64 } as const;
  for (let attempt = 0; ; attempt++) {
    try {
      return XskSocket.open(options);
    } catch (error) {
      if (attempt >= 40 || (error as { errno?: number }).errno !== 16) throw error; // EBUSY
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * On `lab` (side A in this namespace, static neighbours): socket on A's veth, queue 0, copy
 * mode, RX ring 64 and the given fill ring; `count` packets from side B unread; drain;
 * 10 paced bursts of 20. The socket is always closed at the end.
 */
export async function overflowRxRing(lab: Lab, fillSize: number, count: number): Promise<RingOverflowResult> {
  const sendFlood = async (n: number) =>
    JSON.parse((await lab.exec(lab.b, udp6Flood, [lab.a.address, String(PORT), String(PAYLOAD), String(n), '10'])).stdout) as { sent: number };
  const txPackets = async () => Number((await lab.exec(lab.b, 'cat', [`/sys/class/net/${lab.b.ifname}/statistics/tx_packets`])).stdout);
  const socket = await open(lab, fillSize);
  try {
    const txBefore = await txPackets();
    const { sent } = await sendFlood(count);
    // The counters move in softirq on the other CPU: wait until they stop moving (≤ 1 s).
    let overflowed = socket.statistics().kernel;
    for (let i = 0; i < 20; i++) {
      await sleep(50);
      const now = socket.statistics().kernel;
      if (now.rxRingFull === overflowed.rxRingFull && now.rxDropped === overflowed.rxDropped) break;
      overflowed = now;
    }
    const arrived = (await txPackets()) - txBefore;
    const stale = drain(socket);
    const drained = socket.statistics().kernel;
    const arrivedByDrain = (await txPackets()) - txBefore;
    const again: number[] = [];
    socket.on('readable', () => again.push(...drain(socket)));
    for (let i = 0; i < 10; i++) await sendFlood(20); // paced bursts well under the ring size
    for (const deadline = Date.now() + 5000; again.length < 200 && Date.now() < deadline; ) await sleep(25);
    return { fillSize, sent, arrived, overflowed, stale, drained, arrivedByDrain, again, final: socket.statistics().kernel };
  } finally {
    socket.close();
  }
}
