// SPDX-License-Identifier: Apache-2.0
// `stoq top` in miniature, run by the tests as a separate (possibly unprivileged) process:
// one collection by name, printed as JSON. Uses the built package (dist), as the CLI would.
import { createStoqCollector, toEbpfMetrics } from '../../dist/index.js';

const collector = await createStoqCollector({ byName: true, process: false });
const snapshot = await collector.collect();
const { packetMetrics, connectionMetrics } = toEbpfMetrics(snapshot);
console.log(JSON.stringify({ packetMetrics, conntrack: connectionMetrics.conntrack, sourceErrors: snapshot.sourceErrors }));
