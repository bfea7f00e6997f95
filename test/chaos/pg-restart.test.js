'use strict';
// Chaos: PostgreSQL restarted (pg_ctl restart -m fast, then -m immediate) on a cluster owned by
// this file, (1) during a gpss-write stream (gpss-pg and Node-RED in this process) and (2) during
// an oss-import (real emulator, real ali-oss). Stream: lost 0, unaccounted 0. Import: all or
// nothing (0 rows and a Catch, or every row and an output), and a retry afterwards loads all.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const S = require('../support/gpss-nodes');
const C = require('./support');
const { startTestOssEmulator } = require('../support/oss');
const { accountDef, dbDef, flowNode, TAB } = require('../support/oss-nodes');

const N = Number(process.env.CHAOS_PG_MESSAGES) || 60000;
let pg = null;
let server = null;
let oss = null;
const logs = [];

before(async () => {
  pg = await C.ownCluster();
  await C.query(pg.url, 'CREATE TABLE st (id int4 NOT NULL, note text); CREATE TABLE imp (id int4, t text)');
  server = await S.startServer(pg);
  oss = await startTestOssEmulator({ buckets: ['restart-bucket'], accessKeySecret: C.secrets().ossAccessKeySecret, log: (l) => logs.push(l) });
});
after(async () => {
  if (server) await server.stop();
  if (oss) await oss.stop();
  if (pg) {
    if (fs.existsSync(pg.logFile)) fs.copyFileSync(pg.logFile, path.join(C.artifactDir('pg-restart'), 'postgresql.log'));
    C.saveText('pg-restart', 'emulator.log', logs.join('\n'));
    pg.stop();
  }
});

test(`stream of ${N} messages, PostgreSQL restarted fast then immediate: lost 0, unaccounted 0`, async () => {
  const id = 'pg-restart-stream';
  await S.startNodeRed();
  const acked = [];
  const caught = [];
  const caughtMsgs = [];
  const t0 = Date.now();
  try {
    await S.helper.load(
      S.NODES,
      [
        ...S.configNodes(pg, { gpssPort: server.port, rpcTimeout: 20 }),
        S.flowNode({
          id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'st', mode: 'insert',
          commitRows: 2000, commitInterval: 100, bufferRows: 100000, bufferMb: 64, maxRetries: 30, retryDelay: 200, closeTimeout: 10,
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
      if (caughtMsgs.length < 1000) caughtMsgs.push(m);
    });
    const restartAt = [Math.floor(N / 3), Math.floor((2 * N) / 3)];
    const modes = ['fast', 'immediate'];
    let restarts = 0;
    for (let i = 0; i < N; ) {
      if (restarts < 2 && i >= restartAt[restarts]) {
        pg.restart(modes[restarts]); // synchronous: messages wait in the buffer meanwhile
        restarts++;
      }
      if (i - acked.length - caught.length > 60000) {
        await C.sleep(5);
        continue;
      }
      const end = Math.min(N, i + 500);
      for (; i < end; i++) w1.receive({ payload: { id: i, note: 'r' } });
      await C.sleep(2);
    }
    await C.until(() => acked.length + caught.length >= N, 120000, `all ${N} messages acknowledged or caught`);
    const figures = C.account({ sent: Array.from({ length: N }, (_, k) => k), acked, caught, tableCounts: await C.tableCounts(pg.url, 'st') });
    C.saveMessages(id, 'catch.ndjson', caughtMsgs);
    C.saveText(id, 'status.json', C.safeJson(S.statusCalls().slice(-2000)));
    C.saveText(id, 'node-red-log.json', C.safeJson(S.helper.log().args.map((a) => a[0])));
    const f = C.record({
      id,
      scenario: 'PostgreSQL restarted (fast, then immediate) during a stream',
      node: 'gpss-write',
      mode: 'stream, insert',
      faults: restarts,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      ...figures,
    });
    process.stdout.write(`# ${JSON.stringify(f)}\n`);
    assert.equal(f.faults, 2);
    assert.equal(f.lost, 0, 'acknowledged but absent from the table');
    assert.equal(f.unaccounted, 0, 'neither acknowledged nor in Catch');
    assert.equal(f.acknowledged + f.toCatch, N);
  } finally {
    await S.helper.unload();
    await S.stopNodeRed();
  }
});

const ROWS = 200000;
const OBJECTS = 4;

async function putObjects() {
  const client = oss.client({ bucket: 'restart-bucket' });
  const per = ROWS / OBJECTS;
  for (let o = 0; o < OBJECTS; o++) {
    const lines = [];
    for (let k = 0; k < per; k++) {
      const id = o * per + k;
      lines.push(`${id},row-${id}-${'x'.repeat(20)}`);
    }
    await client.put(`in/part-${o}.csv.gz`, zlib.gzipSync(lines.join('\n') + '\n'));
  }
}

let settle = null;
function listen() {
  S.helper.getNode('out2').on('input', (m) => settle && settle({ ok: m }));
  S.helper.getNode('caught1').on('input', (m) => settle && settle({ error: m }));
}

async function importOnce(mode) {
  const copying = async () => (await C.query(pg.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query ILIKE 'COPY%FROM STDIN%' AND state <> 'idle'")).rows[0].n;
  // One persistent listener per node (see listen()): `once` on a Node-RED node's 'input' is
  // unreliable when several are registered (Node-RED iterates its callbacks while they remove
  // themselves).
  const result = new Promise((resolve) => (settle = resolve));
  S.helper.getNode('imp1').receive({ payload: 'go' });
  let restarted = false;
  if (mode) {
    await C.until(async () => (await copying()) > 0, 30000, 'the import COPY running');
    await C.sleep(100);
    pg.restart(mode);
    restarted = true;
  }
  const r = await Promise.race([result, C.sleep(Number(process.env.CHAOS_IMPORT_WAIT_MS) || 120000).then(() => ({ timeout: true }))]);
  if (r.timeout) {
    const act = await C.query(pg.url, "SELECT pid, state, wait_event_type, wait_event, left(query, 60) AS q FROM pg_stat_activity WHERE backend_type = 'client backend'");
    process.stdout.write(`# timed out; activity ${JSON.stringify(act.rows)}\n# status ${JSON.stringify(S.statusCalls().filter((c) => c.id === 'imp1').slice(-5))}\n`);
  }
  return { ...r, restarted };
}

test(`oss-import of ${ROWS} rows, PostgreSQL restarted fast and immediate during the COPY: all or nothing`, async () => {
  await putObjects();
  const NODES = ['oss-account', 'greenplum-db', 'oss-import'].map((t) => require(`../../dist/nodes/${t}.js`));
  await S.startNodeRed();
  const outcomes = [];
  try {
    await S.helper.load(
      NODES,
      [
        { id: TAB, type: 'tab' },
        accountDef(oss, { bucket: 'restart-bucket' }),
        dbDef(pg),
        flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', database: 'db1', target: 'table', table: 'imp', prefix: 'in/', format: 'csv', parallel: 2, wires: [['out2'], []] }),
        flowNode({ id: 'out2', type: 'helper' }),
        flowNode({ id: 'catch1', type: 'catch', scope: null, wires: [['caught1']] }),
        flowNode({ id: 'caught1', type: 'helper' }),
      ],
      { acct1: { accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret }, db1: { password: pg.password } },
    );
    listen();
    for (const mode of ['fast', 'immediate']) {
      await C.query(pg.url, 'TRUNCATE imp');
      let t = Date.now();
      const r = await importOnce(mode);
      process.stdout.write(`# import with a ${mode} restart: ${r.ok ? 'completed' : r.error ? 'failed: ' + r.error.error.message : 'timed out'} in ${Date.now() - t} ms\n`);
      assert.ok(!r.timeout, `the import ended (${mode})`);
      const n = (await C.query(pg.url, 'SELECT count(*)::int AS n FROM imp')).rows[0].n;
      outcomes.push({ mode, ok: !!r.ok, rows: n, error: r.error && r.error.error.message });
      if (r.ok) assert.equal(n, ROWS, `reported done: every row (${mode})`);
      else assert.equal(n, 0, `failed: nothing imported (${mode}): ${r.error.error.message}`);
      // Retried once PostgreSQL is back: all rows.
      await C.query(pg.url, 'TRUNCATE imp');
      t = Date.now();
      const again = await importOnce(null);
      process.stdout.write(`# retried import: ${again.ok ? 'completed' : again.error ? 'failed: ' + again.error.error.message : 'timed out'} in ${Date.now() - t} ms\n`);
      assert.ok(again.ok, again.error && again.error.error.message);
      const sum = (await C.query(pg.url, 'SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, sum(id)::bigint AS s FROM imp')).rows[0];
      assert.deepEqual(sum, { n: ROWS, d: ROWS, s: String((ROWS * (ROWS - 1)) / 2) });
    }
    C.saveMessages('pg-restart-import', 'outcomes.ndjson', outcomes);
    C.saveText('pg-restart-import', 'status.json', C.safeJson(S.statusCalls()));
    C.saveText('pg-restart-import', 'node-red-log.json', C.safeJson(S.helper.log().args.map((a) => a[0])));
    const f = C.record({
      id: 'pg-restart-import',
      scenario: 'PostgreSQL restarted (fast, immediate) during an oss-import COPY',
      node: 'oss-import',
      mode: 'table, csv gzip',
      faults: 2,
      sent: 2 * ROWS,
      imports: outcomes.map((o) => `${o.mode}: ${o.ok ? 'completed' : 'failed to Catch'}, ${o.rows} rows`).join('; '),
      committed: outcomes.reduce((n, o) => n + o.rows, 0),
      toCatch: outcomes.filter((o) => !o.ok).length,
      // Per import: a completed one missing rows is lost; a failed one that left rows (partial)
      // or neither completed nor failed is unaccounted. Both are asserted 0 above.
      duplicates: outcomes.filter((o) => o.rows > ROWS).length,
      lost: outcomes.filter((o) => o.ok && o.rows < ROWS).length,
      unaccounted: outcomes.filter((o) => !o.ok && o.rows !== 0).length,
    });
    process.stdout.write(`# ${JSON.stringify(f)}\n`);
  } finally {
    await S.helper.unload();
    await S.stopNodeRed();
  }
});
