// SPDX-License-Identifier: Apache-2.0
// How an error reaches a terminal. Library errors carry their hint twice (at the end of
// the message, and as `hint`) and some hints name API options (`port: 0`,
// `idleTimeoutMs`) that mean nothing on a command line: say it in the CLI's terms, once.
export interface ErrorText {
  message: string;
  code?: string;
  hint?: string;
}

/** API hint → what a CLI user can do, by error code. */
const CLI_HINTS: Record<string, ReadonlyArray<readonly [RegExp, string]>> = {
  STOQ_ERR_BIND: [[/pass port: 0 for a free one/, 'pass --port 0 for a free one']],
  STOQ_ERR_IDLE_TIMEOUT: [[/raise idleTimeoutMs or keep the connection busy/, 'the other side stopped answering (stopped, killed, or the path to it broke)']],
};

export function errorText(error: unknown): ErrorText {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; code?: unknown; hint?: unknown };
  let message = typeof e.message === 'string' ? e.message : String(error);
  const code = typeof e.code === 'string' ? e.code : undefined;
  let hint = typeof e.hint === 'string' && e.hint !== '' ? e.hint : undefined;
  if (hint !== undefined) {
    // Transport errors end their message with ` (hint)`, the native packages' with ` (hint: hint)`.
    for (const suffix of [` (${hint})`, ` (hint: ${hint})`]) if (message.endsWith(suffix)) message = message.slice(0, -suffix.length);
    for (const [api, cli] of CLI_HINTS[code ?? ''] ?? []) hint = hint.replace(api, cli);
  }
  return { message, ...(code ? { code } : {}), ...(hint ? { hint } : {}) };
}
