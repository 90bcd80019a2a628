// SPDX-License-Identifier: Apache-2.0
// Interface name ↔ index, read from sysfs of the current network namespace.
import { readFileSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { BpfError, invalidArgument } from './errors.js';

/** A network interface of this namespace, by both name and index. */
export interface InterfaceRef {
  /** The interface name, e.g. `eth0`. */
  ifname: string;
  /** The kernel's interface index. */
  ifindex: number;
}

/**
 * Looks up an interface by name or index in /sys/class/net. Throws STOQ_ERR_INVALID_ARGUMENT for a
 * malformed name or index and STOQ_ERR_NO_SUCH_DEVICE if this namespace has no such interface;
 * `operation` names the caller in the error.
 */
export function resolveInterface(iface: string | number, operation: string): InterfaceRef {
  if (typeof iface === 'number') {
    if (!Number.isInteger(iface) || iface <= 0) throw invalidArgument(operation, `ifindex must be a positive integer, got ${iface}`);
    const ifname = readdirSync('/sys/class/net').find((name) => indexOf(name) === iface);
    if (!ifname) throw noSuchDevice(operation, `ifindex ${iface}`);
    return { ifname, ifindex: iface };
  }
  if (typeof iface !== 'string' || iface.length === 0 || iface.length > 15 || iface.includes('/')) {
    throw invalidArgument(operation, `invalid interface name ${JSON.stringify(iface)}`);
  }
  const ifindex = indexOf(iface);
  if (ifindex === null) throw noSuchDevice(operation, iface);
  return { ifname: iface, ifindex };
}

function indexOf(ifname: string): number | null {
  try {
    return Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
  } catch {
    return null;
  }
}

function noSuchDevice(operation: string, what: string): BpfError {
  return new BpfError(`${operation}: no interface ${what} in this network namespace`, {
    code: 'STOQ_ERR_NO_SUCH_DEVICE',
    operation,
    errno: constants.errno.ENODEV,
    hint: 'list interfaces with `ip link`; inside a namespace run the process with `ip netns exec NS …`',
  });
}
