'use strict';
// gpss-connect / gpss-write / gpss-close in the real Node-RED runtime against a real gpss-pg
// and PostgreSQL: explicit ETL jobs, stream mode commits (rows and interval) with Complete
// nodes, bad rows to Catch, embedded and remote gpss-server modes, credentials never leaking.
const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres, withDatabase } = require('./support/pg');
const S = require('./support/gpss-nodes');

const pg = usePostgres();
const SECRET = 'S3cret-Pa55-w0rd-7781';
const LOADER = `loader_${process.pid}_${Date.now() % 100000}`;
let server;

before(async () => {
  // node:test may start root hooks before the fixture's one has finished: wait for the database.
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE etl (id int4, name text, v float8, ts timestamp)');
  await S.query(pg.url, 'CREATE TABLE stream (id int4 NOT NULL, name text, v float8)');
  await S.query(pg.url, 'CREATE TABLE emb (id int4, name text)');
  // Roles are cluster-wide and the cluster may be shared with other test files: a unique name.
  await S.query(pg.url, `CREATE ROLE ${LOADER} LOGIN PASSWORD '${SECRET}'`);
  await S.query(pg.url, `GRANT ALL ON ALL TABLES IN SCHEMA public TO ${LOADER}`);
  await S.query(pg.url, `GRANT CREATE, USAGE ON SCHEMA public TO ${LOADER}`);
  server = await S.startServer(pg);
});
after(async () => {
  if (server) await server.stop();
  await S.query(pg.serverUrl, `DROP DATABASE IF EXISTS ${pg.database} WITH (FORCE)`).catch(() => {});
  await S.query(pg.serverUrl, `DROP ROLE IF EXISTS ${LOADER}`).catch(() => {});
});
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

const rows = (n, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ id: from + i, name: `r${from + i}`, v: (from + i) / 2, ts: new Date(Date.UTC(2024, 0, 1, 0, 0, (from + i) % 60)) }));

function etlFlow(cfg) {
  return [
    ...cfg,
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'etl', tableType: 'str', mode: 'insert', wires: [['out1']] }),
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'job', wires: [['out2']] }),
    S.flowNode({ id: 'cl1', type: 'gpss-close', server: 'gs1', maxErrorRows: 10, wires: [['out3']] }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'out2', type: 'helper' }),
    S.flowNode({ id: 'out3', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
}

// ---- ETL: gpss-connect → gpss-write (job) → gpss-close, remote gpss-server
test('ETL: 10 writes of 10,000 rows are invisible until close commits; stats are correct', async () => {
    await S.query(pg.url, 'TRUNCATE etl');
    await S.helper.load(S.NODES, etlFlow(S.configNodes(pg, { gpssPort: server.port })), S.credentials(pg.password));
    const out1 = S.collect(S.helper.getNode('out1'));
    const out2 = S.collect(S.helper.getNode('out2'));
    const out3 = S.collect(S.helper.getNode('out3'));
    const errs = S.collect(S.helper.getNode('err1'));
    const opened = await S.roundTrip(S.helper.getNode('c1'), { payload: 'start' }, out1);
    assert.equal(typeof opened.gpss.job, 'string');
    assert.equal(opened.gpss.table, 'public.etl');
    assert.deepEqual(opened.gpss.columns, ['id', 'name', 'v', 'ts']);
    const w1 = S.helper.getNode('w1');
    for (let b = 0; b < 10; b++) w1.receive({ gpss: opened.gpss, payload: rows(10000, b * 10000) });
    await out2.wait(10, 60000);
    assert.equal(errs.msgs.length, 0, JSON.stringify(errs.msgs.map((m) => m.error)));
    assert.equal(await S.count(pg.url, 'etl'), 0, 'rows visible before the close committed');
    const closed = await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss }, out3, 60000);
    assert.deepEqual(closed.payload, { successCount: 100000, errorCount: 0, errorRows: [] });
    assert.equal(await S.count(pg.url, 'etl'), 100000);
    const r = await S.query(pg.url, "SELECT id, name, v, ts FROM etl WHERE id = 12345");
    assert.equal(r.rows[0].name, 'r12345');
    assert.equal(r.rows[0].v, 6172.5);
    // The job is gone after the close: a second close fails to Catch naming the job.
    S.helper.getNode('cl1').receive({ gpss: opened.gpss });
    const [e] = await errs.wait(1);
    assert.match(e.error.message, /no open load job/);
  });

test('ETL: abort (msg.abort = true) leaves nothing in the table', async () => {
    await S.query(pg.url, 'TRUNCATE etl');
    await S.helper.load(S.NODES, etlFlow(S.configNodes(pg, { gpssPort: server.port })), S.credentials(pg.password));
    const out1 = S.collect(S.helper.getNode('out1'));
    const out2 = S.collect(S.helper.getNode('out2'));
    const out3 = S.collect(S.helper.getNode('out3'));
    const opened = await S.roundTrip(S.helper.getNode('c1'), { payload: 1 }, out1);
    S.helper.getNode('w1').receive({ gpss: opened.gpss, payload: rows(500) });
    await out2.wait(1);
    const closed = await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss, abort: true }, out3);
    assert.equal(closed.payload.successCount, 0);
    assert.equal(await S.count(pg.url, 'etl'), 0);
  });

test('ETL: a bad row in job mode fails only that message, naming the column; the job still commits the rest', async () => {
    await S.query(pg.url, 'TRUNCATE etl');
    await S.helper.load(S.NODES, etlFlow(S.configNodes(pg, { gpssPort: server.port })), S.credentials(pg.password));
    const out1 = S.collect(S.helper.getNode('out1'));
    const out2 = S.collect(S.helper.getNode('out2'));
    const out3 = S.collect(S.helper.getNode('out3'));
    const errs = S.collect(S.helper.getNode('err1'));
    const opened = await S.roundTrip(S.helper.getNode('c1'), { payload: 1 }, out1);
    const w1 = S.helper.getNode('w1');
    w1.receive({ gpss: opened.gpss, payload: rows(10) });
    w1.receive({ gpss: opened.gpss, payload: [{ id: 1, v: 'not a number' }] });
    w1.receive({ gpss: opened.gpss, payload: rows(5, 100) });
    await out2.wait(2);
    const [e] = await errs.wait(1);
    assert.match(e.error.message, /\bv\b/);
    assert.deepEqual(e.payload, [{ id: 1, v: 'not a number' }], 'rows intact in the failed message');
    const closed = await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss }, out3);
    assert.equal(closed.payload.successCount, 15);
  });

function streamFlow(cfg, w = {}) {
  return [
    ...cfg,
    S.flowNode({
      id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'stream', tableType: 'str', mode: 'insert',
      commitRows: 50, commitInterval: 60000, bufferRows: 10000, bufferMb: 16, maxRetries: 2, retryDelay: 50, ...w, wires: [['out1']],
    }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'done1', type: 'complete', scope: ['w1'], uncaught: false, wires: [['doneOut']] }),
    S.flowNode({ id: 'doneOut', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
}

// ---- stream mode
test('stream: commits every N rows; Complete fires per message only after its row is in the table', async () => {
    await S.query(pg.url, 'TRUNCATE stream');
    await S.helper.load(S.NODES, streamFlow(S.configNodes(pg, { gpssPort: server.port })), S.credentials(pg.password));
    const w1 = S.helper.getNode('w1');
    const checks = [];
    S.helper.getNode('doneOut').on('input', (msg) => {
      // Query at the moment Complete fires: the commit must already be visible.
      checks.push(S.query(pg.url, 'SELECT count(*)::int AS n FROM stream WHERE id = $1', [msg.payload.id]).then((r) => r.rows[0].n));
    });
    const done = S.collect(S.helper.getNode('doneOut'));
    for (let i = 0; i < 49; i++) w1.receive({ payload: { id: i, name: 'n' + i, v: i } });
    await S.sleep(400);
    assert.equal(done.msgs.length, 0, 'nothing acknowledged before 50 rows were buffered (interval is 60 s)');
    assert.equal(await S.count(pg.url, 'stream'), 0);
    for (let i = 49; i < 100; i++) w1.receive({ payload: { id: i, name: 'n' + i, v: i } });
    await done.wait(100, 20000);
    const found = await Promise.all(checks);
    assert.deepEqual(found, new Array(100).fill(1), 'a Complete fired before its row was committed');
    assert.equal(await S.count(pg.url, 'stream'), 100);
    assert.equal(S.collect(S.helper.getNode('out1')).msgs.length, 0); // (a fresh collector; outputs asserted below)
  });

test('stream: commits by interval when the row count is not reached', async () => {
    await S.query(pg.url, 'TRUNCATE stream');
    await S.helper.load(
      S.NODES,
      streamFlow(S.configNodes(pg, { gpssPort: server.port }), { commitRows: 100000, commitInterval: 400 }),
      S.credentials(pg.password),
    );
    const out = S.collect(S.helper.getNode('out1'));
    const t0 = Date.now();
    S.helper.getNode('w1').receive({ payload: [{ id: 1 }, { id: 2, name: null }] });
    await out.wait(1, 10000);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 350, `acknowledged after ${elapsed} ms, before the 400 ms interval`);
    const r = await S.query(pg.url, 'SELECT id, name FROM stream ORDER BY id');
    assert.deepEqual(r.rows, [{ id: 1, name: null }, { id: 2, name: null }], 'missing columns are NULL');
  });

test('stream: bad rows (wrong type, unknown column) go to Catch naming the column; the rest of the stream commits', async () => {
    await S.query(pg.url, 'TRUNCATE stream');
    await S.helper.load(S.NODES, streamFlow(S.configNodes(pg, { gpssPort: server.port }), { commitRows: 3, commitInterval: 200 }), S.credentials(pg.password));
    const out = S.collect(S.helper.getNode('out1'));
    const errs = S.collect(S.helper.getNode('err1'));
    const w1 = S.helper.getNode('w1');
    w1.receive({ payload: { id: 1, name: 'ok' } });
    w1.receive({ payload: { id: 'twelve', name: 'bad type' } });
    w1.receive({ payload: { id: 3, colour: 'red' } });
    w1.receive({ payload: [[4, 'array row', 4.5]] });
    // NOT NULL violation is found by the server: the batch is bisected and only this message fails.
    w1.receive({ payload: { name: 'null id' } });
    w1.receive({ payload: { id: 6 } });
    await out.wait(3, 20000);
    await errs.wait(3, 20000);
    const messages = errs.msgs.map((m) => m.error.message);
    assert.ok(messages.some((m) => /\bid\b/.test(m) && /twelve/.test(m)), messages.join(' | '));
    assert.ok(messages.some((m) => /colour/.test(m)), messages.join(' | '));
    assert.ok(messages.some((m) => /null/i.test(m)), messages.join(' | '));
    assert.ok(errs.msgs.some((m) => m.payload.name === 'bad type'), 'failed message keeps its rows');
    const r = await S.query(pg.url, 'SELECT id FROM stream ORDER BY id');
    assert.deepEqual(r.rows.map((x) => x.id), [1, 4, 6]);
  });

test('names match exactly, as on Greenplum: a table or match column differing only in case reaches Catch with "did you mean"', async () => {
  await S.query(pg.url, 'TRUNCATE stream');
  const cfg = S.configNodes(pg, { gpssPort: server.port });
  const f = [
    ...streamFlow(cfg, { table: 'Stream', maxRetries: 5, retryDelay: 3000 }).map((n) => (n.id === 'catch1' ? { ...n, scope: ['w1', 'c1'] } : n)),
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'stream', mode: 'merge', matchColumns: 'ID', updateColumns: 'name', wires: [[]] }),
  ];
  await S.helper.load(S.NODES, f, S.credentials(pg.password));
  const errs = S.collect(S.helper.getNode('err1'));
  const t0 = Date.now();
  S.helper.getNode('w1').receive({ payload: { id: 1, name: 'x' } });
  S.helper.getNode('c1').receive({ payload: 1 });
  await errs.wait(2, 20000);
  assert.ok(Date.now() - t0 < 2500, 'a missing table is not retried (the first retry alone would wait over 2 s)');
  const by = Object.fromEntries(errs.msgs.map((m) => [m.error.source.id, m.error.message]));
  assert.match(by.w1, /table "public"\."Stream" does not exist; did you mean "public"\."stream"\?/);
  assert.match(by.c1, /MatchColumns: column "ID" does not exist in the table; did you mean "id"\?/);
  assert.equal(await S.count(pg.url, 'stream'), 0);
});

test('stream: with "ignore keys that are not columns" extra keys are dropped instead of failing the message', async () => {
  await S.query(pg.url, 'TRUNCATE stream');
  await S.helper.load(
    S.NODES,
    streamFlow(S.configNodes(pg, { gpssPort: server.port }), { commitRows: 1, commitInterval: 10, ignoreUnknownKeys: true }),
    S.credentials(pg.password),
  );
  const out = S.collect(S.helper.getNode('out1'));
  S.helper.getNode('w1').receive({ payload: { id: 42, name: 'x', _msgmeta: 'ignored', colour: 'red' } });
  await out.wait(1);
  const r = await S.query(pg.url, 'SELECT id, name FROM stream');
  assert.deepEqual(r.rows, [{ id: 42, name: 'x' }]);
});

test('stream: the table from msg.table (TypedInput) routes messages to one stream per table', async () => {
  await S.query(pg.url, 'TRUNCATE stream');
  await S.query(pg.url, 'CREATE TABLE IF NOT EXISTS other (id int4 NOT NULL, name text)');
  await S.helper.load(
    S.NODES,
    streamFlow(S.configNodes(pg, { gpssPort: server.port }), { table: 'table', tableType: 'msg', commitRows: 2, commitInterval: 50 }),
    S.credentials(pg.password),
  );
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  w1.receive({ table: 'stream', payload: { id: 1, name: 'to stream' } });
  w1.receive({ table: 'other', payload: { id: 2, name: 'to other' } });
  w1.receive({ payload: { id: 3 } }); // no msg.table: fails, naming the option
  await out.wait(2);
  const [e] = await errs.wait(1);
  assert.match(e.error.message, /no table/);
  assert.deepEqual((await S.query(pg.url, 'SELECT id FROM stream')).rows, [{ id: 1 }]);
  assert.deepEqual((await S.query(pg.url, 'SELECT id FROM other')).rows, [{ id: 2 }]);
});

test('stream: merge mode on a key makes re-sent rows idempotent (update, not duplicate)', async () => {
  await S.query(pg.url, 'CREATE TABLE IF NOT EXISTS kv (k int4 PRIMARY KEY, val text)');
  await S.helper.load(
    S.NODES,
    [
      ...S.configNodes(pg, { gpssPort: server.port }),
      S.flowNode({
        id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'kv', mode: 'merge',
        matchColumns: 'k', updateColumns: 'val', commitRows: 2, commitInterval: 50, wires: [['out1']],
      }),
      S.flowNode({ id: 'out1', type: 'helper' }),
    ],
    S.credentials(pg.password),
  );
  const out = S.collect(S.helper.getNode('out1'));
  const w1 = S.helper.getNode('w1');
  w1.receive({ payload: [{ k: 1, val: 'a' }, { k: 2, val: 'b' }] });
  await out.wait(1);
  w1.receive({ payload: [{ k: 2, val: 'b2' }, { k: 3, val: 'c' }] });
  await out.wait(2);
  const r = await S.query(pg.url, 'SELECT k, val FROM kv ORDER BY k');
  assert.deepEqual(r.rows, [{ k: 1, val: 'a' }, { k: 2, val: 'b2' }, { k: 3, val: 'c' }]);
});

// ---- embedded gpss-server
test('embedded: starts gpss-pg in-process on the greenplum-db and serves stream and ETL loads; admin endpoint lists tables', async () => {
    const flow = [
      ...S.configNodes(pg),
      S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'auto', table: 'emb', commitRows: 1000, commitInterval: 100, wires: [['out1']] }),
      S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'emb', wires: [['out2']] }),
      S.flowNode({ id: 'cl1', type: 'gpss-close', server: 'gs1', wires: [['out3']] }),
      S.flowNode({ id: 'out1', type: 'helper' }),
      S.flowNode({ id: 'out2', type: 'helper' }),
      S.flowNode({ id: 'out3', type: 'helper' }),
    ];
    await S.helper.load(S.NODES, flow, S.credentials(pg.password));
    const out1 = S.collect(S.helper.getNode('out1'));
    S.helper.getNode('w1').receive({ payload: Array.from({ length: 1000 }, (_, i) => [i, 's' + i]) });
    await out1.wait(1, 20000);
    assert.equal(await S.count(pg.url, 'emb'), 1000);
    assert.match(S.helper.getNode('gs1').address(), /^127\.0\.0\.1:\d+$/);
    // ETL through the same embedded server; gpss-write in auto mode follows msg.gpss.job.
    const out2 = S.collect(S.helper.getNode('out2'));
    const out3 = S.collect(S.helper.getNode('out3'));
    const opened = await S.roundTrip(S.helper.getNode('c1'), {}, out2);
    await S.roundTrip(S.helper.getNode('w1'), { gpss: opened.gpss, payload: [{ id: -1, name: 'etl' }] }, out1);
    assert.equal(await S.count(pg.url, 'emb'), 1000);
    const closed = await S.roundTrip(S.helper.getNode('cl1'), { gpss: opened.gpss }, out3);
    assert.equal(closed.payload.successCount, 1);
    assert.equal(await S.count(pg.url, 'emb'), 1001);
    const res = await S.helper.request().get('/gpflow/gpss/gs1/tables?schema=public').expect(200);
    assert.ok(res.body.some((t) => t.name === 'emb'), JSON.stringify(res.body));
    const cols = await S.helper.request().get('/gpflow/gpss/gs1/columns?schema=public&table=emb').expect(200);
    assert.deepEqual(cols.body.map((c) => c.name), ['id', 'name']);
  const missing = await S.helper.request().get('/gpflow/gpss/not-deployed/tables').expect(404);
  assert.match(missing.body.error, /deploy/);
  await S.helper.request().get('/gpflow/gpss/gs1/columns?schema=public').expect(400);
  const bad = await S.helper.request().get('/gpflow/gpss/gs1/columns?schema=public&table=no_such').expect(502);
  assert.match(bad.body.error, /no_such/);
  });

test('remote over TLS: gpss-server verifies gpss-pg with the CA from its credentials', async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { execFileSync } = require('node:child_process');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpss-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    const cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    const key = fs.readFileSync(path.join(dir, 'key.pem'));
    const { startGpssServer } = require('../dist/gpss-server');
    const tlsServer = await startGpssServer({ listen: '127.0.0.1:0', databaseUrl: pg.url, allowHosts: [`${pg.host}:${pg.port}`], tls: { cert, key } });
    try {
      const flow = [
        ...S.configNodes(pg, { gpssPort: tlsServer.port, tls: true }),
        S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'emb', commitRows: 1, maxRetries: 0, wires: [['out1']] }),
        S.flowNode({ id: 'out1', type: 'helper' }),
        S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
        S.flowNode({ id: 'err1', type: 'helper' }),
      ];
      await S.helper.load(S.NODES, flow, { db1: { password: pg.password }, gs1: { tlsCa: cert.toString() } });
      const out = S.collect(S.helper.getNode('out1'));
      S.helper.getNode('w1').receive({ payload: { id: 5000, name: 'over tls' } });
      await out.wait(1, 20000);
      const r = await S.query(pg.url, 'SELECT name FROM emb WHERE id = 5000');
      assert.equal(r.rows[0].name, 'over tls');
      await S.helper.unload();
      // Without the CA the self-signed certificate is refused: the message fails, nothing is written.
      await S.helper.load(S.NODES, flow, { db1: { password: pg.password } });
      const errs = S.collect(S.helper.getNode('err1'));
      S.helper.getNode('w1').receive({ payload: { id: 5001, name: 'untrusted' } });
      const [e] = await errs.wait(1, 30000);
      assert.match(e.error.message, /GPSS|UNAVAILABLE|certificate|TLS|SSL/i);
      assert.equal(await S.count(pg.url, 'emb WHERE id = 5001'), 0);
    } finally {
      await tlsServer.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---- credentials

  for (const mode of ['remote', 'embedded']) {
  test(`the password never appears in msg, status, log or errors (${mode})`, async () => {
      const cfg = S.configNodes(pg, mode === 'remote' ? { gpssPort: server.port, user: LOADER } : { user: LOADER });
      const flow = [
        ...cfg,
        S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'stream', commitRows: 1, commitInterval: 10, maxRetries: 0, wires: [['out1']] }),
        S.flowNode({ id: 'w2', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'no_such_table', commitRows: 1, maxRetries: 0, wires: [['out1']] }),
        S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'stream', wires: [['out1']] }),
        S.flowNode({ id: 'out1', type: 'helper' }),
        S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err1']] }),
        S.flowNode({ id: 'err1', type: 'helper' }),
        // A second login with a wrong password: its errors must not echo it either.
        { id: 'db2', type: 'greenplum-db', host: pg.host, port: pg.port, database: pg.database, user: LOADER },
        { id: 'gs2', type: 'gpss-server', mode: mode === 'remote' ? 'remote' : 'embedded', host: '127.0.0.1', port: server.port, db: 'db2', rpcTimeout: 10 },
        S.flowNode({ id: 'c2', type: 'gpss-connect', server: 'gs2', table: 'stream', wires: [['out1']] }),
      ];
      await S.helper.load(S.NODES, flow, { db1: { password: SECRET }, db2: { password: SECRET + '-wrong' } });
      const out = S.collect(S.helper.getNode('out1'));
      const errs = S.collect(S.helper.getNode('err1'));
      const rowId = mode === 'remote' ? 7 : 9;
      S.helper.getNode('w1').receive({ payload: { id: rowId, name: 'secret test' } });
      S.helper.getNode('w2').receive({ payload: { id: 8 } });
      S.helper.getNode('c1').receive({ payload: 'open' });
      S.helper.getNode('c2').receive({ payload: 'open' });
      await out.wait(2, 20000);
      await errs.wait(2, 30000);
      assert.ok(errs.msgs.some((m) => /no_such_table/.test(m.error.message)), JSON.stringify(errs.msgs.map((m) => m.error.message)));
      assert.ok(errs.msgs.some((m) => /password|authentication|Connect/i.test(m.error.message)), JSON.stringify(errs.msgs.map((m) => m.error.message)));
      // close the job opened by c1
      const job = out.msgs.find((m) => m.gpss && m.gpss.job);
      assert.ok(job, 'gpss-connect passed the message on');
      await S.sleep(600); // let throttled statuses land
      const haystack = JSON.stringify({
        msgs: out.msgs,
        errors: errs.msgs,
        status: S.statusCalls(),
        log: S.helper.log().args,
        flows: S.helper._redNodes.getFlows().flows,
      });
      assert.ok(haystack.includes('no_such_table'), 'the haystack holds the errors');
      assert.ok(S.statusCalls().length > 0, 'status calls were captured');
      assert.ok(!haystack.includes(SECRET), 'the password leaked');
      assert.ok(!haystack.includes(encodeURIComponent(SECRET)), 'the URL-encoded password leaked');
      assert.equal(await S.count(withDatabase(pg.url, pg.database), `stream WHERE id = ${rowId}`), 1);
    });
  }
