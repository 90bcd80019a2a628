// Creates the transport for serve/connect and describes the datapath it really got.
import { StoqTransport, type EbpfStatus, type TransportConfig } from '@stoq/transport';

export class FastPathUnavailable extends Error {
  constructor(override readonly cause: Error & { code?: string; hint?: string }) {
    super(cause.message);
  }
}

export async function createTransport(config: TransportConfig): Promise<StoqTransport> {
  try {
    return await StoqTransport.create(config);
  } catch (error) {
    // --datapath xdp that cannot be honoured has its own exit code (3), like doctor.
    if ((error as { code?: string }).code === 'STOQ_ERR_XDP_UNAVAILABLE') throw new FastPathUnavailable(error as Error);
    throw error;
  }
}

export function describeStatus(s: EbpfStatus): string {
  const x = s as EbpfStatus & { xdpMode?: string; afXdpMode?: string };
  if (s.datapath === 'xdp') return `XDP${x.xdpMode ? ` (${x.xdpMode})` : ''} + AF_XDP${x.afXdpMode ? ` (${x.afXdpMode})` : ''} on ${s.xdpAttached.join(', ')}`;
  return `node:dgram${s.fallbackReason ? ` (${s.fallbackReason})` : ''}`;
}
