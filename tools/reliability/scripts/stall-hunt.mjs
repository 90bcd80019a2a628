#!/usr/bin/env node
// Stall hunt (root): repeats one echo scenario on a lab veth until a stream stops making
// progress, then dumps who waits for whom on both ends (per stream: bytes, Duplex state,
// the QuicStream's private state, quiche's view; per connection: quiche stats, timers;
// the transport's timer and flush flags). Bounded in iterations and minutes.
//   node scripts/stall-hunt.mjs --scenario reorder   --iterations 300 --minutes 7 [--burn 1] [--max-hold 2] [--rate 0.2] [--fault reorder|loss|duplicate]
//   node scripts/stall-hunt.mjs --scenario streams32 --iterations 100 --minutes 7 [--burn 1]
// reorder: 512 KiB pipe echo, tc fault injector reordering 20 % on both veth ends (dgram);
// --fault loss (or duplicate) injects that fault at --rate instead; --after-handshake 1
// starts the faults once the connection is up and stops them before its close (as
// test/faults.test.ts does).
// streams32: 32 concurrent 1 MiB streams answered with "<bytes> <sha256>", both ends XDP.
// --burn 1 runs a busy loop (another process) for the duration, like a loaded CI box.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Session } from 'node:inspector';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const { StoqTransport } = await import('@stoq/transport');

// ---- state dump helpers (both roles) ----
const session = new Session();
session.connect();
function post(method, params) {
  let result, error;
  session.post(method, params, (e, r) => ((error = e), (result = r)));
  if (error) throw error;
  if (result === undefined) throw new Error(`inspector ${method} did not answer synchronously`);
  return result;
}
function objectId(obj) {
  globalThis.__stallTarget = obj;
  return post('Runtime.evaluate', { expression: 'globalThis.__stallTarget' }).result.objectId;
}
function summarise(v, depth) {
  if (!v) return v;
  if (v.subtype === 'null') return null;
  if (v.type !== 'object') return v.value ?? v.description ?? v.type;
  if (depth <= 0 || v.subtype === 'typedarray' || v.subtype === 'arraybuffer') return v.description;
  const props = post('Runtime.getProperties', { objectId: v.objectId, ownProperties: true });
  const out = { _: v.description };
  for (const p of props.result) if (p.value && p.enumerable) out[p.name] = summarise(p.value, depth - 1);
  return out;
}
/** Private fields of obj, summarised (objects two levels deep). */
function privates(obj) {
  const props = post('Runtime.getProperties', { objectId: objectId(obj), ownProperties: true });
  const out = {};
  for (const p of props.privateProperties ?? []) out[p.name] = summarise(p.value, 1);
  return out;
}
/** The real value of private field `name` of obj. */
function privateRef(obj, name) {
  const props = post('Runtime.getProperties', { objectId: objectId(obj), ownProperties: true });
  const p = (props.privateProperties ?? []).find((x) => x.name === name);
  if (!p?.value?.objectId) return p?.value?.value;
  post('Runtime.callFunctionOn', { objectId: p.value.objectId, functionDeclaration: 'function () { globalThis.__stallOut = this; }' });
  return globalThis.__stallOut;
}
const attempt = (f) => {
  try {
    return f();
  } catch (e) {
    return `throws ${e.message}`;
  }
};
function dumpStream(conn, s) {
  const q = conn.core.quiche;
  const id = s.id;
  return {
    id, app: s.__app,
    js: {
      writableLength: s.writableLength, writableEnded: s.writableEnded, writableFinished: s.writableFinished, writableNeedDrain: s.writableNeedDrain,
      readableEnded: s.readableEnded, readableLength: s.readableLength, readableFlowing: s.readableFlowing, destroyed: s.destroyed, errored: s.errored ? String(s.errored) : null,
    },
    priv: attempt(() => privates(s)),
    quiche: { capacity: attempt(() => q.streamCapacity(id)), finished: attempt(() => q.streamFinished(id)), readable: attempt(() => q.streamReadable(id)), writable1: attempt(() => q.streamWritable(id, 1)) },
  };
}
function dumpConnection(conn, streams) {
  const q = conn.core.quiche;
  return {
    core: { id: conn.core.id, role: conn.core.role, established: conn.core.established, closed: conn.core.closed },
    quiche: {
      established: attempt(() => q.isEstablished()), closed: attempt(() => q.isClosed()), draining: attempt(() => q.isDraining()),
      timeoutMs: attempt(() => q.timeout()), isReadable: attempt(() => q.isReadable()),
      readable: attempt(() => [...q.readable()]), writable: attempt(() => [...q.writable()]),
      stats: attempt(() => JSON.parse(JSON.stringify(q.stats(), (_k, v) => (typeof v === 'bigint' ? Number(v) : v)))),
      sendQuantum: attempt(() => q.sendQuantum()),
    },
    streamsPriv: attempt(() => [...privateRef(conn, '#streams').keys()]),
    streams: streams.map((s) => dumpStream(conn, s)),
  };
}
function dumpTransport(t) {
  const p = attempt(() => privates(t));
  const core = attempt(() => privateRef(t, '#core'));
  const now = performance.now();
  return {
    now,
    transport: { timer: p['#timer'] ? 'armed' : null, timerAt: p['#timerAt'], timerInMs: typeof p['#timerAt'] === 'number' ? p['#timerAt'] - now : p['#timerAt'], blocked: p['#blocked'], yieldQueued: p['#yieldQueued'], driveQueued: p['#driveQueued'] },
    core: typeof core === 'object' ? { nextDeadlineInMs: (core.nextDeadline() ?? NaN) - now, hasPendingTransmits: core.hasPendingTransmits, dirty: attempt(() => privateRef(core, '#dirty').size), counters: core.counters.snapshot?.() } : core,
    stats: attempt(() => t.stats()),
  };
}

// ---- server role (runs in lab namespace B) ----
async function server([address, certFile, keyFile, idleMs, mode, ifname]) {
  const t = await StoqTransport.create({
    address, port: 0, tls: { cert: readFileSync(certFile), key: readFileSync(keyFile) }, idleTimeoutMs: Number(idleMs),
    // Without XDP the tc fault injector acts per skb: GSO off so it acts per datagram.
    ...(ifname !== '-' ? { interface: ifname } : { udpGso: false }),
  });
  const conns = new Map(); // conn → streams
  t.on('connection', (conn) => {
    conns.set(conn, []);
    conn.on('close', () => setTimeout(() => conns.delete(conn), 2000));
    conn.on('stream', (stream) => {
      conns.get(conn)?.push(stream);
      stream.__app = { in: 0, out: 0, endSeen: false };
      stream.on('error', () => {});
      stream.on('data', (c) => (stream.__app.in += c.length));
      if (mode === 'echo') {
        const write = stream.write.bind(stream);
        stream.write = (c, ...rest) => ((stream.__app.out += c.length), write(c, ...rest));
        stream.on('end', () => (stream.__app.endSeen = true));
        stream.pipe(stream);
      } else {
        const hash = createHash('sha256');
        stream.on('data', (c) => hash.update(c));
        stream.on('end', () => {
          stream.__app.endSeen = true;
          if (stream.writable) stream.end(`${stream.__app.in} ${hash.digest('hex')}`);
        });
      }
    });
  });
  process.on('SIGUSR2', () => {
    const dump = { transport: dumpTransport(t), connections: [...conns].filter(([c]) => !c.closed).map(([c, ss]) => dumpConnection(c, ss.filter((s) => !s.destroyed || !s.writableFinished || !s.readableEnded))) };
    process.stdout.write(`DUMP ${JSON.stringify(dump)}\n`);
  });
  process.on('SIGTERM', () => void t.close().then(() => process.exit(0)));
  process.stdout.write(`READY ${t.address().port} ${JSON.stringify(t.getEbpfStatus().datapath)}\n`);
}

// ---- client role ----
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};

async function client() {
  const { createLab } = await import('@stoq/netlab');
  const { attachFaults } = await import('../dist/faults.js');
  const { certificateFiles } = await import('../dist/lab-peer.js');
  const scenario = arg('scenario', 'reorder');
  const iterations = Number(arg('iterations', 100));
  const minutes = Number(arg('minutes', 5));
  const idleMs = Number(arg('idle', 6000));
  const stallMs = Number(arg('stall', 2500));
  // reorder: longest a held packet waits for a successor before a nudge sends it (0: unbounded).
  const maxHoldMs = Number(arg('max-hold', 2));
  const rate = Number(arg('rate', 0.2));
  const fault = arg('fault', 'reorder');
  const afterHandshake = arg('after-handshake', '0') === '1';
  if (!['reorder', 'loss', 'duplicate'].includes(fault)) throw new Error(`--fault must be reorder, loss or duplicate, not ${fault}`);
  const xdp = scenario === 'streams32';
  const deadline = Date.now() + minutes * 60_000;
  const burner = arg('burn', '0') === '1'
    ? spawn(process.execPath, ['-e', `const end = Date.now() + ${(minutes * 60 + 60) * 1000}; while (Date.now() < end);`], { stdio: 'ignore' }) // bounded by itself
    : null;
  const lab = await createLab({ hostSide: true, staticNeighbours: !xdp, timeoutMs: (minutes + 3) * 60_000 });
  const certs = await certificateFiles();
  const injectors = [];
  let t;
  const results = { scenario, iterations: 0, ok: 0, stalls: [], durationsMs: [], workMs: [] };
  try {
    const child = lab.spawn(lab.b, process.execPath, [self, 'server', lab.b.address, certs.certFile, certs.keyFile, String(idleMs), xdp ? 'hash' : 'echo', xdp ? lab.b.ifname : '-']);
    let out = '';
    const dumps = [];
    child.stdout.on('data', (d) => {
      out += d.toString();
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('DUMP ')) dumps.shift()?.(JSON.parse(line.slice(5)));
        else if (line.startsWith('READY ')) child.emit('ready', line.slice(6));
      }
    });
    child.stderr.on('data', (d) => process.stderr.write(`[server] ${d}`));
    const [ready] = await once(child, 'ready');
    const port = Number(ready.split(' ')[0]);
    console.log(`server ready on port ${port}, datapath ${ready.split(' ')[1]}`);
    const serverDump = () => new Promise((resolve) => {
      dumps.push(resolve);
      child.kill('SIGUSR2');
      setTimeout(() => resolve({ timeout: true }), 3000);
    });
    const faultRates = { [fault]: rate };
    const initialRates = afterHandshake ? {} : faultRates;
    if (!xdp) injectors.push(await attachFaults(lab, lab.a, initialRates, { maxHoldMs }), await attachFaults(lab, lab.b, initialRates, { maxHoldMs }));
    t = await StoqTransport.create({ address: lab.a.address, port: 0, tls: { ca: certs.cert }, idleTimeoutMs: idleMs, ...(xdp ? { interface: lab.a.ifname } : { udpGso: false }) });
    console.log(`client datapath ${t.getEbpfStatus().datapath}`);
    const target = `[${lab.b.address}]:${port}`;

    for (let i = 0; i < iterations && Date.now() < deadline; i++) {
      results.iterations++;
      const started = performance.now();
      const ep0 = t.stats().endpoint;
      let conn;
      try {
        conn = await t.connect(target, { serverName: 'stoq.test' });
      } catch (e) {
        // A handshake under heavy loss can time out: a result, not the end of the hunt.
        results.stalls.push({ iteration: i, outcome: `connect failed: ${e.code ?? ''} ${e.message}` });
        continue;
      }
      if (afterHandshake) for (const inj of injectors) await inj.set(faultRates);
      const ep1 = t.stats().endpoint;
      const connectMs = Math.round(performance.now() - started);
      const streams = [];
      let progressAt = Date.now();
      const bump = () => (progressAt = Date.now());
      const one = async (bytes, chunk) => {
        const s = await conn.openStream();
        s.__app = { written: 0, received: 0, ended: false, error: null };
        streams.push(s);
        const rx = createHash('sha256');
        s.on('data', (c) => ((s.__app.received += c.length), rx.update(c), bump()));
        const ended = once(s, 'end');
        ended.catch(() => {}); // a failed stream rejects the write loop too: reported from there
        const tx = createHash('sha256');
        const block = randomBytes(chunk * 2);
        for (let off = 0, k = 0; off < bytes; k++) {
          const n = Math.min(chunk, bytes - off);
          const c = Buffer.from(block.subarray((k * 4099) % chunk, ((k * 4099) % chunk) + n));
          c.writeUInt32BE(k, 0);
          tx.update(c);
          off += n;
          s.__app.written += n;
          bump();
          if (!s.write(c)) await once(s, 'drain');
        }
        s.end();
        await ended;
        s.__app.ended = true;
        const sent = tx.digest('hex');
        const got = rx.digest('hex');
        if (xdp ? false : got !== sent) throw new Error(`stream ${s.id}: echo differs`);
        return sent;
      };
      const work = xdp ? Promise.all(Array.from({ length: 32 }, () => one(1024 * 1024, 64 * 1024))) : one(512 * 1024, 64 * 1024);
      let stalled = null;
      const watchdog = setInterval(async () => {
        if (stalled || Date.now() - progressAt < stallMs) return;
        stalled = { iteration: i, atMs: Math.round(performance.now() - started) };
        stalled.client = { transport: dumpTransport(t), connection: dumpConnection(conn, streams.filter((s) => !s.__app.ended)) };
        stalled.server = await serverDump();
        console.log(`STALL at iteration ${i} after ${stalled.atMs} ms:\n${JSON.stringify(stalled, null, 1)}`);
      }, Math.min(250, stallMs));
      try {
        await work;
        results.ok++;
        results.workMs.push(Math.round(performance.now() - started));
        if (results.workMs.at(-1) > 500) {
          const c = conn.stats();
          console.log(`slow: ${results.workMs.at(-1)} ms (connect ${connectMs} ms, client endpoint during it: rx ${ep1.rxDatagrams - ep0.rxDatagrams} rejected ${ep1.rxRejected - ep0.rxRejected} tx ${ep1.txDatagrams - ep0.txDatagrams}); client sent ${c.sent} lost ${c.lost} retrans ${c.retrans} rtt ${c.rttUs} us cwnd ${c.cwnd}`);
        }
        if (stalled) stalled.outcome = `completed after ${Math.round(performance.now() - started)} ms`;
      } catch (e) {
        if (stalled) stalled.outcome = `failed: ${e.code ?? ''} ${e.message}`;
        else results.stalls.push({ iteration: i, outcome: `failed without stall: ${e.code ?? ''} ${e.message}` });
        streams.forEach((s) => s.destroy());
      } finally {
        clearInterval(watchdog);
      }
      if (stalled) {
        results.stalls.push(stalled);
        console.log(`stall outcome: ${stalled.outcome}`);
      }
      results.durationsMs.push(Math.round(performance.now() - started));
      if (afterHandshake) for (const inj of injectors) await inj.set({});
      await conn.close().catch(() => {});
      if (i % 10 === 9) console.log(`${i + 1} iterations, ${results.ok} ok, ${results.stalls.length} stalls, last transfer ${results.workMs.at(-1)} ms`);
    }
    child.kill('SIGTERM');
  } finally {
    await t?.close();
    for (const inj of injectors) {
      console.log(`injector ${inj.side.label}: ${JSON.stringify(await inj.counters())}`);
      await inj.detach();
    }
    await lab.destroy();
    certs.remove();
    burner?.kill('SIGKILL');
  }
  const w = [...results.workMs].sort((a, b) => a - b);
  console.log(`SUMMARY ${JSON.stringify({ scenario, ...(xdp ? {} : { fault, rate, afterHandshake }), iterations: results.iterations, ok: results.ok, stalls: results.stalls.length, transferP50Ms: w[w.length >> 1], transferMaxMs: w.at(-1), over500Ms: w.filter((x) => x > 500).length, stallOutcomes: results.stalls.map((s) => s.outcome) })}`);
  process.exit(0);
}

if (process.argv[2] === 'server') await server(process.argv.slice(3));
else await client();
