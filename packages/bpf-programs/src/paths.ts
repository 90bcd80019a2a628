// SPDX-License-Identifier: Apache-2.0
// Where the compiled object and the shared C header ship: dist/. Resolved through
// "../dist/" so the same code works from dist/ (published) and from src/ (tests).
import { fileURLToPath } from 'node:url';

/** Absolute path of the compiled XDP object (BTF included). */
export const objectPath = fileURLToPath(new URL('../dist/stoq_xdp.bpf.o', import.meta.url));

/** Absolute path of stoq_shared.h, for C userspace that reads the maps. */
export const headerPath = fileURLToPath(new URL('../dist/stoq_shared.h', import.meta.url));

/** Absolute path of the stoq_ct_states iterator object: counts stoq_conntrack per state in the kernel. */
export const ctStatesObjectPath = fileURLToPath(new URL('../dist/stoq_ct_states.bpf.o', import.meta.url));
