// A recording UDP relay on [::1] between a client and a server: the client talks to
// the relay, which forwards both ways and keeps every datagram with its direction and
// QUIC packet kind. Gives the fuzzer and the amplification check real packets.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

export type PacketKind = 'initial' | '0rtt' | 'handshake' | 'retry' | 'short' | 'version-negotiation';

export interface Captured {
  direction: 'to-server' | 'to-client';
  kind: PacketKind;
  data: Buffer;
}

/** Kind of the first QUIC packet in a datagram (v1 long-header types, RFC 9000 §17.2). */
export function packetKind(d: Uint8Array): PacketKind {
  const first = d[0] ?? 0;
  if ((first & 0x80) === 0) return 'short';
  if (d.length >= 5 && Buffer.from(d.buffer, d.byteOffset, d.byteLength).readUInt32BE(1) === 0) return 'version-negotiation';
  return (['initial', '0rtt', 'handshake', 'retry'] as const)[(first >> 4) & 0x03]!;
}

export interface Relay {
  port: number;
  captured: Captured[];
  close(): Promise<void>;
}

export async function startRelay(serverPort: number): Promise<Relay> {
  const front = createSocket({ type: 'udp6', ipv6Only: true });
  const back = createSocket({ type: 'udp6', ipv6Only: true });
  front.bind(0, '::1');
  back.bind(0, '::1');
  await Promise.all([once(front, 'listening'), once(back, 'listening')]);
  const captured: Captured[] = [];
  let client: { port: number } | null = null;
  front.on('message', (data, rinfo) => {
    client = { port: rinfo.port };
    captured.push({ direction: 'to-server', kind: packetKind(data), data });
    back.send(data, serverPort, '::1');
  });
  back.on('message', (data) => {
    captured.push({ direction: 'to-client', kind: packetKind(data), data });
    if (client) front.send(data, client.port, '::1');
  });
  const close = (s: Socket) => new Promise<void>((r) => s.close(() => r()));
  return { port: (front.address()).port, captured, close: async () => void (await Promise.all([close(front), close(back)])) };
}
