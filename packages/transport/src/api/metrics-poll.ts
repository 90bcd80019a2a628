// SPDX-License-Identifier: Apache-2.0
// Apart from ebpf-metrics.ts, whose declarations import the optional XDP packages (see datapath/xdp/public-types.ts).
/** How often the snapshot behind getEbpfMetrics() is refreshed. */
export const METRICS_POLL_MS = 1000;
