// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { snapshotToJson, toEbpfMetrics } from './ebpf-metrics.js';
import { StoqMetricsError } from './errors.js';
import { thrown } from '../test/helpers/thrown.js';

describe('toEbpfMetrics', () => {
  it('refuses what is not a snapshot (lastSnapshot is null before the first collection) with a typed error', () => {
    for (const snapshot of [null, undefined, {}, 5]) {
      for (const convert of [toEbpfMetrics, snapshotToJson]) {
        const error = thrown(() => convert(snapshot as never));
        expect(error, String(snapshot)).toBeInstanceOf(StoqMetricsError);
        expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'snapshot' });
      }
    }
  });
});
