'use strict';
// The deploy-time probes as the OSS nodes show them: oss-account's bucket request and
// greenplum-db's SELECT combined on oss-export / oss-import before their first message (ready;
// unreachable with the reason — the OSS code and HTTP status, never the secret), against the
// emulator with the real ali-oss and a real PostgreSQL.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const { useOssEmulator } = require('./support/oss');
const { useHelper, accountDef, dbDef, credentials, flowNode } = require('./support/oss-nodes');

const NODES = ['oss-account', 'greenplum-db', 'oss-export', 'oss-import'].map((t) => require(`../dist/nodes/${t}.js`));

const pg = usePostgres();
const oss = useOssEmulator({ buckets: ['probe-bucket'] });
const helper = useHelper();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}
function statuses(id) {
  const node = helper.getNode(id);
  return node.status.getCalls().filter((c) => c.thisValue === node).map((c) => c.args[0]);
}

function flow() {
  return [
    { id: 'tab1', type: 'tab' },
    accountDef(oss),
    dbDef(pg),
    flowNode({ id: 'exp1', type: 'oss-export', account: 'acct1', source: 'messages', prefix: 'p/', format: 'csv' }),
    flowNode({ id: 'imp1', type: 'oss-import', account: 'acct1', database: 'db1', target: 'table', table: 't', prefix: 'p/' }),
  ];
}

test('oss-export and oss-import show ready (green dot) after the account and database probes, before any message', async () => {
  await until(() => pg.url, 60000);
  await helper.load(NODES, flow(), credentials(oss, pg));
  await until(() => statuses('exp1').some((s) => s.text === 'oss-export.status.ready'));
  await until(() => statuses('imp1').some((s) => s.text === 'oss-import.status.ready'));
  const ready = statuses('imp1').find((s) => s.text === 'oss-import.status.ready');
  assert.deepEqual({ fill: ready.fill, shape: ready.shape }, { fill: 'green', shape: 'dot' });
  assert.equal(helper.getNode('acct1').probe.result.state, 'ready');
  assert.ok(oss.emu.requests().some((r) => r.operation === 'ListObjectsV2' && r.status === 200), 'the probe made a bucket request');
});

test('a wrong secret: both nodes show unreachable with the OSS code and status, never the secret', async () => {
  await until(() => pg.url, 60000);
  const secret = 'wrong-secret-probe-42';
  await helper.load(NODES, flow(), credentials(oss, pg, { acct1: { accessKeyId: oss.accessKeyId, accessKeySecret: secret } }));
  await until(() => statuses('exp1').some((s) => /^unreachable: /.test(s.text)));
  await until(() => statuses('imp1').some((s) => /^unreachable: /.test(s.text)));
  const bad = statuses('exp1').find((s) => /^unreachable: /.test(s.text));
  assert.deepEqual({ fill: bad.fill, shape: bad.shape }, { fill: 'red', shape: 'ring' });
  const reason = helper.getNode('acct1').probe.result.reason;
  assert.match(reason, /403|Signature/i);
  for (const id of ['exp1', 'imp1']) assert.ok(!JSON.stringify(statuses(id)).includes(secret), `secret in ${id}'s status`);
  assert.ok(!reason.includes(secret));
});

test('a database that refuses the login: oss-import (table target) shows unreachable, oss-export from messages stays ready', async () => {
  await until(() => pg.url, 60000);
  await helper.load(NODES, flow(), credentials(oss, pg, { db1: { password: 'not-the-password' } }));
  await until(() => statuses('imp1').some((s) => /^unreachable: .*(password|authentication)/i.test(s.text)));
  await until(() => statuses('exp1').some((s) => s.text === 'oss-export.status.ready'));
});
