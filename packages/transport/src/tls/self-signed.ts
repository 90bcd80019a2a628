// SPDX-License-Identifier: Apache-2.0
// Development certificates: a self-signed ECDSA P-256 certificate for the given host
// names and IP addresses. Pass `cert` as the server's tls.cert and as the client's tls.ca.
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { StoqInvalidConfigError } from '../errors.js';

/** Options of {@link createSelfSignedCertificate}. */
export interface SelfSignedOptions {
  /** DNS names and/or IP addresses the certificate is valid for (default ['localhost', '::1']). */
  hostnames?: string[];
  /** Validity in days (default 30). */
  days?: number;
  /** Subject CN (default the first of `hostnames`). */
  commonName?: string;
}

/** A PEM certificate and its private key, ready for {@link TlsConfig}. */
export interface SelfSignedCertificate {
  /** Certificate, PEM. */
  cert: string;
  /** PKCS#8 private key, PEM. */
  key: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

/**
 * Creates a self-signed ECDSA P-256 certificate for development and tests, valid from
 * one minute ago for `days` days, for server and client authentication. Use `cert` and
 * `key` as a server's `tls.cert`/`tls.key` and `cert` as the client's `tls.ca`.
 *
 * @throws {@link StoqInvalidConfigError} (`STOQ_ERR_INVALID_CONFIG`) when `hostnames` is empty.
 */
export async function createSelfSignedCertificate(options: SelfSignedOptions = {}): Promise<SelfSignedCertificate> {
  const hostnames = options.hostnames ?? ['localhost', '::1'];
  if (hostnames.length === 0) {
    throw new StoqInvalidConfigError('createSelfSignedCertificate needs at least one hostname', { operation: 'createSelfSignedCertificate' });
  }
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + (options.days ?? 30) * 86_400_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${options.commonName ?? hostnames[0]}`,
    notBefore,
    notAfter,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: ALGORITHM,
    extensions: [
      // cA=true so BoringSSL accepts the certificate as its own trust anchor in tls.ca.
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(
        hostnames.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h })),
      ),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem') + '\n', key: toPem(pkcs8, 'PRIVATE KEY') };
}
