'use strict';
// The gpss-server config node in remote mode against a gpss-pg that requires client
// certificates (mutual TLS): the client certificate and key from its credentials get a row
// written; without them, or with only half of the pair, the message fails to Catch and nothing
// is written. Real Node-RED runtime, real gpss-pg over TLS on loopback, real PostgreSQL.
const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { usePostgres } = require('./support/pg');
const { makePki } = require('./support/gpss-client-tls');
const S = require('./support/gpss-nodes');
const { startGpssServer } = require('../dist/gpss-server');

const pg = usePostgres();
let pki;
let server;

before(async () => {
  await S.until(() => pg.url, 60000);
  await S.query(pg.url, 'CREATE TABLE mtls (id int4, name text)');
  pki = makePki();
  server = await startGpssServer({
    listen: '127.0.0.1:0',
    databaseUrl: pg.url,
    allowHosts: [`${pg.host}:${pg.port}`],
    tls: { cert: pki.cert, key: pki.key, clientCa: pki.ca },
  });
});
after(async () => {
  if (server) await server.stop();
});
beforeEach(() => S.startNodeRed());
afterEach(async () => {
  await S.helper.unload();
  await S.stopNodeRed();
});

const flow = () => [
  ...S.configNodes(pg, { gpssPort: server.port, tls: true, rpcTimeout: 5 }),
  S.flowNode({ id: 'w1', type: 'gpss-write', server: 'gs1', writeMode: 'stream', table: 'mtls', commitRows: 1, maxRetries: 0, wires: [['out1']] }),
  S.flowNode({ id: 'out1', type: 'helper' }),
  S.flowNode({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['err1']] }),
  S.flowNode({ id: 'err1', type: 'helper' }),
];

test('remote mTLS: the client certificate and key from the credentials are presented; the flow holds neither', async () => {
  await S.helper.load(S.NODES, flow(), { db1: { password: pg.password }, gs1: { tlsCa: pki.ca.toString(), tlsCert: pki.cert.toString(), tlsKey: pki.key.toString() } });
  const out = S.collect(S.helper.getNode('out1'));
  S.helper.getNode('w1').receive({ payload: { id: 1, name: 'mutual' } });
  await out.wait(1, 20000);
  const r = await S.query(pg.url, 'SELECT name FROM mtls WHERE id = 1');
  assert.equal(r.rows[0].name, 'mutual');
  const def = S.helper._redNodes.getFlows().flows.find((n) => n.id === 'gs1');
  for (const k of ['tlsCert', 'tlsKey']) assert.equal(def[k], undefined, `${k} as a flow property`);
});

test('remote mTLS: without a client certificate the server refuses the channel; nothing is written', async () => {
  await S.helper.load(S.NODES, flow(), { db1: { password: pg.password }, gs1: { tlsCa: pki.ca.toString() } });
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('w1').receive({ payload: { id: 2, name: 'no cert' } });
  const [e] = await errs.wait(1, 30000);
  assert.match(e.error.message, /GPSS|UNAVAILABLE|certificate|TLS|SSL/i);
  assert.equal(await S.count(pg.url, 'mtls WHERE id = 2'), 0);
});

test('remote mTLS: a client certificate without its key is a clear error naming the pair; the key never shows', async () => {
  await S.helper.load(S.NODES, flow(), { db1: { password: pg.password }, gs1: { tlsCa: pki.ca.toString(), tlsCert: pki.cert.toString() } });
  const errs = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('w1').receive({ payload: { id: 3, name: 'half' } });
  const [e] = await errs.wait(1, 30000);
  assert.match(e.error.message, /client certificate and client key go together/);
  assert.equal(await S.count(pg.url, 'mtls WHERE id = 3'), 0);
  await S.helper.unload();
  // The other half alone: same error, and the key's text is not in it.
  await S.helper.load(S.NODES, flow(), { db1: { password: pg.password }, gs1: { tlsCa: pki.ca.toString(), tlsKey: pki.key.toString() } });
  const errs2 = S.collect(S.helper.getNode('err1'));
  S.helper.getNode('w1').receive({ payload: { id: 4, name: 'half' } });
  const [e2] = await errs2.wait(1, 30000);
  assert.match(e2.error.message, /go together/);
  assert.ok(!e2.error.message.includes('PRIVATE KEY'));
});
