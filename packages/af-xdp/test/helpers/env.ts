// SPDX-License-Identifier: Apache-2.0
// Shared bits for the kernel tests: privilege check, helper script paths, a bounded wait.
import { fileURLToPath } from 'node:url';

export const isRoot = process.getuid?.() === 0;

export const helper = (name: string): string => fileURLToPath(new URL(`./${name}`, import.meta.url));

/** Polls `check` every few ms until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The kernel frees a closed socket's hold on its queue asynchronously (deferred
 * pool release), so a test that reopens the same queue right away may see EBUSY
 * for a moment: retry for a bounded time.
 */
export async function openWhenFree<T>(open: () => T, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return open();
    } catch (error) {
      // Only the queue (bind) is released late; an XDP program in the way is not retried.
      const { code, operation } = error as { code?: string; operation?: string };
      if (code !== 'STOQ_ERR_XSK_BUSY' || operation !== 'xsk_socket__create' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
