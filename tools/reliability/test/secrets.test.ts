// No secrets in what an operator would log: diagnostics_channel messages, errors
// (message, stack, JSON), stats, eBPF status, and util.inspect of the transport and
// connection objects (console.log(transport) is a log line too). The private key is
// searched for as PEM and as any 32-character slice of its base64 body.
import { inspect } from 'node:util';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate, diagnosticsChannels, StoqTransport } from '@stoq/transport';

function keyFragments(pem: string): string[] {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const out: string[] = [];
  for (let i = 0; i + 32 <= body.length; i += 16) out.push(body.slice(i, i + 32));
  return out;
}

function leaks(text: string, fragments: string[]): string[] {
  const found = fragments.filter((f) => text.includes(f));
  if (/PRIVATE KEY/.test(text)) found.push('PRIVATE KEY');
  return found;
}

describe('no secrets in logs and diagnostics', () => {
  const open: StoqTransport[] = [];
  afterAll(async () => void (await Promise.all(open.map((t) => t.close()))));

  it('diagnostics, errors, stats and status never carry the private key', async () => {
    const tls = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
    const fragments = keyFragments(tls.key);
    expect(fragments.length).toBeGreaterThan(4);
    const log: string[] = [];
    const names = Object.values(diagnosticsChannels).map((c) => c.name as string);
    const onMessage = (message: unknown, name: string | symbol) => log.push(`${String(name)} ${inspect(message, { depth: 2 })}`);
    for (const n of names) subscribe(n, onMessage);
    try {
      const server = await StoqTransport.create({ address: '::1', port: 0, tls, idleTimeoutMs: 5000 });
      const client = await StoqTransport.create({ address: '::1', port: 0, tls: { ca: tls.cert }, idleTimeoutMs: 5000 });
      const stranger = await StoqTransport.create({ address: '::1', port: 0, idleTimeoutMs: 5000 });
      open.push(server, client, stranger);
      const target = `[::1]:${server.address().port}`;
      const conn = await client.connect(target, { serverName: 'stoq.test' });
      const rejected = await stranger.connect(target, { serverName: 'stoq.test' }).catch((e: unknown) => e);
      const badKey = await StoqTransport.create({ address: '::1', port: 0, tls: { cert: tls.cert, key: tls.key.replace(/[A-Za-z]{8}\n/, 'AAAAAAAA\n') } })
        .then((t) => (open.push(t), null), (e: unknown) => e);
      for (const e of [rejected, badKey]) if (e) log.push(inspect(e), JSON.stringify(e), String((e as Error).stack));
      log.push(JSON.stringify(server.stats()), JSON.stringify(server.getEbpfStatus()), JSON.stringify(conn.stats()));
      await conn.close();
      expect(leaks(log.join('\n'), fragments)).toEqual([]);
      expect(log.some((l) => l.startsWith('stoq:transport:connection:established'))).toBe(true);
    } finally {
      for (const n of names) unsubscribe(n, onMessage);
    }
  });

  it('util.inspect of a server transport and its connections does not print the key', async () => {
    const tls = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
    const server = await StoqTransport.create({ address: '::1', port: 0, tls, idleTimeoutMs: 5000 });
    const client = await StoqTransport.create({ address: '::1', port: 0, tls: { ca: tls.cert }, idleTimeoutMs: 5000 });
    open.push(server, client);
    const accepted = new Promise<unknown>((resolve) => server.once('connection', resolve));
    const conn = await client.connect(`[::1]:${server.address().port}`, { serverName: 'stoq.test' });
    const text = [inspect(server, { depth: 6 }), inspect(await accepted, { depth: 6 }), inspect(conn, { depth: 6 })].join('\n');
    expect(leaks(text, keyFragments(tls.key))).toEqual([]);
    await conn.close();
  });
});
