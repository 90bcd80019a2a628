// SPDX-License-Identifier: Apache-2.0
// Typed errors for invalid codec input, branded with Symbol.for so instanceof holds
// across copies of this package.
const kStoqCodecError = Symbol.for('@stoq/bpf-programs.StoqCodecError');

export type StoqCodecErrorCode = 'STOQ_ERR_INVALID_CONFIG' | 'STOQ_ERR_INVALID_LAYOUT' | 'STOQ_ERR_INVALID_ADDRESS';

export class StoqCodecError extends RangeError {
  readonly code: StoqCodecErrorCode;
  /** The option or field that was rejected, e.g. `quicPorts`. */
  readonly field: string;

  constructor(code: StoqCodecErrorCode, field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'StoqCodecError';
    this.code = code;
    this.field = field;
  }

  get [kStoqCodecError](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kStoqCodecError] === true;
  }
}
