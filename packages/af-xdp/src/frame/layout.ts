// SPDX-License-Identifier: Apache-2.0
// Wire constants for Ethernet (+802.1Q/802.1ad), IPv6 and UDP.
/** Ethernet header bytes (two MACs + EtherType). */
export const ETH_HEADER = 14;
/** Bytes of one VLAN tag (TPID + TCI). */
export const VLAN_TAG = 4;
/** IPv6 fixed header bytes. */
export const IPV6_HEADER = 40;
/** UDP header bytes. */
export const UDP_HEADER = 8;

/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** TPID of an 802.1Q (customer) VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** TPID of an 802.1ad (service, outer) VLAN tag. */
export const ETHERTYPE_QINQ = 0x88a8;

/** IPv6 next header: UDP. */
export const IPPROTO_UDP = 17;
/** IPv6 next header: hop-by-hop options (skipped by the parser). */
export const IPPROTO_HOPOPTS = 0;
/** IPv6 next header: routing header (skipped by the parser). */
export const IPPROTO_ROUTING = 43;
/** IPv6 next header: fragment header (the parser skips an atomic fragment's, rejects real fragments). */
export const IPPROTO_FRAGMENT = 44;
/** IPv6 next header: destination options (skipped by the parser). */
export const IPPROTO_DSTOPTS = 60;

/** Extension headers the parser skips before giving up (same bound as stoq_xdp). */
export const MAX_EXTENSION_HEADERS = 4;
/** VLAN tags the parser and builder accept (802.1ad outer + 802.1Q inner). */
export const MAX_VLAN_TAGS = 2;
