'use strict';
// Helpers for the OSS node tests: node-red-node-test-helper set up once per file, flows with
// an oss-account (pointing at the emulator) and a greenplum-db (pointing at the test
// database), and small promise helpers for helper/catch nodes.
const helper = require('node-red-node-test-helper');
const { beforeEach, afterEach } = require('node:test');

const runtime = require('./node-red-runtime');

helper.init(runtime.nodeRedMain);

const TAB = 'tab1';

/** Registers beforeEach/afterEach hooks that start/stop the helper's server. */
function useHelper() {
  beforeEach(async () => {
    await new Promise((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((resolve) => helper.stopServer(resolve));
  });
  return helper;
}

function accountDef(oss, extra = {}) {
  return {
    id: 'acct1',
    type: 'oss-account',
    name: 'emulator',
    endpoint: oss.endpoint,
    region: 'oss-cn-hangzhou',
    bucket: oss.bucket,
    secure: false,
    timeout: 20000,
    signature: 'v4',
    maxSockets: 8,
    ...extra,
  };
}

function dbDef(pg, extra = {}) {
  return { id: 'db1', type: 'greenplum-db', name: 'test db', host: pg.host, port: pg.port, database: pg.database, user: pg.user, tls: false, poolSize: 4, ...extra };
}

function credentials(oss, pg, over = {}) {
  const c = { acct1: { accessKeyId: oss.accessKeyId, accessKeySecret: oss.accessKeySecret } };
  if (pg) c.db1 = { password: pg.password };
  return { ...c, ...over };
}

/** A flow node with tab, x/y and the given wires. */
function flowNode(def) {
  return { z: TAB, x: 100, y: 100, wires: [[]], ...def };
}

/** Resolves with the next `count` messages received by a helper node. */
function collect(node, count, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${count} message(s) on ${node.id}; got ${got.length}`)), timeoutMs);
    node.on('input', (msg) => {
      got.push(msg);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/** Resolves with the first message on either node: { ok: msg } or { error: msg }. */
function outcome(okNode, catchNode, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for an output or a Catch')), timeoutMs);
    okNode.on('input', (msg) => {
      clearTimeout(timer);
      resolve({ ok: msg });
    });
    catchNode.on('input', (msg) => {
      clearTimeout(timer);
      resolve({ error: msg });
    });
  });
}

module.exports = { helper, useHelper, accountDef, dbDef, credentials, flowNode, collect, outcome, TAB };
