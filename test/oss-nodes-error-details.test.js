'use strict';
// What reaches a Catch node from the OSS nodes: Node-RED copies an Error's own `code` and `cause`
// into msg.error; ours carry the OSS code as `code` and HTTP status, OSS request id and SQLSTATE
// in `cause` (real ali-oss against the emulator, real PostgreSQL, real Node-RED runtime).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const { useOssEmulator } = require('./support/oss');
const { useHelper, accountDef, dbDef, credentials, flowNode, outcome } = require('./support/oss-nodes');

const NODES = ['oss-account', 'greenplum-db', 'oss-export', 'oss-import'].map((t) => require(`../dist/nodes/${t}.js`));
// Node-RED 4.1 and later copy an Error's own `code` into msg.error; 4.0 copies only `cause`
// (besides message, source and stack: @node-red/runtime 4.0.9 lib/flows/Flow.js handleError),
// so on 4.0 the details reach Catch through `cause` alone.
const { nodeRedVersion } = require('./support/node-red-runtime');
const COPIES_CODE = !/^4\.0\./.test(nodeRedVersion);
/** msg.error.code as this Node-RED copies it: the error's code from 4.1 on, absent on 4.0. */
const copiedCode = (code) => (COPIES_CODE ? code : undefined);

const pg = usePostgres();
const oss = useOssEmulator({ buckets: ['det-bucket'] });
const helper = useHelper();

const until = async (fn, ms = 60000) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

function flow(node) {
  return [
    { id: 'tab1', type: 'tab' },
    accountDef(oss),
    dbDef(pg),
    flowNode({ ...node, wires: [['out1'], []] }),
    flowNode({ id: 'out1', type: 'helper' }),
    flowNode({ id: 'catch1', type: 'catch', scope: [node.id], uncaught: false, wires: [['err1']] }),
    flowNode({ id: 'err1', type: 'helper' }),
  ];
}

test('a wrong OSS secret: msg.error.code is the OSS code, cause has status 403 and the request id, never the secret', async () => {
  await until(() => pg.url);
  const secret = 'wrong-secret-details-9';
  await helper.load(NODES, flow({ id: 'imp1', type: 'oss-import', account: 'acct1', target: 'messages', prefix: 'det/', format: 'csv' }), credentials(oss, pg, { acct1: { accessKeyId: oss.accessKeyId, accessKeySecret: secret } }));
  const done = outcome(helper.getNode('out1'), helper.getNode('err1'));
  helper.getNode('imp1').receive({ payload: null });
  const r = await done;
  assert.ok(r.error, `expected a Catch, got ${JSON.stringify(r.ok && r.ok.payload)}`);
  const e = r.error.error;
  if (COPIES_CODE) assert.match(String(e.code), /SignatureDoesNotMatch/, JSON.stringify(e));
  else assert.equal(e.code, undefined);
  assert.equal(e.cause.status, 403, JSON.stringify(e.cause));
  assert.equal(typeof e.cause.requestId, 'string');
  assert.ok(e.cause.requestId.length > 0);
  assert.equal(e.cause.ossCode, 'SignatureDoesNotMatch');
  assert.ok(!JSON.stringify(e).includes(secret));
});

test('a COPY the database refuses: msg.error.code and cause.sqlState are the SQLSTATE (22P02)', async () => {
  await until(() => pg.url);
  const { Client } = require('pg');
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  await c.query('CREATE TABLE det_num (id int4)');
  await c.end();
  await oss.client().put('det/in/a.csv', Buffer.from('not-a-number\n'));
  await helper.load(NODES, flow({ id: 'imp1', type: 'oss-import', account: 'acct1', database: 'db1', target: 'table', table: 'det_num', prefix: 'det/in/', mode: 'client', format: 'csv' }), credentials(oss, pg));
  const done = outcome(helper.getNode('out1'), helper.getNode('err1'));
  helper.getNode('imp1').receive({ payload: null });
  const r = await done;
  assert.ok(r.error, 'expected a Catch');
  const e = r.error.error;
  assert.equal(e.code, copiedCode('22P02'), JSON.stringify(e));
  assert.equal(e.cause.sqlState, '22P02', JSON.stringify(e.cause));
  assert.ok(!JSON.stringify(e).includes(pg.password));
});
