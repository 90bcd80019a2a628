// Puts stoq_xdp on the demo server's interface and reads its maps back. Until the
// transport's XdpDatapath lands, the demo server owns the program itself; QUIC
// then takes the program's PASS path to the transport's kernel socket.
import { BpfObject } from '@stoq/loader';
import { decodeConntrack, decodeStats, encodeConfig, MAP_NAMES, objectPath, PROGRAM_NAME } from '@stoq/bpf-programs';

export interface DemoXdp {
  readonly mode: string;
  counters(): Record<string, number>;
  conntrackStates(): Record<string, number>;
  close(): void;
}

export async function attachDemoXdp(ifname: string): Promise<DemoXdp> {
  const object = BpfObject.open(objectPath);
  try {
    await object.load();
    object.map(MAP_NAMES.config).update(Buffer.alloc(4), encodeConfig({}));
    const link = object.program(PROGRAM_NAME).attachXdp(ifname, { mode: 'auto' });
    const stats = object.map(MAP_NAMES.stats);
    const conntrack = object.map(MAP_NAMES.conntrack);
    return {
      mode: link.mode,
      counters: () => decodeStats(stats.lookupPerCpu(Buffer.alloc(4)) ?? []).counters,
      conntrackStates() {
        const states: Record<string, number> = {};
        for (const [key, value] of conntrack.entries()) {
          const { state } = decodeConntrack(key, value);
          states[state] = (states[state] ?? 0) + 1;
        }
        return states;
      },
      close() {
        link.detach();
        object.close();
      },
    };
  } catch (err) {
    object.close();
    throw err;
  }
}
