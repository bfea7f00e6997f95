'use strict';
// oss-export / oss-import in external mode inside a real Node-RED runtime, against a real
// PostgreSQL whose catalog claims oss_ext (a pg_extension row in this file's own database),
// so the nodes take the external path and the Greenplum-only DDL really fails there: the
// CREATE's error reaches Catch without the key, and the DROP that fails in `finally` is
// warned (node warning, secrets removed) instead of swallowed.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const { Client } = require('pg');
const { usePostgres } = require('./support/pg');
const { useOssEmulator } = require('./support/oss');
const { useHelper, accountDef, dbDef, credentials, flowNode, outcome, TAB } = require('./support/oss-nodes');

const NODES = ['oss-account', 'greenplum-db', 'oss-export', 'oss-import'].map((n) => require(`../dist/nodes/${n}.js`));

const pg = usePostgres();
const oss = useOssEmulator({ buckets: ['ext-bucket'] });
const helper = useHelper();

async function sql(text) {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

// Created on first use: root-level before hooks may run before usePostgres has its database.
let ready = null;
async function setup() {
  await oss.ready;
  // Only the detection query looks at this row (SELECT … FROM pg_extension WHERE extname = 'oss_ext').
  await sql(`INSERT INTO pg_extension (oid, extname, extowner, extnamespace, extrelocatable, extversion)
             VALUES (987654, 'oss_ext', (SELECT oid FROM pg_roles WHERE rolname = current_user), 'public'::regnamespace, false, '1.0');
             CREATE TABLE src (id int, t text); INSERT INTO src VALUES (1, 'a'); CREATE TABLE dst (LIKE src)`);
  // An object for the import to find, so it gets as far as its CREATE.
  await oss.client().put('ext/in/part-0', Buffer.from('2,b\n'));
}

function flow(node) {
  return [
    { id: TAB, type: 'tab' },
    accountDef(oss),
    dbDef(pg),
    flowNode({ ...node, account: 'acct1', database: 'db1', mode: 'external', format: 'csv', wires: node.type === 'oss-import' ? [['out'], []] : [['out']] }),
    flowNode({ id: 'out', type: 'helper' }),
    flowNode({ id: 'caught', type: 'catch', scope: null, uncaught: false, wires: [['caughtOut']] }),
    flowNode({ id: 'caughtOut', type: 'helper' }),
  ];
}

async function runOnce(node) {
  if (!ready) ready = setup();
  await ready;
  await helper.load(NODES, flow(node), credentials(oss, pg));
  const o = outcome(helper.getNode('out'), helper.getNode('caughtOut'), 60000);
  helper.getNode(node.id).receive({ payload: 'go' });
  const result = await o;
  const logged = util.inspect(helper.log().args, { depth: 6 });
  const warnings = helper.log().args.map((a) => a[0]).filter((e) => e && e.level === 30 && e.id === node.id).map((e) => String(e.msg));
  return { result, logged, warnings };
}

for (const node of [
  { id: 'exp', type: 'oss-export', source: 'table', table: 'public.src', prefix: 'ext/out/', compression: 1 },
  { id: 'imp', type: 'oss-import', target: 'table', table: 'dst', prefix: 'ext/in/' },
]) {
  test(`${node.type} external mode: the CREATE's error reaches Catch without the key; the failed DROP is warned, not swallowed`, async () => {
    const { result, logged, warnings } = await runOnce(node);
    assert.ok(result.error, 'the external CREATE fails on PostgreSQL');
    const message = result.error.error.message;
    assert.match(message, /failed: syntax error at or near "(WRITABLE|READABLE)" \(42601\)$/);
    assert.equal(warnings.length, 1, `one DROP warning, got ${JSON.stringify(warnings)}`);
    assert.match(warnings[0], new RegExp(`^${node.type}: external table cleanup failed: DROP EXTERNAL TABLE IF EXISTS pg_temp\\."\\w+": syntax error at or near "EXTERNAL"`));
    for (const text of [JSON.stringify(result.error), logged]) {
      assert.ok(!text.includes(oss.accessKeySecret), 'the AccessKey secret is in no error, message or log');
      assert.ok(!/key=(?!XXX)/.test(text), 'no key= value');
    }
  });
}

test('the fake oss_ext row is what sends the nodes to external mode (control: without it, the usual explanation)', async () => {
  await sql(`DELETE FROM pg_extension WHERE extname = 'oss_ext'`);
  const { result, warnings } = await runOnce({ id: 'exp', type: 'oss-export', source: 'table', table: 'public.src', prefix: 'ext/out/' });
  assert.match(result.error.error.message, /needs the oss_ext extension/);
  assert.deepEqual(warnings, []);
});
