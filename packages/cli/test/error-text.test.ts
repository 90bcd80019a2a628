// SPDX-License-Identifier: Apache-2.0
// Errors on the terminal: the hint once, and in the CLI's terms where the library's names an API option.
import { describe, expect, it } from 'vitest';
import { errorText } from '../src/error-text.js';

describe('errorText', () => {
  it('drops the hint repeated at the end of the message and names CLI options instead of API ones', () => {
    const idle = Object.assign(new Error('connection idle timeout (raise idleTimeoutMs or keep the connection busy)'), {
      code: 'STOQ_ERR_IDLE_TIMEOUT',
      hint: 'raise idleTimeoutMs or keep the connection busy',
    });
    expect(errorText(idle)).toEqual({ message: 'connection idle timeout', code: 'STOQ_ERR_IDLE_TIMEOUT', hint: 'the other side stopped answering (stopped, killed, or the path to it broke)' });
  });

  it("also drops the native packages' ' (hint: …)' suffix", () => {
    const eperm = Object.assign(new Error('load: Operation not permitted (hint: run as root)'), { code: 'STOQ_ERR_BPF_PERMISSION', hint: 'run as root' });
    expect(errorText(eperm)).toEqual({ message: 'load: Operation not permitted', code: 'STOQ_ERR_BPF_PERMISSION', hint: 'run as root' });
  });

  it('leaves other errors as they are, and copes with non-errors', () => {
    expect(errorText(Object.assign(new Error('boom'), { code: 'STOQ_ERR_X', hint: 'do y' }))).toEqual({ message: 'boom', code: 'STOQ_ERR_X', hint: 'do y' });
    expect(errorText('plain')).toEqual({ message: 'plain' });
    expect(errorText(null)).toEqual({ message: 'null' });
  });
});
