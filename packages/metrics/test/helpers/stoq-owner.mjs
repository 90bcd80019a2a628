// SPDX-License-Identifier: Apache-2.0
// A separate process that owns a loaded stoq_xdp, as a running transport would: it runs
// the frames it is given (JSON lines on stdin: { hex, repeat }) through BPF_PROG_TEST_RUN,
// prints the kernel ids of its maps, and keeps them loaded until stdin closes.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { MAP_NAMES, objectPath, PROGRAM_NAME } from '@stoq/bpf-programs';
import { BpfObject } from '@stoq/loader';

const mapId = (map) => Number(/^map_id:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${map.fd}`, 'utf8'))[1]);

const object = await BpfObject.load(objectPath);
const program = object.program(PROGRAM_NAME);
const ids = { statsMapId: mapId(object.map(MAP_NAMES.stats)), conntrackMapId: mapId(object.map(MAP_NAMES.conntrack)) };
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'ids') {
    console.log(JSON.stringify(ids));
    continue;
  }
  const { hex, repeat } = JSON.parse(line);
  program.testRun(Buffer.from(hex, 'hex'), { repeat });
  console.log('ran');
}
object.close();
