// SPDX-License-Identifier: Apache-2.0
// Attaches the pinned program to an interface for lab tests (iproute2, native mode
// only, so a driver without native XDP fails loudly instead of falling back).
import { execFileSync } from 'node:child_process';

export interface AttachedXdp {
  ifname: string;
  programId: number;
  detach(): void;
}

export function attachNative(ifname: string, pinnedProg: string): AttachedXdp {
  execFileSync('ip', ['link', 'set', 'dev', ifname, 'xdpdrv', 'pinned', pinnedProg], { stdio: 'pipe' });
  const [info] = JSON.parse(execFileSync('ip', ['-j', '-d', 'link', 'show', 'dev', ifname], { encoding: 'utf8' })) as Array<{
    xdp?: { mode: number; prog?: { id: number } };
  }>;
  const programId = info?.xdp?.prog?.id ?? -1;
  return {
    ifname,
    programId,
    detach() {
      execFileSync('ip', ['link', 'set', 'dev', ifname, 'xdpdrv', 'off'], { stdio: 'pipe' });
    },
  };
}
