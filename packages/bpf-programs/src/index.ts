// SPDX-License-Identifier: Apache-2.0
// @stoq/bpf-programs: the compiled stoq_xdp object and codecs for its maps.
export { objectPath, headerPath, ctStatesObjectPath } from './paths.js';
export {
  PROGRAM_NAME, CT_STATES_PROGRAM_NAME, MAP_NAMES, COUNTER_NAMES, CLASS_COUNTER_NAMES, SIZE_BUCKET_LIMITS, MAX_QUIC_PORTS, CONFIG_MAGIC,
  CONNTRACK_STATES, IPV4_POLICIES, STRUCT_LAYOUTS, ENUM_VALUES,
  CONFIG_LAYOUT, STATS_LAYOUT, CT_KEY_LAYOUT, CT_VALUE_LAYOUT, PREFIX_KEY_LAYOUT, TOKEN_BUCKET_LAYOUT,
  CT_SUMMARY_LAYOUT, CT_STATE_SLOTS, HOST_ADDRS_ENTRIES,
  type CounterName, type ConntrackState, type Ipv4Policy, type StructLayout,
} from './layout.js';
export {
  DEFAULT_CONFIG, encodeConfig, decodeConfig, normalizeConfig, encodeHostAddrKey, decodeHostAddrKey, HOST_ADDR_VALUE, type StoqConfig,
} from './config.js';
export { decodeStats, diffStats, sizeBucketOf, type StoqStats } from './stats.js';
export {
  encodeConntrackKey, decodeConntrackKey, encodeConntrackValue, decodeConntrackValue, decodeConntrack,
  type ConntrackKey, type ConntrackValue, type ConntrackEntry,
} from './conntrack.js';
export { decodeConntrackSummary, type ConntrackSummary } from './ct-summary.js';
export { ipv6ToBytes, ipv6FromBytes } from './ipv6.js';
export { StoqCodecError, type StoqCodecErrorCode } from './errors.js';
