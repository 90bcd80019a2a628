// SPDX-License-Identifier: Apache-2.0
// The fallback ladder (DESIGN.md): native XDP + zero-copy AF_XDP → native + copy →
// generic (skb) XDP + copy → dgram. Every rung is tried for real and every failure
// is kept with its reason; the first rung that works gives the XdpDatapath.
import { describeError, type NativeModules } from './native-modules.js';
import { interfaceMac, isLoopback, rxQueueCount } from './interface-info.js';
import { xdpInterfaceRefusals } from './precheck.js';
import { NextHopTable } from './next-hop.js';
import { StoqXdpProgram } from './stoq-program.js';
import { hostIpv6Addresses } from './host-addresses.js';
import type { RungOutcome, XdpAttachMode } from './public-types.js';
import { XskSet, type XskBindMode } from './xsk-set.js';
import { XdpDatapath } from './xdp-datapath.js';
import type { DgramDatapath } from '../dgram-datapath.js';
import type { StoqConfig } from '@stoq/bpf-programs';

export type { RungOutcome } from './public-types.js';

export interface Rung {
  readonly xdp: XdpAttachMode;
  readonly afXdp: XskBindMode;
}

export const RUNGS: readonly Rung[] = [
  { xdp: 'native', afXdp: 'zerocopy' },
  { xdp: 'native', afXdp: 'copy' },
  { xdp: 'generic', afXdp: 'copy' },
];


export function rungName(r: Rung): string {
  return `${r.xdp}+${r.afXdp}`;
}

/** Every rung failed for the same reason (nothing was attempted past a shared step). */
export function allFailed(reason: string): RungOutcome[] {
  return RUNGS.map((r) => ({ rung: rungName(r), outcome: 'failed' as const, reason }));
}

export interface ClimbOptions {
  modules: NativeModules;
  ifname: string;
  dgram: DgramDatapath;
  /** The transport's bound address, or null when bound to '::' (stoq_config.local_addr). */
  boundAddress: string | null;
  programConfig: Partial<StoqConfig>;
}

export async function climbLadder(o: ClimbOptions): Promise<{ datapath: XdpDatapath | null; rungs: RungOutcome[] }> {
  const refusals = xdpInterfaceRefusals(o.ifname);
  if (refusals.all) return { datapath: null, rungs: allFailed(refusals.all) };
  let queues: number;
  let loopback: boolean;
  try {
    // Read before anything is opened: a rung failing past XskSet.open must close it all.
    queues = rxQueueCount(o.ifname);
    loopback = isLoopback(o.ifname);
    o.modules.afXdp.macToBytes(interfaceMac(o.ifname));
  } catch (error) {
    return { datapath: null, rungs: allFailed(`reading ${o.ifname} from /sys/class/net failed: ${describeError(error)}`) };
  }

  let program: StoqXdpProgram;
  try {
    // Bound to one address: the program takes QUIC for that address only, and leaves the
    // port's traffic to the host's other addresses to the kernel (their own sockets).
    program = await StoqXdpProgram.load(o.modules, { ...o.programConfig, localAddress: o.boundAddress ?? '::' });
  } catch (error) {
    return { datapath: null, rungs: allFailed(`loading stoq_xdp failed: ${describeError(error)}`) };
  }
  try {
    // Bound to '::': the host's addresses go into stoq_host_addrs before the program is
    // attached, so QUIC the host only forwards is never taken (the datapath keeps the
    // map current).
    if (o.boundAddress === null) program.syncHostAddresses(hostIpv6Addresses(o.ifname));
  } catch (error) {
    program.close();
    return { datapath: null, rungs: allFailed(`filling stoq_host_addrs failed: ${describeError(error)}`) };
  }

  const rungs: RungOutcome[] = [];
  for (const rung of RUNGS) {
    const name = rungName(rung);
    try {
      if (rung.xdp === 'generic' && refusals.generic) throw new Error(refusals.generic);
      if (program.link?.mode !== rung.xdp) program.attach(o.ifname, rung.xdp);
      const sockets = XskSet.open(o.modules, o.ifname, queues, rung.afXdp);
      try {
        for (const s of sockets.sockets) program.registerSocket(s.queueId, s.fd);
        const nextHops = new NextHopTable({ ifname: o.ifname, boundAddress: o.boundAddress, loopback, lookups: o.modules.afXdp });
        const datapath = new XdpDatapath({ modules: o.modules, program, xdpMode: rung.xdp, sockets, dgram: o.dgram, nextHops });
        rungs.push({ rung: name, outcome: 'used' });
        return { datapath, rungs };
      } catch (error) {
        for (const s of sockets.sockets) {
          try {
            program.unregisterSocket(s.queueId);
          } catch {
            // never registered
          }
        }
        sockets.close();
        throw error;
      }
    } catch (error) {
      rungs.push({ rung: name, outcome: 'failed', reason: describeError(error) });
    }
  }
  program.close();
  return { datapath: null, rungs };
}
