// SPDX-License-Identifier: Apache-2.0
// Run without capabilities: tries to open a socket and prints the error's fields as JSON.
const { XskSocket } = await import(new URL('../../dist/index.js', import.meta.url).href);
try {
  const socket = XskSocket.open({ ifname: process.argv[2], mode: 'copy' });
  socket.close();
  console.log(JSON.stringify({ opened: true }));
} catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, errno: error.errno, errnoCode: error.errnoCode, operation: error.operation, hint: error.hint }));
}
