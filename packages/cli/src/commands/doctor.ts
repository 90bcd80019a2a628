// `stoq doctor`: the capability probe as a readable report. Every failed check is
// printed with its fix; the exit code says whether the eBPF fast path is possible.
import { GRANT_HINT, probe, type ProbeReport } from '@stoq/loader';
import { probeUdpGso, type UdpGsoProbe } from '@stoq/udp';
import { kernelRefusal, xdpInterfaceRefusals, type XdpInterfaceRefusals } from '@stoq/transport';
import { ExitCode, type Command } from '../command.js';
import { bold, dim, mark, table, yellow } from '../format.js';

interface Row {
  ok: boolean;
  detail?: string;
  hint?: string;
}

function row(label: string, check: Row): string[] {
  return [mark(check.ok), label, check.detail ?? '', check.ok || !check.hint ? '' : yellow(`fix: ${check.hint}`)];
}

function capabilityRow(report: ProbeReport): Row {
  const { missingForXdp, effective } = report.capabilities;
  return missingForXdp.length === 0
    ? { ok: true, detail: effective.join(' ') }
    : { ok: false, detail: `missing ${missingForXdp.join(', ')}`, hint: `run as root, or: ${GRANT_HINT.replace(/^run as root, or grant the capabilities: /, '')}` };
}

/**
 * The eBPF probe plus what the node:dgram path can use (it runs either way), and with an
 * interface what the transport's fallback ladder refuses there (`ladderRefusals`).
 */
export type DoctorReport = ProbeReport & { udpGso: UdpGsoProbe; ladderRefusals?: XdpInterfaceRefusals };

/**
 * The kernel may attach in a mode the transport still refuses (generic XDP with GRO on):
 * apply the transport's own checks so doctor and `serve --datapath xdp` agree.
 */
export function applyLadderChecks(report: DoctorReport): DoctorReport {
  // The loader's kernel check is for XDP links (5.9); stoq_xdp itself needs 5.12 (BPF atomics).
  const kernel = kernelRefusal(report.kernelRelease);
  if (kernel) {
    report = {
      ...report,
      kernelRecentEnough: { ...report.kernelRecentEnough, ok: false, hint: kernel },
      fastPathPossible: false,
      hints: report.hints.includes(kernel) ? report.hints : [...report.hints, kernel],
    };
  }
  const i = report.interface;
  if (!i) return report;
  const refusals = xdpInterfaceRefusals(i.ifname);
  // `refusedBy` says why (the kernel attached; `errno` stays the kernel's, i.e. none).
  const refuse = (check: typeof i.native, reason: string | null): typeof i.native & { refusedBy?: string } =>
    check.ok && reason ? { ...check, ok: false, refusedBy: reason, hint: reason.replace(/.*\(turn it off: (.*)\)$/, '$1') } : check;
  let native = refuse(i.native, refusals.all);
  const generic = refuse(i.generic, refusals.all ?? refusals.generic);
  // The probe's native hint suggests generic mode; say what generic mode needs here first.
  if (!native.ok && native.hint && generic.refusedBy) native = { ...native, hint: `${native.hint} (generic mode here first needs: ${generic.hint})` };
  const hints = [...report.hints];
  for (const reason of [refusals.all, refusals.generic]) if (reason && !hints.includes(reason)) hints.push(reason);
  return {
    ...report,
    interface: { ...i, native, generic },
    fastPathPossible: report.fastPathPossible && (native.ok || generic.ok),
    hints,
    ladderRefusals: refusals,
  };
}

export function renderDoctor(report: DoctorReport): string {
  const rows = [
    row('kernel', { ...report.kernelRecentEnough, detail: report.kernelRelease }),
    row('bpf() syscall', { ...report.bpfSyscall, detail: report.bpfSyscall.errno ?? '' }),
    row('BTF', { ...report.btf, detail: report.btf.path }),
    row('bpffs', { ...report.bpffs, detail: report.bpffs.mountPoint ?? 'not mounted' }),
    row('capabilities', capabilityRow(report)),
    row('BPF JIT', { ...report.jit, detail: report.jit.value === null ? 'unknown' : `bpf_jit_enable=${report.jit.value}` }),
    row('AF_XDP sockets', { ...report.afXdp, detail: report.afXdp.errno ?? '' }),
    row('BPF toolchain', { ok: !report.toolchain.hint, detail: report.toolchain.clang ?? 'no clang', ...(report.toolchain.hint ? { hint: report.toolchain.hint } : {}) }),
    // Not part of the fast-path verdict: the dgram path sends one syscall per packet without it.
    row('UDP GSO (dgram path)', report.udpGso.supported ? { ok: true, detail: 'UDP_SEGMENT' } : { ok: false, detail: report.udpGso.reason ?? '' }),
  ];
  if (report.interface) {
    const i = report.interface;
    const detail = (c: typeof i.native & { refusedBy?: string }) => (c.refusedBy ? 'attaches, but the transport refuses it' : (c.errno ?? ''));
    rows.push(row(`${i.ifname} native XDP`, { ...i.native, detail: detail(i.native) }), row(`${i.ifname} generic XDP`, { ...i.generic, detail: detail(i.generic) }));
  }
  const verdict = report.fastPathPossible
    ? bold('eBPF fast path: possible')
    : bold(yellow('eBPF fast path: not possible here — STOQ will run over node:dgram'));
  const hints = report.hints.length ? `\n${dim('hints:')}\n${report.hints.map((h) => `  - ${h}`).join('\n')}` : '';
  const ifaceNote = report.interface ? '' : dim('\n(add --interface IF to probe an interface\'s native and generic XDP support)');
  return `${table(rows)}\n\n${verdict}${hints}${ifaceNote}`;
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'check kernel, capabilities, BTF, bpffs, JIT, AF_XDP and XDP modes of an interface',
  usage: [
    'usage: stoq doctor [--interface IF] [--json]',
    '',
    '  --interface IF  also probe native and generic XDP on IF (attaches a pass-through program for a moment)',
    '  --json          print the probe report as JSON',
    '',
    'exit code: 0 fast path possible, 3 only the node:dgram fallback is possible, 1 error',
  ].join('\n'),
  options: {
    interface: { type: 'string', short: 'i' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const ifname = typeof values['interface'] === 'string' ? values['interface'] : undefined;
    const report = applyLadderChecks({ ...probe(ifname ? { ifname } : undefined), udpGso: probeUdpGso() });
    console.log(values['json'] ? JSON.stringify(report, null, 2) : renderDoctor(report));
    return report.fastPathPossible ? ExitCode.OK : ExitCode.NO_FAST_PATH;
  },
};
