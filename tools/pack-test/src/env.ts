// SPDX-License-Identifier: Apache-2.0
import { resolve } from 'node:path';

/** The README examples of the kernel-facing packages need root (BPF, AF_XDP, namespaces). */
export const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('@stoq/pack-test: not root — the loader, af-xdp and netlab README examples are skipped (they need CAP_BPF/CAP_NET_ADMIN)');

/** The monorepo root (for test fixtures built by the packages' own builds). */
export const repoRoot = resolve(import.meta.dirname, '../../..');
