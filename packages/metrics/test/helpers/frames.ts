// SPDX-License-Identifier: Apache-2.0
/** Ethernet frames for BPF_PROG_TEST_RUN: IPv6/UDP (with a real checksum), IPv6/TCP, IPv4, ARP. */

const SRC_MAC = Buffer.from('02000000000b', 'hex');
const DST_MAC = Buffer.from('02000000000a', 'hex');
export const LOCAL_ADDRESS = 'fd00::a';

function ethernet(ethertype: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(14);
  DST_MAC.copy(header, 0);
  SRC_MAC.copy(header, 6);
  header.writeUInt16BE(ethertype, 12);
  return Buffer.concat([header, payload]);
}

/** fd00::<suffix> as 16 bytes. */
export function fd00(suffix: number): Buffer {
  const address = Buffer.alloc(16);
  address[0] = 0xfd;
  address.writeUInt32BE(suffix, 12);
  return address;
}

function ipv6(nextHeader: number, source: Buffer, payload: Buffer): Buffer {
  const header = Buffer.alloc(40);
  header.writeUInt32BE(0x60000000, 0);
  header.writeUInt16BE(payload.length, 4);
  header[6] = nextHeader;
  header[7] = 64;
  source.copy(header, 8);
  fd00(0xa).copy(header, 24);
  return ethernet(0x86dd, Buffer.concat([header, payload]));
}

function checksum(...parts: Buffer[]): number {
  let sum = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i += 2) sum += (part[i]! << 8) | (part[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff || 0xffff;
}

export function udp6(source: Buffer, sourcePort: number, destinationPort: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16BE(sourcePort, 0);
  header.writeUInt16BE(destinationPort, 2);
  header.writeUInt16BE(8 + payload.length, 4);
  const pseudo = Buffer.alloc(40);
  source.copy(pseudo, 0);
  fd00(0xa).copy(pseudo, 16);
  pseudo.writeUInt32BE(8 + payload.length, 32);
  pseudo[39] = 17;
  header.writeUInt16BE(checksum(pseudo, header, payload.length % 2 ? Buffer.concat([payload, Buffer.alloc(1)]) : payload), 6);
  return ipv6(17, source, Buffer.concat([header, payload]));
}

export function tcp6(source: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(40000, 0);
  header.writeUInt16BE(443, 2);
  header[12] = 5 << 4;
  return ipv6(6, source, header);
}

export function ipv4Udp(): Buffer {
  const header = Buffer.alloc(28);
  header[0] = 0x45;
  header.writeUInt16BE(28, 2);
  header[8] = 64;
  header[9] = 17;
  Buffer.from([192, 0, 2, 1, 192, 0, 2, 2]).copy(header, 12);
  header.writeUInt16BE(9292, 22);
  header.writeUInt16BE(8, 24);
  return ethernet(0x0800, header);
}

export function arp(): Buffer {
  return ethernet(0x0806, Buffer.alloc(28));
}

export type QuicPacketKind = 'initial' | 'handshake' | 'short';

/** A QUIC v1 packet: long header (Initial/Handshake) with 8-byte CIDs, or a short header; padded to `size`. */
export function quicPayload(kind: QuicPacketKind, size: number): Buffer {
  const payload = Buffer.alloc(size);
  if (kind === 'short') {
    payload[0] = 0x40;
    return payload;
  }
  payload[0] = kind === 'initial' ? 0xc0 : 0xe0;
  payload.writeUInt32BE(1, 1);
  payload[5] = 8; // DCID length, DCID
  payload[14] = 8; // SCID length, SCID
  return payload;
}
