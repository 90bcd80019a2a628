#!/usr/bin/env node
// `stoq-netlab up` prints a lab as JSON and keeps it until stdin closes or a signal
// arrives; shell benchmarks use it to get a lab with the same guarantees as tests.
import { fstatSync } from 'node:fs';
import { createLab } from './lab.js';

const [command, ...rest] = process.argv.slice(2);
if (command !== 'up') {
  console.error('usage: stoq-netlab up [--host-side] [--queues N] [--static-neighbours] [--timeout-ms N]');
  process.exit(2);
}
const flag = (name: string) => rest.includes(name);
const value = (name: string) => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : undefined;
};
const lab = await createLab({
  hostSide: flag('--host-side'),
  staticNeighbours: flag('--static-neighbours'),
  queues: value('--queues'),
  timeoutMs: value('--timeout-ms'),
});
console.log(JSON.stringify({ id: lab.id, a: lab.a, b: lab.b }));
// Started in the background of a script, stdin is /dev/null and ends at once: say why the
// lab is gone instead of leaving the caller with a JSON line for a lab that no longer exists.
process.stdin.resume();
process.stdin.on('end', () => {
  if (!process.stdin.isTTY && !fstatSync(0).isFIFO() && !fstatSync(0).isSocket()) {
    console.error('stoq-netlab: stdin ended at once (started with & or </dev/null?): the lab is removed when stdin closes; keep a pipe open, e.g. `coproc stoq-netlab up`');
  }
  void lab.destroy().then(() => process.exit(0));
});
