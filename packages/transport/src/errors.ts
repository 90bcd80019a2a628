// SPDX-License-Identifier: Apache-2.0
// Typed errors with stable codes. The brand is a global symbol so `instanceof`
// still works when two copies of this package end up in one process.

const brand = Symbol.for('@stoq/transport.StoqError');

export type StoqErrorCode =
  | 'STOQ_ERR_INVALID_ADDRESS'
  | 'STOQ_ERR_INVALID_CONFIG'
  | 'STOQ_ERR_TLS_VERIFY'
  | 'STOQ_ERR_TLS_CONFIG'
  | 'STOQ_ERR_ALPN'
  | 'STOQ_ERR_CONNECTION_LIMIT'
  | 'STOQ_ERR_STREAM_LIMIT'
  | 'STOQ_ERR_IDLE_TIMEOUT'
  | 'STOQ_ERR_CLOSED'
  | 'STOQ_ERR_PEER_CLOSED'
  | 'STOQ_ERR_STREAM_RESET'
  | 'STOQ_ERR_DATAGRAM'
  | 'STOQ_ERR_MESSAGE_TOO_LARGE'
  | 'STOQ_ERR_XDP_UNAVAILABLE'
  | 'STOQ_ERR_BIND'
  | 'STOQ_ERR_QUIC';

export interface StoqErrorDetails {
  /** The operation that failed, e.g. 'bind', 'connect', 'streamSend'. */
  operation?: string;
  /** What the user can do about it. */
  hint?: string;
  /** OS errno when a system call failed. */
  errno?: number;
  /** QUIC error code (transport or application) when a connection closed. */
  quicCode?: number;
  /** Every reason behind the failure, e.g. each rung of the fallback ladder. */
  reasons?: string[];
  cause?: unknown;
}

export class StoqError extends Error {
  readonly code: StoqErrorCode;
  readonly operation: string | undefined;
  readonly hint: string | undefined;
  readonly errno: number | undefined;
  readonly quicCode: number | undefined;
  readonly reasons: readonly string[] | undefined;

  constructor(code: StoqErrorCode, message: string, details: StoqErrorDetails = {}) {
    super(details.hint ? `${message} (${details.hint})` : message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.operation = details.operation;
    this.hint = details.hint;
    this.errno = details.errno;
    this.quicCode = details.quicCode;
    this.reasons = details.reasons;
  }

  get [brand](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(brand in value)) return false;
    // Subclasses: fall back to the prototype chain, but match by name across copies.
    if (this === StoqError) return true;
    return (value as { name?: unknown }).name === this.name;
  }
}

function subclass(code: StoqErrorCode, name: string) {
  const cls = class extends StoqError {
    constructor(message: string, details?: StoqErrorDetails) {
      super(code, message, details);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

export const StoqInvalidAddressError = subclass('STOQ_ERR_INVALID_ADDRESS', 'StoqInvalidAddressError');
export const StoqInvalidConfigError = subclass('STOQ_ERR_INVALID_CONFIG', 'StoqInvalidConfigError');
export const StoqTlsVerifyError = subclass('STOQ_ERR_TLS_VERIFY', 'StoqTlsVerifyError');
export const StoqTlsConfigError = subclass('STOQ_ERR_TLS_CONFIG', 'StoqTlsConfigError');
export const StoqAlpnError = subclass('STOQ_ERR_ALPN', 'StoqAlpnError');
export const StoqConnectionLimitError = subclass('STOQ_ERR_CONNECTION_LIMIT', 'StoqConnectionLimitError');
export const StoqStreamLimitError = subclass('STOQ_ERR_STREAM_LIMIT', 'StoqStreamLimitError');
export const StoqIdleTimeoutError = subclass('STOQ_ERR_IDLE_TIMEOUT', 'StoqIdleTimeoutError');
export const StoqClosedError = subclass('STOQ_ERR_CLOSED', 'StoqClosedError');
export const StoqPeerClosedError = subclass('STOQ_ERR_PEER_CLOSED', 'StoqPeerClosedError');
export const StoqStreamResetError = subclass('STOQ_ERR_STREAM_RESET', 'StoqStreamResetError');
export const StoqDatagramError = subclass('STOQ_ERR_DATAGRAM', 'StoqDatagramError');
export const StoqMessageTooLargeError = subclass('STOQ_ERR_MESSAGE_TOO_LARGE', 'StoqMessageTooLargeError');
export const StoqXdpUnavailableError = subclass('STOQ_ERR_XDP_UNAVAILABLE', 'StoqXdpUnavailableError');
export const StoqBindError = subclass('STOQ_ERR_BIND', 'StoqBindError');
export const StoqQuicError = subclass('STOQ_ERR_QUIC', 'StoqQuicError');
