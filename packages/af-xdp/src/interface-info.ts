// SPDX-License-Identifier: Apache-2.0
// What sysfs says about an interface, so bad names and queue ids fail clearly
// before any socket exists (the kernel's EINVAL/ENODEV would not say which).
import { readdirSync } from 'node:fs';
import { XskError } from './errors.js';

/** Number of RX queues that really exist (veth has 1 unless created with numrxqueues). */
export function rxQueueCount(ifname: string, operation: string): number {
  let entries: string[];
  try {
    entries = readdirSync(`/sys/class/net/${ifname}/queues`);
  } catch (error) {
    throw new XskError('STOQ_ERR_NO_SUCH_DEVICE', `${operation}: no network interface named '${ifname}' in this namespace`, {
      operation,
      hint: 'check `ip link`; a namespace-local interface is only visible from inside its namespace',
      errno: (error as NodeJS.ErrnoException).errno === undefined ? undefined : Math.abs((error as NodeJS.ErrnoException).errno!),
      cause: error,
    });
  }
  return entries.filter((e) => e.startsWith('rx-')).length;
}
