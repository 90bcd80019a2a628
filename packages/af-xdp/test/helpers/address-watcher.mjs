// SPDX-License-Identifier: Apache-2.0
// Runs in a lab namespace: opens watchIpv6Addresses() and prints one line per event,
// `ready`, `change <ms since ready>`, `uncaught <message>`, `closed`. Commands on stdin:
// `close` (closes the watch twice), `exit`. Mode `throw`: the first callback throws.
// Mode `idle`: opens the watch, never closes it and does nothing else (the process must
// exit by itself: the watch does not keep the loop alive). Bounded: exits after 30 s.
import { createInterface } from 'node:readline';

const { watchIpv6Addresses } = await import(new URL('../../dist/index.js', import.meta.url).href);
const mode = process.argv[2] ?? 'plain';
if (mode === 'idle') {
  watchIpv6Addresses(() => {});
  process.stdout.write('ready\n');
} else {
  const start = performance.now();
  let thrown = false;
  process.on('uncaughtException', (error) => process.stdout.write(`uncaught ${error.message}\n`));
  const watch = watchIpv6Addresses((error) => {
    process.stdout.write(error ? `error ${error.code}\n` : `change ${(performance.now() - start).toFixed(1)}\n`);
    if (mode === 'throw' && !thrown) {
      thrown = true;
      throw new Error('listener failed');
    }
  });
  const timer = setTimeout(() => process.exit(0), 30_000);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line === 'close') {
      watch.close();
      watch.close();
      process.stdout.write(`closed ${watch.closed}\n`);
    } else if (line === 'exit') {
      clearTimeout(timer);
      lines.close();
      process.stdin.destroy();
      watch.close();
    }
  });
  process.stdout.write('ready\n');
}
