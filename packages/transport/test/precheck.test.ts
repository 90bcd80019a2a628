// SPDX-License-Identifier: Apache-2.0
// The fallback ladder's pre-checks, shared with `stoq doctor`: an old kernel is named
// before any load is tried (stoq_xdp uses BPF atomics, Linux >= 5.12).
import { release } from 'node:os';
import { describe, expect, it } from 'vitest';
import { kernelRefusal, xdpInterfaceRefusals } from '../src/index.js';

describe('kernelRefusal', () => {
  it('refuses kernels before 5.12 and names the release', () => {
    expect(kernelRefusal('5.10.0-21-amd64')).toBe('stoq_xdp needs Linux >= 5.12 (BPF atomics); this kernel is 5.10.0-21-amd64');
    expect(kernelRefusal('4.19.0')).toMatch(/needs Linux >= 5\.12/);
    for (const ok of ['5.12.0', '5.15.0-91-generic', '6.1.0-18-amd64', '6.18.44-fc-v669']) expect(kernelRefusal(ok)).toBeNull();
    expect(kernelRefusal('not-a-version')).toBeNull(); // unknown: the load decides
  });

  it('fails every rung of the ladder on an old kernel, whatever the interface', () => {
    expect(xdpInterfaceRefusals('lo', '5.10.0')).toEqual({ all: expect.stringMatching(/needs Linux >= 5\.12/), generic: null });
    // This machine's kernel passes, so lo gets its real checks.
    expect(xdpInterfaceRefusals('lo', release()).all).toBeNull();
  });
});
