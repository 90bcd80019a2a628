// SPDX-License-Identifier: Apache-2.0
// The host's own IPv6 addresses, for stoq_host_addrs: bound to '::', stoq_xdp takes only
// QUIC sent to one of them (check_local_addrs) and leaves the rest, datagrams the host
// only forwards (a router; pods or VMs behind a bridge or veth running QUIC on the same
// port), to the kernel.
//
// Every address of every interface counts (the kernel delivers to any local address
// whatever interface it arrived on), except link-local ones: a datagram to fe80::/10 is
// delivered only on the interface that holds the address, so only the XDP interface's
// own, and its master's (a bridge or bond the interface is a port of, which is where the
// kernel delivers what arrives on it), are ours. The others would only fill the map: a
// container host has one per veth. Scope ids (%eth0) are stripped.
//
// What the list can miss is never lost: a destination missing from the map is PASSed, and
// the kernel hands it to the transport's own dgram socket (an address added since the last
// refresh; a 'local' route over a whole prefix, AnyIP, which no interface lists).
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { isLinkLocal } from '../../address.js';
import { interfaceMaster } from './interface-info.js';

/**
 * The IPv6 addresses of this host's interfaces as the kernel sees them in this network
 * namespace (no scope ids, duplicates removed): all but link-local ones, and the
 * link-local ones of `ifname` and of its master.
 */
export function hostIpv6Addresses(
  ifname: string,
  read: () => NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces,
  master: (ifname: string) => string | null = interfaceMaster,
): string[] {
  const own = new Set([ifname, master(ifname)].filter((n): n is string => n !== null));
  const out = new Set<string>();
  for (const [name, infos] of Object.entries(read())) {
    for (const info of infos ?? []) {
      if (info.family !== 'IPv6') continue;
      const address = info.address.replace(/%.*$/, '');
      if (isLinkLocal(address) && !own.has(name)) continue;
      out.add(address);
    }
  }
  return [...out];
}
