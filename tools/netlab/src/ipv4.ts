// The lab's IPv4 /24, from 198.18.0.0/15 (RFC 2544, benchmarking).
import { run } from './run.js';

const SUBNETS = 512; // 198.18.0.0/24 … 198.19.255.0/24

function subnet(index: number): string {
  return `198.${18 + (index >> 8)}.${index & 255}`;
}

/**
 * A /24 for a lab, as "198.x.y". Labs entirely inside their own namespaces cannot clash
 * and take the one their id names. A lab with side A in the caller's namespace puts a
 * route there, so it skips every /24 already on an address of that namespace (two
 * parallel labs with the id-derived choice alone met once in 512).
 */
export async function chooseIpv4Subnet(id: string, hostSide: boolean): Promise<string> {
  const start = parseInt(id.slice(0, 4), 16) % SUBNETS;
  if (!hostSide) return subnet(start);
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  const used = new Set(stdout.match(/\b198\.1[89]\.\d{1,3}(?=\.\d{1,3}\/)/g) ?? []);
  for (let k = 0; k < SUBNETS; k++) {
    const candidate = subnet((start + k) % SUBNETS);
    if (!used.has(candidate)) return candidate;
  }
  throw new Error('no free /24 left in 198.18.0.0/15 for the lab (512 in use in this namespace)');
}
