// SPDX-License-Identifier: Apache-2.0
// Attaches the pinned program to an interface for lab tests with iproute2, in the
// mode asked for only (xdpdrv / xdpgeneric), so a driver without native XDP fails
// loudly instead of quietly falling back.
import { execFileSync } from 'node:child_process';

export type XdpMode = 'native' | 'generic';

export interface AttachedXdp {
  ifname: string;
  mode: XdpMode;
  programId: number;
  detach(): void;
}

const KEYWORD: Record<XdpMode, string> = { native: 'xdpdrv', generic: 'xdpgeneric' };

export function attachXdp(ifname: string, pinnedProg: string, mode: XdpMode): AttachedXdp {
  execFileSync('ip', ['link', 'set', 'dev', ifname, KEYWORD[mode], 'pinned', pinnedProg], { stdio: 'pipe' });
  const [info] = JSON.parse(execFileSync('ip', ['-j', '-d', 'link', 'show', 'dev', ifname], { encoding: 'utf8' })) as Array<{
    xdp?: { prog?: { id: number } };
  }>;
  return {
    ifname,
    mode,
    programId: info?.xdp?.prog?.id ?? -1,
    detach() {
      execFileSync('ip', ['link', 'set', 'dev', ifname, KEYWORD[mode], 'off'], { stdio: 'pipe' });
    },
  };
}

export function attachNative(ifname: string, pinnedProg: string): AttachedXdp {
  return attachXdp(ifname, pinnedProg, 'native');
}
