// `stoq maps`: the STOQ maps of a running instance, decoded — the friendly
// version of `bpftool map dump name stoq_conntrack`.
import { ExitCode, type Command } from '../command.js';
import { closeInstances, selectInstances } from '../inspect/discover.js';
import { snapshot, type InstanceSnapshot } from '../inspect/snapshot.js';
import { bold, dim, table } from '../format.js';

function attached(s: InstanceSnapshot): string {
  if (s.attachedTo.length === 0) return 'not attached in this network namespace';
  return s.attachedTo.map((a) => `${a.ifname} (${a.mode === 'driver' ? 'native' : a.mode})`).join(', ');
}

export function renderMaps(s: InstanceSnapshot): string {
  const lines = [bold(`stoq_xdp${s.programId === null ? '' : ` (program id ${s.programId})`} on ${attached(s)}`), ''];
  if (s.config) {
    const c = s.config;
    lines.push(bold('stoq_config'), table([
      ['quic_ports', c.quicPorts.join(', ')],
      ['ipv4_policy', c.ipv4Policy],
      ['redirect', c.redirect ? 'on' : 'off'],
      ['timestamp_meta', c.timestampMeta ? 'on' : 'off'],
      ['initial_min_size', String(c.initialMinSize)],
      ['local_addr', c.localAddress === '::' ? 'any (::)' : c.localAddress],
      ['check_local_addrs', c.localAddress !== '::' ? 'n/a (local_addr decides)' : c.checkLocalAddrs ? 'on (destinations in stoq_host_addrs only)' : 'off (any destination)'],
      ['max_redirect_payload', c.maxRedirectPayload === 0 ? 'no limit' : `${c.maxRedirectPayload} B`],
      ['initial_rate / burst', c.initialBurst === 0 ? 'no limit' : `${c.initialRate}/s, burst ${c.initialBurst}`],
    ]), '');
  }
  if (s.stats) {
    lines.push(bold('stoq_stats (summed over CPUs)'), table(Object.entries(s.stats.counters).map(([k, v]) => [k, String(v)])), '');
    lines.push(bold('frame sizes (bytes)'), table([s.stats.sizeBuckets, s.stats.sizeHistogram.map(String)]), '');
  }
  if (s.conntrack) {
    const states = Object.entries(s.conntrack.states).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    lines.push(bold(`stoq_conntrack: ${s.conntrack.entries.length} of ${s.conntrack.maxEntries} entries (${states})`));
    if (s.conntrack.entries.length > 0) {
      lines.push(table([
        ['peer', 'local port', 'state', 'packets', 'bytes', 'age', 'idle'],
        ...s.conntrack.entries.map((e) => [e.peer, String(e.localPort), e.state, String(e.packets), String(e.bytes), `${e.ageS.toFixed(1)} s`, `${e.idleS.toFixed(1)} s`]),
      ]));
    }
  }
  if (s.xsks) lines.push('', dim(`stoq_xsks: XSKMAP with ${s.xsks.maxEntries} queue slots (not readable from userspace)`));
  return lines.join('\n');
}

export const maps: Command = {
  name: 'maps',
  summary: "dump a running STOQ's maps decoded: config, counters, histogram, conntrack",
  usage: [
    'usage: stoq maps [--interface IF] [--json]',
    '',
    '  --interface IF  only the stoq_xdp attached to IF in this network namespace',
    '  --json          print the decoded maps as JSON',
    '',
    'Reads the maps of whatever process runs stoq_xdp (needs root or CAP_BPF+CAP_SYS_ADMIN).',
    'exit code: 0 printed, 1 nothing loaded or no permission',
  ].join('\n'),
  options: {
    interface: { type: 'string', short: 'i' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const instances = selectInstances(typeof values['interface'] === 'string' ? values['interface'] : undefined);
    try {
      const snapshots = instances.map(snapshot);
      console.log(values['json'] ? JSON.stringify({ instances: snapshots }, null, 2) : snapshots.map(renderMaps).join('\n\n'));
      return ExitCode.OK;
    } finally {
      closeInstances(instances);
    }
  },
};
