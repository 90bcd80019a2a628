// SPDX-License-Identifier: Apache-2.0
// Observability through node:diagnostics_channel; publishing costs nothing without subscribers.
import * as diagnostics from 'node:diagnostics_channel';

/**
 * The `node:diagnostics_channel` channels this package publishes on (exported as
 * `diagnosticsChannels`); subscribe with `channel.subscribe(fn)`. Each entry lists the
 * message fields.
 */
export const channels = {
  /** { connection } once the handshake completed (both roles). */
  connectionEstablished: diagnostics.channel('stoq:transport:connection:established'),
  /** { connection, error } when a connection is gone. */
  connectionClosed: diagnostics.channel('stoq:transport:connection:closed'),
  /** { transport, datapath, fallbackReason } when a transport picked its datapath. */
  datapathSelected: diagnostics.channel('stoq:transport:datapath:selected'),
  /** { transport, error } for datapath I/O errors (send failures, socket errors). */
  datapathError: diagnostics.channel('stoq:transport:datapath:error'),
  /** { transport, error } when collecting getEbpfMetrics()'s snapshot failed as a whole (single sources become unavailable instead). */
  metricsError: diagnostics.channel('stoq:transport:metrics:error'),
} as const;
