// SPDX-License-Identifier: Apache-2.0
// What the config (config.ts) and the public calls' arguments (api/arguments.ts) check
// alike: an optional object (a config section, an options argument), and how a wrong
// value is named in the StoqInvalidConfigError that refuses it.
import { StoqInvalidConfigError } from './errors.js';

/** A wrong value for a message: `null`, `string "x"` (cut at 40 characters), `number 5`, `an array`, `a function`, or an object's class. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function'; // not its source text
  return typeof value === 'object' ? (value.constructor?.name ?? 'object') : `${typeof value} ${String(value)}`;
}

/**
 * An optional object: undefined or null is none ({}), an array or a non-object is a
 * StoqInvalidConfigError '`name` must be an object, got …' for `operation`.
 */
export function optionalObject<T extends object = Record<string, unknown>>(value: unknown, name: string, operation: string): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new StoqInvalidConfigError(`${name} must be an object, got ${describeValue(value)}`, { operation });
  }
  return value as Partial<T>;
}
