// Shared test plumbing: root check with a printed reason, bounded polling.
export const isRoot = process.getuid?.() === 0;

export function skipReason(what: string): void {
  if (!isRoot) console.log(`${what} skipped: needs root (network namespaces, BPF)`);
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
