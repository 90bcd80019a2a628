// Test fixture: a process that owns a stoq_xdp attached to argv[2] (native mode,
// bpf_link) until its stdin closes — what `stoq maps`/`stoq top` inspect from outside.
import { BpfObject } from '@stoq/loader';
import { encodeConfig, MAP_NAMES, objectPath, PROGRAM_NAME } from '@stoq/bpf-programs';

const object = BpfObject.open(objectPath);
await object.load();
object.map(MAP_NAMES.config).update(Buffer.alloc(4), encodeConfig({ quicPorts: [9292, 4433] }));
const link = object.program(PROGRAM_NAME).attachXdp(process.argv[2], { mode: 'native' });
console.log(JSON.stringify({ mode: link.mode, programId: link.programId }));
process.stdin.resume();
process.stdin.on('end', () => {
  link.detach();
  object.close();
});
