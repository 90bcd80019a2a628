// SPDX-License-Identifier: Apache-2.0
// What the bench reads from and changes on the machine: the XDP attach mode of a
// veth end, and net.core.rmem_max for the dgram drain (restored afterwards).
import { readFileSync, writeFileSync } from 'node:fs';

/** XDP attach mode of the receiving veth end, as the kernel reports it. */
export async function xdpMode(lab) {
  const { stdout } = await lab.exec(lab.a, 'ip', ['-d', '-j', 'link', 'show', 'dev', lab.a.ifname]);
  const xdp = JSON.parse(stdout)[0]?.xdp;
  if (!xdp) return 'no XDP program';
  // IFLA_XDP_ATTACHED: 1 driver (native), 2 generic (skb), 3 offload, 4 several.
  const modes = { 1: 'native', 2: 'generic', 3: 'offload' };
  if (xdp.mode !== 4) return `${modes[xdp.mode] ?? `mode ${xdp.mode}`} XDP`;
  const attached = (xdp.attached ?? []).map((a) => modes[a.mode] ?? `mode ${a.mode}`);
  return `${[...new Set(attached)].join('+')} XDP`;
}

/** Raises net.core.rmem_max to `bytes` until restore(); restored on exit and on signals too. */
export function raiseRmemMax(bytes) {
  const path = '/proc/sys/net/core/rmem_max';
  const original = readFileSync(path, 'utf8').trim();
  if (Number(original) >= bytes) return () => {};
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    writeFileSync(path, original);
  };
  const onSignal = (signal) => {
    restore();
    // Let the lab's own handler (registered later) tear down and re-raise; else re-raise here.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.once('exit', restore);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  writeFileSync(path, String(bytes));
  console.log(`net.core.rmem_max raised ${original} -> ${bytes} for the dgram drain (restored afterwards)`);
  return restore;
}
