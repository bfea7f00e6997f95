'use strict';
// Chaos: gpss-pg as its own process, SIGKILLed 5 times at random moments during a 200,000-message
// stream (stream mode, one row per message) and restarted on the same port. gpss-write runs in
// the real Node-RED runtime (remote gpss-server). Every message must end acknowledged or in
// Catch (unaccounted 0), and nothing acknowledged may be missing from the table (lost 0).
// Insert mode: a commit whose reply died with the server is retried, so duplicates are possible
// and reported. Merge mode on the id: a retried commit updates instead, so 0 duplicates.
// CHAOS_SEED=<n> replays the kill moments of a run.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const S = require('../support/gpss-nodes');
const C = require('./support');
const { freePort } = require('../../dist/devstack/postgres');

const N = Number(process.env.CHAOS_MESSAGES) || 200000;
const KILLS = 5;
let pg = null;

before(async () => {
  pg = await C.ownCluster();
  await C.query(pg.url, 'CREATE TABLE ins (id int4 NOT NULL, note text); CREATE TABLE mrg (id int4 NOT NULL, note text); CREATE INDEX ON mrg (id)');
});
after(() => pg && pg.stop());

function flow(port, table, w) {
  return [
    ...S.configNodes(pg, { gpssPort: port, rpcTimeout: 10 }),
    S.flowNode({
      id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table, mode: 'insert',
      commitRows: 5000, commitInterval: 100, bufferRows: 100000, bufferMb: 64, maxRetries: 30, retryDelay: 100, closeTimeout: 10,
      ...w, wires: [['out1']],
    }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
}

async function run(id, table, mode) {
  const seed = C.seedFromEnv();
  const random = C.rng(seed);
  const logFile = path.join(C.artifactDir(id), 'gpss-pg.log');
  const port = await freePort();
  let server = await C.startGpssProcess({ databaseUrl: pg.url, port, logFile });
  // Kill moments: 5 random message counts spread over the stream (one per fifth).
  const killAt = Array.from({ length: KILLS }, (_, i) => Math.floor(((i + 0.1 + random() * 0.8) * N) / KILLS));
  const w = mode === 'merge' ? { mode: 'merge', matchColumns: 'id', updateColumns: 'note' } : {};
  await S.startNodeRed();
  const t0 = Date.now();
  const acked = [];
  const caught = [];
  const caughtMsgs = [];
  let kills = 0;
  try {
    await S.helper.load(S.NODES, flow(port, table, w), S.credentials(pg.password));
    const w1 = S.helper.getNode('w1');
    S.helper.getNode('out1').on('input', (m) => acked.push(m.payload.id));
    S.helper.getNode('err1').on('input', (m) => {
      caught.push(m.payload.id);
      if (caughtMsgs.length < 1000) caughtMsgs.push(m);
    });
    let restarting = Promise.resolve();
    for (let i = 0; i < N; ) {
      if (kills < KILLS && i >= killAt[kills]) {
        await restarting; // the previous restart, so that each kill hits a live server
        server.kill('SIGKILL');
        await server.exited;
        kills++;
        const down = Math.floor(random() * 1000);
        // Restart after a random pause while messages keep arriving (they are held and retried).
        restarting = C.sleep(down).then(async () => {
          server = await C.startGpssProcess({ databaseUrl: pg.url, port, logFile });
        });
      }
      // Flow control like a well-behaved source: keep at most 60,000 messages in flight.
      if (i - acked.length - caught.length > 60000) {
        await C.sleep(5);
        continue;
      }
      const end = Math.min(N, i + 500);
      for (; i < end; i++) w1.receive({ payload: { id: i, note: 'm' } });
      await new Promise((r) => setImmediate(r));
    }
    await restarting;
    await C.until(() => acked.length + caught.length >= N, 180000, `all ${N} messages acknowledged or caught`);
    const figures = C.account({ sent: Array.from({ length: N }, (_, k) => k), acked, caught, tableCounts: await C.tableCounts(pg.url, table) });
    C.saveMessages(id, 'catch.ndjson', caughtMsgs);
    C.saveText(id, 'status.json', C.safeJson(S.statusCalls().slice(-2000)));
    C.saveText(id, 'node-red-log.json', C.safeJson(S.helper.log().args.map((a) => a[0])));
    return C.record({
      id,
      scenario: `gpss-pg SIGKILLed ${kills}× during a stream, restarted on the same port`,
      node: 'gpss-write',
      mode: `stream, ${mode}`,
      faults: kills,
      seed,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      ...figures,
    });
  } finally {
    await S.helper.unload();
    await S.stopNodeRed();
    server.kill('SIGTERM');
    await server.exited;
  }
}

test(`insert: ${N} messages, gpss-pg SIGKILLed ${KILLS} times: lost 0, unaccounted 0, duplicates reported`, async () => {
  const f = await run('gpss-kill-insert', 'ins', 'insert');
  process.stdout.write(`# ${JSON.stringify(f)}\n`);
  assert.equal(f.faults, KILLS);
  assert.equal(f.lost, 0, 'acknowledged but absent from the table');
  assert.equal(f.unaccounted, 0, 'neither acknowledged nor in Catch');
  assert.equal(f.acknowledged + f.toCatch, N);
  assert.ok(f.committed >= f.acknowledged);
  assert.equal(f.rows, f.distinctRows + f.duplicates);
});

test(`merge on id: ${N} messages, gpss-pg SIGKILLed ${KILLS} times: lost 0, unaccounted 0, 0 duplicates`, async () => {
  const f = await run('gpss-kill-merge', 'mrg', 'merge');
  process.stdout.write(`# ${JSON.stringify(f)}\n`);
  assert.equal(f.faults, KILLS);
  assert.equal(f.lost, 0, 'acknowledged but absent from the table');
  assert.equal(f.unaccounted, 0, 'neither acknowledged nor in Catch');
  assert.equal(f.duplicates, 0, 'a replayed merge must not add rows');
});

test('gpss-pg logs and the database were saved for the secrets scan', () => {
  for (const id of ['gpss-kill-insert', 'gpss-kill-merge']) assert.ok(fs.statSync(path.join(C.artifactDir(id), 'gpss-pg.log')).size > 0);
  fs.copyFileSync(pg.logFile, path.join(C.artifactDir('gpss-kill-insert'), 'postgresql.log'));
});
