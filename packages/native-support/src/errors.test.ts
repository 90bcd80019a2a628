// SPDX-License-Identifier: Apache-2.0
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { StoqNativeError, errnoName, type StoqNativeErrorDetails } from './errors.ts';

type DemoCode = 'STOQ_ERR_DEMO' | 'STOQ_ERR_OTHER';

// What a package defines: a class with its own brand. `copy()` makes the same class again,
// as a second copy of the package in one process would (same Symbol.for key, other prototype).
function copy(key = '@stoq/demo.DemoError') {
  return class DemoError extends StoqNativeError<DemoCode> {
    protected static override readonly brand: symbol = Symbol.for(key);
    constructor(code: DemoCode, message: string, details: StoqNativeErrorDetails) {
      super(code, message, details);
    }
  };
}

describe('StoqNativeError', () => {
  it('instanceof holds across two separately constructed classes with the same brand', () => {
    const A = copy();
    const B = copy();
    const a = new A('STOQ_ERR_DEMO', 'from copy A', { operation: 'a' });
    expect(Object.getPrototypeOf(a)).not.toBe(B.prototype);
    expect(a).toBeInstanceOf(A);
    expect(a).toBeInstanceOf(B);
    expect(new B('STOQ_ERR_DEMO', 'from copy B', { operation: 'b' })).toBeInstanceOf(A);
    expect(a).toBeInstanceOf(Error);
    expect(a).toBeInstanceOf(StoqNativeError);
  });

  it('instanceof does not hold for another brand, a look-alike or a non-object', () => {
    const A = copy();
    const Other = copy('@stoq/other.OtherError');
    expect(new Other('STOQ_ERR_DEMO', 'x', { operation: 'x' })).not.toBeInstanceOf(A);
    expect(new Other('STOQ_ERR_DEMO', 'x', { operation: 'x' })).toBeInstanceOf(StoqNativeError);
    expect(Object.assign(new Error('x'), { code: 'STOQ_ERR_DEMO', name: 'DemoError' })).not.toBeInstanceOf(A);
    expect(new Error('x')).not.toBeInstanceOf(StoqNativeError);
    for (const value of [null, undefined, 'DemoError', 42] as unknown[]) expect((value as object) instanceof A).toBe(false);
  });

  it('recognises errors made before this package existed (brand as a getter or an own property)', () => {
    const A = copy();
    const brand = Symbol.for('@stoq/demo.DemoError');
    class OldGetter extends Error {
      get [brand](): true {
        return true;
      }
    }
    expect(new OldGetter('old')).toBeInstanceOf(A);
    expect(Object.defineProperty(new Error('old'), brand, { value: true })).toBeInstanceOf(A);
    // and the old checks (`brand in value`, `value[brand] === true`) recognise the new errors
    const a = new A('STOQ_ERR_DEMO', 'new', { operation: 'a' });
    expect(brand in a).toBe(true);
    expect((a as unknown as Record<symbol, unknown>)[brand]).toBe(true);
  });

  it('takes name from the brand key, also where the class is renamed (minifiers)', () => {
    const Renamed = copy('@stoq/demo.RenamedError');
    expect(Renamed.name).toBe('DemoError');
    expect(new Renamed('STOQ_ERR_DEMO', 'x', { operation: 'x' }).name).toBe('RenamedError');
    expect(Object.keys(new Renamed('STOQ_ERR_DEMO', 'x', { operation: 'x' }))).toContain('name');
  });

  it('a subclass without a brand of its own is checked by its prototype chain (and named by its parent)', () => {
    const A = copy();
    class Unbranded extends A {}
    expect(new Unbranded('STOQ_ERR_DEMO', 'x', { operation: 'x' }).name).toBe('DemoError');
    class Direct extends StoqNativeError<'STOQ_ERR_DEMO'> {
      constructor() {
        super('STOQ_ERR_DEMO', 'x', { operation: 'x' });
      }
    }
    expect(new Direct()).toMatchObject({ name: 'Direct' });
    expect(new Direct()).toBeInstanceOf(StoqNativeError);
    expect(new Unbranded('STOQ_ERR_DEMO', 'x', { operation: 'x' })).toBeInstanceOf(Unbranded);
    expect(new Unbranded('STOQ_ERR_DEMO', 'x', { operation: 'x' })).toBeInstanceOf(A);
    expect(new A('STOQ_ERR_DEMO', 'x', { operation: 'x' })).not.toBeInstanceOf(Unbranded);
  });

  it('appends the hint to the message and keeps every field', () => {
    const A = copy();
    const cause = new Error('native');
    const error = new A('STOQ_ERR_OTHER', 'bind failed', { operation: 'xsk_socket__create', hint: 'use copy mode', errno: constants.errno.EOPNOTSUPP, cause });
    expect(error.message).toBe('bind failed (hint: use copy mode)');
    expect(error).toMatchObject({
      name: 'DemoError',
      code: 'STOQ_ERR_OTHER',
      operation: 'xsk_socket__create',
      hint: 'use copy mode',
      errno: constants.errno.EOPNOTSUPP,
      errnoCode: 'EOPNOTSUPP',
    });
    expect(error.cause).toBe(cause);
    expect(String(error)).toBe('DemoError: bind failed (hint: use copy mode)');
  });

  it('leaves the message alone without a hint; no errno means no errnoCode and no cause', () => {
    const error = new (copy())('STOQ_ERR_DEMO', 'closed', { operation: 'close' });
    expect(error.message).toBe('closed');
    expect(error.hint).toBeUndefined();
    expect(error.errno).toBeUndefined();
    expect(error.errnoCode).toBeUndefined();
    expect('cause' in error).toBe(false);
  });

  it('keeps the brand off the enumerable fields', () => {
    const error = new (copy())('STOQ_ERR_DEMO', 'x', { operation: 'x' });
    expect(Object.getOwnPropertySymbols(error).every((symbol) => !Object.getOwnPropertyDescriptor(error, symbol)!.enumerable)).toBe(true);
    expect(JSON.parse(JSON.stringify(error))).toEqual({ code: 'STOQ_ERR_DEMO', operation: 'x', name: 'DemoError' });
  });
});

describe('errnoName', () => {
  it('names the errnos Node knows', () => {
    expect(errnoName(constants.errno.EPERM)).toBe('EPERM');
    expect(errnoName(constants.errno.EOPNOTSUPP)).toBe('EOPNOTSUPP');
    expect(errnoName(constants.errno.ENOPROTOOPT)).toBe('ENOPROTOOPT');
  });

  it('is undefined for the others (e.g. the kernel-internal 524 and 0)', () => {
    expect(errnoName(524)).toBeUndefined();
    expect(errnoName(0)).toBeUndefined();
    expect(errnoName(-1)).toBeUndefined();
  });
});
