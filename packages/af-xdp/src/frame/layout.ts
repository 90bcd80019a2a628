// SPDX-License-Identifier: Apache-2.0
// Wire constants for Ethernet (+802.1Q/802.1ad), IPv6 and UDP.
export const ETH_HEADER = 14;
export const VLAN_TAG = 4;
export const IPV6_HEADER = 40;
export const UDP_HEADER = 8;

export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100; // 802.1Q C-tag
export const ETHERTYPE_QINQ = 0x88a8; // 802.1ad S-tag

export const IPPROTO_UDP = 17;
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_DSTOPTS = 60;

/** Extension headers the parser skips before giving up (same bound as stoq_xdp). */
export const MAX_EXTENSION_HEADERS = 4;
export const MAX_VLAN_TAGS = 2;
