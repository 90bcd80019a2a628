// SPDX-License-Identifier: Apache-2.0
// Live flood: a receiver runs while udp6_flood sends from the peer namespace.
import { startReceiver } from './children.mjs';
import { C_BATCH, COUNT, NODE_ARGS, PORT, SECONDS, UMEM_ARGS, XSK_BATCH, pktgen, receiversScript, receiverMode, sleep } from './config.mjs';
import { xdpMode } from './system.mjs';

export async function measureLive(lab, name, payload) {
  const receivers = {
    dgram: [process.execPath, [...NODE_ARGS, receiversScript, 'dgram', lab.a.address, String(PORT), String(SECONDS + 10)]],
    'af-xdp (node)': [process.execPath, [...NODE_ARGS, receiversScript, 'xsk', lab.a.ifname, '0', String(SECONDS + 10), String(XSK_BATCH)]],
    'C AF_XDP': [pktgen + 'xsk_count', [lab.a.ifname, '0', String(SECONDS + 10), '1', `batch=${C_BATCH}`, ...UMEM_ARGS]],
  };
  const [cmd, args] = receivers[name];
  // Sender on CPU 0, receiver on CPU 1: the two never fight for one core.
  const receiver = startReceiver('taskset', ['-c', '1', cmd, ...args]);
  await receiver.ready;
  const xdp = name === 'dgram' ? null : await xdpMode(lab);
  await sleep(200);
  const { stdout } = await lab.exec(lab.b, 'taskset', ['-c', '0', pktgen + 'udp6_flood', lab.a.address, String(PORT), String(payload), String(COUNT), String(SECONDS)], (SECONDS + 10) * 1000);
  const sent = JSON.parse(stdout.trim());
  const got = await receiver.result;
  await sleep(300); // the kernel frees the queue asynchronously after an AF_XDP socket closes
  const mpps = got.activeSeconds > 0 ? got.packets / got.activeSeconds / 1e6 : 0;
  return {
    receiver: name,
    payload,
    mode: receiverMode(name, xdp, got),
    sentMpps: sent.pps / 1e6,
    sent: sent.sent,
    received: got.packets,
    rxMpps: mpps,
    loss: 1 - got.packets / sent.sent,
    cpu: got.activeSeconds > 0 ? got.cpuSeconds / got.activeSeconds : 0,
    cpuNsPerPacket: got.packets > 0 ? (got.cpuSeconds * 1e9) / got.packets : 0,
  };
}
