// SPDX-License-Identifier: Apache-2.0
// Typed errors with stable codes. The brand is a global symbol so `instanceof`
// still works when two copies of this package end up in one process.

const brand = Symbol.for('@stoq/transport.StoqError');

/** Stable error codes carried by {@link StoqError.code}; each has its own `Stoq*Error` class. */
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
  | 'STOQ_ERR_LINK_DOWN'
  | 'STOQ_ERR_QUIC';

/** Optional context for a {@link StoqError}; every field is copied onto the error. */
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
  /** The underlying error (becomes the standard `Error.cause`). */
  cause?: unknown;
}

/**
 * Base class of every error this package throws or emits. Match on {@link StoqError.code}
 * or with `instanceof` (a global-symbol brand keeps both working across two copies of
 * the package in one process). The message ends with the hint in parentheses, if any.
 */
export class StoqError extends Error {
  /** Stable machine-readable code, e.g. 'STOQ_ERR_CLOSED'. */
  readonly code: StoqErrorCode;
  /** The operation that failed, e.g. 'bind', 'connect', 'openStream', 'handshake'. */
  readonly operation: string | undefined;
  /** What the user can do about it. */
  readonly hint: string | undefined;
  /** OS errno when a system call failed. */
  readonly errno: number | undefined;
  /** QUIC error code (transport, TLS alert or application) when a connection closed or a stream was reset. */
  readonly quicCode: number | undefined;
  /** Every reason behind the failure, e.g. `'rung: reason'` for each rung of the XDP fallback ladder. */
  readonly reasons: readonly string[] | undefined;

  /**
   * @param code - Stable code of the failure.
   * @param message - Human-readable description; `details.hint` is appended in parentheses.
   * @param details - Optional context (operation, hint, errno, QUIC code, reasons, cause).
   */
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

  /** Brand (`Symbol.for('@stoq/transport.StoqError')`) that `instanceof` checks. */
  get [brand](): true {
    return true;
  }

  /**
   * `instanceof` by brand: `StoqError` matches any branded error, a subclass matches
   * branded errors with its `name`, from any copy of the package.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(brand in value)) return false;
    // Subclasses: fall back to the prototype chain, but match by name across copies.
    if (this === StoqError) return true;
    return (value as { name?: unknown }).name === this.name;
  }
}

/**
 * The constructor of one `Stoq*Error` class: it builds a {@link StoqError} whose `code`
 * is fixed by the class (and whose `name` is the class name).
 */
export interface StoqErrorClass<C extends StoqErrorCode = StoqErrorCode> {
  /**
   * @param message - Human-readable description; `details.hint` is appended in parentheses.
   * @param details - Optional context (operation, hint, errno, QUIC code, reasons, cause).
   */
  new (message: string, details?: StoqErrorDetails): StoqError & {
    /** Always this class's code. */
    readonly code: C;
  };
}

function subclass<C extends StoqErrorCode>(code: C, name: string): StoqErrorClass<C> {
  const cls = class StoqCodedError extends StoqError {
    constructor(message: string, details?: StoqErrorDetails) {
      super(code, message, details);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls as unknown as StoqErrorClass<C>;
}

/** Not an IPv6 address literal (IPv4, IPv4-mapped and host names are refused) or not a valid UDP port. Code `STOQ_ERR_INVALID_ADDRESS`. */
export const StoqInvalidAddressError = subclass('STOQ_ERR_INVALID_ADDRESS', 'StoqInvalidAddressError');
/** A {@link TransportConfig} (or other option or argument) value has the wrong type or is out of range, or the call does not fit the transport's state. Code `STOQ_ERR_INVALID_CONFIG`. */
export const StoqInvalidConfigError = subclass('STOQ_ERR_INVALID_CONFIG', 'StoqInvalidConfigError');
/** Certificate verification failed, on either side (TLS certificate alert). Code `STOQ_ERR_TLS_VERIFY`. */
export const StoqTlsVerifyError = subclass('STOQ_ERR_TLS_VERIFY', 'StoqTlsVerifyError');
/** quiche rejected the TLS material (certificate, key or CA). Code `STOQ_ERR_TLS_CONFIG`. */
export const StoqTlsConfigError = subclass('STOQ_ERR_TLS_CONFIG', 'StoqTlsConfigError');
/** The two sides have no ALPN protocol in common (TLS no_application_protocol). Code `STOQ_ERR_ALPN`. */
export const StoqAlpnError = subclass('STOQ_ERR_ALPN', 'StoqAlpnError');
/** `limits.maxConnections` reached locally on connect, or the server refused the connection (CONNECTION_REFUSED). Code `STOQ_ERR_CONNECTION_LIMIT`. */
export const StoqConnectionLimitError = subclass('STOQ_ERR_CONNECTION_LIMIT', 'StoqConnectionLimitError');
/** The peer allows no more streams of that kind right now, or a STREAM_LIMIT_ERROR closed the connection. Code `STOQ_ERR_STREAM_LIMIT`. */
export const StoqStreamLimitError = subclass('STOQ_ERR_STREAM_LIMIT', 'StoqStreamLimitError');
/** The connection was idle for longer than the idle timeout, or the handshake got no answer. Code `STOQ_ERR_IDLE_TIMEOUT`. */
export const StoqIdleTimeoutError = subclass('STOQ_ERR_IDLE_TIMEOUT', 'StoqIdleTimeoutError');
/** The connection or transport is closed (or closed before the operation completed). Code `STOQ_ERR_CLOSED`. */
export const StoqClosedError = subclass('STOQ_ERR_CLOSED', 'StoqClosedError');
/** The peer closed the connection (`quicCode` is its error code). Code `STOQ_ERR_PEER_CLOSED`. */
export const StoqPeerClosedError = subclass('STOQ_ERR_PEER_CLOSED', 'StoqPeerClosedError');
/** A stream was reset (RESET_STREAM) or stopped (STOP_SENDING) by the peer (`quicCode` is its code), or quiche failed a stream operation. Code `STOQ_ERR_STREAM_RESET`. */
export const StoqStreamResetError = subclass('STOQ_ERR_STREAM_RESET', 'StoqStreamResetError');
/** An RFC 9221 datagram cannot be sent: the peer does not accept datagrams, it is too large, or quiche refused it. Code `STOQ_ERR_DATAGRAM`. */
export const StoqDatagramError = subclass('STOQ_ERR_DATAGRAM', 'StoqDatagramError');
/** A message sent or announced by the peer exceeds `limits.maxMessageBytes`. Code `STOQ_ERR_MESSAGE_TOO_LARGE`. */
export const StoqMessageTooLargeError = subclass('STOQ_ERR_MESSAGE_TOO_LARGE', 'StoqMessageTooLargeError');
/** The XDP datapath cannot be used (`reasons` lists why each fallback rung failed), or an XDP-only operation has no XDP datapath. Code `STOQ_ERR_XDP_UNAVAILABLE`. */
export const StoqXdpUnavailableError = subclass('STOQ_ERR_XDP_UNAVAILABLE', 'StoqXdpUnavailableError');
/** The UDP socket could not be bound (`errno` is set; e.g. EADDRINUSE). Code `STOQ_ERR_BIND`. */
export const StoqBindError = subclass('STOQ_ERR_BIND', 'StoqBindError');
/** Any other QUIC transport or TLS failure that closed the connection (`quicCode` is the error code). Code `STOQ_ERR_QUIC`. */
export const StoqQuicError = subclass('STOQ_ERR_QUIC', 'StoqQuicError');

/** What a {@link StoqLinkDownError} carries besides the common details. */
export interface StoqLinkDownDetails extends StoqErrorDetails {
  /** The interface whose link is down. */
  interface: string;
}

/**
 * AF_XDP transmit stalled because the interface's link is down (administratively down,
 * or no carrier): reported once per outage as a `'datapathError'`; the frames wait on the
 * TX ring and leave when the link is back. `errno` is -ENETDOWN (Node's sign), `errnoCode`
 * 'ENETDOWN', `interface` the interface. Code `STOQ_ERR_LINK_DOWN`.
 */
export class StoqLinkDownError extends StoqError {
  declare readonly code: 'STOQ_ERR_LINK_DOWN';
  /** The errno's name, always 'ENETDOWN'. */
  readonly errnoCode = 'ENETDOWN' as const;
  /** The system call that stalled. */
  readonly syscall = 'sendto' as const;
  /** The interface whose link is down. */
  readonly interface: string;

  /**
   * @param message - Human-readable description; `details.hint` is appended in parentheses.
   * @param details - The interface, and optional context (operation, hint, errno, cause).
   */
  constructor(message: string, details: StoqLinkDownDetails) {
    super('STOQ_ERR_LINK_DOWN', message, details);
    this.interface = details.interface;
  }
}
