// SPDX-License-Identifier: Apache-2.0
// Picks the datapath. XdpDatapath (AF_XDP over @stoq/af-xdp, attached by @stoq/loader)
// is not part of this release: 'auto' records why and uses dgram; 'xdp' refuses.
// The native packages are optional dependencies, imported lazily so the transport
// installs and runs where they cannot load.
import type { NormalisedConfig } from '../config.js';
import { StoqXdpUnavailableError } from '../errors.js';
import type { Datapath } from './datapath.js';
import { DgramDatapath } from './dgram-datapath.js';

export interface EbpfStatus {
  xdpAvailable: boolean;
  afXdpAvailable: boolean;
  xdpAttached: string[];
  zeroCopySockets: Array<{ interface: string; queue: number }>;
  datapath: 'dgram' | 'xdp';
  fallbackReason?: string;
}

export interface DatapathSelection {
  datapaths: Datapath[];
  status: EbpfStatus;
}

async function probeModule(name: string): Promise<string | null> {
  try {
    await import(name);
    return null;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return `${name} cannot be loaded (${e.code ?? 'error'}: ${e.message.split('\n')[0]})`;
  }
}

/** Why the XDP datapath is not used for this configuration. */
export async function xdpUnavailableReason(config: NormalisedConfig): Promise<string> {
  if (config.datapath === 'dgram') return "datapath 'dgram' requested";
  if (config.interface === null) return 'XdpDatapath not configured: no interface given';
  const problems = (await Promise.all(['@stoq/loader', '@stoq/af-xdp', '@stoq/bpf-programs'].map(probeModule))).filter(
    (p): p is string => p !== null,
  );
  const modules = problems.length > 0 ? `; ${problems.join('; ')}` : '';
  return `XdpDatapath is not implemented in @stoq/transport 0.1 (interface ${config.interface} requested)${modules}`;
}

export async function selectDatapath(config: NormalisedConfig): Promise<DatapathSelection> {
  const reason = await xdpUnavailableReason(config);
  if (config.datapath === 'xdp') {
    throw new StoqXdpUnavailableError(`XDP datapath not available: ${reason}`, {
      operation: 'create',
      hint: "use datapath: 'auto' to fall back to dgram",
    });
  }
  const dgram = await DgramDatapath.bind({
    address: config.address,
    port: config.port,
    recvBufferSize: config.recvBufferSize,
    sendBufferSize: config.sendBufferSize,
  });
  return {
    datapaths: [dgram],
    status: { xdpAvailable: false, afXdpAvailable: false, xdpAttached: [], zeroCopySockets: [], datapath: 'dgram', fallbackReason: reason },
  };
}
