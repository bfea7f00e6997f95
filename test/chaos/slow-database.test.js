'use strict';
// Chaos: a slow database. A transaction holds ACCESS EXCLUSIVE on the target table for 30 s
// (CHAOS_LOCK_MS) while messages keep arriving at a steady rate. Expected: the status says the
// node is waiting, memory (RSS of this process, which runs Node-RED, gpss-write and gpss-pg)
// grows by no more than the buffer limit + 50 MB, messages beyond the buffer fail fast to Catch,
// and once the lock goes the held messages commit and the stream resumes: lost 0, unaccounted 0.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Client } = require('pg');
const S = require('../support/gpss-nodes');
const C = require('./support');

const LOCK_MS = Number(process.env.CHAOS_LOCK_MS) || 30000;
// The row limit binds first here (10,000 one-row messages are far below 32 MB of encoded rows).
const BUFFER_ROWS = 10000;
const BUFFER_MB = 32;
const RATE = 4000; // messages per second during the lock
let pg = null;
let server = null;
// RSS is sampled after a full GC: what the node holds, not garbage V8 has yet to collect.
v8.setFlagsFromString('--expose-gc');
const gc = global.gc || vm.runInNewContext('gc');

before(async () => {
  pg = await C.ownCluster();
  await C.query(pg.url, 'CREATE TABLE slow (id int4 NOT NULL, note text)');
  server = await S.startServer(pg);
});
after(async () => {
  if (server) await server.stop();
  if (pg) pg.stop();
});

test(`a lock held ${LOCK_MS / 1000} s on the target table: waiting status, bounded RSS, fail fast when full, resumes`, async () => {
  const id = 'slow-database';
  await S.startNodeRed();
  const sentAt = new Float64Array(1000000); // by id: no per-message objects in the harness
  const acked = [];
  const caught = [];
  const caughtMsgs = [];
  const failLatency = [];
  let locker = null;
  try {
    await S.helper.load(
      S.NODES,
      [
        ...S.configNodes(pg, { gpssPort: server.port, rpcTimeout: 120 }),
        S.flowNode({
          id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'slow', mode: 'insert',
          commitRows: 2000, commitInterval: 100, bufferRows: BUFFER_ROWS, bufferMb: BUFFER_MB, maxRetries: 10, retryDelay: 200, closeTimeout: 10,
          wires: [['out1']],
        }),
        S.flowNode({ id: 'out1', type: 'helper' }),
        S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
        S.flowNode({ id: 'err1', type: 'helper' }),
      ],
      S.credentials(pg.password),
    );
    const w1 = S.helper.getNode('w1');
    S.helper.getNode('out1').on('input', (m) => acked.push(m.payload.id));
    S.helper.getNode('err1').on('input', (m) => {
      caught.push(m.payload.id);
      failLatency.push(Date.now() - sentAt[m.payload.id]);
      if (caughtMsgs.length < 1000) caughtMsgs.push(m);
    });
    let next = 0;
    const send = (n) => {
      for (let k = 0; k < n; k++, next++) {
        sentAt[next] = Date.now();
        w1.receive({ payload: { id: next, note: 'slow database chaos test row' } });
      }
    };
    // The test helper's spies keep every send/error/status call (every message) in memory;
    // take what the secrets scan and the asserts need, then forget them, so that RSS measures
    // the node and not the harness.
    // Distinct status texts and the first log entries only: keeping every log entry (one per
    // refused message, with the message) would itself grow the heap being measured.
    const statusSet = new Set();
    const logSet = new Set(); // the first 500 entries (one per refused message follows)
    let logsDropped = 0;
    const harvest = () => {
      for (const c of S.statusCalls()) if (c.id === 'w1' && c.status && c.status.text) statusSet.add(c.status.text);
      for (const a of S.helper.log().args) {
        if (logSet.size < 500) logSet.add(C.safeJson(a[0]));
        else logsDropped++;
      }
      S.helper._sandbox.resetHistory();
    };
    // Warm up: 3 s of a healthy stream at the same rate, so that the heap has grown to its
    // working size; the baseline is the largest RSS (after a GC) seen meanwhile.
    let baseline = 0;
    for (let k = 0; k < 30; k++) {
      if (k % 10 === 9) {
        harvest();
        gc();
        baseline = Math.max(baseline, process.memoryUsage().rss);
      }
      send(RATE / 10);
      await C.sleep(100);
    }
    await C.until(() => acked.length === next, 20000, 'warm-up acknowledged');
    harvest();
    gc();
    baseline = Math.max(baseline, process.memoryUsage().rss);

    locker = new Client({ connectionString: pg.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE slow IN ACCESS EXCLUSIVE MODE');
    const lockedAt = Date.now();
    const ackedBeforeLock = acked.length;
    let maxRss = baseline;
    const liveNow = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    };
    const live0 = liveNow();
    let maxLive = live0;
    for (let tick = 0; Date.now() - lockedAt < LOCK_MS; tick++) {
      if (tick % 10 === 9) {
        harvest();
        gc();
        maxRss = Math.max(maxRss, process.memoryUsage().rss);
        maxLive = Math.max(maxLive, liveNow());
      }
      send(RATE / 10); // after the GC, so that its pause does not count as the node's latency
      await C.sleep(100);
    }
    const ackedDuringLock = acked.length - ackedBeforeLock;
    harvest();
    const statuses = [...statusSet];
    await locker.query('COMMIT');
    await locker.end();
    locker = null;
    const releasedAt = Date.now();
    // Resume: a little more traffic after the lock, everything settles.
    for (let k = 0; k < 10; k++) {
      send(RATE / 10);
      await C.sleep(100);
    }
    await C.until(() => acked.length + caught.length >= next, 60000, 'every message acknowledged or caught');
    const sent = Array.from({ length: next }, (_, k) => k);
    const figures = C.account({ sent, acked, caught, tableCounts: await C.tableCounts(pg.url, 'slow') });
    const growthMb = (maxRss - baseline) / 1048576;
    C.saveMessages(id, 'catch.ndjson', caughtMsgs);
    C.saveText(id, 'status.json', C.safeJson(statuses));
    C.saveText(id, 'node-red-log.json', '[' + [...logSet, ...S.helper.log().args.slice(0, 500).map((a) => C.safeJson(a[0])), JSON.stringify({ moreEntries: logsDropped })].join(',\n') + ']');
    const f = C.record({
      id,
      scenario: `ACCESS EXCLUSIVE lock on the target table for ${LOCK_MS / 1000} s under ${RATE} msg/s`,
      node: 'gpss-write',
      mode: 'stream, insert',
      faults: 1,
      seconds: Math.round((Date.now() - lockedAt) / 100) / 10,
      rssGrowthMb: Math.round(growthMb),
      heapGrowthMb: Math.round((maxLive - live0) / 1048576),
      bufferMb: BUFFER_MB,
      maxFailMs: Math.max(0, ...failLatency),
      ...figures,
    });
    process.stdout.write(`# ${JSON.stringify(f)}\n`);

    assert.equal(ackedDuringLock, 0, 'nothing is acknowledged while the table is locked');
    assert.ok(statuses.some((t) => /waiting for the database/.test(t)), `a waiting status while locked; saw ${JSON.stringify([...new Set(statuses)].slice(-8))}`);
    assert.ok(growthMb <= BUFFER_MB + 50, `RSS grew ${growthMb.toFixed(1)} MB; limit ${BUFFER_MB} + 50 MB`);
    assert.ok(f.toCatch > 0, 'the buffer filled up: messages beyond it went to Catch');
    for (const m of caughtMsgs) assert.match(m.error.message, /buffer full/);
    // "At once" compared with the 30 s lock: this one event loop also runs gpss-pg, Node-RED,
    // the sender and full GCs, so allow 2 s; a refused message must not wait for the lock.
    assert.ok(f.maxFailMs < 2000, `a refused message reaches Catch at once (slowest ${f.maxFailMs} ms)`);
    assert.ok(acked.length > ackedBeforeLock, 'the stream resumed after the lock');
    assert.ok(Date.now() - releasedAt < 60000);
    assert.equal(f.lost, 0);
    assert.equal(f.unaccounted, 0);
    assert.equal(f.duplicates, 0, 'a blocked commit is not retried while it waits');
  } finally {
    if (locker) await locker.end().catch(() => undefined);
    await S.helper.unload();
    await S.stopNodeRed();
  }
});
