// SPDX-License-Identifier: Apache-2.0
// doctor applies the transport's own pre-checks: on a kernel older than stoq_xdp needs
// (5.12, BPF atomics), the fast path is reported impossible with the reason, though the
// loader's XDP-link check (5.9) would pass.
import { describe, expect, it } from 'vitest';
import { probe } from '@stoq/loader';
import { probeUdpGso } from '@stoq/udp';
import { applyLadderChecks } from '../src/commands/doctor.js';

describe('doctor on an old kernel', () => {
  it('marks the kernel row failed with the reason, and the fast path impossible', () => {
    const real = { ...probe(), udpGso: probeUdpGso() };
    const old = applyLadderChecks({ ...real, kernelRelease: '5.10.0-21-amd64', kernelRecentEnough: { ok: true }, fastPathPossible: true });
    expect(old.kernelRecentEnough).toMatchObject({ ok: false, hint: 'stoq_xdp needs Linux >= 5.12 (BPF atomics); this kernel is 5.10.0-21-amd64' });
    expect(old.fastPathPossible).toBe(false);
    expect(old.hints).toContain('stoq_xdp needs Linux >= 5.12 (BPF atomics); this kernel is 5.10.0-21-amd64');
    // This machine's kernel is recent enough: nothing changes there.
    expect(applyLadderChecks(real).kernelRecentEnough.ok).toBe(real.kernelRecentEnough.ok);
  });
});
