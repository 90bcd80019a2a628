// SPDX-License-Identifier: Apache-2.0
// Cost of building one UDP/IPv6 frame in place, as the AF_XDP send path does for every
// datagram: finishUdp6Frame (headers + checksum), and the checksum sum alone against
// the byte-wise baseline (two bytes per step, what sumWords did before it read 32-bit
// words), side by side in one run; median of 5 rounds. Pure CPU, no privileges.
// Build first (pnpm run build).   node bench/frame.mjs [frames per round, default 200000]
import { finishUdp6Frame, ipv6ToBytes, macToBytes, sumWords } from '../dist/index.js';

const N = Number(process.argv[2] ?? 200_000);
const ROUNDS = 5;
const umem = new Uint8Array(new ArrayBuffer(64 * 4096));
for (let i = 0; i < umem.length; i++) umem[i] = (i * 7 + 3) & 0xff;
const frames = Array.from({ length: 64 }, (_, k) => umem.subarray(k * 4096, (k + 1) * 4096));
const spec = {
  srcMac: macToBytes('02:00:00:00:00:01'), dstMac: macToBytes('02:00:00:00:00:02'),
  srcAddress: ipv6ToBytes('fd00::1'), dstAddress: ipv6ToBytes('fd00::2'), srcPort: 9292, dstPort: 40000,
};

/** The baseline: big-endian 16-bit words, two byte loads each. */
function byteWiseSum(bytes, start, end) {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  return sum;
}

let sink = 0;
/** Median ns per call of fn(frame) over ROUNDS rounds of N calls (after one untimed round). */
function measure(fn) {
  const rounds = [];
  for (let round = -1; round < ROUNDS; round++) {
    const t0 = performance.now();
    for (let r = 0; r < N; r++) sink += fn(frames[r & 63]);
    if (round >= 0) rounds.push(((performance.now() - t0) * 1e6) / N);
  }
  return rounds.sort((a, b) => a - b)[ROUNDS >> 1];
}

for (const payload of [64, 1350]) {
  const udpLength = 8 + payload;
  const frame = measure((f) => finishUdp6Frame(f, spec, payload));
  const words = measure((f) => sumWords(f, 54, 54 + udpLength));
  const bytes = measure((f) => byteWiseSum(f, 54, 54 + udpLength));
  console.log(
    `${String(payload).padStart(4)} B payload: finishUdp6Frame ${frame.toFixed(0)} ns/frame; ` +
      `checksum sum of ${udpLength} B: sumWords ${words.toFixed(0)} ns, byte-wise baseline ${bytes.toFixed(0)} ns (${(bytes / words).toFixed(2)}x)`,
  );
}
if (sink === 0) console.log('unreachable');
