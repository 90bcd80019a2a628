// Runs one scenario in a separate process (other namespace, dropped capabilities,
// killed while attached) and prints one JSON line per step on stdout.
import { BpfObject, probe, ensureBpffs } from '../../dist/index.js';

const [scenario, objectPath, ifname] = process.argv.slice(2);
const say = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const describe = (e) => ({ name: e.name, code: e.code, errno: e.errno, errnoCode: e.errnoCode, operation: e.operation, hint: e.hint, message: e.message });

if (scenario === 'unprivileged') {
  say({ step: 'probe', report: probe() });
  try {
    await BpfObject.load(objectPath);
    say({ step: 'load', ok: true });
  } catch (e) {
    say({ step: 'load', ok: false, error: describe(e) });
  }
} else if (scenario === 'attach-and-wait') {
  const object = await BpfObject.load(objectPath);
  const link = object.program('verdicts').attachXdp(ifname, { mode: 'native' });
  say({ step: 'attached', mode: link.mode, programId: link.programId });
  setTimeout(() => {}, 60_000); // killed by the test long before
} else if (scenario === 'netns') {
  const object = await BpfObject.load(objectPath);
  const link = object.program('verdicts').attachXdp(ifname, { mode: 'generic' });
  const bpffs = ensureBpffs();
  const pinPath = `${bpffs.mountPoint}/stoq_loader_test_${process.pid}`;
  object.map('verdict_counts').pin(pinPath);
  object.map('verdict_counts').unpin();
  say({ step: 'netns', mode: link.mode, bpffs, pinPath });
  link.detach();
  object.close();
} else if (scenario === 'least-privilege') {
  const report = probe({ ifname });
  say({ step: 'probe', uid: process.getuid(), report });
  const object = await BpfObject.load(objectPath);
  const link = object.program('verdicts').attachXdp(ifname, { mode: 'native' });
  const runs = object.program('verdicts').testRun(Buffer.alloc(64), { repeat: 10 });
  say({ step: 'attached', mode: link.mode, action: runs.action });
  link.detach();
  object.close();
} else {
  say({ step: 'error', message: `unknown scenario ${scenario}` });
  process.exitCode = 2;
}
