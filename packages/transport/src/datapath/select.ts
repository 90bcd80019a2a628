// SPDX-License-Identifier: Apache-2.0
// Picks the datapath. The dgram socket is always bound (it holds the port, receives
// what the XDP program passes and sends what AF_XDP cannot); on top of it, 'auto' and
// 'xdp' climb the fallback ladder on the configured interface. 'auto' records why each
// rung failed and runs over dgram; 'xdp' refuses with every reason.
import type { NormalisedConfig } from '../config.js';
import { quiche } from '../core/quiche.js';
import { StoqXdpUnavailableError } from '../errors.js';
import type { Datapath } from './datapath.js';
import { DgramDatapath } from './dgram-datapath.js';
import { allFailed, climbLadder } from './xdp/ladder.js';
import type { EbpfStatus, RungOutcome } from './xdp/public-types.js';
import { loadNativeModules } from './xdp/native-modules.js';
import type { XdpDatapath } from './xdp/xdp-datapath.js';

export type { EbpfStatus } from './xdp/public-types.js';


export interface DatapathSelection {
  dgram: DgramDatapath;
  xdp: XdpDatapath | null;
  status: EbpfStatus;
}

export function dgramStatus(reason: string, ladder: RungOutcome[]): EbpfStatus {
  return { xdpAvailable: false, afXdpAvailable: false, xdpAttached: [], zeroCopySockets: [], datapath: 'dgram', fallbackReason: reason, sockets: [], ladder };
}

export function xdpStatus(xdp: XdpDatapath, ladder: RungOutcome[]): EbpfStatus {
  const sockets = xdp.queues().map((q) => ({ interface: xdp.ifname, ...q }));
  return {
    xdpAvailable: true,
    afXdpAvailable: true,
    xdpAttached: [xdp.ifname],
    zeroCopySockets: sockets.filter((s) => s.mode === 'zerocopy').map(({ interface: i, queue }) => ({ interface: i, queue })),
    datapath: 'xdp',
    xdpMode: xdp.xdpMode,
    afXdpMode: xdp.afXdpMode,
    sockets,
    ladder,
  };
}

function summarise(ifname: string, rungs: RungOutcome[]): string {
  return `XDP datapath unavailable on ${ifname}: ${rungs.map((r) => `${r.rung}: ${r.reason ?? r.outcome}`).join('; ')}`;
}

export function xdpUnavailableError(summary: string, rungs: RungOutcome[], operation: string): Error {
  return new StoqXdpUnavailableError(summary, {
    operation,
    hint: "fix one of the reasons above, or use datapath: 'auto' to run over dgram",
    reasons: rungs.map((r) => `${r.rung}: ${r.reason ?? r.outcome}`),
  });
}

/** Climbs the ladder on `ifname` next to an existing dgram datapath. */
export async function tryXdp(
  config: NormalisedConfig,
  ifname: string,
  dgram: DgramDatapath,
): Promise<{ xdp: XdpDatapath | null; rungs: RungOutcome[]; summary: string }> {
  const native = await loadNativeModules();
  if (!native.ok) {
    const rungs = allFailed(native.reason);
    return { xdp: null, rungs, summary: summarise(ifname, rungs) };
  }
  const { datapath, rungs } = await climbLadder({
    modules: native.modules,
    ifname,
    dgram,
    boundAddress: config.address === '::' ? null : config.address,
    programConfig: {
      quicPorts: [dgram.localAddress().port], redirect: true, timestampMeta: true, ipv4Policy: config.xdpIpv4Policy,
      // Longer QUIC is a local GSO run seen whole by generic XDP: the kernel splits it.
      maxRedirectPayload: quiche.MAX_DATAGRAM_SIZE,
    },
  });
  return { xdp: datapath, rungs, summary: datapath ? '' : summarise(ifname, rungs) };
}

export async function selectDatapath(config: NormalisedConfig): Promise<DatapathSelection> {
  const dgram = await DgramDatapath.bind({
    address: config.address,
    port: config.port,
    recvBufferSize: config.recvBufferSize,
    sendBufferSize: config.sendBufferSize,
    // quiche never sends a datagram larger than this, so it is the one segment size.
    gsoSegmentSize: config.udpGso ? quiche.MAX_DATAGRAM_SIZE : 0,
  });
  if (config.datapath === 'dgram') return { dgram, xdp: null, status: dgramStatus("datapath 'dgram' requested", []) };

  // Only an explicit interface: attaching XDP is never a side effect of an address.
  const ifname = config.interface;
  if (ifname === null) {
    const reason = 'XdpDatapath not configured: no interface given';
    if (config.datapath === 'xdp') {
      await dgram.close();
      throw xdpUnavailableError(reason, [], 'create');
    }
    return { dgram, xdp: null, status: dgramStatus(reason, []) };
  }
  try {
    const { xdp, rungs, summary } = await tryXdp(config, ifname, dgram);
    if (xdp) return { dgram, xdp, status: xdpStatus(xdp, rungs) };
    if (config.datapath === 'xdp') throw xdpUnavailableError(summary, rungs, 'create');
    return { dgram, xdp: null, status: dgramStatus(summary, rungs) };
  } catch (error) {
    await dgram.close();
    throw error;
  }
}
