// Anti-amplification (RFC 9000 §8.1): before the client's address is validated the
// server may send at most 3× the bytes it received. A real client Initial is captured
// through a relay, then replayed once from a fresh socket that never answers; every
// byte the server sends back (including PTO retransmissions) is counted. The server's
// certificate is inflated with many names so its first flight would exceed the limit.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate, StoqTransport } from '@stoq/transport';
import { startRelay } from '../src/capture.ts';

describe('anti-amplification', () => {
  const open: StoqTransport[] = [];
  afterAll(async () => void (await Promise.all(open.map((t) => t.close()))));

  it('sends at most 3× the bytes of a lone Initial to an unvalidated address', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `host-${i}.a-rather-long-subdomain.stoq.test`);
    const tls = await createSelfSignedCertificate({ hostnames: ['stoq.test', ...names] });
    const server = await StoqTransport.create({ address: '::1', port: 0, tls, idleTimeoutMs: 5000 });
    const client = await StoqTransport.create({ address: '::1', port: 0, tls: { ca: tls.cert }, idleTimeoutMs: 5000 });
    open.push(server, client);
    const relay = await startRelay(server.address().port);
    const conn = await client.connect(`[::1]:${relay.port}`, { serverName: 'stoq.test' });
    await conn.close();
    await relay.close();
    const initial = relay.captured.find((c) => c.whole && c.direction === 'to-server' && c.kind === 'initial');
    const firstFlight = relay.captured.filter((c) => c.whole && c.direction === 'to-client').slice(0, 8).reduce((n, c) => n + c.data.length, 0);
    expect(initial).toBeDefined();
    expect(tls.cert.length).toBeGreaterThan(8000); // the flight really has to be cut

    // A fresh server for the replay: the first one may still hold the captured
    // connection ID in its draining connection and would ignore the replay.
    const fresh = await StoqTransport.create({ address: '::1', port: 0, tls, idleTimeoutMs: 5000 });
    open.push(fresh);
    const silent = createSocket({ type: 'udp6', ipv6Only: true });
    silent.bind(0, '::1');
    await once(silent, 'listening');
    let received = 0;
    let datagrams = 0;
    silent.on('message', (m) => {
      received += m.length;
      datagrams++;
    });
    silent.send(initial!.data, fresh.address().port, '::1');
    await new Promise((r) => setTimeout(r, 4000)); // covers several PTOs
    silent.close();
    const sent = initial!.data.length;
    console.log(`one ${sent}-byte Initial → server sent ${received} bytes in ${datagrams} datagrams (${(received / sent).toFixed(2)}×); ` +
      `an unconstrained first flight to the real client was ${firstFlight} bytes`);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(3 * sent);
    expect(firstFlight).toBeGreaterThan(3 * sent);
  }, 30_000);
});
