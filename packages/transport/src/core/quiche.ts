// SPDX-License-Identifier: Apache-2.0
// The one place that touches @matrixai/quic: its napi-rs bindings to quiche. Only the
// native bindings are used; connection driving is ours (see endpoint-core.ts).
import { quiche } from '@matrixai/quic/native/index.js';
import type { Config, Connection, ConnectionError, Host, PathStats, Stats } from '@matrixai/quic/native/index.js';
import type { NormalisedConfig } from '../config.js';
import { StoqTlsConfigError } from '../errors.js';

export { quiche };
export type { Config as QuicheConfig, Connection as QuicheConnection, ConnectionError, Host, PathStats, Stats };

const SIGALGS = [
  'ecdsa_secp256r1_sha256', 'ecdsa_secp384r1_sha384', 'ecdsa_secp521r1_sha512', 'ed25519',
  'rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384', 'rsa_pss_rsae_sha512',
  'rsa_pkcs1_sha256', 'rsa_pkcs1_sha384', 'rsa_pkcs1_sha512',
].join(':');

const CC = { cubic: 'cubic', reno: 'reno', bbr: 'bbr' } as const;

/** A quiche Config for one role. Servers verify clients only on request; clients verify by default. */
export function buildQuicheConfig(config: NormalisedConfig, role: 'client' | 'server'): Config {
  const { tls } = config;
  const verify = role === 'client' ? tls.verifyServer : tls.requireClientCertificate;
  const hasCert = tls.certChain.length > 0 && tls.key !== null;
  let qc: Config;
  try {
    qc = quiche.Config.withBoringSslCtx(
      verify,
      false,
      tls.ca,
      hasCert ? [tls.key as Uint8Array] : null,
      hasCert ? [Buffer.concat(tls.certChain)] : null,
      SIGALGS,
    );
  } catch (cause) {
    throw new StoqTlsConfigError(`quiche rejected the TLS material: ${(cause as Error).message}`, {
      operation: 'buildQuicheConfig',
      hint: 'check that tls.key matches tls.cert and both are PEM',
      cause,
    });
  }
  qc.setApplicationProtos([...tls.alpn]);
  qc.setMaxIdleTimeout(config.idleTimeoutMs);
  qc.setMaxRecvUdpPayloadSize(quiche.MAX_DATAGRAM_SIZE);
  qc.setMaxSendUdpPayloadSize(quiche.MAX_DATAGRAM_SIZE);
  qc.setInitialMaxData(config.maxData);
  qc.setInitialMaxStreamDataBidiLocal(config.maxStreamData);
  qc.setInitialMaxStreamDataBidiRemote(config.maxStreamData);
  qc.setInitialMaxStreamDataUni(config.maxStreamData);
  qc.setInitialMaxStreamsBidi(config.maxStreamsBidi);
  qc.setInitialMaxStreamsUni(config.maxStreamsUni);
  qc.setMaxStreamWindow(Math.max(config.maxStreamData, quiche.MAX_STREAM_WINDOW));
  qc.setMaxConnectionWindow(Math.max(config.maxData, quiche.MAX_CONNECTION_WINDOW));
  qc.setDisableActiveMigration(true);
  qc.setCcAlgorithmName(CC[config.congestionControl]);
  qc.enableDgram(config.datagrams, 1024, 1024);
  qc.grease(true);
  return qc;
}
