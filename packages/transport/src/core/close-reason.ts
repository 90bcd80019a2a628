// SPDX-License-Identifier: Apache-2.0
// Turns quiche's view of a closed connection into the typed error the user sees.
// null means "closed cleanly by us".
import {
  StoqAlpnError, StoqConnectionLimitError, StoqIdleTimeoutError, StoqPeerClosedError, StoqQuicError,
  StoqStreamLimitError, StoqTlsVerifyError, type StoqError,
} from '../errors.js';
import { quiche, type ConnectionError, type QuicheConnection } from './quiche.js';

const TLS_ALERT_NAMES: Record<number, string> = {
  40: 'handshake_failure', 42: 'bad_certificate', 43: 'unsupported_certificate', 44: 'certificate_revoked',
  45: 'certificate_expired', 46: 'certificate_unknown', 48: 'unknown_ca', 49: 'access_denied', 116: 'certificate_required',
  120: 'no_application_protocol',
};
const CERTIFICATE_ALERTS = new Set([42, 43, 44, 45, 46, 48, 116]);
const TRANSPORT_NAMES: Record<number, string> = {
  0: 'NO_ERROR', 1: 'INTERNAL_ERROR', 2: 'CONNECTION_REFUSED', 3: 'FLOW_CONTROL_ERROR', 4: 'STREAM_LIMIT_ERROR',
  5: 'STREAM_STATE_ERROR', 6: 'FINAL_SIZE_ERROR', 7: 'FRAME_ENCODING_ERROR', 8: 'TRANSPORT_PARAMETER_ERROR',
  10: 'PROTOCOL_VIOLATION', 11: 'INVALID_TOKEN',
};

function reasonText(e: ConnectionError): string {
  const text = Buffer.from(e.reason).toString('utf8');
  return text ? `: ${text}` : '';
}

function classify(e: ConnectionError, side: 'local' | 'peer', established: boolean): StoqError | null {
  const by = side === 'peer' ? 'the peer' : 'this endpoint';
  const details = { operation: established ? 'connection' : 'handshake', quicCode: e.errorCode };
  if (e.isApp) {
    if (side === 'local') return null;
    return new StoqPeerClosedError(`connection closed by the peer with application code ${e.errorCode}${reasonText(e)}`, details);
  }
  if (e.errorCode >= quiche.CRYPTO_ERROR_START && e.errorCode <= quiche.CRYPTO_ERROR_STOP) {
    const alert = e.errorCode - quiche.CRYPTO_ERROR_START;
    const name = TLS_ALERT_NAMES[alert] ?? `alert ${alert}`;
    if (alert === 120) {
      return new StoqAlpnError(`no common ALPN protocol (TLS ${name} from ${by})`, { ...details, hint: 'both sides must list the same tls.alpn' });
    }
    if (CERTIFICATE_ALERTS.has(alert)) {
      return new StoqTlsVerifyError(`certificate verification failed (TLS ${name} from ${by})`, {
        ...details,
        hint: side === 'local' ? "the server's certificate is not signed by tls.ca or does not match serverName" : 'the peer did not trust our certificate',
      });
    }
    return new StoqQuicError(`TLS handshake failed (${name} from ${by})`, details);
  }
  const name = TRANSPORT_NAMES[e.errorCode] ?? `0x${e.errorCode.toString(16)}`;
  if (e.errorCode === 0x2 && side === 'peer') {
    return new StoqConnectionLimitError(`the peer refused the connection (${name})${reasonText(e)}`, { ...details, hint: 'the server is at its connection limit' });
  }
  if (e.errorCode === 0x4) return new StoqStreamLimitError(`stream limit exceeded (${name} from ${by})`, details);
  if (e.errorCode === 0x0 && side === 'peer') return new StoqPeerClosedError('connection closed by the peer', details);
  if (e.errorCode === 0x0) return null;
  return new StoqQuicError(`connection closed with ${name} by ${by}${reasonText(e)}`, details);
}

export function closeReason(q: QuicheConnection, established: boolean): StoqError | null {
  const peer = q.peerError();
  if (peer) return classify(peer, 'peer', established);
  const local = q.localError();
  if (local) return classify(local, 'local', established);
  if (q.isTimedOut()) {
    return new StoqIdleTimeoutError(established ? 'connection idle timeout' : 'handshake timed out: no answer from the peer', {
      operation: established ? 'connection' : 'handshake',
      hint: established ? 'raise idleTimeoutMs or keep the connection busy' : 'is the peer listening on that address and port?',
    });
  }
  return null;
}
