'use strict';
// What reaches a Catch node from the gpss nodes: Node-RED copies an Error's own `code` and
// `cause` into msg.error; ours carry the gRPC status and the SQLSTATE there (real gpss-pg over
// loopback, real PostgreSQL, real Node-RED runtime).
const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const S = require('./support/gpss-nodes');
// Node-RED 4.1 and later copy an Error's own `code` into msg.error; 4.0 copies only `cause`
// (besides message, source and stack: @node-red/runtime 4.0.9 lib/flows/Flow.js handleError),
// so on 4.0 the details reach Catch through `cause` alone.
const { nodeRedVersion } = require('./support/node-red-runtime');
const COPIES_CODE = !/^4\.0\./.test(nodeRedVersion);
/** msg.error.code as this Node-RED copies it: the error's code from 4.1 on, absent on 4.0. */
const copiedCode = (code) => (COPIES_CODE ? code : undefined);

const pg = usePostgres();
let server;
before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE det (id int4 PRIMARY KEY, name text)');
  server = await S.startServer(pg);
});
after(async () => {
  if (server) await server.stop();
});
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

test('a constraint violation reaches Catch with code, and cause { sqlState, grpcStatus } without the password', async () => {
  const flow = [
    ...S.configNodes(pg, { gpssPort: server.port }),
    S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'det', tableType: 'str', mode: 'insert', commitRows: 1, commitInterval: 100, maxRetries: 0, wires: [['out1']] }),
    S.flowNode({ id: 'out1', type: 'helper' }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
  await S.helper.load(S.NODES, flow, S.credentials(pg.password));
  const out = S.collect(S.helper.getNode('out1'));
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('w1').receive({ payload: { id: 1, name: 'a' } });
  await out.wait(1);
  S.helper.getNode('w1').receive({ payload: { id: 1, name: 'dup' } });
  const [m] = await errs.wait(1);
  assert.match(m.error.message, /23505|duplicate key/);
  assert.ok(m.error.cause, `no cause in ${JSON.stringify(m.error)}`);
  assert.equal(m.error.cause.sqlState, '23505', JSON.stringify({ ...m.error, stack: undefined }));
  assert.equal(typeof m.error.cause.grpcStatus, 'string');
  assert.equal(m.error.code, copiedCode('COMMIT_FAILED'));
  assert.equal(typeof m.error.cause.grpcCode, 'number');
  assert.ok(!JSON.stringify(m.error).includes(pg.password));
});

test('an unreachable server reaches Catch with cause.grpcStatus UNAVAILABLE', async () => {
  const gone = await S.startServer(pg);
  const port = gone.port;
  await gone.stop();
  const flow = [
    ...S.configNodes(pg, { gpssPort: port, rpcTimeout: 3 }),
    S.flowNode({ id: 'c1', type: 'gpss-connect', server: 'gs1', table: 'det', wires: [[]] }),
    S.flowNode({ id: 'catch1', type: 'catch', scope: ['c1'], uncaught: false, wires: [['err1']] }),
    S.flowNode({ id: 'err1', type: 'helper' }),
  ];
  await S.helper.load(S.NODES, flow, S.credentials(pg.password));
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('c1').receive({ payload: null });
  const [m] = await errs.wait(1, 30000);
  assert.equal(m.error.cause.grpcStatus, 'UNAVAILABLE', JSON.stringify(m.error));
  assert.equal(m.error.code, copiedCode(14));
});
