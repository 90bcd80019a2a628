// TLS peer verification is on by default: an untrusted server certificate fails the
// handshake with a typed error; the same server is accepted once its CA is trusted;
// turning verification off needs the loudly named option.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers.ts';
import { createSelfSignedCertificate, StoqError, StoqInvalidConfigError, StoqTlsVerifyError, StoqTransport } from '@stoq/transport';

describe('TLS verification', () => {
  const open: StoqTransport[] = [];
  afterEach(async () => void (await Promise.all(open.splice(0).map((t) => t.close()))));
  const create = async (config: Parameters<typeof StoqTransport.create>[0]) => {
    const t = await StoqTransport.create({ address: '::1', port: 0, idleTimeoutMs: 5000, ...config });
    open.push(t);
    return t;
  };

  it('rejects an untrusted certificate with STOQ_ERR_TLS_VERIFY and accepts it once trusted', async () => {
    const serverCert = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
    const otherCa = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
    const server = await create({ tls: serverCert });
    const target = `[::1]:${server.address().port}`;

    const noCa = await create({});
    const e1 = await noCa.connect(target, { serverName: 'stoq.test' }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(StoqTlsVerifyError);
    expect((e1 as StoqError).code).toBe('STOQ_ERR_TLS_VERIFY');

    const wrongCa = await create({ tls: { ca: otherCa.cert } });
    const e2 = await wrongCa.connect(target, { serverName: 'stoq.test' }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(StoqTlsVerifyError);

    const wrongName = await create({ tls: { ca: serverCert.cert } });
    const e3 = await wrongName.connect(target, { serverName: 'other.test' }).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(StoqTlsVerifyError);

    const trusted = await create({ tls: { ca: serverCert.cert } });
    const conn = await trusted.connect(target, { serverName: 'stoq.test' });
    expect(conn.alpn).toBe('stoq');
    await conn.close();
    // The rejected handshakes must not leave server-side state behind for long.
    const started = Date.now();
    await waitFor(() => server.stats().connections === 0, 8000, 'the server to drop rejected handshakes');
    console.log(`server state of 3 rejected handshakes + 1 closed connection gone after ${Date.now() - started} ms`);
  });

  it('refuses verifyPeer: false unless dangerouslySkipPeerVerification is also set', async () => {
    await expect(create({ tls: { verifyPeer: false } })).rejects.toBeInstanceOf(StoqInvalidConfigError);
    const serverCert = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
    const server = await create({ tls: serverCert });
    const loud = await create({ tls: { verifyPeer: false }, dangerouslySkipPeerVerification: true });
    const conn = await loud.connect(`[::1]:${server.address().port}`, { serverName: 'stoq.test' });
    await conn.close();
  });
});
