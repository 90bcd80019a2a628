// SPDX-License-Identifier: Apache-2.0
// Facts about a network interface read from sysfs (and ethtool for GRO), all in the
// caller's network namespace.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
/** ARPHRD_* (linux/if_arp.h): the link types stoq_xdp can frame for. */
export const ARPHRD_ETHER = 1;
export const ARPHRD_LOOPBACK = 772;

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

/** The interface's MTU (the largest IPv6 packet it sends, header included). */
export function interfaceMtu(ifname: string): number {
  return Number(readFileSync(`/sys/class/net/${ifname}/mtu`, 'utf8').trim());
}

/** The ARPHRD_* link type: 1 for Ethernet (veth, most NICs), 772 loopback, 65534 for L3 devices (tun, WireGuard). */
export function interfaceType(ifname: string): number {
  return Number(readFileSync(`/sys/class/net/${ifname}/type`, 'utf8').trim());
}

/** The bridge or bond `ifname` is a port of (/sys/class/net/IF/master), or null. */
export function interfaceMaster(ifname: string): string | null {
  try {
    return basename(readlinkSync(`/sys/class/net/${ifname}/master`));
  } catch {
    return null;
  }
}

function interfaceFlags(ifname: string): number {
  return parseInt(readFileSync(`/sys/class/net/${ifname}/flags`, 'utf8').trim(), 16);
}

export function isLoopback(ifname: string): boolean {
  return (interfaceFlags(ifname) & IFF_LOOPBACK) !== 0;
}

/**
 * Why `ifname` cannot transmit now ('administratively down', 'no carrier (operstate
 * lowerlayerdown)', 'deleted'), or null when it can as far as the kernel says.
 */
export function linkDownReason(ifname: string): string | null {
  let flags: number;
  let operstate: string;
  try {
    flags = interfaceFlags(ifname);
    operstate = readFileSync(`/sys/class/net/${ifname}/operstate`, 'utf8').trim();
  } catch {
    return 'the interface is gone';
  }
  if ((flags & IFF_UP) === 0) return 'the interface is administratively down';
  // 'unknown' is what loopback, tun and some drivers without carrier reporting say.
  if (operstate !== 'up' && operstate !== 'unknown') return `the interface has no carrier (operstate ${operstate})`;
  return null;
}

/**
 * Where ethtool is looked for: PATH first, then the usual sbin directories, which a
 * service's PATH (or a non-root user's) often lacks.
 */
export const ETHTOOL_CANDIDATES: readonly string[] = ['ethtool', '/usr/sbin/ethtool', '/sbin/ethtool', '/usr/local/sbin/ethtool'];

/** true/false from `ethtool -k`, null when no ethtool could be run or it said nothing. */
export function groEnabled(ifname: string, candidates: readonly string[] = ETHTOOL_CANDIDATES): boolean | null {
  for (const ethtool of candidates) {
    let out: string;
    try {
      out = execFileSync(ethtool, ['-k', ifname], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      continue;
    }
    const m = /generic-receive-offload:\s*(on|off)/.exec(out);
    return m ? m[1] === 'on' : null;
  }
  return null;
}
