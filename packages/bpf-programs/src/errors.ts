// SPDX-License-Identifier: Apache-2.0
// Typed errors for invalid codec input, branded with Symbol.for so instanceof holds
// across copies of this package.
const kStoqCodecError = Symbol.for('@stoq/bpf-programs.StoqCodecError');

/**
 * The stable codes of StoqCodecError: an invalid config or conntrack field, a buffer too short for
 * its struct (or an unknown enum value in it), or an unparsable IPv6 address.
 */
export type StoqCodecErrorCode = 'STOQ_ERR_INVALID_CONFIG' | 'STOQ_ERR_INVALID_LAYOUT' | 'STOQ_ERR_INVALID_ADDRESS';

/**
 * Invalid input to a codec of this package. `instanceof` works across copies of the package
 * (Symbol.for brand).
 */
export class StoqCodecError extends RangeError {
  /** The stable error code. */
  readonly code: StoqCodecErrorCode;
  /** The option or field that was rejected, e.g. `quicPorts`. */
  readonly field: string;

  constructor(code: StoqCodecErrorCode, field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'StoqCodecError';
    this.code = code;
    this.field = field;
  }

  /** The brand `instanceof` checks (Symbol.for('@stoq/bpf-programs.StoqCodecError')). */
  get [kStoqCodecError](): true {
    return true;
  }

  /** True for any StoqCodecError, also one made by another copy of this package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kStoqCodecError] === true;
  }
}
