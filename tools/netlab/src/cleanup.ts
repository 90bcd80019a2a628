// Process-wide registry of labs still alive, torn down synchronously on exit and on
// SIGINT/SIGTERM/SIGHUP (a closed terminal) so an interrupted test run leaves no namespace or veth behind.
import { runSync } from './run.js';

type Teardown = () => void;

const live = new Map<string, Teardown>();
let hooked = false;

function teardownAll(): void {
  for (const [name, teardown] of live) {
    live.delete(name);
    teardown();
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onSignal(signal: NodeJS.Signals): void {
  // Our listener stays registered during the teardown: with none left, Node restores the
  // default action, and a second signal (Ctrl-C twice, `timeout` signalling the process
  // group too) killed the process half-way, leaving namespaces and the owner record.
  teardownAll();
  // Then re-raise with default behaviour so the exit status still says "killed by signal".
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.kill(process.pid, signal);
}

export function registerLab(name: string, teardown: Teardown): void {
  live.set(name, teardown);
  if (!hooked) {
    hooked = true;
    process.on('exit', teardownAll);
    for (const signal of SIGNALS) process.on(signal, onSignal);
  }
}

export function unregisterLab(name: string): void {
  live.delete(name);
}

/** Deletes namespaces and links by name; each step is best effort and idempotent. */
export function destroySync(namespaces: readonly string[], hostLinks: readonly string[]): void {
  for (const link of hostLinks) runSync('ip', ['link', 'del', link]);
  for (const ns of namespaces) {
    // Kill anything still running inside before the namespace goes.
    runSync('ip', ['netns', 'pids', ns]) && runSync('sh', ['-c', `ip netns pids ${ns} | xargs -r kill -9`]);
    runSync('ip', ['netns', 'del', ns]);
  }
}
