'use strict';
// Helpers for the gpss node tests: the Node-RED test runtime with our five node modules, flow
// builders, waiting for messages at helper/catch/complete nodes, and the real gpss-pg server.
const helper = require('node-red-node-test-helper');
const { Client } = require('pg');

const runtime = require('./node-red-runtime');

helper.init(runtime.nodeRedMain);

const NODES = ['greenplum-db', 'gpss-server', 'gpss-connect', 'gpss-write', 'gpss-close'].map((t) => require(`../../dist/nodes/${t}.js`));
const { startGpssServer } = require('../../dist/gpss-server');

function startNodeRed() {
  return new Promise((resolve, reject) => helper.startServer((err) => (err ? reject(err) : resolve())));
}
function stopNodeRed() {
  return new Promise((resolve) => helper.stopServer(() => resolve()));
}

/** Config nodes: greenplum-db `db1` and gpss-server `gs1` (remote when gpssPort is given). */
function configNodes(pg, { gpssPort, user, ...gs } = {}) {
  return [
    { id: 'tab1', type: 'tab', label: 'gpss tests' },
    { id: 'db1', type: 'greenplum-db', host: pg.host, port: pg.port, database: pg.database, user: user || pg.user, poolSize: 2 },
    {
      id: 'gs1',
      type: 'gpss-server',
      mode: gpssPort ? 'remote' : 'embedded',
      host: '127.0.0.1',
      port: gpssPort || 0,
      db: 'db1',
      rpcTimeout: 20,
      closeTimeout: 12,
      ...gs,
    },
  ];
}

function credentials(password) {
  return { db1: { password } };
}

let nextY = 100;
/** A flow node on tab1 (x/y so that it is not parsed as a config node). */
function flowNode(props) {
  nextY += 40;
  return { z: 'tab1', x: 200, y: nextY, wires: [[]], ...props };
}

/** Collects messages arriving at a node ('input' events). */
function collect(node) {
  const msgs = [];
  const waiters = [];
  node.on('input', (msg) => {
    msgs.push(msg);
    for (const w of waiters.slice()) if (msgs.length >= w.n) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(msgs);
    }
  });
  return {
    msgs,
    /** Resolves when at least n messages arrived; rejects after timeoutMs. */
    wait(n, timeoutMs = 20000) {
      if (msgs.length >= n) return Promise.resolve(msgs);
      return new Promise((resolve, reject) => {
        const w = { n, resolve: (v) => (clearTimeout(t), resolve(v)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out waiting for ${n} messages at ${node.id} (got ${msgs.length})`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}

/** Sends msg into node `id` and waits for the first message at collector c beyond `before`. */
async function roundTrip(node, msg, c, timeoutMs) {
  const before = c.msgs.length;
  node.receive(msg);
  const all = await c.wait(before + 1, timeoutMs);
  return all[before];
}

async function query(url, sql, params) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

async function count(url, table) {
  const r = await query(url, `SELECT count(*)::int AS n FROM ${table}`);
  return r.rows[0].n;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, timeoutMs = 20000, stepMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(stepMs);
  }
}

/**
 * A gpss-pg on loopback for remote mode. `options` go to startGpssServer, e.g.
 * `{ errorCodes: 'unknown' }` to answer every error as UNKNOWN with its text, like a real GPSS.
 */
function startServer(pg, port = 0, options = {}) {
  return startGpssServer({ listen: `127.0.0.1:${port}`, databaseUrl: pg.url, allowHosts: [`${pg.host}:${pg.port}`], ...options });
}

/** The two styles of status codes the nodes must behave the same under (gpss-pg's, a real GPSS's). */
const STATUS_VARIANTS = [
  { name: 'specific status codes (gpss-pg)', options: {} },
  { name: 'every error UNKNOWN with its text (like GPSS)', options: { errorCodes: 'unknown' } },
];

/** Redeploy like the editor ('full', 'flows' or 'nodes'); waits for the new flows to be running. */
async function redeploy(flow, creds, type = 'full') {
  const started = new Promise((resolve) => {
    const h = () => {
      helper._events.off('flows:started', h);
      resolve();
    };
    helper._events.on('flows:started', h);
  });
  await helper._redNodes.setFlows(flow, creds || {}, type);
  await started;
}

/** Every node.status() call so far (all nodes): [{ id, status }]. */
function statusCalls() {
  const spy = helper._NodePrototype && helper._NodePrototype.status;
  if (!spy || !spy.getCalls) return [];
  return spy.getCalls().map((c) => ({ id: c.thisValue && c.thisValue.id, status: c.args[0] }));
}

module.exports = {
  helper, NODES, startNodeRed, stopNodeRed, configNodes, credentials, flowNode, collect, roundTrip,
  query, count, sleep, until, startServer, redeploy, statusCalls, STATUS_VARIANTS,
};
