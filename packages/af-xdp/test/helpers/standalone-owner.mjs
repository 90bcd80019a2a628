// SPDX-License-Identifier: Apache-2.0
// A standalone owner for the crash tests: opens sockets (no inhibitProgramLoad) on the given
// queues of an interface, prints one JSON line, then waits to be killed. Bounded: it closes
// everything and exits by itself after 30 s.
const { XskSocket } = await import(new URL('../../dist/index.js', import.meta.url).href);
const [ifname, ...queues] = process.argv.slice(2);
const sockets = [];
for (const queue of queues) {
  // A queue another test just closed is released asynchronously: retry EBUSY briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      sockets.push(XskSocket.open({ ifname, queueId: Number(queue), mode: 'copy' }));
      break;
    } catch (error) {
      if (error.code !== 'STOQ_ERR_XSK_BUSY' || error.operation !== 'xsk_socket__create' || attempt >= 150) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
console.log(JSON.stringify({ ready: true, pid: process.pid }));
// The timer references the sockets: an unreferenced XskSocket is closed by its finalizer on GC.
setTimeout(() => {
  for (const socket of sockets) socket.close();
}, 30_000);
