// A disposable two-host IPv6 network: side A and side B joined by a veth pair, each
// side in its own network namespace (or side A in the caller's namespace, so an
// in-process XDP attach can see its interface). Private fd00::/8 addresses, no DAD.
import { randomBytes } from 'node:crypto';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { destroySync, registerLab, unregisterLab } from './cleanup.js';
import { chooseIpv4Subnet } from './ipv4.js';
import { forgetOwner, recordOwner, reapOrphanLabs } from './owners.js';
import { run, spawnTracked, type RunResult } from './run.js';

/** Options of createLab(). */
export interface LabOptions {
  /** Put side A in the caller's network namespace instead of a new one. */
  hostSide?: boolean;
  /** RX/TX queues per veth end (veth has one unless asked). */
  queues?: number;
  /** Add permanent neighbour entries on both sides so no NDP is needed. */
  staticNeighbours?: boolean;
  /** Leave GRO on (the kernel default for veth is off). */
  gro?: boolean;
  /** MTU of both veth ends; the kernel default (1500) when not given. */
  mtu?: number;
  /** Tear the lab down by itself after this long, whatever happens (default 15 min). */
  timeoutMs?: number;
  /**
   * Also give both ends an IPv4 address from 198.18.0.0/15 (RFC 2544, benchmarking),
   * e.g. for IPv4 floods that the XDP program must drop.
   */
  ipv4?: boolean;
}

/** One end of the lab: its namespace, interface and addresses. */
export interface LabSide {
  /** Which side this is. */
  readonly label: 'a' | 'b';
  /** Namespace name, or null when this side is the caller's own namespace. */
  readonly netns: string | null;
  /** The veth end's name, e.g. `sq1a2b3ca`. */
  readonly ifname: string;
  /** Its interface index (in its namespace). */
  readonly ifindex: number;
  /** Its MAC address, e.g. `aa:bb:cc:dd:ee:ff`. */
  readonly mac: string;
  /** IPv6 address without prefix length, e.g. fd00:1a2b:3c4d::1 */
  readonly address: string;
  /** The IPv6 prefix length: always 64. */
  readonly prefixLength: 64;
  /** IPv4 address (198.18.x.y, /24) when the lab was created with `ipv4: true`. */
  readonly address4?: string;
}

/**
 * A running lab: two sides joined by a veth pair. Destroy it when done (it also tears itself down
 * after `timeoutMs` and at process exit).
 */
export interface Lab {
  /** Random 6-hex-digit id, part of every namespace, interface and prefix name. */
  readonly id: string;
  /** Side A (in the caller's namespace with `hostSide`). */
  readonly a: LabSide;
  /** Side B, always in its own namespace. */
  readonly b: LabSide;
  /** Run a command on one side and collect its output (rejects on non-zero exit). */
  exec(side: LabSide, cmd: string, args?: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** Start a long-running process on one side; it is killed when the lab is destroyed. */
  spawn(side: LabSide, cmd: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Kills spawned processes and deletes the namespaces and links. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * RFC 5952 text (no leading zeros, longest zero run compressed), the form the kernel,
 * `ip` and Node print: the lab's addresses compare equal as strings with what they report.
 */
function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

function inSide(side: Pick<LabSide, 'netns'>, cmd: string, args: readonly string[]): [string, string[]] {
  return side.netns ? ['ip', ['netns', 'exec', side.netns, cmd, ...args]] : [cmd, [...args]];
}

async function linkInfo(netns: string | null, ifname: string): Promise<{ ifindex: number; mac: string }> {
  const nsArgs = netns ? ['-n', netns] : [];
  const { stdout } = await run('ip', [...nsArgs, '-j', 'link', 'show', 'dev', ifname]);
  const [info] = JSON.parse(stdout) as Array<{ ifindex: number; address: string }>;
  if (!info) throw new Error(`interface ${ifname} not found`);
  return { ifindex: info.ifindex, mac: info.address };
}

/**
 * Creates a lab: namespaces, a veth pair, fd00::/8 addresses (and 198.18.0.0/15 ones with `ipv4`).
 * Needs root; throws otherwise, and rejects with LabCommandError if an `ip` command fails (after
 * removing what was made).
 */
export async function createLab(options: LabOptions = {}): Promise<Lab> {
  if (process.getuid?.() !== 0) {
    throw new Error('the network lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN to create namespaces)');
  }
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  // Node turns a delay outside 1..2^31-1 (or NaN) into 1 ms: the lab would vanish at once.
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2 ** 31 - 1) {
    throw new RangeError(`timeoutMs must be an integer in [1, ${2 ** 31 - 1}] ms, got ${timeoutMs}`);
  }
  const queues = options.queues ?? 1;
  if (!Number.isInteger(queues) || queues < 1 || queues > 4096) throw new RangeError(`queues must be an integer in [1, 4096], got ${queues}`);
  reapOrphanLabs();
  const id = randomBytes(3).toString('hex');
  const nsA = options.hostSide ? null : `stoq-${id}-a`;
  const nsB = `stoq-${id}-b`;
  const ifA = `sq${id}a`;
  const ifB = `sq${id}b`;
  const prefix = `fd00:${id.slice(0, 4)}:${id.slice(4)}00`;
  const namespaces = [nsA, nsB].filter((n): n is string => n !== null);
  // Deleting either end deletes its peer too. Side A's end is listed even when it moves
  // into a namespace: a failure before the move leaves the pair in the host, and
  // deleting a link that is gone is harmless.
  const hostLinks = [ifA];
  const children = new Set<ChildProcess>();

  let destroyed = false;
  const teardown = () => {
    if (destroyed) return;
    destroyed = true;
    for (const child of children) child.kill('SIGKILL');
    destroySync(namespaces, hostLinks);
    forgetOwner(id);
  };
  registerLab(id, teardown);
  recordOwner(id, namespaces, hostLinks);
  // Armed once the lab is built (each command is bounded by run()'s own timeout): a
  // teardown in the middle of the build would leave what the build creates after it.
  let timer: NodeJS.Timeout | undefined;

  try {
    for (const ns of namespaces) await run('ip', ['netns', 'add', ns]);
    await run('ip', [
      'link', 'add', ifA, 'numtxqueues', String(queues), 'numrxqueues', String(queues),
      'type', 'veth', 'peer', 'name', ifB, 'numtxqueues', String(queues), 'numrxqueues', String(queues),
    ]);
    if (nsA) await run('ip', ['link', 'set', ifA, 'netns', nsA]);
    await run('ip', ['link', 'set', ifB, 'netns', nsB]);

    const v4 = options.ipv4 ? await chooseIpv4Subnet(id, options.hostSide === true) : '';
    const sides = [
      { label: 'a' as const, netns: nsA, ifname: ifA, address: canonicalIpv6(`${prefix}::1`), ...(options.ipv4 ? { address4: `${v4}.1` } : {}) },
      { label: 'b' as const, netns: nsB, ifname: ifB, address: canonicalIpv6(`${prefix}::2`), ...(options.ipv4 ? { address4: `${v4}.2` } : {}) },
    ];
    for (const s of sides) {
      const ns = s.netns ? ['-n', s.netns] : [];
      if (s.netns) await run('ip', [...ns, 'link', 'set', 'lo', 'up']);
      if (options.mtu) await run('ip', [...ns, 'link', 'set', s.ifname, 'mtu', String(options.mtu)]);
      await run('ip', [...ns, '-6', 'addr', 'add', `${s.address}/64`, 'dev', s.ifname, 'nodad']);
      if (s.address4) await run('ip', [...ns, 'addr', 'add', `${s.address4}/24`, 'dev', s.ifname]);
      await run('ip', [...ns, 'link', 'set', s.ifname, 'up']);
      if (options.gro) await run(...inSide(s, 'ethtool', ['-K', s.ifname, 'gro', 'on']));
    }
    const [a, b] = await Promise.all(
      sides.map(async (s) => ({ ...s, ...(await linkInfo(s.netns, s.ifname)), prefixLength: 64 as const })),
    ) as [LabSide, LabSide];

    if (options.staticNeighbours) {
      for (const [self, peer] of [[a, b], [b, a]] as const) {
        const ns = self.netns ? ['-n', self.netns] : [];
        await run('ip', [...ns, '-6', 'neigh', 'replace', peer.address, 'lladdr', peer.mac, 'dev', self.ifname, 'nud', 'permanent']);
      }
    }

    timer = setTimeout(teardown, timeoutMs);
    timer.unref();
    return {
      id, a, b,
      exec: (side, cmd, args = [], timeoutMs) => run(...inSide(side, cmd, args), timeoutMs),
      spawn(side, cmd, args = [], spawnOptions) {
        const [c, argv] = inSide(side, cmd, args);
        const child = spawnTracked(c, argv, spawnOptions);
        children.add(child);
        child.once('exit', () => children.delete(child));
        return child;
      },
      async destroy() {
        clearTimeout(timer);
        unregisterLab(id);
        teardown();
      },
    };
  } catch (err) {
    clearTimeout(timer);
    unregisterLab(id);
    teardown();
    throw err;
  }
}

/** Create a lab, run `fn` with it, and destroy it whatever `fn` does. */
export async function withLab<T>(options: LabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await createLab(options);
  try {
    return await fn(lab);
  } finally {
    await lab.destroy();
  }
}
