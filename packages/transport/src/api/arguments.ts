// SPDX-License-Identifier: Apache-2.0
// Checks of public call arguments, so a wrong one is a StoqInvalidConfigError and never
// reaches quiche: there a negative or >= 2^62 close code panics (the process aborts),
// a wrong type is a napi TypeError, an empty server name a bare TlsFail, and a close
// reason that does not fit in one packet means the CONNECTION_CLOSE is never sent.
import { StoqInvalidConfigError } from '../errors.js';
import { describeValue, optionalObject } from '../value-checks.js';

/** Longest TLS server name (a DNS name is at most 253 characters; SNI allows 255 bytes). */
const MAX_SERVER_NAME_BYTES = 255;

/** connect()'s options, checked: `serverName` is a non-empty string of at most 255 bytes without NUL, or absent. */
export function connectServerName(value: unknown): string | undefined {
  const name = optionalObject(value, 'connect: options', 'connect').serverName;
  if (name === undefined || name === null) return undefined;
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0') || Buffer.byteLength(name) > MAX_SERVER_NAME_BYTES) {
    throw new StoqInvalidConfigError(`connect: serverName must be a host name (1..255 bytes), got ${describeValue(name)}`, {
      operation: 'connect',
      hint: "the name the server's certificate is issued for, e.g. 'localhost'; omit it to send no SNI",
    });
  }
  return name;
}

/** openStream()'s options, checked: true when a unidirectional stream is asked for. */
export function openStreamUnidirectional(value: unknown): boolean {
  const uni = optionalObject(value, 'openStream: options', 'openStream').unidirectional;
  if (uni === undefined || uni === null) return false;
  if (typeof uni !== 'boolean') {
    throw new StoqInvalidConfigError(`openStream: unidirectional must be true or false, got ${describeValue(uni)}`, { operation: 'openStream' });
  }
  return uni;
}

/** Longest close reason sent, in UTF-8 bytes; a longer one is cut (on a character boundary) so the frame fits a 1200-byte packet. */
export const MAX_CLOSE_REASON_BYTES = 1024;
/** QUIC error codes are varints: 0..2^62−1 (RFC 9000 §16). */
const CODE_LIMIT = 2 ** 62;

/** The application error code, checked: an integer in 0..2^62−1. */
export function closeCode(code: unknown): number {
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code >= CODE_LIMIT) {
    throw new StoqInvalidConfigError(`close: code must be an integer in 0..2^62-1, got ${describeValue(code)}`, {
      operation: 'close',
      hint: '0 means no error; use your own application codes above it',
    });
  }
  return code;
}

/** The reason as UTF-8 bytes, cut to {@link MAX_CLOSE_REASON_BYTES} without splitting a character. */
export function closeReasonBytes(reason: unknown): Buffer {
  if (typeof reason !== 'string') {
    throw new StoqInvalidConfigError(`close: reason must be a string, got ${describeValue(reason)}`, {
      operation: 'close',
      hint: 'omit it or pass text',
    });
  }
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.byteLength <= MAX_CLOSE_REASON_BYTES) return bytes;
  let end = MAX_CLOSE_REASON_BYTES;
  // Back off over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
