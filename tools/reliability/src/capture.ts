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
  /** false for one packet split out of a coalesced datagram */
  whole: boolean;
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
  // Whole datagrams, then each packet of a coalesced datagram on its own (a server's
  // Handshake packets travel behind its Initial).
  const record = (direction: Captured['direction'], data: Buffer) => {
    captured.push({ direction, kind: packetKind(data), data, whole: true });
    const parts = splitCoalesced(data);
    if (parts.length > 1) for (const p of parts) captured.push({ direction, kind: packetKind(p), data: p, whole: false });
  };
  front.on('message', (data, rinfo) => {
    client = { port: rinfo.port };
    record('to-server', data);
    back.send(data, serverPort, '::1');
  });
  back.on('message', (data) => {
    record('to-client', data);
    if (client) front.send(data, client.port, '::1');
  });
  const close = (s: Socket) => new Promise<void>((r) => s.close(() => r()));
  return { port: (front.address()).port, captured, close: async () => void (await Promise.all([close(front), close(back)])) };
}

function varint(d: Buffer, at: number): [value: number, next: number] | null {
  if (at >= d.length) return null;
  const len = 1 << (d[at]! >> 6);
  if (at + len > d.length) return null;
  let v = d[at]! & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + d[at + i]!;
  return [v, at + len];
}

/** Splits a datagram into its coalesced QUIC packets (RFC 9000 §12.2); a short packet ends it. */
export function splitCoalesced(d: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < d.length) {
    if ((d[at]! & 0x80) === 0 || at + 6 > d.length) {
      out.push(d.subarray(at));
      break;
    }
    let p = at + 5;
    p += 1 + d[p]!; // DCID
    if (p >= d.length) break;
    p += 1 + d[p]!; // SCID
    if (((d[at]! >> 4) & 3) === 0) {
      const token = varint(d, p);
      if (!token) break;
      p = token[1] + token[0];
    }
    const length = varint(d, p);
    if (!length || length[1] + length[0] > d.length) break;
    out.push(d.subarray(at, length[1] + length[0]));
    at = length[1] + length[0];
  }
  return out;
}
