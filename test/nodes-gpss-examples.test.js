'use strict';
// The shipped gpss example flows run as imported: core nodes plus ours, the config nodes
// pointed at the test database (as `npm start` does), embedded gpss-pg.
const { test, before, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { usePostgres } = require('./support/pg');
const S = require('./support/gpss-nodes');

const { coreNode } = require('./support/node-red-runtime');
const CORE_NODES = [
  'common/20-inject.js', 'common/21-debug.js', 'common/90-comment.js', 'function/10-function.js', 'sequence/17-split.js',
].map(coreNode);

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

function example(name) {
  const flow = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'examples', 'gpss', `${name}.json`), 'utf8'));
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
