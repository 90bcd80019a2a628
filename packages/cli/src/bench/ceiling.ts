// The in-memory quiche ceiling from @stoq/transport's own benchmark: two quiche
// connections pumping packets to each other without sockets or an event loop.
import { createSelfSignedCertificate } from '@stoq/transport';
import { transportInMemory } from './tools.js';

export async function inMemoryGbps(totalBytes: number): Promise<number> {
  const { inMemoryThroughput } = (await import(transportInMemory())) as { inMemoryThroughput: (c: { cert: string; key: string }, total: number, streams: number) => number };
  const { cert, key } = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
  const mbPerSecond = inMemoryThroughput({ cert, key }, totalBytes, 1);
  return (mbPerSecond * 1e6 * 8) / 1e9;
}
