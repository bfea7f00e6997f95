'use strict';
// Chaos: Node-RED as its own process (red.js, this package linked into its userDir) under load:
// a full redeploy, then SIGTERM, then a restart from the same userDir. The load comes through an
// HTTP-in node (a request answers 200 once its ids were handed to gpss-write).
//
// What gpss-write acknowledged is recorded inside the runtime, by a node file in the userDir
// that hooks Node-RED's message path (onSend from gpss-write's output: passed on; onComplete:
// done(), with or without an error) and writes what it saw synchronously when the process
// exits. A file node behind gpss-write is not a record of that: when Node-RED stops a flow
// (redeploy or SIGTERM) it takes every node of it out of routing at once, before any close
// finishes (runtime Flow.stop), and a message sent to a node no longer routed is dropped
// (handlePreRoute), so what gpss-write commits and passes on while it closes never reaches the
// nodes behind it. The file nodes stay, and the figures say how many acks reached them.
//
// Expected, when the process has exited: every message sent (request answered 200) is in the
// table, acknowledged or failed to Catch (unaccounted 0); every committed message was
// acknowledged or failed (no commit without its ack); passing on and done() match; the file
// node saw only acknowledged ids. After the restart every acknowledged id is in the table (lost 0).
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
let ownUserDir = null;

before(async () => {
  pg = await C.ownCluster();
  await C.query(pg.url, 'CREATE TABLE nr (id int4 NOT NULL, note text)');
});
after(async () => {
  if (red) await red.cleanup().catch(() => undefined);
  if (pg) pg.stop();
  if (ownUserDir && !process.env.KEEP_E2E_USERDIR) fs.rmSync(ownUserDir, { recursive: true, force: true });
});

/**
 * A node file (no node type) that records in `file`, per message of node `id`: `ack <payload.id>`
 * when it passes the message on (output 1), `done <id>` for done() and `fail <id>` for
 * done(err). Lines are buffered and appended every 100 ms and, synchronously, at process exit
 * (red.js exits once RED.stop() resolved, i.e. after every close handler finished).
 */
function recorderSource(file, id) {
  return `'use strict';
const fs = require('node:fs');
module.exports = function (RED) {
  const file = ${JSON.stringify(file)};
  let lines = [];
  const flush = () => { if (lines.length) { fs.appendFileSync(file, lines.join('')); lines = []; } };
  setInterval(flush, 100).unref();
  process.on('exit', flush);
  const idOf = (msg) => (msg && msg.payload && typeof msg.payload.id === 'number' ? msg.payload.id : null);
  RED.hooks.add('onSend.chaosRecorder', (events) => {
    for (const e of events) {
      if (e.source && e.source.id === ${JSON.stringify(id)} && e.source.port === 0 && idOf(e.msg) !== null) lines.push('ack ' + idOf(e.msg) + '\\n');
    }
  });
  RED.hooks.add('onComplete.chaosRecorder', (e) => {
    if (e.node && e.node.id === ${JSON.stringify(id)} && idOf(e.msg) !== null) lines.push((e.error ? 'fail ' : 'done ') + idOf(e.msg) + '\\n');
  });
};
`;
}

function readRecord(file) {
  const out = { ack: [], done: [], fail: [] };
  if (!fs.existsSync(file)) return out;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [kind, id] = line.split(' ');
    if (out[kind]) out[kind].push(Number(id));
  }
  return out;
}

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
  userDir = ownUserDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'gpflow-nr-'));
  const recordFile = path.join(userDir, 'recorded.txt');
  fs.mkdirSync(path.join(userDir, 'nodes'));
  fs.writeFileSync(path.join(userDir, 'nodes', 'chaos-recorder.js'), recorderSource(recordFile, 'w1'));
  fs.writeFileSync(path.join(userDir, 'nodes', 'chaos-recorder.html'), '<!-- no node types: hooks only -->\n');
  red = await startTestNodeRed({ userDir, credentialSecret: secret });
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
  // Accounting when the process is gone, from what the runtime recorded of gpss-write.
  const record = readRecord(recordFile);
  const acked = record.ack;
  const caught = record.fail;
  const counts = await C.tableCounts(pg.url, 'nr');
  const atExit = C.account({ sent, acked, caught, tableCounts: counts });
  const ackedSet = new Set(acked);
  const caughtSet = new Set(caught);
  const doneSet = new Set(record.done);
  // Committed but neither acknowledged nor failed: an ack gpss-write never gave.
  const unacknowledgedCommits = [...counts.keys()].filter((id) => !ackedSet.has(id) && !caughtSet.has(id));
  const passedOnNotDone = acked.filter((id) => !doneSet.has(id)).length + record.done.filter((id) => !ackedSet.has(id)).length;
  // What the nodes behind gpss-write received (file nodes), and what the Catch file got.
  const downstream = readIds(path.join(dir, 'acked.txt'));
  const downstreamNotAcked = downstream.filter((id) => !ackedSet.has(id)).length;
  const caughtFile = readIds(path.join(dir, 'caught.txt'));
  // Restart from the same userDir: the flows come back, still working.
  red = await startTestNodeRed({ userDir, credentialSecret: secret });
  const more = Array.from({ length: 500 }, (_, k) => 10000000 + k);
  // The HTTP-in route exists once the flows started, a moment after the runtime answers: 404 until then.
  await C.until(async () => {
    const status = await post(red.port, more);
    if (status === 404) return false;
    assert.equal(status, 200);
    return true;
  }, 30000, 'the restarted flow takes a request');
  await C.until(async () => readIds(path.join(dir, 'acked.txt')).filter((id) => id >= 10000000).length === 500, 30000, 'the restarted flow acknowledges');
  await C.until(() => readRecord(recordFile).ack.filter((id) => id >= 10000000).length === 500, 10000, 'the restarted runtime records the acks');
  const after = C.account({ sent, acked, caught, tableCounts: await C.tableCounts(pg.url, 'nr') });
  flowsResponses.push(await red.getFlows());
  const a = C.artifactDir('node-red-process');
  C.saveText('node-red-process', 'flows-responses.json', JSON.stringify(flowsResponses, null, 1));
  // (settings.js is not an output: it is where the credential secret is configured.)
  for (const f of ['flows.json', 'flows_cred.json']) if (fs.existsSync(path.join(userDir, f))) fs.copyFileSync(path.join(userDir, f), path.join(a, f));
  fs.copyFileSync(path.join(dir, 'acked.txt'), path.join(a, 'acked.txt'));
  fs.copyFileSync(recordFile, path.join(a, 'recorded.txt'));
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
    deliveredDownstream: downstream.length,
    caughtDownstream: caughtFile.length,
    unacknowledgedCommits: unacknowledgedCommits.length,
  });
  process.stdout.write(`# ${JSON.stringify(f)}\n`);
  assert.ok(f.sent >= 60000);
  assert.equal(atExit.unaccounted, 0, 'sent but neither committed, acknowledged nor failed to Catch when the process exited');
  assert.deepEqual(unacknowledgedCommits.slice(0, 10), [], `${unacknowledgedCommits.length} committed messages were neither acknowledged nor failed`);
  assert.equal(passedOnNotDone, 0, 'gpss-write passed messages on without done(), or the reverse');
  assert.equal(downstreamNotAcked, 0, 'the file node behind gpss-write saw ids gpss-write did not pass on');
  if (downstream.length < acked.length) {
    assert.match(log1, /\[gpss-write:\w+\] gpss-write: \d+ rows committed while closing; their messages were passed on, but the nodes wired after gpss-write \(ackid\) had already stopped/, 'acks that never reached the nodes behind gpss-write went unsaid');
  }
  assert.equal(new Set(acked).size, acked.length, 'a message acknowledged twice');
  assert.equal(after.lost, 0, 'acknowledged but absent after the restart');
  assert.ok(atExit.acknowledged > 0);
});
