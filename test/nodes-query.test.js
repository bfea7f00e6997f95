'use strict';
// greenplum-query in the real Node-RED runtime against a real PostgreSQL: the three outputs,
// msg.params positional and named, msg.query over the dialog's SQL, DDL and DML counts, cursor
// batches paced by msg.tick as a proper sequence (parts, complete) whose cursor is closed after
// the last batch, on an error and on a redeploy mid-sequence, errors in Catch with their SQLSTATE
// and the input message, and no password anywhere in what the flow sees.
const { test, before, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const S = require('./support/gpss-nodes');
const { coreNode, nodeRedVersion } = require('./support/node-red-runtime');

const NODES = ['greenplum-db', 'greenplum-query'].map((t) => require(`../dist/nodes/${t}.js`));
const CATCH = coreNode('common/25-catch.js');
// Node-RED 4.1 and later copy an Error's own `code` into msg.error; 4.0 only its `cause`.
const copiedCode = (code) => (/^4\.0\./.test(nodeRedVersion) ? undefined : code);
/** msg.error.message without the "NodeError: " Node-RED puts before it (it stores err.toString()). */
const text = (e) => String(e.error.message).replace(/^\w*Error: /, '');

const pg = usePostgres();
before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, "CREATE TABLE readings (id int PRIMARY KEY, device text, value float8); INSERT INTO readings SELECT g, 'd' || (g % 3), g / 10.0 FROM generate_series(1, 2500) g");
});
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

function flow(query) {
  return [
    { id: 'tab1', type: 'tab', label: 'query tests' },
    { id: 'db1', type: 'greenplum-db', name: 'test db', host: pg.host, port: pg.port, database: pg.database, user: pg.user, poolSize: 3 },
    S.flowNode({ id: 'q1', type: 'greenplum-query', database: 'db1', output: 'all', query: 'SELECT 1 AS one', ...query, wires: [['out1']] }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['q1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
}

async function start(query, creds = { db1: { password: pg.password } }) {
  const f = flow(query);
  await S.helper.load([...NODES, CATCH], f, creds);
  return { f, creds, q: S.helper.getNode('q1'), out: S.collect(S.helper.getNode('out1')), errs: S.collect(S.helper.getNode('err1')) };
}

/** Sessions of the test database other than ours that are inside a transaction (an open cursor). */
async function openTransactions() {
  const r = await S.query(pg.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'");
  return r.rows[0].n;
}

function pool() {
  return S.helper.getNode('db1').getPool();
}

test('all rows in one message: rows, rowCount and command on the input message; positional msg.params', async () => {
  const { q, out, errs } = await start({ query: 'SELECT id, device FROM readings WHERE id <= $1 AND device = $2 ORDER BY id' });
  q.receive({ topic: 'keep me', params: [6, 'd1'] });
  const [m] = await out.wait(1);
  assert.deepEqual(m.payload, [{ id: 1, device: 'd1' }, { id: 4, device: 'd1' }]);
  assert.equal(m.rowCount, 2);
  assert.equal(m.command, 'SELECT');
  assert.equal(m.topic, 'keep me');
  assert.equal(errs.msgs.length, 0);
});

test('named msg.params: $name from an object, a name used twice, a ::cast, "$x" in a string left alone', async () => {
  const { q, out, errs } = await start({ query: "SELECT count(*)::int AS n, '$device' AS literal, $since::int AS since FROM readings WHERE device = $device AND id > $since AND device <> $device || 'x'" });
  q.receive({ params: { device: 'd2', since: 2490, unused: true } });
  const [m] = await out.wait(1);
  assert.deepEqual(errs.msgs.map((e) => e.error.message), []);
  assert.deepEqual(m.payload, [{ n: 3, literal: '$device', since: 2490 }]);
});

test('msg.query wins over the dialog SQL when the message carries it; an empty one is an error, not the dialog SQL', async () => {
  const { q, out, errs } = await start({ query: 'SELECT 1 AS dialog' });
  q.receive({ query: 'SELECT 2 AS message' });
  q.receive({});
  q.receive({ query: null });
  q.receive({ query: '  ' });
  await out.wait(3);
  await errs.wait(1);
  assert.deepEqual(out.msgs.map((m) => m.payload[0]), [{ message: 2 }, { dialog: 1 }, { dialog: 1 }]);
  assert.equal(text(errs.msgs[0]), 'greenplum-query: msg.query is empty');
});

test('DDL and DML: rowCount null for CREATE, counts for INSERT/UPDATE/DELETE, a script reports each statement', async () => {
  const { q, out, errs } = await start({ query: '' });
  q.receive({ query: 'CREATE TABLE made_here (id int, note text)' });
  q.receive({ query: 'INSERT INTO made_here SELECT g, $1 FROM generate_series(1, 3) g', params: ['x'] });
  q.receive({ query: 'UPDATE made_here SET note = $1 WHERE id >= $2', params: ['y', 2] });
  q.receive({ query: 'CREATE INDEX ON made_here (id); DELETE FROM made_here WHERE id = 1; SELECT note FROM made_here ORDER BY id' });
  await out.wait(4);
  assert.deepEqual(errs.msgs.map((e) => e.error.message), []);
  assert.deepEqual(out.msgs.slice(0, 3).map((m) => [m.command, m.rowCount, m.payload]), [['CREATE', null, []], ['INSERT', 3, []], ['UPDATE', 2, []]]);
  const script = out.msgs[3];
  assert.deepEqual(script.statements.map((s) => [s.command, s.rowCount]), [['CREATE', null], ['DELETE', 1], ['SELECT', 2]]);
  assert.deepEqual(script.payload, [{ note: 'y' }, { note: 'y' }]);
  assert.equal(script.rowCount, 2);
});

test('one message per row: a sequence with parts (count on each) nested over the input parts, complete on the last', async () => {
  const { q, out } = await start({ output: 'row', query: 'SELECT id FROM readings WHERE id <= 3 ORDER BY id' });
  q.receive({ topic: 't', parts: { id: 'outer', index: 4, count: 9 }, complete: true });
  await out.wait(3);
  await S.sleep(100);
  assert.equal(out.msgs.length, 3);
  assert.deepEqual(out.msgs.map((m) => m.payload.id), [1, 2, 3]);
  const ids = new Set(out.msgs.map((m) => m.parts.id));
  assert.equal(ids.size, 1);
  assert.deepEqual(out.msgs.map((m) => [m.parts.index, m.parts.count, m.complete]), [[0, 3, undefined], [1, 3, undefined], [2, 3, true]]);
  for (const m of out.msgs) {
    assert.deepEqual(m.parts.parts, { id: 'outer', index: 4, count: 9 });
    assert.equal(m.topic, 't');
    assert.equal(m.rowCount, 3);
  }
});

test('batches: the first at once, each next only on msg.tick; parts/complete and rowCount; the cursor closed after the last', async () => {
  const { q, out, errs } = await start({ output: 'batch', batchSize: 1000, query: 'SELECT id FROM readings ORDER BY id' });
  q.receive({ topic: 'batches' });
  await out.wait(1);
  await S.sleep(400);
  assert.equal(out.msgs.length, 1, 'no second batch without a tick');
  assert.equal(await openTransactions(), 1, 'the cursor is open while the flow works on a batch');
  q.receive({ tick: true });
  await out.wait(2);
  await S.sleep(300);
  assert.equal(out.msgs.length, 2, 'one batch per tick');
  q.receive({ tick: true });
  await out.wait(3);
  assert.deepEqual(errs.msgs.map((e) => e.error.message), []);
  assert.deepEqual(out.msgs.map((m) => [m.payload.length, m.payload[0].id, m.rowCount, m.parts.index, m.parts.count, m.complete]), [
    [1000, 1, 1000, 0, undefined, undefined],
    [1000, 1001, 2000, 1, undefined, undefined],
    [500, 2001, 2500, 2, 3, true],
  ]);
  assert.equal(new Set(out.msgs.map((m) => m.parts.id)).size, 1);
  assert.ok(out.msgs.every((m) => m.topic === 'batches'));
  await S.until(async () => (await openTransactions()) === 0, 5000);
  await S.until(() => pool().idleCount === pool().totalCount, 5000);
  // A stray tick afterwards is ignored; the next query runs as usual.
  q.receive({ tick: true });
  q.receive({ query: 'SELECT id FROM readings WHERE id = 7' });
  await out.wait(4);
  assert.deepEqual([out.msgs[3].payload, out.msgs[3].complete, out.msgs[3].parts.count], [[{ id: 7 }], true, 1]);
});

test('batches: an exact multiple ends on a full batch; an empty result is one empty last batch', async () => {
  const { q, out } = await start({ output: 'batch', batchSize: 1250, query: 'SELECT id FROM readings ORDER BY id' });
  q.receive({});
  await out.wait(1);
  q.receive({ tick: true });
  await out.wait(2);
  assert.deepEqual(out.msgs.map((m) => [m.payload.length, m.parts.count, m.complete]), [[1250, undefined, undefined], [1250, 2, true]]);
  q.receive({ query: 'SELECT id FROM readings WHERE id < 0' });
  await out.wait(3);
  assert.deepEqual([out.msgs[2].payload, out.msgs[2].parts.count, out.msgs[2].complete, out.msgs[2].rowCount], [[], 1, true, 0]);
});

test('batches: a redeploy mid-sequence closes the cursor and gives the connection back', async () => {
  const { f, creds, q, out } = await start({ output: 'batch', batchSize: 100, query: 'SELECT id FROM readings ORDER BY id' });
  q.receive({});
  await out.wait(1);
  assert.equal(await openTransactions(), 1);
  // Only the query node changes: the greenplum-db (and its pool) stays up.
  const db = S.helper.getNode('db1');
  await S.redeploy(f.map((n) => (n.id === 'q1' ? { ...n, name: 'renamed' } : n)), creds, 'nodes');
  assert.equal(S.helper.getNode('db1'), db, 'the config node was not restarted');
  await S.until(async () => (await openTransactions()) === 0, 5000);
  await S.until(() => pool().idleCount === pool().totalCount, 5000);
  assert.equal(out.msgs.length, 1, 'nothing more was sent, nothing claimed to be the last');
  assert.ok(!out.msgs.some((m) => m.complete));
  // The restarted node works on the same pool.
  const out2 = S.collect(S.helper.getNode('out1'));
  S.helper.getNode('q1').receive({ query: 'SELECT 42 AS answer' });
  const [m] = await out2.wait(1);
  assert.deepEqual(m.payload, [{ answer: 42 }]);
});

test('batches: a failure mid-result goes to Catch with the input message; no message claims to be the last; the cursor is closed', async () => {
  const { q, out, errs } = await start({ output: 'batch', batchSize: 1000, query: 'SELECT id, 1 / (1500 - id) AS boom FROM readings ORDER BY id' });
  q.receive({ topic: 'doomed' });
  const [e] = await errs.wait(1);
  assert.equal(e.error.cause.sqlState, '22012', JSON.stringify(e.error));
  assert.equal(e.topic, 'doomed');
  assert.ok(out.msgs.every((m) => !m.complete), 'no batch claims to be the last');
  await S.until(async () => (await openTransactions()) === 0, 5000);
});

test('a syntax error reaches Catch with SQLSTATE 42601 in cause, the line, and the input message', async () => {
  const { q, out, errs } = await start({ query: 'SELECT 1;\nSELEC 2' });
  q.receive({ topic: 'bad sql', payload: 'input' });
  const [e] = await errs.wait(1);
  assert.equal(out.msgs.length, 0);
  assert.match(text(e), /^greenplum-query: syntax error at or near "SELEC" \(SQLSTATE 42601, line 2\)$/);
  assert.equal(e.error.cause.sqlState, '42601');
  assert.equal(e.error.code, copiedCode('42601'));
  assert.equal(e.error.source.id, 'q1');
  assert.equal(e.topic, 'bad sql');
  assert.equal(e.payload, 'input');
});

test('bad msg.params and msg.query fail before anything is sent, with a clear error; the node goes on', async () => {
  const { q, out, errs } = await start({ query: 'SELECT $1::int AS v' });
  q.receive({ params: 'not an array' });
  q.receive({ params: [1, 2] });
  q.receive({ query: { sql: 'SELECT 1' } });
  q.receive({ query: 'SELECT $a', params: {} });
  q.receive({ params: [5] });
  await errs.wait(4);
  await out.wait(1);
  assert.deepEqual(errs.msgs.map(text), [
    'greenplum-query: msg.params must be an array (for $1, $2, …) or an object (for $name); got a string',
    'greenplum-query: msg.params has 2 values but the query uses only $1…$1',
    'greenplum-query: msg.query must be a string of SQL; got object',
    'greenplum-query: no value for $a in msg.params (it has no keys)',
  ]);
  assert.deepEqual(out.msgs[0].payload, [{ v: 5 }]);
});

test('bad settings: the node shows the error and fails every message naming the option; no database is named too', async () => {
  let { q, errs } = await start({ output: 'batch', batchSize: '12.5' });
  q.receive({ topic: 'a' });
  q.receive({ topic: 'b' });
  await errs.wait(2);
  for (const e of errs.msgs) assert.equal(text(e), 'rows per message must be a whole number, got "12.5"');
  assert.deepEqual(errs.msgs.map((e) => e.topic), ['a', 'b'], 'each message reaches Catch');
  const shown = S.statusCalls().filter((c) => c.id === 'q1').map((c) => c.status);
  assert.deepEqual(shown[shown.length - 1], { fill: 'red', shape: 'ring', text: 'rows per message must be a whole number…' });
  await S.helper.unload();
  ({ q, errs } = await start({ database: '' }));
  q.receive({});
  await errs.wait(1);
  assert.match(text(errs.msgs[0]), /no greenplum-db configured/);
});

test('a transaction left open by a script is rolled back and reported; the pool stays clean', async () => {
  const { q, out, errs } = await start({ query: '' });
  q.receive({ query: 'CREATE TABLE tx_left (a int)' });
  q.receive({ query: 'BEGIN; INSERT INTO tx_left VALUES (1)' });
  q.receive({ query: 'SELECT count(*)::int AS n FROM tx_left' });
  await errs.wait(1);
  await out.wait(2);
  assert.match(errs.msgs[0].error.message, /left a transaction open/);
  assert.deepEqual(out.msgs[1].payload, [{ n: 0 }]);
  assert.equal(await openTransactions(), 0);
});

test('a query running when the node is closed is cancelled, not left running on the server; the queued ones never start', async () => {
  await S.query(pg.url, 'CREATE TABLE after_close (a int)');
  const { f, creds, q } = await start({ query: 'SELECT pg_sleep(60)' });
  q.receive({});
  q.receive({ query: 'INSERT INTO after_close VALUES (1)' });
  await S.until(async () => (await S.query(pg.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'")).rows[0].n === 1, 10000);
  const t0 = Date.now();
  await S.redeploy(f.map((n) => (n.id === 'q1' ? { ...n, name: 'renamed' } : n)), creds, 'nodes');
  assert.ok(Date.now() - t0 < 10000, `the close did not wait for the statement (${Date.now() - t0} ms)`);
  await S.until(async () => (await S.query(pg.url, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'")).rows[0].n === 0, 5000);
  await S.sleep(300);
  assert.equal(await S.count(pg.url, 'after_close'), 0, 'the query queued behind the cancelled one did not run');
});

test('secrets: the password is in no output, Catch message or status, even when the login fails', async () => {
  // A login of its own with a password that appears nowhere else (the cluster's is "postgres",
  // which every result naming the user would contain).
  const password = 'Qx7-secret-9fK2';
  await S.query(pg.url, `CREATE ROLE q_secret LOGIN PASSWORD '${password}'; GRANT SELECT ON readings TO q_secret`);
  const seen = [];
  const login = (f) => f.map((n) => (n.id === 'db1' ? { ...n, user: 'q_secret' } : n));
  await S.helper.load([...NODES, CATCH], login(flow({ query: 'SELECT current_user AS u, count(*)::int AS n FROM readings' })), { db1: { password } });
  let out = S.collect(S.helper.getNode('out1'));
  let errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('q1').receive({ params: [] });
  S.helper.getNode('q1').receive({ query: 'SELECT nope' });
  await out.wait(1);
  await errs.wait(1);
  assert.deepEqual(out.msgs[0].payload, [{ u: 'q_secret', n: 2500 }]);
  seen.push(...out.msgs, ...errs.msgs);
  // Status calls and log lines are spied per loaded flow: take them before the unload.
  const statuses = S.statusCalls();
  const logs = S.helper.log().args.map((a) => JSON.stringify(a));
  assert.ok(statuses.some((c) => c.id === 'q1'), 'the status calls were recorded');
  await S.helper.unload();
  // A wrong password: nothing may echo the configured one.
  const wrong = `${password}-wrong`;
  await S.helper.load([...NODES, CATCH], login(flow({ query: 'SELECT 1' })), { db1: { password: wrong } });
  errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('q1').receive({});
  await errs.wait(1);
  seen.push(...errs.msgs);
  assert.match(text(errs.msgs[0]), /password authentication failed/);
  for (const m of seen) {
    const json = JSON.stringify(m);
    assert.ok(!json.includes(password), `password in ${json.slice(0, 300)}`);
  }
  statuses.push(...S.statusCalls());
  logs.push(...S.helper.log().args.map((a) => JSON.stringify(a)));
  assert.ok(!JSON.stringify(statuses).includes(password), 'password in a status');
  assert.ok(!logs.some((l) => l.includes(password)), 'password in a log line');
});
