// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { FirstErrors } from './first-errors.js';

const err = (fields: { code?: string; errno?: number }, message = 'x') => Object.assign(new Error(message), fields);

describe('FirstErrors', () => {
  it('one report per label and code (else errno); errors with neither are one kind per label; reset() re-arms', () => {
    const f = new FirstErrors();
    expect(f.first('lookup', err({ code: 'EPERM' }))).toBe(true);
    expect(f.first('lookup', err({ code: 'EPERM' }, 'other text'))).toBe(false);
    expect(f.first('touch', err({ code: 'EPERM' }))).toBe(true);
    expect(f.first('lookup', err({ errno: -1 }))).toBe(true);
    expect(f.first('lookup', err({ errno: -1 }))).toBe(false);
    expect(f.first('lookup', new Error('for fd00::1'))).toBe(true);
    expect(f.first('lookup', new Error('for fd00::2'))).toBe(false);
    expect(f.first('lookup', 'not an Error')).toBe(false);
    expect(f.first('lookup', undefined)).toBe(false);
    f.reset();
    expect(f.first('lookup', err({ code: 'EPERM' }))).toBe(true);
  });
});
