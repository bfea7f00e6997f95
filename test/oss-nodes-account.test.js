'use strict';
// oss-account in a real Node-RED runtime against the OSS emulator with the real ali-oss:
// V1 and V4 clients, the test-connection admin endpoint (typed and stored secrets), a bad
// secret giving a clear 403 without the secret, and close releasing its sockets.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useOssEmulator } = require('./support/oss');
const { useHelper, accountDef, credentials } = require('./support/oss-nodes');

const accountNode = require('../dist/nodes/oss-account.js');

const oss = useOssEmulator({ buckets: ['acct-bucket'] });
const helper = useHelper();

test('the shared client works with V4 and V1 signatures against the emulator', async () => {
  await oss.client().put('acct/a.csv', Buffer.from('1,2\n'));
  for (const signature of ['v4', 'v1']) {
    await helper.load(accountNode, [accountDef(oss, { signature })], credentials(oss));
    const acct = helper.getNode('acct1');
    const listed = await acct.client().listV2({ prefix: 'acct/' });
    assert.deepEqual(listed.objects.map((o) => o.name), ['acct/a.csv'], signature);
    const got = await acct.newClient().get('acct/a.csv');
    assert.equal(got.content.toString(), '1,2\n');
    assert.equal(acct.describe(), `oss://acct-bucket @ ${oss.endpoint}`);
    assert.deepEqual(acct.location(), { endpoint: '127.0.0.1', bucket: 'acct-bucket', accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret });
    assert.deepEqual(acct.secrets(), [oss.accessKeySecret]);
    await helper.unload();
  }
});

test('test-connection endpoint: typed secret, stored secret, and a wrong secret (403, no secret echoed)', async () => {
  await oss.client().put('tc/dir1/x.csv', Buffer.from('x\n'));
  await oss.client().put('tc/top.csv', Buffer.from('y\n'));
  await helper.load(accountNode, [accountDef(oss)], credentials(oss));
  const dialog = { id: 'acct1', endpoint: oss.endpoint, region: 'oss-cn-hangzhou', bucket: 'acct-bucket', secure: false, timeout: 10000, signature: 'v4', prefix: 'tc/' };

  const typed = await helper.request().post('/oss-account/test').send({ ...dialog, accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret }).expect(200);
  assert.equal(typed.body.ok, true, JSON.stringify(typed.body));
  assert.deepEqual(typed.body.prefixes, ['tc/dir1/']);
  assert.deepEqual(typed.body.objects.map((o) => o.name), ['tc/top.csv']);

  // The editor sends '__PWRD__' for an unchanged password: the stored one is used.
  const stored = await helper.request().post('/oss-account/test').send({ ...dialog, accessKeyId: '', accessKeySecret: '__PWRD__' }).expect(200);
  assert.equal(stored.body.ok, true, JSON.stringify(stored.body));

  const wrongSecret = 'wrong-secret-value-123';
  const bad = await helper.request().post('/oss-account/test').send({ ...dialog, accessKeyId: oss.accessKeyId, accessKeySecret: wrongSecret }).expect(200);
  assert.equal(bad.body.ok, false);
  assert.equal(bad.body.status, 403);
  assert.match(bad.body.error, /signature/i);
  assert.ok(!JSON.stringify(bad.body).includes(wrongSecret), 'the secret must not come back');

  // The flow nodes' browse button: every setting from the deployed account.
  const deployed = await helper.request().post('/oss-account/test').send({ id: 'acct1', useDeployed: true, prefix: 'tc/dir1/' }).expect(200);
  assert.equal(deployed.body.ok, true, JSON.stringify(deployed.body));
  assert.deepEqual(deployed.body.objects.map((o) => o.name), ['tc/dir1/x.csv']);
  const notDeployed = await helper.request().post('/oss-account/test').send({ id: 'nope', useDeployed: true }).expect(200);
  assert.equal(notDeployed.body.ok, false);
  assert.match(notDeployed.body.error, /deploy the oss-account first/);

  const noBucket = await helper.request().post('/oss-account/test').send({ ...dialog, bucket: '' }).expect(200);
  assert.equal(noBucket.body.ok, false);
  assert.match(noBucket.body.error, /bucket is required/);
});

test('an incomplete account fails with an error naming the field; close completes', async () => {
  await helper.load(accountNode, [accountDef(oss)], { acct1: { accessKeyId: oss.accessKeyId } });
  const acct = helper.getNode('acct1');
  assert.throws(() => acct.client(), (e) => e.field === 'accessKeySecret' && /AccessKey secret is missing/.test(e.message));
  const t0 = Date.now();
  await helper.unload();
  assert.ok(Date.now() - t0 < 5000, 'close without users must not wait for the deadline');
});
