// Turns two stoq_stats readings into per-second rates: the numbers `stoq top` shows.
import { CLASS_COUNTER_NAMES, diffStats, type StoqStats } from '@stoq/bpf-programs';

export interface Rates {
  seconds: number;
  pps: number;
  bitsPerSecond: number;
  /** Packets per second per verdict counter, only those that moved. */
  verdicts: Record<string, number>;
  /** Totals since the program was loaded. */
  totals: { packets: number; bytes: number };
}

export function rates(before: StoqStats, after: StoqStats, seconds: number): Rates {
  const d = diffStats(before, after);
  const verdicts: Record<string, number> = {};
  for (const name of CLASS_COUNTER_NAMES) if (d.counters[name] > 0) verdicts[name] = d.counters[name] / seconds;
  return {
    seconds,
    pps: d.counters.rx_packets / seconds,
    bitsPerSecond: (d.counters.rx_bytes * 8) / seconds,
    verdicts,
    totals: { packets: after.counters.rx_packets, bytes: after.counters.rx_bytes },
  };
}
