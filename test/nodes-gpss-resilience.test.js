'use strict';
// Delivery guarantee of gpss-write under failure, in the real Node-RED runtime against a real
// gpss-pg and PostgreSQL: the server stopped mid-stream and restarted on the same port, the
// server kept down, redeploy and node close with uncommitted rows, a stalled server filling
// the buffer, bad values isolated to their message, and an expired session.
// Every scenario runs twice: against gpss-pg's specific status codes, and against gpss-pg
// answering every error as UNKNOWN with its text, as a real GPSS (a grpc-go server) does.
const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const S = require('./support/gpss-nodes');

const pg = usePostgres();
let server = null;
let variant = S.STATUS_VARIANTS[0];
/** A gpss-pg in the style of the scenario being run. */
const startServer = (port = 0) => S.startServer(pg, port, variant.options);

/** Registers a scenario once per status-code style; the server is restarted in that style. */
function each(name, fn) {
  for (const v of S.STATUS_VARIANTS) {
    test(`${name} [${v.name}]`, async () => {
      if (variant !== v && server) {
        await server.stop();
        server = null;
      }
      variant = v;
      if (!server) server = await startServer();
      await fn();
    });
  }
}

before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE r (id int4 NOT NULL, note text)');
  await S.query(pg.url, 'CREATE TABLE d (id int4 NOT NULL, day date)');
});
after(async () => {
  if (server) await server.stop();
});
beforeEach(async () => {
  await S.startNodeRed();
  await S.query(pg.url, 'TRUNCATE r, d');
});
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

function flow(port, w = {}) {
  return [
    ...S.configNodes(pg, { gpssPort: port, rpcTimeout: 20 }),
    S.flowNode({
      id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'r', mode: 'insert',
      commitRows: 20, commitInterval: 50, bufferRows: 100000, bufferMb: 16, maxRetries: 10, retryDelay: 100, closeTimeout: 8,
      ...w, wires: [['out1']],
    }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
}

async function idsInTable() {
  const r = await S.query(pg.url, 'SELECT id FROM r');
  return new Set(r.rows.map((x) => x.id));
}

each('server stopped mid-stream and started again on the same port: every message is retried and committed', async () => {
  const port = server.port;
  await S.helper.load(S.NODES, flow(port), S.credentials(pg.password));
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  const ackedAt = new Map();
  S.helper.getNode('out1').on('input', (m) => ackedAt.set(m.payload.id, Date.now()));
  const N = 200;
  let restartedAt = 0;
  for (let i = 0; i < N; i++) {
    if (i === 60) {
      await server.stop();
      server = null;
    }
    if (i === 120) {
      server = await startServer(port); // same port, fresh process state: sessions are gone
      restartedAt = Date.now();
    }
    w1.receive({ payload: { id: i, note: 'm' + i } });
    await S.sleep(10);
  }
  await S.until(() => out.msgs.length + errs.msgs.length >= N, 40000);
  assert.deepEqual(errs.msgs.map((m) => m.error.message), [], 'no message should fail: the server came back within the retries');
  assert.equal(out.msgs.length, N);
  const ids = await idsInTable();
  const missing = out.msgs.map((m) => m.payload.id).filter((id) => !ids.has(id));
  assert.deepEqual(missing, [], 'acknowledged but not in the table');
  for (let id = 60; id < 120; id++) {
    assert.ok(ackedAt.get(id) >= restartedAt, `message ${id}, sent while the server was down, was acknowledged before it came back`);
  }
});

each('server kept down: after the retries each message reaches Catch with its rows', async () => {
  await S.helper.load(S.NODES, flow(server.port, { maxRetries: 2, retryDelay: 50, commitRows: 2 }), S.credentials(pg.password));
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  w1.receive({ payload: { id: 1, note: 'before' } }); // describes the table, commits
  await out.wait(1);
  await server.stop();
  server = null;
  const sent = [];
  for (let i = 10; i < 15; i++) {
    const payload = [{ id: i, note: 'down' }, { id: i + 100, note: 'down' }];
    sent.push(payload);
    w1.receive({ payload });
  }
  await errs.wait(5, 20000);
  assert.equal(out.msgs.length, 1, 'nothing acknowledged while the server is down');
  for (const m of errs.msgs) {
    assert.match(m.error.message, /not committed after retries/);
    assert.equal(m.error.source.id, 'w1');
  }
  assert.deepEqual(errs.msgs.map((m) => m.payload).sort((a, b) => a[0].id - b[0].id), sent, 'rows intact in msg.payload');
  assert.deepEqual([...(await idsInTable())], [1]);
});

/** gpss-write's warnings about acknowledgements passed on to nodes that had stopped. */
const closeWarnings = () =>
  S.helper
    .log()
    .args.map((a) => a[0])
    .filter((e) => e && e.level === S.helper.log().WARN && e.id === 'w1' && /committed while closing/.test(String(e.msg)))
    .map((e) => String(e.msg));

each('redeploy (setFlows) with uncommitted rows: everything is committed or in Catch, nothing lost', async () => {
  const creds = S.credentials(pg.password);
  const f = flow(server.port, { commitRows: 1000000, commitInterval: 60000 });
  await S.helper.load(S.NODES, f, creds);
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  const N = 300;
  for (let i = 0; i < N; i++) w1.receive({ payload: { id: i, note: 'held' } });
  await S.sleep(300);
  assert.equal(out.msgs.length, 0, 'held: interval 60 s, 1,000,000 rows');
  assert.equal(await S.count(pg.url, 'r'), 0);
  // A full deploy of a changed flow stops every node: gpss-write must commit before the
  // gpss-server closes the channel (they close concurrently).
  const changed = f.map((n) => (n.id === 'w1' ? { ...n, name: 'renamed' } : n));
  await S.redeploy(changed, creds);
  // Node-RED stopped the old flow (helper and Catch nodes included) before the commit returned,
  // so the acknowledgements have nowhere to go; what matters is that the rows are durable by
  // the time the deploy completed, exactly once.
  const r = await S.query(pg.url, 'SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM r');
  assert.deepEqual(r.rows[0], { n: N, d: N }, 'every held row committed once before the old flow finished stopping');
  assert.equal(errs.msgs.length, 0);
  // Not silently: the old gpss-write says its acknowledgements had nowhere to go.
  const warned = closeWarnings();
  assert.equal(warned.length, 1, warned.join(' | '));
  assert.match(warned[0], new RegExp(`^gpss-write: ${N} rows committed while closing; .* \\(out1\\) had already stopped, .*The rows are in the table\\.$`));
  // The new flow works on the restarted config nodes.
  const out2 = S.collect(S.helper.getNode('out1'));
  S.helper.getNode('w1').receive({ payload: { id: 9999 } });
  await S.sleep(100);
  await S.redeploy(changed.filter((n) => n.id !== 'w1'), creds); // remove it: flushes on close
  await S.until(async () => (await idsInTable()).has(9999), 10000);
  assert.ok(out2.msgs.length <= 1);
});

each('modified-nodes deploy: a restarted gpss-write commits what it held and the acknowledgements reach the unchanged flow', async () => {
  const creds = S.credentials(pg.password);
  const f = flow(server.port, { commitRows: 1000000, commitInterval: 60000 });
  await S.helper.load(S.NODES, f, creds);
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  // Sent at once and redeployed right away: some may still wait for the table's description.
  for (let i = 0; i < 100; i++) S.helper.getNode('w1').receive({ payload: { id: i } });
  await S.sleep(50);
  assert.equal(out.msgs.length, 0);
  const sink = S.helper.getNode('out1');
  await S.redeploy(f.map((n) => (n.id === 'w1' ? { ...n, name: 'changed' } : n)), creds, 'nodes');
  assert.equal(S.helper.getNode('out1'), sink, 'the helper node was not restarted');
  assert.equal(S.helper.getNode('w1').name, 'changed');
  await out.wait(100, 20000);
  assert.equal(errs.msgs.length, 0);
  assert.equal(await S.count(pg.url, 'r'), 100);
  assert.deepEqual(closeWarnings(), [], 'the acknowledgements were delivered: nothing to warn about');
});

each('modified-nodes deploy with a stalled server: what cannot be committed within the close timeout goes to Catch with its rows', async () => {
  const creds = S.credentials(pg.password);
  // A Catch node for the whole tab: one scoped to w1 would be restarted with it (its scope
  // names w1) and Node-RED would drop what reaches it meanwhile.
  const f = flow(server.port, { commitRows: 10, commitInterval: 20, closeTimeout: 2 }).map((n) => (n.id === 'catch1' ? { ...n, scope: null } : n));
  await S.helper.load(S.NODES, f, creds);
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('w1').receive({ payload: { id: -1 } });
  await out.wait(1);
  const locker = new Client({ connectionString: pg.url });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE r IN ACCESS EXCLUSIVE MODE');
  try {
    for (let i = 0; i < 30; i++) S.helper.getNode('w1').receive({ payload: [{ id: i, note: 'stalled' }] });
    await S.sleep(300);
    const catcher = S.helper.getNode('catch1');
    await S.redeploy(f.map((n) => (n.id === 'w1' ? { ...n, name: 'changed' } : n)), creds, 'nodes');
    assert.equal(S.helper.getNode('catch1'), catcher, 'the Catch node kept running');
    await errs.wait(30, 20000);
    for (const m of errs.msgs) {
      assert.match(m.error.message, /close timeout/);
      assert.equal(m.payload[0].note, 'stalled', 'rows intact');
    }
    assert.equal(out.msgs.length, 1, 'nothing acknowledged while stalled');
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
  }
});

each('node close (unload) with uncommitted rows commits them before the channel closes', async () => {
  await S.helper.load(S.NODES, flow(server.port, { commitRows: 1000000, commitInterval: 60000 }), S.credentials(pg.password));
  const w1 = S.helper.getNode('w1');
  for (let i = 0; i < 500; i++) w1.receive({ payload: [[i, 'u']] });
  await S.sleep(200);
  assert.equal(await S.count(pg.url, 'r'), 0);
  await S.helper.unload(); // afterEach unloads again: harmless
  assert.equal(await S.count(pg.url, 'r'), 500);
  assert.equal(server.activeSessions(), 0, 'the config node disconnected its GPSS sessions on close');
});

each('buffer limit with a stalled server: memory stays bounded, excess messages fail fast to Catch', async () => {
  await S.helper.load(
    S.NODES,
    flow(server.port, { commitRows: 100, commitInterval: 20, bufferRows: 1000, bufferMb: 64, closeTimeout: 3 }),
    S.credentials(pg.password),
  );
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  w1.receive({ payload: { id: -1 } });
  await out.wait(1);
  // Stall the server: its COPY into r waits behind this lock.
  const locker = new Client({ connectionString: pg.url });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE r IN ACCESS EXCLUSIVE MODE');
  try {
    for (let i = 0; i < 100; i++) {
      w1.receive({ payload: Array.from({ length: 50 }, (_, j) => ({ id: i * 50 + j, note: 'stall' })) });
    }
    // They fail while the server is still stalled (the lock is held until the finally below).
    await errs.wait(80, 10000);
    await S.sleep(300);
    assert.equal(errs.msgs.length, 80, 'exactly the messages beyond 1,000 held rows were refused');
    assert.equal(out.msgs.length, 1, 'nothing acknowledged while the server is stalled');
    for (const m of errs.msgs) {
      assert.match(m.error.message, /buffer full/);
      assert.equal(m.payload.length, 50, 'rows intact');
    }
  } finally {
    await locker.query('COMMIT');
    await locker.end();
  }
  await out.wait(21, 20000);
  assert.equal(await S.count(pg.url, 'r'), 1001);
});

each('gpss-connect after a server restart: the stale pooled session is replaced, the job opens and commits', async () => {
  const port = server.port;
  const f = [
    ...S.configNodes(pg, { gpssPort: port, rpcTimeout: 20 }),
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'r', wires: [['w1']] }),
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'job', wires: [['cl1']] }),
    S.flowNode({ id: 'cl1', type: 'gpss-close', server: 'gs1', wires: [['out1']] }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
  await S.helper.load(S.NODES, f, S.credentials(pg.password));
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('c1').receive({ payload: [{ id: 1, note: 'first' }] });
  await out.wait(1);
  await server.stop();
  server = await startServer(port);
  S.helper.getNode('c1').receive({ payload: [{ id: 2, note: 'after restart' }] });
  await S.until(() => out.msgs.length + errs.msgs.length >= 2, 20000);
  assert.deepEqual(errs.msgs.map((m) => m.error.message), []);
  assert.equal(out.msgs[1].payload.successCount, 1);
  assert.deepEqual([...(await idsInTable())].sort(), [1, 2]);
});

each('bad values are isolated to their message without retries; the other messages of the commit are acknowledged', async () => {
  // No error limit: one bad row fails the whole Write, which the writer bisects down to the
  // message holding it. A retry (transient) would wait 5 s first: everything settles long before.
  const f = flow(server.port, { table: 'd', commitRows: 4, commitInterval: 60000, maxRetries: 5, retryDelay: 5000 });
  await S.helper.load(S.NODES, f, S.credentials(pg.password));
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  const w1 = S.helper.getNode('w1');
  const t0 = Date.now();
  w1.receive({ topic: 'good-1', payload: { id: 1, day: '2024-01-31' } });
  w1.receive({ topic: 'bad-date', payload: { id: 2, day: '2024-13-45' } }); // the server's date input rejects it
  w1.receive({ topic: 'good-3', payload: { id: 3, day: '2024-02-01' } });
  w1.receive({ topic: 'null-id', payload: { day: '2024-02-02' } }); // NOT NULL, found by the server
  await out.wait(2, 4000);
  await errs.wait(2, 4000);
  assert.ok(Date.now() - t0 < 4500, 'settled without a retry delay');
  assert.deepEqual(out.msgs.map((m) => m.topic).sort(), ['good-1', 'good-3']);
  const byTopic = Object.fromEntries(errs.msgs.map((m) => [m.topic, m.error.message]));
  assert.deepEqual(Object.keys(byTopic).sort(), ['bad-date', 'null-id']);
  assert.match(byTopic['bad-date'], /out of range|2024-13-45/);
  assert.match(byTopic['null-id'], /null value|not-null/);
  for (const m of Object.values(byTopic)) assert.doesNotMatch(m, /after retries/, 'a data error is not retried');
  const r = await S.query(pg.url, 'SELECT id FROM d ORDER BY id');
  assert.deepEqual(r.rows.map((x) => x.id), [1, 3]);
});

each('an expired session in a load job is reported by gpss-write and gpss-close (Catch), and the next job works', async () => {
  const f = [
    ...S.configNodes(pg, { gpssPort: server.port, rpcTimeout: 20, sessionTimeout: 1 }),
    // gpss-connect's message waits at `held` (past the session timeout) before going on to w1.
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'r', wires: [['held']] }),
    S.flowNode({ id: 'held', type: 'helper' }),
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'job', wires: [['cl1']] }),
    S.flowNode({ id: 'cl1', type: 'gpss-close', server: 'gs1', wires: [['out1']] }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: null, uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
  await S.helper.load(S.NODES, f, S.credentials(pg.password));
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  const held = S.collect(S.helper.getNode('held'));
  const c1 = S.helper.getNode('c1');
  const [job] = await (c1.receive({ payload: [{ id: 1, note: 'late' }] }), held.wait(1, 10000));
  await S.until(() => server.activeSessions() === 0, 10000); // gpss-pg expired the idle session
  S.helper.getNode('w1').receive(job);
  const [writeErr] = await errs.wait(1, 10000);
  assert.equal(writeErr.error.source.id, 'w1');
  assert.match(writeErr.error.message, /session/i);
  assert.match(writeErr.error.message, /does not exist|expired/);
  S.helper.getNode('cl1').receive({ gpss: job.gpss });
  const [, closeErr] = await errs.wait(2, 10000);
  assert.equal(closeErr.error.source.id, 'cl1');
  assert.match(closeErr.error.message, /session|failed during Write/i);
  assert.equal(out.msgs.length, 0, 'nothing reported as committed');
  // A new job gets a new session and commits.
  c1.receive({ payload: [{ id: 2, note: 'fresh' }] });
  const [, job2] = await held.wait(2, 10000);
  S.helper.getNode('w1').receive(job2);
  const [closed] = await out.wait(1, 10000);
  assert.equal(closed.payload.successCount, 1);
  assert.deepEqual([...(await idsInTable())], [2]);
});

each('a Write over the server\'s message size limit fails fast to Catch, naming the limit, without retries', async () => {
  // A server with a 10 KiB receive limit (a real GPSS has grpc-go's 4 MiB); Writes of up to 16 KiB.
  const small = await S.startServer(pg, 0, { ...variant.options, maxMessageMb: 10 / 1024 });
  try {
    await S.helper.load(S.NODES, flow(small.port, { commitRows: 1000, commitInterval: 50, writeKb: 16, maxRetries: 5, retryDelay: 5000 }), S.credentials(pg.password));
    const out = S.collect(S.helper.getNode('out1'));
    const errs = S.collect(S.helper.getNode('err1'));
    const w1 = S.helper.getNode('w1');
    w1.receive({ topic: 'small', payload: { id: 1, note: 'fits' } });
    await out.wait(1, 10000);
    const t0 = Date.now();
    w1.receive({ topic: 'big', payload: Array.from({ length: 40 }, (_, i) => ({ id: 100 + i, note: 'x'.repeat(1000) })) });
    const [e] = await errs.wait(1, 4000);
    assert.ok(Date.now() - t0 < 4500, 'not retried (a retry would wait 5 s)');
    assert.equal(e.topic, 'big');
    assert.match(e.error.message, /larger than max/);
    assert.doesNotMatch(e.error.message, /after retries/);
    assert.equal(e.payload.length, 40, 'rows intact');
    assert.deepEqual([...(await idsInTable())], [1]);
  } finally {
    await small.stop();
  }
});
