'use strict';
// The shipped example flows: every one loads as shipped (placeholder connections, no
// credentials) into a plain Node-RED runtime with nothing but core nodes and ours, with a
// comment saying what to fill in; the gpss ones run as imported with the config nodes pointed
// at the test database (as `npm start` does), embedded gpss-pg.
const { test, before, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { usePostgres } = require('./support/pg');
const S = require('./support/gpss-nodes');

const { coreNode } = require('./support/node-red-runtime');
const CORE_NODES = [
  'common/20-inject.js', 'common/21-debug.js', 'common/24-complete.js', 'common/25-catch.js', 'common/90-comment.js', 'function/10-function.js',
  'function/15-change.js', 'sequence/17-split.js', 'network/10-mqtt.js',
].map(coreNode);

const OSS_NODES = ['oss-account', 'oss-export', 'oss-import'].map((t) => require(`../dist/nodes/${t}.js`));
const QUERY_NODE = require('../dist/nodes/greenplum-query.js');
const CONFIG_TYPES = ['greenplum-db', 'gpss-server', 'oss-account'];
const EXAMPLES = path.join(__dirname, '..', 'examples');
const exampleFiles = () =>
  fs.readdirSync(EXAMPLES).flatMap((d) => fs.readdirSync(path.join(EXAMPLES, d)).filter((f) => f.endsWith('.json')).map((f) => `${d}/${f}`));

const pg = usePostgres();
before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, `CREATE TABLE public.sensor_readings (device_id text NOT NULL, ts timestamp NOT NULL,
    temperature double precision, humidity double precision)`);
});
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

test('every example loads as shipped into a plain Node-RED and says in a comment which config node needs what', async () => {
  const files = exampleFiles();
  assert.ok(files.length >= 6, `examples: ${files}`);
  for (const file of files) {
    const flow = JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8'));
    await S.helper.load([...S.NODES, ...OSS_NODES, QUERY_NODE, ...CORE_NODES], flow);
    try {
      for (const n of flow) if (n.type !== 'tab') assert.ok(S.helper.getNode(n.id), `${file}: ${n.type} ${n.id} was not created`);
    } finally {
      await S.helper.unload();
    }
    const comments = flow.filter((n) => n.type === 'comment').map((n) => `${n.name}\n${n.info || ''}`).join('\n');
    const configs = flow.filter((n) => CONFIG_TYPES.includes(n.type));
    assert.ok(configs.length > 0, `${file}: no config node`);
    for (const c of configs) {
      assert.ok(comments.includes(`\`${c.type}\` config node **${c.name}**`), `${file}: no comment names the ${c.type} config node "${c.name}"`);
      assert.ok(!c.credentials, `${file}: ${c.type} carries credentials`);
    }
    const db = configs.find((c) => c.type === 'greenplum-db');
    if (db) {
      assert.equal(db.host, 'localhost', `${file}: the database host is a placeholder`);
      assert.match(comments, /host, port, database, user and password/);
    }
    const acct = configs.find((c) => c.type === 'oss-account');
    if (acct) {
      assert.equal(acct.endpoint, '', `${file}: no emulator endpoint in a shipped example`);
      assert.match(comments, /bucket, its region \(or an endpoint\) and an AccessKey ID and secret/);
    }
    // "the <core type> node" in a comment names a node the flow has ("a join node could…" need not).
    for (const [word, type] of [['change', 'change'], ['switch', 'switch'], ['template', 'template'], ['delay', 'delay'], ['join', 'join'], ['split', 'split'], ['function', 'function'], ['inject', 'inject'], ['catch', 'catch']]) {
      if (new RegExp(`\\bthe ${word} nodes?\\b`, 'i').test(comments)) assert.ok(flow.some((n) => n.type === type), `${file}: a comment mentions a ${word} node the flow does not have`);
    }
  }
});

function example(name, folder = 'gpss') {
  const flow = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'examples', folder, `${name}.json`), 'utf8'));
  const creds = {};
  for (const n of flow) {
    if (n.type === 'greenplum-db') {
      Object.assign(n, { host: pg.host, port: pg.port, database: pg.database, user: pg.user });
      creds[n.id] = { password: pg.password };
    }
  }
  return { flow, creds, byName: (name) => flow.find((n) => n.name === name) };
}

test('example etl-batch: 10 × 1,000 rows commit at the close; "load and abort" leaves the table unchanged', async () => {
  await S.query(pg.url, 'TRUNCATE sensor_readings');
  const ex = example('etl-batch');
  await S.helper.load([...S.NODES, ...CORE_NODES], ex.flow, ex.creds);
  const stats = S.collect(S.helper.getNode(ex.byName('transfer stats').id));
  const errors = S.collect(S.helper.getNode(ex.byName('error').id));
  S.helper.getNode(ex.byName('load 10,000 rows').id).receive({});
  await S.until(() => stats.msgs.length + errors.msgs.length >= 1, 30000);
  assert.deepEqual(errors.msgs.map((m) => m.error.message), []);
  assert.deepEqual(stats.msgs[0].payload, { successCount: 10000, errorCount: 0, errorRows: [] });
  assert.equal(await S.count(pg.url, 'sensor_readings'), 10000);
  S.helper.getNode(ex.byName('load and abort').id).receive({});
  await stats.wait(2, 30000);
  assert.equal(stats.msgs[1].payload.successCount, 0);
  assert.equal(await S.count(pg.url, 'sensor_readings'), 10000, 'the aborted job left nothing');
});

test('example stream-ingest: the repeating inject streams readings that commit and pass gpss-write', async () => {
  await S.query(pg.url, 'TRUNCATE sensor_readings');
  const ex = example('stream-ingest');
  await S.helper.load([...S.NODES, ...CORE_NODES], ex.flow, ex.creds);
  const committed = S.collect(S.helper.getNode(ex.byName('committed').id));
  const errors = S.collect(S.helper.getNode(ex.byName('error + rows').id));
  await committed.wait(2, 30000); // the inject fires once after 1 s, then every second
  assert.deepEqual(errors.msgs.map((m) => m.error.message), []);
  assert.equal(committed.msgs[0].payload.length, 100);
  assert.ok((await S.count(pg.url, 'sensor_readings')) >= 200);
});

test('example query/ddl-params-batches: the script creates the table, named parameters insert 1,000 rows, the tick loop reads them back in 4 batches joined into one array', async () => {
  const ex = example('ddl-params-batches', 'query');
  await S.helper.load([...S.NODES, QUERY_NODE, ...CORE_NODES], ex.flow, ex.creds);
  const counts = S.collect(S.helper.getNode(ex.byName('command and count').id));
  const rows = S.collect(S.helper.getNode(ex.byName('rows read').id));
  const errors = S.collect(S.helper.getNode(ex.byName('error').id));
  S.helper.getNode(ex.byName('create table').id).receive({});
  await counts.wait(1, 30000);
  assert.deepEqual(counts.msgs[0].statements.map((s) => s.command), ['CREATE', 'CREATE']);
  S.helper.getNode(ex.byName('insert 1,000 rows').id).receive({});
  await counts.wait(2, 30000);
  assert.deepEqual([counts.msgs[1].command, counts.msgs[1].rowCount], ['INSERT', 1000]);
  S.helper.getNode(ex.byName('read in batches').id).receive({});
  const [joined] = await rows.wait(1, 30000);
  assert.deepEqual(errors.msgs.map((m) => m.error.message), []);
  assert.equal(joined.payload.length, 1000, 'the join node put the 4 batches of 250 back together');
  assert.deepEqual(joined.payload.map((r) => Number(r.id)), Array.from({ length: 1000 }, (_, i) => i + 1));
  assert.equal(joined.parts, undefined, 'the sequence is closed');
  await S.sleep(300);
  assert.equal(rows.msgs.length, 1);
});

test("the README's minimal flow, pasted as is and given a database, commits rows and counts them", async () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A minimal flow'));
  const flow = JSON.parse(section.match(/```json\n([\s\S]*?)\n```/)[1]);
  await S.query(pg.url, 'TRUNCATE sensor_readings');
  const db = flow.find((n) => n.type === 'greenplum-db');
  assert.equal(db.host, 'localhost', 'the README shows a placeholder');
  Object.assign(db, { host: pg.host, port: pg.port, database: pg.database, user: pg.user });
  // Pasted into the editor, the flow nodes land on the open tab.
  flow.unshift({ id: 'readme-tab', type: 'tab', label: 'README' });
  for (const n of flow) if (typeof n.x === 'number') n.z = 'readme-tab';
  await S.helper.load([...S.NODES, ...CORE_NODES], flow, { [db.id]: { password: pg.password } });
  const committed = S.collect(S.helper.getNode(flow.find((n) => n.name === 'committed').id));
  const errors = S.collect(S.helper.getNode(flow.find((n) => n.type === 'debug' && n.name === 'error').id));
  await committed.wait(2, 30000); // the inject fires after 1 s, then every second
  assert.deepEqual(errors.msgs.map((m) => m.error.message), []);
  assert.equal(committed.msgs[0].payload.device_id, 'sensor-1');
  assert.ok((await S.count(pg.url, 'sensor_readings')) >= 2);
});
