// SPDX-License-Identifier: Apache-2.0
// The sans-IO core on its own: two endpoints exchanging datagrams through arrays,
// no sockets and no timers.
import { describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '../tls/self-signed.js';
import { normaliseConfig, type TransportConfig } from '../config.js';
import { EndpointCore, type CoreConnection, type CoreEvent } from './endpoint-core.js';

const A = { address: 'fd00::1', port: 40000 };
const B = { address: 'fd00::2', port: 9292 };

async function pair(serverExtra: TransportConfig = {}, clientExtra: TransportConfig = {}) {
  const { cert, key } = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
  const server = new EndpointCore(normaliseConfig({ tls: { cert, key }, ...serverExtra }), B);
  const client = new EndpointCore(normaliseConfig({ tls: { ca: cert }, ...clientExtra }), A);
  return { server, client };
}

/**
 * Delivers the handshake both ways until the client is established, but never the
 * server's HANDSHAKE_DONE (the client is left without a 1-RTT packet from the server).
 */
function establishWithoutHandshakeDone(client: EndpointCore, server: EndpointCore, conn: CoreConnection, now: () => number) {
  for (let round = 0; round < 10 && !conn.established; round++) {
    for (const t of client.pollTransmits(now(), 1000)) server.receive(t.data, A, now());
    for (const t of server.pollTransmits(now(), 1000)) client.receive(t.data, B, now());
  }
}

/** Runs `endpoint`'s timers in real time (quiche keeps its own clock) until `conn` closes, bounded. */
async function runTimersUntilClosed(endpoint: EndpointCore, conn: CoreConnection) {
  for (let i = 0; i < 100 && !conn.closed; i++) {
    const deadline = endpoint.nextDeadline();
    if (deadline === null) break;
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - performance.now())));
    endpoint.handleTimeouts(performance.now());
    endpoint.pollTransmits(performance.now(), 10);
  }
}

/** Delivers every pending datagram both ways until both sides are quiet. */
function exchange(client: EndpointCore, server: EndpointCore, now: number) {
  const events: { client: CoreEvent[]; server: CoreEvent[] } = { client: [], server: [] };
  for (let round = 0; round < 50; round++) {
    const toServer = client.pollTransmits(now, 1000);
    for (const t of toServer) server.receive(t.data, A, now);
    const toClient = server.pollTransmits(now, 1000);
    for (const t of toClient) client.receive(t.data, B, now);
    events.client.push(...client.pollEvents());
    events.server.push(...server.pollEvents());
    if (toServer.length === 0 && toClient.length === 0) break;
  }
  return events;
}

describe('EndpointCore (sans-IO)', () => {
  it('completes a handshake purely by passing datagrams and reports events on both sides', async () => {
    const { server, client } = await pair();
    const conn = client.connect(B, 'stoq.test', 0);
    const events = exchange(client, server, 1);
    expect(conn.established).toBe(true);
    expect(events.server.map((e) => e.type)).toEqual(expect.arrayContaining(['accepted', 'established']));
    expect(events.client.map((e) => e.type)).toContain('established');
    expect(server.connectionCount).toBe(1);
    expect(client.nextDeadline()).toBeGreaterThan(1);
  });

  it('routes the client through a stateless Retry before accepting it', async () => {
    const { server, client } = await pair({ retry: true });
    const conn = client.connect(B, 'stoq.test', 0);
    exchange(client, server, 1);
    expect(conn.established).toBe(true);
    expect(server.counters.retriesSent).toBe(1);
    expect(server.counters.connectionsAccepted).toBe(1);
  });

  it('counts and drops junk without creating connections', async () => {
    const { server } = await pair();
    server.receive(new Uint8Array(0), A, 0);
    server.receive(Buffer.from('not quic at all'), A, 0);
    server.receive(Buffer.alloc(1300, 0x40), A, 0); // short header for no known connection
    expect(server.counters.rxUnparseable + server.counters.rxUnroutable).toBe(3);
    expect(server.connectionCount).toBe(0);
    expect(server.pollTransmits(0, 10)).toEqual([]);
  });

  it('fires quiche timers from the heap: an unanswered handshake times out', async () => {
    const { client } = await pair({}, { idleTimeoutMs: 300 });
    const conn = client.connect(B, 'stoq.test', performance.now());
    client.pollTransmits(performance.now(), 10);
    await runTimersUntilClosed(client, conn);
    expect(conn.closed).toBe(true);
    expect(conn.quiche.isTimedOut()).toBe(true);
    expect(client.pollEvents().map((e) => e.type)).toContain('closed');
  }, 20_000);

  it('gives up a closing state whose CONNECTION_CLOSE cannot go out (handshake not confirmed) at its deadline', async () => {
    const { server, client } = await pair();
    const conn = client.connect(B, 'stoq.test', 0);
    establishWithoutHandshakeDone(client, server, conn, () => 1);
    expect(conn.established).toBe(true);
    conn.closeApplicationNow(0, Buffer.alloc(0)); // what closeApplication would defer
    client.wake(conn);
    // quiche 0.18 puts an application close only in a 1-RTT packet, which it does not
    // send before the handshake is confirmed: a few datagrams at most, never the close.
    for (let i = 0; i < 5; i++) expect(client.pollTransmits(2 + i, 1000).length).toBeLessThanOrEqual(2);
    expect(conn.quiche.isDraining()).toBe(false);
    expect(conn.closingDeadline).toBeGreaterThanOrEqual(2 + 500);
    expect(conn.closingDeadline).toBeLessThanOrEqual(2 + 3000);
    expect(client.nextDeadline()).toBeLessThanOrEqual(conn.closingDeadline!);
    client.handleTimeouts(3100);
    expect(conn.closed).toBe(true);
    expect(conn.closeTimedOut).toBe(true);
    expect(client.pollEvents().map((e) => e.type)).toContain('closed');
    expect(client.connectionCount).toBe(0);
  });

  it('a deferred close ended by the idle timer counts as a close that never went out', async () => {
    const { server, client } = await pair({}, { idleTimeoutMs: 300 });
    const conn = client.connect(B, 'stoq.test', performance.now());
    establishWithoutHandshakeDone(client, server, conn, () => performance.now());
    expect(conn.established && !conn.oneRttSeen).toBe(true);
    expect(conn.closeApplication(9, Buffer.from('early'))).toBe(true);
    // The server's 1-RTT never arrives; quiche's idle timer (300 ms) ends it before the 1 s closing limit.
    await runTimersUntilClosed(client, conn);
    expect(conn.closed).toBe(true);
    expect(conn.quiche.isTimedOut()).toBe(true);
    expect(conn.closeTimedOut).toBe(true); // reported as STOQ_ERR_CLOSED, not an idle timeout the app did not cause
  }, 20_000);

  it("defers a client's application close until the server's first 1-RTT packet, so it reaches the server", async () => {
    const { server, client } = await pair();
    const conn = client.connect(B, 'stoq.test', 0);
    establishWithoutHandshakeDone(client, server, conn, () => 1);
    expect(conn.established && !conn.oneRttSeen).toBe(true);
    // Closed before HANDSHAKE_DONE: quiche would drop it (closing drops every packet).
    expect(conn.closeApplication(9, Buffer.from('early'))).toBe(true);
    expect(conn.deferredClose).not.toBeNull();
    client.wake(conn);
    exchange(client, server, 2);
    expect(conn.oneRttSeen).toBe(true);
    expect(conn.quiche.isDraining() || conn.quiche.isClosed()).toBe(true);
    const [serverConn] = [...server.connections()];
    expect(serverConn?.quiche.peerError()).toMatchObject({ isApp: true, errorCode: 9 });
  });
});
