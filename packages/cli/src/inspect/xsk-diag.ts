// AF_XDP socket health of other processes, as far as the kernel lets us see it:
// only through sock_diag (`ss --xdp`), which needs CONFIG_XDP_SOCKETS_DIAG.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** One socket as `ss --xdp -e -m` prints it (ring sizes, UMEM, drop counters). */
export interface XskSocketInfo {
  ss: string;
}

export type XskReading = XskSocketInfo[] | { unavailable: string };

function diagDisabledReason(): string | null {
  try {
    const config = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
    if (/^# CONFIG_XDP_SOCKETS_DIAG is not set/m.test(config)) {
      return 'not visible from outside the STOQ process: this kernel is built without CONFIG_XDP_SOCKETS_DIAG (ss --xdp shows nothing)';
    }
  } catch {
    // no /proc/config.gz: try ss and see
  }
  return null;
}

let cachedReason: string | null | undefined;

export function readXskSockets(): XskReading {
  cachedReason ??= diagDisabledReason();
  if (cachedReason) return { unavailable: cachedReason };
  try {
    const out = execFileSync('ss', ['-H', '--xdp', '-a', '-e', '-m'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n').filter((l) => l.trim()).map((ss) => ({ ss: ss.trim() }));
  } catch (error) {
    return { unavailable: `ss --xdp failed: ${(error as Error).message.split('\n')[0]}` };
  }
}
