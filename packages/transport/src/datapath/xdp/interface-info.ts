// SPDX-License-Identifier: Apache-2.0
// Facts about a network interface read from sysfs (and ethtool for GRO), all in the
// caller's network namespace.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const IFF_LOOPBACK = 0x8;

export function interfaceExists(ifname: string): boolean {
  return /^[\w.:@-]{1,15}$/.test(ifname) && existsSync(`/sys/class/net/${ifname}`);
}

/** RX queues that really exist (not the driver's advertised maximum). */
export function rxQueueCount(ifname: string): number {
  return readdirSync(`/sys/class/net/${ifname}/queues`).filter((q) => q.startsWith('rx-')).length;
}

export function interfaceMac(ifname: string): string {
  return readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
}

export function isLoopback(ifname: string): boolean {
  return (parseInt(readFileSync(`/sys/class/net/${ifname}/flags`, 'utf8').trim(), 16) & IFF_LOOPBACK) !== 0;
}

/** true/false from `ethtool -k`, null when ethtool is missing or says nothing. */
export function groEnabled(ifname: string): boolean | null {
  try {
    const out = execFileSync('ethtool', ['-k', ifname], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /generic-receive-offload:\s*(on|off)/.exec(out);
    return m ? m[1] === 'on' : null;
  } catch {
    return null;
  }
}
