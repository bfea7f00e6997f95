'use strict';
// Chaos: Node-RED as its own process (red.js, this package linked into its userDir) under load:
// a full redeploy, then SIGTERM, then a restart from the same userDir. The load comes through an
// HTTP-in node (a request answers 200 once its ids were handed to gpss-write); gpss-write's
// output and its Catch each append ids to a file via file nodes (acknowledged / failed).
// Expected: every message sent (its request answered 200) is either in the table or in the
// Catch file when the process has exited (unaccounted 0); every acknowledged id is in the table
// after the restart (lost 0).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const C = require('./support');
const { startTestNodeRed } = require('../support/nodered');

let pg = null;
let red = null;
let userDir = null;

before(async () => {
  pg = await C.ownCluster();
  await C.query(pg.url, 'CREATE TABLE nr (id int4 NOT NULL, note text)');
});
after(async () => {
  if (red) await red.cleanup().catch(() => undefined);
  if (pg) pg.stop();
});

function flows(dir, name = 'w1') {
  const z = 'tab1';
  const at = (n, x, y) => ({ z, x, y, ...n });
  return [
    { id: z, type: 'tab', label: 'chaos' },
    { id: 'db1', type: 'greenplum-db', host: pg.host, port: pg.port, database: pg.database, user: pg.user, poolSize: 2, credentials: { password: pg.password } },
    { id: 'gs1', type: 'gpss-server', mode: 'embedded', host: '127.0.0.1', port: 0, db: 'db1', rpcTimeout: 20, closeTimeout: 12 },
    at({ id: 'in1', type: 'http in', url: '/load', method: 'post', upload: false, wires: [['split1']] }, 100, 100),
    at({
      id: 'split1', type: 'function', outputs: 2,
      func: "for (const id of msg.payload.ids) node.send([{ payload: { id, note: 'nr' } }, null]);\nmsg.payload = 'ok';\nreturn [null, msg];",
      wires: [['w1'], ['res1']],
    }, 250, 100),
    at({ id: 'res1', type: 'http response', statusCode: '200', wires: [] }, 400, 160),
    at({
      id: 'w1', type: 'gpss-write', name, server: 'gs1', writeMode: 'stream', table: 'nr', mode: 'insert',
      commitRows: 2000, commitInterval: 200, bufferRows: 200000, bufferMb: 64, maxRetries: 5, retryDelay: 100, closeTimeout: 10,
      wires: [['ackid']],
    }, 400, 100),
    at({ id: 'ackid', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'payload.id', tot: 'msg' }], wires: [['ackfile']] }, 550, 100),
    at({ id: 'ackfile', type: 'file', filename: path.join(dir, 'acked.txt'), filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[]] }, 700, 100),
    at({ id: 'catch1', type: 'catch', scope: ['w1'], uncaught: false, wires: [['failid', 'dbg1']] }, 100, 220),
    at({ id: 'failid', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'payload.id', tot: 'msg' }], wires: [['failfile']] }, 250, 220),
    at({ id: 'failfile', type: 'file', filename: path.join(dir, 'caught.txt'), filenameType: 'str', appendNewline: true, createDir: true, overwriteFile: 'false', encoding: 'none', wires: [[]] }, 400, 220),
    at({ id: 'dbg1', type: 'debug', active: true, tosidebar: false, console: true, tostatus: false, complete: 'error', targetType: 'msg', wires: [] }, 250, 280),
    at({ id: 'done1', type: 'complete', scope: ['w1'], uncaught: false, wires: [['dbg2']] }, 100, 340),
    at({ id: 'dbg2', type: 'debug', active: false, tosidebar: true, console: false, complete: 'true', targetType: 'full', wires: [] }, 250, 340),
  ];
}

function post(port, ids) {
  return new Promise((resolve) => {
    const body = Buffer.from(JSON.stringify({ ids }));
    const req = http.request({ host: '127.0.0.1', port, path: '/load', method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(20000, () => req.destroy());
    req.end(body);
  });
}

const readIds = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : []);

test('Node-RED redeployed, then sent SIGTERM, under load; restarted: nothing acknowledged missing, nothing unaccounted', async () => {
  const secret = C.secrets().credentialSecret;
  red = await startTestNodeRed({ credentialSecret: secret });
  userDir = red.userDir;
  const dir = path.join(userDir, 'chaos-out');
  await red.deployFlows(flows(dir));
  const sent = [];
  let next = 0;
  let stopLoad = false;
  let refused = 0;
  // Load: two senders, 500 ids per request, as fast as the runtime answers.
  const sender = async () => {
    while (!stopLoad) {
      const ids = Array.from({ length: 500 }, () => next++);
      const status = await post(red.port, ids);
      if (status === 200) sent.push(...ids);
      else {
        refused++;
        await C.sleep(20);
      }
    }
  };
  const t0 = Date.now();
  const senders = [sender(), sender()];
  await C.until(() => sent.length >= 30000, 60000, '30,000 messages sent');
  // A full redeploy of a changed flow under load.
  const flowsResponses = [];
  flowsResponses.push(await red.getFlows());
  await red.deployFlows(flows(dir, 'renamed'));
  flowsResponses.push(await red.getFlows());
  const atDeploy = sent.length;
  await C.until(() => sent.length >= atDeploy + 30000, 60000, '30,000 more messages after the redeploy');
  // SIGTERM under load.
  const pid = red.pid;
  process.kill(pid, 'SIGTERM');
  const exit = await Promise.race([red.exited, C.sleep(40000).then(() => null)]);
  stopLoad = true;
  await Promise.all(senders);
  assert.ok(exit, 'Node-RED exited within 40 s of SIGTERM');
  const log1 = red.readLog();
  // Accounting when the process is gone: every sent id committed or in the Catch file.
  const acked = readIds(path.join(dir, 'acked.txt'));
  const caught = readIds(path.join(dir, 'caught.txt'));
  const counts = await C.tableCounts(pg.url, 'nr');
  const atExit = C.account({ sent, acked, caught, tableCounts: counts });
  // Restart from the same userDir: the flows come back, still working.
  red = await startTestNodeRed({ userDir, credentialSecret: secret });
  const more = Array.from({ length: 500 }, (_, k) => 10000000 + k);
  assert.equal(await post(red.port, more), 200);
  await C.until(async () => readIds(path.join(dir, 'acked.txt')).filter((id) => id >= 10000000).length === 500, 30000, 'the restarted flow acknowledges');
  const after = C.account({ sent, acked, caught, tableCounts: await C.tableCounts(pg.url, 'nr') });
  flowsResponses.push(await red.getFlows());
  const a = C.artifactDir('node-red-process');
  C.saveText('node-red-process', 'flows-responses.json', JSON.stringify(flowsResponses, null, 1));
  // (settings.js is not an output: it is where the credential secret is configured.)
  for (const f of ['flows.json', 'flows_cred.json']) if (fs.existsSync(path.join(userDir, f))) fs.copyFileSync(path.join(userDir, f), path.join(a, f));
  fs.copyFileSync(path.join(dir, 'acked.txt'), path.join(a, 'acked.txt'));
  if (fs.existsSync(path.join(dir, 'caught.txt'))) fs.copyFileSync(path.join(dir, 'caught.txt'), path.join(a, 'caught.txt'));
  C.saveText('node-red-process', 'node-red-before-sigterm.log', log1);
  C.saveText('node-red-process', 'node-red-after-restart.log', red.readLog());
  const f = C.record({
    id: 'node-red-process',
    scenario: 'Node-RED redeployed (full) and then sent SIGTERM under HTTP load; restarted from its userDir',
    node: 'gpss-write',
    mode: 'stream, insert',
    faults: 2,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    refusedRequests: refused,
    exit: exit && (exit.signal || exit.code),
    ...atExit,
    lost: after.lost,
  });
  process.stdout.write(`# ${JSON.stringify(f)}\n`);
  assert.ok(f.sent >= 60000);
  assert.equal(atExit.unaccounted, 0, 'sent but neither committed nor in Catch when the process exited');
  assert.equal(after.lost, 0, 'acknowledged but absent after the restart');
  assert.ok(atExit.acknowledged > 0);
});
