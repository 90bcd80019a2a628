// SPDX-License-Identifier: Apache-2.0
// The typed error every STOQ native package throws: a stable code, the failing operation,
// a hint appended to the message, the errno and its name. `instanceof` looks for a
// Symbol.for brand rather than the prototype chain, so it holds across two copies of a
// package in one process (nodejs/undici lib/core/errors.js does the same).
import { constants } from 'node:os';

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]));

/** Symbolic name of a positive errno (e.g. 95 → `'EOPNOTSUPP'`), undefined when Node does not know it. */
export function errnoName(errno: number): string | undefined {
  return errnoNames.get(errno);
}

/** What a `StoqNativeError` is built from besides its code and message. */
export interface StoqNativeErrorDetails {
  /** The failing call, e.g. `'xsk_socket__create'`, `'setUdpSegmentSize'` or `'load'`. */
  operation: string;
  /** What to do about it; appended to the message as ` (hint: …)`. */
  hint?: string;
  /** Positive OS errno, when a system call failed. */
  errno?: number;
  /** The underlying error (becomes `error.cause`). */
  cause?: unknown;
}

/** The brand of a class and of each ancestor that declares one, nearest first (StoqNativeError's last). */
function brandsOf(type: unknown): symbol[] {
  const brands: symbol[] = [];
  for (; type !== Error && typeof type === 'function'; type = Object.getPrototypeOf(type)) {
    if (Object.hasOwn(type, 'brand')) brands.push(Reflect.get(type, 'brand') as symbol);
  }
  return brands;
}

/**
 * Base of the typed errors of STOQ's native packages. A subclass declares its brand once,
 * `protected static override readonly brand = Symbol.for('<package>.<ClassName>')`:
 * `instanceof` then holds for every error carrying that brand, whichever copy of the
 * package (or of this one) made it, and `name` is the `<ClassName>` part (it survives
 * minifiers that rename classes). `instanceof StoqNativeError` holds for all of them.
 *
 * @typeParam Code - the subclass's union of stable codes (`STOQ_ERR_*`).
 */
export abstract class StoqNativeError<Code extends string = string> extends Error {
  /**
   * The `Symbol.for` key `instanceof` looks for. Each subclass sets its own; one that
   * does not is checked by its prototype chain as usual.
   */
  protected static readonly brand: symbol = Symbol.for('@stoq/native-support.StoqNativeError');

  /** Stable machine-readable code. */
  readonly code: Code;
  /** The failing call. */
  readonly operation: string;
  /** What to do about it, when known. */
  readonly hint: string | undefined;
  /** Positive OS errno when a system call failed. */
  readonly errno: number | undefined;
  /** Symbolic errno, e.g. `'EOPNOTSUPP'`. */
  readonly errnoCode: string | undefined;

  /** The message gets the hint appended; `errnoCode` is derived from `details.errno`. */
  constructor(code: Code, message: string, details: StoqNativeErrorDetails) {
    super(details.hint ? `${message} (hint: ${details.hint})` : message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.operation = details.operation;
    this.hint = details.hint;
    this.errno = details.errno;
    this.errnoCode = details.errno === undefined ? undefined : errnoName(details.errno);
    const brands = brandsOf(new.target);
    for (const brand of brands) Object.defineProperty(this, brand, { value: true });
    // `name`: the class part of the nearest subclass's brand key (minifiers rename classes, not keys).
    const key = brands.length > 1 ? brands[0]!.description! : `.${new.target.name}`;
    this.name = key.slice(key.lastIndexOf('.') + 1);
  }

  /** True for any object carrying this class's brand, whichever copy of the package made it. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!Object.hasOwn(this, 'brand')) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[this.brand] === true;
  }
}
