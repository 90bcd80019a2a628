// SPDX-License-Identifier: Apache-2.0
// The native packages are optional dependencies: imported lazily, once, so the
// transport installs and runs (over dgram) where they cannot load, and says why.
export interface NativeModules {
  readonly loader: typeof import('@stoq/loader');
  readonly afXdp: typeof import('@stoq/af-xdp');
  readonly programs: typeof import('@stoq/bpf-programs');
}

export type NativeModulesResult = { ok: true; modules: NativeModules } | { ok: false; reason: string };

let cached: Promise<NativeModulesResult> | null = null;

/** Imports an optional package; a failure becomes a one-line reason naming it. */
export async function tryImport<T>(name: string): Promise<{ module: T } | { reason: string }> {
  try {
    return { module: (await import(name)) as T };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { reason: `${name} cannot be loaded (${e.code ?? 'error'}: ${String(e.message).split('\n')[0]})` };
  }
}

export function loadNativeModules(): Promise<NativeModulesResult> {
  cached ??= (async () => {
    const [loader, afXdp, programs] = await Promise.all([
      tryImport<NativeModules['loader']>('@stoq/loader'),
      tryImport<NativeModules['afXdp']>('@stoq/af-xdp'),
      tryImport<NativeModules['programs']>('@stoq/bpf-programs'),
    ]);
    const reasons = [loader, afXdp, programs].flatMap((r) => ('reason' in r ? [r.reason] : []));
    if (reasons.length > 0 || !('module' in loader) || !('module' in afXdp) || !('module' in programs)) {
      return { ok: false as const, reason: reasons.join('; ') };
    }
    return { ok: true as const, modules: { loader: loader.module, afXdp: afXdp.module, programs: programs.module } };
  })();
  return cached;
}

/** One line for a typed error from any STOQ package (code, errno name, message, hint). */
export function describeError(error: unknown): string {
  const e = error as { code?: unknown; errnoCode?: unknown; message?: unknown; hint?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(error);
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  const hint = typeof e.hint === 'string' && !message.includes(e.hint) ? ` (${e.hint})` : '';
  return `${code}${message}${hint}`;
}
